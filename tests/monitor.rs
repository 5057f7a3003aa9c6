//! `#[monitor]` end to end, as a user writes it: one installed notifier with
//! a memory sink and a heartbeat pointed at the healthchecks stand-in. Each
//! test monitors a job of its own name, so the tests share the notifier
//! without seeing each other's runs.

mod support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use notify_core::{alert_on_error, monitor, Alert, AlertKind, Memory, Severity};
use support::healthchecks::{self, Ping};
use support::{Diagnostics, Reply, TestServer};

const PING_KEY: &str = "pk-monitor-Zq81xv";
const FLUSH: Duration = Duration::from_secs(30);

struct World {
    guard: notify_core::FlushGuard,
    memory: Memory,
    heartbeat: TestServer,
    diagnostics: Diagnostics,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let memory = Memory::new();
        // Generous: these tests ping many times a minute; the platform's
        // own limit is tested with a script.
        let heartbeat = healthchecks::server_with_limit(PING_KEY, 1000, Duration::from_secs(60));
        let diagnostics = Diagnostics::default();
        let guard = notify_core::Notifier::builder()
            .app_name("monitor-tests")
            .sink(memory.clone())
            .heartbeat(healthchecks::base_url(&heartbeat, PING_KEY))
            .on_diagnostic(diagnostics.collector())
            .spool_dir(None)
            .install()
            .unwrap();
        World {
            guard,
            memory,
            heartbeat,
            diagnostics,
        }
    })
}

fn flush() {
    assert!(notify_core::flush(FLUSH), "flush timed out");
}

/// The alerts about `job`, in order of arrival.
fn alerts_of(job: &str) -> Vec<Alert> {
    world()
        .memory
        .alerts()
        .into_iter()
        .filter(|a| a.run.as_ref().is_some_and(|r| r.job == job))
        .collect()
}

/// The pings of `job`, in order of arrival.
fn pings_of(job: &str) -> Vec<Ping> {
    healthchecks::pings(&world().heartbeat)
        .into_iter()
        .filter(|p| p.slug == job)
        .collect()
}

fn kinds(pings: &[Ping]) -> Vec<&str> {
    pings.iter().map(|p| p.kind.as_str()).collect()
}

