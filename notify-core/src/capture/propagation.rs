//! One failure, one alert: an `Err` that propagates out through several
//! annotated functions is reported by the innermost only.
//!
//! The rule. When an annotated function is about to report an `Err`, it is
//! the same failure as the last one reported (or counted as a repeat) on
//! this thread if
//! 1. that report was made *while this call was running* — after it was
//!    entered (for an `async fn` or a returned future: during the poll
//!    that completes it) — so by a function it called, directly or not; and
//! 2. that error's text appears in this error's text or in the text of an
//!    error of its `source()` chain — what `?` (through `From`),
//!    `anyhow::Context` and `thiserror`'s `#[from]`/`#[source]` produce.
//!
//! Then it is not reported again. An outer function that returns a
//! *different* error (the inner one was handled) still reports: its text
//! does not contain the inner one's. Calls side by side never match: the
//! first one's report came before the second was entered. "Entered" is a
//! per-thread count of reports, read when the call starts (one
//! thread-local load); so an error that crosses threads (a spawned task's
//! result, awaited elsewhere) is reported on each side. Panics are
//! reported once by the panic hook's own bookkeeping (see `panic_hook`).

use std::cell::{Cell, RefCell};
use std::error::Error;

use super::subject::{ErrorRef, Subject};

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
    /// ...and its fingerprint (its text is in `LAST_TEXT`).
    last_fingerprint: Cell<u64>,
}

thread_local! {
    static RECORD: Record = const {
        Record {
            // From 1: a stamp of 0 means none.
            reports: Cell::new(1),
            last_seq: Cell::new(0),
            last_fingerprint: Cell::new(0),
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
pub(crate) fn already_reported(entered: Entered, subject: &Subject<'_>) -> bool {
    let Subject::Error(error) = subject else {
        return false;
    };
    let reported_inside = RECORD
        .try_with(|r| r.last_seq.get() > entered.0)
        .unwrap_or(false);
    reported_inside && mentions_last(error)
}

/// Whether `error` mentions the recorded text (the rule's second part).
#[cold]
fn mentions_last(error: &ErrorRef<'_>) -> bool {
    // Copied out: the error's `Display` (user code) runs without the borrow.
    let inner = LAST_TEXT
        .try_with(|t| t.try_borrow().map(|t| t.clone()).ok())
        .ok()
        .flatten()
        .unwrap_or_default();
    !inner.is_empty() && mentions(error, &inner)
}

/// An error was reported (its first alert).
pub(crate) fn reported(fingerprint: u64, text: &str) {
    let _ = RECORD.try_with(|r| {
        let seq = r.reports.get() + 1;
        r.reports.set(seq);
        r.last_seq.set(seq);
        r.last_fingerprint.set(fingerprint);
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
/// contains `inner`.
fn mentions(error: &ErrorRef<'_>, inner: &str) -> bool {
    match error {
        ErrorRef::Text(text) => text.contains(inner),
        ErrorRef::Display(e) => e.to_string().contains(inner),
        ErrorRef::Debug(e) => format!("{e:?}").contains(inner),
        ErrorRef::Error(e) => {
            let mut current: Option<&dyn Error> = Some(*e);
            let mut seen = 0;
            while let Some(error) = current {
                if error.to_string().contains(inner) {
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
