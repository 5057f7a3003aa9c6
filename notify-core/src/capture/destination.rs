//! Where admitted reports go, seen from capture: a [`Destination`]. The
//! dispatcher's notifier is one, the test scope of
//! [`testing::capture_alerts`](crate::testing::capture_alerts) another;
//! capture never reaches into either's state.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use super::backtrace::RawBacktrace;
use super::draft::Draft;
use super::job::RunSignal;
use super::listening::{global_installed, scope_ended, scope_started};
use crate::storm::RepeatSlot;

/// What capture hands its drafts to.
pub(crate) trait Destination {
    /// Storm control, before anything is captured: whether a report with
    /// this fingerprint goes on (`false`: a repeat, counted and dropped).
    /// `slot` is the call site's, for a lock-free repeat check.
    fn admit(&self, fingerprint: u64, slot: Option<&'static RepeatSlot>) -> bool;

    /// A report admitted by [`admit`](Destination::admit) turned out not
    /// to be sent (it is a failure already reported): storm control forgets
    /// it, so its next occurrence is judged afresh.
    fn withdraw(&self, fingerprint: u64);

    /// An admitted report, as drafted on the caller's thread. Never blocks.
    fn accept(&self, draft: Draft, backtrace: RawBacktrace);

    /// Waits until what was accepted is delivered, at most `timeout` (the
    /// panic hook, before `panic = "abort"` aborts).
    #[cfg_attr(not(panic = "abort"), allow(dead_code))]
    fn flush(&self, timeout: Duration) -> bool;

    /// One line about the notifier itself.
    fn diagnostic(&self, message: &str);

    /// A monitored run started or ended (see `run`). Never blocks.
    fn run(&self, signal: RunSignal);
}

static GLOBAL: OnceLock<&'static (dyn Destination + Sync)> = OnceLock::new();

thread_local! {
    static SCOPE: RefCell<Option<Rc<dyn Destination>>> = const { RefCell::new(None) };
}

/// Makes `destination` the one every report without its own goes to. Once
/// per process; false if one was set before.
pub(crate) fn set_global(destination: &'static (dyn Destination + Sync)) -> bool {
    if GLOBAL.set(destination).is_err() {
        return false;
    }
    global_installed();
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
            scope_ended();
            let previous = self.0.take();
            let _ = SCOPE.try_with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = SCOPE.with(|s| s.borrow_mut().replace(destination));
    scope_started();
    let _restore = Restore(previous);
    f()
}

/// Runs `f` with this thread's destination: its scope's, else the global one.
/// The scope is taken out of its cell first, so `f` (which runs the user's
/// `Display`) may even open a scope of its own.
pub(crate) fn with_current(f: impl FnOnce(&dyn Destination)) {
    let scope = SCOPE
        .try_with(|s| s.borrow().as_ref().map(Rc::clone))
        .ok()
        .flatten();
    match scope {
        Some(scope) => f(&*scope),
        None => {
            if let Some(global) = global() {
                f(global);
            }
        }
    }
}
