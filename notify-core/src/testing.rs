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
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use crate::alert::Alert;
use crate::capture::{
    install_panic_hook, resolve_and_trim, scoped, Destination, Draft, RawBacktrace, RunSignal,
};
use crate::settings::Settings;
use crate::storm::RepeatSlot;

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
    install_panic_hook();
    let collector = Rc::new(Collector::default());
    scoped(collector.clone(), f);
    let drafts = std::mem::take(&mut *collector.drafts.borrow_mut());
    let mut alerts: Vec<Alert> = drafts
        .into_iter()
        .map(|(draft, backtrace)| draft.complete(settings(), resolve_and_trim(backtrace)))
        .collect();
    alerts.append(&mut collector.runs.borrow_mut());
    alerts.sort_by_key(|alert| alert.timestamp);
    alerts
}

/// The destination of a test scope: keeps every draft.
#[derive(Default)]
struct Collector {
    drafts: RefCell<Vec<(Draft, RawBacktrace)>>,
    /// Messages about monitored runs, complete already.
    runs: RefCell<Vec<Alert>>,
}

impl Destination for Collector {
    fn admit(&self, _fingerprint: u64, _slot: Option<&'static RepeatSlot>) -> bool {
        true
    }

    fn withdraw(&self, _fingerprint: u64) {}

    fn accept(&self, draft: Draft, backtrace: RawBacktrace) {
        self.drafts.borrow_mut().push((draft, backtrace));
    }

    fn flush(&self, _timeout: Duration) -> bool {
        true
    }

    fn diagnostic(&self, _message: &str) {}

    /// A run's start and success are captured as the messages the chats
    /// would get (with `notify(start)` / `notify(success)`); its failure is
    /// captured as its alert, through `accept`.
    fn run(&self, signal: RunSignal) {
        let monitor = signal.run().monitor;
        let wanted = match &signal {
            RunSignal::Started(..) => monitor.notify_start,
            RunSignal::Succeeded { .. } => monitor.notify_success,
            RunSignal::Failed { .. } => false,
        };
        if wanted {
            self.runs.borrow_mut().push(signal.alert(settings(), false));
        }
    }
}

fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(Settings::detect)
}
