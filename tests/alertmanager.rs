//! The Alertmanager sink, end to end.
//!
//! The first test runs the real `alertmanager` binary (Debian's
//! `prometheus-alertmanager`): three independently built notifiers report
//! the same failure, and Alertmanager's webhook receiver — a local test
//! server — gets one notification with one alert. Without the binary it
//! prints `SKIPPED: ...`, unless `NOTIFY_REQUIRE_ALERTMANAGER=1` (set by
//! `.ci/run`), which makes it fail instead.
//!
//! The fault tests stand a small local server in for Alertmanager: down,
//! 5xx, 400 with a reason, credentials in the URL, an HA pair with one
//! instance down. Everything listens on 127.0.0.1 only.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use notify_core::{Alertmanager, Memory, Notifier, Severity};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Test servers on 127.0.0.1

/// One request a test server received.
#[derive(Debug, Clone)]
struct Received {
    authorization: Option<String>,
    body: Value,
}

type Answer = Arc<dyn Fn(usize) -> (StatusCode, String) + Send + Sync>;

#[derive(Clone)]
struct Recorder {
    received: Arc<Mutex<Vec<Received>>>,
    answer: Answer,
}

impl Recorder {
    fn new(answer: impl Fn(usize) -> (StatusCode, String) + Send + Sync + 'static) -> Self {
        Recorder {
            received: Arc::default(),
            answer: Arc::new(answer),
        }
    }

