//! Capture on the caller's thread: storm check, unresolved backtrace, an owned
//! [`Alert`]; then hand-off to the dispatcher. Also the panic hook, and the
//! trimming of resolved backtraces (which runs on the dispatcher thread).

use std::any::Any;
use std::cell::RefCell;
use std::error::Error;
use std::fmt::Write as _;
use std::sync::Once;
use std::time::SystemTime;

use crate::__private::{CallSite, Context, ErrorRef};
use crate::alert::{Alert, AlertKind, Frame, Location, Severity};
use crate::storm::{self, Fingerprinter};

/// Where an alert comes from: an annotated function, or a `report_*` call.
#[derive(Clone, Copy)]
pub(crate) enum Origin {
    Site(&'static CallSite),
    Caller(&'static std::panic::Location<'static>),
}

impl Origin {
    /// A hasher that has taken in this origin: for a call site, its
    /// precomputed state (see [`SitePrefix`](crate::__private::SitePrefix)).
    fn fingerprinter(&self) -> Fingerprinter {
        match self {
            Origin::Site(site) => site.fingerprint_prefix.0,
            Origin::Caller(loc) => {
                let mut fp = Fingerprinter::new();
                fp.str(loc.file());
                fp.bytes(&loc.line().to_le_bytes());
                fp.bytes(&loc.column().to_le_bytes());
                fp
            }
        }
    }

    fn location(&self) -> Location {
        match self {
            Origin::Site(site) if site.module_path.is_empty() => Location {
                // A panic outside any annotated function (`panic = "abort"`):
                // its `panic_location` says where.
                function: site.function.to_owned(),
                file: site.file.to_owned(),
                line: site.line,
            },
            Origin::Site(site) => Location {
                function: format!("{}::{}", site.module_path, site.function),
                file: site.file.to_owned(),
                line: site.line,
            },
            Origin::Caller(loc) => Location {
                function: String::new(),
                file: loc.file().to_owned(),
                line: loc.line(),
            },
        }
    }
}

/// The error or message of an alert, before it is formatted.
pub(crate) enum Subject<'a> {
    Error(ErrorRef<'a>),
    Panic(&'a PanicInfo),
    Message(Severity, &'a str),
}

impl Subject<'_> {
    fn kind(&self) -> AlertKind {
        match self {
            Subject::Error(_) => AlertKind::Error,
            Subject::Panic(_) => AlertKind::Panic,
            Subject::Message(..) => AlertKind::Message,
        }
    }

    fn hash_into(&self, fp: &mut Fingerprinter) {
        fp.str(self.kind().as_str());
        match self {
            Subject::Error(ErrorRef::Error(e)) => storm::hash_display(fp, e),
            Subject::Error(ErrorRef::Display(e)) => storm::hash_display(fp, e),
            Subject::Error(ErrorRef::Debug(e)) => storm::hash_debug(fp, e),
            Subject::Panic(info) => fp.str(&info.message),
            Subject::Message(_, text) => fp.str(text),
        }
    }
}

/// What the panic hook stashes for the guard that the panic unwinds through.
pub(crate) struct PanicInfo {
    pub(crate) message: String,
    pub(crate) location: Option<String>,
    pub(crate) backtrace: Option<RawBacktrace>,
    pub(crate) thread: String,
}

/// What the panic hook left for the guards of this thread.
enum Stash {
    /// No panic seen by our hook on this thread yet.
    Empty,
    /// A panic is unwinding; the innermost guard reports it.
    Pending(PanicInfo),
    /// Reported; guards further out stay quiet.
    Reported,
}

thread_local! {
    static PANIC_STASH: RefCell<Stash> = const { RefCell::new(Stash::Empty) };
}

#[cfg(panic = "abort")]
thread_local! {
    static SITES: RefCell<Vec<&'static CallSite>> = const { RefCell::new(Vec::new()) };
}

/// Entering an annotated function, with `panic = "abort"`: no guard will
/// run there, so the hook must know the function itself. Returns whether the
/// site was pushed (only while a notifier listens).
#[cfg(panic = "abort")]
#[inline(always)]
pub(crate) fn enter(site: &'static CallSite) -> bool {
    crate::dispatch::is_installed() && SITES.try_with(|s| s.borrow_mut().push(site)).is_ok()
}

/// Leaving an annotated function that [`enter`] pushed.
#[cfg(panic = "abort")]
#[inline(always)]
pub(crate) fn leave() {
    let _ = SITES.try_with(|s| s.borrow_mut().pop());
}

/// Installs the panic hook once. It chains whatever hook was installed
/// before it: that hook still runs (after ours has stashed the backtrace).
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if crate::dispatch::is_installed() && !crate::dispatch::on_dispatcher_thread() {
                on_panic(info);
            }
            previous(info);
        }));
    });
}

fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    #[allow(unused_mut)] // taken from only with panic = "abort"
    let mut stash = PanicInfo {
        message: payload_text(info.payload()),
        location: info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())),
        backtrace: Some(RawBacktrace::capture()),
        thread: thread_name(),
    };
    #[cfg(panic = "abort")]
    {
        // No guard will run: report here, and deliver before the abort.
        let site = SITES
            .try_with(|s| s.borrow().last().copied())
            .ok()
            .flatten();
        let origin = Origin::Site(site.unwrap_or(&UNANNOTATED_PANIC));
        let backtrace = stash.backtrace.take();
        report(origin, Subject::Panic(&stash), Context::none(), backtrace);
        crate::dispatch::flush_global(crate::dispatch::ABORT_FLUSH_TIMEOUT);
    }
    #[cfg(not(panic = "abort"))]
    {
        let _ = PANIC_STASH.try_with(|s| *s.borrow_mut() = Stash::Pending(stash));
    }
}

/// The call site of a panic outside any annotated function, with
/// `panic = "abort"`; the alert's `panic_location` says where it happened.
#[cfg(panic = "abort")]
static UNANNOTATED_PANIC: CallSite = CallSite {
    function: "<panic>",
    module_path: "",
    file: "",
    line: 0,
    severity: None,
    title: None,
    sinks: &[],
    fingerprint_prefix: crate::__private::SitePrefix::new("", "<panic>", "", 0),
};

/// The guard of an annotated function is dropped while unwinding.
pub(crate) fn report_unwinding(site: &'static CallSite, context: Context) {
    // The innermost guard takes the stash; guards further out find it
    // reported, so one panic is reported once.
    let taken = PANIC_STASH
        .try_with(|s| std::mem::replace(&mut *s.borrow_mut(), Stash::Reported))
        .unwrap_or(Stash::Reported);
    let mut stash = match taken {
        Stash::Pending(stash) => stash,
        Stash::Reported => return,
        Stash::Empty => {
            // Unwinding, but our hook never ran on this thread: the panic
            // was re-raised (`resume_unwind`), or our hook was replaced.
            hook_replaced();
            return;
        }
    };
    let backtrace = stash.backtrace.take();
    report(
        Origin::Site(site),
        Subject::Panic(&stash),
        context,
        backtrace,
    );
}

/// Says once that a panic went unreported because it never passed our hook.
#[cold]
fn hook_replaced() {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    if let Some(notifier) = crate::dispatch::global() {
        notifier.diagnostic(
            "a panic unwound through an #[alert_on_error] function without passing notify's \
             panic hook, so it was not reported: either it was re-raised with \
             std::panic::resume_unwind, or the panic hook did not run because another hook \
             replaced it after install() (chain the previous one with std::panic::take_hook).",
        );
    }
}

/// `Err` returned from an annotated function.
pub(crate) fn report_error_at(site: &'static CallSite, error: ErrorRef<'_>, context: Context) {
    if !crate::dispatch::is_installed() {
        return;
    }
    report(Origin::Site(site), Subject::Error(error), context, None);
}

/// Storm check, capture, hand-off, to the global notifier (or to the
/// thread's capture scope in tests). `backtrace` is the panic's, if any.
#[inline(never)]
pub(crate) fn report(
    origin: Origin,
    subject: Subject<'_>,
    context: Context,
    backtrace: Option<RawBacktrace>,
) {
    if crate::dispatch::on_dispatcher_thread() {
        // An error inside the notifier never produces another alert.
        return;
    }
    if crate::testing::scope_active() {
        let fingerprint = fingerprint(origin, &subject);
        let draft = draft(origin, &subject, context, fingerprint);
        let backtrace = backtrace.unwrap_or_else(RawBacktrace::capture);
        crate::testing::record(draft, backtrace);
        return;
    }
    if let Some(notifier) = crate::dispatch::global() {
        report_with(notifier, origin, subject, context, backtrace);
    }
}

