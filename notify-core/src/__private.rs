//! Support for the code that `#[alert_on_error]` generates. Not public API:
//! nothing here is covered by semver, and nothing here should be called by hand.
//!
//! The generated code for a sync function looks like this (an `async fn`
//! awaits `Watch::new(|| &SITE, context, async move { body })`, which hands
//! back the output and the context, instead of the closure and the guard;
//! without `context(...)` the context is the zero-sized [`NoContext`]):
//!
//! ```ignore
//! fn f(a: A) -> Result<T, E> {
//!     static __NOTIFY_SITE: ::notify_core::__private::CallSite = /* ... */;
//!     let __notify_context = ::notify_core::__private::Context::capture(|| vec![("a", ::notify_core::__private::debug(&a))]);
//!     let __notify_guard = ::notify_core::__private::PanicGuard::new(|| &__NOTIFY_SITE, __notify_context);
//!     let __notify_result: Result<T, E> = ::notify_core::__private::call_once(move || { /* body */ });
//!     let __notify_context = __notify_guard.disarm();
//!     let __notify_result = if ::core::result::Result::is_err(&__notify_result) {
//!         // Cold and outlined; the `Ok` path keeps the result in registers.
//!         ::core::hint::black_box(::notify_core::__private::report_result(
//!             &__NOTIFY_SITE, __notify_result, __notify_context,
//!             |__notify_err| {
//!                 use ::notify_core::__private::{DescribeError as _, /* ... */};
//!                 let __notify_desc = (&&&&&&::notify_core::__private::Wrap(__notify_err)).__notify_describe();
//!                 ::notify_core::__private::IntoErrorRef::into_error_ref(__notify_desc)
//!             },
//!         ))
//!     } else {
//!         __notify_result
//!     };
//!     __notify_result
//! }
//! ```

use std::error::Error;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

pub use crate::alert::Severity;

