//! The global notifier end to end: the macro's alerts reach the dispatcher
//! from plain threads, from inside tokio runtimes and from many threads at
//! once; manual reports; a second install; errors inside the notifier.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use notify_core::{
    alert_on_error, Alert, AlertKind, BoxFuture, FlushGuard, Memory, Notifier, Severity, Sink,
    SinkError, SinkExt,
};

/// A sink that raises errors itself: through an annotated function, and by
/// reporting and panicking. None of it may come back as an alert.
struct Misbehaving;

#[alert_on_error]
fn fails_inside_the_notifier() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("error inside a sink"))
}

impl Sink for Misbehaving {
    fn name(&self) -> &str {
        "misbehaving"
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let _ = fails_inside_the_notifier();
            notify_core::report_message(Severity::Critical, "report from inside a sink");
            if alert.message.contains("make the sink panic") {
                panic!("a sink panicked");
            }
            Err(SinkError::permanent("misbehaving sink refuses everything"))
        })
    }
}

struct Sinks {
    memory: Memory,
    ops: Memory,
    pager: Memory,
    diagnostics: Arc<Mutex<Vec<String>>>,
}

fn sinks() -> &'static Sinks {
    static INSTALLED: OnceLock<(Sinks, FlushGuard)> = OnceLock::new();
    &INSTALLED
        .get_or_init(|| {
            let memory = Memory::new();
            let ops = Memory::new().named("ops");
            let pager = Memory::new()
                .named("pager")
                .min_severity(Severity::Critical);
            let diagnostics = Arc::new(Mutex::new(Vec::new()));
            let lines = diagnostics.clone();
            let guard = Notifier::builder()
                .app_name("runtime-tests")
                .environment("test")
                // Storm control has its own tests; here every alert counts.
                .dedup_window(Duration::ZERO)
                .sink(memory.clone())
                .sink(ops.clone())
                .sink(pager.clone())
                .sink(Misbehaving.min_severity(Severity::Warning))
                .on_diagnostic(move |line| lines.lock().unwrap().push(line.to_owned()))
                .install()
                .expect("first install succeeds");
            (
                Sinks {
                    memory,
                    ops,
                    pager,
                    diagnostics,
                },
                guard,
            )
        })
        .0
}

fn memory() -> &'static Memory {
    &sinks().memory
}

fn with_text(sink: &Memory, text: &str) -> usize {
    sink.alerts()
        .iter()
        .filter(|a| a.message.contains(text))
        .count()
}

fn alerts_with(text: &str) -> Vec<Alert> {
    assert!(
        notify_core::flush(Duration::from_secs(10)),
        "flush finished"
    );
    memory()
        .alerts()
        .into_iter()
        .filter(|a| a.message.contains(text))
        .collect()
}

#[derive(Debug)]
struct JobError(String);

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job failed: {}", self.0)
    }
}

impl std::error::Error for JobError {}

#[alert_on_error]
fn job(tag: &str) -> Result<u32, JobError> {
    Err(JobError(tag.to_owned()))
}

#[alert_on_error]
async fn async_job(tag: String) -> Result<u32, JobError> {
    tokio::task::yield_now().await;
    Err(JobError(tag))
}

#[test]
fn an_err_from_a_plain_thread_is_delivered_with_its_backtrace() {
    memory();
    let result = std::thread::Builder::new()
        .name("worker-7".into())
        .spawn(|| job("plain-thread"))
        .unwrap()
        .join()
        .unwrap();
    assert!(result.is_err());
    let alerts = alerts_with("plain-thread");
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::Error);
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(alert.app_name, "runtime-tests");
    assert_eq!(alert.environment.as_deref(), Some("test"));
    assert_eq!(alert.thread, "worker-7");
    assert_eq!(alert.process_id, std::process::id());
    assert!(alert.location.function.ends_with("runtime_global::job"));
    assert!(
        alert.backtrace[0].function.ends_with("runtime_global::job"),
        "first frame is the user's function: {:#?}",
        alert.backtrace
    );
    assert!(alert
        .backtrace
        .iter()
        .all(|f| !f.function.starts_with("notify_core::") && !f.function.starts_with("std::")));
}

#[test]
fn alerts_from_a_multi_thread_runtime_are_delivered() {
    memory();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..4)
            .map(|i| tokio::spawn(async_job(format!("multi-thread-{i}"))))
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().is_err());
        }
        // A flush from inside the runtime does not deadlock it.
        assert!(notify_core::flush(Duration::from_secs(10)));
    });
    let alerts = alerts_with("multi-thread-");
    assert_eq!(alerts.len(), 4);
    for alert in &alerts {
        assert!(
            alert.backtrace[0].function.contains("async_job"),
            "first frame is the user's function: {:#?}",
            alert.backtrace
        );
        assert!(
            alert
                .backtrace
                .iter()
                .all(|f| !f.function.starts_with("tokio::") && !f.function.starts_with("<tokio::")),
            "no tokio runtime internals: {:#?}",
            alert.backtrace
        );
    }
}

#[test]
fn alerts_from_a_current_thread_runtime_are_delivered() {
    memory();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert!(async_job("current-thread".into()).await.is_err());
        assert!(job("current-thread-sync").is_err());
    });
    assert_eq!(alerts_with("current-thread").len(), 2);
}

