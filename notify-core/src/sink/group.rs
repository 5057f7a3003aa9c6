//! A sink as the builder holds it.

use super::contract::Sink;
use crate::error::ConfigError;

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
