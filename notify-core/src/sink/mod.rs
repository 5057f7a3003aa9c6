//! Sinks: where alerts go. One trait, one file per built-in sink, and the
//! delivery code they share (HTTP client, retries).
//!
//! Each HTTP sink is behind its cargo feature (`telegram`, `slack`,
//! `discord`, `webhook`, `alertmanager`, all on by default); `Console` and
//! `Memory` are always there. Without any HTTP sink, no HTTP or TLS code is
//! compiled at all.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::alert::{Alert, Severity};
use crate::error::ConfigError;

#[cfg(feature = "alertmanager")]
mod alertmanager;
mod console;
#[cfg(feature = "discord")]
mod discord;
// Shared by the HTTP sinks; with some of them left out, others' helpers go unused.
#[cfg(feature = "http")]
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
pub(crate) mod http;
mod memory;
pub(crate) mod retry;
#[cfg(feature = "slack")]
mod slack;
#[cfg(feature = "telegram")]
mod telegram;
mod transport;
#[cfg(feature = "webhook")]
mod webhook;

#[cfg(feature = "alertmanager")]
pub use alertmanager::Alertmanager;
pub use console::Console;
#[cfg(feature = "discord")]
pub use discord::Discord;
pub use memory::Memory;
#[cfg(feature = "slack")]
pub use slack::Slack;
#[cfg(feature = "telegram")]
pub use telegram::{Telegram, TELEGRAM_API_URL};
pub(crate) use transport::Transport;
#[cfg(feature = "webhook")]
pub use webhook::Webhook;

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

/// Why a delivery attempt failed. The message must never contain a secret
/// (token, webhook URL): built-in sinks report HTTP errors without their URL.
#[derive(Clone, PartialEq, Eq)]
pub struct SinkError {
    message: String,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl SinkError {
    /// A failure that a later attempt may not have: connection refused,
    /// timeout, 5xx.
    pub fn retryable(message: impl Into<String>) -> Self {
        SinkError {
            message: message.into(),
            retryable: true,
            retry_after: None,
        }
    }

    /// The platform asked us to wait (HTTP 429 and similar): retried after `wait`.
    pub fn rate_limited(message: impl Into<String>, wait: Duration) -> Self {
        SinkError {
            message: message.into(),
            retryable: true,
            retry_after: Some(wait),
        }
    }

    /// A refusal that retrying cannot fix: bad token, unknown chat, invalid payload.
    pub fn permanent(message: impl Into<String>) -> Self {
        SinkError {
            message: message.into(),
            retryable: false,
            retry_after: None,
        }
    }

    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// How long the platform asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The reason, as the platform gave it where it did.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkError")
            .field("message", &self.message)
            .field("retryable", &self.retryable)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SinkError {}

/// The routing settings every built-in sink carries: its name and its
/// minimum severity. Built-in sinks expose them as `.named(..)` and
/// `.min_severity(..)`; for your own sink, [`SinkExt`] adds the same.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) name: String,
    pub(crate) min_severity: Severity,
}

impl Route {
    pub(crate) fn new(default_name: &str) -> Self {
        Route {
            name: default_name.to_owned(),
            min_severity: Severity::Warning,
        }
    }
}

/// Adds `.named(..)` and `.min_severity(..)` to a built-in sink type.
macro_rules! impl_route {
    ($sink:ty) => {
        impl $sink {
            /// Names this sink, for `#[alert_on_error(sinks("..."))]` routing
            /// and diagnostics. Names are unique within a notifier.
            pub fn named(mut self, name: impl Into<String>) -> Self {
                self.route.name = name.into();
                self
            }

            /// Sends only alerts of this severity or above.
            pub fn min_severity(mut self, severity: $crate::alert::Severity) -> Self {
                self.route.min_severity = severity;
                self
            }
        }
    };
}
pub(crate) use impl_route;

/// Inside `impl Sink for ...` of a built-in sink: `name` and
/// `severity_threshold` from its [`Route`].
macro_rules! route_methods {
    () => {
        fn name(&self) -> &str {
            &self.route.name
        }

        fn severity_threshold(&self) -> $crate::alert::Severity {
            self.route.min_severity
        }
    };
}
pub(crate) use route_methods;

/// `.named(..)` and `.min_severity(..)` for any [`Sink`], including your own.
///
/// ```
/// use notify_core::{Memory, Severity, SinkExt};
/// let sink = Memory::new().named("tests").min_severity(Severity::Error);
/// # let _ = sink;
/// ```
pub trait SinkExt: Sink + Sized {
    /// Gives the sink another name.
    fn named(self, name: impl Into<String>) -> Routed<Self> {
        Routed {
            inner: self,
            name: Some(name.into()),
            min_severity: None,
        }
    }

