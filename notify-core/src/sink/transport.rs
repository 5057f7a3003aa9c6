//! What the built-in HTTP sinks share on the dispatcher thread: one HTTP
//! client (rustls, keep-alive). Without any HTTP sink feature, nothing.

use std::time::Duration;

use crate::error::ConfigError;

/// The dispatcher's transport, made when the notifier starts; each sink's
/// thread enters a clone (one connection pool for all).
#[derive(Clone)]
pub(crate) struct Transport {
    #[cfg(feature = "http")]
    client: reqwest::Client,
}

impl Transport {
    /// Builds the HTTP client; the only failure is a TLS backend that cannot
    /// initialise.
    pub(crate) fn new(request_timeout: Duration) -> Result<Self, ConfigError> {
        #[cfg(feature = "http")]
        {
            let client = super::http::build_client(request_timeout).map_err(|e| {
                ConfigError::new(
                    "http client",
                    format!(
                        "cannot build the HTTP client (TLS backend): {}",
                        e.without_url()
                    ),
                )
            })?;
            Ok(Transport { client })
        }
        #[cfg(not(feature = "http"))]
        {
            let _ = request_timeout;
            Ok(Transport {})
        }
    }

    /// Makes this transport the one the sinks use on the calling thread.
    pub(crate) fn enter(&self) {
        #[cfg(feature = "http")]
        super::http::set_thread_client(self.client.clone());
    }
}