#[derive(Debug)]
struct ExportError(&'static str);

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ExportError {}

#[monitor]
fn failing_export() -> Result<u64, ExportError> {
    std::thread::sleep(Duration::from_millis(30));
    Err(ExportError("disk full"))
}

#[test]
fn a_failed_run_is_one_alert_with_its_duration_and_a_fail_check_in() {
    world();
    assert_eq!(failing_export().unwrap_err().0, "disk full");
    flush();

    let alerts = alerts_of("failing_export");
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::Error);
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(alert.message, "disk full");
    assert!(
        alert.title.starts_with("failing_export failed after ")
            && alert.title.ends_with("s: disk full"),
        "{}",
        alert.title
    );
    let run = alert.run.as_ref().unwrap();
    assert!(run.duration >= Duration::from_millis(30), "{run:?}");
    assert!(!run.ends_still_running);
    assert!(
        alert
            .backtrace
            .iter()
            .any(|f| f.function.contains("failing_export")),
        "{:#?}",
        alert.backtrace
    );

    let pings = pings_of("failing_export");
    assert_eq!(kinds(&pings), ["start", "fail"], "{pings:#?}");
    assert!(pings.iter().all(|p| p.created));
    assert_eq!(pings[0].rid.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(pings[1].rid, pings[0].rid);
    assert!(pings[1].body.contains("disk full"), "{}", pings[1].body);
    assert!(pings[1].body.contains("backtrace:"), "{}", pings[1].body);
    assert!(
        pings[1].body.contains("failing_export"),
        "{}",
        pings[1].body
    );
    assert_eq!(
        healthchecks::state(&world().heartbeat, "failing_export").as_deref(),
        Some("down")
    );
}

#[monitor(name = "nightly-export", notify(start, success), success_value)]
fn nightly_export(rows: u64) -> Result<u64, ExportError> {
    Ok(rows * 2)
}

#[test]
fn start_and_success_are_messages_a_person_reads_and_check_ins() {
    world();
    assert_eq!(nightly_export(21).unwrap(), 42);
    flush();

    let alerts = alerts_of("nightly-export");
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let (started, succeeded) = (&alerts[0], &alerts[1]);
    let host = &started.host;
    assert_eq!(started.kind, AlertKind::Started);
    assert_eq!(started.severity, Severity::Info);
    assert_eq!(started.title, format!("nightly-export started on {host}"));
    assert_eq!(succeeded.kind, AlertKind::Succeeded);
    assert_eq!(succeeded.severity, Severity::Info);
    assert!(
        succeeded.title.starts_with("nightly-export succeeded in ")
            && succeeded.title.ends_with(&format!(" on {host}")),
        "{}",
        succeeded.title
    );
    let run = succeeded.run.as_ref().unwrap();
    assert_eq!(run.value.as_deref(), Some("42"));
    assert_eq!(
        started.run.as_ref().unwrap().run_id,
        run.run_id,
        "one run, one id"
    );

    let pings = pings_of("nightly-export");
    assert_eq!(kinds(&pings), ["start", "success"], "{pings:#?}");
    assert_eq!(pings[1].rid.as_deref(), Some(run.run_id.as_str()));
    assert!(pings[1].body.contains("returned: 42"), "{}", pings[1].body);
    assert_eq!(
        healthchecks::state(&world().heartbeat, "nightly-export").as_deref(),
        Some("up")
    );
}

#[monitor(name = "quiet-job")]
fn quiet_job() -> Vec<u8> {
    vec![1, 2, 3]
}

#[test]
fn without_notify_a_success_is_silent_in_the_chats_and_still_checks_in() {
    world();
    assert_eq!(quiet_job(), [1, 2, 3]);
    flush();
    assert!(alerts_of("quiet-job").is_empty());
    assert_eq!(kinds(&pings_of("quiet-job")), ["start", "success"]);
}

#[monitor(name = "async-job", notify(success))]
async fn async_job(fail: bool) -> Result<&'static str, ExportError> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    if fail {
        Err(ExportError("upstream timed out"))
    } else {
        Ok("done")
    }
}

#[monitor(name = "panicking-job")]
async fn panicking_job() -> u32 {
    tokio::task::yield_now().await;
    panic!("index out of range in job")
}

#[test]
fn async_runs_succeed_fail_and_panic_from_a_multi_thread_runtime() {
    world();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(
            tokio::spawn(async_job(false)).await.unwrap().unwrap(),
            "done"
        );
        assert_eq!(
            tokio::spawn(async_job(true)).await.unwrap().unwrap_err().0,
            "upstream timed out"
        );
        let panicked = tokio::spawn(panicking_job()).await.unwrap_err();
        assert!(panicked.is_panic());
    });
    flush();

    let alerts = alerts_of("async-job");
    assert_eq!(
        alerts.iter().map(|a| a.kind).collect::<Vec<_>>(),
        [AlertKind::Succeeded, AlertKind::Error],
        "{alerts:#?}"
    );
    assert!(alerts[1].title.starts_with("async-job failed after "));
    assert_eq!(
        kinds(&pings_of("async-job")),
        ["start", "success", "start", "fail"]
    );

    let alerts = alerts_of("panicking-job");
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::Panic);
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert!(
        alerts[0].title.starts_with("panicking-job panicked after "),
        "{}",
        alerts[0].title
    );
    let pings = pings_of("panicking-job");
    assert_eq!(kinds(&pings), ["start", "fail"]);
    assert!(pings[1].body.contains("index out of range in job"));
}

#[monitor(name = "slow-job", max_runtime = "1s")]
fn slow_job(work: Duration) -> Result<(), ExportError> {
    std::thread::sleep(work);
    Ok(())
}