/// [`report`] to one notifier (`Notifier::report_error` and friends).
pub(crate) fn report_to(notifier: &crate::Notifier, origin: Origin, subject: Subject<'_>) {
    if crate::dispatch::on_dispatcher_thread() {
        return;
    }
    report_with(notifier, origin, subject, Context::none(), None);
}

fn fingerprint(origin: Origin, subject: &Subject<'_>) -> u64 {
    let mut fp = origin.fingerprinter();
    subject.hash_into(&mut fp);
    fp.finish()
}

fn report_with(
    notifier: &crate::Notifier,
    origin: Origin,
    subject: Subject<'_>,
    context: Context,
    backtrace: Option<RawBacktrace>,
) {
    let fingerprint = fingerprint(origin, &subject);
    // Before any capture: a suppressed repeat costs a hash and a lookup.
    let summary = match notifier.storm().check(fingerprint) {
        storm::Decision::Suppress => return,
        storm::Decision::Send(summary) => summary,
    };
    // A summary handed back by storm control goes into the queue at once,
    // so a flush running meanwhile counts it.
    if let Some(summary) = summary {
        notifier.enqueue_summary(summary);
    }
    let backtrace = backtrace.unwrap_or_else(RawBacktrace::capture);
    let draft = draft(origin, &subject, context, fingerprint);
    notifier.enqueue_first(draft, backtrace);
}

/// The part of an alert that only the caller's thread can make: the error's
/// text (the error is borrowed), the thread's name, the time. The rest —
/// names, title, the notifier's settings, the backtrace — is filled in on the
/// dispatcher thread by [`Draft::complete`], to keep the caller's work small.
pub(crate) struct Draft {
    origin: Origin,
    kind: AlertKind,
    severity: Severity,
    message: String,
    causes: Vec<String>,
    panic_location: Option<String>,
    thread: String,
    timestamp: SystemTime,
    context: Context,
    pub(crate) fingerprint: u64,
    pub(crate) dropped: u64,
}

fn draft(origin: Origin, subject: &Subject<'_>, context: Context, fingerprint: u64) -> Draft {
    let site_severity = match origin {
        Origin::Site(site) => site.severity,
        Origin::Caller(_) => None,
    };
    let mut causes = Vec::new();
    let (message, severity, panic_location, thread) = match subject {
        Subject::Error(ErrorRef::Error(e)) => {
            let mut source = e.source();
            while let Some(cause) = source {
                if causes.len() >= MAX_CAUSES {
                    break;
                }
                causes.push(cause.to_string());
                source = cause.source();
            }
            (e.to_string(), Severity::Error, None, thread_name())
        }
        Subject::Error(ErrorRef::Display(e)) => {
            (e.to_string(), Severity::Error, None, thread_name())
        }
        Subject::Error(ErrorRef::Debug(e)) => {
            (format!("{e:?}"), Severity::Error, None, thread_name())
        }
        Subject::Panic(info) => (
            info.message.clone(),
            Severity::Critical,
            info.location.clone(),
            info.thread.clone(),
        ),
        Subject::Message(severity, text) => ((*text).to_owned(), *severity, None, thread_name()),
    };
    Draft {
        origin,
        kind: subject.kind(),
        severity: site_severity.unwrap_or(severity),
        message,
        causes,
        panic_location,
        thread,
        timestamp: SystemTime::now(),
        context,
        fingerprint,
        dropped: 0,
    }
}

