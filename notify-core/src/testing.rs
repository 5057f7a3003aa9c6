//! Helpers for asserting, in your own tests, that an alert fired and what it
//! said — in the spirit of sentry's `with_captured_events`.
//!
//! ```
//! use notify_core::{alert_on_error, testing, AlertKind};
//!
//! #[alert_on_error(title = "Export failed")]
//! fn export() -> Result<(), std::io::Error> {
//!     Err(std::io::Error::other("disk full"))
//! }
//!
//! let alerts = testing::capture_alerts(|| {
//!     let _ = export();
//! });
//! assert_eq!(alerts.len(), 1);
//! assert_eq!(alerts[0].kind, AlertKind::Error);
//! assert_eq!(alerts[0].title, "Export failed");
//! assert_eq!(alerts[0].message, "disk full");
//! ```
//!
//! For a whole notifier (storm control, routing, sinks), build one with a
//! [`Memory`](crate::Memory) sink instead.

use std::cell::RefCell;
use std::sync::OnceLock;

use crate::alert::Alert;
use crate::config::Settings;

thread_local! {
    static SCOPE: RefCell<Option<Vec<(crate::capture::Draft, crate::capture::RawBacktrace)>>> = const { RefCell::new(None) };
}

/// Runs `f`, and returns every alert raised on this thread while it ran —
/// by `#[alert_on_error]`, [`report_error`](crate::report_error) or
/// [`report_message`](crate::report_message) — fully built, with the
/// backtrace resolved and trimmed. Inside the scope, alerts are captured
/// instead of sent (even if a notifier is installed), and storm control does
/// not apply: every report is captured.
///
/// Alerts raised on other threads (a multi-thread runtime's workers) are not
/// captured; run async code with a current-thread runtime's `block_on`
/// inside `f`. Scopes do not nest: an inner scope captures, the outer one
/// then sees nothing of it.
pub fn capture_alerts(f: impl FnOnce()) -> Vec<Alert> {
    crate::capture::install_panic_hook();
    let previous = SCOPE.with(|s| s.borrow_mut().replace(Vec::new()));
    crate::dispatch::testing_scope_started();
    struct End(Option<Vec<(crate::capture::Draft, crate::capture::RawBacktrace)>>);
    impl Drop for End {
        fn drop(&mut self) {
            crate::dispatch::testing_scope_ended();
            let previous = self.0.take();
            let _ = SCOPE.try_with(|s| {
                let captured = std::mem::replace(&mut *s.borrow_mut(), previous);
                CAPTURED.with(|c| *c.borrow_mut() = captured.unwrap_or_default());
            });
        }
    }
    {
        let _end = End(previous);
        f();
    }
    let raw = CAPTURED.with(|c| std::mem::take(&mut *c.borrow_mut()));
    raw.into_iter()
        .map(|(draft, backtrace)| {
            draft.complete(settings(), crate::capture::resolve_and_trim(backtrace))
        })
        .collect()
}

thread_local! {
    static CAPTURED: RefCell<Vec<(crate::capture::Draft, crate::capture::RawBacktrace)>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn scope_active() -> bool {
    SCOPE.try_with(|s| s.borrow().is_some()).unwrap_or(false)
}

pub(crate) fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(Settings::detect)
}

pub(crate) fn record(alert: crate::capture::Draft, backtrace: crate::capture::RawBacktrace) {
    let _ = SCOPE.try_with(|s| {
        if let Some(alerts) = s.borrow_mut().as_mut() {
            alerts.push((alert, backtrace));
        }
    });
}
