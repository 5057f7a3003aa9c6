//! The Discord sink against a local webhook stand-in that checks embeds the
//! way Discord does.

mod support;

use std::time::Duration;

use notify_core::{Discord, Notifier, Severity};
use support::{discord, notifier, Diagnostics, TestServer};

fn hook(server: &TestServer) -> String {
    format!("{}{}", server.url, discord::PATH)
}

#[test]
fn an_error_arrives_as_one_embed_coloured_by_severity() {
    let server = discord::server();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Discord::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    // One at a time: two alerts waiting at once would go as one digest.
    n.report_message(Severity::Warning, "disk 91% full");
    assert!(n.flush(Duration::from_secs(10)));
    n.report_error(&std::io::Error::other("disk full"));
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 2, "{:?}", diagnostics.lines());
    let mut bodies: Vec<_> = server.accepted().iter().map(|r| r.json()).collect();
    bodies.sort_by_key(|b| b["embeds"][0]["color"].as_u64());
    let (error, warning) = (&bodies[0]["embeds"][0], &bodies[1]["embeds"][0]);
    assert_eq!(warning["title"], "⚠️ [WARNING] disk 91% full");
    assert_eq!(warning["color"], 0xF1C40F);
    assert_eq!(error["color"], 0xE74C3C);
    assert_eq!(error["description"], "```\ndisk full\n```");
    assert_eq!(
        bodies[0]["allowed_mentions"],
        serde_json::json!({"parse": []})
    );
    assert_eq!(bodies[0]["username"], "notify");
    assert!(error["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(error["footer"]["text"]
        .as_str()
        .unwrap()
        .contains("fingerprint"));
}

#[test]
fn everyone_in_an_error_pings_nobody_and_huge_alerts_fit() {
    let server = discord::server();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Discord::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(
        Severity::Critical,
        &"@everyone @here <@123> 에러 🙂 ```".repeat(1000),
    );
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let body = server.accepted()[0].json();
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    let description = body["embeds"][0]["description"].as_str().unwrap();
    assert!(description.contains("@everyone"));
    assert!(description.contains("… truncated"));
}

#[test]
fn unknown_webhook_and_form_errors_are_reported_once_with_discords_reason() {
    let server = discord::server();
    server.script(
        "",
        [support::Reply::new(
            400,
            r#"{"code":50035,"message":"Invalid Form Body","errors":{"embeds":{"0":{"description":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 4096 or fewer in length."}]}}}}}"#,
        )],
    );
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Discord::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "form");
    assert!(n.flush(Duration::from_secs(10)));
    let gone = notifier(
        Discord::new(format!("{}/api/webhooks/123/DELETED", server.url)).named("gone"),
        &diagnostics,
        Duration::from_secs(5),
    );
    gone.report_message(Severity::Error, "gone");
    assert!(gone.flush(Duration::from_secs(10)));
    assert_eq!(server.statuses(), vec![400, 404], "no retries");
    let lines = diagnostics.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("Invalid Form Body: embeds.0.description: Must be 4096 or fewer in length. (code 50035)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("\"gone\"") && lines[1].contains("Unknown Webhook (code 10015)"),
        "{}",
        lines[1]
    );
}

#[test]
fn retry_after_is_honoured_then_delivered() {
    let server = discord::server();
    server.script("", [discord::rate_limited(0.8)]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Discord::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "busy");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let requests = server.requests();
    assert_eq!(server.statuses(), vec![429, 204]);
    let waited = requests[1].0.at - requests[0].0.at;
    assert!(
        waited >= Duration::from_millis(750),
        "waited only {waited:?}"
    );
}

#[test]
fn an_exhausted_bucket_is_waited_out_before_the_next_message() {
    let server = discord::server();
    server.script("", [discord::last_in_bucket(0.8)]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Discord::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "first");
    assert!(n.flush(Duration::from_secs(10)));
    n.report_message(Severity::Error, "second");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 2, "{:?}", diagnostics.lines());
    let requests = server.requests();
    assert_eq!(server.statuses(), vec![204, 204], "no 429 provoked");
    let waited = requests[1].0.at - requests[0].0.at;
    assert!(
        waited >= Duration::from_millis(750),
        "waited only {waited:?}"
    );
}

