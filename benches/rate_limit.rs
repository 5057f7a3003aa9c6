//! How long 100 distinct alerts take to reach a platform that accepts one
//! message per second, and in how many requests (issue 11).
//!
//! `cargo bench --bench rate_limit` starts the Telegram, Slack and Discord
//! stand-ins of `tests/support` on 127.0.0.1 with that rate limit (each
//! answering a request too soon with its own 429), reports 100 distinct
//! errors at once through a notifier with one sink, flushes, and prints the
//! time until the last alert's headline was accepted, the requests made,
//! and the messages accepted. No criterion: one run is seconds long and
//! its figures are counts and a wall time.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use notify_core::{Discord, Sink, Slack, Telegram};
use support::{discord, slack, telegram, Diagnostics, TestServer};

const ALERTS: usize = 100;
const TOKEN: &str = "123456:TEST-TOKEN";

fn measure(name: &str, server: &TestServer, sink: Box<dyn Sink>) {
    let diagnostics = Diagnostics::default();
    let notifier = support::builder(&diagnostics, Duration::from_secs(5))
        .sink(sink)
        .build()
        .expect("build");
    let start = Instant::now();
    for i in 0..ALERTS {
        notifier.report_error(&std::io::Error::other(format!("distinct failure {i}")));
    }
    let flushed = notifier.flush(Duration::from_secs(120));
    let elapsed = start.elapsed();
    let stats = notifier.stats();
    let requests = server.requests().len();
    let accepted = server.accepted();
    let bodies: Vec<String> = accepted
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    let heard = (0..ALERTS)
        .filter(|i| {
            let needle = format!("distinct failure {i}");
            bodies.iter().any(|b| {
                b.match_indices(&needle).any(|(at, _)| {
                    !b[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit())
                })
            })
        })
        .count();
    println!(
        "rate limit {name}: {ALERTS} alerts, 1 message/s: all delivered in {:.2} s (flushed: {flushed}); \
         {requests} requests ({} accepted, {} answered 429), {heard} of {ALERTS} headlines in accepted messages; \
         delivered {}, coalesced {} in {} digests",
        elapsed.as_secs_f64(),
        accepted.len(),
        requests - accepted.len(),
        stats.delivered,
        stats.coalesced,
        stats.digests,
    );
}

fn main() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    server.limit_rate(Duration::from_secs(1), |wait| {
        telegram::too_many_requests(wait.as_secs_f64().ceil() as u64)
    });
    measure(
        "telegram",
        &server,
        Box::new(Telegram::new(TOKEN, 42).api_url(&server.url)),
    );

    let server = slack::server();
    server.limit_rate(Duration::from_secs(1), |wait| {
        slack::rate_limited(wait.as_secs_f64().ceil() as u64)
    });
    measure(
        "slack",
        &server,
        Box::new(Slack::new(format!("{}{}", server.url, slack::PATH))),
    );

    let server = discord::server();
    server.limit_rate(Duration::from_secs(1), |wait| {
        discord::rate_limited(wait.as_secs_f64())
    });
    measure(
        "discord",
        &server,
        Box::new(Discord::new(format!("{}{}", server.url, discord::PATH))),
    );
}
