//! The Prometheus Alertmanager sink: `POST {url}/api/v2/alerts`.
//!
//! Alertmanager is the fleet-wide engine: it groups, inhibits, silences and
//! de-duplicates the alerts of many processes, and routes them to Telegram,
//! Slack, Discord and the rest. This sink only has to post a stable label
//! set per failure; see [`Alertmanager`] for the choices made.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use super::http;
use super::route::{impl_route, route_methods, Route};
use crate::alert::{rfc3339, Alert, AlertKind};
use crate::error::ConfigError;
use crate::render::{self, escape, fit};

/// The resolve window unless [`Alertmanager::resolve_after`] says otherwise.
pub(crate) const DEFAULT_RESOLVE_AFTER: Duration = Duration::from_secs(10 * 60);
/// The longest resolve window accepted: `endsAt` stays a sane date.
const MAX_RESOLVE_AFTER: Duration = Duration::from_secs(365 * 24 * 3600);
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
///             .resolve_after(Duration::from_secs(1800)),
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
/// | `alertname` | `NotifyError`, `NotifyPanic` or `NotifyMessage`, by kind: a small, stable set to route and group by (the title is the `summary` annotation); `NotifyJobStillRunning` for a monitored run past its `max_runtime` |
/// | `severity` | `info`, `warning`, `error` or `critical` |
/// | `app`, `environment` | the notifier's settings (`environment` only when set) |
/// | `instance` | the host name (not the pid: a restarted process keeps firing the same alert) |
/// | `function` | the function path, or `file:line` when unknown |
/// | `fingerprint` | [`Alert::fingerprint_hex`]: call site, kind and error text, the same in every process of a fleet |
/// | `job` | for a monitored job (`#[monitor]`): its name |
///
/// A still-running alert has `alertname`, `severity` (`warning`), `app`,
/// `environment`, `instance`, `function`, `job` and `run_id` (each run is
/// its own alert). It is posted once, with `endsAt` a day later, and fires
/// until the run ends: the success or failure that ends the run posts the
/// same labels with `endsAt` now, which resolves it. A run still going a
/// day after its `max_runtime` (or whose process died) resolves by itself
/// then; the heartbeat service is what watches for those. A job's start
/// and success messages are not posted: they are news, not alerts.
///
/// Label values are single lines without control characters, at most 200
/// characters; a label whose value would be empty is left out (Alertmanager
/// drops empty labels anyway). **Annotations**: `summary` (the title, one
/// line, ≤ 200 characters), `description` (error, causes, context and the
/// header facts, ≤ 3000), `backtrace` (≤ 6000), all cut at character
/// boundaries with a visible "… truncated" marker.
///
/// # Firing and resolving
///
/// `startsAt` is the alert's time; `endsAt` is *now + resolve window*. Every
/// repeat of a failure re-posts the same label set (storm control sends the
/// first alert at once and a summary per dedup window while it keeps
/// happening), which extends `endsAt`: Alertmanager keeps **one** firing
/// alert. When the failure stops, nothing is posted and the alert resolves
/// by itself when `endsAt` passes. The window is a fixed 10 minutes unless
/// you set [`resolve_after`](Self::resolve_after) (at most a year): keep it
/// at least twice the notifier's
/// [`dedup_window`](crate::NotifierBuilder::dedup_window) (1 minute by
/// default), so that one missed summary does not resolve the alert. **If you
/// raise the dedup window past 5 minutes** (in code or with
/// `NOTIFY_DEDUP_WINDOW_SECS`), raise the resolve window with it.
///
/// # Several instances (HA)
///
/// Every alert goes to every URL: instances of an Alertmanager cluster
/// gossip silences and the notification log, not alerts, so each must
/// receive them. Each instance is a destination of its own (see
/// [`Sink::split`]): delivered, retried and rate-limited on its own, so an
/// instance that is down gets the alert when it comes back (within the
/// notifier's retry budget) and an instance that has it is not posted
/// again. An instance that fails for good gives its own diagnostic, naming
/// it by host and port.
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
    /// Whether errors name the instance: set on the parts of a sink with
    /// several instances.
    name_instances: bool,
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
                    .map(|i| http::redact_url(&i.raw))
                    .collect::<Vec<_>>(),
            )
            .field("resolve_after", &self.resolve_after)
            .field(
                "generator_url",
                &self.generator_url.as_deref().map(http::redact_url),
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
            resolve_after: DEFAULT_RESOLVE_AFTER,
            generator_url: None,
            name_instances: false,
        }
    }

    /// Adds another instance (an HA pair, or more): every alert goes to
    /// every instance.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.instances.push(Instance::new(url.into()));
        self
    }

    /// How long after its last post an alert stays firing (the `endsAt`
    /// offset): 1 second to 1 year. Default 10 min; keep it at least twice
    /// the dedup window.
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
    ///
    /// For a monitored job's run: a still-running alert fires until the
    /// run ends (at most a day); the alert that ends
    /// such a run resolves it (`endsAt` now), and a failure is posted beside
    /// that resolution. A start or success that ends nothing is news, not
    /// an alert: the array is empty, and nothing is posted.
    pub fn payload(&self, alert: &Alert, now: SystemTime) -> serde_json::Value {
        let mut alerts = Vec::new();
        if let Some(run) = alert.run.as_ref().filter(|run| run.ends_still_running) {
            let started = alert
                .timestamp
                .checked_sub(run.duration)
                .unwrap_or(alert.timestamp);
            alerts.push(serde_json::json!({
                "labels": still_running_labels(alert),
                "annotations": {
                    "summary": fit::cut(&flatten(&alert.title), MAX_SUMMARY_CHARS, fit::code_point, false),
                },
                "startsAt": rfc3339(started.min(now)),
                "endsAt": rfc3339(now.max(started)),
            }));
        }
        if matches!(alert.kind, AlertKind::Started | AlertKind::Succeeded) {
            return serde_json::Value::Array(alerts);
        }
        alerts.push(self.one(alert, now));
        serde_json::Value::Array(alerts)
    }

    fn one(&self, alert: &Alert, now: SystemTime) -> serde_json::Value {
        let mut starts = alert.timestamp;
        if let Some(repeats) = &alert.repeats {
            starts = starts.min(repeats.first);
        }
        // endsAt must not be before startsAt, whatever the clocks say; the
        // window is bounded (validate), and checked all the same.
        let from = now.max(starts);
        let fires_for = if alert.kind == AlertKind::StillRunning {
            STILL_RUNNING_FIRES_FOR
        } else {
            self.resolve_after.min(MAX_RESOLVE_AFTER)
        };
        let ends = from.checked_add(fires_for).unwrap_or(from);
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
        body
    }
}

