//! The HTTP plumbing every HTTP sink shares: one client per notifier
//! (rustls, keep-alive), and errors that never carry a URL.

use std::cell::RefCell;
use std::time::Duration;

use super::contract::Sink;
use super::error::SinkError;
use crate::error::ConfigError;

thread_local! {
    /// The client of the notifier whose dispatcher runs on this thread.
    static CLIENT: RefCell<Option<reqwest::Client>> = const { RefCell::new(None) };
}

/// Builds the notifier's client: rustls, keep-alive pool, per-request timeout,
/// no redirects (a webhook that redirects is misconfigured, and following it
/// could send the alert somewhere unexpected).
pub(crate) fn build_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("notify-core/", env!("CARGO_PKG_VERSION")))
        // Fails only if the TLS backend cannot initialise.
        .build()
}

/// Makes `client` the one [`client`] returns on this thread (the dispatcher's).
pub(crate) fn set_thread_client(client: reqwest::Client) {
    CLIENT.with(|c| *c.borrow_mut() = Some(client));
}

/// The shared client: the dispatcher's on its thread; elsewhere (a sink used
/// directly, outside a notifier) a client for this thread.
pub(crate) fn client() -> Result<reqwest::Client, SinkError> {
    CLIENT.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(client) = c.as_ref() {
            return Ok(client.clone());
        }
        let client = build_client(Duration::from_secs(10))
            .map_err(|e| SinkError::permanent(format!("cannot build an HTTP client: {e}")))?;
        *c = Some(client.clone());
        Ok(client)
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

/// Basic-auth credentials, sent as an `Authorization` header.
pub(crate) struct BasicAuth<'a> {
    pub(crate) user: &'a str,
    pub(crate) password: Option<&'a str>,
}

