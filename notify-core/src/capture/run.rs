//! Monitored runs (`#[monitor]`), on the caller's side: a run starts when
//! the function is entered and ends when it returns, fails or is dropped.
//! The job's thread only stamps the time and draws a run id; everything
//! else — messages, heartbeat check-ins, the `max_runtime` timer — is the
//! dispatcher's, told by a [`RunSignal`] through the same queue as alerts.
//!
//! A failure is an alert like any other (through [`report`]), carrying its
//! run; a failure whose alert is not sent (a repeat storm control counts, a
//! failure an inner annotated call reported) still ends its run, by a
//! [`RunSignal::Failed`].

use std::time::{Duration, Instant, SystemTime};

use super::context::Context;
use super::destination::{global, with_current, Destination};
use super::draft::thread_name;
use super::listening::{any_scope, is_listening, on_notifier_thread};
use super::report::{report, Report};
use super::site::{CallSite, Origin};
use super::subject::Subject;
use crate::alert::{human_duration, Alert, AlertKind, RunInfo, Severity};
use crate::settings::Settings;

/// The static record of a monitored function, beside its [`CallSite`]:
/// what `#[monitor(...)]` says of the job.
#[derive(Debug)]
pub struct MonitorSite {
    /// The annotated function's call site.
    pub site: &'static CallSite,
    /// The job's name: `name = "..."`, else the function's (a slug).
    pub job: &'static str,
    /// `notify(start)`: a message when a run starts.
    pub notify_start: bool,
    /// `notify(success)`: a message when a run succeeds.
    pub notify_success: bool,
    /// `max_runtime`, in milliseconds; 0 for none.
    pub max_runtime_ms: u64,
}

impl MonitorSite {
    /// `max_runtime`, if set.
    pub(crate) fn max_runtime(&self) -> Option<Duration> {
        (self.max_runtime_ms > 0).then(|| Duration::from_millis(self.max_runtime_ms))
    }
}

/// One run of a monitored job: which job, when it started, its id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunRef {
    pub(crate) monitor: &'static MonitorSite,
    pub(crate) started: Instant,
    pub(crate) started_at: SystemTime,
    /// A version-4 UUID's 128 bits.
    pub(crate) id: u128,
}