impl Sink for Alertmanager {
    route_methods!();

    /// Not a monitored job's start, nor a success that ends no
    /// still-running alert: news, not alerts.
    fn accepts(&self, alert: &Alert) -> bool {
        !payload_is_empty(alert)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for instance in &self.instances {
            instance.endpoint.as_ref().map_err(Clone::clone)?;
        }
        if self.resolve_after < Duration::from_secs(1) || self.resolve_after > MAX_RESOLVE_AFTER {
            return Err(ConfigError::new(
                "alertmanager.resolve_after",
                "must be between one second (endsAt is sent to the second) and one year",
            ));
        }
        if let Some(url) = &self.generator_url {
            http::check_url("alertmanager.generator_url", url)?;
        }
        Ok(())
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let payload = self.payload(alert, SystemTime::now());
            if payload.as_array().is_some_and(Vec::is_empty) {
                // A job's start or success: nothing to fire or resolve.
                return Ok(());
            }
            let body = serde_json::to_vec(&payload)
                .map_err(|e| SinkError::permanent(format!("cannot encode the alert: {e}")))?;
            // After `split` (how a notifier uses the sink) there is one
            // instance. Used whole, the sink posts to every instance in
            // turn, and a retry posts to all of them again (harmless:
            // identical label sets are one alert).
            let name_instances = self.name_instances || self.instances.len() > 1;
            let mut errors = Vec::new();
            for instance in &self.instances {
                let result = match &instance.endpoint {
                    Ok(endpoint) => post(endpoint, body.clone()).await,
                    Err(error) => Err(SinkError::permanent(error.reason())),
                };
                match result {
                    Err(error) if name_instances => {
                        errors.push(instance.relabel(&error));
                    }
                    Err(error) => errors.push(error),
                    Ok(()) => {}
                }
            }
            http::combine(errors)
        })
    }

    fn split(self) -> Vec<Box<dyn Sink>> {
        let name_instances = self.instances.len() > 1;
        let Alertmanager {
            route,
            instances,
            resolve_after,
            generator_url,
            ..
        } = self;
        instances
            .into_iter()
            .map(|instance| {
                Box::new(Alertmanager {
                    route: route.clone(),
                    instances: vec![instance],
                    resolve_after,
                    generator_url: generator_url.clone(),
                    name_instances,
                }) as Box<dyn Sink>
            })
            .collect()
    }
}

