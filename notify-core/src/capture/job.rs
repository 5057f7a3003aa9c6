//! A monitored job (`#[monitor]`): its static record, one run of it, the
//! signals a run sends the dispatcher and the alerts they stand for. What
//! a run's context, its failure's draft, the dispatcher and test scopes
//! share; `run` starts and ends runs on the job's thread.

use std::time::{Duration, Instant, SystemTime};

use super::site::{CallSite, Origin};
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
pub struct RunRef {
    pub(crate) monitor: &'static MonitorSite,
    pub(crate) started: Instant,
    pub(crate) started_at: SystemTime,
    /// A version-4 UUID's 128 bits.
    pub(crate) id: u128,
}

impl RunRef {
    pub(crate) fn start(monitor: &'static MonitorSite) -> RunRef {
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

/// The thread a run's event happened on, named by the dispatcher (a
/// handle is a reference count; its name, an allocation on the job's
/// thread). `None`: a thread that can no longer tell (torn down).
#[derive(Debug, Clone)]
pub(crate) struct RunThread(Option<std::thread::Thread>);

impl RunThread {
    /// This thread.
    pub(crate) fn here() -> Self {
        RunThread(Some(std::thread::current()))
    }

    /// No thread to name.
    pub(crate) fn unknown() -> Self {
        RunThread(None)
    }

    /// How alerts name it.
    pub(crate) fn label(&self) -> String {
        self.0
            .as_ref()
            .map(crate::sys::thread_label)
            .unwrap_or_default()
    }
}

/// The message of a cancelled run.
pub(crate) const CANCELLED: &str =
    "the run was cancelled: its future was dropped before it completed";

/// What the dispatcher hears of a run, besides its failure alert.
pub(crate) enum RunSignal {
    /// A run started, on the thread named.
    Started(RunRef, RunThread),
    /// A run succeeded after `duration`; `value` with `success_value`.
    Succeeded {
        run: RunRef,
        duration: Duration,
        value: Option<String>,
        thread: RunThread,
    },
    /// A run failed, and its failure's alert is not sent (a repeat, or a
    /// failure an inner annotated call reported): the run ends all the same.
    Failed {
        run: RunRef,
        duration: Duration,
        text: String,
        /// A panic (an alert of it would be critical).
        panicked: bool,
        /// The run's future was dropped (an alert of it would be a warning).
        cancelled: bool,
        thread: RunThread,
    },
}

impl RunSignal {
    /// `run` ended by a failure whose alert is not sent (or not made):
    /// `text` says what, on the thread named. The one way a failure signal
    /// is made.
    pub(crate) fn failed(
        run: RunRef,
        text: String,
        panicked: bool,
        cancelled: bool,
        thread: RunThread,
    ) -> RunSignal {
        RunSignal::Failed {
            run,
            duration: run.started.elapsed(),
            text,
            panicked,
            cancelled,
            thread,
        }
    }

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
                let mut alert =
                    run_alert(run, settings, AlertKind::Started, title, &thread.label());
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
                let mut alert =
                    run_alert(run, settings, AlertKind::Succeeded, title, &thread.label());
                // The value, with `success_value`, is a fact of its own
                // (`returned`), as every sink shows facts.
                alert.message = if ends_still_running {
                    String::from("The run succeeded, after its still-running alert.")
                } else {
                    String::from("The run succeeded.")
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
                panicked,
                cancelled,
                thread,
            } => {
                let title = if *cancelled {
                    format!(
                        "{} cancelled after {}",
                        run.monitor.job,
                        human_duration(*duration)
                    )
                } else {
                    format!(
                        "{} failed after {}: {}",
                        run.monitor.job,
                        human_duration(*duration),
                        text.lines().next().unwrap_or_default()
                    )
                };
                let mut alert = run_alert(run, settings, AlertKind::Error, title, &thread.label());
                alert.message = text.clone();
                if *panicked {
                    alert.kind = AlertKind::Panic;
                } else if *cancelled {
                    alert.kind = AlertKind::Message;
                }
                let default = if *panicked {
                    Severity::Critical
                } else if *cancelled {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                alert.severity = run.monitor.site.severity.unwrap_or(default);
                if ends_still_running {
                    // At least where the still-running alert went.
                    alert.severity = alert.severity.max(Severity::Warning);
                }
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
