//! The HTTP plumbing every HTTP sink shares: one client per notifier
//! (rustls, keep-alive), and errors that never carry a URL.

use std::cell::RefCell;
use std::time::Duration;

use super::SinkError;

thread_local! {
    /// The client of the notifier whose dispatcher runs on this thread.
    static CLIENT: RefCell<Option<reqwest::Client>> = const { RefCell::new(None) };
}

/// Builds the notifier's client: rustls, keep-alive pool, per-request timeout,
/// no redirects (a webhook that redirects is misconfigured, and following it
/// could send the alert somewhere unexpected).
pub(crate) fn build_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("notify-core/", env!("CARGO_PKG_VERSION")))
        .build()
        // Only fails if the TLS backend cannot initialise; fall back to the
        // default client rather than lose alerts.
        .unwrap_or_default()
}

/// Makes `client` the one [`client`] returns on this thread (the dispatcher's).
pub(crate) fn set_thread_client(client: reqwest::Client) {
    CLIENT.with(|c| *c.borrow_mut() = Some(client));
}

/// The shared client: the dispatcher's on its thread; elsewhere (a sink used
/// directly, outside a notifier) a client for this thread.
pub(crate) fn client() -> reqwest::Client {
    CLIENT.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| build_client(Duration::from_secs(10)))
            .clone()
    })
}

/// A transport error as a [`SinkError`], without the URL (which holds the
/// secret for Slack, Discord and Telegram).
pub(crate) fn transport_error(error: reqwest::Error) -> SinkError {
    let error = error.without_url();
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_request() {
        "request failed"
    } else {
        "transport error"
    };
    // The source chain is free of URLs once `without_url` ran, but keep it short.
    let mut message = String::from(what);
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    SinkError::retryable(message)
}

/// Reads a `Retry-After` header given in (possibly fractional) seconds.
pub(crate) fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_seconds(value)
}

/// Parses a non-negative number of seconds, integer or float.
pub(crate) fn parse_seconds(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    if secs.is_finite() && secs >= 0.0 {
        Some(Duration::from_secs_f64(secs.min(86_400.0)))
    } else {
        None
    }
}

/// A status-based classification for platforms without a richer answer:
/// 2xx ok; 429 rate limited; 5xx retryable; other 4xx permanent.
pub(crate) fn classify_status(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    reason: &str,
) -> Result<(), SinkError> {
    let reason = if reason.trim().is_empty() {
        status.canonical_reason().unwrap_or("no reason given").to_owned()
    } else {
        one_line(reason, 300)
    };
    if status.is_success() {
        Ok(())
    } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let wait = retry_after_header(headers).unwrap_or(Duration::from_secs(1));
        Err(SinkError::rate_limited(
            format!("HTTP {}: {reason}", status.as_u16()),
            wait,
        ))
    } else if status.is_server_error() || status == reqwest::StatusCode::REQUEST_TIMEOUT {
        Err(SinkError::retryable(format!(
            "HTTP {}: {reason}",
            status.as_u16()
        )))
    } else {
        Err(SinkError::permanent(format!(
            "HTTP {}: {reason}",
            status.as_u16()
        )))
    }
}

/// First line of a platform's answer, cut to `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut line = text.trim().lines().next().unwrap_or("").to_owned();
    crate::render::truncate_in_place(&mut line, max);
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_as_integers_and_floats() {
        assert_eq!(parse_seconds("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_seconds("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("soon"), None);
    }
}
