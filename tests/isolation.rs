//! A sink that blocks delays no one: not the other sinks, not a flush past
//! its deadline. The same for a diagnostic callback that blocks. And
//! `BlockingSink`, the trait for sinks that call blocking code, is a sink
//! like any other: routed, retried, bounded, counted, contained.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify_core::{
    Alert, BlockingSink, BlockingSinkExt, BoxFuture, Memory, Notifier, Severity, Sink, SinkError,
};

/// An async sink that does what it must not: blocks its thread in `send`.
struct SleepsInSend(Duration);

impl Sink for SleepsInSend {
    fn name(&self) -> &str {
        "sleeps-in-send"
    }
    fn send<'a>(&'a self, _alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        std::thread::sleep(self.0);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A blocking sink that takes its time, and counts its calls.
struct SlowBlocking {
    delay: Duration,
    calls: Arc<AtomicU32>,
}

impl BlockingSink for SlowBlocking {
    fn name(&self) -> &str {
        "slow-blocking"
    }
    fn send(&self, _alert: &Alert) -> Result<(), SinkError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        Ok(())
    }
}

/// Reports five distinct alerts; returns how long until `memory` had them
/// all. A first alert warms up symbol resolution beforehand (the process's
/// first resolution loads the symbol tables, which takes a while).
fn burst_reaches(notifier: &Notifier, memory: &Memory) -> Duration {
    notifier.report_message(Severity::Error, "warm-up");
    let deadline = Instant::now() + Duration::from_secs(30);
    while memory.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let start = Instant::now();
    for i in 0..5 {
        notifier.report_message(Severity::Error, &format!("burst {i}"));
    }
    let deadline = start + Duration::from_secs(30);
    while memory.len() < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(memory.len(), 6, "{:?}", memory.alerts());
    start.elapsed()
}

/// `flush(1 s)` with a sink still blocked: false, after about a second.
fn flush_is_bounded(notifier: &Notifier) {
    let start = Instant::now();
    assert!(!notifier.flush(Duration::from_secs(1)));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "flush(1 s) took {took:?}"
    );
}

#[test]
fn an_async_sink_that_blocks_delays_no_other_sink() {
    let memory = Memory::new();
    let notifier = Notifier::builder()
        .sink(SleepsInSend(Duration::from_secs(2)))
        .sink(memory.clone())
        .flush_timeout(Duration::from_millis(100))
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    let took = burst_reaches(&notifier, &memory);
    eprintln!("a burst reached the Memory sink in {took:?} next to a sink blocking 2 s per alert");
    // Behind the blocking sink it would take 10 s (five alerts, 2 s each).
    assert!(took < Duration::from_millis(500), "{took:?}");
    flush_is_bounded(&notifier);
}

#[test]
fn a_blocking_sink_delays_no_other_sink() {
    let memory = Memory::new();
    let calls = Arc::new(AtomicU32::new(0));
    let notifier = Notifier::builder()
        .sink(SlowBlocking {
            delay: Duration::from_secs(2),
            calls: calls.clone(),
        })
        .sink(memory.clone())
        .flush_timeout(Duration::from_millis(100))
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    let took = burst_reaches(&notifier, &memory);
    eprintln!(
        "a burst reached the Memory sink in {took:?} next to a blocking sink of 2 s per alert"
    );
    assert!(took < Duration::from_millis(500), "{took:?}");
    flush_is_bounded(&notifier);
    // One call at a time (concurrency 1): the first is under way.
    assert!(calls.load(Ordering::SeqCst) >= 1);
}

#[test]
fn a_diagnostic_callback_that_blocks_delays_no_delivery() {
    /// Refuses everything: one diagnostic per alert.
    struct Refuses;
    impl Sink for Refuses {
        fn name(&self) -> &str {
            "refuses"
        }
        fn send<'a>(&'a self, _alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
            Box::pin(std::future::ready(Err(SinkError::permanent("no"))))
        }
    }
    let memory = Memory::new();
    let notifier = Notifier::builder()
        .sink(Refuses)
        .sink(memory.clone())
        .flush_timeout(Duration::from_millis(100))
        .on_diagnostic(|_| std::thread::sleep(Duration::from_secs(2)))
        .build()
        .unwrap();
    let took = burst_reaches(&notifier, &memory);
    assert!(took < Duration::from_millis(500), "{took:?}");
    // Every alert was delivered (or refused), so the flush reports success;
    // the diagnostics are still being said, and it waits for them until its
    // deadline, no longer.
    let start = Instant::now();
    assert!(notifier.flush(Duration::from_secs(1)));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "flush(1 s) took {took:?}"
    );
    assert_eq!(notifier.stats().failed, 6);
}

