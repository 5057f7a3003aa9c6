//! The wrapper of a sync body: the closure call, and the guard that reports
//! a panic unwinding out of it. Also what a wrapped call carries for its
//! report — the call site and the context — in no space when it can.

use crate::capture::{report_unwinding, CallSite, Context};

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
            entered: crate::capture::abort_mode::enter(site.site()),
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
