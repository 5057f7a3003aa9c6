//! The wrapper of an `async fn` body: each poll runs under a guard.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use super::guard::{ContextSlot, SiteFn};
use crate::capture::{entered, first_reports, report_unwinding, Entered};

/// Wraps the body of an `async fn`: each poll runs under a guard, so a
/// panic inside a poll is reported (with the context) before it unwinds into
/// the executor — which may catch it and drop the future only later, when
/// nothing is unwinding any more.
///
/// It owns the context and hands it back with the body's output, for an
/// `Err` report. Without `context(...)` the site and the context take no
/// space, so `Watch<F>` is `F` and one `u64`: the process's count of first
/// reports when the call started, for the one-failure-one-alert rule
/// across threads (`capture::propagation`).
pub struct Watch<S: SiteFn, C: ContextSlot, F> {
    site: S,
    context: C,
    started: u64,
    future: F,
}

impl<S: SiteFn, C: ContextSlot, F: Future> Watch<S, C, F> {
    /// Wraps `future`.
    #[inline(always)]
    pub fn new(site: S, context: C, future: F) -> Self {
        Watch {
            site,
            context,
            started: first_reports(),
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
        report_unwinding(self.site.site(), context);
    }
}

impl<S: SiteFn, C: ContextSlot, F: Future> Future for Watch<S, C, F> {
    /// The body's output, the context, and when the poll that completed it
    /// started (for the one-failure-one-alert rule).
    type Output = (F::Output, C, Entered);

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved out of `self`);
        // `site` and `context` are not pinned and `Watch` has no Drop impl.
        let this = unsafe { self.get_unchecked_mut() };
        let stamp = entered().since(this.started);
        #[cfg(panic = "abort")]
        let entered = crate::capture::abort_mode::enter(this.site.site(), this.context.run());
        let guard = PollGuard {
            site: &this.site,
            context: &mut this.context,
        };
        // SAFETY: as above, `future` is never moved.
        let poll = unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx);
        std::mem::forget(guard);
        #[cfg(panic = "abort")]
        if entered {
            crate::capture::abort_mode::leave();
        }
        match poll {
            Poll::Ready(output) => Poll::Ready((output, std::mem::take(&mut this.context), stamp)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Watches a future that a function returned (an `impl Future`, a boxed
/// `dyn Future`): each poll runs under a guard that reports a panic, and its
/// output goes through `check` (which reports an `Err`) when it completes.
/// A future dropped before it completes reports nothing (under `#[monitor]`,
/// dropping its context ends its run as cancelled).
///
/// `check` is `Copy` (the macro's captures nothing), so no flag records
/// that it was used: a poll after completion — which the `Future` contract
/// rules out — polls the inner future again; most panic then (`async`
/// blocks do), and one that answers `Ready` again has its output checked
/// again.
pub struct WatchThen<S: SiteFn, F, C: ContextSlot, K> {
    /// The same watch as an `async fn` body's; stamped when the function
    /// returned it (when the call started).
    watch: Watch<S, C, F>,
    check: K,
}

impl<S: SiteFn, F: Future, C: ContextSlot, K: Copy> WatchThen<S, F, C, K> {
    /// Watches `future`.
    #[inline(always)]
    pub(crate) fn new(site: S, context: C, future: F, check: K) -> Self {
        WatchThen {
            watch: Watch::new(site, context, future),
            check,
        }
    }
}

impl<S, F, C, K> Future for WatchThen<S, F, C, K>
where
    S: SiteFn,
    F: Future,
    C: ContextSlot,
    K: FnOnce(F::Output, C, Entered) -> F::Output + Copy,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `watch` is structurally pinned (never moved out of
        // `self`); `check` is not pinned, and `WatchThen` has no Drop impl.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above, `watch` is never moved.
        match unsafe { Pin::new_unchecked(&mut this.watch) }.poll(cx) {
            Poll::Ready((output, context, stamp)) => {
                Poll::Ready((this.check)(output, context, stamp))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::guard::{NoContext, PanicGuard};
    use super::*;
    use crate::capture::{CallSite, Context, SitePrefix};
    use crate::storm::RepeatSlot;

    static SITE: CallSite = CallSite {
        function: "f",
        module_path: "m",
        file: "f.rs",
        line: 1,
        severity: None,
        title: None,
        sinks: &[],
        fingerprint_prefix: SitePrefix::new("m", "f", "f.rs", 1),
        repeats: RepeatSlot::new(),
    };

    /// The happy path's cost is the bytes the wrapper adds: without
    /// `context(...)` there are none, in the sync guard and in `Watch`.
    #[test]
    #[cfg(not(panic = "abort"))]
    fn without_context_the_wrappers_add_one_stamp_at_most() {
        let guard = PanicGuard::new(|| &SITE, NoContext);
        assert_eq!(std::mem::size_of_val(&guard), 0);
        let NoContext = guard.disarm();

        let body = async { [7u64; 5] };
        let body_size = std::mem::size_of_val(&body);
        let watch = Watch::new(|| &SITE, NoContext, body);
        // The body's state and when the call started.
        assert_eq!(
            std::mem::size_of_val(&watch),
            body_size.next_multiple_of(8) + 8
        );

        // With a context: one pointer more, and it comes back with the output.
        let watch = Watch::new(|| &SITE, Context::of(vec![("k", "v".to_owned())]), async {
            1
        });
        let mut watch = std::pin::pin!(watch);
        let mut cx = TaskContext::from_waker(std::task::Waker::noop());
        let Poll::Ready((output, context, _)) = watch.as_mut().poll(&mut cx) else {
            panic!("a ready body is ready at the first poll");
        };
        assert_eq!(output, 1);
        assert_eq!(context.into_values(), [("k", "v".to_owned())]);
    }
}