/// POSTs a JSON `body` (already serialized) with extra `headers` (and
/// basic auth, if given) through the shared client and reads the start of
/// the answer. Errors carry no URL.
pub(crate) async fn post_json(
    url: &str,
    body: Vec<u8>,
    headers: &[(&'static str, String)],
    auth: Option<BasicAuth<'_>>,
) -> Result<Answer, SinkError> {
    post(url, "application/json", body, headers, auth).await
}

/// [`post_json`] with a body of any `content_type`.
pub(crate) async fn post(
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    headers: &[(&'static str, String)],
    auth: Option<BasicAuth<'_>>,
) -> Result<Answer, SinkError> {
    let mut request = client()?
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    if let Some(auth) = auth {
        request = request.basic_auth(auth.user, auth.password);
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

/// Parses `url` as an absolute http(s) URL with a host; the error names
/// `field` and never contains the URL (it may hold a token or credentials).
pub(crate) fn parse_url(field: &str, url: &str) -> Result<reqwest::Url, ConfigError> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| ConfigError::new(field, format!("not a valid URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            field,
            "must be an http:// or https:// URL",
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new(field, "must name a host"));
    }
    Ok(parsed)
}

/// Checks that `url` is an absolute http(s) URL with a host; see [`parse_url`].
pub(crate) fn check_url(field: &str, url: &str) -> Result<(), ConfigError> {
    parse_url(field, url).map(drop)
}

/// Reads a `Retry-After` header given in (possibly fractional) seconds.
pub(crate) fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    header_seconds(headers, reqwest::header::RETRY_AFTER.as_str())
}

/// Reads a header given in (possibly fractional) seconds.
pub(crate) fn header_seconds(headers: &reqwest::header::HeaderMap, name: &str) -> Option<Duration> {
    parse_seconds(headers.get(name)?.to_str().ok()?)
}

/// Parses a non-negative number of seconds, integer or float.
pub(crate) fn parse_seconds(value: &str) -> Option<Duration> {
    seconds(value.trim().parse().ok()?)
}

/// A wait a platform asked for, in seconds: finite, non-negative, at most a day.
pub(crate) fn seconds(secs: f64) -> Option<Duration> {
    if secs.is_finite() && secs >= 0.0 {
        Some(Duration::from_secs_f64(secs.min(86_400.0)))
    } else {
        None
    }
}

/// The one mapping of a platform's answer to a delivery result: 2xx ok;
/// 429 rate limited, waiting `retry_after` (what the body said), else the
/// `Retry-After` header, else a second; 5xx and 408 retryable; any other
/// status permanent. The message is `HTTP <status>: <first line of reason>`
/// (the status's name when the reason is empty). `reason` must already be
/// [scrubbed](scrub).
pub(crate) fn classify(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    reason: &str,
    retry_after: Option<Duration>,
) -> Result<(), SinkError> {
    if status.is_success() {
        return Ok(());
    }
    let reason = match one_line(reason, 300) {
        line if line.is_empty() => status
            .canonical_reason()
            .unwrap_or("no reason given")
            .to_owned(),
        line => line,
    };
    let message = format!("HTTP {}: {reason}", status.as_u16());
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let wait = retry_after
            .or_else(|| retry_after_header(headers))
            .unwrap_or(Duration::from_secs(1));
        Err(SinkError::rate_limited(message, wait))
    } else if status.is_server_error() || status == reqwest::StatusCode::REQUEST_TIMEOUT {
        Err(SinkError::retryable(message))
    } else {
        Err(SinkError::permanent(message))
    }
}

/// The reason a platform gave in its answer's body: the body itself when it
/// is a JSON string (Alertmanager), the string `field` when it is a JSON
/// object that has one (Telegram's `description`, Discord's and
/// Alertmanager's `message`), else the body as it is (a proxy's page).
pub(crate) fn body_reason(body: &str, field: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(serde_json::Value::Object(object)) => match object.get(field) {
            Some(serde_json::Value::String(text)) => text.clone(),
            _ => body.to_owned(),
        },
        _ => body.to_owned(),
    }
}

/// Shortest secret that [`scrub`] replaces: shorter ones would redact
/// ordinary words.
const MIN_SECRET_CHARS: usize = 4;
/// A path segment or query value at least this long is taken for a token.
const MIN_TOKEN_CHARS: usize = 16;

/// `reason` (text from a platform's answer) without the sink's secrets: each
/// of `secrets`, and the path and query of `url` (the whole of each, their
/// percent-decoded forms, long path segments and query values, the URL's
/// user and password), replaced by `<redacted>`. A proxy's error page can
/// echo the request line, token and all; every reason taken from an answer
/// body goes through here before it reaches an error.
pub(crate) fn scrub(reason: &str, url: &str, secrets: &[&str]) -> String {
    let mut hidden: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    if let Ok(parsed) = reqwest::Url::parse(url.trim()) {
        let path = parsed.path();
        if path.len() > 1 {
            hidden.push(path.to_owned());
            hidden.push(path.trim_end_matches('/').to_owned());
        }
        hidden.extend(
            parsed
                .path_segments()
                .into_iter()
                .flatten()
                .filter(|segment| segment.chars().count() >= MIN_TOKEN_CHARS)
                .map(str::to_owned),
        );
        if let Some(query) = parsed.query() {
            hidden.push(query.to_owned());
        }
        hidden.extend(
            parsed
                .query_pairs()
                .map(|(_, value)| value.into_owned())
                .filter(|value| value.chars().count() >= MIN_SECRET_CHARS),
        );
        hidden.push(parsed.username().to_owned());
        hidden.extend(parsed.password().map(str::to_owned));
    }
    let decoded: Vec<String> = hidden.iter().map(|s| percent_decode(s)).collect();
    hidden.extend(decoded);
    hidden.retain(|s| s.chars().count() >= MIN_SECRET_CHARS);
    // Longest first, so a secret's parts do not break up the whole.
    hidden.sort_by_key(|s| std::cmp::Reverse(s.len()));
    hidden.dedup();
    let mut out = reason.to_owned();
    for secret in &hidden {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "<redacted>");
        }
    }
    out
}

/// Decodes the `%XX` escapes of a URL part (a user, a password, a path).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits are at most 0xff.
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// First line of a platform's answer (or any text), trimmed and cut to
/// `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut line = text.trim().lines().next().unwrap_or("").to_owned();
    crate::render::truncate_in_place(&mut line, max);
    line.truncate(line.trim_end().len());
    line
}

/// `error` with its message prefixed by `label` (the destination: a chat,
/// an instance), of the same kind and wait.
pub(crate) fn labelled(label: &str, error: &SinkError) -> SinkError {
    let message = format!("{label}: {}", error.message());
    match (error.is_retryable(), error.retry_after()) {
        (_, Some(wait)) => SinkError::rate_limited(message, wait),
        (true, None) => SinkError::retryable(message),
        (false, None) => SinkError::permanent(message),
    }
}

