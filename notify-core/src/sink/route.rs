//! Routing: a sink's name (for `sinks(...)`) and minimum severity, on
//! built-in sinks and, through [`SinkExt`], on any sink.

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use crate::alert::{Alert, Severity};
use crate::error::ConfigError;

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
            min_severity: Severity::Info,
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
    fn accepts(&self, alert: &Alert) -> bool {
        self.inner.accepts(alert)
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
    fn digest_room(&self) -> Option<usize> {
        self.inner.digest_room()
    }
    fn digest_line_cost(&self, line: &str) -> usize {
        self.inner.digest_line_cost(line)
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
