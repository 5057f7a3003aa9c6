//! The options of `#[alert_on_error(...)]`: severity, title, sinks, context,
//! crate and result.

use std::cell::Cell;
use std::fmt;
use std::panic::catch_unwind;

use notify_core::testing::capture_alerts;
use notify_core::{alert_on_error, Alert, AlertKind, Severity};

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("upstream timed out")]
struct Timeout;

fn one_alert(alerts: Vec<Alert>) -> Alert {
    assert_eq!(alerts.len(), 1, "expected exactly one alert: {alerts:#?}");
    alerts.into_iter().next().unwrap()
}

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;

// ---------------------------------------------------------------- severity

#[alert_on_error]
fn plain(fail: bool) -> Result<(), Timeout> {
    if fail {
        return Err(Timeout);
    }
    panic!("plain panicked")
}

#[alert_on_error(severity = "warning")]
fn warning(fail: bool) -> Result<(), Timeout> {
    if fail {
        return Err(Timeout);
    }
    panic!("warning panicked")
}

#[alert_on_error(severity = "critical")]
fn critical() -> Result<(), Timeout> {
    Err(Timeout)
}

#[alert_on_error(severity = "error")]
fn error() -> u32 {
    panic!("error panicked")
}

#[test]
fn severity_defaults_to_error_for_err_and_critical_for_panic() {
    let alerts = capture_alerts(|| {
        assert!(plain(true).is_err());
        assert!(catch_unwind(|| plain(false)).is_err());
    });
    assert_eq!(alerts.len(), 2);
    assert_eq!(
        (alerts[0].kind, alerts[0].severity),
        (AlertKind::Error, Severity::Error)
    );
    assert_eq!(
        (alerts[1].kind, alerts[1].severity),
        (AlertKind::Panic, Severity::Critical)
    );
}

#[test]
fn severity_option_sets_both_err_and_panic() {
    let alerts = capture_alerts(|| {
        assert!(warning(true).is_err());
        assert!(catch_unwind(|| warning(false)).is_err());
        assert!(critical().is_err());
        assert!(catch_unwind(error).is_err());
    });
    let seen: Vec<(AlertKind, Severity)> = alerts.iter().map(|a| (a.kind, a.severity)).collect();
    assert_eq!(
        seen,
        [
            (AlertKind::Error, Severity::Warning),
            (AlertKind::Panic, Severity::Warning),
            (AlertKind::Error, Severity::Critical),
            (AlertKind::Panic, Severity::Error),
        ]
    );
}

// ---------------------------------------------------------------- title

#[alert_on_error(title = "Nightly export failed")]
fn nightly_export() -> Result<(), Timeout> {
    Err(Timeout)
}

#[alert_on_error(title = "Billing worker crashed 💥")]
async fn billing_worker() {
    tokio::task::yield_now().await;
    panic!("ledger mismatch")
}

#[test]
fn title_is_used_for_errors_and_panics() {
    let alerts = capture_alerts(|| {
        assert!(nightly_export().is_err());
        assert!(catch_unwind(|| block_on(billing_worker())).is_err());
    });
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].title, "Nightly export failed");
    assert_eq!(alerts[0].message, "upstream timed out");
    assert_eq!(alerts[1].title, "Billing worker crashed 💥");
    assert_eq!(alerts[1].message, "ledger mismatch");
}

// ---------------------------------------------------------------- sinks

#[alert_on_error(sinks("ops", "pager"))]
fn routed() -> Result<(), Timeout> {
    Err(Timeout)
}

#[alert_on_error(sinks("ops",))]
fn routed_trailing_comma() -> Result<(), Timeout> {
    Err(Timeout)
}

#[test]
fn sinks_are_recorded_for_routing() {
    let alerts = capture_alerts(|| {
        assert!(routed().is_err());
        assert!(routed_trailing_comma().is_err());
        assert!(plain(true).is_err());
    });
    assert_eq!(alerts.len(), 3);
    assert_eq!(alerts[0].sinks, ["ops", "pager"]);
    assert_eq!(alerts[1].sinks, ["ops"]);
    assert!(alerts[2].sinks.is_empty(), "no sinks(...) means every sink");
}

// ---------------------------------------------------------------- context

#[derive(Debug)]
struct Invoice {
    id: u32,
    lines: usize,
}