#[test]
fn alerts_from_many_threads_at_once_are_all_delivered() {
    memory();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..20 {
                    let _ = job(&format!("many-threads-{t}-{i}"));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(alerts_with("many-threads-").len(), 16 * 20);
}

#[test]
fn a_panic_is_delivered_with_the_panic_site_first() {
    memory();
    #[alert_on_error]
    fn divide(a: u32, b: u32) -> u32 {
        if b == 0 {
            panic!("global-panic: division by zero");
        }
        a / b
    }
    let caught = std::panic::catch_unwind(|| divide(1, 0));
    assert!(caught.is_err());
    let alerts = alerts_with("global-panic");
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::Panic);
    assert_eq!(alert.severity, Severity::Critical);
    let site = alert.panic_location.as_deref().unwrap();
    assert!(site.starts_with("tests/runtime_global.rs:"), "{site}");
    let first = &alert.backtrace[0];
    assert!(
        first.function.contains("divide"),
        "first frame is the panic site: {:#?}",
        alert.backtrace
    );
    let panic_line: u32 = site.split(':').nth(1).unwrap().parse().unwrap();
    assert_eq!(first.line, Some(panic_line));
}

#[test]
fn manual_reports_go_through_the_same_path() {
    memory();
    let error = JobError("manual-report".into());
    notify_core::report_error(&error);
    notify_core::report_message(Severity::Warning, "manual-message: disk 91% full");
    let errors = alerts_with("manual-report");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, AlertKind::Error);
    assert_eq!(errors[0].location.file, "tests/runtime_global.rs");
    assert!(
        errors[0].backtrace[0]
            .function
            .contains("manual_reports_go_through_the_same_path"),
        "{:#?}",
        errors[0].backtrace
    );
    let messages = alerts_with("manual-message");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].kind, AlertKind::Message);
    assert_eq!(messages[0].severity, Severity::Warning);
    assert_eq!(messages[0].title, "manual-message: disk 91% full");
}

#[test]
fn a_second_install_is_an_error() {
    memory();
    let err = Notifier::builder()
        .sink(Memory::new())
        .install()
        .expect_err("second install must fail");
    assert_eq!(err.field(), "install");
    // The first notifier is still the one in use.
    let _ = job("after-second-install");
    assert_eq!(alerts_with("after-second-install").len(), 1);
}

#[test]
fn errors_inside_the_notifier_never_become_alerts() {
    memory();
    let _ = job("make the sink panic");
    let _ = job("sink-refuses");
    assert!(notify_core::flush(Duration::from_secs(10)));
    let all = memory().alerts();
    assert!(
        !all.iter().any(|a| a.message.contains("inside a sink")),
        "an error inside a sink came back as an alert"
    );
    // The dispatcher survived the panicking sink: later alerts still arrive.
    let _ = job("after-sink-panic");
    assert_eq!(alerts_with("after-sink-panic").len(), 1);
}

#[alert_on_error(sinks("ops"))]
fn routed_to_ops() -> Result<(), JobError> {
    Err(JobError("routed-to-ops".into()))
}

#[alert_on_error(sinks("nonexistent"))]
fn routed_nowhere() -> Result<(), JobError> {
    Err(JobError("routed-nowhere".into()))
}

#[alert_on_error(severity = "critical")]
fn critical_job() -> Result<(), JobError> {
    Err(JobError("critical-job".into()))
}

#[test]
fn sinks_option_routes_to_the_named_sinks_only() {
    let sinks = sinks();
    let _ = routed_to_ops();
    assert!(notify_core::flush(Duration::from_secs(10)));
    assert_eq!(with_text(&sinks.ops, "routed-to-ops"), 1);
    assert_eq!(with_text(&sinks.memory, "routed-to-ops"), 0);
    assert_eq!(with_text(&sinks.pager, "routed-to-ops"), 0);
}

#[test]
fn a_route_to_an_unknown_sink_goes_everywhere_and_says_so() {
    let sinks = sinks();
    let _ = routed_nowhere();
    assert!(notify_core::flush(Duration::from_secs(10)));
    assert_eq!(with_text(&sinks.memory, "routed-nowhere"), 1);
    assert_eq!(with_text(&sinks.ops, "routed-nowhere"), 1);
    let diagnostics = sinks.diagnostics.lock().unwrap();
    assert!(
        diagnostics
            .iter()
            .any(|d| d.contains("sinks(nonexistent)") && d.contains("no sink has such a name")),
        "{diagnostics:#?}"
    );
}

#[test]
fn min_severity_filters_per_sink() {
    let sinks = sinks();
    let _ = job("below-the-pager");
    let _ = critical_job();
    assert!(notify_core::flush(Duration::from_secs(10)));
    assert_eq!(with_text(&sinks.pager, "below-the-pager"), 0);
    assert_eq!(with_text(&sinks.pager, "critical-job"), 1);
    assert_eq!(with_text(&sinks.memory, "critical-job"), 1);
}

#[test]
fn a_refusing_sink_is_reported_once_per_alert_with_its_reason() {
    let sinks = sinks();
    #[alert_on_error(title = "refused-once")]
    fn refused() -> Result<(), JobError> {
        Err(JobError("refused".into()))
    }
    let _ = refused();
    assert!(notify_core::flush(Duration::from_secs(10)));
    let diagnostics = sinks.diagnostics.lock().unwrap();
    let about: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.contains("refused-once"))
        .collect();
    assert_eq!(about.len(), 1, "{diagnostics:#?}");
    assert!(about[0].contains("\"misbehaving\""), "{}", about[0]);
    assert!(
        about[0].contains("misbehaving sink refuses everything"),
        "{}",
        about[0]
    );
}
