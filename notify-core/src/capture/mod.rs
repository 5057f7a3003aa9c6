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
mod listening;
mod panic_hook;
mod propagation;
mod report;
mod site;
mod subject;

pub(crate) use backtrace::{resolve_and_trim, RawBacktrace};
pub use context::{debug, Context};
pub(crate) use destination::{scoped, set_global, Destination};
pub(crate) use draft::Draft;
pub(crate) use listening::{mark_notifier_thread, on_notifier_thread};
#[cfg(panic = "abort")]
pub(crate) use panic_hook::abort_mode;
pub(crate) use panic_hook::{install_panic_hook, payload_text, report_unwinding};
pub(crate) use propagation::first_reports;
pub use propagation::{entered, not_entered, Entered};
pub(crate) use report::{report, Report};
pub(crate) use site::Origin;
pub use site::{CallSite, SitePrefix};
pub use subject::ErrorRef;
pub(crate) use subject::Subject;
