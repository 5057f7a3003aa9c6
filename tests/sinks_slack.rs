//! The Slack sink against a local incoming-webhook stand-in that checks
//! Block Kit and escaping the way Slack does.

mod support;

use std::time::Duration;

use notify_core::{Notifier, Severity, Slack};
use support::{notifier, slack, Diagnostics, TestServer};

fn hook(server: &TestServer) -> String {
    format!("{}{}", server.url, slack::PATH)
}

#[test]
fn an_error_arrives_as_block_kit_with_a_text_fallback() {
    let server = slack::server();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Slack::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_error(&std::io::Error::other("disk full"));
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let body = server.accepted()[0].json();
    assert!(body["text"].as_str().unwrap().contains("disk full"));
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "🔴 [ERROR] Error: disk full");
    assert_eq!(blocks[1]["text"]["text"], "```\ndisk full\n```");
    assert!(blocks[2]["fields"][0]["text"] == "*app*\nbilling");
}

#[test]
fn mentions_in_an_error_stay_inert() {
    let server = slack::server();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Slack::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(
        Severity::Warning,
        "<!channel> <!here> <!everyone> <@U123> <#C1> &amp; <b>x</b> @everyone",
    );
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let sent = String::from_utf8(server.accepted()[0].body.to_vec()).unwrap();
    assert!(!sent.contains("<!"), "{sent}");
    assert!(!sent.contains("<@"), "{sent}");
    assert!(
        sent.contains(
            "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U123&gt; &lt;#C1&gt; &amp;amp;"
        ),
        "{sent}"
    );
}

#[test]
fn an_over_long_alert_fits_every_block_limit() {
    let server = slack::server();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Slack::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Critical, &"경고 <&> 🙂 ```".repeat(3000));
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    assert!(server.accepted()[0].json()["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("… truncated"));
}

#[test]
fn refusals_are_reported_once_with_slacks_reason() {
    let server = slack::server();
    server.script(
        "",
        [
            slack::archived(),
            support::Reply::new(400, "invalid_blocks"),
        ],
    );
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Slack::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "first");
    assert!(n.flush(Duration::from_secs(10)));
    n.report_message(Severity::Error, "second");
    assert!(n.flush(Duration::from_secs(10)));
    let unknown = notifier(
        Slack::new(format!("{}/services/T000/B000/OTHER", server.url)).named("gone"),
        &diagnostics,
        Duration::from_secs(5),
    );
    unknown.report_message(Severity::Error, "third");
    assert!(unknown.flush(Duration::from_secs(10)));
    assert_eq!(server.statuses(), vec![410, 400, 404], "no retries");
    let lines = diagnostics.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].contains("\"slack\"") && lines[0].contains("channel_is_archived"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("invalid_blocks"), "{}", lines[1]);
    assert!(
        lines[2].contains("\"gone\"") && lines[2].contains("no_service"),
        "{}",
        lines[2]
    );
}

#[test]
fn retry_after_is_honoured_then_delivered() {
    let server = slack::server();
    server.script("", [slack::rate_limited(1)]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Slack::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "busy");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let requests = server.requests();
    assert_eq!(server.statuses(), vec![429, 200]);
    let waited = requests[1].0.at - requests[0].0.at;
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
}

#[test]
fn server_errors_are_retried_until_delivered() {
    let server = slack::server();
    server.script("", [slack::server_error(), slack::server_error()]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Slack::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "flaky");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    assert_eq!(server.statuses(), vec![500, 500, 200]);
}

#[test]
fn nothing_is_lost_when_the_hook_recovers_within_the_retry_budget() {
    let server = slack::server();
    server.script("", (0..4).map(|_| slack::server_error()));
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Slack::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    for i in 0..3 {
        n.report_message(Severity::Error, &format!("alert number {i}"));
    }
    assert!(n.flush(Duration::from_secs(15)));
    assert_eq!(n.stats().delivered, 3, "{:?}", diagnostics.lines());
    // Each in a message of its own or as a line of a digest.
    assert_eq!(support::numbers(support::bodies(&server), 3), vec![0, 1, 2]);
}

