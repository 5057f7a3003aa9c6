//! [`BlockingSink`]: the synchronous trait, for custom sinks that call
//! blocking code — an SMTP library, a vendor SDK, a file on a slow disk.

use std::sync::Arc;

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use super::route::Routed;
use crate::alert::{Alert, Severity};
use crate::error::ConfigError;

/// Somewhere alerts can be delivered by blocking code.
///
/// Use this trait when delivering means calling something synchronous;
/// use [`Sink`] when it means awaiting (an async HTTP client). Each call of
/// [`send`](BlockingSink::send) runs on a blocking thread of the sink's own
/// thread pool (at most [`concurrency`](BlockingSink::concurrency) at
/// once), never on the dispatcher's runtime, so a sink that takes seconds
/// delays no other sink. Otherwise it is a sink like any other: routed by
/// its name and minimum severity, retried by the same policy (an attempt
/// that outlasts the request timeout counts as timed out and is retried;
/// the call itself cannot be interrupted and runs to its end), bounded by
/// the same backlog, counted in the same [`Stats`](crate::Stats), and its
/// failures and panics are said by the same diagnostics.
///
/// # Example
///
/// ```
/// use notify_core::{Alert, BlockingSink, SinkError};
///
/// struct Audit(std::sync::Mutex<Vec<String>>);
///
/// impl BlockingSink for Audit {
///     fn name(&self) -> &str {
///         "audit"
///     }
///
///     fn send(&self, alert: &Alert) -> Result<(), SinkError> {
///         // ... call a synchronous client here ...
///         self.0.lock().unwrap().push(alert.title.clone());
///         Ok(())
///     }
/// }
///
/// let _notifier = notify_core::Notifier::builder()
///     .sink(Audit(Default::default()))
///     .build()
///     .unwrap();
/// ```
pub trait BlockingSink: Send + Sync + 'static {
    /// The name that `#[alert_on_error(sinks("..."))]` routes by, and that
    /// diagnostics show. Unique within a notifier.
    fn name(&self) -> &str;

    /// Alerts below this severity are not sent here. Defaults to
    /// [`Severity::Info`], the lowest: every alert.
    fn severity_threshold(&self) -> Severity {
        Severity::Info
    }

    /// Delivers one alert (one attempt), blocking as long as it needs.
    fn send(&self, alert: &Alert) -> Result<(), SinkError>;

    /// Checks the sink's configuration when the notifier is built. Defaults
    /// to accepting it.
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// How many calls of `send` may run at once, each on its own blocking
    /// thread. Defaults to 1: one after the other, in order.
    fn concurrency(&self) -> usize {
        1
    }
}

/// A [`BlockingSink`] run as a [`Sink`]: each attempt on a blocking thread.
/// [`NotifierBuilder::sink`](crate::NotifierBuilder::sink) wraps blocking
/// sinks in it by itself; name it to give one a route:
/// `Blocking::new(audit).named("audit")`, or use [`BlockingSinkExt`].
#[derive(Debug)]
pub struct Blocking<B>(Arc<B>);

impl<B: BlockingSink> Blocking<B> {
    /// Wraps `sink`.
    pub fn new(sink: B) -> Self {
        Blocking(Arc::new(sink))
    }
}

impl<B: BlockingSink> Sink for Blocking<B> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn severity_threshold(&self) -> Severity {
        self.0.severity_threshold()
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        let sink = self.0.clone();
        let alert = alert.clone();
        Box::pin(async move {
            // If the attempt times out before the call has started (it waits
            // for a blocking thread), it is taken back: nothing piles up
            // behind a call that hangs. A call under way runs to its end.
            let call = AbortOnDrop(tokio::task::spawn_blocking(move || sink.send(&alert)));
            match call.await {
                Ok(result) => result,
                // Handed on, so the delivery is reported as a panic.
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(SinkError::retryable(
                    "the blocking call was cancelled: the notifier is stopping",
                )),
            }
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.0.validate()
    }

    fn concurrency(&self) -> usize {
        self.0.concurrency()
    }
}

/// A blocking call's handle that aborts the call when dropped (which
/// cancels it if it has not started yet).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `.named(..)` and `.min_severity(..)` for a [`BlockingSink`].
///
/// ```
/// use notify_core::{Alert, BlockingSink, BlockingSinkExt, Severity, SinkError};
///
/// struct Mail;
/// impl BlockingSink for Mail {
///     fn name(&self) -> &str { "mail" }
///     fn send(&self, _alert: &Alert) -> Result<(), SinkError> { Ok(()) }
/// }
///
/// let _notifier = notify_core::Notifier::builder()
///     .sink(Mail.named("oncall-mail").min_severity(Severity::Critical))
///     .build()
///     .unwrap();
/// ```
pub trait BlockingSinkExt: BlockingSink + Sized {
    /// Gives the sink another name.
    fn named(self, name: impl Into<String>) -> Routed<Blocking<Self>> {
        super::route::SinkExt::named(Blocking::new(self), name)
    }

    /// Sends only alerts of this severity or above to the sink.
    fn min_severity(self, severity: Severity) -> Routed<Blocking<Self>> {
        super::route::SinkExt::min_severity(Blocking::new(self), severity)
    }
}

impl<B: BlockingSink> BlockingSinkExt for B {}

/// What [`NotifierBuilder::sink`](crate::NotifierBuilder::sink) accepts: a
/// [`Sink`], or a [`BlockingSink`] (run through [`Blocking`]). `Kind` is
/// [`AsyncKind`] or [`BlockingKind`], inferred; a type that implements both
/// traits must be wrapped by hand (`Blocking::new(..)`) or passed as
/// `Box<dyn Sink>`.
pub trait IntoSink<Kind> {
    /// The sink it becomes.
    type Sink: Sink;

    /// Becomes that sink.
    fn into_sink(self) -> Self::Sink;
}

/// [`IntoSink`]'s kind for a [`Sink`].
#[derive(Debug)]
pub enum AsyncKind {}

/// [`IntoSink`]'s kind for a [`BlockingSink`].
#[derive(Debug)]
pub enum BlockingKind {}

impl<S: Sink> IntoSink<AsyncKind> for S {
    type Sink = S;

    fn into_sink(self) -> S {
        self
    }
}

impl<B: BlockingSink> IntoSink<BlockingKind> for B {
    type Sink = Blocking<B>;

    fn into_sink(self) -> Blocking<B> {
        Blocking::new(self)
    }
}
