//! The two facts capture checks before anything else: whether anyone
//! listens at all (one atomic load), and whether the calling thread is one
//! of the notifier's own (whose errors never become alerts).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bit 0: a global destination is installed. Each active thread scope adds 2.
static LISTENING: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static NOTIFIER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Is anything listening? One relaxed atomic load: the whole cost of an
/// annotated function's error path when no notifier is installed.
#[inline(always)]
pub(crate) fn is_listening() -> bool {
    LISTENING.load(Ordering::Relaxed) != 0
}

/// Whether a test scope is active on some thread of the process.
#[inline(always)]
pub(crate) fn any_scope() -> bool {
    LISTENING.load(Ordering::Relaxed) > 1
}

/// A global destination was installed.
pub(super) fn global_installed() {
    LISTENING.fetch_or(1, Ordering::SeqCst);
}

pub(super) fn scope_started() {
    LISTENING.fetch_add(2, Ordering::SeqCst);
}

pub(super) fn scope_ended() {
    LISTENING.fetch_sub(2, Ordering::SeqCst);
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
