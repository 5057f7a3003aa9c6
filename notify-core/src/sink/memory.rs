//! The memory sink: records alerts, for users' tests.

use std::sync::{Arc, Mutex};

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use super::route::{impl_route, route_methods, Route};
use crate::alert::Alert;

/// Records every alert it receives. Clones share the same record, so keep a
/// clone to inspect what a notifier delivered.
///
/// ```
/// use std::time::Duration;
/// use notify_core::{Memory, Notifier, Severity};
///
/// let memory = Memory::new();
/// let notifier = Notifier::builder().sink(memory.clone()).build().unwrap();
/// notifier.report_message(Severity::Warning, "disk 91% full");
/// assert!(notifier.flush(Duration::from_secs(5)));
/// assert_eq!(memory.alerts()[0].message, "disk 91% full");
/// ```
#[derive(Debug, Clone)]
pub struct Memory {
    route: Route,
    alerts: Arc<Mutex<Vec<Alert>>>,
}

impl_route!(Memory);

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

impl Memory {
    /// An empty memory sink named `memory`.
    pub fn new() -> Self {
        Memory {
            route: Route::new("memory"),
            alerts: Arc::default(),
        }
    }

    /// A copy of the alerts received so far, oldest first.
    pub fn alerts(&self) -> Vec<Alert> {
        self.lock().clone()
    }

    /// Takes the alerts received so far, leaving the record empty.
    pub fn take(&self) -> Vec<Alert> {
        std::mem::take(&mut *self.lock())
    }

    /// How many alerts were received.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True if none were received.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Alert>> {
        self.alerts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for Memory {
    route_methods!();

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        self.lock().push(alert.clone());
        Box::pin(std::future::ready(Ok(())))
    }
}
