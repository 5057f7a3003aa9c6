//! Whole-process behaviour, checked by running a small program
//! (`tests/fixtures/app`) built twice: with the default unwinding panics and
//! with `panic = "abort"`.
//!
//! The fixture has its own target directory (a nested cargo may not share
//! ours while `cargo test` holds it), so the first run builds it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app")
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture-app")
}

fn build(profile: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(fixture_dir().join("Cargo.toml"))
        .arg("--profile")
        .arg(profile)
        .arg("--target-dir")
        .arg(target_dir())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the fixture ({profile}) failed");
    let dir = if profile == "dev" { "debug" } else { profile };
    target_dir().join(dir).join("notify-fixture-app")
}

fn unwinding_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build("dev"))
}

fn aborting_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build("abort"))
}

/// Runs the fixture with no `NOTIFY_*` variables (so: the console sink).
fn run(binary: &Path, mode: &str) -> Output {
    run_with(binary, mode, &[])
}

/// A fresh state directory for each run: a fixture never writes a spool in
/// the user's home, and no run delivers what another test's run spooled.
fn state_home() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fixture-state")
        .join(format!("{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// [`run`] with more environment variables.
fn run_with(binary: &Path, mode: &str, vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary);
    command.arg(mode).env("XDG_STATE_HOME", state_home());
    command.envs(vars.iter().copied());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NOTIFY_") {
            command.env_remove(name);
        }
    }
    command
        .env("NOTIFY_APP_NAME", "fixture")
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("fixture runs")
}

#[test]
fn with_no_notifier_nothing_is_sent_or_printed() {
    let out = run(unwinding_binary(), "no-notifier");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Only the standard panic message of the caught panic, nothing of ours.
    assert!(stderr.contains("fixture panic: caught"), "{stderr}");
    assert!(!stderr.contains("fixture failure"), "{stderr}");
    assert!(!stderr.contains("notify:"), "{stderr}");
    assert!(!stderr.contains("━━"), "{stderr}");
}

#[test]
fn a_panic_unwinding_out_of_main_is_delivered() {
    let out = run(unwinding_binary(), "unwind-main");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no NOTIFY_* sink variable is set; alerts go to the console"),
        "{stderr}"
    );
    // The Err before the panic, delivered by the guard as `main` unwinds.
    assert!(stderr.contains("[ERROR] Error in fails"), "{stderr}");
    assert!(stderr.contains("fixture failure"), "{stderr}");
    assert!(stderr.contains("app          fixture"), "{stderr}");
}

#[test]
fn with_panic_abort_the_hook_delivers_before_the_abort() {
    let out = run(aborting_binary(), "panic-in-function");
    assert!(!out.status.success());
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(6), "aborted with SIGABRT");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[CRITICAL] Panic in explodes"), "{stderr}");
    assert!(stderr.contains("fixture panic: abort"), "{stderr}");
    assert!(
        stderr.contains("notify_fixture_app::explodes"),
        "the backtrace shows the panicking function: {stderr}"
    );
}

#[test]
fn with_panic_abort_a_monitored_runs_panic_is_its_failure_and_checks_in() {
    let heartbeat = support::healthchecks::server("fixture-ping-key");
    let url = support::healthchecks::base_url(&heartbeat, "fixture-ping-key");
    for binary in [aborting_binary(), unwinding_binary()] {
        let out = run_with(binary, "monitored-panic", &[("NOTIFY_HEARTBEAT_URL", &url)]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("[CRITICAL] fixture-job panicked after "),
            "{stderr}"
        );
        assert!(stderr.contains("fixture panic: monitored job"), "{stderr}");
        assert!(!stderr.contains("fixture-ping-key"), "{stderr}");
    }
    // Each run checked in its start and its failure, in order.
    let pings = support::healthchecks::pings(&heartbeat);
    let kinds: Vec<&str> = pings.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["start", "fail", "start", "fail"], "{pings:#?}");
    assert!(pings[1].body.contains("fixture panic: monitored job"));
}

#[test]
fn a_panic_reported_after_the_guard_dropped_is_flushed_at_exit() {
    let out = run(unwinding_binary(), "guard-inside");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[CRITICAL] Panic in run_with_guard_inside"),
        "{stderr}"
    );
    assert!(stderr.contains("fixture panic: guard inside"), "{stderr}");
}

/// Sinks that block (an async one that sleeps in `send`, a `BlockingSink`)
/// and a diagnostic callback that blocks: the process still exits within
/// its flush timeout (1 s), not after the 30 s they block for.
#[test]
fn blocking_sinks_do_not_hold_up_the_exit() {
    let start = std::time::Instant::now();
    let output = run(unwinding_binary(), "blocking-sinks");
    let took = start.elapsed();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "done");
    // The guard waits 1 s; the exit handler does not wait again after a
    // flush that timed out. Generous for a loaded machine, far below 30 s.
    assert!(
        took < std::time::Duration::from_secs(10),
        "exit took {took:?}"
    );
}

