//! The Telegram sink against a local Bot API stand-in that checks requests
//! the way Telegram does.

mod support;

use std::time::Duration;

use notify_core::{Notifier, Severity, Telegram};
use support::{telegram, Diagnostics};

const TOKEN: &str = "123456:TEST-TOKEN";

fn notifier(sink: Telegram, diagnostics: &Diagnostics, timeout: Duration) -> Notifier {
    support::builder(diagnostics, timeout)
        .environment("prod")
        .sink(sink)
        .build()
        .unwrap()
}

fn texts(server: &support::TestServer) -> Vec<String> {
    server
        .accepted()
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn an_error_arrives_as_valid_html_without_null_fields() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    let error = std::io::Error::other("disk full");
    n.report_error(&error);
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let accepted = server.accepted();
    assert_eq!(accepted.len(), 1);
    let body = accepted[0].json();
    assert_eq!(body["chat_id"], 42);
    assert_eq!(body["parse_mode"], "HTML");
    assert_eq!(
        body["link_preview_options"],
        serde_json::json!({"is_disabled": true})
    );
    assert!(body.as_object().unwrap().values().all(|v| !v.is_null()));
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("<b>🔴 [ERROR] Error: disk full</b>"),
        "{text}"
    );
    assert!(text.contains("<b>app:</b> billing"), "{text}");
    assert!(text.contains("<pre>disk full</pre>"), "{text}");
    assert!(diagnostics.lines().is_empty());
}

#[test]
fn hostile_text_cannot_create_markup_or_mentions() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(
        Severity::Error,
        "<b>bold</b> <!channel> <!here> @everyone <@U123> &amp; </pre> <a href=\"x\">",
    );
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let text = &texts(&server)[0];
    assert!(text.contains("&lt;b&gt;bold&lt;/b&gt; &lt;!channel&gt; &lt;!here&gt; @everyone &lt;@U123&gt; &amp;amp; &lt;/pre&gt;"), "{text}");
}

#[test]
fn an_over_long_error_is_cut_within_4096_and_still_accepted() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    let long = "에러 <&> 🙂 ".repeat(2000);
    n.report_message(Severity::Critical, &long);
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let text = &texts(&server)[0];
    assert!(telegram::visible_length(text).unwrap() <= 4096);
    assert!(text.contains("… truncated"), "{text}");
    assert!(text.contains("<b>host:</b>"), "the header is kept: {text}");
}

#[test]
fn chat_not_found_is_reported_once_with_telegrams_reason() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 43).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "to nowhere");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(server.requests().len(), 1, "a 400 is not retried");
    assert_eq!(n.stats().failed, 1);
    let lines = diagnostics.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("\"telegram\""), "{}", lines[0]);
    assert!(lines[0].contains("chat not found"), "{}", lines[0]);
}

#[test]
fn a_bad_token_and_a_blocked_bot_are_not_retried() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    server.script("42", [telegram::blocked()]);
    let diagnostics = Diagnostics::default();
    let wrong = notifier(
        Telegram::new("123456:WRONG-TOKEN", 42)
            .api_url(&server.url)
            .named("wrong"),
        &diagnostics,
        Duration::from_secs(5),
    );
    wrong.report_message(Severity::Error, "bad token");
    assert!(wrong.flush(Duration::from_secs(10)));
    let blocked = notifier(
        Telegram::new(TOKEN, 42).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    blocked.report_message(Severity::Error, "blocked");
    assert!(blocked.flush(Duration::from_secs(10)));
    assert_eq!(server.requests().len(), 2);
    let lines = diagnostics.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("Unauthorized"), "{}", lines[0]);
    assert!(
        lines[1].contains("bot was blocked by the user"),
        "{}",
        lines[1]
    );
}

#[test]
fn flood_control_wait_is_honoured_then_delivered() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    server.script("42", [telegram::too_many_requests(1)]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "flood");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let requests = server.requests();
    assert_eq!(
        requests.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        vec![429, 200]
    );
    let waited = requests[1].0.at - requests[0].0.at;
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
}

#[test]
fn server_errors_are_retried_until_delivered() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    server.script("42", [telegram::server_error(), telegram::server_error()]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "flaky");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let statuses: Vec<u16> = server.requests().iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, vec![500, 500, 200]);
}

#[test]
fn an_upgraded_group_is_followed_and_remembered() {
    let server = telegram::server(TOKEN, &["-100777"], &[("-55", "-100777")]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, -55).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "first");
    assert!(n.flush(Duration::from_secs(10)));
    n.report_message(Severity::Error, "second");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 2, "{:?}", diagnostics.lines());
    let chats: Vec<String> = server
        .requests()
        .iter()
        .map(|(r, _)| r.json()["chat_id"].to_string())
        .collect();
    assert_eq!(chats, vec!["-55", "-100777", "-100777"]);
}

