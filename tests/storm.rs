//! Storm control, end to end through the public API: an error repeated in a
//! hot loop is sent once and summarised; the fingerprint table is capped; a
//! queue that a hanging sink fills counts its drops and reports them once
//! the sink recovers; summaries arrive at flush, at shutdown, and when a
//! window closes.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify_core::{Alert, BoxFuture, Memory, Notifier, Sink, SinkError};

const FLUSH: Duration = Duration::from_secs(60);

/// Every report in these tests goes through this one line, so every report
/// of the same text has the same call site, hence the same fingerprint.
fn report(notifier: &Notifier, error: &io::Error) {
    notifier.report_error(error);
}

fn firsts(alerts: &[Alert]) -> Vec<&Alert> {
    alerts.iter().filter(|a| a.repeats.is_none()).collect()
}

fn repeats(alerts: &[Alert]) -> u64 {
    alerts
        .iter()
        .filter_map(|a| a.repeats)
        .map(|r| r.count)
        .sum()
}

#[test]
fn a_million_errors_from_one_call_site_on_eight_threads_make_one_alert_and_summaries_of_the_rest() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 125_000;
    let memory = Memory::new();
    let notifier = Notifier::builder().sink(memory.clone()).build().unwrap();

    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let error = io::Error::other("connection reset by peer");
                for _ in 0..PER_THREAD {
                    report(&notifier, &error);
                }
            });
        }
    });
    assert!(notifier.flush(FLUSH), "flush timed out");

    let alerts = memory.alerts();
    let firsts = firsts(&alerts);
    assert_eq!(firsts.len(), 1, "exactly one alert is sent: {alerts:#?}");
    assert_eq!(firsts[0].message, "connection reset by peer");
    assert!(
        alerts.len() > 1,
        "the repeats are summarised at flush, not forgotten"
    );
    for summary in alerts.iter().filter(|a| a.repeats.is_some()) {
        assert_eq!(summary.fingerprint, firsts[0].fingerprint);
        let r = summary.repeats.unwrap();
        assert!(r.first <= r.last);
        assert!(summary.title.contains("repeated"), "{}", summary.title);
    }
    assert_eq!(repeats(&alerts), (THREADS * PER_THREAD - 1) as u64);
    let stats = notifier.stats();
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.evicted, 0);
}

#[test]
fn distinct_fingerprints_past_the_cap_are_evicted_counted_and_their_summaries_kept() {
    const CAP: usize = 100;
    const DISTINCT: usize = 10_000;
    let memory = Memory::new();
    let notifier = Notifier::builder()
        .sink(memory.clone())
        .max_fingerprints(CAP)
        // Room for every first alert: this test is about the table, not the queue.
        .queue_capacity(2 * DISTINCT)
        .on_diagnostic(|_| {})
        .build()
        .unwrap();

    for i in 0..DISTINCT {
        let error = io::Error::other(format!("disk {i} is full"));
        report(&notifier, &error); // first: sent
        report(&notifier, &error); // repeat: counted
    }
    assert!(notifier.flush(FLUSH), "flush timed out");

    let stats = notifier.stats();
    assert_eq!(stats.dropped, 0);
    // At most CAP fingerprints are tracked at once: every other one was evicted.
    assert!(
        stats.evicted >= (DISTINCT - CAP) as u64,
        "the table grew past max_fingerprints: {stats:?}"
    );
    assert!(stats.evicted <= DISTINCT as u64, "{stats:?}");

    let alerts = memory.take();
    assert_eq!(firsts(&alerts).len(), DISTINCT);
    // Every fingerprint's one repeat is summarised exactly once, evicted or not.
    let mut per_fingerprint: HashMap<u64, u64> = HashMap::new();
    for summary in alerts.iter().filter(|a| a.repeats.is_some()) {
        *per_fingerprint.entry(summary.fingerprint).or_default() += summary.repeats.unwrap().count;
    }
    assert_eq!(per_fingerprint.len(), DISTINCT);
    assert!(per_fingerprint.values().all(|&count| count == 1));

    // The newest fingerprint is still tracked: a repeat is counted, not sent.
    let error = io::Error::other(format!("disk {} is full", DISTINCT - 1));
    report(&notifier, &error);
    assert!(notifier.flush(FLUSH));
    let alerts = memory.take();
    assert!(firsts(&alerts).is_empty(), "{alerts:#?}");
    assert_eq!(repeats(&alerts), 1);
}

/// A sink that does not answer until released, then records what it got.
struct Hanging {
    released: tokio::sync::watch::Receiver<bool>,
    received: Arc<Mutex<Vec<Alert>>>,
}

