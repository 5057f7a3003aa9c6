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
//! is reported too: never guess a failure away.) Calls side by side never match: the
//! first one's report came before the second was entered. "Entered" is a
//! per-thread count of reports, read when the call starts (one
//! thread-local load); so an error that crosses threads (a spawned task's
//! result, awaited elsewhere) is reported on each side. Panics are
//! reported once by the panic hook's own bookkeeping (see `panic_hook`).

use std::cell::{Cell, RefCell};
use std::error::Error;

use super::site::CallSite;
use super::subject::{ErrorRef, Subject};
use crate::alert::Severity;

/// Texts of a `source()` chain compared at most.
const MAX_CHAIN: usize = 32;

/// When a call started: the thread's count of reports then (at least 1;
/// 0 stands for "not a call's `Err`").
#[derive(Clone, Copy, Debug)]
pub struct Entered(u64);

impl Entered {
    /// Not the `Err` of an annotated call.
    pub(crate) const NONE: Entered = Entered(0);

    /// Whether this stamps a call.
    #[inline(always)]
    pub(crate) fn is_some(self) -> bool {
        self.0 != 0
    }
}

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
    /// ...and where it was reported, for its routing.
    last_site: Cell<Option<&'static CallSite>>,
}

thread_local! {
    static RECORD: Record = const {
        Record {
            // From 1: a stamp of 0 means none.
            reports: Cell::new(1),
            last_seq: Cell::new(0),
            last_fingerprint: Cell::new(0),
            last_site: Cell::new(None),
        }
    };
    static LAST_TEXT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Stamps the start of a call (or of a poll).
#[inline(always)]
pub fn entered() -> Entered {
    Entered(RECORD.try_with(|r| r.reports.get()).unwrap_or(u64::MAX))
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
        .try_with(|r| (r.last_seq.get() > entered.0).then(|| r.last_site.get()))
        .ok()
        .flatten();
    match inner_site {
        Some(inner_site) => routed_within(site, inner_site) && is_or_caused_by_last(error),
        None => false,
    }
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
pub(crate) fn reported(fingerprint: u64, text: &str, site: Option<&'static CallSite>) {
    let _ = RECORD.try_with(|r| {
        let seq = r.reports.get() + 1;
        r.reports.set(seq);
        r.last_seq.set(seq);
        r.last_fingerprint.set(fingerprint);
        r.last_site.set(site);
    });
    let _ = LAST_TEXT.try_with(|t| {
        if let Ok(mut last) = t.try_borrow_mut() {
            last.clear();
            last.push_str(text);
        }
    });
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
