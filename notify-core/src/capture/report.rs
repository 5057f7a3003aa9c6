//! The one report pipeline. Every source of an alert — an annotated
//! function's `Err`, a panic, `report_error`, `report_message`, a
//! `Notifier`'s methods — builds a [`Report`] and calls [`report`]:
//!
//! 1. the notifier's own threads never report (no alert about alerting);
//! 2. the destination is the report's own, else this thread's test scope,
//!    else the installed notifier; with none, stop;
//! 3. fingerprint (call site + kind + error text, streamed, no allocation);
//! 4. storm control ([`Destination::admit`]): a repeat stops here; so does
//!    an `Err` that an inner annotated call already reported and that is
//!    propagating outward (see `propagation`), which is withdrawn from storm
//!    control ([`Destination::withdraw`]);
//! 5. the backtrace: the panic's (captured by the hook), or one walk of the
//!    stack now — return addresses only;
//! 6. the draft (the error's text, the thread, the time), handed to the
//!    destination, which queues it without blocking.

use super::backtrace::RawBacktrace;
use super::context::Context;
use super::destination::{global, with_current, Destination};
use super::draft::Draft;
use super::job::{RunSignal, RunThread};
use super::listening::{any_scope, is_listening, on_notifier_thread};
use super::propagation::{already_reported, just_reported, repeated, reported, Entered};
use super::site::Origin;
use super::subject::Subject;

/// One failure to report, as its source describes it.
pub(crate) struct Report<'a> {
    origin: Origin,
    subject: Subject<'a>,
    context: Context,
    backtrace: Option<RawBacktrace>,
    to: Option<&'a dyn Destination>,
    /// When the annotated function that returned this `Err` was entered
    /// (see `propagation`); [`Entered::NONE`] for anything else.
    entered: Entered,
    /// What a logged event adds once it is admitted (its fields as context,
    /// its error's causes): made only then, not for a suppressed repeat.
    late: Option<&'a dyn Fn() -> Late>,
}

/// The part of a logged event's report made only once it is admitted (for
/// any other report: its context, no causes).
pub(crate) struct Late {
    pub(crate) context: Context,
    pub(crate) causes: Vec<String>,
}

impl<'a> Report<'a> {
    /// A report from `origin` about `subject`, to the current destination,
    /// with no context and a backtrace captured here.
    #[inline(always)]
    pub(crate) fn new(origin: Origin, subject: Subject<'a>) -> Self {
        Report {
            origin,
            subject,
            context: Context::none(),
            backtrace: None,
            to: None,
            entered: Entered::NONE,
            late: None,
        }
    }

    /// What a logged event adds once admitted (see [`Late`]).
    #[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
    pub(crate) fn late(mut self, late: &'a dyn Fn() -> Late) -> Self {
        self.late = Some(late);
        self
    }

    /// The `Err` of an annotated call entered at `entered`: one that
    /// propagates out of several annotated calls is reported once.
    #[inline(always)]
    pub(crate) fn returned_from(mut self, entered: Entered) -> Self {
        self.entered = entered;
        self
    }

    /// The `context(...)` values of the call.
    #[inline(always)]
    pub(crate) fn context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }

    /// A backtrace captured earlier (a panic's, by the hook).
    #[inline(always)]
    pub(crate) fn backtrace(mut self, backtrace: RawBacktrace) -> Self {
        self.backtrace = Some(backtrace);
        self
    }

    /// To this destination, not the current one (a `Notifier`'s own methods).
    #[inline(always)]
    pub(crate) fn to(mut self, destination: &'a dyn Destination) -> Self {
        self.to = Some(destination);
        self
    }

    /// Call site + kind + text.
    #[inline]
    pub(crate) fn fingerprint(&self) -> u64 {
        let mut fp = self.origin.fingerprinter(self.subject.kind());
        self.subject.hash_into(&mut fp);
        fp.finish()
    }
}

/// The pipeline's entry: see the module's documentation.
#[inline(never)]
pub(crate) fn report(mut report: Report<'_>) {
    if report.to.is_none() && !is_listening() {
        return;
    }
    if on_notifier_thread() {
        // No alert about alerting; but a monitored run that ends here (its
        // future dropped on a notifier thread, or while this thread's
        // locals are torn down, which looks the same) still ends. No thread
        // name: this thread may no longer be able to tell it.
        if report.context.has_run() {
            if let Some(destination) = report
                .to
                .or_else(|| global().map(|g| g as &dyn Destination))
            {
                end_run(destination, &mut report, RunThread::unknown());
            }
        }
        return;
    }
    match report.to {
        Some(destination) => deliver_to(destination, report),
        None if any_scope() => to_thread_scope(report),
        None => {
            if let Some(global) = global() {
                deliver_to(global, report);
            }
        }
    }
}

/// A test scope is active somewhere: this thread's, if it has one, else
/// the global destination.
#[cold]
#[inline(never)]
fn to_thread_scope(report: Report<'_>) {
    with_current(|destination| deliver_to(destination, report));
}

