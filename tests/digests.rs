//! A batch job's worst minute: 20 distinct failures raised at once, then
//! the exit's flush with the default timeout (5 s). Against each chat
//! platform's stand-in answering as it does under load — one message per
//! second per chat with its own 429 answer, answers that take 1.5 s, the
//! first three requests failing with 500 — every failure's headline is in
//! a message the platform accepted before the flush ended: alerts that
//! wait for a chat go out together as digests.

mod support;

use std::time::Duration;

use notify_core::{Discord, Notifier, Sink, Slack, Telegram};
use support::{discord, slack, telegram, Diagnostics, TestServer};

/// The default flush timeout.
const FLUSH: Duration = Duration::from_secs(5);
const FAILURES: usize = 20;
const TOKEN: &str = "123456:TEST-TOKEN";

/// How the platform behaves under load.
#[derive(Clone, Copy, Debug)]
enum Load {
    /// One message per second per chat; a 429 with the platform's wait.
    RateLimited,
    /// Every answer takes 1.5 s.
    Slow,
    /// The first three requests fail with 500.
    FailingFirst,
}

const LOADS: [Load; 3] = [Load::RateLimited, Load::Slow, Load::FailingFirst];

/// A platform stand-in and a sink pointed at it.
struct Platform {
    server: TestServer,
    sink: Box<dyn Sink>,
    /// The key the stand-in keeps its script and its rate under.
    key: &'static str,
    too_many: fn(Duration) -> support::Reply,
    server_error: fn() -> support::Reply,
}

fn telegram() -> Platform {
    let server = telegram::server(TOKEN, &["42"], &[]);
    let sink = Box::new(Telegram::new(TOKEN, 42).api_url(&server.url));
    Platform {
        server,
        sink,
        key: "42",
        too_many: |wait| telegram::too_many_requests(wait.as_secs_f64().ceil() as u64),
        server_error: telegram::server_error,
    }
}

fn slack() -> Platform {
    let server = slack::server();
    let sink = Box::new(Slack::new(format!("{}{}", server.url, slack::PATH)));
    Platform {
        server,
        sink,
        key: "",
        too_many: |wait| slack::rate_limited(wait.as_secs_f64().ceil() as u64),
        server_error: slack::server_error,
    }
}

fn discord() -> Platform {
    let server = discord::server();
    let sink = Box::new(Discord::new(format!("{}{}", server.url, discord::PATH)));
    Platform {
        server,
        sink,
        key: "",
        too_many: |wait| discord::rate_limited(wait.as_secs_f64()),
        server_error: discord::server_error,
    }
}

/// Raises the failures, flushes as the exit does, and checks that every
/// headline was accepted in time.
fn twenty_failures_reach(platform: Platform, load: Load) {
    let Platform {
        server,
        sink,
        key,
        too_many,
        server_error,
    } = platform;
    match load {
        Load::RateLimited => server.limit_rate(Duration::from_secs(1), too_many),
        Load::Slow => server.delay(Duration::from_millis(1500)),
        Load::FailingFirst => server.script(key, (0..3).map(|_| server_error())),
    }
    let diagnostics = Diagnostics::default();
    let notifier: Notifier = support::builder(&diagnostics, Duration::from_secs(3))
        .sink(sink)
        .build()
        .expect("build");
    for i in 0..FAILURES {
        notifier.report_error(&std::io::Error::other(format!(
            "failure number {i} of the job"
        )));
    }
    let started = std::time::Instant::now();
    let flushed = notifier.flush(FLUSH);
    let accepted: Vec<String> = server
        .accepted()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        flushed,
        "{load:?}: not flushed within {FLUSH:?} ({:?}); accepted {}; {:?}",
        started.elapsed(),
        accepted.len(),
        diagnostics.lines()
    );
    for i in 0..FAILURES {
        let headline = format!("failure number {i} of the job");
        assert!(
            accepted.iter().any(|body| body.contains(&headline)),
            "{load:?}: {headline:?} is in no accepted message ({} accepted)",
            accepted.len()
        );
    }
    let stats = notifier.stats();
    assert_eq!(stats.delivered, FAILURES as u64, "{load:?}: {stats:?}");
    assert!(
        stats.coalesced > 0 && stats.digests > 0,
        "{load:?}: {stats:?}"
    );
    assert!(
        accepted.len() < FAILURES,
        "{load:?}: {} messages for {FAILURES} alerts",
        accepted.len()
    );
}

#[test]
fn telegram_hears_every_failure_in_time() {
    for load in LOADS {
        twenty_failures_reach(telegram(), load);
    }
}

