//! One failure, one alert, across threads: an `Err` that an annotated
//! function reports on one thread (a spawned task, a worker thread) and
//! that an annotated function awaiting or joining it returns again is one
//! alert, from the innermost frame — also when it repeats in a loop. An
//! outer function that handled the inner error, or an unrelated function
//! that fails with the same text, still reports.
//!
//! One test in this binary: it installs the global notifier, and its
//! scenarios run one after the other.

use std::time::Duration;

use notify_core::{alert_on_error, Alert, AlertKind, Memory, Notifier};

#[alert_on_error]
async fn load_row(id: u32) -> Result<u32, String> {
    tokio::task::yield_now().await;
    Err(format!("row {id} missing"))
}

/// Awaits a task spawned on the runtime's worker threads.
#[alert_on_error]
async fn handle_request(id: u32) -> Result<u32, String> {
    tokio::spawn(load_row(id)).await.expect("joined")
}

#[alert_on_error]
fn parse_file(name: &str) -> Result<u32, String> {
    Err(format!("{name}: bad header"))
}

/// Joins a plain thread.
#[alert_on_error]
fn import(name: &'static str) -> Result<u32, String> {
    std::thread::spawn(move || parse_file(name))
        .join()
        .expect("joined")
}

/// On the blocking pool, then one more annotated level on top.
#[alert_on_error]
async fn import_in_background(name: &'static str) -> Result<u32, String> {
    tokio::task::spawn_blocking(move || parse_file(name))
        .await
        .expect("joined")
}

#[alert_on_error]
async fn nightly(name: &'static str) -> Result<u32, String> {
    import_in_background(name).await
}

/// Handles the inner error and fails differently: its own alert.
#[alert_on_error]
fn import_or_fallback(name: &'static str) -> Result<u32, String> {
    match std::thread::spawn(move || parse_file(name)).join() {
        Ok(Ok(n)) => Ok(n),
        _ => Err(String::from("fallback failed too")),
    }
}

/// Joins a thread for `""` (the inner function fails for it), else fails
/// by itself.
#[alert_on_error]
fn import_alone(name: &'static str) -> Result<u32, String> {
    if name.is_empty() {
        return import("f.csv").map_err(|_| String::from("f.csv: bad header"));
    }
    Err(format!("{name}: bad header"))
}

#[alert_on_error]
fn unrelated(name: &str) -> Result<u32, String> {
    Err(format!("{name}: bad header"))
}

fn errors(memory: &Memory) -> Vec<Alert> {
    memory
        .take()
        .into_iter()
        .filter(|a| a.kind == AlertKind::Error)
        .collect()
}

fn titles(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.title.as_str()).collect()
}

#[test]
fn a_failure_that_crosses_threads_is_one_alert() {
    let memory = Memory::new();
    let _guard = Notifier::builder()
        .app_name("propagation-threads")
        .sink(memory.clone())
        .install()
        .expect("install");
    let flush = || assert!(notify_core::flush(Duration::from_secs(10)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // A spawned task's error, awaited through its JoinHandle.
    assert_eq!(
        runtime.block_on(handle_request(7)),
        Err(String::from("row 7 missing"))
    );
    flush();
    let alerts = errors(&memory);
    assert_eq!(titles(&alerts), ["Error in load_row"], "{alerts:#?}");

    // A joined thread's error.
    assert_eq!(import("a.csv"), Err(String::from("a.csv: bad header")));
    flush();
    let alerts = errors(&memory);
    assert_eq!(titles(&alerts), ["Error in parse_file"], "{alerts:#?}");

    // The blocking pool, two annotated levels above it.
    assert!(runtime.block_on(nightly("b.csv")).is_err());
    flush();
    let alerts = errors(&memory);
    assert_eq!(titles(&alerts), ["Error in parse_file"], "{alerts:#?}");

    // The same failure again and again: the inner function's first alert,
    // then its repeats, counted by storm control. A repeat on another
    // thread leaves the awaiting function nothing to match, so it alerts
    // once (the second time round), then its own repeats are counted:
    // nothing is silenced, nothing floods.
    for _ in 0..5 {
        assert!(runtime.block_on(handle_request(8)).is_err());
    }
    flush();
    let alerts = errors(&memory);
    let mut seen = titles(&alerts);
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            "Error in handle_request",
            "Error in handle_request (repeated 3 more times)",
            "Error in load_row",
            "Error in load_row (repeated 4 more times)"
        ],
        "{alerts:#?}"
    );

    // Handled and replaced: two failures, two alerts.
    assert!(import_or_fallback("c.csv").is_err());
    flush();
    let alerts = errors(&memory);
    assert_eq!(
        titles(&alerts),
        ["Error in parse_file", "Error in import_or_fallback"],
        "{alerts:#?}"
    );

    // The joining function failing on its own later, with the same text
    // and no inner call, is its own alert.
    assert!(import_alone("").is_err());
    flush();
    assert_eq!(titles(&errors(&memory)), ["Error in parse_file"]);
    assert!(import_alone("f.csv").is_err());
    flush();
    assert_eq!(titles(&errors(&memory)), ["Error in import_alone"]);

    // An unrelated function that fails with the same text as a failure
    // reported earlier on another thread (before it was entered) reports.
    assert!(import("d.csv").is_err());
    flush();
    assert_eq!(titles(&errors(&memory)), ["Error in parse_file"]);
    assert!(unrelated("d.csv").is_err());
    flush();
    let alerts = errors(&memory);
    assert_eq!(titles(&alerts), ["Error in unrelated"], "{alerts:#?}");
}
