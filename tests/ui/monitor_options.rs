use notify_core::{alert_on_error, monitor};

#[monitor(notify(start, finish))]
fn a() {}

#[monitor(notify(start, start))]
fn b() {}

#[monitor(success_value = true)]
fn c() {}

#[alert_on_error(max_runtime = "2h")]
fn d() {}

#[monitor(retries = 3)]
fn e() {}

fn main() {
    a();
    b();
    c();
    d();
    e();
}