#[test]
fn slack_hears_every_failure_in_time() {
    for load in LOADS {
        twenty_failures_reach(slack(), load);
    }
}

#[test]
fn discord_hears_every_failure_in_time() {
    for load in LOADS {
        twenty_failures_reach(discord(), load);
    }
}

/// A digest too long for one message goes out as several, each accepted
/// by the platform, every headline in one of them.
#[test]
fn headlines_that_do_not_fit_one_message_go_in_several() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    server.delay(Duration::from_millis(300));
    let diagnostics = Diagnostics::default();
    let notifier = support::builder(&diagnostics, Duration::from_secs(3))
        .sink(Telegram::new(TOKEN, 42).api_url(&server.url))
        .build()
        .expect("build");
    for i in 0..120 {
        notifier.report_error(&std::io::Error::other(format!(
            "failure {i:03} <b>with</b> & markup {}",
            "é".repeat(40)
        )));
    }
    assert!(
        notifier.flush(Duration::from_secs(20)),
        "{:?}",
        diagnostics.lines()
    );
    let accepted = server.accepted();
    let texts: Vec<String> = accepted
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap_or("").to_owned())
        .collect();
    // Each alert exactly once: alone (if it found the chat free), or as a
    // line of a digest (the lead's title is in every part's title, so the
    // line is what counts).
    let is_digest = |t: &String| t.contains(" alerts:</b>");
    for i in 0..120 {
        let line = format!("\n[ERROR] Error: failure {i:03} &lt;b&gt;with&lt;/b&gt; &amp; markup");
        let alone = format!("Error: failure {i:03} &lt;b&gt;with");
        let lines = texts.iter().filter(|t| t.contains(&line)).count();
        let alone = texts
            .iter()
            .filter(|t| !is_digest(t) && t.contains(&alone))
            .count();
        assert_eq!(lines + alone, 1, "failure {i:03}");
    }
    let singles = texts.iter().filter(|t| !is_digest(t)).count() as u64;
    let stats = notifier.stats();
    assert_eq!(stats.delivered, 120);
    assert!(stats.digests >= 2, "{stats:?}");
    assert_eq!(stats.coalesced + singles, 120, "{stats:?}");
    assert_eq!(accepted.len() as u64, singles + stats.digests);
}

/// A sink whose `digest_line_cost` panics (user code) still gets every
/// alert: one message each instead of a digest, and later alerts too.
#[test]
fn a_panicking_digest_line_cost_falls_back_to_one_message_per_alert() {
    use std::sync::{Arc, Mutex};

    struct Odd(Arc<Mutex<Vec<String>>>);
    impl Sink for Odd {
        fn name(&self) -> &str {
            "odd"
        }
        fn send<'a>(
            &'a self,
            alert: &'a notify_core::Alert,
        ) -> notify_core::BoxFuture<'a, Result<(), notify_core::SinkError>> {
            Box::pin(async move {
                // Slow enough that the others wait, and would go together.
                tokio::time::sleep(Duration::from_millis(100)).await;
                self.0.lock().unwrap().push(alert.title.clone());
                Ok(())
            })
        }
        fn digest_room(&self) -> Option<usize> {
            Some(1000)
        }
        fn digest_line_cost(&self, _line: &str) -> usize {
            panic!("a bug in a sink's cost function")
        }
    }
    let sent = Arc::new(Mutex::new(Vec::new()));
    let diagnostics = Diagnostics::default();
    let notifier = support::builder(&diagnostics, Duration::from_secs(3))
        .sink(Odd(sent.clone()))
        .build()
        .expect("build");
    for round in 0..2 {
        for i in 0..5 {
            notifier.report_error(&std::io::Error::other(format!("failure {round}-{i}")));
        }
        assert!(
            notifier.flush(Duration::from_secs(10)),
            "{:?}",
            diagnostics.lines()
        );
    }
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 10, "{sent:?}");
    let stats = notifier.stats();
    assert_eq!((stats.delivered, stats.coalesced), (10, 0), "{stats:?}");
    // The fallback was taken (the cost function was asked, and panicked),
    // and said once.
    let said: Vec<String> = diagnostics
        .lines()
        .into_iter()
        .filter(|l| l.contains("panicked in digest_line_cost"))
        .collect();
    assert_eq!(said.len(), 1, "{:?}", diagnostics.lines());
    assert!(
        said[0].contains("a bug in a sink's cost function"),
        "{said:?}"
    );
}