#[test]
fn a_silent_or_absent_hook_is_bounded_and_reported() {
    support::assert_unreachable_is_bounded_and_reported(|url, name| {
        Slack::new(format!("{url}{}", slack::PATH)).named(name)
    });
}

#[test]
fn the_webhook_url_never_appears_in_anything_the_crate_shows() {
    let server = slack::server();
    let diagnostics = Diagnostics::default();
    let mut shown = Vec::new();
    let wrong = format!("{}/services/T000/B000/TESTSECRET-WRONG", server.url);
    for (name, url, timeout) in [
        ("refused-by-slack", wrong, Duration::from_secs(5)),
        (
            "refused",
            format!("{}{}", support::refused(), slack::PATH),
            Duration::from_millis(300),
        ),
        (
            "silent",
            format!(
                "{}{}",
                support::never_answers(Duration::from_secs(15)),
                slack::PATH
            ),
            Duration::from_millis(300),
        ),
    ] {
        shown.push(format!("{:?}", Slack::new(&url)));
        shown.push(format!("{:?}", Notifier::builder().sink(Slack::new(&url))));
        let n = notifier(Slack::new(&url).named(name), &diagnostics, timeout);
        shown.push(format!("{n:?}"));
        n.report_message(Severity::Error, name);
        assert!(n.flush(Duration::from_secs(10)));
        assert_eq!(n.stats().failed, 1, "{name}");
    }
    let bad = Notifier::builder()
        .sink(Slack::new("hooks.slack.com/services/TESTSECRET"))
        .build()
        .unwrap_err();
    assert_eq!(bad.field(), "slack.webhook_url");
    shown.push(bad.to_string());
    shown.extend(diagnostics.lines());
    assert_eq!(shown.len(), 3 * 3 + 1 + 3);
    support::assert_no_secret("TESTSECRET", &shown);
    support::assert_no_secret("/services/", &shown);
}

#[test]
fn the_environment_configures_slack_and_names_the_variable_at_fault() {
    let server = slack::server();
    let url = hook(&server);
    let n = notify_core::NotifierBuilder::from_env_with(|v| {
        (v == "NOTIFY_SLACK_WEBHOOK_URL").then(|| url.clone())
    })
    .unwrap()
    .build()
    .unwrap();
    n.report_message(Severity::Error, "from the environment");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(server.accepted().len(), 1);
    let err = notify_core::NotifierBuilder::from_env_with(|v| {
        (v == "NOTIFY_SLACK_WEBHOOK_URL").then(|| String::from("hooks/TESTSECRET"))
    })
    .unwrap_err();
    assert_eq!(err.field(), "NOTIFY_SLACK_WEBHOOK_URL");
    support::assert_no_secret("TESTSECRET", &[format!("{err} {err:?}")]);
}

#[test]
fn alerts_go_one_at_a_time_in_order_those_waiting_together() {
    let server = slack::server();
    // The first alert needs a retry: the others wait for it.
    server.script("", [slack::server_error()]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Slack::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    support::report_numbered(&n, 3);
    assert!(n.flush(Duration::from_secs(15)));
    assert_eq!(n.stats().delivered, 3, "{:?}", diagnostics.lines());
    // One at a time, in order: the first alone, those that waited behind
    // it together, as a digest whose lines keep their order.
    assert_eq!(support::numbers(support::bodies(&server), 3), vec![0, 1, 2]);
}

#[test]
fn a_proxy_page_that_repeats_the_webhook_path_does_not_leak_it() {
    let proxy = support::echoing_404();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Slack::new(format!("{}{}", proxy.url, slack::PATH)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "through a proxy");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(proxy.requests().len(), 1, "a 404 is not retried");
    support::assert_scrubbed_404(&diagnostics.lines(), &["TESTSECRET", "/services/"]);
}
