//! [`ConfigError`]: what building a notifier or a sink can say is wrong. A
//! leaf, so that sinks validate themselves without knowing the builder.

use std::fmt;

/// Invalid configuration, found when the notifier is built. Names the field
/// at fault; never contains a secret's value.
///
/// ```
/// let error = notify_core::Notifier::builder().queue_capacity(0).build().unwrap_err();
/// assert_eq!(error.field(), "queue_capacity");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: String,
    reason: String,
}

impl ConfigError {
    /// An error in `field` (a builder method or an environment variable).
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The field at fault: a builder method (`dedup_window`) or an
    /// environment variable (`NOTIFY_DEDUP_WINDOW_SECS`).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong with it.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid notify configuration: {}: {}",
            self.field, self.reason
        )
    }
}

impl std::error::Error for ConfigError {}