#[inline(always)]
fn deliver_to(destination: &dyn Destination, mut report: Report<'_>) {
    if let Subject::Event(event) = &report.subject {
        if just_reported(event.text(), report.origin.site()) {
            // Logged right after an annotated function (or another event)
            // reported this very error on this thread: the same failure.
            return;
        }
    }
    let fingerprint = report.fingerprint();
    // Before any capture: a suppressed repeat costs a hash and a lookup.
    if !destination.admit(fingerprint, report.origin.repeat_slot()) {
        if report.entered.is_some() {
            repeated(fingerprint);
        }
        end_run_unreported(destination, &mut report);
        return;
    }
    if report.entered.is_some()
        && already_reported(report.entered, &report.subject, report.origin.site())
    {
        // The failure an inner annotated call reported, propagating: not a
        // first alert after all.
        destination.withdraw(fingerprint);
        end_run_unreported(destination, &mut report);
        return;
    }
    let Report {
        origin,
        subject,
        context,
        backtrace,
        to: _,
        entered,
        late,
    } = report;
    // An `Err` returned by an annotated call, or a logged event, is
    // recorded for the one-failure-one-alert rule.
    let record = entered.is_some() || matches!(subject, Subject::Event(_));
    let late = match late {
        Some(late) => late(),
        None => Late {
            context,
            causes: Vec::new(),
        },
    };
    capture(
        destination,
        origin,
        subject,
        late,
        backtrace,
        fingerprint,
        record,
    );
}

/// A monitored run's failure whose alert is not sent still ends the run.
#[inline(always)]
fn end_run_unreported(destination: &dyn Destination, report: &mut Report<'_>) {
    if report.context.has_run() {
        end_run(destination, report, RunThread::here());
    }
}

#[cold]
#[inline(never)]
fn end_run(destination: &dyn Destination, report: &mut Report<'_>, thread: RunThread) {
    if let Some(run) = report.context.take_run() {
        destination.run(RunSignal::failed(
            run,
            report.subject.text(),
            matches!(report.subject, Subject::Panic(_)),
            matches!(report.subject, Subject::Cancelled),
            thread,
        ));
    }
}

/// An admitted report: the backtrace (unless the panic hook took it), the
/// draft, the hand-off. Outlined, so a suppressed repeat does not pay for
/// this part's stack frame.
#[inline(never)]
fn capture(
    destination: &dyn Destination,
    origin: Origin,
    subject: Subject<'_>,
    Late { context, causes }: Late,
    backtrace: Option<RawBacktrace>,
    fingerprint: u64,
    record: bool,
) {
    let backtrace = backtrace.unwrap_or_else(RawBacktrace::capture);
    let site = origin.site();
    // Only an annotated function's report stands for a failure on another
    // thread (see `propagation`).
    let annotated = matches!(origin, Origin::Site(_));
    let mut draft = Draft::new(origin, &subject, context, fingerprint);
    draft.set_causes(causes);
    if record {
        reported(fingerprint, draft.message(), site, annotated);
    }
    destination.accept(draft, backtrace);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::site::{CallSite, SitePrefix};
    use crate::capture::subject::ErrorRef;
    use crate::fingerprint::Fingerprinter;
    use crate::storm::RepeatSlot;

    static EXPORT: CallSite = CallSite {
        function: "nightly_export",
        module_path: "billing::export",
        file: "src/export.rs",
        line: 42,
        severity: None,
        title: None,
        sinks: &[],
        fingerprint_prefix: SitePrefix::new(
            "billing::export",
            "nightly_export",
            "src/export.rs",
            42,
        ),
        repeats: RepeatSlot::new(),
    };

    /// Fingerprints are labels in Alertmanager and keys across a fleet: the
    /// same site and text must give the same value in every process and
    /// every build. The site's part is hashed at compile time; this pins the
    /// result, so a change to the hashing is a visible decision.
    #[test]
    fn a_fingerprint_is_the_same_in_every_build() {
        let error = std::io::Error::other("ledger is locked");
        let fingerprint = Report::new(
            Origin::Site(&EXPORT),
            Subject::Error(ErrorRef::Error(&error)),
        )
        .fingerprint();
        assert_eq!(fingerprint, GOLDEN);
        // The compile-time prefix is the run-time hash of the same fields.
        let mut fp = Fingerprinter::new();
        fp.str("billing::export");
        fp.str("nightly_export");
        fp.str("src/export.rs");
        fp.bytes(&42u32.to_le_bytes());
        assert_eq!(fp.finish(), EXPORT.fingerprint_prefix.site.finish());
        fp.str("error");
        assert_eq!(
            fp.finish(),
            EXPORT.fingerprint_prefix.site_and_error.finish()
        );
    }

    const GOLDEN: u64 = 17_563_081_967_984_922_220;

    /// Plain text skips the formatting machinery but hashes the same bytes:
    /// a `String` error keeps the fingerprint it had through `Display`.
    #[test]
    fn plain_text_has_its_displays_fingerprint() {
        let text = String::from("card declined: insufficient funds — 결제 실패");
        let as_text = Report::new(Origin::Site(&EXPORT), Subject::Error(ErrorRef::Text(&text)));
        let as_display = Report::new(
            Origin::Site(&EXPORT),
            Subject::Error(ErrorRef::Display(&text)),
        );
        assert_eq!(as_text.fingerprint(), as_display.fingerprint());
    }
}
