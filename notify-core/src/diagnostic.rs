//! The notifier's own one-line diagnostics: where they go, and how often a
//! recurring one is said.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A callback for the notifier's own diagnostics (a sink's refusal, a dropped
/// alert); by default they go to stderr, one line each.
pub type DiagnosticFn = Arc<dyn Fn(&str) + Send + Sync>;

/// Where a notifier's diagnostics go.
pub(crate) struct Diagnostics(DiagnosticFn);

impl Diagnostics {
    /// To `callback`, or to stderr.
    pub(crate) fn new(callback: Option<DiagnosticFn>) -> Self {
        Diagnostics(callback.unwrap_or_else(|| Arc::new(to_stderr)))
    }

    /// Says one line. The user's callback may panic: that never reaches the
    /// caller (the dispatcher, or an application thread).
    pub(crate) fn say(&self, message: &str) {
        let f = &self.0;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(message)));
    }
}

/// One line on stderr. A closed stderr is not our problem (`eprintln!` would
/// panic on it).
pub(crate) fn to_stderr(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "notify: {line}");
}

/// A diagnostic that may recur often (a sink that cannot keep up, a table
/// that evicts): counted every time, said at most once per [`Throttled::EVERY`],
/// with the count since it was last said.
#[derive(Default)]
pub(crate) struct Throttled(Mutex<(Option<Instant>, u64)>);

impl Throttled {
    /// How often it is said at most.
    pub(crate) const EVERY: Duration = Duration::from_secs(60);

    /// Counts `n` more; returns the count to say now, if it is time.
    pub(crate) fn count(&self, n: u64) -> Option<u64> {
        let mut note = self.0.lock().unwrap_or_else(|p| p.into_inner());
        note.1 += n;
        if note.0.is_some_and(|last| last.elapsed() < Self::EVERY) {
            return None;
        }
        note.0 = Some(Instant::now());
        Some(std::mem::take(&mut note.1))
    }
}
