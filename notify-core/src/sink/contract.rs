//! The [`Sink`] trait: what the dispatcher asks of every sink.

use std::future::Future;
use std::pin::Pin;

use super::error::SinkError;
use crate::alert::{Alert, Severity};
use crate::error::ConfigError;

/// A boxed, `Send` future, as [`Sink::send`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Somewhere alerts can be delivered.
///
/// The dispatcher calls [`send`](Sink::send) on its own thread, inside its own
/// tokio runtime, once per attempt: a [`SinkError`] marked
/// [retryable](SinkError::retryable) is retried with exponential backoff and
/// jitter (honouring [`SinkError::retry_after`]), any other error is reported
/// once as a diagnostic. Each attempt is bounded by the notifier's request
/// timeout.
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
    /// [`Severity::Warning`], the lowest: every alert.
    fn severity_threshold(&self) -> Severity {
        Severity::Warning
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
    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        (**self).send(alert)
    }
    fn validate(&self) -> Result<(), ConfigError> {
        (**self).validate()
    }
    fn concurrency(&self) -> usize {
        (**self).concurrency()
    }
}