#[test]
fn a_run_past_its_max_runtime_alerts_once_and_its_end_is_told() {
    world();
    // Two overlapping runs, each its own: one overlong, one not.
    std::thread::scope(|s| {
        s.spawn(|| slow_job(Duration::from_millis(2500)).unwrap());
        s.spawn(|| slow_job(Duration::from_millis(20)).unwrap());
    });
    flush();

    let alerts = alerts_of("slow-job");
    let kinds_seen: Vec<AlertKind> = alerts.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds_seen,
        [AlertKind::StillRunning, AlertKind::Succeeded],
        "one still-running alert, then the end of that run (the short run is silent): {alerts:#?}"
    );
    let (still, ended) = (&alerts[0], &alerts[1]);
    assert_eq!(still.severity, Severity::Warning);
    assert!(
        still.title.starts_with("slow-job still running after "),
        "{}",
        still.title
    );
    let still_run = still.run.as_ref().unwrap();
    assert!(still_run.duration >= Duration::from_secs(1));
    let ended_run = ended.run.as_ref().unwrap();
    assert_eq!(ended_run.run_id, still_run.run_id, "the overlong run ends");
    assert!(ended_run.ends_still_running);
    assert_eq!(ended.severity, Severity::Warning);
    assert!(ended_run.duration >= Duration::from_millis(2500));

    // Both runs checked in, each with its own id.
    let pings = pings_of("slow-job");
    assert_eq!(pings.len(), 4, "{pings:#?}");
    let mut rids: Vec<_> = pings.iter().filter_map(|p| p.rid.clone()).collect();
    rids.sort();
    rids.dedup();
    assert_eq!(rids.len(), 2);
}

#[monitor(name = "cancelled-job")]
async fn cancelled_job() -> Result<(), ExportError> {
    std::future::pending::<()>().await;
    Ok(())
}

#[test]
fn a_run_whose_future_is_dropped_is_cancelled_not_lost() {
    world();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let outcome = tokio::time::timeout(Duration::from_millis(50), cancelled_job()).await;
        assert!(outcome.is_err());
    });
    flush();
    let alerts = alerts_of("cancelled-job");
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].severity, Severity::Warning);
    assert!(
        alerts[0]
            .title
            .starts_with("cancelled-job cancelled after "),
        "{}",
        alerts[0].title
    );
    assert_eq!(kinds(&pings_of("cancelled-job")), ["start", "fail"]);
}

#[monitor(name = "repeating-job")]
fn repeating_job() -> Result<(), ExportError> {
    Err(ExportError("same failure every time"))
}

#[alert_on_error]
fn inner_step() -> Result<(), ExportError> {
    Err(ExportError("inner step failed"))
}

#[monitor(name = "outer-job")]
fn outer_job() -> Result<(), ExportError> {
    inner_step()?;
    Ok(())
}

#[test]
fn every_run_checks_in_even_when_its_failure_is_not_a_new_alert() {
    world();
    // Storm control sends the first failure and counts the repeats...
    for _ in 0..3 {
        let _ = repeating_job();
    }
    // ... and a failure an inner annotated call reported is one alert.
    let _ = outer_job();
    flush();

    let alerts = alerts_of("repeating-job");
    assert_eq!(
        alerts.iter().filter(|a| a.repeats.is_none()).count(),
        1,
        "{alerts:#?}"
    );
    assert_eq!(
        kinds(&pings_of("repeating-job")),
        ["start", "fail", "start", "fail", "start", "fail"]
    );

    let inner: Vec<Alert> = world()
        .memory
        .alerts()
        .into_iter()
        .filter(|a| a.message == "inner step failed")
        .collect();
    assert_eq!(inner.len(), 1, "one failure, one alert: {inner:#?}");
    assert!(inner[0].run.is_none(), "the inner call's alert");
    let pings = pings_of("outer-job");
    assert_eq!(kinds(&pings), ["start", "fail"]);
    assert!(pings[1].body.contains("inner step failed"), "{pings:#?}");
}

#[monitor(name = "flaky-heartbeat")]
fn flaky_heartbeat() -> u8 {
    7
}

