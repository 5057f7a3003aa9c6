//! # notify-core
//!
//! One attribute, `#[alert_on_error]`, turns a function's `Err` or panic into
//! a production alert: a readable message with a trimmed backtrace, posted by
//! a background dispatcher to Telegram, Slack, Discord, a signed JSON webhook,
//! Prometheus Alertmanager or the console — without changing what the
//! function does, without blocking the caller, and without flooding a chat
//! when an error repeats in a loop.
//!
//! ## Quick start
//!
//! ```no_run
//! use notify_core::alert_on_error;
//!
//! fn main() -> Result<(), notify_core::ConfigError> {
//!     // NOTIFY_* variables pick the sinks; with none set, alerts go to stderr.
//!     let _guard = notify_core::init_from_env()?; // flushes pending alerts when dropped
//!     let _ = nightly_export("/data/out.csv");
//!     Ok(())
//! }
//!
//! #[alert_on_error]
//! fn nightly_export(path: &str) -> std::io::Result<u64> {
//!     std::fs::metadata(path).map(|m| m.len())
//! }
//! ```
//!
//! ## How it works
//!
//! 1. The macro keeps the function as written and builds a static call-site
//!    record. With no notifier installed, an `Err` costs one atomic load.
//!    (A panic goes through the panic hook first, which captures its
//!    backtrace before storm control sees it.)
//! 2. On `Err` (or a panic, via a panic hook that chains any earlier hook),
//!    storm control checks the fingerprint (call site + kind + error text):
//!    a repeat within the window is counted and nothing else happens.
//!    Otherwise an *unresolved* backtrace is captured and the alert is
//!    `try_send`-ed into a bounded queue; a full queue drops and counts.
//! 3. The `notify-dispatcher` thread has the backtrace resolved and trimmed
//!    (on its `notify-resolver` thread), renders per sink and delivers to
//!    every sink concurrently, with retries.
//! 4. [`flush`] and the [`FlushGuard`] wait, bounded by a timeout, until
//!    everything queued (and every pending storm summary) is delivered.
//!
//! See [`alert_on_error`] for the attribute's options, [`NotifierBuilder`]
//! for configuration in code and [`init_from_env`] for the environment.

#![warn(missing_docs)]

#[doc(hidden)]
pub mod __private;
mod alert;
mod capture;
mod config;
mod dispatch;
mod render;
mod sink;
mod storm;
pub mod testing;
mod unwind;
pub mod webhook;

pub use alert::{Alert, AlertKind, Frame, Location, ParseSeverityError, Repeats, Severity};
pub use config::{
    ConfigError, DiagnosticFn, NotifierBuilder, DEFAULT_DEDUP_WINDOW, DEFAULT_FLUSH_TIMEOUT,
    DEFAULT_MAX_FINGERPRINTS, DEFAULT_QUEUE_CAPACITY, DEFAULT_REQUEST_TIMEOUT,
};
pub use dispatch::{FlushGuard, Notifier, Stats};
pub use notify_macros::alert_on_error;
pub use sink::{Alertmanager, BoxFuture, Console, Memory, Routed, Sink, SinkError, SinkExt};
pub use sink::{Discord, Slack, Telegram, Webhook, TELEGRAM_API_URL};

use std::time::Duration;

/// Configures the global notifier from the `NOTIFY_*` environment variables
/// and installs it. Keep the returned guard alive until the program ends.
///
/// | variable | meaning |
/// |---|---|
/// | `NOTIFY_TELEGRAM_BOT_TOKEN`, `NOTIFY_TELEGRAM_CHAT_ID` (comma-separated), `NOTIFY_TELEGRAM_API_URL` | Telegram sink |
/// | `NOTIFY_SLACK_WEBHOOK_URL` | Slack sink |
/// | `NOTIFY_DISCORD_WEBHOOK_URL` | Discord sink |
/// | `NOTIFY_WEBHOOK_URL`, `NOTIFY_WEBHOOK_SECRET` | JSON webhook sink, optionally signed |
/// | `NOTIFY_ALERTMANAGER_URL` (comma-separated) | Alertmanager sink |
/// | `NOTIFY_APP_NAME`, `NOTIFY_ENVIRONMENT` | shown in every alert |
/// | `NOTIFY_DEDUP_WINDOW_SECS` | storm-control window (default 60) |
///
/// With no sink variable set, alerts go to the [`Console`] sink and one line
/// on stderr says so. Empty variables count as unset. An invalid value is a
/// [`ConfigError`] naming the variable.
///
/// ```no_run
/// let _guard = notify_core::init_from_env()?;
/// # Ok::<(), notify_core::ConfigError>(())
/// ```
pub fn init_from_env() -> Result<FlushGuard, ConfigError> {
    NotifierBuilder::from_env()?.install()
}

/// Waits until the global notifier has delivered everything queued (and
/// every pending storm summary), or `timeout` passes; returns whether it
/// finished. True at once when no notifier is installed.
pub fn flush(timeout: Duration) -> bool {
    dispatch::flush_global(timeout)
}

/// Reports an error that is not a function boundary, through the same
/// capture, storm control and dispatcher as `#[alert_on_error]`. The alert's
/// location is the caller of `report_error`.
///
/// ```
/// if let Err(e) = std::fs::read("/etc/does-not-exist") {
///     notify_core::report_error(&e);
/// }
/// ```
#[track_caller]
pub fn report_error(error: &(dyn std::error::Error + '_)) {
    capture::report_error_here(error)
}

/// Reports a message, through the same path as [`report_error`].
///
/// ```
/// notify_core::report_message(notify_core::Severity::Warning, "disk 91% full");
/// ```
#[track_caller]
pub fn report_message(severity: Severity, message: &str) {
    capture::report_message_here(severity, message)
}