    fn ok() -> Self {
        Recorder::new(|_| (StatusCode::OK, String::new()))
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn record(
    State(recorder): State<Recorder>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let n = {
        let mut received = recorder.received.lock().unwrap();
        received.push(Received {
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
        });
        received.len()
    };
    (recorder.answer)(n)
}

/// A runtime for the test servers; the tests themselves are synchronous,
/// like the programs that use the notifier.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Serves `recorder` at `path` on `addr` (`127.0.0.1:0` for any free port);
/// returns the bound address.
fn serve(
    rt: &tokio::runtime::Runtime,
    addr: &str,
    path: &str,
    recorder: &Recorder,
) -> std::net::SocketAddr {
    let listener = rt.block_on(tokio::net::TcpListener::bind(addr)).unwrap();
    let local = listener.local_addr().unwrap();
    let app = Router::new()
        .route(path, post(record))
        .with_state(recorder.clone());
    rt.spawn(async move { axum::serve(listener, app).await });
    local
}

/// A loopback port that nothing listens on (until a test binds it again).
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn diagnostics() -> (
    Arc<Mutex<Vec<String>>>,
    impl Fn(&str) + Send + Sync + 'static,
) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    (lines, move |line: &str| {
        sink.lock().unwrap().push(line.to_owned())
    })
}

/// Polls `check` until it returns `Some`, or panics after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[derive(Debug, thiserror::Error)]
#[error("nightly export failed")]
struct ExportFailed(#[source] std::io::Error);

/// Every notifier reports from this one call site, so all of them compute
/// the same fingerprint (a manual report's call site is its caller's
/// file, line and column).
fn report_export_failure(notifier: &Notifier) {
    notifier.report_error(&ExportFailed(std::io::Error::other(
        "disk full: /var/lib/export",
    )));
}

fn report_other_failure(notifier: &Notifier) {
    notifier.report_error(&std::io::Error::other("connection reset by ledger"));
}

// ---------------------------------------------------------------------------
// The real Alertmanager

fn alertmanager_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["prometheus-alertmanager", "alertmanager"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let debian = Path::new("/usr/bin/prometheus-alertmanager");
    debian.is_file().then(|| debian.to_path_buf())
}

/// A running `alertmanager`, killed (and its directory removed) on drop.
struct RunningAlertmanager {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Drop for RunningAlertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl RunningAlertmanager {
    fn start(binary: &Path, webhook: &str) -> RunningAlertmanager {
        let dir = std::env::temp_dir().join(format!(
            "notify-alertmanager-{}-{}",
            std::process::id(),
            unused_port()
        ));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        // One group per failure (fingerprint). group_wait is short so the
        // test is quick, but not shorter than startsAt's one-second
        // precision plus delivery: Alertmanager flushes a new group at once
        // when its first alert started more than group_wait ago, and then
        // the three posts could land in two notifications. repeat_interval
        // is long enough that a second notification of the same group
        // would be a bug.
        let config = format!(
            "route:\n  receiver: recorder\n  group_by: [alertname, fingerprint]\n  group_wait: 3s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: recorder\n    webhook_configs:\n      - url: {webhook}\n        send_resolved: false\n"
        );
        let config_path = dir.join("alertmanager.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = unused_port();
        let log = std::fs::File::create(dir.join("alertmanager.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut am = RunningAlertmanager {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = am.child.try_wait() {
                panic!("alertmanager exited with {status}:\n{}", am.log());
            }
            if matches!(http_get(port, "/-/ready"), Some((200, _))) {
                break am;
            }
            if Instant::now() > deadline {
                panic!("alertmanager not ready after 20 s:\n{}", am.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("alertmanager.log")).unwrap_or_default()
    }

    fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap()
    }

    /// Alertmanager's own view: `GET /api/v2/alerts`.
    fn alerts(&self) -> Vec<Value> {
        let (status, body) = http_get(self.port(), "/api/v2/alerts").expect("GET /api/v2/alerts");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Vec<Value>>(&body).unwrap()
    }
}

/// A minimal HTTP/1.0 GET on 127.0.0.1 (no client library needed).
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// The alerts of every notification the receiver got, with the group key.
fn notifications(receiver: &Recorder) -> Vec<(String, Vec<Value>)> {
    receiver
        .received()
        .into_iter()
        .map(|r| {
            let key = r.body["groupKey"].as_str().unwrap_or_default().to_owned();
            let alerts = r.body["alerts"].as_array().cloned().unwrap_or_default();
            (key, alerts)
        })
        .collect()
}

fn with_fingerprint<'a>(alerts: &'a [Value], fingerprint: &str) -> Vec<&'a Value> {
    alerts
        .iter()
        .filter(|a| a["labels"]["fingerprint"] == fingerprint)
        .collect()
}

#[test]
fn three_notifiers_reporting_one_failure_give_one_alertmanager_notification() {
    let Some(binary) = alertmanager_binary() else {
        let reason = "no alertmanager binary (prometheus-alertmanager or alertmanager on PATH, or /usr/bin/prometheus-alertmanager)";
        assert!(
            std::env::var("NOTIFY_REQUIRE_ALERTMANAGER").as_deref() != Ok("1"),
            "NOTIFY_REQUIRE_ALERTMANAGER=1 but there is {reason}; install Debian's prometheus-alertmanager"
        );
        // Written straight to stderr, so the test harness does not capture it.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {reason}; set NOTIFY_REQUIRE_ALERTMANAGER=1 to fail instead"
        );
        return;
    };
    let started = Instant::now();
    let rt = runtime();
    let receiver = Recorder::ok();
    let hook = serve(&rt, "127.0.0.1:0", "/hook", &receiver);
    let am = RunningAlertmanager::start(&binary, &format!("http://{hook}/hook"));

    let (diagnostics, on_diagnostic) = diagnostics();
    let on_diagnostic = Arc::new(on_diagnostic);
    let memory = Memory::new();
    let notifiers: Vec<Notifier> = (0..3)
        .map(|i| {
            let d = on_diagnostic.clone();
            let mut builder = Notifier::builder()
                .app_name("fleet-test")
                .environment("ci")
                .sink(Alertmanager::new(am.url.clone()))
                .on_diagnostic(move |line| d(line));
            if i == 0 {
                builder = builder.sink(memory.clone());
            }
            builder.build().unwrap()
        })
        .collect();
    for notifier in &notifiers {
        report_export_failure(notifier);
    }
    for (i, notifier) in notifiers.iter().enumerate() {
        assert!(notifier.flush(Duration::from_secs(10)), "flush timed out");
        // Deliveries count alert × sink; the first notifier also has the memory sink.
        assert_eq!(notifier.stats().delivered, if i == 0 { 2 } else { 1 });
        assert_eq!(notifier.stats().failed, 0);
    }
    assert_eq!(*diagnostics.lock().unwrap(), Vec::<String>::new());
    let sent = memory.take();
    assert_eq!(sent.len(), 1);
    let fingerprint = sent[0].fingerprint_hex();

    // The receiver gets one notification holding one alert.
    let (group, alerts) = wait_for("the first notification", Duration::from_secs(30), || {
        notifications(&receiver)
            .into_iter()
            .find(|(_, alerts)| !with_fingerprint(alerts, &fingerprint).is_empty())
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    let labels = &alert["labels"];
    assert_eq!(labels["alertname"], "NotifyError");
    assert_eq!(labels["severity"], "error");
    assert_eq!(labels["app"], "fleet-test");
    assert_eq!(labels["environment"], "ci");
    assert_eq!(labels["instance"], sent[0].host.as_str());
    assert_eq!(labels["fingerprint"], fingerprint.as_str());
    let function = labels["function"].as_str().unwrap();
    assert!(
        function.contains("report_export_failure"),
        "function label: {function}"
    );
    assert_eq!(labels.as_object().unwrap().len(), 7, "{labels:#}");
    let annotations = &alert["annotations"];
    assert_eq!(annotations["summary"], "Error: nightly export failed");
    let description = annotations["description"].as_str().unwrap();
    assert!(
        description.starts_with("nightly export failed\ncaused by: disk full: /var/lib/export"),
        "{description}"
    );
    assert!(description.contains("app: fleet-test"), "{description}");
    let backtrace = annotations["backtrace"].as_str().unwrap();
    assert!(backtrace.contains("report_export_failure"), "{backtrace}");
    assert_eq!(alert["status"], "firing");

    // A different failure is a different alert, in its own notification.
    report_other_failure(&notifiers[1]);
    assert!(notifiers[1].flush(Duration::from_secs(10)));
    let (other_group, other) = wait_for("the second notification", Duration::from_secs(30), || {
        notifications(&receiver).into_iter().find(|(_, alerts)| {
            alerts
                .iter()
                .any(|a| a["annotations"]["summary"] == "Error: connection reset by ledger")
        })
    });
    assert_ne!(other_group, group);
    assert_eq!(other.len(), 1);
    assert_ne!(other[0]["labels"]["fingerprint"], fingerprint.as_str());

    // Alertmanager stored one alert for the three posts of the first failure.
    let stored = am.alerts();
    let ours: Vec<&Value> = stored
        .iter()
        .filter(|a| a["labels"]["app"] == "fleet-test")
        .collect();
    assert_eq!(ours.len(), 2, "{stored:#?}");
    assert_eq!(with_fingerprint(&stored, &fingerprint).len(), 1);

    // And no second notification of the first group came in meanwhile
    // (group_interval is 1 s; the alert did not change).
    std::thread::sleep(Duration::from_millis(2500));
    let first_group: Vec<_> = notifications(&receiver)
        .into_iter()
        .filter(|(key, _)| *key == group)
        .collect();
    assert_eq!(first_group.len(), 1, "{first_group:#?}");
    assert_eq!(*diagnostics.lock().unwrap(), Vec::<String>::new());
    let _ = writeln!(
        std::io::stderr(),
        "alertmanager integration test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------
// Faults, against a stand-in server

fn notifier(sink: Alertmanager) -> (Notifier, Arc<Mutex<Vec<String>>>) {
    let (lines, on_diagnostic) = diagnostics();
    let notifier = Notifier::builder()
        .app_name("faults")
        .sink(sink)
        .on_diagnostic(on_diagnostic)
        .build()
        .unwrap();
    (notifier, lines)
}

#[test]
fn alertmanager_down_then_up_is_delivered_after_a_retry() {
    let rt = runtime();
    let port = unused_port();
    let (notifier, diagnostics) = notifier(Alertmanager::new(format!("http://127.0.0.1:{port}")));
    report_export_failure(&notifier);
    std::thread::sleep(Duration::from_millis(400));
    let recorder = Recorder::ok();
    serve(
        &rt,
        &format!("127.0.0.1:{port}"),
        "/api/v2/alerts",
        &recorder,
    );
    assert!(notifier.flush(Duration::from_secs(15)));
    assert_eq!(notifier.stats().delivered, 1);
    assert_eq!(*diagnostics.lock().unwrap(), Vec::<String>::new());
    let received = recorder.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body[0]["labels"]["alertname"], "NotifyError");
}

#[test]
fn server_errors_are_retried_until_alertmanager_accepts() {
    let rt = runtime();
    let recorder = Recorder::new(|n| {
        if n <= 2 {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                String::from("\"overloaded\""),
            )
        } else {
            (StatusCode::OK, String::new())
        }
    });
    let addr = serve(&rt, "127.0.0.1:0", "/api/v2/alerts", &recorder);
    let (notifier, diagnostics) = notifier(Alertmanager::new(format!("http://{addr}")));
    report_export_failure(&notifier);
    assert!(notifier.flush(Duration::from_secs(15)));
    assert_eq!(notifier.stats().delivered, 1);
    assert_eq!(*diagnostics.lock().unwrap(), Vec::<String>::new());
    let received = recorder.received();
    assert_eq!(received.len(), 3);
    // Every attempt posts the same label set: one alert in Alertmanager.
    assert!(received
        .iter()
        .all(|r| r.body[0]["labels"] == received[0].body[0]["labels"]));
}

#[test]
fn invalid_alerts_give_one_diagnostic_with_alertmanagers_reason() {
    let rt = runtime();
    let recorder = Recorder::new(|_| {
        (
            StatusCode::BAD_REQUEST,
            String::from(r#""invalid label set: invalid name \"a-b\"""#),
        )
    });
    let addr = serve(&rt, "127.0.0.1:0", "/api/v2/alerts", &recorder);
    let (notifier, diagnostics) = notifier(Alertmanager::new(format!("http://{addr}")).named("am"));
    report_export_failure(&notifier);
    assert!(notifier.flush(Duration::from_secs(10)));
    let lines = diagnostics.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("sink \"am\""), "{}", lines[0]);
    assert!(
        lines[0].contains(r#"HTTP 400: invalid label set: invalid name "a-b""#),
        "{}",
        lines[0]
    );
    assert_eq!(recorder.received().len(), 1, "a 400 is not retried");
    assert_eq!(notifier.stats().failed, 1);
}

#[test]
fn schema_errors_are_permanent_with_their_message() {
    let rt = runtime();
    let recorder = Recorder::new(|_| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            String::from(r#"{"code":602,"message":"0.labels in body is required"}"#),
        )
    });
    let addr = serve(&rt, "127.0.0.1:0", "/api/v2/alerts", &recorder);
    let (notifier, diagnostics) = notifier(Alertmanager::new(format!("http://{addr}")));
    notifier.report_message(Severity::Warning, "disk 91% full");
    assert!(notifier.flush(Duration::from_secs(10)));
    let lines = diagnostics.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("HTTP 422: 0.labels in body is required"),
        "{}",
        lines[0]
    );
    assert_eq!(recorder.received().len(), 1);
}

#[test]
fn credentials_in_the_url_are_sent_as_basic_auth_and_never_shown() {
    let rt = runtime();
    let recorder = Recorder::new(|_| (StatusCode::BAD_GATEWAY, String::from("upstream down")));
    let addr = serve(&rt, "127.0.0.1:0", "/am/api/v2/alerts", &recorder);
    let refused = unused_port();
    let sink = Alertmanager::new(format!("http://admin:hunter2@{addr}/am/"))
        .url(format!("http://admin:hunter2@127.0.0.1:{refused}"));
    let debug = format!("{sink:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("admin"),
        "{debug}"
    );
    let (notifier, diagnostics) = notifier(sink);
    report_export_failure(&notifier);
    assert!(notifier.flush(Duration::from_secs(20)));
    assert!(!format!("{notifier:?}").contains("hunter2"));
    let lines = diagnostics.lock().unwrap().clone();
    // Each instance fails on its own, in its own diagnostic, named by host
    // and port with its own reason.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(notifier.stats().failed, 2);
    for line in &lines {
        assert!(
            !line.contains("hunter2") && !line.contains("admin"),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{addr}: HTTP 502: upstream down"))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("127.0.0.1:{refused}: could not connect"))),
        "{lines:?}"
    );
    let received = recorder.received();
    assert!(received.len() > 1, "5xx is retried");
    assert!(received
        .iter()
        .all(|r| r.authorization.as_deref() == Some("Basic YWRtaW46aHVudGVyMg==")));
}

#[test]
fn an_ha_pair_with_one_instance_down_delivers_and_catches_up_later() {
    let rt = runtime();
    let up = Recorder::ok();
    let up_addr = serve(&rt, "127.0.0.1:0", "/api/v2/alerts", &up);
    let down_port = unused_port();
    let (notifier, diagnostics) = notifier(
        Alertmanager::new(format!("http://{up_addr}")).url(format!("http://127.0.0.1:{down_port}")),
    );
    report_export_failure(&notifier);
    // The live instance gets it at once, whatever the other does.
    wait_for("the live instance", Duration::from_secs(5), || {
        (!up.received().is_empty()).then_some(())
    });

    // The instance that was down is retried, and gets the alert once it is
    // back (within the retry budget).
    let late = Recorder::ok();
    serve(
        &rt,
        &format!("127.0.0.1:{down_port}"),
        "/api/v2/alerts",
        &late,
    );
    assert!(notifier.flush(Duration::from_secs(15)));
    assert_eq!(
        notifier.stats().delivered,
        2,
        "each instance is a delivery of its own"
    );
    assert_eq!(notifier.stats().failed, 0);
    assert_eq!(*diagnostics.lock().unwrap(), Vec::<String>::new());
    let received = late.received();
    assert_eq!(received.len(), 1);
    let first = &up.received()[0].body[0];
    assert_eq!(received[0].body[0]["labels"], first["labels"]);
    assert_eq!(received[0].body[0]["startsAt"], first["startsAt"]);
    assert_eq!(
        up.received().len(),
        1,
        "the instance that accepted is not posted again"
    );
}

#[test]
fn a_proxy_page_that_repeats_the_path_and_credentials_does_not_leak_them() {
    let rt = runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(|uri: axum::http::Uri| async move {
        (
            StatusCode::NOT_FOUND,
            format!("The requested URL {uri} was not found (for user admin, password hunter2)"),
        )
    });
    rt.spawn(async move { axum::serve(listener, app).await });
    let (notifier, diagnostics) = notifier(Alertmanager::new(format!(
        "http://admin:hunter2@{addr}/PREFIX-SECRET/"
    )));
    report_export_failure(&notifier);
    assert!(notifier.flush(Duration::from_secs(10)));
    let lines = diagnostics.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("HTTP 404: The requested URL <redacted> was not found"),
        "{}",
        lines[0]
    );
    for secret in ["PREFIX-SECRET", "hunter2", "admin"] {
        assert!(!lines[0].contains(secret), "{secret} leaked: {}", lines[0]);
    }
}

// ---------------------------------------------------------------------------
// Job monitoring: a still-running run is an alert that resolves when the
// run ends (the only test here that installs the global notifier).

#[notify_core::monitor(name = "am-overlong-job", max_runtime = "1s")]
fn overlong_job(work: Duration) -> Result<(), std::io::Error> {
    std::thread::sleep(work);
    Ok(())
}

fn still_running_of<'a>(alerts: &'a [Value], job: &str) -> Vec<&'a Value> {
    alerts
        .iter()
        .filter(|a| {
            a["labels"]["alertname"] == "NotifyJobStillRunning" && a["labels"]["job"] == job
        })
        .collect()
}

#[test]
fn a_still_running_job_fires_in_alertmanager_and_resolves_when_the_run_ends() {
    let Some(binary) = alertmanager_binary() else {
        assert!(
            std::env::var("NOTIFY_REQUIRE_ALERTMANAGER").as_deref() != Ok("1"),
            "NOTIFY_REQUIRE_ALERTMANAGER=1 but there is no alertmanager binary"
        );
        let _ = writeln!(std::io::stderr(), "SKIPPED: no alertmanager binary");
        return;
    };
    let rt = runtime();
    let receiver = Recorder::ok();
    let hook = serve(&rt, "127.0.0.1:0", "/hook", &receiver);
    let am = RunningAlertmanager::start(&binary, &format!("http://{hook}/hook"));
    let (diagnostics, on_diagnostic) = diagnostics();
    let guard = Notifier::builder()
        .app_name("monitor-am-test")
        .sink(Alertmanager::new(am.url.clone()))
        .on_diagnostic(on_diagnostic)
        .spool_dir(None)
        .install()
        .unwrap();

    let job = std::thread::spawn(|| overlong_job(Duration::from_secs(8)));
    // Past its max_runtime, the run fires in Alertmanager, one alert per
    // run, while the job goes on.
    let firing = wait_for("the still-running alert", Duration::from_secs(20), || {
        let alerts = am.alerts();
        let found = still_running_of(&alerts, "am-overlong-job");
        (!found.is_empty()).then(|| found.into_iter().cloned().collect::<Vec<_>>())
    });
    assert_eq!(firing.len(), 1, "{firing:#?}");
    let labels = &firing[0]["labels"];
    assert_eq!(labels["severity"], "warning");
    assert_eq!(labels["app"], "monitor-am-test");
    assert!(
        labels["run_id"].as_str().is_some_and(|id| id.len() == 36),
        "{labels}"
    );
    assert!(firing[0]["annotations"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("am-overlong-job still running after "));
    assert!(!job.is_finished(), "the run is not interrupted");

    job.join().unwrap().unwrap();
    assert!(notify_core::flush(Duration::from_secs(30)));
    // The run's end resolved it: Alertmanager no longer lists it as active.
    wait_for("the resolution", Duration::from_secs(20), || {
        let alerts = am.alerts();
        let active: Vec<&Value> = still_running_of(&alerts, "am-overlong-job")
            .into_iter()
            .filter(|a| a["status"]["state"] == "active")
            .collect();
        active.is_empty().then_some(())
    });
    assert!(
        diagnostics.lock().unwrap().is_empty(),
        "{:?}",
        diagnostics.lock().unwrap()
    );
    drop(guard);
}
