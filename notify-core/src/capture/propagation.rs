//! One failure, one alert: an `Err` that propagates out through several
//! annotated functions is reported by the innermost only.
//!
//! The rule. When an annotated function is about to report an `Err`, it is
//! the same failure as the last one reported (or counted as a repeat) on
//! this thread if
//! 1. that report was made by an annotated function deeper in the stack
//!    than this one (one it called, directly or not), at most
//!    [`WITHIN_MS`] ago, and
//! 2. that error's text appears in this error's text or in the text of an
//!    error of its `source()` chain — what `?` (through `From`),
//!    `anyhow::Context` and `thiserror`'s `#[from]`/`#[source]` produce.
//!
//! Then it is not reported again, and it becomes the frame that outer
//! functions compare with. An outer function that returns a *different*
//! error (the inner one was handled) still reports: its text does not
//! contain the inner one's. Two calls side by side (neither inside the
//! other) never match, whatever their texts. The record is per thread: an
//! error that crosses threads (a spawned task's result, awaited elsewhere)
//! is reported on each side. Panics are reported once by the panic hook's
//! own bookkeeping (see `panic_hook`).

use std::cell::RefCell;
use std::error::Error;

use super::subject::{ErrorRef, Subject};
use crate::sys::monotonic_ms;

/// How long after the inner report an outer one can still be the same
/// failure: propagation by `?` takes microseconds; a retry loop around the
/// inner call may take seconds.
pub(crate) const WITHIN_MS: u64 = 10_000;

/// Texts of a `source()` chain compared at most.
const MAX_CHAIN: usize = 32;

struct LastReport {
    fingerprint: u64,
    text: String,
    /// A stack address in the reporting function's frame (stacks grow down:
    /// deeper frames have smaller addresses).
    frame: usize,
    at_ms: u64,
}

thread_local! {
    static LAST: RefCell<Option<LastReport>> = const { RefCell::new(None) };
}

/// Whether the error about to be reported from the frame at `frame` is the
/// failure an inner frame already reported (see the module's rule).
pub(crate) fn already_reported(frame: usize, subject: &Subject<'_>) -> bool {
    let Subject::Error(error) = subject else {
        return false;
    };
    let now = monotonic_ms();
    // Copied out: the error's `Display` (user code) runs without the borrow.
    let inner = LAST
        .try_with(|last| {
            let last = last.try_borrow().ok()?;
            let last = last.as_ref()?;
            let deeper = last.frame < frame;
            let recent = now.saturating_sub(last.at_ms) <= WITHIN_MS;
            (deeper && recent && !last.text.is_empty()).then(|| last.text.clone())
        })
        .ok()
        .flatten();
    let Some(inner) = inner else {
        return false;
    };
    if !mentions(error, &inner) {
        return false;
    }
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            if let Some(last) = last.as_mut() {
                last.frame = frame;
                last.at_ms = now;
            }
        }
    });
    true
}

/// An error was reported (its first alert) from the frame at `frame`.
pub(crate) fn reported(fingerprint: u64, text: &str, frame: usize) {
    let record = LastReport {
        fingerprint,
        text: text.to_owned(),
        frame,
        at_ms: monotonic_ms(),
    };
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(record);
        }
    });
}

/// A repeat of an error was counted (not sent) from the frame at `frame`:
/// if it is the one on record, the record is fresh again. No text is
/// formatted for it (a repeat must stay cheap).
#[inline]
pub(crate) fn repeated(fingerprint: u64, frame: usize) {
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            if let Some(last) = last.as_mut().filter(|l| l.fingerprint == fingerprint) {
                last.frame = frame;
                last.at_ms = monotonic_ms();
            }
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
