//! The Prometheus Alertmanager sink: `POST {url}/api/v2/alerts`.
//!
//! Alertmanager is the fleet-wide engine: it groups, inhibits, silences and
//! de-duplicates the alerts of many processes, and routes them to Telegram,
//! Slack, Discord and the rest. This sink only has to post a stable label
//! set per failure; see [`Alertmanager`] for the choices made.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use super::retry::{self, RetryPolicy};
use super::{http, impl_route, BoxFuture, Route, Sink, SinkError};
use crate::alert::{rfc3339, Alert, AlertKind, Severity};
use crate::config::{ConfigError, DEFAULT_DEDUP_WINDOW};
use crate::render;

/// The shortest default resolve window: Alertmanager's own `resolve_timeout`.
const MIN_RESOLVE_AFTER: Duration = Duration::from_secs(5 * 60);
/// Label values are identities, not prose: bounded, one line.
const MAX_LABEL_CHARS: usize = 200;
const MAX_SUMMARY_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 3000;
const MAX_BACKTRACE_CHARS: usize = 6000;

/// Sends alerts to Prometheus Alertmanager (`POST /api/v2/alerts`), or to
/// every instance of an HA group, as Prometheus does.
///
/// ```
/// use std::time::Duration;
/// use notify_core::{Alertmanager, Notifier, Severity};
///
/// let notifier = Notifier::builder()
///     .app_name("billing")
///     .sink(
///         Alertmanager::new("http://am-1:9093")
///             .url("http://am-2:9093")
///             .min_severity(Severity::Error)
///             .resolve_after(Duration::from_secs(600)),
///     )
///     .build()?;
/// # drop(notifier);
/// # Ok::<(), notify_core::ConfigError>(())
/// ```
///
/// # What is posted
///
/// One alert per notify alert, with these **labels** (the alert's identity
/// in Alertmanager: identical label sets are one alert):
///
/// | label | value |
/// |---|---|
/// | `alertname` | `NotifyError`, `NotifyPanic` or `NotifyMessage`, by kind: a small, stable set to route and group by (the title is the `summary` annotation) |
/// | `severity` | `warning`, `error` or `critical` |
/// | `app`, `environment` | the notifier's settings (`environment` only when set) |
/// | `instance` | the host name (not the pid: a restarted process keeps firing the same alert) |
/// | `function` | the function path, or `file:line` when unknown |
/// | `fingerprint` | [`Alert::fingerprint_hex`]: call site, kind and error text, the same in every process of a fleet |
///
/// Label values are single lines without control characters, at most 200
/// characters; a label whose value would be empty is left out (Alertmanager
/// drops empty labels anyway). **Annotations**: `summary` (the title, one
/// line, ≤ 200 characters), `description` (error, causes, context and the
/// header facts, ≤ 3000), `backtrace` (≤ 6000), all cut at character
/// boundaries with a visible marker.
///
/// # Firing and resolving
///
/// `startsAt` is the alert's time; `endsAt` is *now + resolve window*. Every
/// repeat of a failure re-posts the same label set (storm control sends the
/// first alert at once and a summary per window while it keeps happening),
/// which extends `endsAt`: Alertmanager keeps **one** firing alert. When the
/// failure stops, nothing is posted and the alert resolves by itself when
/// `endsAt` passes. The window defaults to max(2 × the default dedup window,
/// 5 min) = 5 min, so one missed summary does not resolve it; with
/// `init_from_env` it is max(2 × `NOTIFY_DEDUP_WINDOW_SECS`, 5 min). If you
/// raise [`dedup_window`](crate::NotifierBuilder::dedup_window) in code, set
/// [`resolve_after`](Self::resolve_after) to at least twice that.
///
/// # Several instances (HA)
///
/// Every alert goes to every URL, concurrently. Instances of an
/// Alertmanager cluster gossip silences and the notification log, not
/// alerts, so each must receive them, and one instance that has the alert is
/// enough for it to be notified. Hence a send **succeeds when at least one
/// instance accepted it**. The instances that failed with a retryable error
/// (down, 5xx) get it again in the background, under the shared retry
/// policy; the instances that accepted it are not posted again. When *no*
/// instance accepted it, the send fails and the notifier retries it as a
/// whole; re-posting to an instance that refused it is harmless, since
/// identical label sets are one alert. Failures of an instance while
/// another accepted are not reported as diagnostics (the alert was
/// delivered): watch the pair itself (`alertmanager_cluster_members`).
///
/// # Errors and secrets
///
/// Connection errors, timeouts and 5xx are retried; a 400 (Alertmanager
/// lists the invalid alerts) or 422 (schema error) is permanent and reported
/// once with Alertmanager's reason. A URL may carry basic-auth credentials
/// (`http://user:pass@am:9093`): they are sent as an `Authorization` header
/// and never appear in `Debug`, errors or diagnostics, which name an
/// instance by host and port only.
#[derive(Clone)]
pub struct Alertmanager {
    route: Route,
    instances: Vec<Instance>,
    resolve_after: Duration,
    generator_url: Option<String>,
}