#[test]
fn a_retry_goes_only_to_the_chats_that_did_not_get_the_alert() {
    let server = telegram::server(TOKEN, &["1", "2"], &[]);
    server.script("2", [telegram::server_error()]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 1).chat(2).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "to two chats");
    assert!(n.flush(Duration::from_secs(10)));
    // Each chat is a delivery of its own.
    assert_eq!(n.stats().delivered, 2, "{:?}", diagnostics.lines());
    assert_eq!(n.stats().failed, 0);
    let mut accepted: Vec<String> = server
        .accepted()
        .iter()
        .map(|r| r.json()["chat_id"].to_string())
        .collect();
    accepted.sort();
    assert_eq!(accepted, vec!["1", "2"], "each chat got it exactly once");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn one_refusing_chat_is_reported_and_the_others_still_get_the_alert() {
    let server = telegram::server(TOKEN, &["1"], &[]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 1).chat(99).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "partly");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(server.accepted().len(), 1);
    let lines = diagnostics.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("chat 99: HTTP 400: Bad Request: chat not found"),
        "{}",
        lines[0]
    );
    assert_eq!(n.stats().delivered, 1);
    assert_eq!(n.stats().failed, 1);
}

#[test]
fn a_chat_that_keeps_failing_is_reported_while_the_other_chat_got_the_alert_once() {
    let server = telegram::server(TOKEN, &["1", "2"], &[]);
    server.script("2", (0..10).map(|_| telegram::server_error()));
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 1).chat(2).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "to two chats");
    assert!(n.flush(Duration::from_secs(15)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    assert_eq!(n.stats().failed, 1);
    let lines = diagnostics.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("chat 2: HTTP 500: Internal Server Error"),
        "{}",
        lines[0]
    );
    let to_chat = |id: i64| {
        server
            .requests()
            .iter()
            .filter(|(r, _)| r.json()["chat_id"] == id)
            .count()
    };
    assert_eq!(to_chat(1), 1, "the chat that got it is not sent to again");
    assert!(to_chat(2) > 1, "the failing chat was retried");
}

#[test]
fn a_proxy_page_that_repeats_the_token_does_not_leak_it() {
    let proxy = support::echoing_404();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&proxy.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "through a proxy");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(proxy.requests().len(), 1, "a 404 is not retried");
    assert!(proxy.requests()[0].0.path.contains(TOKEN));
    support::assert_scrubbed_404(&diagnostics.lines(), &["TEST-TOKEN", "/bot"]);
}

#[test]
fn a_server_that_never_answers_costs_at_most_the_retry_budget() {
    let url = support::never_answers(Duration::from_secs(15));
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&url),
        &diagnostics,
        Duration::from_millis(300),
    );
    let started = std::time::Instant::now();
    n.report_message(Severity::Error, "silence");
    assert!(n.flush(Duration::from_secs(10)));
    let took = started.elapsed();
    // 5 attempts of 300 ms and at most 3.75 s of backoff.
    assert!(took < Duration::from_secs(7), "took {took:?}");
    assert_eq!(n.stats().failed, 1);
    let lines = diagnostics.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("timed out") || lines[0].contains("no answer"),
        "{}",
        lines[0]
    );
}

#[test]
fn connection_refused_is_retried_then_reported() {
    let url = support::refused();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&url),
        &diagnostics,
        Duration::from_millis(300),
    );
    n.report_message(Severity::Error, "nobody home");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().failed, 1);
    let lines = diagnostics.lines();
    assert!(lines[0].contains("could not connect"), "{}", lines[0]);
}

#[test]
fn nothing_is_lost_when_the_api_recovers_within_the_retry_budget() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    server.script("42", (0..4).map(|_| telegram::server_error()));
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    for i in 0..3 {
        n.report_message(Severity::Error, &format!("alert number {i}"));
    }
    assert!(n.flush(Duration::from_secs(15)));
    assert_eq!(n.stats().delivered, 3, "{:?}", diagnostics.lines());
    let texts = texts(&server);
    for i in 0..3 {
        assert_eq!(
            texts
                .iter()
                .filter(|t| t.contains(&format!("alert number {i}")))
                .count(),
            1
        );
    }
}

