//! [`SinkError`]: why one delivery attempt failed, and whether to retry.

use std::fmt;
use std::time::Duration;

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
