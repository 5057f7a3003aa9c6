//! Where admitted reports go, seen from capture: a [`Destination`]. The
//! dispatcher's notifier is one, the test scope of
//! [`testing::capture_alerts`](crate::testing::capture_alerts) another;
//! capture never reaches into either's state.
//!
//! Also the two facts capture checks before anything else: whether anyone
//! listens at all (one atomic load), and whether the calling thread is one of
//! the notifier's own (whose errors never become alerts).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use super::backtrace::RawBacktrace;
use super::draft::Draft;
use crate::storm::RepeatSlot;

/// What capture hands its drafts to.
pub(crate) trait Destination {
    /// Storm control, before anything is captured: whether a report with
    /// this fingerprint goes on (`false`: a repeat, counted and dropped).
    /// `slot` is the call site's, for a lock-free repeat check.
    fn admit(&self, fingerprint: u64, slot: Option<&'static RepeatSlot>) -> bool;

    /// An admitted report, as drafted on the caller's thread. Never blocks.
    fn accept(&self, draft: Draft, backtrace: RawBacktrace);

    /// Waits until what was accepted is delivered, at most `timeout` (the
    /// panic hook, before `panic = "abort"` aborts).
    #[cfg_attr(not(panic = "abort"), allow(dead_code))]
    fn flush(&self, timeout: Duration) -> bool;

    /// One line about the notifier itself.
    fn diagnostic(&self, message: &str);
}

/// Bit 0: a global destination is installed. Each active thread scope adds 2.
static LISTENING: AtomicUsize = AtomicUsize::new(0);
static GLOBAL: OnceLock<&'static (dyn Destination + Sync)> = OnceLock::new();

thread_local! {
    static SCOPE: RefCell<Option<Rc<dyn Destination>>> = const { RefCell::new(None) };
    static NOTIFIER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Is anything listening? One relaxed atomic load: the whole cost of an
/// annotated function's error path when no notifier is installed.
#[inline(always)]
pub(crate) fn is_listening() -> bool {
    LISTENING.load(Ordering::Relaxed) != 0
}

/// Makes `destination` the one every report without its own goes to. Once
/// per process; false if one was set before.
pub(crate) fn set_global(destination: &'static (dyn Destination + Sync)) -> bool {
    if GLOBAL.set(destination).is_err() {
        return false;
    }
    LISTENING.fetch_or(1, Ordering::SeqCst);
    true
}

/// The global destination, if one was set.
pub(crate) fn global() -> Option<&'static (dyn Destination + Sync)> {
    GLOBAL.get().copied()
}

/// Runs `f` with `destination` taking this thread's reports (ahead of the
/// global one), then restores what was there before, even if `f` panics.
pub(crate) fn scoped<R>(destination: Rc<dyn Destination>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Rc<dyn Destination>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LISTENING.fetch_sub(2, Ordering::SeqCst);
            let previous = self.0.take();
            let _ = SCOPE.try_with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = SCOPE.with(|s| s.borrow_mut().replace(destination));
    LISTENING.fetch_add(2, Ordering::SeqCst);
    let _restore = Restore(previous);
    f()
}

/// Runs `f` with this thread's destination: its scope's, else the global one.
#[inline]
pub(crate) fn with_current(f: impl FnOnce(&dyn Destination)) {
    // Scopes are rare: the thread-local is only read while one is active
    // somewhere in the process.
    if LISTENING.load(Ordering::Relaxed) > 1 {
        let mut f = Some(f);
        let scoped = SCOPE
            .try_with(|s| match &*s.borrow() {
                Some(scope) => {
                    if let Some(f) = f.take() {
                        f(&**scope);
                    }
                    true
                }
                None => false,
            })
            .unwrap_or(false);
        if scoped {
            return;
        }
        if let (Some(f), Some(global)) = (f, global()) {
            f(global);
        }
        return;
    }
    if let Some(global) = global() {
        f(global);
    }
}

/// Marks the calling thread as one of the notifier's own: its reports are
/// ignored, so an error inside the notifier never produces another alert.
pub(crate) fn mark_notifier_thread() {
    let _ = NOTIFIER_THREAD.try_with(|d| d.set(true));
}

/// True on a notifier thread (and on a thread being torn down, to be safe).
#[inline]
pub(crate) fn on_notifier_thread() -> bool {
    NOTIFIER_THREAD.try_with(Cell::get).unwrap_or(true)
}
