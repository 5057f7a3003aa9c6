use notify_core::monitor;

#[monitor(max_runtime = "2 hours")]
fn a() {}

#[monitor(max_runtime = "90")]
fn b() {}

#[monitor(max_runtime = "0s")]
fn c() {}

#[monitor(max_runtime = 90)]
fn d() {}

fn main() {
    a();
    b();
    c();
    d();
}
