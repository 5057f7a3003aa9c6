//! A call site's slot for its latest storm: the fingerprint it is armed for
//! and the repeats counted since storm control last looked, updated with one
//! compare-and-swap. A repeat of the same error from the same call site — the
//! error in a hot loop — is counted here without the shared table's lock or
//! its hash-map probe.
//!
//! The slot is armed by storm control (under the lock of the fingerprint's
//! shard) for one entry of its table, and only that entry drains or releases
//! it. Its state word packs an *arming id* with the count, so a repeat can
//! only ever be counted for the arming it checked: re-arming changes the
//! word, and a compare-and-swap against the old word then fails.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Bits of the state word that hold the count.
const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
/// The arming id of a free slot.
const FREE: u64 = 0;
/// The arming id while a slot is being armed (its fields being written).
const BUSY: u64 = (1 << (64 - COUNT_BITS)) - 1;

/// The repeat slot of one call site (lives in its static `CallSite`).
#[derive(Debug)]
pub struct RepeatSlot {
    /// Arming id (high 24 bits) and repeats counted (low 40 bits).
    state: AtomicU64,
    /// What the arming is for: which table, which fingerprint, until when
    /// (the table's milliseconds). Written before the arming id is published.
    owner: AtomicU64,
    fingerprint: AtomicU64,
    until_ms: AtomicU64,
    /// When the first and last repeat of the current count happened (the
    /// table's milliseconds); the span of a summary, to the millisecond.
    first_ms: AtomicU64,
    last_ms: AtomicU64,
}

/// How stale the time given to [`RepeatSlot::count_repeat`] may be: the
/// table's clock is read on every slow path, every sweep (at most a second
/// apart) and every [`REFRESH_EVERY`]th repeat counted in a slot.
pub(crate) const CLOCK_LAG_MS: u64 = 2_000;

/// A slot's repeats between two readings of the clock, at most.
pub(crate) const REFRESH_EVERY: u64 = 64;

/// What [`RepeatSlot::count_repeat`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Counted: the slot's `nth` repeat since it was last drained.
    Counted { nth: u64 },
    /// Close to the window's end: ask again with the exact time.
    ReadTheClock,
    /// Not for this slot (free, another fingerprint or table, the window
    /// over): the table decides.
    NotHere,
}

/// An arming of a slot, held by the table entry it counts for.
#[derive(Clone, Copy)]
pub(crate) struct Arming {
    pub(crate) slot: &'static RepeatSlot,
    id: u64,
}

/// Repeats taken out of a slot.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counted {
    pub(crate) count: u64,
    pub(crate) first_ms: u64,
    pub(crate) last_ms: u64,
}

impl Default for RepeatSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl RepeatSlot {
    /// A free slot (usable in a `static`).
    pub const fn new() -> Self {
        RepeatSlot {
            state: AtomicU64::new(FREE),
            owner: AtomicU64::new(0),
            fingerprint: AtomicU64::new(0),
            until_ms: AtomicU64::new(0),
            first_ms: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
        }
    }

    /// Counts a repeat of `fingerprint` at `now_ms` if the slot is armed for
    /// it by `owner` and its window is still open.
    ///
    /// `now_ms` may be the table's last reading of the clock, up to
    /// [`CLOCK_LAG_MS`] old (`exact` false): then, within that much of the
    /// window's end, the answer is [`Repeat::ReadTheClock`], and the caller
    /// asks again with the time read now. Far from the end, a stale reading
    /// cannot be wrong about the window being open.
    #[inline]
    pub(crate) fn count_repeat(
        &self,
        owner: u64,
        fingerprint: u64,
        now_ms: u64,
        exact: bool,
    ) -> Repeat {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let id = state >> COUNT_BITS;
            if id == FREE || id == BUSY || state & COUNT_MASK == COUNT_MASK {
                return Repeat::NotHere;
            }
            // These were written before the arming id was published (the
            // acquire above). If they are being rewritten for a new arming,
            // the state word has changed and the exchange below fails.
            if self.fingerprint.load(Ordering::Relaxed) != fingerprint
                || self.owner.load(Ordering::Relaxed) != owner
            {
                return Repeat::NotHere;
            }
            let until = self.until_ms.load(Ordering::Relaxed);
            if now_ms >= until {
                return Repeat::NotHere;
            }
            if !exact && now_ms.saturating_add(CLOCK_LAG_MS) >= until {
                return Repeat::ReadTheClock;
            }
            match self.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    let count = state & COUNT_MASK;
                    if count == 0 {
                        self.first_ms.store(now_ms, Ordering::Relaxed);
                    }
                    self.last_ms.store(now_ms, Ordering::Relaxed);
                    return Repeat::Counted { nth: count + 1 };
                }
                Err(actual) => state = actual,
            }
        }
    }

    /// Repeats counted and not yet taken (for tests).
    #[cfg(test)]
    pub(crate) fn pending(&self) -> u64 {
        self.state.load(Ordering::Relaxed) & COUNT_MASK
    }

    /// Arms a free slot for `fingerprint` of `owner`'s table, until
    /// `until_ms`. None if another entry holds it.
    pub(crate) fn arm(
        &'static self,
        owner: u64,
        fingerprint: u64,
        until_ms: u64,
    ) -> Option<Arming> {
        self.state
            .compare_exchange(
                FREE,
                BUSY << COUNT_BITS,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .ok()?;
        self.owner.store(owner, Ordering::Relaxed);
        self.fingerprint.store(fingerprint, Ordering::Relaxed);
        self.until_ms.store(until_ms, Ordering::Relaxed);
        self.first_ms.store(0, Ordering::Relaxed);
        self.last_ms.store(0, Ordering::Relaxed);
        let id = next_arming_id();
        self.state.store(id << COUNT_BITS, Ordering::Release);
        Some(Arming { slot: self, id })
    }
}

