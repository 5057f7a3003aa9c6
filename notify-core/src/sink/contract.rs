//! The [`Sink`] trait: what the dispatcher asks of every sink.

use std::future::Future;
use std::pin::Pin;

use super::error::SinkError;
use crate::alert::{Alert, Severity};
use crate::error::ConfigError;

/// A boxed, `Send` future, as [`Sink::send`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Somewhere alerts can be delivered, asynchronously.
///
/// Each sink has a thread of its own (`notify-sink:<name>`) with a
/// current-thread tokio runtime, where [`send`](Sink::send) is called once
/// per attempt: a [`SinkError`] marked [retryable](SinkError::retryable) is
/// retried with exponential backoff and jitter (honouring
/// [`SinkError::retry_after`]), any other error is reported once as a
/// diagnostic. Each attempt is bounded by the notifier's request timeout.
///
/// # `send` must not block
///
/// The future `send` returns runs on the sink's thread: it must await, not
/// block (no `std::thread::sleep`, no synchronous I/O, no blocking client).
/// If it blocks anyway, it holds up only this sink — its thread is its own,
/// so other sinks, storm summaries, flush deadlines and the process's exit
/// go on — but while it blocks, this sink's timeouts cannot fire (a timer
/// cannot interrupt a blocked thread) and its other deliveries wait behind
/// it, up to its backlog bound. For a sink that calls blocking code,
/// implement [`BlockingSink`](crate::BlockingSink) instead: each call then
/// runs on a blocking thread, under the same timeouts and retries.
///
/// A `send` that panics is contained: the delivery counts as failed and one
/// diagnostic names the sink and the panic.
///
/// # Example
///
/// ```
/// use notify_core::{Alert, BoxFuture, Sink, SinkError};
///
/// struct Pager;
///
/// impl Sink for Pager {
///     fn name(&self) -> &str {
///         "pager"
///     }
///
///     fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
///         Box::pin(async move {
///             if alert.message.is_empty() {
///                 return Err(SinkError::permanent("nothing to page about"));
///             }
///             // ... call the pager's API here ...
///             Ok(())
///         })
///     }
/// }
///
/// let _notifier = notify_core::Notifier::builder().sink(Pager).build().unwrap();
/// ```
pub trait Sink: Send + Sync + 'static {
    /// The name that `#[alert_on_error(sinks("..."))]` routes by, and that
    /// diagnostics show. Unique within a notifier.
    fn name(&self) -> &str;

    /// Alerts below this severity are not sent here. Defaults to
    /// [`Severity::Info`], the lowest: every alert.
    fn severity_threshold(&self) -> Severity {
        Severity::Info
    }

    /// Whether this sink takes `alert` at all, besides its severity
    /// threshold: an alert it does not take is not delivered there (nor
    /// counted). Defaults to every alert. [`Alertmanager`](crate::Alertmanager)
    /// answers `false` for a monitored job's start and success, which are
    /// news, not alerts.
    fn accepts(&self, alert: &Alert) -> bool {
        let _ = alert;
        true
    }

    /// Delivers one alert (one attempt).
    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>>;

    /// Checks the sink's configuration when the notifier is built. Defaults
    /// to accepting it.
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// How many deliveries to this sink may be in flight at once. Defaults
    /// to 8. Chat sinks answer 1: their platforms allow about one message
    /// per second anyway, and one at a time keeps alerts in order (a storm's
    /// summary after its first alert).
    fn concurrency(&self) -> usize {
        8
    }

    /// Digests: when several alerts wait for this sink at once (it is
    /// rate-limited or slow, or the process is flushing), the dispatcher
    /// sends them as one [digest](Alert::digest) — a line per alert, the
    /// most severe in full — if this returns the room for those lines in
    /// one message, as [`digest_line_cost`](Sink::digest_line_cost) counts
    /// it. Lines that do not fit go in further digests, never cut or left
    /// out. `None` (the default): one message per alert — what a sink of
    /// documents (a webhook, Alertmanager) wants.
    ///
    /// A sink that returns a room must render [`Alert::digest`]'s lines
    /// whole, each on its own line, within that room. Its messages are sent
    /// one at a time, in order, whatever its [`concurrency`](Sink::concurrency):
    /// what waits meanwhile is the next digest. Asked once, when the
    /// notifier is built.
    fn digest_room(&self) -> Option<usize> {
        None
    }

    /// What one digest line costs in this sink's message, once escaped and
    /// with its line break (default: its characters, plus one).
    fn digest_line_cost(&self, line: &str) -> usize {
        line.chars().count() + 1
    }

    /// One sink per independent destination. A sink that delivers to several
    /// destinations — Telegram chats, the instances of an Alertmanager pair —
    /// returns one sink for each, so that each is delivered, retried and
    /// rate-limited on its own, and a retry never re-sends to a destination
    /// that already has the alert. Every part keeps the sink's name. Called
    /// once, when the sink is added to a builder. Defaults to the sink itself.
    fn split(self) -> Vec<Box<dyn Sink>>
    where
        Self: Sized,
    {
        vec![Box::new(self)]
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn severity_threshold(&self) -> Severity {
        (**self).severity_threshold()
    }
    fn accepts(&self, alert: &Alert) -> bool {
        (**self).accepts(alert)
    }
    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        (**self).send(alert)
    }
    fn validate(&self) -> Result<(), ConfigError> {
        (**self).validate()
    }
    fn concurrency(&self) -> usize {
        (**self).concurrency()
    }
    fn digest_room(&self) -> Option<usize> {
        (**self).digest_room()
    }
    fn digest_line_cost(&self, line: &str) -> usize {
        (**self).digest_line_cost(line)
    }
}