#[test]
fn the_token_never_appears_in_anything_the_crate_shows() {
    let server = telegram::server("999:OTHER", &["42"], &[]);
    let diagnostics = Diagnostics::default();
    let sink = || Telegram::new(TOKEN, 42);
    let mut shown = vec![
        format!("{:?}", sink()),
        format!("{:?}", sink().api_url(&server.url)),
    ];
    let builder = Notifier::builder().sink(sink().api_url(&server.url));
    shown.push(format!("{builder:?}"));
    // Refused by the server (401), by the network, and by silence.
    for (name, url, timeout) in [
        ("unauthorized", server.url.clone(), Duration::from_secs(5)),
        ("refused", support::refused(), Duration::from_millis(300)),
        (
            "silent",
            support::never_answers(Duration::from_secs(15)),
            Duration::from_millis(300),
        ),
    ] {
        let n = notifier(sink().api_url(&url).named(name), &diagnostics, timeout);
        shown.push(format!("{n:?}"));
        n.report_message(Severity::Error, name);
        assert!(n.flush(Duration::from_secs(10)));
        assert_eq!(n.stats().failed, 1, "{name}");
    }
    // Invalid configuration errors.
    let bad = Notifier::builder()
        .sink(Telegram::new("123456:TEST TOKEN", 42))
        .build()
        .unwrap_err();
    shown.push(bad.to_string());
    shown.push(format!("{bad:?}"));
    let lines = diagnostics.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    shown.extend(lines);
    support::assert_no_secret("TEST-TOKEN", &shown);
    support::assert_no_secret("TEST TOKEN", &shown);
    support::assert_no_secret("/bot", &shown);
}

#[test]
fn the_environment_configures_telegram_and_names_the_variable_at_fault() {
    let server = telegram::server(TOKEN, &["1", "-1002"], &[]);
    let env = |vars: Vec<(&'static str, String)>| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
    };
    let builder = notify_core::NotifierBuilder::from_env_with(env(vec![
        ("NOTIFY_TELEGRAM_BOT_TOKEN", TOKEN.to_owned()),
        ("NOTIFY_TELEGRAM_CHAT_ID", "1, -1002".to_owned()),
        ("NOTIFY_TELEGRAM_API_URL", server.url.clone()),
    ]))
    .unwrap();
    let n = builder.build().unwrap();
    n.report_message(Severity::Error, "from the environment");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 2, "one delivery per chat");
    assert_eq!(server.accepted().len(), 2);

    let field = |vars| notify_core::NotifierBuilder::from_env_with(env(vars)).unwrap_err();
    let mut shown = Vec::new();
    for (vars, expected) in [
        (
            vec![("NOTIFY_TELEGRAM_BOT_TOKEN", TOKEN.to_owned())],
            "NOTIFY_TELEGRAM_CHAT_ID",
        ),
        (
            vec![("NOTIFY_TELEGRAM_CHAT_ID", "42".to_owned())],
            "NOTIFY_TELEGRAM_CHAT_ID",
        ),
        (
            vec![
                ("NOTIFY_TELEGRAM_BOT_TOKEN", "TEST-TOKEN".to_owned()),
                ("NOTIFY_TELEGRAM_CHAT_ID", "42".to_owned()),
            ],
            "NOTIFY_TELEGRAM_BOT_TOKEN",
        ),
        (
            vec![
                ("NOTIFY_TELEGRAM_BOT_TOKEN", TOKEN.to_owned()),
                ("NOTIFY_TELEGRAM_CHAT_ID", "42".to_owned()),
                ("NOTIFY_TELEGRAM_API_URL", "ftp://127.0.0.1".to_owned()),
            ],
            "NOTIFY_TELEGRAM_API_URL",
        ),
        // A token pasted into the chat variable by mistake.
        (
            vec![
                ("NOTIFY_TELEGRAM_BOT_TOKEN", TOKEN.to_owned()),
                (
                    "NOTIFY_TELEGRAM_CHAT_ID",
                    "42, 123456:TEST-TOKEN".to_owned(),
                ),
            ],
            "NOTIFY_TELEGRAM_CHAT_ID",
        ),
    ] {
        let err = field(vars);
        assert_eq!(err.field(), expected, "{err}");
        shown.push(format!("{err} {err:?}"));
    }
    support::assert_no_secret("TEST-TOKEN", &shown);
}

#[test]
fn alerts_to_one_chat_go_one_at_a_time_in_order_those_waiting_together() {
    let server = telegram::server(TOKEN, &["42"], &[]);
    // The first alert needs a retry: the others wait for it.
    server.script("42", [telegram::server_error()]);
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Telegram::new(TOKEN, 42).api_url(&server.url),
        &diagnostics,
        Duration::from_secs(5),
    );
    support::report_numbered(&n, 3);
    assert!(n.flush(Duration::from_secs(15)));
    assert_eq!(n.stats().delivered, 3, "{:?}", diagnostics.lines());
    assert_eq!(support::numbers(texts(&server), 3), vec![0, 1, 2]);
}