    /// Sends only alerts of this severity or above to the sink.
    fn min_severity(self, severity: Severity) -> Routed<Self> {
        Routed {
            inner: self,
            name: None,
            min_severity: Some(severity),
        }
    }
}

impl<S: Sink> SinkExt for S {}

/// A sink with another name or minimum severity; see [`SinkExt`].
#[derive(Debug)]
pub struct Routed<S> {
    inner: S,
    name: Option<String>,
    min_severity: Option<Severity>,
}

impl<S: Sink> Routed<S> {
    /// Gives the sink another name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends only alerts of this severity or above to the sink.
    pub fn min_severity(mut self, severity: Severity) -> Self {
        self.min_severity = Some(severity);
        self
    }
}

impl<S: Sink> Sink for Routed<S> {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_else(|| self.inner.name())
    }
    fn severity_threshold(&self) -> Severity {
        self.min_severity
            .unwrap_or_else(|| self.inner.severity_threshold())
    }
    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        self.inner.send(alert)
    }
    fn validate(&self) -> Result<(), ConfigError> {
        self.inner.validate()
    }
    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }
    fn split(self) -> Vec<Box<dyn Sink>> {
        let Routed {
            inner,
            name,
            min_severity,
        } = self;
        inner
            .split()
            .into_iter()
            .map(|part| {
                Box::new(Routed {
                    inner: part,
                    name: name.clone(),
                    min_severity,
                }) as Box<dyn Sink>
            })
            .collect()
    }
}

/// A sink as added to a builder: its name, and its parts (see [`Sink::split`]).
pub(crate) struct SinkGroup {
    pub(crate) name: String,
    /// The sink's own verdict on its configuration, taken before splitting.
    pub(crate) validation: Result<(), ConfigError>,
    pub(crate) parts: Vec<Box<dyn Sink>>,
}

impl SinkGroup {
    pub(crate) fn new(sink: impl Sink) -> Self {
        SinkGroup {
            name: sink.name().to_owned(),
            validation: sink.validate(),
            parts: sink.split(),
        }
    }
}

/// The sinks that the `NOTIFY_*` variables configure, in a fixed order.
/// `get` returns a variable's value, `None` when unset or empty.
#[cfg_attr(not(feature = "http"), allow(unused_variables))]
pub(crate) fn from_env(
    get: &dyn Fn(&str) -> Option<String>,
    sinks: &mut Vec<SinkGroup>,
) -> Result<(), ConfigError> {
    // Each HTTP sink adds itself here when its variables are set. A sink
    // whose feature is off reads nothing: its variables are refused.
    #[cfg(feature = "telegram")]
    if let Some(sink) = telegram::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    #[cfg(feature = "slack")]
    if let Some(sink) = slack::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    #[cfg(feature = "discord")]
    if let Some(sink) = discord::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    #[cfg(feature = "webhook")]
    if let Some(sink) = webhook::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    #[cfg(feature = "alertmanager")]
    if let Some(sink) = alertmanager::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    for (feature, variables) in DISABLED_SINKS {
        if let Some(variable) = variables.iter().find(|v| get(v).is_some()) {
            return Err(ConfigError::new(
                *variable,
                format!(
                    "is set, but notify-core was built without its `{feature}` feature; \
                     enable the feature or unset the variable"
                ),
            ));
        }
    }
    Ok(())
}

/// The sinks whose cargo feature is off, and the variables that would
/// configure them: setting one is an error, not silence.
const DISABLED_SINKS: &[(&str, &[&str])] = &[
    #[cfg(not(feature = "telegram"))]
    (
        "telegram",
        &[
            "NOTIFY_TELEGRAM_BOT_TOKEN",
            "NOTIFY_TELEGRAM_CHAT_ID",
            "NOTIFY_TELEGRAM_API_URL",
        ],
    ),
    #[cfg(not(feature = "slack"))]
    ("slack", &["NOTIFY_SLACK_WEBHOOK_URL"]),
    #[cfg(not(feature = "discord"))]
    ("discord", &["NOTIFY_DISCORD_WEBHOOK_URL"]),
    #[cfg(not(feature = "webhook"))]
    ("webhook", &["NOTIFY_WEBHOOK_URL", "NOTIFY_WEBHOOK_SECRET"]),
    #[cfg(not(feature = "alertmanager"))]
    ("alertmanager", &["NOTIFY_ALERTMANAGER_URL"]),
];

/// Validates a sink configured from the environment, naming the variable
/// (not the builder field) in the error: `renames` maps fields to variables.
#[cfg(feature = "http")]
pub(crate) fn validate_from_env(
    sink: &dyn Sink,
    renames: &[(&str, &str)],
) -> Result<(), ConfigError> {
    sink.validate().map_err(|error| {
        match renames.iter().find(|(field, _)| *field == error.field()) {
            Some((_, variable)) => ConfigError::new(*variable, error.reason()),
            None => error,
        }
    })
}