/// The static record of one annotated function, built at compile time.
#[derive(Debug)]
pub struct CallSite {
    /// The function's name as written (`nightly_export`).
    pub function: &'static str,
    /// `module_path!()` at the function.
    pub module_path: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()` of the function's name.
    pub line: u32,
    /// `severity = "..."`, if given.
    pub severity: Option<Severity>,
    /// `title = "..."`, if given.
    pub title: Option<&'static str>,
    /// `sinks("a", "b")`; empty means every sink.
    pub sinks: &'static [&'static str],
    /// The site's part of every fingerprint made here, hashed at compile
    /// time: a repeat hashes only its kind and text.
    pub fingerprint_prefix: SitePrefix,
}

/// The fingerprint hasher's state after the call site's module path,
/// function, file and line: what [`SitePrefix::new`] computes in `const`
/// context, so the hashing costs nothing at run time.
#[derive(Clone, Copy)]
pub struct SitePrefix(pub(crate) crate::storm::Fingerprinter);

impl SitePrefix {
    /// Hashes a call site (the same bytes, in the same order, as a site
    /// hashed at run time would be).
    pub const fn new(module_path: &str, function: &str, file: &str, line: u32) -> Self {
        let mut fp = crate::storm::Fingerprinter::new();
        fp.str_const(module_path);
        fp.str_const(function);
        fp.str_const(file);
        fp.bytes_const(&line.to_le_bytes());
        SitePrefix(fp)
    }
}

impl std::fmt::Debug for SitePrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SitePrefix")
    }
}

/// The `Debug` text of the `context(...)` arguments, formatted on entry, and
/// only when a notifier is installed.
#[derive(Debug, Default)]
// One pointer wide (not a `Vec`'s three words): it lives in every wrapped
// call's frame and every `async fn`'s state, and is almost always empty.
#[allow(clippy::box_collection)]
pub struct Context(Option<Box<Vec<(&'static str, String)>>>);

impl Context {
    /// Runs `f` only if a notifier is installed (one atomic load otherwise).
    #[inline]
    pub fn capture(f: impl FnOnce() -> Vec<(&'static str, String)>) -> Self {
        if crate::dispatch::is_installed() {
            Context(Some(Box::new(f())))
        } else {
            Context(None)
        }
    }

    /// The values, name and `Debug` text.
    pub(crate) fn into_values(self) -> Vec<(&'static str, String)> {
        self.0.map(|values| *values).unwrap_or_default()
    }

    /// No context.
    #[inline]
    pub const fn none() -> Self {
        Context(None)
    }
}

/// What a wrapped call keeps for its report: a [`Context`] when the
/// attribute has `context(...)`, else [`NoContext`], which takes no space —
/// so a function without `context(...)` carries nothing extra in its frame
/// or its `async fn` state.
pub trait ContextSlot: Default {
    /// The values, for a report.
    fn into_context(self) -> Context;
}

impl ContextSlot for Context {
    #[inline(always)]
    fn into_context(self) -> Context {
        self
    }
}

/// The context of a function without `context(...)`: nothing, in no space.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoContext;

impl ContextSlot for NoContext {
    #[inline(always)]
    fn into_context(self) -> Context {
        Context::none()
    }
}

/// Names the call site without storing it: the macro passes a closure that
/// returns `&__NOTIFY_SITE`, which captures nothing and so takes no space in
/// the guards and in [`Watch`].
pub trait SiteFn: Fn() -> &'static CallSite {}
impl<S: Fn() -> &'static CallSite> SiteFn for S {}

/// `{:?}` of a context value, cut to a sane size. Formatting stops at the
/// limit, so a huge value costs no more than a small one.
#[cold]
pub fn debug(value: &dyn Debug) -> String {
    use std::fmt::Write as _;
    let mut bounded = Bounded {
        out: String::new(),
        room: MAX_CONTEXT_CHARS,
    };
    if write!(bounded, "{value:?}").is_err() && bounded.room == 0 {
        bounded.out.push('…');
    }
    bounded.out
}

/// A `fmt::Write` that takes at most `room` more characters, then refuses.
struct Bounded {
    out: String,
    room: usize,
}

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            if self.room == 0 {
                return Err(std::fmt::Error);
            }
            self.out.push(c);
            self.room -= 1;
        }
        Ok(())
    }
}

const MAX_CONTEXT_CHARS: usize = 1000;

/// Calls the closure that holds a sync body. Through an `FnOnce` bound, so
/// the closure is an `FnOnce` closure: a body that returns a borrow of a
/// captured `&mut` argument (`fn get(&mut self) -> Result<&mut T, E>`)
/// compiles, which an immediately called closure (inferred `FnMut`) refuses.
#[inline(always)]
pub fn call_once<R, F: FnOnce() -> R>(body: F) -> R {
    body()
}

/// Lives on the wrapped function's stack. If the body unwinds, its `Drop`
/// reports the panic (with the backtrace the panic hook stashed); on the
/// normal path [`PanicGuard::disarm`] forgets it, so the happy path costs nothing.
/// Without `context(...)` it is a zero-sized value.
pub struct PanicGuard<S: SiteFn, C: ContextSlot> {
    site: S,
    context: C,
    /// With `panic = "abort"`: whether this guard pushed its site onto the
    /// thread's stack of annotated functions (and so must pop it).
    #[cfg(panic = "abort")]
    entered: bool,
}

impl<S: SiteFn, C: ContextSlot> PanicGuard<S, C> {
    /// Arms the guard for one call.
    #[inline(always)]
    pub fn new(site: S, context: C) -> Self {
        PanicGuard {
            #[cfg(panic = "abort")]
            entered: crate::capture::enter(site()),
            site,
            context,
        }
    }

    /// The body returned: hand back the context for an `Err` report.
    #[inline(always)]
    pub fn disarm(self) -> C {
        #[cfg(panic = "abort")]
        if self.entered {
            crate::capture::leave();
        }
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; we move the one owned
        // field that needs it out (the site closure captures nothing).
        unsafe { std::ptr::read(&this.context) }
    }
}

impl<S: SiteFn, C: ContextSlot> Drop for PanicGuard<S, C> {
    fn drop(&mut self) {
        // Only reached while unwinding out of the body (never with
        // `panic = "abort"`, where nothing unwinds).
        let context = std::mem::take(&mut self.context).into_context();
        crate::capture::report_unwinding((self.site)(), context);
    }
}

/// Wraps the body of an `async fn`: each poll runs under a guard, so a
/// panic inside a poll is reported (with the context) before it unwinds into
/// the executor — which may catch it and drop the future only later, when
/// nothing is unwinding any more.
///
/// It owns the context and hands it back with the body's output, for an
/// `Err` report. Without `context(...)` the site and the context take no
/// space, so `Watch<F>` is exactly as large as `F` — the `async fn`'s state
/// grows by nothing but the state of the `async` block itself.
pub struct Watch<S: SiteFn, C: ContextSlot, F> {
    site: S,
    context: C,
    future: F,
}

impl<S: SiteFn, C: ContextSlot, F: Future> Watch<S, C, F> {
    /// Wraps `future`.
    #[inline(always)]
    pub fn new(site: S, context: C, future: F) -> Self {
        Watch {
            site,
            context,
            future,
        }
    }
}

/// Reports a panic that unwinds out of one poll; forgotten when the poll returns.
struct PollGuard<'a, S: SiteFn, C: ContextSlot> {
    site: &'a S,
    context: &'a mut C,
}

impl<S: SiteFn, C: ContextSlot> Drop for PollGuard<'_, S, C> {
    fn drop(&mut self) {
        // Only reached while unwinding out of the poll.
        let context = std::mem::take(self.context).into_context();
        crate::capture::report_unwinding((self.site)(), context);
    }
}

impl<S: SiteFn, C: ContextSlot, F: Future> Future for Watch<S, C, F> {
    type Output = (F::Output, C);

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved out of `self`);
        // `site` and `context` are not pinned and `Watch` has no Drop impl.
        let this = unsafe { self.get_unchecked_mut() };
        #[cfg(panic = "abort")]
        let entered = crate::capture::enter((this.site)());
        let guard = PollGuard {
            site: &this.site,
            context: &mut this.context,
        };
        // SAFETY: as above, `future` is never moved.
        let poll = unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx);
        std::mem::forget(guard);
        #[cfg(panic = "abort")]
        if entered {
            crate::capture::leave();
        }
        match poll {
            Poll::Ready(output) => Poll::Ready((output, std::mem::take(&mut this.context))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// How an error will be described: chosen at compile time by
/// autoref specialisation over [`Wrap`].
pub enum ErrorRef<'a> {
    /// `Display` plus the `source()` chain.
    Error(&'a (dyn Error + 'a)),
    /// `Display` only.
    Display(&'a (dyn Display + 'a)),
    /// `Debug` only.
    Debug(&'a (dyn Debug + 'a)),
}

/// Wrapper for autoref specialisation: the macro calls
/// `(&&&&&&Wrap(err)).__notify_describe()` with all six `Describe*` traits in scope.
pub struct Wrap<'a, E: ?Sized>(pub &'a E);

/// Level 1: `E: Error`.
pub trait DescribeError<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: Error + 'a> DescribeError<'a> for &&&&&Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Error(self.0)
    }
}

/// Level 2: `anyhow::Error`, `eyre::Report`, `Box<dyn Error + Send + Sync>`.
pub trait DescribeAsErrorSendSync<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: AsRef<dyn Error + Send + Sync> + ?Sized> DescribeAsErrorSendSync<'a>
    for &&&&Wrap<'a, E>
{
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Error(self.0.as_ref())
    }
}

/// Level 3: `Box<dyn Error>`.
pub trait DescribeAsError<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: AsRef<dyn Error> + ?Sized> DescribeAsError<'a> for &&&Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Error(self.0.as_ref())
    }
}

/// Level 4: `E: Display`.
pub trait DescribeDisplay<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: Display + 'a> DescribeDisplay<'a> for &&Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Display(self.0)
    }
}

/// Level 5: `E: Debug`.
pub trait DescribeDebug<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: Debug + 'a> DescribeDebug<'a> for &Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Debug(self.0)
    }
}

/// Level 6, the fallback: a type with neither `Display` nor `Debug`. Its
/// result does not implement [`IntoErrorRef`], so [`report_result`] gives one
/// clear compile error at the function's return type.
pub trait DescribeNothing {
    /// Describes the error (it cannot).
    fn __notify_describe(&self) -> NotReportable;
}
impl<E: ?Sized> DescribeNothing for Wrap<'_, E> {
    fn __notify_describe(&self) -> NotReportable {
        NotReportable(())
    }
}

/// What the fallback level yields; never reported.
pub struct NotReportable(());

/// A description that can be reported.
#[diagnostic::on_unimplemented(
    message = "`#[alert_on_error]` cannot report this function's error type: it implements neither `Display` nor `Debug`",
    label = "the error type of this return type needs `Display` or `Debug`",
    note = "derive `Debug` or implement `std::fmt::Display` for the error type"
)]
pub trait IntoErrorRef<'a> {
    /// The description.
    fn into_error_ref(self) -> ErrorRef<'a>;
}
impl<'a> IntoErrorRef<'a> for ErrorRef<'a> {
    #[inline(always)]
    fn into_error_ref(self) -> ErrorRef<'a> {
        self
    }
}

