//! The dispatcher thread ends when the last handle of its notifier drops,
//! even when a sink never answers and holds every delivery slot.

use std::time::{Duration, Instant};

use notify_core::{Alert, BoxFuture, Notifier, Severity, Sink, SinkError};

struct Hangs;

impl Sink for Hangs {
    fn name(&self) -> &str {
        "hangs"
    }

    fn send<'a>(&'a self, _: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(std::future::pending())
    }
}

#[cfg(target_os = "linux")]
fn dispatcher_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        // `comm` is cut to 15 bytes: the runtime thread and the resolver.
        .filter(|name| matches!(name.trim(), "notify-dispatch" | "notify-resolver"))
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn the_dispatcher_thread_ends_with_its_notifier_even_when_a_sink_hangs() {
    let notifier = Notifier::builder()
        .sink(Hangs)
        .queue_capacity(2)
        .dedup_window(Duration::ZERO)
        .request_timeout(Duration::from_secs(3600))
        .flush_timeout(Duration::from_millis(50))
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    for i in 0..100 {
        notifier.report_message(Severity::Error, &format!("stuck {i}"));
    }
    // The new thread names itself once it runs: wait for that.
    let deadline = Instant::now() + Duration::from_secs(20);
    while dispatcher_threads() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // The runtime thread and the resolver thread.
    while dispatcher_threads() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        (2..=3).contains(&dispatcher_threads()),
        "dispatcher threads while the notifier lives: {}",
        dispatcher_threads()
    );
    drop(notifier);
    let deadline = Instant::now() + Duration::from_secs(20);
    while dispatcher_threads() > 0 {
        assert!(
            Instant::now() < deadline,
            "the dispatcher thread is still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