/// Never part of an alert: it is not named in `context(...)`.
struct Password(&'static str);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Password({})", self.0)
    }
}

#[alert_on_error(context(invoice, attempt))]
fn send_invoice(invoice: &Invoice, password: Password, attempt: u8) -> Result<(), Timeout> {
    let _ = password;
    Err(Timeout)
}

#[test]
fn context_adds_only_the_named_arguments() {
    let alerts = capture_alerts(|| {
        let invoice = Invoice { id: 7, lines: 2 };
        assert!(send_invoice(&invoice, Password("hunter2"), 3).is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(
        alert.context,
        [
            (
                "invoice".to_owned(),
                "Invoice { id: 7, lines: 2 }".to_owned()
            ),
            ("attempt".to_owned(), "3".to_owned()),
        ]
    );
    assert!(!format!("{alert:?}").contains("hunter2"), "{alert:#?}");
}

#[alert_on_error(context(batch))]
fn drain(mut batch: Vec<u32>) -> Result<u32, Timeout> {
    let first = batch.drain(..).next();
    first.ok_or(Timeout)
}

#[test]
fn context_is_formatted_on_entry() {
    let alerts = capture_alerts(|| {
        assert_eq!(drain(vec![4, 5]), Ok(4));
        // The body empties the vector before failing; the alert shows what came in.
        assert!(drain(vec![]).is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.context, [("batch".to_owned(), "[]".to_owned())]);
}

#[alert_on_error(context(name))]
async fn greet_later(name: String) -> Result<String, Timeout> {
    tokio::task::yield_now().await;
    if name.is_empty() {
        return Err(Timeout);
    }
    Ok(format!("hi {name}"))
}

#[test]
fn context_in_an_async_fn() {
    let alerts = capture_alerts(|| {
        assert_eq!(block_on(greet_later("eve".into())).unwrap(), "hi eve");
        assert!(block_on(greet_later(String::new())).is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.context, [("name".to_owned(), "\"\"".to_owned())]);
}

#[alert_on_error(context(name))]
async fn panic_later(name: String) -> u32 {
    tokio::task::yield_now().await;
    panic!("cannot greet {name}")
}

#[test]
fn context_is_kept_when_an_async_fn_panics_after_a_pending_poll() {
    let alerts = capture_alerts(|| {
        let caught = std::panic::catch_unwind(|| block_on(panic_later("mallory".into())));
        assert!(caught.is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.kind, notify_core::AlertKind::Panic);
    assert_eq!(
        alert.context,
        [("name".to_owned(), "\"mallory\"".to_owned())]
    );
}

#[derive(Debug)]
struct Account {
    id: u32,
}

impl Account {
    #[alert_on_error(context(self, amount))]
    fn withdraw(&self, amount: u64) -> Result<u64, Timeout> {
        if amount > 100 {
            return Err(Timeout);
        }
        Ok(amount + u64::from(self.id))
    }
}

#[test]
fn context_can_name_self_in_a_method() {
    let alerts = capture_alerts(|| {
        let account = Account { id: 1 };
        assert_eq!(account.withdraw(5), Ok(6));
        assert!(account.withdraw(500).is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(
        alert.context,
        [
            ("self".to_owned(), "Account { id: 1 }".to_owned()),
            ("amount".to_owned(), "500".to_owned()),
        ]
    );
}

#[alert_on_error(context(x, label))]
fn destructured((x, _y): (u32, u32), Invoice { id: label, .. }: Invoice) -> u32 {
    assert!(x < 100, "x too large");
    x + label
}

#[test]
fn context_can_name_bindings_of_destructured_arguments() {
    let alerts = capture_alerts(|| {
        let invoice = Invoice { id: 9, lines: 1 };
        assert_eq!(invoice.lines, 1);
        assert!(catch_unwind(move || destructured((100, 0), invoice)).is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.kind, AlertKind::Panic);
    assert_eq!(
        alert.context,
        [
            ("x".to_owned(), "100".to_owned()),
            ("label".to_owned(), "9".to_owned())
        ]
    );
}

/// Counts how often it is formatted.
struct Counted<'a>(&'a Cell<u32>);

impl fmt::Debug for Counted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.set(self.0.get() + 1);
        f.write_str("counted")
    }
}

#[alert_on_error(context(value))]
fn formats_context(value: Counted<'_>) -> Result<(), Timeout> {
    let _ = value;
    Ok(())
}

#[test]
fn context_is_not_formatted_when_nothing_listens() {
    // A capture scope open on any thread counts as listening, so this runs
    // alone, in a fresh process of this test binary.
    if std::env::var_os("NOTIFY_MACRO_TEST_ALONE").is_none() {
        let alone = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "context_is_not_formatted_when_nothing_listens"])
            .env("NOTIFY_MACRO_TEST_ALONE", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&alone.stdout);
        assert!(
            alone.status.success() && stdout.contains("1 passed"),
            "run alone:\n{stdout}\n{}",
            String::from_utf8_lossy(&alone.stderr)
        );
        return;
    }
    let formatted = Cell::new(0);
    assert_eq!(formats_context(Counted(&formatted)), Ok(()));
    assert_eq!(formatted.get(), 0, "no notifier installed: no formatting");
}

#[test]
fn no_context_by_default() {
    let alerts = capture_alerts(|| assert!(plain(true).is_err()));
    assert!(one_alert(alerts).context.is_empty());
}

// ---------------------------------------------------------------- crate

mod reexport {
    pub use notify_core;
}

#[alert_on_error(crate = "crate::reexport::notify_core", title = "through a re-export")]
fn through_reexport() -> Result<(), Timeout> {
    Err(Timeout)
}

use notify_core as renamed_notify;

#[alert_on_error(crate = "renamed_notify")]
async fn through_renamed_import() -> Result<(), Timeout> {
    Err(Timeout)
}

#[test]
fn crate_option_reaches_the_runtime_through_another_path() {
    let alerts = capture_alerts(|| {
        assert!(through_reexport().is_err());
        assert!(block_on(through_renamed_import()).is_err());
    });
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].title, "through a re-export");
    assert_eq!(
        alerts[1].location.function,
        "macro_options::through_renamed_import"
    );
}

// ---------------------------------------------------------------- result

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("validation failed")]
struct Invalid;

/// A result alias whose name is not `Result`.
type Fallible<T> = Result<T, Invalid>;

#[alert_on_error]
fn unmarked_alias() -> Fallible<u32> {
    Err(Invalid)
}

#[alert_on_error(result)]
fn marked_alias(fail: bool) -> Fallible<u32> {
    if fail {
        return Err(Invalid);
    }
    Ok(1)
}

#[alert_on_error(result, severity = "warning")]
async fn marked_alias_later() -> Fallible<u32> {
    Err(Invalid)
}

/// Whether a function returns a `Result` is decided by its type: an alias
/// of another name reports its `Err` with or without the `result` option
/// (which stays accepted, and is no longer needed).
#[test]
fn a_result_alias_of_any_name_reports_with_or_without_the_result_option() {
    let alerts = capture_alerts(|| {
        assert_eq!(unmarked_alias(), Err(Invalid));
        assert_eq!(marked_alias(false), Ok(1));
        assert_eq!(marked_alias(true), Err(Invalid));
        assert_eq!(block_on(marked_alias_later()), Err(Invalid));
    });
    assert_eq!(alerts.len(), 3, "every Err reports: {alerts:#?}");
    assert_eq!(alerts[0].location.function, "macro_options::unmarked_alias");
    assert_eq!(alerts[1].location.function, "macro_options::marked_alias");
    assert_eq!(alerts[1].message, "validation failed");
    assert_eq!(alerts[2].severity, Severity::Warning);
}

// ---------------------------------------------------------------- together

#[alert_on_error(
    severity = "critical",
    title = "Payout failed",
    sinks("finance"),
    context(payout_id),
    crate = "::notify_core"
)]
fn payout(payout_id: u64, secret: &str) -> Result<(), Timeout> {
    let _ = secret;
    Err(Timeout)
}

#[test]
fn all_options_together() {
    let alerts = capture_alerts(|| assert!(payout(77, "s3cr3t").is_err()));
    let alert = one_alert(alerts);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.title, "Payout failed");
    assert_eq!(alert.sinks, ["finance"]);
    assert_eq!(alert.context, [("payout_id".to_owned(), "77".to_owned())]);
    assert_eq!(alert.message, "upstream timed out");
}
