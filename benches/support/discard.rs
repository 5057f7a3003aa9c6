//! The sink every benchmark installs: it accepts every alert and keeps
//! nothing, so what is measured is ours, not a platform's.

use notify_core::{Alert, BoxFuture, Sink, SinkError};

/// Accepts every alert and keeps nothing.
pub struct Discard;

impl Sink for Discard {
    fn name(&self) -> &str {
        "discard"
    }
    fn send<'a>(&'a self, _alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