/// Alerts that cannot be delivered before the process exits are not lost
/// silently: one line at exit says how many, and why.
#[test]
fn undelivered_alerts_are_accounted_for_at_exit() {
    let out = run(unwinding_binary(), "unreachable");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let account: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("not every alert was delivered"))
        .collect();
    assert_eq!(account.len(), 1, "{stderr}");
    assert!(
        account[0].contains("1 still being delivered when the flush timeout (1s) ended"),
        "{}",
        account[0]
    );
}

/// When everything was delivered, there is no account: silence means
/// delivered.
#[test]
fn delivered_alerts_leave_no_account() {
    let out = run(unwinding_binary(), "delivered");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fixture failure"), "{stderr}");
    assert!(!stderr.contains("not every alert"), "{stderr}");
}

/// A child forked after `install()` never waits for the dispatcher, which
/// runs in the parent only: it says once that its alerts are not sent, and
/// accounts for them at exit. The parent still delivers its own.
#[test]
fn a_forked_child_says_its_alerts_are_not_sent_and_never_waits() {
    let mut command = Command::new(unwinding_binary());
    command
        .arg("fork")
        .env("XDG_STATE_HOME", state_home())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("fixture runs");
    // The flush timeout is 30 s: a child that waited for the parent's
    // dispatcher would still be running long after this.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the forked child waited for a dispatcher that is not there");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("child done"), "{stdout}");
    assert!(stdout.contains("child exited with 0"), "{stdout}");
    assert!(stdout.contains("parent done"), "{stdout}");
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("alerts from this child are not sent"))
        .collect();
    assert_eq!(said.len(), 1, "{stderr}");
    let account: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("2 raised in this fork() child were not sent"))
        .collect();
    assert_eq!(account.len(), 1, "{stderr}");
    // The parent's own failure is delivered (once: the child sent nothing),
    // and the parent has nothing to account for.
    assert_eq!(stderr.matches("fixture failure").count(), 1, "{stderr}");
    // The only account is the child's: the parent delivered everything.
    assert_eq!(
        stderr.matches("not every alert was delivered").count(),
        1,
        "{stderr}"
    );
}

/// A fresh spool directory for one test.
fn spool_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("spool-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn spool_entries(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|read| read.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
}

/// Run 1 cannot deliver (its platform never answers): it exits within its
/// flush timeout, says what it spooled, and the spool holds its alerts —
/// and no secret. Run 2, with the platform back, delivers them, marked as
/// delayed, and empties the spool.
#[test]
fn what_one_run_cannot_deliver_the_next_run_delivers() {
    let dir = spool_dir("next-run");
    let silent = support::never_answers(std::time::Duration::from_secs(60));
    let started = std::time::Instant::now();
    let out = run_with(
        unwinding_binary(),
        "spool-write",
        &[
            ("FIXTURE_TELEGRAM_URL", &silent),
            ("FIXTURE_SPOOL", dir.to_str().unwrap()),
        ],
    );
    let took = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    // The flush timeout is 1 s; the requests would take 10 s to time out.
    assert!(took < std::time::Duration::from_secs(8), "{took:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 written to the spool") && stderr.contains("the next run of spooler"),
        "{stderr}"
    );
    let files = spool_entries(&dir);
    assert_eq!(files.len(), 3, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.contains("spooled failure"), "{text}");
        for secret in ["TEST-TOKEN", "123456", &silent] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    let server = support::telegram::server("123456:TEST-TOKEN", &["42"], &[]);
    let out = run_with(
        unwinding_binary(),
        "spool-read",
        &[
            ("FIXTURE_TELEGRAM_URL", &server.url),
            ("FIXTURE_SPOOL", dir.to_str().unwrap()),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let texts: Vec<String> = server
        .accepted()
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap_or("").to_owned())
        .collect();
    for i in 0..3 {
        let needle = format!("spooled failure {i}");
        assert_eq!(
            texts
                .iter()
                .map(|t| t.matches(&needle).count().min(1))
                .sum::<usize>(),
            1,
            "{needle} in {texts:#?}"
        );
    }
    assert!(texts.iter().all(|t| t.contains("(delayed)")), "{texts:#?}");
    assert!(spool_entries(&dir).is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("not every alert"), "{stderr}");
}

