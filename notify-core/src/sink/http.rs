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

/// A platform's answer: status, headers and (the start of) the body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    /// The body as text, at most [`MAX_ANSWER_BYTES`] of it.
    pub(crate) body: String,
}

/// How much of an answer's body is read: enough for any error description.
pub(crate) const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// POSTs a JSON `body` (already serialized) with extra `headers` through the
/// shared client and reads the answer. Errors carry no URL.
pub(crate) async fn post_json(
    url: &str,
    body: Vec<u8>,
    headers: &[(&'static str, String)],
) -> Result<Answer, SinkError> {
    let mut request = client()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let mut response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        let room = MAX_ANSWER_BYTES - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    Ok(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// A URL reduced to what may be shown: `https://host[:port]`, or
/// `"<redacted>"` if it does not parse. Paths and queries often hold secrets.
pub(crate) fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", parsed.scheme()),
            (Some(host), None) => format!("{}://{host}", parsed.scheme()),
            _ => String::from("<redacted>"),
        },
        Err(_) => String::from("<redacted>"),
    }
}

/// Checks that `url` is an absolute http(s) URL with a host; the error names
/// `field` and never contains the URL.
pub(crate) fn check_url(field: &str, url: &str) -> Result<(), crate::ConfigError> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| crate::ConfigError::new(field, format!("not a valid URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(crate::ConfigError::new(
            field,
            "must be an http:// or https:// URL",
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(crate::ConfigError::new(field, "must name a host"));
    }
    Ok(())
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
        status
            .canonical_reason()
            .unwrap_or("no reason given")
            .to_owned()
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