/// The outcome of one alert sent to several destinations in turn (a sink
/// used without [`Sink::split`](super::Sink::split)): ok when every one
/// took it; else every failure, retryable if any is (waiting the longest
/// wait asked for), else permanent.
pub(crate) fn combine(errors: Vec<SinkError>) -> Result<(), SinkError> {
    if errors.is_empty() {
        return Ok(());
    }
    let message = errors
        .iter()
        .map(SinkError::message)
        .collect::<Vec<_>>()
        .join("; ");
    let wait = errors.iter().filter_map(SinkError::retry_after).max();
    Err(if errors.iter().any(SinkError::is_retryable) {
        match wait {
            Some(wait) => SinkError::rate_limited(message, wait),
            None => SinkError::retryable(message),
        }
    } else {
        SinkError::permanent(message)
    })
}

/// Validates a sink configured from the environment, naming the variable
/// (not the builder field) in the error: `renames` maps fields to variables.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_as_integers_and_floats() {
        assert_eq!(parse_seconds("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_seconds("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("soon"), None);
        assert_eq!(seconds(f64::NAN), None);
        assert_eq!(seconds(1e12), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn scrub_hides_secrets_and_the_urls_path_and_query() {
        let url = "https://user:pa%24%24word@api.example.com/bot123456:TOKEN-abc/sendMessage?key=QUERYSECRET";
        let page =
            "The requested URL /bot123456:TOKEN-abc/sendMessage?key=QUERYSECRET was not found; \
                    token 123456:TOKEN-abc, key QUERYSECRET, password pa$$word";
        let out = scrub(page, url, &["123456:TOKEN-abc"]);
        for secret in ["TOKEN", "QUERYSECRET", "pa$$word", "/bot"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.starts_with("The requested URL <redacted>"), "{out}");
        // A webhook's long path segments count as tokens even when echoed alone.
        let hook = "https://hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX";
        assert_eq!(
            scrub("no_service: XXXXXXXXXXXXXXXXXXXXXXXX", hook, &[]),
            "no_service: <redacted>"
        );
        // A bare host has nothing to hide; short secrets are left alone.
        assert_eq!(
            scrub(
                "invalid_blocks / a/b",
                "https://h.example.com/",
                &["", "ab"]
            ),
            "invalid_blocks / a/b"
        );
    }

    #[test]
    fn classify_maps_statuses_and_waits() {
        let headers = reqwest::header::HeaderMap::new();
        let status = |code| reqwest::StatusCode::from_u16(code).unwrap();
        assert_eq!(classify(status(204), &headers, "", None), Ok(()));
        let limited = classify(
            status(429),
            &headers,
            "slow down",
            Some(Duration::from_millis(1500)),
        )
        .unwrap_err();
        assert_eq!(limited.retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(limited.message(), "HTTP 429: slow down");
        let mut with_header = reqwest::header::HeaderMap::new();
        with_header.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        let limited = classify(status(429), &with_header, "", None).unwrap_err();
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(limited.message(), "HTTP 429: Too Many Requests");
        for code in [500, 503, 408] {
            assert!(classify(status(code), &headers, "x", None)
                .unwrap_err()
                .is_retryable());
        }
        let refused = classify(status(404), &headers, "no_service\nmore", None).unwrap_err();
        assert!(!refused.is_retryable());
        assert_eq!(refused.message(), "HTTP 404: no_service");
    }

    #[test]
    fn body_reason_reads_json_strings_and_fields() {
        assert_eq!(body_reason("\"bad alert\"", "message"), "bad alert");
        assert_eq!(
            body_reason(r#"{"message":"Unknown Webhook","code":10015}"#, "message"),
            "Unknown Webhook"
        );
        assert_eq!(
            body_reason(r#"{"ok":false}"#, "description"),
            r#"{"ok":false}"#
        );
        assert_eq!(
            body_reason("<html>502</html>", "message"),
            "<html>502</html>"
        );
    }

    #[test]
    fn combine_keeps_every_reason_and_the_longest_wait() {
        assert_eq!(combine(Vec::new()), Ok(()));
        let error = combine(vec![
            SinkError::permanent("chat 1: gone"),
            SinkError::rate_limited("chat 2: slow", Duration::from_secs(2)),
        ])
        .unwrap_err();
        assert_eq!(error.message(), "chat 1: gone; chat 2: slow");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
        let error =
            combine(vec![SinkError::permanent("a"), SinkError::permanent("b")]).unwrap_err();
        assert!(!error.is_retryable());
    }
}
