//! The wrapper of a sync body: the closure call, and the guard that reports
//! a panic unwinding out of it. Also what a wrapped call carries for its
//! report — the call site and the context — in no space when it can.

use crate::capture::{report_unwinding, CallSite, Context, MonitorSite, RunRef};

/// What a wrapped call keeps for its report: a [`Context`] when the
/// attribute has `context(...)`, else [`NoContext`], which takes no space —
/// so a function without `context(...)` carries nothing extra in its frame
/// or its `async fn` state.
pub trait ContextSlot: Default {
    /// The values, for a report.
    fn into_context(self) -> Context;

    /// The monitored run this call is, if any (for `panic = "abort"`,
    /// where the panic hook reports without a guard).
    #[cfg_attr(not(panic = "abort"), allow(dead_code))]
    #[inline(always)]
    fn run(&self) -> Option<RunRef> {
        None
    }

    /// The call returned normally — an `Ok`, or a value that is not a
    /// result: a monitored run succeeded. `describe` gives the returned
    /// value's text (with `success_value`).
    #[inline(always)]
    fn succeeded<T: ?Sized>(self, _value: &T, _describe: impl FnOnce(&T) -> Option<String>) {}
}

/// The slot of a `#[monitor]`ed call: its run (if someone listens) and the
/// `context(...)` values. Its run ends by exactly one of: a failure's
/// report ([`ContextSlot::into_context`] hands the run to it), a success
/// ([`ContextSlot::succeeded`]), or its `Drop` — the future of the call
/// dropped before it completed: cancelled.
pub struct Monitored<C: ContextSlot> {
    run: Option<RunRef>,
    context: C,
}

impl<C: ContextSlot> Monitored<C> {
    /// Starts a run of `monitor` (one atomic load when nobody listens).
    #[inline(always)]
    pub fn start(monitor: &'static MonitorSite, context: C) -> Self {
        Monitored {
            run: crate::capture::start_run(monitor),
            context,
        }
    }
}

impl<C: ContextSlot> Default for Monitored<C> {
    fn default() -> Self {
        Monitored {
            run: None,
            context: C::default(),
        }
    }
}

impl<C: ContextSlot> ContextSlot for Monitored<C> {
    fn run(&self) -> Option<RunRef> {
        self.run
    }

    fn into_context(mut self) -> Context {
        let run = self.run.take();
        let context = std::mem::take(&mut self.context).into_context();
        match run {
            Some(run) => context.with_run(run),
            None => context,
        }
    }

    #[inline]
    fn succeeded<T: ?Sized>(mut self, value: &T, describe: impl FnOnce(&T) -> Option<String>) {
        if let Some(run) = self.run.take() {
            crate::capture::run_succeeded(run, describe(value));
        }
    }
}

impl<C: ContextSlot> Drop for Monitored<C> {
    fn drop(&mut self) {
        if let Some(run) = self.run.take() {
            crate::capture::run_cancelled(run);
        }
    }
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
/// the guards and in [`Watch`](super::Watch).
pub trait SiteFn {
    /// The call site.
    fn site(&self) -> &'static CallSite;
}

impl<S: Fn() -> &'static CallSite> SiteFn for S {
    #[inline(always)]
    fn site(&self) -> &'static CallSite {
        self()
    }
}

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
            entered: crate::capture::abort_mode::enter(site.site(), context.run()),
            site,
            context,
        }
    }

    /// The body returned: hand back the context for an `Err` report.
    #[inline(always)]
    pub fn disarm(self) -> C {
        #[cfg(panic = "abort")]
        if self.entered {
            crate::capture::abort_mode::leave();
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
        report_unwinding(self.site.site(), context);
    }
}
