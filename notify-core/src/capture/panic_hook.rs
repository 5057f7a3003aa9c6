//! Panics: the hook records each panic's message and backtrace on the
//! panicking thread; the innermost annotated function it unwinds through
//! reports it. With `panic = "abort"` nothing unwinds, so the hook reports
//! (for the innermost annotated function entered) and flushes before the abort.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use super::backtrace::RawBacktrace;
use super::context::Context;
use super::destination::global;
use super::draft::thread_name;
use super::listening::{is_listening, on_notifier_thread};
use super::report::{report, Report};
use super::site::{CallSite, Origin};
use super::subject::{PanicInfo, Subject};

/// What the panic hook left for the guards of this thread. (With
/// `panic = "abort"` the hook reports itself and nothing is left.)
#[cfg_attr(panic = "abort", allow(dead_code))]
enum Stash {
    /// No panic seen by our hook on this thread yet.
    Empty,
    /// A panic is unwinding; the innermost guard reports it.
    Pending(PanicInfo, RawBacktrace),
    /// Reported; guards further out stay quiet.
    Reported,
}

thread_local! {
    static PANIC_STASH: RefCell<Stash> = const { RefCell::new(Stash::Empty) };
}

/// Installs the panic hook once. It chains whatever hook was installed
/// before it: that hook still runs (after ours has recorded the panic).
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if is_listening() && !on_notifier_thread() {
                on_panic(info);
            }
            previous(info);
        }));
    });
}

fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    let panic = PanicInfo {
        message: payload_text(info.payload()),
        location: info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())),
        thread: thread_name(),
    };
    let backtrace = RawBacktrace::capture();
    #[cfg(panic = "abort")]
    {
        // No guard will run: report here, and deliver before the abort.
        let ((site, run), around) =
            abort_mode::innermost().unwrap_or(((&abort_mode::UNANNOTATED_PANIC, None), Vec::new()));
        let context = match run {
            Some(run) => Context::none().with_run(run),
            None => Context::none(),
        };
        report(
            Report::new(Origin::Site(site), Subject::Panic(&panic))
                .backtrace(backtrace)
                .context(context),
        );
        // The monitored runs around it end with it.
        for run in around {
            super::run::ended_by_panic(run, "panicked (reported where it happened)");
        }
        if let Some(destination) = global() {
            destination.flush(abort_mode::FLUSH_TIMEOUT);
        }
    }
    #[cfg(not(panic = "abort"))]
    {
        let _ = PANIC_STASH.try_with(|s| *s.borrow_mut() = Stash::Pending(panic, backtrace));
    }
}

/// The guard of an annotated function is dropped while unwinding: the
/// innermost one reports the panic that the hook recorded.
pub(crate) fn report_unwinding(site: &'static CallSite, context: Context) {
    // The innermost guard takes the stash; guards further out find it
    // reported, so one panic is reported once.
    let taken = PANIC_STASH
        .try_with(|s| std::mem::replace(&mut *s.borrow_mut(), Stash::Reported))
        .unwrap_or(Stash::Reported);
    match taken {
        Stash::Pending(panic, backtrace) => report(
            Report::new(Origin::Site(site), Subject::Panic(&panic))
                .context(context)
                .backtrace(backtrace),
        ),
        Stash::Reported => end_run(context, "panicked (reported where it happened)"),
        // Unwinding, but our hook never ran on this thread: the panic was
        // re-raised (`resume_unwind`), or our hook was replaced.
        Stash::Empty => {
            hook_replaced();
            end_run(context, "panicked");
        }
    }
}

/// A monitored run whose panic is not reported here still ends.
fn end_run(mut context: Context, text: &str) {
    if let Some(run) = context.take_run() {
        super::run::ended_by_panic(run, text);
    }
}

/// Says once that a panic went unreported because it never passed our hook.
#[cold]
fn hook_replaced() {
    static SAID: AtomicBool = AtomicBool::new(false);
    if SAID.swap(true, Ordering::Relaxed) {
        return;
    }
    if let Some(destination) = global() {
        destination.diagnostic(
            "a panic unwound through an #[alert_on_error] function without passing notify's \
             panic hook, so it was not reported: either it was re-raised with \
             std::panic::resume_unwind, or the panic hook did not run because another hook \
             replaced it after install() (chain the previous one with std::panic::take_hook).",
        );
    }
}

/// A panic's message: its `&str` or `String` payload (as std's own hook
/// shows it), else `Box<dyn Any>`.
pub(crate) fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("Box<dyn Any>")
    }
}

/// With `panic = "abort"` no guard runs, so the hook must know which
/// annotated function the panic happened in: each one pushes its site on
/// entry.
#[cfg(panic = "abort")]
pub(crate) mod abort_mode {
    use std::cell::RefCell;
    use std::time::Duration;

    use super::super::job::RunRef;
    use super::super::listening::is_listening;
    use super::super::site::{CallSite, SitePrefix};
    use crate::storm::RepeatSlot;

    /// How long the panic hook waits for delivery before the abort.
    pub(super) const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

    thread_local! {
        /// The annotated functions this thread is in, innermost last, each
        /// with its monitored run (`#[monitor]`) if it is one.
        static SITES: RefCell<Vec<(&'static CallSite, Option<RunRef>)>> =
            const { RefCell::new(Vec::new()) };
    }

    /// Entering an annotated function (with its run, if it is monitored).
    /// Returns whether the site was pushed (only while a notifier listens).
    #[inline(always)]
    pub(crate) fn enter(site: &'static CallSite, run: Option<RunRef>) -> bool {
        is_listening() && SITES.try_with(|s| s.borrow_mut().push((site, run))).is_ok()
    }

    /// Leaving an annotated function that [`enter`] pushed.
    #[inline(always)]
    pub(crate) fn leave() {
        let _ = SITES.try_with(|s| s.borrow_mut().pop());
    }

    /// The innermost annotated function (and its run), and the runs of the
    /// monitored functions around it: the panic ends them all.
    pub(super) fn innermost() -> Option<((&'static CallSite, Option<RunRef>), Vec<RunRef>)> {
        SITES
            .try_with(|s| {
                let sites = s.borrow();
                let (innermost, around) = sites.split_last()?;
                let runs = around.iter().filter_map(|(_, run)| *run).collect();
                Some((*innermost, runs))
            })
            .ok()
            .flatten()
    }

    /// The call site of a panic outside any annotated function; the
    /// alert's `panic_location` says where.
    pub(super) static UNANNOTATED_PANIC: CallSite = CallSite {
        function: "<panic>",
        module_path: "",
        file: "",
        line: 0,
        severity: None,
        title: None,
        sinks: &[],
        fingerprint_prefix: SitePrefix::new("", "<panic>", "", 0),
        repeats: RepeatSlot::new(),
    };
}