#[test]
fn server_errors_are_retried_until_delivered() {
    let server = discord::server();
    server.script("", [discord::server_error(), discord::server_error()]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Discord::new(hook(&server)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "flaky");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    assert_eq!(server.statuses(), vec![500, 500, 204]);
}

#[test]
fn nothing_is_lost_when_the_hook_recovers_within_the_retry_budget() {
    let server = discord::server();
    server.script("", (0..4).map(|_| discord::server_error()));
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Discord::new(hook(&server)),
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
        Discord::new(format!("{url}{}", discord::PATH)).named(name)
    });
}

#[test]
fn the_webhook_url_never_appears_in_anything_the_crate_shows() {
    let server = discord::server();
    let diagnostics = Diagnostics::default();
    let mut shown = Vec::new();
    for (name, url, timeout) in [
        (
            "unknown",
            format!("{}/api/webhooks/123/TESTSECRET-OLD", server.url),
            Duration::from_secs(5),
        ),
        (
            "refused",
            format!("{}{}", support::refused(), discord::PATH),
            Duration::from_millis(300),
        ),
        (
            "silent",
            format!(
                "{}{}",
                support::never_answers(Duration::from_secs(15)),
                discord::PATH
            ),
            Duration::from_millis(300),
        ),
    ] {
        shown.push(format!("{:?}", Discord::new(&url)));
        shown.push(format!(
            "{:?}",
            Notifier::builder().sink(Discord::new(&url))
        ));
        let n = notifier(Discord::new(&url).named(name), &diagnostics, timeout);
        shown.push(format!("{n:?}"));
        n.report_message(Severity::Error, name);
        assert!(n.flush(Duration::from_secs(10)));
        assert_eq!(n.stats().failed, 1, "{name}");
    }
    let bad = Notifier::builder()
        .sink(Discord::new("discord.com/api/webhooks/123/TESTSECRET"))
        .build()
        .unwrap_err();
    assert_eq!(bad.field(), "discord.webhook_url");
    shown.push(bad.to_string());
    shown.extend(diagnostics.lines());
    assert_eq!(shown.len(), 3 * 3 + 1 + 3);
    support::assert_no_secret("TESTSECRET", &shown);
    support::assert_no_secret("/api/webhooks", &shown);
}

#[test]
fn the_environment_configures_discord_and_names_the_variable_at_fault() {
    let server = discord::server();
    let url = hook(&server);
    let n = notify_core::NotifierBuilder::from_env_with(|v| {
        (v == "NOTIFY_DISCORD_WEBHOOK_URL").then(|| url.clone())
    })
    .unwrap()
    .build()
    .unwrap();
    n.report_message(Severity::Error, "from the environment");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(server.accepted().len(), 1);
    let err = notify_core::NotifierBuilder::from_env_with(|v| {
        (v == "NOTIFY_DISCORD_WEBHOOK_URL").then(|| String::from("webhooks/TESTSECRET"))
    })
    .unwrap_err();
    assert_eq!(err.field(), "NOTIFY_DISCORD_WEBHOOK_URL");
    support::assert_no_secret("TESTSECRET", &[format!("{err} {err:?}")]);
}

#[test]
fn alerts_go_one_at_a_time_in_order_those_waiting_together() {
    let server = discord::server();
    // The first alert needs a retry: the others wait for it.
    server.script("", [discord::server_error()]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Discord::new(hook(&server)),
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
        Discord::new(format!("{}{}?wait=true", proxy.url, discord::PATH)),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "through a proxy");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(proxy.requests().len(), 1, "a 404 is not retried");
    support::assert_scrubbed_404(&diagnostics.lines(), &["TESTSECRET", "/api/webhooks"]);
}