/// Two runs starting at once over the same spool deliver each entry once;
/// a damaged or foreign file is set aside with one line, and a file left
/// half-written by a killed process is never delivered.
#[test]
fn two_runs_at_once_deliver_each_entry_once_and_damage_is_set_aside() {
    let dir = spool_dir("two-runs");
    let silent = support::never_answers(std::time::Duration::from_secs(60));
    for writer in ["a", "b"] {
        let out = run_with(
            unwinding_binary(),
            "spool-write",
            &[
                ("FIXTURE_TELEGRAM_URL", &silent),
                ("FIXTURE_SPOOL", dir.to_str().unwrap()),
                ("FIXTURE_WRITER", writer),
            ],
        );
        assert!(out.status.success(), "{out:?}");
    }
    assert_eq!(spool_entries(&dir).len(), 6);
    // What kill -9 during a write leaves: a temporary file, never an entry
    // (its process is gone); and a damaged entry, and someone else's file.
    std::fs::write(
        dir.join(".tmp-999999999-7"),
        "{\"version\":1,\"sink\":\"tele",
    )
    .unwrap();
    std::fs::write(
        dir.join("0000000000001-1-000001.json"),
        "{\"version\":1,\"si",
    )
    .unwrap();
    std::fs::write(dir.join("notes.json"), "not ours").unwrap();

    let server = support::telegram::server("123456:TEST-TOKEN", &["42"], &[]);
    let spawn = || {
        let mut command = Command::new(unwinding_binary());
        command
            .arg("spool-read")
            .env("XDG_STATE_HOME", state_home())
            .env("FIXTURE_TELEGRAM_URL", &server.url)
            .env("FIXTURE_SPOOL", &dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command.spawn().expect("fixture runs")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    let texts: Vec<String> = server
        .accepted()
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap_or("").to_owned())
        .collect();
    for writer in ["a", "b"] {
        for i in 0..3 {
            // Each entry (each writer's failure) is delivered exactly once.
            let needle = format!("spooled failure {i} by writer {writer}");
            let messages = texts.iter().filter(|t| t.contains(&needle)).count();
            assert_eq!(messages, 1, "{needle}: {texts:#?}");
        }
    }
    let delivered: usize = texts
        .iter()
        .map(|t| {
            // A digest lists each alert on a line; a single alert is its
            // own message.
            let listed = t.lines().filter(|l| l.starts_with("[ERROR]")).count();
            if listed > 0 {
                listed
            } else {
                1
            }
        })
        .sum();
    assert_eq!(delivered, 6, "{texts:#?}");
    let said: String = [&a.stderr, &b.stderr]
        .iter()
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect();
    // Each damaged or foreign file is set aside once, by whichever run
    // claimed it, and said once.
    for name in ["notes.json", "0000000000001-1-000001.json"] {
        assert_eq!(said.matches(name).count(), 1, "{name}: {said}");
        assert!(dir.join(format!("{name}.bad")).exists());
    }
    assert!(!said.contains("tmp-999999999"), "{said}");
    assert!(spool_entries(&dir).is_empty());
    assert!(!dir.join(".tmp-999999999-7").exists());
}

/// A process killed (SIGKILL) while it writes its spool leaves only whole
/// entries: every `.json` the next run finds is delivered, none is damaged,
/// and what was being written when the kill came is never delivered.
#[cfg(unix)]
#[test]
fn a_run_killed_while_it_writes_the_spool_leaves_only_whole_entries() {
    let dir = spool_dir("killed");
    let silent = support::never_answers(std::time::Duration::from_secs(60));
    let mut child = Command::new(unwinding_binary())
        .arg("spool-many")
        .env("XDG_STATE_HOME", state_home())
        .env("FIXTURE_TELEGRAM_URL", &silent)
        .env("FIXTURE_SPOOL", &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("fixture runs");
    // Wait for the first entries, then kill it in the middle of writing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while spool_entries(&dir).len() < 5 {
        assert!(std::time::Instant::now() < deadline, "no spool written");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let entries = spool_entries(&dir).len();
    assert!(
        entries < 1000,
        "the kill came after the whole spool was written"
    );

    let server = support::telegram::server("123456:TEST-TOKEN", &["42"], &[]);
    let out = run_with(
        unwinding_binary(),
        "spool-read",
        &[
            ("FIXTURE_TELEGRAM_URL", &server.url),
            ("FIXTURE_SPOOL", dir.to_str().unwrap()),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("not whole entries"), "{stderr}");
    let texts: Vec<String> = server
        .accepted()
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap_or("").to_owned())
        .collect();
    let delivered = (0..1000)
        .filter(|i| {
            let needle = format!("spooled failure {i} (delayed)");
            texts.iter().any(|t| t.contains(&needle))
        })
        .count();
    assert_eq!(delivered, entries, "{stderr}");
    assert!(spool_entries(&dir).is_empty());
}

/// A platform that refuses connections: the deliveries are given up on
/// after their retries, within the flush. They are said to have failed,
/// and spooled all the same, for the next run.
#[test]
fn deliveries_given_up_on_after_their_retries_are_spooled() {
    let dir = spool_dir("given-up");
    let out = run_with(
        unwinding_binary(),
        "spool-write",
        &[
            ("FIXTURE_TELEGRAM_URL", &support::refused()),
            ("FIXTURE_SPOOL", dir.to_str().unwrap()),
            ("FIXTURE_FLUSH_SECS", "30"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The retries ended within the flush: nothing was still in delivery.
    assert!(!stderr.contains("still being delivered"), "{stderr}");
    assert!(stderr.contains("deliveries failed"), "{stderr}");
    assert!(stderr.contains("3 written to the spool"), "{stderr}");
    assert_eq!(spool_entries(&dir).len(), 3);
}
