//! Notifiers built (not installed): flush bounds, a full queue, a sink that
//! never answers, delivery when the last handle drops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use notify_core::{Alert, BoxFuture, Memory, Notifier, Severity, Sink, SinkError};

/// Never answers.
struct Hangs {
    calls: Arc<AtomicUsize>,
}

impl Sink for Hangs {
    fn name(&self) -> &str {
        "hangs"
    }

    fn send<'a>(&'a self, _: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::pending())
    }
}

#[test]
fn flush_returns_within_its_timeout_when_a_sink_never_answers() {
    let memory = Memory::new();
    let notifier = Notifier::builder()
        .sink(Hangs {
            calls: Arc::default(),
        })
        .sink(memory.clone())
        .request_timeout(Duration::from_secs(3600))
        .flush_timeout(Duration::from_millis(200))
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    notifier.report_message(Severity::Error, "one");
    // Returns false (not everything was delivered), and returns at all.
    assert!(!notifier.flush(Duration::from_millis(300)));
    // The hanging sink does not keep the other one from delivering.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while memory.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(memory.len(), 1);
    // Dropping the last handle flushes with the (short) flush timeout, then returns.
    drop(notifier);
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let calls = Arc::new(AtomicUsize::new(0));
    let notifier = Notifier::builder()
        .sink(Hangs {
            calls: calls.clone(),
        })
        .queue_capacity(2)
        .dedup_window(Duration::ZERO)
        .request_timeout(Duration::from_secs(3600))
        .flush_timeout(Duration::from_millis(50))
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    // The dispatcher takes alerts off the queue as fast as it can and parks
    // them on the hanging sink (8 at a time); the rest must be dropped, and
    // every call returns.
    for i in 0..10_000 {
        notifier.report_message(Severity::Error, &format!("flood {i}"));
    }
    let stats = notifier.stats();
    assert!(stats.dropped > 0, "{stats:?}");
    // Every report was queued or dropped at the queue; a queued one may also
    // be dropped for the hanging sink once its backlog is full.
    assert!(stats.queued + stats.dropped >= 10_000, "{stats:?}");
    assert!(stats.queued <= 10_000, "{stats:?}");
}

#[test]
fn dropping_the_last_handle_delivers_what_is_queued() {
    let memory = Memory::new();
    let notifier = Notifier::builder()
        .sink(memory.clone())
        .dedup_window(Duration::ZERO)
        .build()
        .unwrap();
    let clone = notifier.clone();
    for i in 0..20 {
        clone.report_message(Severity::Warning, &format!("queued {i}"));
    }
    drop(clone);
    drop(notifier);
    assert_eq!(memory.len(), 20);
}

#[test]
fn notifiers_side_by_side_keep_their_own_sinks() {
    let a = Memory::new();
    let b = Memory::new().named("b");
    let first = Notifier::builder()
        .app_name("first")
        .sink(a.clone())
        .build()
        .unwrap();
    let second = Notifier::builder()
        .app_name("second")
        .sink(b.clone())
        .build()
        .unwrap();
    first.report_message(Severity::Error, "to first");
    second.report_message(Severity::Error, "to second");
    assert!(first.flush(Duration::from_secs(5)));
    assert!(second.flush(Duration::from_secs(5)));
    assert_eq!(a.alerts()[0].app_name, "first");
    assert_eq!(b.alerts()[0].app_name, "second");
    assert_eq!((a.len(), b.len()), (1, 1));
}

