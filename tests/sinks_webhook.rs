//! The signed JSON webhook against a local receiver that verifies every
//! request with `notify_core::webhook::verify`, as a user's receiver would.

mod support;

use std::time::Duration;

use notify_core::webhook::{self, AlertDocument, VerifyError};
use notify_core::{Notifier, NotifierBuilder, Severity, Webhook};
use support::{Diagnostics, Recorded, Reply, TestServer, Verdict};

const SECRET: &str = "whsec-TESTSECRET";
const PATH: &str = "/hooks/notify/TESTPATHTOKEN";

/// A receiver that accepts only requests signed with SECRET.
fn receiver() -> TestServer {
    TestServer::start(|request: &Recorded| {
        let outcome = if request.path != PATH {
            Err(Reply::new(404, "no such hook"))
        } else {
            match request
                .headers
                .get(webhook::SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                None => Err(Reply::new(401, "unsigned")),
                Some(signature) => match webhook::verify(
                    SECRET,
                    signature,
                    &request.body,
                    Duration::from_secs(300),
                ) {
                    Ok(()) => match serde_json::from_slice::<AlertDocument>(&request.body) {
                        Ok(_) => Ok(Reply::new(204, "")),
                        Err(e) => Err(Reply::new(422, format!("bad document: {e}"))),
                    },
                    Err(e) => Err(Reply::new(401, format!("bad signature: {e}"))),
                },
            }
        };
        Verdict {
            key: String::new(),
            outcome,
        }
    })
}

fn notifier(sink: Webhook, diagnostics: &Diagnostics, timeout: Duration) -> Notifier {
    support::builder(diagnostics, timeout)
        .environment("prod")
        .sink(sink)
        .build()
        .unwrap()
}

#[test]
fn a_signed_document_of_the_whole_alert_is_accepted() {
    let server = receiver();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Webhook::new(format!("{}{PATH}", server.url)).secret(SECRET),
        &diagnostics,
        Duration::from_secs(5),
    );
    let error = std::io::Error::other("disk full <b> @everyone");
    n.report_error(&error);
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let request = &server.accepted()[0];
    assert_eq!(request.headers["content-type"], "application/json");
    let document: AlertDocument = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(document.schema, "notify.alert/v1");
    assert_eq!(document.kind, "error");
    assert_eq!(document.severity, "error");
    assert_eq!(document.message, "disk full <b> @everyone");
    assert_eq!(document.app, "billing");
    assert_eq!(document.environment.as_deref(), Some("prod"));
    assert_eq!(document.fingerprint.len(), 16);
    assert!(document.location.file.ends_with("sinks_webhook.rs"));
    // Every documented key is present, absent values as null.
    let json = request.json();
    for key in [
        "panic_location",
        "repeats",
        "causes",
        "backtrace",
        "context",
        "dropped",
        "timestamp",
        "host",
        "process_id",
        "thread",
        "title",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

#[test]
fn a_tampered_forged_or_stale_request_is_rejected_by_verify() {
    let server = receiver();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Webhook::new(format!("{}{PATH}", server.url)).secret(SECRET),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Warning, "original");
    assert!(n.flush(Duration::from_secs(10)));
    let request = &server.accepted()[0];
    let signature = request.headers[webhook::SIGNATURE_HEADER].to_str().unwrap();
    assert!(
        signature.starts_with("t=") && signature.contains(",v1="),
        "{signature}"
    );
    let body = &request.body;
    let tolerance = Duration::from_secs(300);
    assert_eq!(webhook::verify(SECRET, signature, body, tolerance), Ok(()));
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    assert_eq!(
        webhook::verify(SECRET, signature, &tampered, tolerance),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        webhook::verify("whsec-guess", signature, body, tolerance),
        Err(VerifyError::Mismatch)
    );
    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(
        webhook::verify_at(SECRET, signature, body, tolerance, later),
        Err(VerifyError::Stale)
    );
    assert_eq!(
        webhook::verify(SECRET, "t=1", body, tolerance),
        Err(VerifyError::Malformed)
    );
}

