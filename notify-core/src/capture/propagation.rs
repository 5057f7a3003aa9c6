//! One failure, one alert: an `Err` that propagates out through several
//! annotated functions is reported by the innermost only.
//!
//! The rule. When an annotated function is about to report an `Err`, it is
//! the same failure as the last one reported (or counted as a repeat) on
//! this thread if
//! 1. that report was made *while this call was running* — after it was
//!    entered (for an `async fn` or a returned future: during the poll
//!    that completes it) — so by a function it called, directly or not; and
//! 2. that error is this one, or one in its `source()` chain: the same
//!    text — what `?` (unchanged, or through `From` with `#[from]`),
//!    `anyhow::Context` and `thiserror`'s `#[source]` produce; and
//! 3. this function routes nowhere the inner one did not: its `sinks(..)`
//!    are among the inner one's (or the inner one went to every sink), and
//!    its severity is no higher. (An outer `severity = "critical",
//!    sinks("pager")` around an inner plain report still pages.)
//!
//! Then it is not reported again. An outer function that returns a
//! *different* error (the inner one was handled) still reports: neither it
//! nor its sources has the inner one's text. (An error whose text merely
//! quotes the inner one — `format!("export: {e}")` — is a new error, and
//! is reported too: never guess a failure away.) Calls side by side never
//! match: the first one's report came before the second was entered.
//!
//! Across threads. A failure can cross threads: a `tokio::spawn`ed task
//! (on a worker thread) fails, and the task that awaits its `JoinHandle`
//! returns the same error. So part 1 has a second, process-wide form: the
//! last [`RECENT`] first reports of annotated functions are kept with their
//! text, call site and time, numbered by a process-wide count that a call
//! also reads when it starts; a report made on another thread after this
//! call was entered, and at most [`ACROSS_THREADS_MS`] before this one,
//! counts as made "while this call was running". A call cannot know which
//! tasks it awaited, so this widens "by a function it called" to "anywhere
//! in the process, since it started, moments ago" — parts 2 and 3 still
//! have to hold (the same text, routed nowhere further). The price: two
//! unrelated calls on different threads that fail with the very same text
//! within those seconds, the outer one started before the other reported,
//! are taken for one failure. A logged event (`tracing`, `log`) never
//! stands for an annotated function's failure this way, and a repeat on
//! another thread (counted by storm control, not reported) leaves nothing
//! to match: in a loop, the awaiting function's own alert comes once, its
//! later repeats counted in its own window.
//!
//! "Entered" costs a call two loads (a thread-local count and the
//! process-wide one). Panics are reported once by the panic hook's own
//! bookkeeping (see `panic_hook`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::site::CallSite;
use super::subject::{ErrorRef, Subject};
use crate::alert::Severity;

/// Texts of a `source()` chain compared at most.
const MAX_CHAIN: usize = 32;

/// First reports kept for the process-wide form of the rule.
const RECENT: usize = 16;

/// Texts longer than this are not kept process-wide (the per-thread
/// record keeps any).
const MAX_RECENT_TEXT: usize = 4096;

/// When a call started: the thread's count of reports then (at least 1;
/// 0 stands for "not a call's `Err`"), and the process's count of first
/// reports.
#[derive(Clone, Copy, Debug)]
pub struct Entered {
    thread: u64,
    process: u64,
}

impl Entered {
    /// Not the `Err` of an annotated call.
    pub(crate) const NONE: Entered = Entered {
        thread: 0,
        process: 0,
    };

    /// The same stamp, with the process-wide part taken when the call
    /// started (an `async fn`'s first poll) rather than at this poll: a
    /// report on another thread while the call was pending counts.
    #[inline(always)]
    pub(crate) fn since(self, started: u64) -> Entered {
        Entered {
            thread: self.thread,
            process: started,
        }
    }

    /// Whether this stamps a call.
    #[inline(always)]
    pub(crate) fn is_some(self) -> bool {
        self.thread != 0
    }
}

/// First reports made in the process so far (see the module's rule,
/// "Across threads").
static FIRSTS: AtomicU64 = AtomicU64::new(0);

/// The last [`RECENT`] first reports, oldest first.
static RECENT_REPORTS: Mutex<VecDeque<Recent>> = Mutex::new(VecDeque::new());

/// A first report, kept for calls on other threads.
struct Recent {
    /// Its number in [`FIRSTS`].
    seq: u64,
    text: String,
    site: &'static CallSite,
    /// When (`sys::monotonic_ms`).
    at_ms: u64,
}

