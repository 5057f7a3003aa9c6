//! What the operating system is asked for: scheduling policy, a coarse
//! monotonic clock, exit handlers, forks and the bounds of a thread's stack.
//! A leaf: it knows nothing of alerts.

use std::sync::atomic::{AtomicU64, Ordering};

/// Puts the calling thread in or out of `SCHED_BATCH` on Linux.
///
/// The dispatcher is woken by the caller's hand-off; as a normal thread the
/// scheduler often runs it at once on the caller's own CPU (wake-up
/// preemption), and the caller waits for it. A `SCHED_BATCH` thread never
/// preempts on wake-up, yet keeps its full fair share of the CPU (the weight
/// of nice 0), so under full load alerts are not delayed — nice 10 was tried
/// and starved delivery under load. The policy is inherited by threads a
/// thread starts, so the dispatcher holds it only while asleep (see the
/// runtime's park hooks); the resolver holds it throughout. Unprivileged; a
/// failure leaves the thread as it was. (The README's Performance section
/// has what it saves.)
pub(crate) fn batch_scheduling(batch: bool) {
    #[cfg(target_os = "linux")]
    // SAFETY: a plain syscall on the calling thread with a valid parameter.
    unsafe {
        let policy = if batch {
            libc::SCHED_BATCH
        } else {
            libc::SCHED_OTHER
        };
        let param = libc::sched_param { sched_priority: 0 };
        let _ = libc::sched_setscheduler(0, policy, &param);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = batch;
}

/// Milliseconds on a monotonic clock, for storm windows.
///
/// On Linux this is `CLOCK_MONOTONIC_COARSE`: read from the vDSO without
/// touching the hardware clock, in ticks of 1–4 ms. Windows are counted in
/// milliseconds and last seconds, so a tick of error is nothing. Elsewhere
/// it is [`std::time::Instant`] (since the first call).
pub(crate) fn monotonic_ms() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid out-pointer; the clock id is a constant
        // that every Linux since 2.6.32 has.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut now) } == 0 {
            return (now.tv_sec as u64)
                .saturating_mul(1000)
                .saturating_add(now.tv_nsec as u64 / 1_000_000);
        }
    }
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis()
        .min(u128::from(u64::MAX)) as u64
}

/// Runs `handler` when the process exits normally: after `main` returns,
/// after a panic unwinds out of `main` (the runtime catches it, then exits),
/// and on `std::process::exit`. On unix and Windows (the C runtime's
/// `atexit`); elsewhere nothing.
pub(crate) fn at_exit(handler: extern "C" fn()) {
    #[cfg(any(unix, windows))]
    {
        // SAFETY: `handler` is a plain `extern "C" fn()`; its callers pass
        // one that never unwinds and stays valid for the life of the process
        // (a function item).
        let _ = unsafe { libc::atexit(handler) };
    }
    #[cfg(not(any(unix, windows)))]
    let _ = handler;
}

/// Forks of this process seen so far, counted in the child (see
/// [`watch_forks`]).
static FORKS: AtomicU64 = AtomicU64::new(0);

/// How many times this process is a `fork()` child of the one that called
/// [`watch_forks`] first: 0 in that process. A thread started in the parent
/// (a dispatcher) does not exist in a child, so whoever started one compares
/// this with its value at that time. One relaxed load.
#[inline]
pub(crate) fn forks() -> u64 {
    FORKS.load(Ordering::Relaxed)
}

/// Counts every later `fork()` (on unix, with `pthread_atfork`; elsewhere
/// there is no fork). Idempotent.
pub(crate) fn watch_forks() {
    #[cfg(unix)]
    {
        extern "C" fn in_child() {
            // An atomic add is async-signal-safe: all a child handler may do.
            FORKS.fetch_add(1, Ordering::Relaxed);
        }
        static WATCHING: std::sync::Once = std::sync::Once::new();
        WATCHING.call_once(|| {
            // SAFETY: registers a handler that only touches an atomic; it is a
            // function item, valid for the life of the process.
            let _ = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        });
    }
}

/// This thread's stack, from the threads library (for the main thread
/// glibc reads it from `/proc/self/maps`, once per thread). Only where the
/// fast stack walk is built, its one user.
#[cfg(all(
    target_os = "linux",
    target_arch = "x86_64",
    target_pointer_width = "64"
))]
pub(crate) fn stack_of_this_thread() -> Option<std::ops::Range<u64>> {
    // SAFETY: `attr` is initialised by `pthread_getattr_np` before it is
    // read and destroyed once; out-pointers point to locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut base: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let got = libc::pthread_attr_getstack(&attr, &mut base, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if got != 0 || base.is_null() {
            return None;
        }
        let base = base as u64;
        Some(base..base.checked_add(size as u64)?)
    }
}

/// How alerts name a thread: its name, else `<unnamed ThreadId(N)>`.
pub(crate) fn thread_label(thread: &std::thread::Thread) -> String {
    match thread.name() {
        Some(name) => name.to_owned(),
        None => format!("<unnamed {:?}>", thread.id()),
    }
}
