//! Storm control: the same alert repeated in a loop is sent once, counted
//! while its window is open, and summarised when the window closes.
//!
//! Alerts are keyed by their [fingerprint](crate::fingerprint); checking a
//! repeat allocates nothing. The table is sharded and capped (the
//! shards' capacities add up to exactly `max_fingerprints`): when a shard is
//! full, its oldest entry is evicted and the eviction is counted. An evicted
//! entry's repeats are never forgotten: they are summarised at once, or, if
//! its first alert is still on its way to the dispatcher (no template yet),
//! kept aside as an *orphan* until the template arrives.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

mod repeat_slot;

pub use repeat_slot::RepeatSlot;
use repeat_slot::{Repeat, REFRESH_EVERY};

use crate::alert::{Alert, Repeats};
use crate::sys::monotonic_ms;
use repeat_slot::{Arming, Counted};

const SHARDS: usize = 16;

/// What to do with an alert.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Send it. If the previous window of this fingerprint had repeats, their
    /// summary is handed back to be sent first.
    Send(Option<Summary>),
    /// A repeat inside the window: counted, not sent.
    Suppress,
}

struct Entry {
    /// Start of the current window, in ms since `StormControl::epoch_ms`.
    window_start: u64,
    /// Suppressed repeats in the current window.
    count: u64,
    first: u64,
    last: u64,
    /// The alert that opened the window, to build its summary from.
    template: Option<Arc<Alert>>,
    /// The call site's repeat slot, when this entry holds it: repeats
    /// counted there belong to `count` (see [`Entry::absorb`]).
    arming: Option<Arming>,
}

impl Entry {
    fn new(now: u64) -> Self {
        Entry {
            window_start: now,
            count: 0,
            first: now,
            last: now,
            template: None,
            arming: None,
        }
    }

    /// Adds repeats counted in the call site's slot. Their times are read
    /// after the count (and from a reading up to a few seconds old), so
    /// they are kept within the window and in order.
    fn add(&mut self, counted: Counted) {
        if counted.count == 0 {
            return;
        }
        let first = counted.first_ms.max(self.window_start);
        let last = counted.last_ms.max(first);
        if self.count == 0 {
            self.first = first;
            self.last = last;
        } else {
            self.first = self.first.min(first);
            self.last = self.last.max(last);
        }
        self.count += counted.count;
    }

    /// Takes in what the slot counted; the slot stays armed. Every reader
    /// of `count` absorbs first.
    fn absorb(&mut self) {
        if let Some(arming) = &self.arming {
            let counted = arming.drain();
            self.add(counted);
        }
    }

    /// Takes in what the slot counted and frees it for another entry.
    fn disarm(&mut self) {
        if let Some(arming) = self.arming.take() {
            self.add(arming.release());
        }
    }
}

struct Shard {
    entries: HashMap<u64, Entry, BuildPassThrough>,
    /// How many entries this shard may hold.
    cap: usize,
    /// Evicted entries with repeats whose first alert has not reached the
    /// dispatcher yet, oldest first. Each has a first alert in flight, so
    /// there are no more than the dispatcher holds queued and in delivery.
    orphans: Vec<(u64, Entry)>,
}

/// The key already is a good hash.
#[derive(Default, Clone, Copy)]
struct BuildPassThrough;
impl std::hash::BuildHasher for BuildPassThrough {
    type Hasher = PassThrough;
    fn build_hasher(&self) -> PassThrough {
        PassThrough(0)
    }
}
struct PassThrough(u64);
impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Fingerprint table, sharded by fingerprint.
pub(crate) struct StormControl {
    window: Duration,
    window_ms: u64,
    shards: Box<[Mutex<Shard>]>,
    /// [`monotonic_ms`] when the table was made.
    epoch_ms: u64,
    epoch_wall: SystemTime,
    evicted: std::sync::atomic::AtomicU64,
    /// Repeats that could not be summarised (orphans past their bound).
    lost: std::sync::atomic::AtomicU64,
    /// Bound on each shard's orphans.
    max_orphans: usize,
    /// Tells this table's armings of call sites' slots from another's.
    id: u64,
    /// The last reading of [`StormControl::now_ms`]: what a repeat counted
    /// in a call site's slot is timed by, far from its window's end (see
    /// [`RepeatSlot::count_repeat`]).
    clock: std::sync::atomic::AtomicU64,
}

