//! The global notifier: installed once, flushed by the guard, by
//! [`flush`](crate::flush) and once more at process exit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::capture::{install_panic_hook, set_global};
use crate::diagnostic::to_stderr;
use crate::dispatch::Notifier;
use crate::error::ConfigError;
use crate::sys::at_exit;

static GLOBAL: OnceLock<Notifier> = OnceLock::new();

/// Set when the guard's flush ran out of time.
static GUARD_FLUSH_FAILED: AtomicBool = AtomicBool::new(false);

pub(super) fn is_installed() -> bool {
    GLOBAL.get().is_some()
}

pub(super) fn already_installed() -> ConfigError {
    ConfigError::new(
        "install",
        "a notifier is already installed in this process; install() may be called once",
    )
}

/// Makes `notifier` the global one: the destination of every report that
/// names none, flushed at exit.
pub(super) fn install(
    notifier: Notifier,
    defaulted_to_console: bool,
) -> Result<FlushGuard, ConfigError> {
    let flush_timeout = notifier.flush_timeout();
    if GLOBAL.set(notifier).is_err() {
        return Err(already_installed());
    }
    let Some(installed) = GLOBAL.get() else {
        return Err(already_installed());
    };
    install_panic_hook();
    at_exit(flush_at_exit);
    if !set_global(installed) {
        return Err(already_installed());
    }
    // What earlier runs left undelivered: claimed and queued now.
    installed.deliver_spooled();
    if defaulted_to_console {
        to_stderr("no NOTIFY_* sink variable is set; alerts go to the console (stderr)");
    }
    Ok(FlushGuard {
        timeout: flush_timeout,
    })
}

/// Flushes the global notifier (see [`crate::flush`]).
pub(crate) fn flush_global(timeout: Duration) -> bool {
    GLOBAL.get().is_none_or(|n| n.flush(timeout))
}

/// At process exit (see [`crate::sys::at_exit`]): catches what the guard
/// cannot, such as an alert raised after the guard dropped — the panic of an
/// annotated `main` that holds the guard inside its own body.
extern "C" fn flush_at_exit() {
    // If the guard already waited its full timeout in vain (a sink that does
    // not answer), waiting again would only delay the exit. Flushing never
    // unwinds: it waits on a condition variable.
    let Some(notifier) = GLOBAL.get() else {
        return;
    };
    if !GUARD_FLUSH_FAILED.load(Ordering::SeqCst) {
        notifier.flush(notifier.flush_timeout());
    }
    // What is still undelivered goes to the spool, for the next run.
    notifier.spool_at_exit();
    // Nothing leaves silently: what was not delivered is said, in one line.
    notifier.account_at_exit();
}

/// Returned by [`install`](crate::NotifierBuilder::install) and
/// [`init_from_env`](crate::init_from_env): keep it alive for the life of the
/// program (`let _guard = ...;` — not `let _ = ...;`, which drops it at once).
/// Its `Drop` delivers pending alerts and summaries, waiting at most the
/// flush timeout; it also runs while a panic unwinds out of `main`.
#[must_use = "dropping the guard flushes at once; bind it: `let _guard = ...;`"]
#[derive(Debug)]
pub struct FlushGuard {
    timeout: Duration,
}

impl FlushGuard {
    /// The installed notifier's counters (see [`Notifier::stats`](crate::Notifier::stats)):
    /// for a health endpoint, or a test.
    pub fn stats(&self) -> crate::dispatch::Stats {
        GLOBAL.get().map(|n| n.stats()).unwrap_or_default()
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        if !flush_global(self.timeout) {
            GUARD_FLUSH_FAILED.store(true, Ordering::SeqCst);
        }
    }
}
