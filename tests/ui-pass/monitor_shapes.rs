//! The function shapes of `#[alert_on_error]` under `#[monitor]`, with
//! every option, expand without a single warning; async ones stay `Send`.
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;

use notify_core::monitor;

#[derive(Debug)]
struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

impl std::error::Error for Failed {}

#[monitor]
fn unit() {}

#[monitor(name = "export-all", notify(start, success), success_value, max_runtime = "1h30m")]
fn result(rows: u64) -> Result<u64, Failed> {
    Ok(rows)
}

#[monitor(severity = "critical", title = "Billing failed", sinks("ops"), context(day))]
fn options(day: u32) -> std::io::Result<()> {
    let _ = day;
    Ok(())
}

#[monitor(success_value)]
fn generic<T: std::fmt::Debug + Clone>(value: &T) -> T {
    value.clone()
}

#[monitor(max_runtime = "500ms")]
#[track_caller]
fn tracked(x: u32) -> Result<u32, Failed> {
    Ok(x)
}

#[monitor(max_runtime = "2h", notify(success))]
fn daemon() -> ! {
    loop {
        std::thread::park();
    }
}

struct Worker;

impl Worker {
    #[monitor(name = "worker-cycle", context(self))]
    fn cycle(&self) -> Result<(), Failed> {
        Ok(())
    }

    #[monitor(notify(start))]
    async fn poll(&mut self, n: u32) -> Result<u32, Failed> {
        Ok(n)
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Worker")
    }
}

#[monitor(notify(success), success_value)]
async fn async_value(x: u32) -> Result<u32, Failed> {
    Ok(x)
}

#[monitor(notify(success))]
fn returns_future() -> impl Future<Output = Result<u8, Failed>> + Send {
    async { Ok(1) }
}

#[monitor(success_value)]
fn returns_boxed<'a>(s: &'a str) -> Pin<Box<dyn Future<Output = Result<&'a str, Failed>> + Send + 'a>> {
    Box::pin(async move { Ok(s) })
}

#[async_trait::async_trait]
trait Job {
    async fn run(&self) -> Result<(), Failed>;
}

#[async_trait::async_trait]
impl Job for Worker {
    #[monitor(name = "trait-job", notify(start, success))]
    async fn run(&self) -> Result<(), Failed> {
        Ok(())
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    unit();
    let _ = result(1);
    let _ = options(2);
    let _ = generic(&3u8);
    let _ = tracked(4);
    let _ = Worker.cycle();
    let mut worker = Worker;
    let poll = worker.poll(5);
    assert_send(&poll);
    drop(poll);
    let value = async_value(6);
    assert_send(&value);
    drop(value);
    assert_send(&returns_future());
    let _ = returns_boxed("x");
    let _ = Worker.run();
    if std::env::args().count() > 100 {
        daemon();
    }
}