#[test]
fn check_ins_are_retried_and_wait_out_a_429_without_touching_the_job() {
    let world = world();
    world.heartbeat.script(
        "flaky-heartbeat",
        [
            healthchecks::server_error(),
            healthchecks::rate_limited().header("Retry-After", "1"),
        ],
    );
    assert_eq!(flaky_heartbeat(), 7);
    flush();
    // Delivered in the end, in order, after a 500 and a 429.
    assert_eq!(kinds(&pings_of("flaky-heartbeat")), ["start", "success"]);
    let statuses: Vec<u16> = world
        .heartbeat
        .requests()
        .iter()
        .filter(|(r, _)| r.path.contains("/flaky-heartbeat"))
        .map(|(_, status)| *status)
        .collect();
    assert_eq!(statuses, [500, 429, 200, 200]);
    // The 429 asked for a second, and got it (a lower bound: load only
    // makes it longer). The job itself never waits for a check-in: they
    // are made by the dispatcher, after the queue.
    let times: Vec<Instant> = world
        .heartbeat
        .requests()
        .iter()
        .filter(|(r, _)| r.path.contains("/flaky-heartbeat"))
        .map(|(r, _)| r.at)
        .collect();
    assert!(times[2] - times[1] >= Duration::from_millis(900));
}

#[monitor(name = "refused-check-in")]
fn refused_check_in() -> Result<(), ExportError> {
    Ok(())
}

#[test]
fn a_refused_check_in_is_said_once_without_the_ping_key_and_the_job_is_untouched() {
    let world = world();
    world
        .heartbeat
        .script("refused-check-in", [Reply::new(400, "invalid url format")]);
    assert!(refused_check_in().is_ok());
    flush();
    let lines: Vec<String> = world
        .diagnostics
        .lines()
        .into_iter()
        .filter(|l| l.contains("heartbeat"))
        .collect();
    let refused: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("HTTP 400: invalid url format"))
        .collect();
    assert_eq!(refused.len(), 1, "said once: {lines:#?}");
    support::assert_no_secret(PING_KEY, &world.diagnostics.lines());
    // The refused one was the start; the success went through.
    assert_eq!(kinds(&pings_of("refused-check-in")), ["success"]);
}

#[test]
fn capture_alerts_sees_a_runs_messages_and_failure() {
    world();
    let alerts = notify_core::testing::capture_alerts(|| {
        let _ = nightly_export(1);
        let _ = failing_export();
    });
    let kinds: Vec<AlertKind> = alerts.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [AlertKind::Started, AlertKind::Succeeded, AlertKind::Error],
        "{alerts:#?}"
    );
    assert_eq!(alerts[1].run.as_ref().unwrap().value.as_deref(), Some("2"));
    assert!(alerts[2].title.starts_with("failing_export failed after "));
}

#[monitor(name = "huge-failure")]
fn huge_failure() -> Result<(), String> {
    // 30,000 bytes of error, multi-byte characters on the cut.
    Err("결제 실패 ".repeat(2_000))
}

#[test]
fn a_fail_check_in_body_fits_the_announced_limit_cut_at_a_character() {
    let world = world();
    let _ = huge_failure();
    flush();
    let sent: Vec<Vec<u8>> = world
        .heartbeat
        .requests()
        .iter()
        .filter(|(r, _)| r.path.ends_with("/huge-failure/fail"))
        .map(|(r, _)| r.body.to_vec())
        .collect();
    assert_eq!(sent.len(), 1);
    // Cut by us, not by the service: at most what it announced.
    assert!(
        sent[0].len() <= healthchecks::BODY_LIMIT,
        "{}",
        sent[0].len()
    );
    assert!(sent[0].len() > healthchecks::BODY_LIMIT - 4);
    let body = String::from_utf8(sent[0].clone()).expect("cut at a character boundary");
    assert!(
        body.starts_with("huge-failure failed after "),
        "{}",
        &body[..80]
    );
}

#[monitor(name = "unreachable-check-in")]
fn unreachable_check_in() -> Result<(), ExportError> {
    Ok(())
}

#[test]
fn a_check_in_given_up_after_its_retries_is_said_and_counted() {
    let world = world();
    world.heartbeat.script(
        "unreachable-check-in",
        std::iter::repeat_with(healthchecks::server_error).take(10),
    );
    let failed_before = notify_core_failed();
    assert!(unreachable_check_in().is_ok());
    flush();
    let lines: Vec<String> = world
        .diagnostics
        .lines()
        .into_iter()
        .filter(|l| l.contains("heartbeat") && l.contains("HTTP 500"))
        .collect();
    assert!(!lines.is_empty(), "{:#?}", world.diagnostics.lines());
    assert!(notify_core_failed() > failed_before);
    support::assert_no_secret(PING_KEY, &world.diagnostics.lines());
}