impl_route!(Alertmanager);

impl fmt::Debug for Alertmanager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alertmanager")
            .field("name", &self.route.name)
            .field("min_severity", &self.route.min_severity)
            .field(
                "urls",
                &self
                    .instances
                    .iter()
                    .map(|i| redacted(&i.raw))
                    .collect::<Vec<_>>(),
            )
            .field("resolve_after", &self.resolve_after)
            .field(
                "generator_url",
                &self.generator_url.as_deref().map(redacted),
            )
            .finish()
    }
}

impl Alertmanager {
    /// An Alertmanager sink named `alertmanager`, posting to `url` (the base
    /// URL, as you would open it in a browser: `http://am:9093`, or with the
    /// `--web.route-prefix` path). Checked when the notifier is built.
    pub fn new(url: impl Into<String>) -> Self {
        Alertmanager {
            route: Route::new("alertmanager"),
            instances: vec![Instance::new(url.into())],
            resolve_after: default_resolve_after(DEFAULT_DEDUP_WINDOW),
            generator_url: None,
        }
    }

    /// Adds another instance (an HA pair, or more): every alert goes to
    /// every instance.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.instances.push(Instance::new(url.into()));
        self
    }

    /// How long after its last post an alert stays firing (the `endsAt`
    /// offset). Default 5 min; keep it at least twice the dedup window.
    pub fn resolve_after(mut self, window: Duration) -> Self {
        self.resolve_after = window;
        self
    }

    /// The `generatorURL` of every alert: a link shown in notifications
    /// (a dashboard, a runbook). Must be an absolute http(s) URL.
    pub fn generator_url(mut self, url: impl Into<String>) -> Self {
        self.generator_url = Some(url.into());
        self
    }

    /// The JSON body that this sink posts for `alert` at time `now`: an
    /// array with one alert, as Alertmanager's `POST /api/v2/alerts` takes.
    pub fn payload(&self, alert: &Alert, now: SystemTime) -> serde_json::Value {
        let mut starts = alert.timestamp;
        if let Some(repeats) = &alert.repeats {
            starts = starts.min(repeats.first);
        }
        // endsAt must not be before startsAt, whatever the clocks say.
        let ends = now.max(starts) + self.resolve_after;
        let mut body = serde_json::json!({
            "labels": labels(alert),
            "annotations": annotations(alert),
            "startsAt": rfc3339(starts),
            "endsAt": rfc3339(ends),
        });
        if let (Some(url), Some(object)) = (&self.generator_url, body.as_object_mut()) {
            object.insert(
                String::from("generatorURL"),
                serde_json::Value::from(url.as_str()),
            );
        }
        serde_json::Value::Array(vec![body])
    }
}

impl Sink for Alertmanager {
    fn name(&self) -> &str {
        &self.route.name
    }