/// One configured URL; parsed once, checked by `validate`.
#[derive(Clone)]
struct Instance {
    raw: String,
    endpoint: Result<Endpoint, ConfigError>,
}

impl Instance {
    fn new(raw: String) -> Self {
        let endpoint = Endpoint::parse(&raw);
        Instance { raw, endpoint }
    }

    /// `error`, prefixed with the instance's `host:port`.
    fn relabel(&self, error: &SinkError) -> SinkError {
        let label = match &self.endpoint {
            Ok(endpoint) => endpoint.label.as_str(),
            Err(_) => "alertmanager",
        };
        http::labelled(label, error)
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
    fn parse(raw: &str) -> Result<Endpoint, ConfigError> {
        const FIELD: &str = "alertmanager.url";
        let mut url = http::parse_url(FIELD, raw)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::new(
                FIELD,
                "must be a base URL without query or fragment, like http://am:9093",
            ));
        }
        let basic_auth = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            Some((
                http::percent_decode(url.username()),
                url.password().map(http::percent_decode),
            ))
        };
        // Only fails for URLs that cannot have credentials, which
        // parse_url already refused (http(s) with a host).
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

/// One POST to one instance: one attempt, classified.
async fn post(endpoint: &Endpoint, body: Vec<u8>) -> Result<(), SinkError> {
    let auth = endpoint
        .basic_auth
        .as_ref()
        .map(|(user, password)| http::BasicAuth {
            user,
            password: password.as_deref(),
        });
    let url = endpoint.alerts_url.as_str();
    let answer = http::post_json(url, body, &[], auth).await?;
    let (user, password) = match &endpoint.basic_auth {
        Some((user, password)) => (user.as_str(), password.as_deref().unwrap_or("")),
        None => ("", ""),
    };
    let reason = http::scrub(&reason(&answer.body), url, &[user, password]);
    http::classify(answer.status, &answer.headers, &reason, None)
}