impl Sink for Hanging {
    fn name(&self) -> &str {
        "hanging"
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let mut released = self.released.clone();
            if released.wait_for(|released| *released).await.is_err() {
                return Err(SinkError::permanent("the test ended"));
            }
            self.received.lock().unwrap().push(alert.clone());
            Ok(())
        })
    }
}

#[test]
fn a_queue_filled_by_a_hanging_sink_counts_its_drops_and_reports_them_when_the_sink_recovers() {
    const CAPACITY: usize = 4;
    const REPORTS: usize = 50;
    let (release, released) = tokio::sync::watch::channel(false);
    let received = Arc::new(Mutex::new(Vec::new()));
    let notifier = Notifier::builder()
        .sink(Hanging {
            released,
            received: received.clone(),
        })
        .queue_capacity(CAPACITY)
        .request_timeout(Duration::from_secs(600))
        .on_diagnostic(|_| {})
        .build()
        .unwrap();

    // Distinct errors: each is a first alert that needs a place in the queue.
    for i in 0..REPORTS {
        report(&notifier, &io::Error::other(format!("job {i} failed")));
    }
    let stats = notifier.stats();
    // Dropped at the queue, or for the sink once it had CAPACITY waiting.
    assert!(stats.dropped > 0, "nothing was dropped: {stats:?}");
    assert!(
        !notifier.flush(Duration::from_millis(100)),
        "the sink hangs"
    );

    release.send(true).unwrap();
    assert!(
        notifier.flush(FLUSH),
        "the sink recovered, the queue drains"
    );
    report(&notifier, &io::Error::other("after recovery"));
    assert!(notifier.flush(FLUSH));

    let received = received.lock().unwrap().clone();
    let stats = notifier.stats();
    assert_eq!(received.len() as u64, REPORTS as u64 - stats.dropped + 1);
    // The last reports were dropped while the sink hung; the first alert
    // that got through afterwards says how many.
    let recovered = received
        .iter()
        .find(|a| a.message == "after recovery")
        .expect("the alert after recovery is delivered");
    assert!(recovered.dropped > 0, "{recovered:#?}");
    // Every drop is reported exactly once.
    let reported: u64 = received.iter().map(|a| a.dropped).sum();
    assert_eq!(reported, stats.dropped);
}

#[test]
fn pending_summaries_arrive_at_flush() {
    let memory = Memory::new();
    let notifier = Notifier::builder().sink(memory.clone()).build().unwrap();
    let error = io::Error::other("timeout");
    for _ in 0..4 {
        report(&notifier, &error);
    }
    assert!(notifier.flush(FLUSH));
    let alerts = memory.alerts();
    assert_eq!(firsts(&alerts).len(), 1);
    let summaries: Vec<_> = alerts.iter().filter(|a| a.is_summary()).collect();
    assert_eq!(summaries.len(), 1, "{alerts:#?}");
    assert_eq!(summaries[0].repeats.unwrap().count, 3);
    assert_eq!(summaries[0].message, "timeout");
}

#[test]
fn pending_summaries_arrive_when_the_last_notifier_is_dropped() {
    let memory = Memory::new();
    let notifier = Notifier::builder().sink(memory.clone()).build().unwrap();
    let error = io::Error::other("timeout");
    for _ in 0..3 {
        report(&notifier, &error);
    }
    drop(notifier);
    assert_eq!(repeats(&memory.alerts()), 2);
}

#[test]
fn a_closed_window_is_summarised_without_flush() {
    let memory = Memory::new();
    let notifier = Notifier::builder()
        .sink(memory.clone())
        .dedup_window(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = io::Error::other("queue is stuck");
    for _ in 0..6 {
        report(&notifier, &error);
    }
    // No flush: the dispatcher's own sweep summarises the closed window.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !memory.alerts().iter().any(Alert::is_summary) {
        assert!(
            Instant::now() < deadline,
            "no summary after the window closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Wait for every report to be accounted for (the six reports normally
    // fall in one window; a slow machine may split them, never lose one).
    while {
        let alerts = memory.alerts();
        firsts(&alerts).len() as u64 + repeats(&alerts) < 6
    } {
        assert!(Instant::now() < deadline, "{:#?}", memory.alerts());
        std::thread::sleep(Duration::from_millis(20));
    }
    let alerts = memory.alerts();
    assert_eq!(
        firsts(&alerts).len() as u64 + repeats(&alerts),
        6,
        "{alerts:#?}"
    );
}
