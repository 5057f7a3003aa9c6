//! What works in every feature configuration — also with
//! `default-features = false`, where only `Console` and `Memory` are built
//! (`.ci/run` runs these tests that way too).

use std::time::Duration;

use notify_core::{alert_on_error, AlertKind, Memory, Notifier, NotifierBuilder, Severity};

#[alert_on_error(title = "Export failed")]
fn export() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("disk full"))
}

#[test]
fn a_memory_sink_gets_reports_through_a_whole_notifier() {
    let memory = Memory::new();
    let notifier = Notifier::builder()
        .sink(memory.clone())
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    notifier.report_message(Severity::Warning, "disk 91% full");
    notifier.report_error(&std::io::Error::other("ledger is locked"));
    assert!(notifier.flush(Duration::from_secs(30)));
    let alerts = memory.alerts();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_eq!(alerts[0].kind, AlertKind::Message);
    assert_eq!(alerts[1].message, "ledger is locked");
    assert_eq!(notifier.stats().delivered, 2);
}

#[test]
fn the_attribute_reports_through_the_test_scope() {
    let alerts = notify_core::testing::capture_alerts(|| {
        let _ = export();
    });
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].title, "Export failed");
    assert_eq!(alerts[0].message, "disk full");
}

#[test]
fn with_no_sink_variable_alerts_go_to_the_console() {
    let builder = NotifierBuilder::from_env_with(|_| None).unwrap();
    assert!(
        format!("{builder:?}").contains("\"console\""),
        "{builder:?}"
    );
}

/// A variable of a sink that is not compiled in is an error that names it,
/// not silence (and never shows its value).
#[cfg(not(feature = "telegram"))]
#[test]
fn a_variable_of_a_sink_left_out_is_refused() {
    let error = NotifierBuilder::from_env_with(|name| {
        (name == "NOTIFY_TELEGRAM_BOT_TOKEN").then(|| String::from("123456:secret-token"))
    })
    .unwrap_err();
    assert_eq!(error.field(), "NOTIFY_TELEGRAM_BOT_TOKEN");
    assert!(error.reason().contains("`telegram` feature"), "{error}");
    assert!(!error.to_string().contains("secret-token"));
}