/// Alertmanager's reason: a 400 answers with a JSON string
/// (`"1 error occurred:\n\t* start time must be before end time\n\n"`), a 422
/// with an object whose `message` says it. Flattened to one line.
fn reason(body: &str) -> String {
    http::body_reason(body, "message")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The alert's identity in Alertmanager. Every value is one clean line.
fn labels(alert: &Alert) -> BTreeMap<&'static str, String> {
    if alert.kind == AlertKind::StillRunning {
        return still_running_labels(alert);
    }
    let alertname = match alert.kind {
        AlertKind::Error => "NotifyError",
        AlertKind::Panic => "NotifyPanic",
        AlertKind::Message => "NotifyMessage",
        AlertKind::Started => "NotifyJobStarted",
        AlertKind::Succeeded => "NotifyJobSucceeded",
        AlertKind::StillRunning => "NotifyJobStillRunning",
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
    if let Some(run) = &alert.run {
        add("job", &run.job);
    }
    labels
}

/// A monitored job's start, or a success that ends no still-running
/// alert: nothing to fire or resolve.
fn payload_is_empty(alert: &Alert) -> bool {
    match alert.kind {
        AlertKind::Started => true,
        AlertKind::Succeeded => !alert.run.as_ref().is_some_and(|run| run.ends_still_running),
        _ => false,
    }
}

/// The identity of a run's still-running alert: the same from the
/// [`StillRunning`](AlertKind::StillRunning) alert and from the alert that
/// ends the run (which resolves it), whatever that one's own kind and
/// severity.
fn still_running_labels(alert: &Alert) -> BTreeMap<&'static str, String> {
    let mut labels = BTreeMap::new();
    let mut add = |name: &'static str, value: &str| {
        let value = label_value(value);
        if !value.is_empty() {
            labels.insert(name, value);
        }
    };
    add("alertname", "NotifyJobStillRunning");
    add("severity", STILL_RUNNING_SEVERITY.as_str());
    add("app", &alert.app_name);
    if let Some(environment) = &alert.environment {
        add("environment", environment);
    }
    add("instance", &alert.host);
    add("function", &alert.location.function);
    if let Some(run) = &alert.run {
        add("job", &run.job);
        add("run_id", &run.run_id);
    }
    labels
}

/// The severity of every still-running alert.
const STILL_RUNNING_SEVERITY: crate::alert::Severity = crate::alert::Severity::Warning;

/// How long a still-running alert fires without news: the run's end
/// resolves it sooner; past this, it resolves by itself (a run that long
/// overdue, or whose process died, is the heartbeat service's to notice).
const STILL_RUNNING_FIRES_FOR: Duration = Duration::from_secs(24 * 3600);