impl Draft {
    /// The whole alert, with the notifier's settings and the resolved backtrace.
    pub(crate) fn complete(
        self,
        settings: &crate::config::Settings,
        backtrace: Vec<Frame>,
    ) -> Alert {
        let Draft {
            origin,
            kind,
            severity,
            message,
            causes,
            panic_location,
            thread,
            timestamp,
            context,
            fingerprint,
            dropped,
        } = self;
        let (site_title, sinks) = match origin {
            Origin::Site(site) => (site.title, site.sinks),
            Origin::Caller(_) => (None, &[][..]),
        };
        let mut location = origin.location();
        if location.file.is_empty() {
            // A panic outside any annotated function: where it happened.
            if let Some((file, line)) = panic_location.as_deref().and_then(file_and_line) {
                location.file = file.to_owned();
                location.line = line;
            }
        }
        if location.function.is_empty() {
            // A manual report: its function is the first frame of the backtrace.
            if let Some(frame) = backtrace.first() {
                location.function = frame.function.clone();
            }
        }
        let title = match (site_title, origin) {
            (Some(title), _) => title.to_owned(),
            (None, Origin::Site(site)) => match kind {
                AlertKind::Panic => format!("Panic in {}", site.function),
                _ => format!("Error in {}", site.function),
            },
            (None, Origin::Caller(_)) => match kind {
                AlertKind::Message => first_line(&message),
                _ => format!("Error: {}", first_line(&message)),
            },
        };
        Alert {
            kind,
            severity,
            title,
            app_name: settings.app_name.clone(),
            environment: settings.environment.clone(),
            host: settings.host.clone(),
            process_id: std::process::id(),
            thread,
            timestamp,
            location,
            message,
            causes,
            panic_location,
            backtrace,
            context: context
                .into_values()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            repeats: None,
            dropped,
            fingerprint,
            sinks: sinks.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// `src/main.rs:12:5` → (`src/main.rs`, 12).
fn file_and_line(location: &str) -> Option<(&str, u32)> {
    let (rest, _column) = location.rsplit_once(':')?;
    let (file, line) = rest.rsplit_once(':')?;
    Some((file, line.parse().ok()?))
}

const MAX_CAUSES: usize = 32;
const MAX_TITLE_CHARS: usize = 120;

fn first_line(text: &str) -> String {
    let mut line = text.lines().next().unwrap_or("").to_owned();
    crate::render::truncate_in_place(&mut line, MAX_TITLE_CHARS);
    line
}

fn thread_name() -> String {
    let thread = std::thread::current();
    match thread.name() {
        Some(name) => name.to_owned(),
        None => format!("<unnamed {:?}>", thread.id()),
    }
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("Box<dyn Any>")
    }
}

/// `report_error(&err)`: an error that is not a function boundary.
#[track_caller]
pub(crate) fn report_error_here(error: &(dyn Error + '_)) {
    if !crate::dispatch::is_installed() {
        return;
    }
    let caller = std::panic::Location::caller();
    report(
        Origin::Caller(caller),
        Subject::Error(ErrorRef::Error(error)),
        Context::none(),
        None,
    );
}

/// `report_message(severity, text)`.
#[track_caller]
pub(crate) fn report_message_here(severity: Severity, text: &str) {
    if !crate::dispatch::is_installed() {
        return;
    }
    let caller = std::panic::Location::caller();
    report(
        Origin::Caller(caller),
        Subject::Message(severity, text),
        Context::none(),
        None,
    );
}

/// Frames that are not the application's own: the backtrace machinery, this
/// crate, the panic machinery, the runtime below `main`, tokio's internals.
const NOT_IN_APP: &[&str] = &[
    "backtrace::",
    "<backtrace::",
    "notify_core::",
    "<notify_core::",
    // The standard library: the panic machinery, closure shims, the runtime
    // below `main`, thread start-up.
    "std::",
    "<std::",
    "core::",
    "<core::",
    "alloc::",
    "<alloc::",
    "__rustc::",
    "<fn(",
    // libtest's harness, below a `#[test]` function.
    "test::",
    "__rust_",
    "rust_begin_unwind",
    "rust_panic",
    "__libc_start",
    "_start",
    "start_thread",
    "clone3",
    // The tokio runtime's internals (its scheduler, task harness, blocking pool).
    "tokio::runtime::",
    "tokio::task::",
    "tokio::loom::",
    "tokio::park::",
    "<tokio::runtime::",
    "<tokio::task::",
    "<tokio::loom::",
];

fn in_app(function: &str) -> bool {
    !function.is_empty() && !NOT_IN_APP.iter().any(|prefix| function.starts_with(prefix))
}

/// A backtrace as captured on the caller's thread: return addresses only.
///
/// Only the instruction pointers are kept: no symbol lookup, not even the
/// enclosing function's start address (which `backtrace::Backtrace` asks the
/// unwinder for, frame by frame), so a capture costs one walk of the stack.
/// Names, files and lines are resolved later, on the dispatcher thread.
pub(crate) struct RawBacktrace {
    ips: Vec<usize>,
}

/// Frames walked at most; deeper stacks keep their innermost frames.
const MAX_CAPTURED: usize = 128;

impl RawBacktrace {
    #[inline(never)]
    pub(crate) fn capture() -> Self {
        let mut ips = Vec::with_capacity(64);
        crate::unwind::trace(&mut ips, MAX_CAPTURED);
        RawBacktrace { ips }
    }
}

/// Resolves a backtrace and trims it to the application's own frames:
/// innermost first, starting at the user's function (for an `Err`) or the
/// panic site (for a panic), ending at `main`. Runs on the dispatcher thread.
pub(crate) fn resolve_and_trim(raw: RawBacktrace) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut reached_main = false;
    for ip in raw.ips {
        // One return address gives several symbols when calls were inlined,
        // innermost first.
        backtrace::resolve(ip as *mut std::ffi::c_void, |symbol| {
            if reached_main || frames.len() >= MAX_FRAMES {
                return;
            }
            let Some(name) = symbol.name() else { return };
            let mut function = String::new();
            let _ = write!(function, "{name:#}");
            reached_main = is_main(&function);
            if in_app(&function) {
                frames.push(Frame {
                    function,
                    file: symbol.filename().map(|p| p.display().to_string()),
                    line: symbol.lineno(),
                });
            }
        });
        if reached_main || frames.len() >= MAX_FRAMES {
            break;
        }
    }
    frames
}

const MAX_FRAMES: usize = 64;

/// `main` of the binary: `crate_name::main` (not `crate_name::module::main`).
fn is_main(function: &str) -> bool {
    match function.rsplit_once("::") {
        Some((head, "main")) => !head.contains("::") && !head.contains('<'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static EXPORT: CallSite = CallSite {
        function: "nightly_export",
        module_path: "billing::export",
        file: "src/export.rs",
        line: 42,
        severity: None,
        title: None,
        sinks: &[],
        fingerprint_prefix: crate::__private::SitePrefix::new(
            "billing::export",
            "nightly_export",
            "src/export.rs",
            42,
        ),
    };

    /// Fingerprints are labels in Alertmanager and keys across a fleet: the
    /// same site and text must give the same value in every process and
    /// every build. The site's part is hashed at compile time; this pins the
    /// result, so a change to the hashing is a visible decision.
    #[test]
    fn a_fingerprint_is_the_same_in_every_build() {
        let error = std::io::Error::other("ledger is locked");
        let fingerprint = fingerprint(
            Origin::Site(&EXPORT),
            &Subject::Error(crate::__private::ErrorRef::Error(&error)),
        );
        assert_eq!(fingerprint, GOLDEN);
        // The compile-time prefix is the run-time hash of the same fields.
        let mut fp = Fingerprinter::new();
        fp.str("billing::export");
        fp.str("nightly_export");
        fp.str("src/export.rs");
        fp.bytes(&42u32.to_le_bytes());
        assert_eq!(fp.finish(), EXPORT.fingerprint_prefix.0.finish());
    }

    const GOLDEN: u64 = 17_563_081_967_984_922_220;

    #[test]
    fn a_panic_location_splits_into_file_and_line() {
        assert_eq!(file_and_line("src/main.rs:12:5"), Some(("src/main.rs", 12)));
        assert_eq!(
            file_and_line("C:\\app\\main.rs:7:1"),
            Some(("C:\\app\\main.rs", 7))
        );
        assert_eq!(file_and_line("nonsense"), None);
    }

    #[test]
    fn only_the_crate_root_main_is_main() {
        assert!(is_main("my_app::main"));
        assert!(!is_main("my_app::cli::main"));
        assert!(!is_main("<my_app::Main as Run>::main"));
        assert!(!is_main("std::rt::lang_start"));
    }

    #[test]
    fn machinery_frames_are_not_the_applications() {
        for frame in [
            "std::panicking::begin_panic",
            "core::ops::function::FnOnce::call_once",
            "notify_core::capture::report",
            "tokio::runtime::task::harness::poll",
            "<tokio::runtime::blocking::task::BlockingTask<T> as core::future::future::Future>::poll",
            "__rustc::rust_begin_unwind",
        ] {
            assert!(!in_app(frame), "{frame}");
        }
        assert!(in_app("my_app::jobs::export"));
        assert!(in_app("<my_app::Job as my_app::Run>::run"));
    }
}