/// How recent a first report on another thread must be to stand for this
/// call's failure.
const ACROSS_THREADS_MS: u64 = 10_000;

/// The thread's record: plain cells with nothing to drop (so reaching them
/// is one thread-pointer-relative load), so that a suppressed repeat and the
/// stamp of a call cost a few loads and stores.
struct Record {
    /// Reports (and renewed repeats) made on this thread so far.
    reports: Cell<u64>,
    /// The count just after the last report was recorded...
    last_seq: Cell<u64>,
    /// ...its fingerprint (its text is in `LAST_TEXT`)...
    last_fingerprint: Cell<u64>,
    /// ...and where it was reported, for its routing...
    last_site: Cell<Option<&'static CallSite>>,
    /// ...and when (`sys::monotonic_ms`), for a logged event.
    last_ms: Cell<u64>,
}

thread_local! {
    static RECORD: Record = const {
        Record {
            // From 1: a stamp of 0 means none.
            reports: Cell::new(1),
            last_seq: Cell::new(0),
            last_fingerprint: Cell::new(0),
            last_site: Cell::new(None),
            last_ms: Cell::new(0),
        }
    };
    static LAST_TEXT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The process's count of first reports so far (the process-wide part of
/// a stamp).
#[inline(always)]
pub(crate) fn first_reports() -> u64 {
    FIRSTS.load(Ordering::Relaxed)
}

/// No stamp: for a call whose value is a future (its output is stamped
/// when the future completes, by the poll that completes it).
#[inline(always)]
pub fn not_entered() -> Entered {
    Entered::NONE
}

/// Stamps the start of a call (or of a poll).
#[inline(always)]
pub fn entered() -> Entered {
    Entered {
        thread: RECORD.try_with(|r| r.reports.get()).unwrap_or(u64::MAX),
        process: FIRSTS.load(Ordering::Relaxed),
    }
}

/// Whether the error about to be reported by the call stamped `entered` is
/// the failure a call inside it already reported (see the module's rule).
#[inline]
pub(crate) fn already_reported(
    entered: Entered,
    subject: &Subject<'_>,
    site: Option<&'static CallSite>,
) -> bool {
    let Subject::Error(error) = subject else {
        return false;
    };
    let inner_site = RECORD
        .try_with(|r| (r.last_seq.get() > entered.thread).then(|| r.last_site.get()))
        .ok()
        .flatten();
    if let Some(inner_site) = inner_site {
        if routed_within(site, inner_site) && is_or_caused_by_last(error) {
            return true;
        }
    }
    reported_elsewhere(entered, error, site)
}

/// The rule's process-wide form: a first report made on any thread since
/// the call was entered, moments ago, with this error's text and routing.
#[cold]
fn reported_elsewhere(
    entered: Entered,
    error: &ErrorRef<'_>,
    site: Option<&'static CallSite>,
) -> bool {
    // Candidates are copied out: the error's `Display` (user code, which
    // may itself report) runs without the lock.
    let now = crate::sys::monotonic_ms();
    let candidates: Vec<String> = {
        let Ok(recent) = RECENT_REPORTS.lock() else {
            return false;
        };
        recent
            .iter()
            .filter(|r| r.seq > entered.process)
            .filter(|r| now.saturating_sub(r.at_ms) <= ACROSS_THREADS_MS)
            .filter(|r| routed_within(site, Some(r.site)))
            .map(|r| r.text.clone())
            .collect()
    };
    for text in candidates {
        if has_text(error, &text) {
            return true;
        }
    }
    false
}

/// Whether an outer report from `outer` goes nowhere the inner report from
/// `inner` did not, and is no more severe.
fn routed_within(outer: Option<&'static CallSite>, inner: Option<&'static CallSite>) -> bool {
    let (Some(outer), Some(inner)) = (outer, inner) else {
        return false;
    };
    let severity = |site: &CallSite| site.severity.unwrap_or(Severity::Error);
    let sinks_within = inner.sinks.is_empty()
        || (!outer.sinks.is_empty() && outer.sinks.iter().all(|s| inner.sinks.contains(s)));
    sinks_within && severity(outer) <= severity(inner)
}

/// Whether `error`, or an error of its `source()` chain, has the recorded
/// text (the rule's second part).
#[cold]
fn is_or_caused_by_last(error: &ErrorRef<'_>) -> bool {
    // Copied out: the error's `Display` (user code) runs without the borrow.
    let inner = LAST_TEXT
        .try_with(|t| t.try_borrow().map(|t| t.clone()).ok())
        .ok()
        .flatten()
        .unwrap_or_default();
    !inner.is_empty() && has_text(error, &inner)
}

/// An error was reported (its first alert).
pub(crate) fn reported(
    fingerprint: u64,
    text: &str,
    site: Option<&'static CallSite>,
    annotated: bool,
) {
    let _ = RECORD.try_with(|r| {
        let seq = r.reports.get() + 1;
        r.reports.set(seq);
        r.last_seq.set(seq);
        r.last_fingerprint.set(fingerprint);
        r.last_site.set(site);
        r.last_ms.set(crate::sys::monotonic_ms());
    });
    let _ = LAST_TEXT.try_with(|t| {
        if let Ok(mut last) = t.try_borrow_mut() {
            last.clear();
            last.push_str(text);
        }
    });
    let seq = FIRSTS.fetch_add(1, Ordering::Relaxed) + 1;
    // Only an annotated function's report stands for a failure on another
    // thread (not a logged event's).
    if let (Some(site), true, true) = (site, annotated, text.len() <= MAX_RECENT_TEXT) {
        if let Ok(mut recent) = RECENT_REPORTS.lock() {
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(Recent {
                seq,
                text: text.to_owned(),
                site,
                at_ms: crate::sys::monotonic_ms(),
            });
        }
    }
}

/// How soon after a report a logged event with the same text counts as
/// the same failure (see [`just_reported`]).
const LOGGED_AFTER_MS: u64 = 1_000;

/// Whether a logged event (a `tracing` event, a `log` record) with this
/// text is the failure reported last on this thread, within the last
/// [`LOGGED_AFTER_MS`]: an error logged where an annotated function's `Err`
/// arrives (`#[tracing::instrument(err)]` around an annotated function, a
/// caller that logs what it got), or logged twice on its way up.
///
/// The other order — an event logged inside an annotated function that
/// then returns the same error — is the module's rule itself: the event is
/// an inner report of that call.
///
/// Never the event's own call site: an event that repeats is a repeat,
/// counted by storm control. And never an event that goes further than
/// that report did (another sink, a higher severity: a `warn!` of an error
/// does not stand for the `error!` of it that follows), as for the rule
/// between annotated functions.
pub(crate) fn just_reported(text: &str, site: Option<&'static CallSite>) -> bool {
    let recent = RECORD
        .try_with(|r| {
            let last = r.last_site.get();
            let elsewhere = match (last, site) {
                (Some(last), Some(site)) => !std::ptr::eq(last, site),
                _ => true,
            };
            r.last_seq.get() > 0
                && elsewhere
                && routed_within(site, last)
                && crate::sys::monotonic_ms().saturating_sub(r.last_ms.get()) <= LOGGED_AFTER_MS
        })
        .unwrap_or(false);
    recent
        && LAST_TEXT
            .try_with(|t| t.try_borrow().is_ok_and(|t| *t == text))
            .unwrap_or(false)
}

/// A repeat of an error was counted (not sent): if it is the one on record,
/// the record is renewed. No text is formatted (a repeat stays cheap).
#[inline]
pub(crate) fn repeated(fingerprint: u64) {
    let _ = RECORD.try_with(|r| {
        if r.last_fingerprint.get() == fingerprint {
            let seq = r.reports.get() + 1;
            r.reports.set(seq);
            r.last_seq.set(seq);
            // Not its time: a clock read on every suppressed repeat costs
            // more than the rare duplicate it would save (an event logged
            // over a second after the failure's first report, see
            // `just_reported`, is then an alert of its own).
        }
    });
}

/// Whether `error`'s text, or the text of an error in its `source()` chain,
/// is `inner`.
fn has_text(error: &ErrorRef<'_>, inner: &str) -> bool {
    match error {
        ErrorRef::Text(text) => *text == inner,
        ErrorRef::Display(e) => e.to_string() == inner,
        ErrorRef::Debug(e) => format!("{e:?}") == inner,
        ErrorRef::Error(e) => {
            let mut current: Option<&dyn Error> = Some(*e);
            let mut seen = 0;
            while let Some(error) = current {
                if error.to_string() == inner {
                    return true;
                }
                seen += 1;
                if seen >= MAX_CHAIN {
                    break;
                }
                current = error.source();
            }
            false
        }
    }
}