/// One line without control characters (newlines included, they become
/// spaces) and runs of spaces collapsed.
fn flatten(value: &str) -> String {
    value
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A label value: [`flatten`]ed, at most 200 characters (an identity: cut
/// without a marker).
fn label_value(value: &str) -> String {
    http::one_line(&flatten(value), MAX_LABEL_CHARS)
}

fn annotations(alert: &Alert) -> BTreeMap<&'static str, String> {
    let mut summary = flatten(&alert.title);
    if summary.is_empty() {
        summary = flatten(&alert.message);
    }
    let summary = fit::cut(&summary, MAX_SUMMARY_CHARS, fit::code_point, false);
    let mut description = render::error_text(alert);
    for (label, value) in render::facts(alert) {
        description.push_str(&format!("\n{label}: {value}"));
    }
    for line in render::context_lines(alert) {
        description.push_str(&format!("\ncontext {line}"));
    }
    let description = fit::cut(
        &escape::clean(&description),
        MAX_DESCRIPTION_CHARS,
        fit::code_point,
        false,
    );
    let backtrace = fit::cut(
        &escape::clean(&render::backtrace_text(alert)),
        MAX_BACKTRACE_CHARS,
        fit::code_point,
        true,
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
    http::validate_from_env(&sink, &[("alertmanager.url", VAR)])?;
    Ok(Some(sink))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Location, Repeats, Severity};

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
            digest: Vec::new(),
            run: None,
        }
    }

    /// A monitored run's alert of `kind`.
    fn run_alert(kind: AlertKind, ends_still_running: bool) -> Alert {
        let mut alert = alert();
        alert.kind = kind;
        alert.run = Some(crate::alert::RunInfo {
            job: String::from("nightly-export"),
            run_id: String::from("0d6c3b8e-3f1a-4c7e-9a51-2b7f4c9d1e08"),
            duration: Duration::from_secs(7200),
            value: None,
            ends_still_running,
        });
        alert
    }

    /// News is not taken (so not delivered, nor counted); a still-running
    /// alert fires, and the end of its run resolves the very same labels —
    /// beside the failure, when the run failed.
    #[test]
    fn runs_fire_and_resolve_and_their_news_is_not_taken() {
        let sink = Alertmanager::new("http://am:9093");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_100);
        assert!(!sink.accepts(&run_alert(AlertKind::Started, false)));
        assert!(!sink.accepts(&run_alert(AlertKind::Succeeded, false)));
        assert!(sink.accepts(&run_alert(AlertKind::Succeeded, true)));
        assert!(sink.accepts(&run_alert(AlertKind::StillRunning, false)));
        assert!(sink.accepts(&alert()));

        let firing = sink.payload(&run_alert(AlertKind::StillRunning, false), now);
        let firing = firing.as_array().unwrap();
        assert_eq!(firing.len(), 1);
        assert_eq!(firing[0]["labels"]["alertname"], "NotifyJobStillRunning");
        let ended = sink.payload(&run_alert(AlertKind::Succeeded, true), now);
        let ended = ended.as_array().unwrap();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0]["labels"], firing[0]["labels"]);
        assert_eq!(ended[0]["endsAt"], rfc3339(now));
        let failed = sink.payload(&run_alert(AlertKind::Error, true), now);
        let failed = failed.as_array().unwrap();
        assert_eq!(failed.len(), 2);
        assert_eq!(failed[0]["labels"], firing[0]["labels"]);
        assert_eq!(failed[1]["labels"]["alertname"], "NotifyError");
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
        assert!(notes["summary"].ends_with(fit::INLINE_MARKER));
        assert_eq!(notes["description"].chars().count(), MAX_DESCRIPTION_CHARS);
        assert!(notes["description"].ends_with(fit::MARKER));
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
    fn the_resolve_window_is_ten_minutes_and_bounded_to_a_year() {
        let sink = Alertmanager::new("http://127.0.0.1:9093");
        assert_eq!(sink.resolve_after, Duration::from_secs(600));
        let a = alert();
        assert_eq!(
            sink.payload(&a, a.timestamp)[0]["endsAt"],
            rfc3339(a.timestamp + Duration::from_secs(600))
        );
        for window in [Duration::MAX, MAX_RESOLVE_AFTER + Duration::from_secs(1)] {
            let sink = Alertmanager::new("http://127.0.0.1:9093").resolve_after(window);
            let err = sink.validate().unwrap_err();
            assert_eq!(err.field(), "alertmanager.resolve_after");
            // Used without validation all the same: no overflow, no panic.
            let body = sink.payload(&a, a.timestamp);
            assert_eq!(body[0]["endsAt"], rfc3339(a.timestamp + MAX_RESOLVE_AFTER));
        }
        assert!(Alertmanager::new("http://127.0.0.1:9093")
            .resolve_after(MAX_RESOLVE_AFTER)
            .validate()
            .is_ok());
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
        assert!(debug.contains("\"http://am-1:9093\""), "{debug}");
        assert!(!debug.contains("prefix"), "{debug}");
        let debug = format!("{:?}", Alertmanager::new("http://am:9093/p?token=S3CRET"));
        assert!(
            !debug.contains("S3CRET") && !debug.contains("/p"),
            "{debug}"
        );
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
    fn each_instance_is_a_part_and_names_itself_in_errors() {
        let sink = Alertmanager::new("http://u:pw@am-1:9093").url("http://am-2:9094");
        assert_eq!(sink.concurrency(), 8);
        let parts = sink.clone().split();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.name() == "alertmanager"));
        let error = sink.instances[1].relabel(&SinkError::retryable("could not connect"));
        assert_eq!(error.message(), "am-2:9094: could not connect");
        assert!(error.is_retryable());
        assert_eq!(Alertmanager::new("http://am:9093").split().len(), 1);
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
            "NOTIFY_DEDUP_WINDOW_SECS" => Some(String::from("not read here")),
            _ => None,
        };
        let sink = from_env(&get).unwrap().unwrap();
        assert_eq!(sink.instances.len(), 2);
        assert_eq!(sink.resolve_after, DEFAULT_RESOLVE_AFTER);
        let bad =
            |name: &str| (name == "NOTIFY_ALERTMANAGER_URL").then(|| String::from("am-1:9093"));
        assert_eq!(
            from_env(&bad).unwrap_err().field(),
            "NOTIFY_ALERTMANAGER_URL"
        );
        assert!(from_env(&|_: &str| None).unwrap().is_none());
    }
}