impl RunRef {
    fn start(monitor: &'static MonitorSite) -> RunRef {
        // A random (version 4, variant 1) UUID.
        let id = (fastrand::u128(..) & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
        RunRef {
            monitor,
            started: Instant::now(),
            started_at: SystemTime::now(),
            id,
        }
    }

    /// The run id as healthchecks' `rid` takes it:
    /// `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
    pub(crate) fn run_id(&self) -> String {
        let hex = format!("{:032x}", self.id);
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

/// What the dispatcher hears of a run, besides its failure alert.
pub(crate) enum RunSignal {
    /// A run started, on the thread named.
    Started(RunRef, String),
    /// A run succeeded after `duration`; `value` with `success_value`.
    Succeeded {
        run: RunRef,
        duration: Duration,
        value: Option<String>,
        thread: String,
    },
    /// A run failed, and its failure's alert is not sent (a repeat, or a
    /// failure an inner annotated call reported): the run ends all the same.
    Failed {
        run: RunRef,
        duration: Duration,
        text: String,
        thread: String,
    },
}

impl RunSignal {
    /// The run this is about.
    pub(crate) fn run(&self) -> &RunRef {
        match self {
            RunSignal::Started(run, _)
            | RunSignal::Succeeded { run, .. }
            | RunSignal::Failed { run, .. } => run,
        }
    }

    /// The alert this signal stands for — a start, a success, a failure
    /// not alerted — for the heartbeat and, when wanted, the chats.
    /// `ends_still_running`: the run's still-running alert was sent; this
    /// ends it (a warning then, whatever the outcome, so it reaches
    /// wherever the still-running alert went).
    pub(crate) fn alert(&self, settings: &Settings, ends_still_running: bool) -> Alert {
        let host = &settings.host;
        match self {
            RunSignal::Started(run, thread) => {
                let title = format!("{} started on {host}", run.monitor.job);
                let mut alert = run_alert(run, settings, AlertKind::Started, title, thread);
                alert.message = String::from("The run started.");
                alert.timestamp = run.started_at;
                alert
            }
            RunSignal::Succeeded {
                run,
                duration,
                value,
                thread,
            } => {
                let title = format!(
                    "{} succeeded in {} on {host}",
                    run.monitor.job,
                    human_duration(*duration)
                );
                let mut alert = run_alert(run, settings, AlertKind::Succeeded, title, thread);
                alert.message = match value {
                    Some(value) => format!("It returned {value}"),
                    None if ends_still_running => {
                        String::from("The run succeeded, after its still-running alert.")
                    }
                    None => String::from("The run succeeded."),
                };
                if let Some(info) = &mut alert.run {
                    info.duration = *duration;
                    info.value = value.clone();
                    info.ends_still_running = ends_still_running;
                }
                if ends_still_running {
                    alert.severity = Severity::Warning;
                }
                alert
            }
            RunSignal::Failed {
                run,
                duration,
                text,
                thread,
            } => {
                let title = format!(
                    "{} failed after {}: {}",
                    run.monitor.job,
                    human_duration(*duration),
                    text.lines().next().unwrap_or_default()
                );
                let mut alert = run_alert(run, settings, AlertKind::Error, title, thread);
                alert.message = text.clone();
                alert.severity = if ends_still_running {
                    Severity::Warning
                } else {
                    run.monitor.site.severity.unwrap_or(Severity::Error)
                };
                if let Some(info) = &mut alert.run {
                    info.duration = *duration;
                    info.ends_still_running = ends_still_running;
                }
                alert
            }
        }
    }
}

/// The alert of a run that is still going after its `max_runtime`, on
/// the thread named.
pub(crate) fn still_running_alert(run: &RunRef, settings: &Settings, thread: &str) -> Alert {
    let elapsed = run.started.elapsed();
    let title = format!(
        "{} still running after {}",
        run.monitor.job,
        human_duration(elapsed)
    );
    let mut alert = run_alert(run, settings, AlertKind::StillRunning, title, thread);
    alert.message = format!(
        "Its max_runtime is {}; the run goes on. Its end will be told.",
        human_duration(run.monitor.max_runtime().unwrap_or_default())
    );
    alert.severity = Severity::Warning;
    if let Some(info) = &mut alert.run {
        info.duration = elapsed;
    }
    alert
}

/// An alert about `run`, of `kind`, titled `title` (also its message).
fn run_alert(
    run: &RunRef,
    settings: &Settings,
    kind: AlertKind,
    title: String,
    thread: &str,
) -> Alert {
    let site = run.monitor.site;
    let mut fp = Origin::Site(site).fingerprinter(kind);
    fp.str(run.monitor.job);
    Alert {
        kind,
        severity: Severity::Info,
        message: title.clone(),
        title,
        app_name: settings.app_name.clone(),
        environment: settings.environment.clone(),
        host: settings.host.clone(),
        process_id: std::process::id(),
        thread: thread.to_owned(),
        timestamp: SystemTime::now(),
        location: Origin::Site(site).location(),
        causes: Vec::new(),
        panic_location: None,
        backtrace: Vec::new(),
        context: Vec::new(),
        repeats: None,
        dropped: 0,
        fingerprint: fp.finish(),
        sinks: site.sinks.iter().map(|s| (*s).to_owned()).collect(),
        digest: Vec::new(),
        run: Some(RunInfo {
            job: run.monitor.job.to_owned(),
            run_id: run.run_id(),
            duration: Duration::ZERO,
            value: None,
            ends_still_running: false,
        }),
    }
}

/// Starts a run of `monitor`, if someone listens (else no run: one atomic load).
#[inline]
pub(crate) fn start(monitor: &'static MonitorSite) -> Option<RunRef> {
    if !is_listening() {
        return None;
    }
    start_listened(monitor)
}

#[inline(never)]
fn start_listened(monitor: &'static MonitorSite) -> Option<RunRef> {
    if on_notifier_thread() {
        return None;
    }
    let run = RunRef::start(monitor);
    signal(RunSignal::Started(run, thread_name()));
    Some(run)
}

/// The run succeeded.
#[inline(never)]
pub(crate) fn succeeded(run: RunRef, value: Option<String>) {
    signal(RunSignal::Succeeded {
        run,
        duration: run.started.elapsed(),
        value,
        thread: thread_name(),
    });
}

/// The run's future was dropped before it completed: a failure of its own
/// (a warning), through the one pipeline.
#[cold]
#[inline(never)]
pub(crate) fn cancelled(run: RunRef) {
    if on_notifier_thread() {
        return;
    }
    report(
        Report::new(
            Origin::Site(run.monitor.site),
            Subject::Message(Severity::Warning, CANCELLED),
        )
        .context(Context::none().with_run(run)),
    );
}

/// The message of a cancelled run.
pub(crate) const CANCELLED: &str =
    "the run was cancelled: its future was dropped before it completed";

/// A failure whose alert is not sent still ends its run.
#[cold]
pub(crate) fn failed_unreported(destination: &dyn Destination, run: RunRef, text: String) {
    destination.run(RunSignal::Failed {
        run,
        duration: run.started.elapsed(),
        text,
        thread: thread_name(),
    });
}

/// A run whose panic another annotated function reported (or that never
/// passed our hook) ends all the same.
#[cold]
pub(crate) fn ended_by_panic(run: RunRef, text: &str) {
    signal(RunSignal::Failed {
        run,
        duration: run.started.elapsed(),
        text: text.to_owned(),
        thread: thread_name(),
    });
}

/// Hands `signal` to this thread's destination (its test scope's, else the
/// installed notifier).
fn signal(signal: RunSignal) {
    if any_scope() {
        let mut signal = Some(signal);
        with_current(|destination| {
            if let Some(signal) = signal.take() {
                destination.run(signal);
            }
        });
    } else if let Some(global) = global() {
        global.run(signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::SitePrefix;
    use crate::storm::RepeatSlot;

    static SITE: CallSite = CallSite {
        function: "export",
        module_path: "jobs",
        file: "src/jobs.rs",
        line: 1,
        severity: None,
        title: None,
        sinks: &[],
        fingerprint_prefix: SitePrefix::new("jobs", "export", "src/jobs.rs", 1),
        repeats: RepeatSlot::new(),
    };
    static MONITOR: MonitorSite = MonitorSite {
        site: &SITE,
        job: "export",
        notify_start: false,
        notify_success: false,
        max_runtime_ms: 0,
    };

    #[test]
    fn run_ids_are_version_4_uuids() {
        let a = RunRef::start(&MONITOR).run_id();
        let b = RunRef::start(&MONITOR).run_id();
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