impl StormControl {
    /// `in_flight` bounds the first alerts that can be on their way to the
    /// dispatcher at once (queued or being handled), hence the orphans.
    pub(crate) fn new(window: Duration, max_fingerprints: usize, in_flight: usize) -> Self {
        let max = max_fingerprints.max(1);
        // Fewer shards than SHARDS when the cap is tiny, so that every shard
        // holds at least one entry and the capacities add up to `max`.
        let count = SHARDS.min(max);
        StormControl {
            window,
            window_ms: window.as_millis().min(u128::from(u64::MAX)) as u64,
            shards: (0..count)
                .map(|i| {
                    let cap = max / count + usize::from(i < max % count);
                    Mutex::new(Shard {
                        // Grows on demand: a large cap costs nothing until used.
                        entries: HashMap::with_capacity_and_hasher(cap.min(64), BuildPassThrough),
                        cap,
                        orphans: Vec::new(),
                    })
                })
                .collect(),
            epoch_ms: monotonic_ms(),
            epoch_wall: SystemTime::now(),
            evicted: std::sync::atomic::AtomicU64::new(0),
            lost: std::sync::atomic::AtomicU64::new(0),
            max_orphans: in_flight.max(MIN_ORPHANS),
            clock: std::sync::atomic::AtomicU64::new(0),
            id: {
                static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
                NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
        }
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// Reads the clock (and keeps the reading for the slots' fast path).
    fn now_ms(&self) -> u64 {
        let now = monotonic_ms().saturating_sub(self.epoch_ms);
        self.clock
            .fetch_max(now, std::sync::atomic::Ordering::Relaxed);
        now
    }

    fn wall(&self, ms: u64) -> SystemTime {
        self.epoch_wall + Duration::from_millis(ms)
    }

    fn shard(&self, fingerprint: u64) -> MutexGuard<'_, Shard> {
        // Middle bits: the table itself uses the low bits (bucket) and the
        // top seven (control bytes) of the same value.
        let shard = &self.shards[(fingerprint >> 24) as usize % self.shards.len()];
        // A panic while holding the lock leaves the table consistent (plain
        // counters), so a poisoned lock is still usable.
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Fingerprints evicted because the table was full, since the last call.
    pub(crate) fn take_evicted(&self) -> u64 {
        self.evicted.swap(0, std::sync::atomic::Ordering::Relaxed)
    }

    /// Repeats that could not be summarised, since the last call: reported
    /// as dropped.
    pub(crate) fn take_lost(&self) -> u64 {
        self.lost.swap(0, std::sync::atomic::Ordering::Relaxed)
    }

    /// The caller's-thread check: allocation-free for a suppressed repeat.
    ///
    /// `slot` is the call site's [`RepeatSlot`], if the report comes from
    /// one: a repeat of the fingerprint it is armed for is counted there,
    /// with one compare-and-swap, before the shared table is touched, and
    /// without reading the clock unless its window is within
    /// [`CLOCK_LAG_MS`](repeat_slot::CLOCK_LAG_MS) of its end. (The table's
    /// last reading is at most that old while the dispatcher sweeps, at
    /// least once a second. If the dispatcher is stalled — then nothing is
    /// delivered anyway — a slot may keep counting into a window that has
    /// ended, until the next sweep closes it: the repeats are in its
    /// summary, none is lost.)
    #[inline]
    pub(crate) fn check(&self, fingerprint: u64, slot: Option<&'static RepeatSlot>) -> Decision {
        if self.window_ms == 0 {
            return Decision::Send(None);
        }
        if let Some(slot) = slot {
            // Without reading the clock: the last reading is close enough
            // unless the window is about to end.
            let last_reading = self.clock.load(std::sync::atomic::Ordering::Relaxed);
            match slot.count_repeat(self.id, fingerprint, last_reading, false) {
                Repeat::Counted { nth } => {
                    if nth % REFRESH_EVERY == 0 {
                        self.now_ms();
                    }
                    return Decision::Suppress;
                }
                Repeat::ReadTheClock => {
                    let now = self.now_ms();
                    if let Repeat::Counted { .. } =
                        slot.count_repeat(self.id, fingerprint, now, true)
                    {
                        return Decision::Suppress;
                    }
                    return self.check_table(fingerprint, Some(slot), now);
                }
                Repeat::NotHere => {}
            }
        }
        let now = self.now_ms();
        self.check_table(fingerprint, slot, now)
    }

    /// [`check`](Self::check) in the shared table: a new fingerprint, a
    /// closed window, a repeat that its call site's slot does not hold.
    #[inline(never)]
    fn check_table(
        &self,
        fingerprint: u64,
        slot: Option<&'static RepeatSlot>,
        now: u64,
    ) -> Decision {
        let mut shard = self.shard(fingerprint);
        if let Some(entry) = shard.entries.get_mut(&fingerprint) {
            entry.absorb();
            let until = entry.window_start.saturating_add(self.window_ms);
            if now < until {
                if entry.count == 0 {
                    entry.first = now;
                }
                entry.count += 1;
                entry.last = now;
                if entry.arming.is_none() {
                    // The slot is free again (its last holder's window
                    // closed): the next repeats are counted there.
                    entry.arming = slot.and_then(|s| s.arm(self.id, fingerprint, until));
                }
                return Decision::Suppress;
            }
            // The window closed: its repeats (if the sweeper has not taken
            // them yet) are summarised now, and this alert opens a new window.
            entry.disarm();
            let summary = self.take_summary(entry);
            entry.window_start = now;
            // The new window's summary is built from its own first alert
            // (this one), once it reaches the dispatcher; if it never does,
            // `forget` can drop the entry.
            entry.template = None;
            entry.arming =
                slot.and_then(|s| s.arm(self.id, fingerprint, now.saturating_add(self.window_ms)));
            return Decision::Send(summary);
        }
        let mut summary = None;
        if shard.entries.len() >= shard.cap {
            summary = self.evict_oldest(&mut shard);
        }
        let mut entry = Entry::new(now);
        entry.arming =
            slot.and_then(|s| s.arm(self.id, fingerprint, now.saturating_add(self.window_ms)));
        shard.entries.insert(fingerprint, entry);
        Decision::Send(summary)
    }

    /// Forgets a fingerprint whose first alert could not be queued, so the
    /// next repeat is tried again rather than counted against an alert that
    /// was never sent. Returns the repeats it had counted meanwhile.
    pub(crate) fn forget(&self, fingerprint: u64) -> u64 {
        let mut shard = self.shard(fingerprint);
        match shard.entries.get_mut(&fingerprint) {
            Some(entry) if entry.template.is_none() => {
                entry.disarm();
                let count = entry.count;
                shard.entries.remove(&fingerprint);
                count
            }
            Some(_) => 0,
            // Evicted meanwhile: the newest orphan of this fingerprint is
            // the window that this alert opened.
            None => match shard
                .orphans
                .iter()
                .rposition(|(fp, e)| *fp == fingerprint && e.template.is_none())
            {
                Some(i) => shard.orphans.remove(i).1.count,
                None => 0,
            },
        }
    }

    /// Remembers the alert that opened a window, to build its summary later.
    /// First alerts reach the dispatcher in the order they were queued, so
    /// the oldest orphan of this fingerprint waits for this one.
    pub(crate) fn set_template(&self, fingerprint: u64, alert: Arc<Alert>) {
        if self.window_ms == 0 {
            return;
        }
        let mut shard = self.shard(fingerprint);
        if let Some((_, orphan)) = shard
            .orphans
            .iter_mut()
            .find(|(fp, e)| *fp == fingerprint && e.template.is_none())
        {
            orphan.template = Some(alert);
            return;
        }
        if let Some(entry) = shard.entries.get_mut(&fingerprint) {
            entry.template = Some(alert);
        }
    }

    fn evict_oldest(&self, shard: &mut Shard) -> Option<Summary> {
        // A linear scan: evictions only happen on a new fingerprint (which
        // captures a backtrace anyway), and shards are small at the default cap.
        let oldest = shard
            .entries
            .iter()
            .min_by_key(|(_, e)| e.window_start)
            .map(|(k, _)| *k)?;
        let mut entry = shard.entries.remove(&oldest)?;
        entry.disarm();
        self.evicted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if entry.count > 0 && entry.template.is_none() {
            // Its first alert is still queued: summarise when it arrives.
            if shard.orphans.len() >= self.max_orphans {
                // Only if first alerts never reach the dispatcher (it could
                // not start): drop the oldest rather than grow without bound.
                let (_, lost) = shard.orphans.remove(0);
                self.lost
                    .fetch_add(lost.count, std::sync::atomic::Ordering::Relaxed);
            }
            shard.orphans.push((oldest, entry));
            return None;
        }
        self.take_summary(&mut entry)
    }

    fn take_summary(&self, entry: &mut Entry) -> Option<Summary> {
        if entry.count == 0 {
            return None;
        }
        // Without its template (the first alert is still on its way to the
        // dispatcher) the count stays, to be summarised on a later sweep.
        let template = entry.template.clone()?;
        let repeats = Repeats {
            count: std::mem::take(&mut entry.count),
            first: self.wall(entry.first),
            last: self.wall(entry.last),
        };
        Some(Summary { template, repeats })
    }

    /// Summaries of windows that have closed (or of every open window when
    /// `all`, for flush and shutdown); forgets closed windows without repeats
    /// so the table only holds what is live.
    pub(crate) fn sweep(&self, all: bool) -> Vec<Summary> {
        let now = self.now_ms();
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.entries.retain(|_, entry| {
                let closed = now >= entry.window_start.saturating_add(self.window_ms);
                if closed {
                    // No repeat is counted in the slot past the window's end.
                    entry.disarm();
                } else if all {
                    entry.absorb();
                }
                if closed || all {
                    if let Some(summary) = self.take_summary(entry) {
                        out.push(summary);
                    }
                }
                // A closed window whose repeats still wait for their
                // template stays until a later sweep can summarise them.
                !closed || entry.count > 0
            });
            shard.orphans.retain_mut(|(_, orphan)| {
                if let Some(summary) = self.take_summary(orphan) {
                    out.push(summary);
                }
                orphan.count > 0
            });
        }
        out
    }

    /// How many fingerprints are tracked now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).entries.len())
            .sum()
    }
}

