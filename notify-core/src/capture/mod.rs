//! Capture, on the caller's thread: the one report pipeline
//! ([`report`](report::report)) and what feeds it — call sites, context
//! values, the subject of an alert, the panic hook, backtraces.
//!
//! Capture hands its drafts to a [`Destination`] (the dispatcher's notifier,
//! or a test scope) and never reads a destination's state; it sits below the
//! dispatcher, which completes drafts into alerts.

mod backtrace;
mod context;
mod destination;
mod draft;
#[cfg(any(feature = "tracing", feature = "log"))]
mod event_site;
mod job;
mod listening;
mod panic_hook;
mod propagation;
mod report;
mod run;
mod site;
mod subject;

pub(crate) use backtrace::{resolve_and_trim, RawBacktrace};
pub use context::{debug, Context};
pub(crate) use destination::{scoped, set_global, Destination};
#[cfg(feature = "tracing")]
pub(crate) use draft::causes_of;
pub(crate) use draft::Draft;
pub use job::MonitorSite;
#[cfg(test)]
pub(crate) use job::RunThread;
pub(crate) use job::{still_running_alert, RunRef, RunSignal};
pub(crate) use listening::{mark_notifier_thread, on_notifier_thread};
#[cfg(panic = "abort")]
pub(crate) use panic_hook::abort_mode;
pub(crate) use panic_hook::{install_panic_hook, payload_text, report_unwinding};
pub(crate) use propagation::first_reports;
pub use propagation::{entered, not_entered, Entered};
pub(crate) use report::{report, Report};
pub(crate) use run::{cancelled as run_cancelled, start as start_run, succeeded as run_succeeded};
pub(crate) use site::Origin;
pub use site::{CallSite, SitePrefix};
pub use subject::ErrorRef;
pub(crate) use subject::Subject;

#[cfg(any(feature = "tracing", feature = "log"))]
pub(crate) use event::{events_wanted, report_event, EventKey, EventRef, Late};

/// The adapter every logged event (`tracing`, `log`) goes through.
#[cfg(any(feature = "tracing", feature = "log"))]
mod event {
    use super::event_site::event_site;
    pub(crate) use super::event_site::EventKey;
    use super::listening::{is_listening, on_notifier_thread};
    pub(crate) use super::report::Late;
    use super::report::{report, Report};
    use super::site::Origin;
    pub(crate) use super::subject::EventRef;
    use super::subject::Subject;

    /// Whether an event logged on this thread now could become an alert:
    /// someone listens, and this is not one of the notifier's threads (whose
    /// events — its HTTP stack's, a sink's — never become alerts). Checked
    /// before an event's fields are formatted.
    #[inline]
    pub(crate) fn events_wanted() -> bool {
        is_listening() && !on_notifier_thread()
    }

    /// Reports an event logged at `key` through the one pipeline. `late`
    /// makes its context and its error's causes, once it is admitted.
    pub(crate) fn report_event(key: EventKey, event: EventRef<'_>, late: &dyn Fn() -> Late) {
        let (site, table_full) = event_site(key);
        if table_full {
            super::destination::with_current(|d| d.diagnostic(super::event_site::FULL_NOTE));
        }
        report(Report::new(Origin::Event(site), Subject::Event(event)).late(late));
    }
}