#[test]
fn invalid_configuration_names_the_field() {
    let cases: Vec<(notify_core::NotifierBuilder, &str)> = vec![
        (Notifier::builder().queue_capacity(0), "queue_capacity"),
        (Notifier::builder().app_name(""), "app_name"),
        (Notifier::builder().environment("prod\n"), "environment"),
        (
            Notifier::builder().dedup_window(Duration::from_secs(7 * 86_400)),
            "dedup_window",
        ),
        (
            Notifier::builder().request_timeout(Duration::ZERO),
            "request_timeout",
        ),
        (Notifier::builder().max_fingerprints(0), "max_fingerprints"),
        (
            Notifier::builder().sink(Memory::new()).sink(Memory::new()),
            "sink[1].named",
        ),
    ];
    for (builder, field) in cases {
        let err = builder.build().expect_err(field);
        assert_eq!(err.field(), field, "{err}");
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn environment_configuration_is_validated() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let err =
        notify_core::NotifierBuilder::from_env_with(vars(&[("NOTIFY_DEDUP_WINDOW_SECS", "-5")]))
            .unwrap_err();
    assert_eq!(err.field(), "NOTIFY_DEDUP_WINDOW_SECS");
    let builder = notify_core::NotifierBuilder::from_env_with(vars(&[
        ("NOTIFY_APP_NAME", "billing"),
        ("NOTIFY_ENVIRONMENT", "prod"),
        ("NOTIFY_DEDUP_WINDOW_SECS", "5"),
    ]))
    .unwrap();
    let debug = format!("{builder:?}");
    assert!(
        debug.contains("billing") && debug.contains("console"),
        "{debug}"
    );
    let notifier = builder.build().unwrap();
    drop(notifier);
}

#[test]
fn a_sink_that_never_answers_does_not_hold_up_the_others_however_many_alerts_come() {
    let memory = Memory::new();
    let notifier = Notifier::builder()
        .sink(Hangs {
            calls: Arc::default(),
        })
        .sink(memory.clone())
        .queue_capacity(4)
        .dedup_window(Duration::ZERO)
        .request_timeout(Duration::from_secs(3600))
        .flush_timeout(Duration::from_millis(50))
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    // Each alert waits for the healthy sink to have the one before: if the
    // hanging sink held up the dispatcher, that wait would time out. (Not
    // faster: on a loaded machine the healthy sink's own bounded backlog —
    // 4 here — can overflow, by design and said, which is not what this
    // test is about.)
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    for i in 0..200 {
        notifier.report_message(Severity::Error, &format!("alert {i}"));
        while memory.len() <= i && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let stats = notifier.stats();
    // Every alert reached the healthy sink...
    assert_eq!(memory.len(), 200, "{stats:?}");
    assert_eq!(stats.queued, 200, "{stats:?}");
    // ...while the hanging one kept 4 and dropped the rest.
    assert_eq!(stats.dropped, 196, "{stats:?}");
    assert_eq!(stats.pending, 4, "{stats:?}");
}

/// Takes 20 ms per alert, then records it.
struct Slow(Memory);

impl Sink for Slow {
    fn name(&self) -> &str {
        "slow"
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.0.send(alert).await
        })
    }
}

#[test]
fn flush_finishes_while_errors_keep_coming() {
    let memory = Memory::new();
    let notifier = Notifier::builder()
        // Deliveries are always in flight while the stream runs.
        .sink(Slow(memory.clone()))
        .queue_capacity(64)
        .dedup_window(Duration::ZERO)
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stream = std::thread::spawn({
        let notifier = notifier.clone();
        let stop = stop.clone();
        move || {
            // Bounded: stops when told, or after 60 s at the latest.
            let end = std::time::Instant::now() + Duration::from_secs(60);
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) && std::time::Instant::now() < end {
                notifier.report_message(Severity::Error, &format!("background {i}"));
                i += 1;
                // About 300 a second: under what the sink takes (8 × 50 a second),
                // so nothing is dropped, yet some are always in flight.
                std::thread::sleep(Duration::from_millis(3));
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    notifier.report_message(Severity::Critical, "the one that matters");
    // Waits for what came before it, not for what keeps coming after.
    let flushed = notifier.flush(Duration::from_secs(20));
    stop.store(true, Ordering::SeqCst);
    stream.join().unwrap();
    assert!(flushed, "{:?}", notifier.stats());
    assert!(memory
        .alerts()
        .iter()
        .any(|a| a.message == "the one that matters"));
}