/// A blocking sink is routed, counted and delivered to like any sink.
#[test]
fn a_blocking_sink_is_routed_retried_and_counted() {
    /// Fails its first attempt, then keeps what it gets.
    struct Flaky {
        attempts: AtomicU32,
        got: Arc<Mutex<Vec<String>>>,
    }
    impl BlockingSink for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn send(&self, alert: &Alert) -> Result<(), SinkError> {
            if self.attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(SinkError::retryable("the first attempt fails"));
            }
            self.got.lock().unwrap().push(alert.message.clone());
            Ok(())
        }
    }
    let got = Arc::new(Mutex::new(Vec::new()));
    let notifier = Notifier::builder()
        .sink(
            Flaky {
                attempts: AtomicU32::new(0),
                got: got.clone(),
            }
            .named("mail")
            .min_severity(Severity::Error),
        )
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    notifier.report_message(Severity::Warning, "below the threshold");
    notifier.report_message(Severity::Critical, "over it");
    assert!(notifier.flush(Duration::from_secs(30)));
    assert_eq!(*got.lock().unwrap(), ["over it"]);
    let stats = notifier.stats();
    assert_eq!((stats.delivered, stats.failed), (1, 0), "{stats:?}");
}

/// A blocking sink that panics is contained and said once per alert; the
/// notifier and its other sinks go on.
#[test]
fn a_panicking_blocking_sink_is_contained_and_reported_once() {
    struct Panics;
    impl BlockingSink for Panics {
        fn name(&self) -> &str {
            "panics"
        }
        fn send(&self, _alert: &Alert) -> Result<(), SinkError> {
            panic!("the blocking sink broke")
        }
    }
    let memory = Memory::new();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let notifier = Notifier::builder()
        .sink(Panics)
        .sink(memory.clone())
        .on_diagnostic({
            let lines = lines.clone();
            move |line| lines.lock().unwrap().push(line.to_owned())
        })
        .build()
        .unwrap();
    notifier.report_message(Severity::Error, "first");
    notifier.report_message(Severity::Error, "second");
    assert!(notifier.flush(Duration::from_secs(30)));
    assert_eq!(memory.len(), 2);
    let lines = lines.lock().unwrap();
    let about: Vec<_> = lines.iter().filter(|l| l.contains("panicked")).collect();
    assert_eq!(about.len(), 2, "{lines:#?}");
    assert!(about[0].contains("\"panics\""), "{}", about[0]);
    assert!(about[0].contains("the blocking sink broke"), "{}", about[0]);
    assert_eq!(notifier.stats().failed, 2);
}

/// A blocking sink that never returns: each attempt times out, the alert
/// is given up once, said once; its backlog bounds what waits for it; the
/// other sink gets everything; flush and drop stay bounded.
#[test]
fn a_blocking_sink_that_never_returns_stays_bounded() {
    struct Never;
    impl BlockingSink for Never {
        fn name(&self) -> &str {
            "never"
        }
        fn send(&self, _alert: &Alert) -> Result<(), SinkError> {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(())
        }
    }
    let memory = Memory::new();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let notifier = Notifier::builder()
        .sink(Never)
        .sink(memory.clone())
        .request_timeout(Duration::from_millis(100))
        .queue_capacity(4)
        .dedup_window(Duration::ZERO)
        .flush_timeout(Duration::from_millis(200))
        .on_diagnostic({
            let lines = lines.clone();
            move |line| lines.lock().unwrap().push(line.to_owned())
        })
        .build()
        .unwrap();
    for i in 0..20 {
        notifier.report_message(Severity::Error, &format!("alert {i}"));
        std::thread::sleep(Duration::from_millis(2));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while (memory.len() as u64) < notifier.stats().queued && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(memory.len() as u64, notifier.stats().queued);
    // Its backlog (4) is full: the rest were dropped for it, counted, said.
    let stats = notifier.stats();
    assert!(stats.dropped > 0, "{stats:?}");
    let start = Instant::now();
    assert!(!notifier.flush(Duration::from_millis(500)));
    assert!(start.elapsed() < Duration::from_secs(3));
    // The alerts it was given up on are said once each, with the reason.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let timed_out = lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("\"never\" did not deliver"))
            .count();
        if timed_out > 0 || Instant::now() > deadline {
            assert!(timed_out > 0, "{:#?}", lines.lock().unwrap());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(lines
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("\"never\" is not keeping up")));
    let start = Instant::now();
    drop(notifier);
    assert!(start.elapsed() < Duration::from_secs(3));
}