impl Arming {
    /// Takes the repeats counted so far; the slot stays armed.
    pub(crate) fn drain(&self) -> Counted {
        self.take(self.id << COUNT_BITS)
    }

    /// Takes the repeats counted so far and frees the slot.
    pub(crate) fn release(self) -> Counted {
        self.take(FREE)
    }

    fn take(&self, new_state: u64) -> Counted {
        let slot = self.slot;
        let mut state = slot.state.load(Ordering::Acquire);
        loop {
            if state >> COUNT_BITS != self.id {
                // Only the entry holding the arming changes it: unreachable,
                // but never take another arming's count.
                return Counted::default();
            }
            let count = state & COUNT_MASK;
            if count == 0 && new_state == state {
                return Counted::default();
            }
            match slot.state.compare_exchange_weak(
                state,
                new_state,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Counted {
                        count,
                        first_ms: slot.first_ms.load(Ordering::Relaxed),
                        last_ms: slot.last_ms.load(Ordering::Relaxed),
                    }
                }
                Err(actual) => state = actual,
            }
        }
    }
}

/// Arming ids: 1..BUSY, round and round. A counter compares the id it
/// loaded with the id at its compare-and-swap; only if 2^24 − 2 armings of
/// this one slot happened in between (while that thread was paused between
/// two instructions) could it count for the wrong arming.
fn next_arming_id() -> u64 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    u64::from(NEXT.fetch_add(1, Ordering::Relaxed)) % (BUSY - 1) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_slot_counts_its_own_fingerprint_until_its_window_ends() {
        static SLOT: RepeatSlot = RepeatSlot::new();
        let exact = |fingerprint, owner, now| SLOT.count_repeat(owner, fingerprint, now, true);
        assert_eq!(exact(7, 1, 0), Repeat::NotHere, "free");
        let arming = SLOT.arm(1, 7, 100).unwrap();
        assert!(SLOT.arm(1, 8, 100).is_none(), "held");
        assert_eq!(exact(7, 1, 10), Repeat::Counted { nth: 1 });
        assert_eq!(exact(7, 1, 20), Repeat::Counted { nth: 2 });
        assert_eq!(exact(8, 1, 20), Repeat::NotHere, "another fingerprint");
        assert_eq!(exact(7, 2, 20), Repeat::NotHere, "another table");
        assert_eq!(exact(7, 1, 100), Repeat::NotHere, "the window ended");
        // A reading that may be stale, near the window's end: read the clock.
        assert_eq!(SLOT.count_repeat(1, 7, 20, false), Repeat::ReadTheClock);
        let counted = arming.drain();
        assert_eq!(
            (counted.count, counted.first_ms, counted.last_ms),
            (2, 10, 20)
        );
        assert_eq!(arming.drain().count, 0);
        assert_eq!(exact(7, 1, 30), Repeat::Counted { nth: 1 });
        assert_eq!(arming.release().count, 1);
        assert_eq!(exact(7, 1, 40), Repeat::NotHere, "released");
        let arming = SLOT.arm(1, 8, 1_000_000).unwrap();
        // Far from the window's end, a stale reading is good enough.
        assert_eq!(
            SLOT.count_repeat(1, 8, 5, false),
            Repeat::Counted { nth: 1 }
        );
        assert_eq!(arming.release().count, 1);
    }

    /// Threads counting while the slot is drained and re-armed: every
    /// repeat is counted exactly once, by the arming it was counted for.
    #[test]
    fn no_repeat_is_lost_or_counted_twice_under_contention() {
        static SLOT: RepeatSlot = RepeatSlot::new();
        let counted_fast = std::sync::atomic::AtomicU64::new(0);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let mut taken = 0;
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        if let Repeat::Counted { .. } = SLOT.count_repeat(1, 7, 5, true) {
                            counted_fast.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            for round in 0..2_000 {
                let arming = loop {
                    if let Some(arming) = SLOT.arm(1, 7, 1_000) {
                        break arming;
                    }
                };
                taken += arming.drain().count;
                if round % 3 == 0 {
                    std::thread::yield_now();
                }
                taken += arming.release().count;
            }
            stop.store(true, Ordering::Relaxed);
        });
        assert_eq!(taken, counted_fast.load(Ordering::Relaxed));
    }
}