    fn severity_threshold(&self) -> Severity {
        self.route.min_severity
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for instance in &self.instances {
            if let Err(reason) = &instance.endpoint {
                return Err(ConfigError::new("alertmanager.url", reason.clone()));
            }
        }
        if self.resolve_after < Duration::from_secs(1) {
            return Err(ConfigError::new(
                "alertmanager.resolve_after",
                "must be at least one second (endsAt is sent to the second)",
            ));
        }
        if let Some(url) = &self.generator_url {
            parse_http_url(url)
                .map_err(|reason| ConfigError::new("alertmanager.generator_url", reason))?;
        }
        Ok(())
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&self.payload(alert, SystemTime::now()))
                .map_err(|e| SinkError::permanent(format!("cannot encode the alert: {e}")))?;
            let endpoints = self
                .instances
                .iter()
                .map(|i| {
                    i.endpoint
                        .as_ref()
                        .map_err(|r| SinkError::permanent(r.clone()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let client = http::client();
            let results = join_all(
                endpoints
                    .iter()
                    .map(|endpoint| post(&client, endpoint, body.clone()))
                    .collect(),
            )
            .await;
            let accepted = results.iter().any(Result::is_ok);
            if accepted {
                for (endpoint, result) in endpoints.iter().zip(&results) {
                    if matches!(result, Err(e) if e.is_retryable()) {
                        replicate_later(&client, endpoint, &body);
                    }
                }
                return Ok(());
            }
            Err(combine(&endpoints, results))
        })
    }
}

/// One configured URL; parsed once, checked by `validate`.
#[derive(Clone)]
struct Instance {
    raw: String,
    endpoint: Result<Endpoint, String>,
}

impl Instance {
    fn new(raw: String) -> Self {
        let endpoint = Endpoint::parse(&raw);
        Instance { raw, endpoint }
    }
}

/// Where to post, without the credentials (which go in a header).
#[derive(Clone)]
struct Endpoint {
    alerts_url: reqwest::Url,
    basic_auth: Option<(String, Option<String>)>,
    /// `host:port`: how errors name the instance.
    label: String,
}

impl Endpoint {
    fn parse(raw: &str) -> Result<Endpoint, String> {
        let mut url = parse_http_url(raw)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(String::from(
                "must be a base URL without query or fragment, like http://am:9093",
            ));
        }
        let basic_auth = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            Some((
                percent_decode(url.username()),
                url.password().map(percent_decode),
            ))
        };
        // Only fails for URLs that cannot have credentials, which
        // parse_http_url already refused (http(s) with a host).
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let label = match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => String::from("alertmanager"),
        };
        let path = format!("{}/api/v2/alerts", url.path().trim_end_matches('/'));
        url.set_path(&path);
        Ok(Endpoint {
            alerts_url: url,
            basic_auth,
            label,
        })
    }
}

/// Parses an absolute http(s) URL with a host. The reason never repeats
/// the URL (it may hold credentials).
fn parse_http_url(raw: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| format!("not an absolute http(s) URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(String::from("the URL has no host"));
    }
    Ok(url)
}

/// The URL for `Debug`: credentials replaced by `***`, or nothing of a URL
/// that does not parse (it could be anything, a token included).
fn redacted(raw: &str) -> String {
    match reqwest::Url::parse(raw.trim()) {
        Ok(mut url) => {
            let had_credentials = !url.username().is_empty() || url.password().is_some();
            let _ = url.set_username("");
            let _ = url.set_password(None);
            let text = url.to_string();
            match (had_credentials, text.split_once("://")) {
                (true, Some((scheme, rest))) => format!("{scheme}://***@{rest}"),
                (true, None) => String::from("<redacted>"),
                (false, _) => text,
            }
        }
        Err(_) => String::from("<invalid URL>"),
    }
}

