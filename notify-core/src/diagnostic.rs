//! The notifier's own one-line diagnostics: where they go, and how often a
//! recurring one is said.
//!
//! Lines are said on a thread of their own (`notify-diagnostics`), through
//! a bounded queue: a diagnostic callback that blocks (a slow log shipper, a
//! full pipe on stderr) never holds up the caller — an application thread,
//! the dispatcher, a sink — and lines that do not fit are counted and said
//! later. Flushing waits, within its deadline, until every queued line is
//! said, so a process does not exit with its last diagnostics unsaid.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::wait;

/// A callback for the notifier's own diagnostics (a sink's refusal, a dropped
/// alert); by default they go to stderr, one line each.
pub type DiagnosticFn = Arc<dyn Fn(&str) + Send + Sync>;

/// Lines waiting to be said, at most.
const QUEUE: usize = 1024;

/// Where a notifier's diagnostics go.
pub(crate) struct Diagnostics {
    /// To the diagnostics thread; `None` if it could not start (then lines
    /// are said on the caller's thread).
    queue: Option<SyncSender<String>>,
    callback: DiagnosticFn,
    /// The callback is ours (stderr), not the user's.
    to_stderr: bool,
    progress: Arc<Progress>,
}

/// Lines queued and said, for flushing.
#[derive(Default)]
struct Progress {
    counts: Mutex<(u64, u64)>,
    changed: Condvar,
    /// Lines that did not fit in the queue since the last one said.
    dropped: AtomicU64,
}

thread_local! {
    static ON_DIAGNOSTICS_THREAD: Cell<bool> = const { Cell::new(false) };
}

impl Diagnostics {
    /// To `callback`, or to stderr. `on_thread_start` runs first on the
    /// diagnostics thread (the caller marks it as the notifier's own).
    pub(crate) fn new(callback: Option<DiagnosticFn>, on_thread_start: fn()) -> Self {
        let default = callback.is_none();
        let callback = callback.unwrap_or_else(|| Arc::new(to_stderr));
        let progress = Arc::new(Progress::default());
        let (queue, lines) = mpsc::sync_channel::<String>(QUEUE);
        let spawned = std::thread::Builder::new()
            .name(String::from("notify-diagnostics"))
            .spawn({
                let callback = callback.clone();
                let progress = progress.clone();
                move || {
                    on_thread_start();
                    let _ = ON_DIAGNOSTICS_THREAD.try_with(|d| d.set(true));
                    for line in lines {
                        let dropped = progress.dropped.swap(0, Ordering::Relaxed);
                        if dropped > 0 {
                            call(
                                &callback,
                                &format!(
                                    "{dropped} diagnostics were dropped: the diagnostic callback is not keeping up"
                                ),
                            );
                        }
                        call(&callback, &line);
                        let mut counts = progress.counts.lock().unwrap_or_else(|p| p.into_inner());
                        counts.1 += 1;
                        drop(counts);
                        progress.changed.notify_all();
                    }
                }
            });
        Diagnostics {
            queue: spawned.is_ok().then_some(queue),
            callback,
            to_stderr: default,
            progress,
        }
    }

    /// Says one line, without waiting for the callback. The user's
    /// callback may panic: that never reaches anyone.
    pub(crate) fn say(&self, message: &str) {
        let Some(queue) = &self.queue else {
            call(&self.callback, message);
            return;
        };
        let mut counts = self
            .progress
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match queue.try_send(message.to_owned()) {
            Ok(()) => counts.0 += 1,
            Err(TrySendError::Full(_)) => {
                self.progress.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                drop(counts);
                call(&self.callback, message);
            }
        }
    }

    /// Says one line on the caller's thread, touching neither the queue nor
    /// its lock: for a `fork()` child, where the diagnostics thread (and
    /// whoever held that lock at the fork) does not exist.
    ///
    /// To stderr (the default), it is one `write(2)` — not through std's
    /// stderr lock, which a vanished thread may hold. A user's callback is
    /// the user's to make fork-safe.
    pub(crate) fn say_here(&self, message: &str) {
        #[cfg(unix)]
        if self.to_stderr {
            let line = format!("notify: {message}\n");
            // SAFETY: writes a buffer we own, of its length, to fd 2.
            let _ = unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
            return;
        }
        call(&self.callback, message);
    }

    /// Waits until every line queued so far is said, or `deadline` passes.
    pub(crate) fn wait_said(&self, deadline: Option<Instant>) -> bool {
        if ON_DIAGNOSTICS_THREAD.try_with(Cell::get).unwrap_or(true) {
            return false;
        }
        let progress = &self.progress;
        let counts = progress.counts.lock().unwrap_or_else(|p| p.into_inner());
        // The lines queued so far, not those that keep coming meanwhile.
        let target = counts.0;
        wait::until(&progress.changed, counts, deadline, |counts| {
            counts.1 >= target
        })
    }
}

fn call(callback: &DiagnosticFn, line: &str) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(line)));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A callback that cannot keep up loses lines past the queue, and says
    /// how many once it catches up.
    #[test]
    fn lines_past_the_queue_are_counted_and_said() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let said = Arc::new(Mutex::new(Vec::<String>::new()));
        let callback: DiagnosticFn = {
            let (gate, said) = (gate.clone(), said.clone());
            Arc::new(move |line: &str| {
                let (open, changed) = &*gate;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = changed.wait(open).unwrap();
                }
                said.lock().unwrap().push(line.to_owned());
            })
        };
        let diagnostics = Diagnostics::new(Some(callback), || {});
        // One line taken by the blocked callback, QUEUE waiting, the rest over.
        for i in 0..QUEUE + 10 {
            diagnostics.say(&format!("line {i}"));
        }
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        assert!(diagnostics.wait_said(None));
        let said = said.lock().unwrap();
        let dropped: Vec<&String> = said.iter().filter(|l| l.contains("were dropped")).collect();
        assert_eq!(dropped.len(), 1, "{:?}", &said[..3]);
        let count: usize = dropped[0]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            count + said.len() - 1,
            QUEUE + 10,
            "every line said or counted"
        );
    }
}