/// Reports an `Err` returned by the function at `site` and returns the
/// result unchanged. Outlined and cold, and it takes the result by value: the
/// wrapped function's `Ok` path never needs the result in memory. `describe`
/// (the macro's autoref specialisation) only describes; the report is made
/// after it returns, so its frame is not in the backtrace.
#[cold]
#[inline(never)]
pub fn report_result<T, E, C, D>(
    site: &'static CallSite,
    result: Result<T, E>,
    context: C,
    describe: D,
) -> Result<T, E>
where
    C: ContextSlot,
    D: for<'e> FnOnce(&'e E) -> ErrorRef<'e>,
{
    if let Err(error) = &result {
        crate::capture::report_error_at(site, describe(error), context.into_context());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    static SITE: CallSite = CallSite {
        function: "f",
        module_path: "m",
        file: "f.rs",
        line: 1,
        severity: None,
        title: None,
        sinks: &[],
        fingerprint_prefix: SitePrefix::new("m", "f", "f.rs", 1),
    };

    /// The happy path's cost is the bytes the wrapper adds: without
    /// `context(...)` there are none, in the sync guard and in `Watch`.
    #[test]
    #[cfg(not(panic = "abort"))]
    fn without_context_the_wrappers_add_no_bytes() {
        let guard = PanicGuard::new(|| &SITE, NoContext);
        assert_eq!(std::mem::size_of_val(&guard), 0);
        let NoContext = guard.disarm();

        let body = async { [7u64; 5] };
        let body_size = std::mem::size_of_val(&body);
        let watch = Watch::new(|| &SITE, NoContext, body);
        assert_eq!(std::mem::size_of_val(&watch), body_size);

        // With a context: one pointer more, and it comes back with the output.
        let watch = Watch::new(
            || &SITE,
            Context(Some(Box::new(vec![("k", "v".to_owned())]))),
            async { 1 },
        );
        let mut watch = std::pin::pin!(watch);
        let mut cx = TaskContext::from_waker(std::task::Waker::noop());
        let Poll::Ready((output, context)) = watch.as_mut().poll(&mut cx) else {
            panic!("a ready body is ready at the first poll");
        };
        assert_eq!(output, 1);
        assert_eq!(context.into_values(), [("k", "v".to_owned())]);
    }

    #[test]
    fn context_values_are_cut_while_formatting() {
        let huge = vec![7u8; 1_000_000];
        let text = debug(&huge);
        assert_eq!(text.chars().count(), MAX_CONTEXT_CHARS + 1);
        assert!(text.ends_with('…'));
        assert_eq!(debug(&"short"), "\"short\"");
    }
}
