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

use super::context::Context;
use super::destination::{global, with_current};
pub(crate) use super::job::{MonitorSite, RunRef, RunSignal, RunThread};
use super::listening::{any_scope, is_listening, on_notifier_thread};
use super::report::{report, Report};
use super::site::Origin;
use super::subject::Subject;

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
    signal(RunSignal::Started(run, RunThread::here()));
    Some(run)
}

/// The run succeeded.
#[inline(never)]
pub(crate) fn succeeded(run: RunRef, value: Option<String>) {
    signal(RunSignal::Succeeded {
        run,
        duration: run.started.elapsed(),
        value,
        thread: RunThread::here(),
    });
}

/// The run's future was dropped before it completed: a failure of its own
/// (a warning), through the one pipeline.
#[cold]
#[inline(never)]
pub(crate) fn cancelled(run: RunRef) {
    report(
        Report::new(Origin::Site(run.monitor.site), Subject::Cancelled)
            .context(Context::none().with_run(run)),
    );
}

/// A run whose panic another annotated function reported (or that never
/// passed our hook) ends all the same.
#[cold]
pub(crate) fn ended_by_panic(run: RunRef, text: &str) {
    signal(RunSignal::failed(
        run,
        text.to_owned(),
        true,
        false,
        RunThread::here(),
    ));
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
    use crate::capture::{CallSite, SitePrefix};
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