#[test]
fn an_unsigned_or_wrongly_signed_sink_is_refused_and_reported_once() {
    let server = receiver();
    let diagnostics = Diagnostics::default();
    let unsigned = notifier(
        Webhook::new(format!("{}{PATH}", server.url)).named("unsigned"),
        &diagnostics,
        Duration::from_secs(5),
    );
    unsigned.report_message(Severity::Error, "a");
    assert!(unsigned.flush(Duration::from_secs(10)));
    let wrong = notifier(
        Webhook::new(format!("{}{PATH}", server.url))
            .secret("whsec-WRONG")
            .named("wrong"),
        &diagnostics,
        Duration::from_secs(5),
    );
    wrong.report_message(Severity::Error, "b");
    assert!(wrong.flush(Duration::from_secs(10)));
    assert!(server.requests()[0]
        .0
        .headers
        .get(webhook::SIGNATURE_HEADER)
        .is_none());
    assert_eq!(server.statuses(), vec![401, 401], "no retries");
    let lines = diagnostics.lines();
    assert!(
        lines[0].contains("\"unsigned\"") && lines[0].contains("HTTP 401: unsigned"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("bad signature: the signature does not match the body"),
        "{}",
        lines[1]
    );
}

#[test]
fn rate_limits_and_server_errors_are_retried_until_delivered() {
    let server = receiver();
    server.script(
        "",
        [
            Reply::new(429, "slow down").header("Retry-After", "1"),
            Reply::new(503, "busy"),
            Reply::new(500, "oops"),
        ],
    );
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Webhook::new(format!("{}{PATH}", server.url)).secret(SECRET),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "retry me");
    assert!(n.flush(Duration::from_secs(15)));
    assert_eq!(n.stats().delivered, 1, "{:?}", diagnostics.lines());
    let requests = server.requests();
    assert_eq!(server.statuses(), vec![429, 503, 500, 204]);
    assert!(requests[1].0.at - requests[0].0.at >= Duration::from_millis(950));
}

#[test]
fn a_silent_or_absent_receiver_is_bounded_and_reported_without_secrets() {
    let diagnostics = Diagnostics::default();
    let mut shown = Vec::new();
    for (name, url) in [
        ("silent", support::never_answers(Duration::from_secs(15))),
        ("refused", support::refused()),
    ] {
        let sink = || {
            Webhook::new(format!("{url}{PATH}?key=TESTQUERY"))
                .secret(SECRET)
                .named(name)
        };
        shown.push(format!("{:?}", sink()));
        shown.push(format!("{:?}", Notifier::builder().sink(sink())));
        let n = notifier(sink(), &diagnostics, Duration::from_millis(300));
        shown.push(format!("{n:?}"));
        let started = std::time::Instant::now();
        n.report_message(Severity::Error, name);
        assert!(n.flush(Duration::from_secs(10)));
        assert!(
            started.elapsed() < Duration::from_secs(7),
            "{name}: {:?}",
            started.elapsed()
        );
        assert_eq!(n.stats().failed, 1);
    }
    let lines = diagnostics.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("timed out") || lines[0].contains("no answer"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("could not connect"), "{}", lines[1]);
    let errors = [
        NotifierBuilder::from_env_with(|v| {
            (v == "NOTIFY_WEBHOOK_SECRET").then(|| SECRET.to_owned())
        })
        .unwrap_err(),
        NotifierBuilder::from_env_with(|v| match v {
            "NOTIFY_WEBHOOK_URL" => Some(format!("not-a-url{PATH}")),
            "NOTIFY_WEBHOOK_SECRET" => Some(SECRET.to_owned()),
            _ => None,
        })
        .unwrap_err(),
    ];
    assert_eq!(errors[0].field(), "NOTIFY_WEBHOOK_SECRET");
    assert_eq!(errors[1].field(), "NOTIFY_WEBHOOK_URL");
    shown.extend(errors.iter().map(|e| format!("{e} {e:?}")));
    shown.extend(lines);
    for secret in ["TESTSECRET", "TESTPATHTOKEN", "TESTQUERY"] {
        support::assert_no_secret(secret, &shown);
    }
}

#[test]
fn the_environment_configures_a_signed_webhook() {
    let server = receiver();
    let url = format!("{}{PATH}", server.url);
    let builder = NotifierBuilder::from_env_with(|v| match v {
        "NOTIFY_WEBHOOK_URL" => Some(url.clone()),
        "NOTIFY_WEBHOOK_SECRET" => Some(SECRET.to_owned()),
        _ => None,
    })
    .unwrap();
    let n = builder.build().unwrap();
    n.report_message(Severity::Error, "from the environment");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(n.stats().delivered, 1);
    assert_eq!(server.statuses(), vec![204]);
}

#[test]
fn a_proxy_page_that_repeats_the_path_and_query_does_not_leak_them() {
    let proxy = support::echoing_404();
    let diagnostics = Diagnostics::default();
    let n = notifier(
        Webhook::new(format!("{}{PATH}?key=QUERYSECRET", proxy.url)).secret(SECRET),
        &diagnostics,
        Duration::from_secs(5),
    );
    n.report_message(Severity::Error, "through a proxy");
    assert!(n.flush(Duration::from_secs(10)));
    assert_eq!(proxy.requests().len(), 1, "a 404 is not retried");
    assert_eq!(
        proxy.requests()[0].0.query.as_deref(),
        Some("key=QUERYSECRET")
    );
    support::assert_scrubbed_404(
        &diagnostics.lines(),
        &["TESTPATHTOKEN", "QUERYSECRET", "/hooks/notify"],
    );
}