/// Deliveries that failed for good, so far (the installed notifier's).
fn notify_core_failed() -> u64 {
    world().guard.stats().failed
}

#[monitor(name = "future-job", notify(success), success_value)]
fn future_job(fail: bool) -> impl std::future::Future<Output = Result<u8, ExportError>> + Send {
    async move {
        tokio::task::yield_now().await;
        if fail {
            Err(ExportError("future failed"))
        } else {
            Ok(9)
        }
    }
}

#[monitor(name = "tracked-job", notify(success))]
#[track_caller]
fn tracked_job() -> &'static std::panic::Location<'static> {
    std::panic::Location::caller()
}

#[test]
fn a_fn_returning_a_future_and_a_track_caller_fn_are_runs_too() {
    world();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(future_job(false).await.unwrap(), 9);
        assert_eq!(future_job(true).await.unwrap_err().0, "future failed");
    });
    let location = tracked_job();
    assert_eq!(location.line(), line!() - 1, "the caller's location, kept");
    flush();

    let alerts = alerts_of("future-job");
    assert_eq!(
        alerts.iter().map(|a| a.kind).collect::<Vec<_>>(),
        [AlertKind::Succeeded, AlertKind::Error],
        "{alerts:#?}"
    );
    assert_eq!(alerts[0].run.as_ref().unwrap().value.as_deref(), Some("9"));
    assert_eq!(
        kinds(&pings_of("future-job")),
        ["start", "success", "start", "fail"]
    );
    assert_eq!(
        alerts_of("tracked-job")
            .iter()
            .map(|a| a.kind)
            .collect::<Vec<_>>(),
        [AlertKind::Succeeded]
    );
    assert_eq!(kinds(&pings_of("tracked-job")), ["start", "success"]);
}

#[monitor(name = "busy-job")]
fn busy_job(thread: usize, run: usize) -> Result<(), String> {
    // A text of its own per run: every failure is a first alert, whose
    // backtrace is resolved while the next runs start.
    Err(format!("run {run} of thread {thread} failed"))
}

#[test]
fn every_runs_start_is_checked_in_before_its_end_under_load() {
    world();
    std::thread::scope(|s| {
        for thread in 0..6 {
            s.spawn(move || {
                for run in 0..6 {
                    let _ = busy_job(thread, run);
                }
            });
        }
    });
    flush();
    let pings = pings_of("busy-job");
    assert_eq!(pings.len(), 72, "{pings:#?}");
    let mut seen = std::collections::HashMap::new();
    for ping in &pings {
        let rid = ping.rid.clone().unwrap();
        let before = seen.insert(rid.clone(), ping.kind.clone());
        match ping.kind.as_str() {
            "start" => assert_eq!(before, None, "{rid}: start after {before:?}"),
            "fail" => assert_eq!(before.as_deref(), Some("start"), "{rid}: fail first"),
            other => panic!("{other}"),
        }
    }
    assert_eq!(seen.len(), 36);
    assert!(seen.values().all(|kind| kind == "fail"));
}

#[monitor(name = "looping-job")]
fn looping_job(run: usize) -> Result<(), String> {
    Err(format!("run {run} failed"))
}

#[test]
fn one_runs_fail_is_checked_in_before_the_next_runs_start() {
    world();
    // One thread, run after run: each failure's alert (resolved on another
    // thread) and the next run's start reach the dispatcher in this order.
    for run in 0..8 {
        let _ = looping_job(run);
    }
    flush();
    let pings = pings_of("looping-job");
    let expected: Vec<&str> = (0..8).flat_map(|_| ["start", "fail"]).collect();
    assert_eq!(kinds(&pings), expected, "{pings:#?}");
    for pair in pings.chunks(2) {
        assert_eq!(pair[0].rid, pair[1].rid);
    }
}