impl Drop for StormControl {
    /// Frees the call sites' slots this table armed, for the next table.
    fn drop(&mut self) {
        for shard in self.shards.iter_mut() {
            let shard = shard.get_mut().unwrap_or_else(|p| p.into_inner());
            for entry in shard.entries.values_mut() {
                entry.disarm();
            }
        }
    }
}

/// Orphans a shard may keep even when its cap is tiny.
const MIN_ORPHANS: usize = 64;

/// The repeats of one window, with the alert that opened it. Turned into an
/// alert on the dispatcher thread ([`Summary::into_alert`]): the caller who
/// happens to close a window only hands it over.
#[derive(Debug)]
pub(crate) struct Summary {
    pub(crate) template: Arc<Alert>,
    pub(crate) repeats: Repeats,
}

impl Summary {
    pub(crate) fn into_alert(self) -> Alert {
        let Summary { template, repeats } = self;
        let mut alert = Arc::unwrap_or_clone(template);
        alert.title = format!(
            "{} (repeated {} more {})",
            alert.title,
            repeats.count,
            if repeats.count == 1 { "time" } else { "times" }
        );
        alert.repeats = Some(repeats);
        alert.timestamp = repeats.last;
        alert.dropped = 0;
        if let Some(run) = &mut alert.run {
            // The repeats are other runs' failures: none ends the first
            // run's still-running alert again.
            run.ends_still_running = false;
        }
        alert
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_inside_the_window_are_suppressed() {
        let storm = StormControl::new(Duration::from_secs(60), 100, 1024);
        assert!(matches!(storm.check(7, None), Decision::Send(None)));
        for _ in 0..10 {
            assert!(matches!(storm.check(7, None), Decision::Suppress));
        }
        assert!(matches!(storm.check(8, None), Decision::Send(None)));
    }

    #[test]
    fn table_is_capped() {
        let storm = StormControl::new(Duration::from_secs(60), 64, 1024);
        for fp in 0..10_000u64 {
            let _ = storm.check(fp.wrapping_mul(0x9e37_79b9_7f4a_7c15), None);
        }
        assert!(storm.len() <= 64, "{}", storm.len());
        assert_eq!(storm.take_evicted(), 10_000 - storm.len() as u64);
    }

    #[test]
    fn shard_capacities_add_up_to_the_cap() {
        for max in [1, 5, 15, 16, 17, 100, 1000, 1023] {
            let storm = StormControl::new(Duration::from_secs(60), max, 1024);
            for fp in 0..(max as u64 * 40 + 100) {
                let _ = storm.check(fp.wrapping_mul(0x9e37_79b9_7f4a_7c15), None);
            }
            // Full, and never past the cap.
            assert_eq!(storm.len(), max, "max_fingerprints = {max}");
        }
    }

    fn template(fingerprint: u64) -> Arc<Alert> {
        Arc::new(Alert {
            kind: crate::alert::AlertKind::Error,
            severity: crate::alert::Severity::Error,
            title: String::from("Error in export"),
            app_name: String::from("app"),
            environment: None,
            host: String::from("host"),
            process_id: 1,
            thread: String::from("main"),
            timestamp: SystemTime::now(),
            location: crate::alert::Location {
                function: String::from("app::export"),
                file: String::from("src/main.rs"),
                line: 1,
            },
            message: String::from("disk full"),
            causes: Vec::new(),
            panic_location: None,
            backtrace: Vec::new(),
            context: Vec::new(),
            repeats: None,
            dropped: 0,
            fingerprint,
            sinks: Vec::new(),
            digest: Vec::new(),
            run: None,
        })
    }

    fn repeats_of(summaries: &[Summary], fingerprint: u64) -> u64 {
        summaries
            .iter()
            .filter(|s| s.template.fingerprint == fingerprint)
            .map(|s| s.repeats.count)
            .sum()
    }

    #[test]
    fn evicted_repeats_are_summarised_at_once_when_the_template_is_there() {
        let storm = StormControl::new(Duration::from_secs(60), 1, 1024);
        assert!(matches!(storm.check(1, None), Decision::Send(None)));
        storm.set_template(1, template(1));
        assert!(matches!(storm.check(1, None), Decision::Suppress));
        assert!(matches!(storm.check(1, None), Decision::Suppress));
        // A second fingerprint evicts the first: its summary comes back.
        match storm.check(2, None) {
            Decision::Send(Some(summary)) => {
                assert_eq!(summary.template.fingerprint, 1);
                assert_eq!(summary.repeats.count, 2);
            }
            other => panic!("expected the evicted summary, got {other:?}"),
        }
        assert_eq!(storm.take_evicted(), 1);
    }

    #[test]
    fn evicted_repeats_wait_for_a_template_that_is_still_queued() {
        let storm = StormControl::new(Duration::from_secs(60), 1, 1024);
        assert!(matches!(storm.check(1, None), Decision::Send(None)));
        for _ in 0..3 {
            assert!(matches!(storm.check(1, None), Decision::Suppress));
        }
        // Evicted before the dispatcher saw the first alert of 1.
        assert!(matches!(storm.check(2, None), Decision::Send(None)));
        assert_eq!(storm.take_evicted(), 1);
        assert!(storm.sweep(true).is_empty(), "no template yet");
        // The first alert of 1 reaches the dispatcher.
        storm.set_template(1, template(1));
        let summaries = storm.sweep(false);
        assert_eq!(repeats_of(&summaries, 1), 3);
        assert!(storm.sweep(true).is_empty(), "summarised once");
    }

    #[test]
    fn a_forgotten_orphan_is_not_summarised() {
        let storm = StormControl::new(Duration::from_secs(60), 1, 1024);
        assert!(matches!(storm.check(1, None), Decision::Send(None)));
        assert!(matches!(storm.check(1, None), Decision::Suppress));
        assert!(matches!(storm.check(2, None), Decision::Send(None)));
        // The first alert of 1 could not be queued: its repeat is handed back.
        assert_eq!(storm.forget(1), 1);
        storm.set_template(1, template(1));
        assert!(storm.sweep(true).is_empty());
    }

    #[test]
    fn a_closed_window_keeps_its_repeats_until_the_template_arrives() {
        let storm = StormControl::new(Duration::from_millis(200), 10, 1024);
        assert!(matches!(storm.check(1, None), Decision::Send(None)));
        assert!(matches!(storm.check(1, None), Decision::Suppress));
        std::thread::sleep(Duration::from_millis(250));
        // Closed, but the first alert is still on its way: nothing to say yet,
        // and nothing forgotten.
        assert!(storm.sweep(false).is_empty());
        storm.set_template(1, template(1));
        assert_eq!(repeats_of(&storm.sweep(false), 1), 1);
        assert_eq!(storm.len(), 0, "closed and summarised: forgotten");
    }

    /// Repeats from one call site are counted in its slot, without the
    /// table; they are in the summary all the same, and the slot is freed
    /// when the window closes.
    #[test]
    fn a_call_sites_repeats_are_counted_in_its_slot() {
        static SLOT: RepeatSlot = RepeatSlot::new();
        let storm = StormControl::new(Duration::from_millis(300), 1000, 1024);
        assert!(matches!(storm.check(1, Some(&SLOT)), Decision::Send(None)));
        storm.set_template(1, template(1));
        for _ in 0..5 {
            assert!(matches!(storm.check(1, Some(&SLOT)), Decision::Suppress));
        }
        assert_eq!(SLOT.pending(), 5, "counted in the slot");
        // Another error at the same site: the table, not the slot.
        assert!(matches!(storm.check(2, Some(&SLOT)), Decision::Send(None)));
        assert!(matches!(storm.check(2, Some(&SLOT)), Decision::Suppress));
        assert_eq!(SLOT.pending(), 5);
        // A flush summarises the slot's repeats with the table's.
        let summaries = storm.sweep(true);
        assert_eq!(repeats_of(&summaries, 1), 5);
        assert_eq!(SLOT.pending(), 0);
        assert!(matches!(storm.check(1, Some(&SLOT)), Decision::Suppress));
        assert_eq!(SLOT.pending(), 1);
        // The window closes: the sweep takes the last repeat and frees the
        // slot; the next error opens a window and arms it again.
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(repeats_of(&storm.sweep(false), 1), 1);
        assert!(matches!(storm.check(2, Some(&SLOT)), Decision::Send(_)));
        assert!(matches!(storm.check(2, Some(&SLOT)), Decision::Suppress));
        assert_eq!(SLOT.pending(), 1, "armed for the other error now");
        drop(storm);
        assert_eq!(SLOT.pending(), 0, "a dropped table frees its slots");
    }

    /// An entry evicted, forgotten or reopened takes its slot's repeats along.
    #[test]
    fn an_evicted_entry_takes_its_slots_repeats_along() {
        static SLOT: RepeatSlot = RepeatSlot::new();
        let storm = StormControl::new(Duration::from_secs(60), 1, 1024);
        assert!(matches!(storm.check(1, Some(&SLOT)), Decision::Send(None)));
        storm.set_template(1, template(1));
        assert!(matches!(storm.check(1, Some(&SLOT)), Decision::Suppress));
        assert!(matches!(storm.check(1, Some(&SLOT)), Decision::Suppress));
        match storm.check(2, None) {
            Decision::Send(Some(summary)) => assert_eq!(summary.repeats.count, 2),
            other => panic!("expected the evicted summary, got {other:?}"),
        }
        assert_eq!(SLOT.pending(), 0);
        // Freed: the next error from the site can arm it.
        assert!(matches!(storm.check(3, Some(&SLOT)), Decision::Send(_)));
        assert!(matches!(storm.check(3, Some(&SLOT)), Decision::Suppress));
        assert_eq!(SLOT.pending(), 1);
        assert_eq!(
            storm.forget(3),
            1,
            "a forgotten entry hands back its slot's count"
        );
        assert_eq!(SLOT.pending(), 0);
    }
}
