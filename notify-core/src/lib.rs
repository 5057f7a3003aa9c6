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
//!
//! ## Monitoring jobs
//!
//! [`monitor`] goes on a function that is one run of a job: its failure is
//! an alert with the run's duration, its start and success can be messages
//! (`notify(start, success)`), a run past its `max_runtime` alerts once, and
//! every run checks in with a heartbeat service
//! ([`NotifierBuilder::heartbeat`], healthchecks.io protocol), which
//! notices a run that never happened.
//!
//! ```no_run
//! use notify_core::monitor;
//!
//! #[monitor(name = "nightly-export", notify(start, success), max_runtime = "2h")]
//! fn nightly_export(path: &str) -> std::io::Result<u64> {
//!     std::fs::metadata(path).map(|m| m.len())
//! }
//! # fn main() { let _ = nightly_export("/data/out.csv"); }
//! ```
//!
//! ## Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `telegram` | on | `Telegram` |
//! | `slack` | on | `Slack` |
//! | `discord` | on | `Discord` |
//! | `webhook` | on | `Webhook` and the `webhook` module (document, `verify`) |
//! | `alertmanager` | on | `Alertmanager` |
//!
//! [`Console`] and [`Memory`] are always there. With
//! `default-features = false` and none of the above, the crate builds no
//! HTTP or TLS stack at all; a `NOTIFY_*` variable of a sink that is not
//! compiled in is then a [`ConfigError`], not silently ignored.
//!
//! ## Inside
//!
//! The modules are layered, and imports only point down (a test checks it):
//! the alert model, errors, settings, fingerprints, rendering, stack walking
//! and OS specifics are leaves; storm control and the sinks use only those;
//! `capture` is the one report pipeline on the caller's thread and hands its
//! drafts to a destination it never looks into; `dispatch` is the notifier
//! behind that destination; `config` (builder, environment, install) sits on
//! top. The README's Layout section has the whole map.

#![warn(missing_docs)]

#[doc(hidden)]
pub mod __private;
mod alert;
mod capture;
mod config;
mod diagnostic;
mod dispatch;
mod error;
mod fingerprint;
#[cfg(feature = "log")]
pub mod log;
// Escaping and fitting for every platform; with some sinks left out, the
// others' helpers go unused.
#[cfg_attr(
    not(all(
        feature = "telegram",
        feature = "slack",
        feature = "discord",
        feature = "webhook",
        feature = "alertmanager"
    )),
    allow(dead_code)
)]
mod render;
mod settings;
pub mod sink;
mod storm;
mod sys;
pub mod testing;
#[cfg(feature = "tracing")]
pub mod tracing;
mod unwind;
mod wait;
#[cfg(feature = "webhook")]
pub mod webhook;

pub use alert::{
    Alert, AlertKind, Frame, Location, ParseSeverityError, Repeats, RunInfo, Severity,
};
pub use config::{
    FlushGuard, NotifierBuilder, SpoolDir, DEFAULT_DEDUP_WINDOW, DEFAULT_FLUSH_TIMEOUT,
    DEFAULT_MAX_FINGERPRINTS, DEFAULT_QUEUE_CAPACITY, DEFAULT_REQUEST_TIMEOUT,
};
pub use diagnostic::DiagnosticFn;
pub use dispatch::{Notifier, Stats};
pub use error::ConfigError;
pub use notify_macros::{alert_on_error, monitor};
#[cfg(feature = "alertmanager")]
pub use sink::Alertmanager;
#[cfg(feature = "discord")]
pub use sink::Discord;
#[cfg(feature = "slack")]
pub use sink::Slack;
#[cfg(feature = "webhook")]
pub use sink::Webhook;
pub use sink::{
    Blocking, BlockingSink, BlockingSinkExt, BoxFuture, Console, IntoSink, Memory, Routed, Sink,
    SinkError, SinkExt,
};
#[cfg(feature = "telegram")]
pub use sink::{Telegram, TELEGRAM_API_URL};

use std::time::Duration;

use capture::{report, ErrorRef, Origin, Report, Subject};

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
/// | `NOTIFY_FLUSH_TIMEOUT_SECS` | how long the guard waits for delivery at exit (default 5, at most 3600) |
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
    config::flush_global(timeout)
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
    report(Report::new(
        Origin::caller(),
        Subject::Error(ErrorRef::Error(error)),
    ));
}

/// Reports a message, through the same path as [`report_error`].
///
/// ```
/// notify_core::report_message(notify_core::Severity::Warning, "disk 91% full");
/// ```
#[track_caller]
pub fn report_message(severity: Severity, message: &str) {
    report(Report::new(
        Origin::caller(),
        Subject::Message(severity, message),
    ));
}