/// Decodes `%XX` escapes of a URL's user or password.
fn percent_decode(text: &str) -> String {
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

/// One POST to one instance: one attempt, classified.
async fn post(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    body: Vec<u8>,
) -> Result<(), SinkError> {
    let mut request = client
        .post(endpoint.alerts_url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some((user, password)) = &endpoint.basic_auth {
        request = request.basic_auth(user, password.as_ref());
    }
    let response = request.send().await.map_err(http::transport_error)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    http::classify_status(status, &headers, &reason(&text))
}

/// Alertmanager's reason: a 400 answers with a JSON string
/// (`"1 error occurred:\n\t* start time must be before end time\n\n"`), a 422
/// with an object whose `message` says it. Flattened to one line.
fn reason(body: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(o)) => match o.get("message") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => body.to_owned(),
        },
        _ => body.to_owned(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The error of a send that no instance accepted: retryable if any
/// instance may accept it later.
fn combine(endpoints: &[&Endpoint], results: Vec<Result<(), SinkError>>) -> SinkError {
    let errors: Vec<SinkError> = results.into_iter().filter_map(Result::err).collect();
    let message = if endpoints.len() == 1 {
        errors
            .first()
            .map(|e| e.message().to_owned())
            .unwrap_or_default()
    } else {
        endpoints
            .iter()
            .zip(&errors)
            .map(|(endpoint, e)| format!("{}: {}", endpoint.label, e.message()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let wait = errors.iter().filter_map(SinkError::retry_after).min();
    if errors.iter().any(SinkError::is_retryable) {
        match wait {
            Some(wait) => SinkError::rate_limited(message, wait),
            None => SinkError::retryable(message),
        }
    } else {
        SinkError::permanent(message)
    }
}

/// Re-posts, in the background and under the shared retry policy, to an
/// instance that failed while another accepted the alert. Outside a tokio
/// runtime (a sink used by hand) there is no background: skipped.
fn replicate_later(client: &reqwest::Client, endpoint: &Endpoint, body: &[u8]) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let client = client.clone();
    let endpoint = endpoint.clone();
    let body = body.to_vec();
    runtime.spawn(async move {
        let _ = retry::run(
            &RetryPolicy::default(),
            || post(&client, &endpoint, body.clone()),
            |_| {},
        )
        .await;
    });
}

/// Polls every future concurrently until all are done; outputs in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// The resolve window for a dedup window: max(2 × window, 5 min).
pub(crate) fn default_resolve_after(dedup_window: Duration) -> Duration {
    (dedup_window * 2).max(MIN_RESOLVE_AFTER)
}

/// The alert's identity in Alertmanager. Every value is one clean line.
fn labels(alert: &Alert) -> BTreeMap<&'static str, String> {
    let alertname = match alert.kind {
        AlertKind::Error => "NotifyError",
        AlertKind::Panic => "NotifyPanic",
        AlertKind::Message => "NotifyMessage",
    };
    let function = if alert.location.function.is_empty() {
        render::location_text(alert)
    } else {
        alert.location.function.clone()
    };
    let mut labels = BTreeMap::new();
    let mut add = |name: &'static str, value: &str| {
        let value = label_value(value);
        if !value.is_empty() {
            labels.insert(name, value);
        }
    };
    add("alertname", alertname);
    add("severity", alert.severity.as_str());
    add("app", &alert.app_name);
    if let Some(environment) = &alert.environment {
        add("environment", environment);
    }
    add("instance", &alert.host);
    add("function", &function);
    add("fingerprint", &alert.fingerprint_hex());
    labels
}

/// A label value: control characters (newlines included) become spaces,
/// runs of spaces collapse, at most 200 characters.
fn label_value(value: &str) -> String {
    let mut out = value
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    render::truncate_in_place(&mut out, MAX_LABEL_CHARS);
    out.truncate(out.trim_end().len());
    out
}

fn annotations(alert: &Alert) -> BTreeMap<&'static str, String> {
    let mut summary = label_value(&alert.title);
    if summary.is_empty() {
        summary = label_value(&alert.message);
    }
    if render::truncate_in_place(&mut summary, MAX_SUMMARY_CHARS - 1) {
        summary.push('…');
    }
    let mut description = render::error_text(alert);
    for (label, value) in render::facts(alert) {
        description.push_str(&format!("\n{label}: {value}"));
    }
    for (name, value) in &alert.context {
        description.push_str(&format!("\ncontext {name} = {value}"));
    }
    let description =
        render::truncate_with_marker(&render::escape::clean(&description), MAX_DESCRIPTION_CHARS);
    let backtrace = render::truncate_with_marker(
        &render::escape::clean(&render::backtrace_text(alert)),
        MAX_BACKTRACE_CHARS,
    );
    let mut annotations = BTreeMap::new();
    for (name, value) in [
        ("summary", summary),
        ("description", description),
        ("backtrace", backtrace),
    ] {
        if !value.trim().is_empty() {
            annotations.insert(name, value);
        }
    }
    annotations
}

/// `NOTIFY_ALERTMANAGER_URL` (comma-separated) as a sink, if set.
pub(crate) fn from_env(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Alertmanager>, ConfigError> {
    const VAR: &str = "NOTIFY_ALERTMANAGER_URL";
    let Some(value) = get(VAR) else {
        return Ok(None);
    };
    let mut urls = value.split(',').map(str::trim).filter(|u| !u.is_empty());
    let Some(first) = urls.next() else {
        return Ok(None);
    };
    let mut sink = Alertmanager::new(first);
    for url in urls {
        sink = sink.url(url);
    }
    for instance in &sink.instances {
        if let Err(reason) = &instance.endpoint {
            return Err(ConfigError::new(VAR, reason.clone()));
        }
    }
    // The dedup window variable was checked before the sinks are read.
    if let Some(secs) = get("NOTIFY_DEDUP_WINDOW_SECS").and_then(|s| s.trim().parse::<u64>().ok()) {
        sink = sink.resolve_after(default_resolve_after(Duration::from_secs(secs)));
    }
    Ok(Some(sink))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Location, Repeats};

    fn alert() -> Alert {
        Alert {
            kind: AlertKind::Error,
            severity: Severity::Error,
            title: String::from("Error in nightly_export"),
            app_name: String::from("billing"),
            environment: Some(String::from("prod")),
            host: String::from("web-1"),
            process_id: 42,
            thread: String::from("main"),
            timestamp: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            location: Location {
                function: String::from("billing::jobs::nightly_export"),
                file: String::from("src/jobs.rs"),
                line: 12,
            },
            message: String::from("disk full"),
            causes: vec![String::from("no space left on device")],
            panic_location: None,
            backtrace: Vec::new(),
            context: vec![(String::from("path"), String::from("\"/data/out.csv\""))],
            repeats: None,
            dropped: 0,
            fingerprint: 0xdead_beef,
            sinks: Vec::new(),
        }
    }

    fn classic_label_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    #[test]
    fn labels_are_the_documented_set_with_valid_names() {
        let labels = labels(&alert());
        let names: Vec<_> = labels.keys().copied().collect();
        assert_eq!(
            names,
            [
                "alertname",
                "app",
                "environment",
                "fingerprint",
                "function",
                "instance",
                "severity"
            ]
        );
        assert!(names.iter().all(|n| classic_label_name(n)));
        assert_eq!(labels["alertname"], "NotifyError");
        assert_eq!(labels["fingerprint"], "00000000deadbeef");
        assert_eq!(labels["instance"], "web-1");
    }

    #[test]
    fn label_values_are_one_clean_bounded_line_and_empty_ones_are_left_out() {
        let mut a = alert();
        a.app_name = format!("bill\ning\x1b[2J {}", "가".repeat(300));
        a.environment = Some(String::from("\u{7}\n "));
        let labels = labels(&a);
        let app = &labels["app"];
        assert!(app.starts_with("bill ing [2J 가"), "{app:?}");
        assert!(!app.chars().any(char::is_control));
        assert_eq!(app.chars().count(), MAX_LABEL_CHARS);
        assert!(!labels.contains_key("environment"));
        assert!(labels.values().all(|v| !v.is_empty()));
    }

    #[test]
    fn annotations_are_cut_at_character_boundaries() {
        let mut a = alert();
        a.title = "🙂".repeat(500);
        a.message = "에러".repeat(5000);
        let notes = annotations(&a);
        assert_eq!(notes["summary"].chars().count(), MAX_SUMMARY_CHARS);
        assert!(notes["summary"].ends_with('…'));
        assert_eq!(notes["description"].chars().count(), MAX_DESCRIPTION_CHARS);
        assert!(notes["description"].ends_with(render::TRUNCATED));
        assert!(!notes.contains_key("backtrace"), "no frames, no annotation");
        let short = annotations(&alert());
        assert!(short["description"].contains("disk full\ncaused by: no space left on device"));
        assert!(short["description"].contains("context path = \"/data/out.csv\""));
    }

    #[test]
    fn ends_at_is_now_plus_the_resolve_window_and_never_before_starts_at() {
        let sink =
            Alertmanager::new("http://127.0.0.1:9093").resolve_after(Duration::from_secs(600));
        let a = alert();
        let now = a.timestamp + Duration::from_secs(30);
        let body = sink.payload(&a, now);
        assert_eq!(body[0]["startsAt"], rfc3339(a.timestamp));
        assert_eq!(body[0]["endsAt"], rfc3339(now + Duration::from_secs(600)));
        let skewed = sink.payload(&a, a.timestamp - Duration::from_secs(3600));
        assert_eq!(
            skewed[0]["endsAt"],
            rfc3339(a.timestamp + Duration::from_secs(600))
        );
        assert!(body[0].get("generatorURL").is_none());
    }

    #[test]
    fn a_summary_starts_at_its_first_repeat_and_keeps_the_label_set() {
        let sink = Alertmanager::new("http://127.0.0.1:9093");
        let first = alert();
        let mut summary = alert();
        summary.timestamp = first.timestamp + Duration::from_secs(60);
        summary.repeats = Some(Repeats {
            count: 7,
            first: first.timestamp + Duration::from_secs(1),
            last: first.timestamp + Duration::from_secs(50),
        });
        let a = sink.payload(&first, first.timestamp);
        let b = sink.payload(&summary, summary.timestamp);
        assert_eq!(a[0]["labels"], b[0]["labels"]);
        assert_eq!(
            b[0]["startsAt"],
            rfc3339(first.timestamp + Duration::from_secs(1))
        );
        assert!(b[0]["annotations"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("repeated: 7 more times")));
    }

    #[test]
    fn default_resolve_window_is_twice_the_dedup_window_but_at_least_five_minutes() {
        assert_eq!(
            default_resolve_after(Duration::from_secs(60)),
            Duration::from_secs(300)
        );
        assert_eq!(
            default_resolve_after(Duration::from_secs(600)),
            Duration::from_secs(1200)
        );
    }

    #[test]
    fn urls_are_validated_and_credentials_are_redacted() {
        let sink = Alertmanager::new("http://admin:s3cr%40t@am-1:9093/prefix/").url("https://am-2");
        assert!(sink.validate().is_ok());
        let debug = format!("{sink:?}");
        assert!(
            !debug.contains("s3cr") && !debug.contains("admin"),
            "{debug}"
        );
        assert!(debug.contains("http://***@am-1:9093/prefix/"), "{debug}");
        let Ok(endpoint) = &sink.instances[0].endpoint else {
            panic!("parses")
        };
        assert_eq!(
            endpoint.alerts_url.as_str(),
            "http://am-1:9093/prefix/api/v2/alerts"
        );
        assert_eq!(
            endpoint.basic_auth,
            Some((String::from("admin"), Some(String::from("s3cr@t"))))
        );
        assert_eq!(endpoint.label, "am-1:9093");

        for bad in ["am-1:9093", "ftp://am", "http://am:9093/?x=1", "not a url"] {
            let err = Alertmanager::new("http://ok:9093")
                .url(bad)
                .validate()
                .unwrap_err();
            assert_eq!(err.field(), "alertmanager.url");
        }
        let err = Alertmanager::new("http://u:hunter2@/x")
            .validate()
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        let err = Alertmanager::new("http://am")
            .generator_url("runbook")
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "alertmanager.generator_url");
    }

    #[test]
    fn alertmanager_reasons_are_read_from_json() {
        assert_eq!(
            reason("\"1 error occurred:\\n\\t* start time must be before end time\\n\\n\""),
            "1 error occurred: * start time must be before end time"
        );
        assert_eq!(
            reason(r#"{"code":602,"message":"0.labels in body is required"}"#),
            "0.labels in body is required"
        );
        assert_eq!(
            reason("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }

    #[test]
    fn env_takes_comma_separated_urls_and_names_the_variable() {
        let get = |name: &str| match name {
            "NOTIFY_ALERTMANAGER_URL" => {
                Some(String::from(" http://am-1:9093 , http://am-2:9093,"))
            }
            "NOTIFY_DEDUP_WINDOW_SECS" => Some(String::from("600")),
            _ => None,
        };
        let sink = from_env(&get).unwrap().unwrap();
        assert_eq!(sink.instances.len(), 2);
        assert_eq!(sink.resolve_after, Duration::from_secs(1200));
        let bad =
            |name: &str| (name == "NOTIFY_ALERTMANAGER_URL").then(|| String::from("am-1:9093"));
        assert_eq!(
            from_env(&bad).unwrap_err().field(),
            "NOTIFY_ALERTMANAGER_URL"
        );
        assert!(from_env(&|_: &str| None).unwrap().is_none());
    }
}
