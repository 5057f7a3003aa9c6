//! Storm control: the same alert repeated in a loop is sent once, counted
//! while its window is open, and summarised when the window closes.
//!
//! A fingerprint is the call site + kind + error text; the text is streamed
//! into the hasher through `fmt::Write`, never formatted into a `String`, so
//! checking a repeat allocates nothing. The table is sharded and capped (the
//! shards' capacities add up to exactly `max_fingerprints`): when a shard is
//! full, its oldest entry is evicted and the eviction is counted. An evicted
//! entry's repeats are never forgotten: they are summarised at once, or, if
//! its first alert is still on its way to the dispatcher (no template yet),
//! kept aside as an *orphan* until the template arrives.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::hash::Hasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::alert::{Alert, Repeats};

const SHARDS: usize = 16;

/// A stable 64-bit hasher (FxHash-style, processes 8 bytes at a time), so the
/// same failure has the same fingerprint in every process of a fleet. The
/// byte stream is cut into little-endian 8-byte words however it was
/// written: streaming a text in pieces gives the hash of the whole.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fingerprinter {
    hash: u64,
    /// Bytes of the word being filled, little-endian.
    pending: u64,
    /// How many bytes `pending` holds (0..8).
    len: u32,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fingerprinter {
    /// A fresh hasher (usable in `const` context).
    pub(crate) const fn new() -> Self {
        Fingerprinter {
            hash: 0,
            pending: 0,
            len: 0,
        }
    }

    #[inline(always)]
    const fn mix(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }

    #[inline]
    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
        // A separator so ("ab","c") and ("a","bc") differ.
        self.byte(0xff);
    }

    #[inline(always)]
    pub(crate) const fn byte(&mut self, b: u8) {
        self.pending |= (b as u64) << (8 * self.len);
        self.len += 1;
        if self.len == 8 {
            let word = self.pending;
            self.mix(word);
            self.pending = 0;
            self.len = 0;
        }
    }

    // Byte loops for the unaligned head and tail (at most 7 bytes each)
    // rather than `copy_from_slice`: short writes are the common case (a
    // `Display` impl writes in small pieces), and a `memcpy` call per piece
    // cost more than the hashing.
    pub(crate) fn bytes(&mut self, mut bytes: &[u8]) {
        while self.len != 0 {
            let Some((&b, rest)) = bytes.split_first() else {
                return;
            };
            self.byte(b);
            bytes = rest;
        }
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk); // constant length: a plain load
            self.mix(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.byte(b);
        }
    }

    /// [`Fingerprinter::str`] in `const` context, for call sites hashed at
    /// compile time (the same result; the run-time one is faster).
    pub(crate) const fn str_const(&mut self, s: &str) {
        self.bytes_const(s.as_bytes());
        self.byte(0xff);
    }

    /// [`Fingerprinter::bytes`] in `const` context.
    pub(crate) const fn bytes_const(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            self.byte(bytes[i]);
            i += 1;
        }
    }

    pub(crate) fn finish(mut self) -> u64 {
        if self.len > 0 {
            let word = self.pending ^ (u64::from(self.len) << 56);
            self.mix(word);
        }
        // Final avalanche (from splitmix64), so close inputs spread over the shards.
        let mut z = self.hash;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl fmt::Write for Fingerprinter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

impl Hasher for Fingerprinter {
    fn finish(&self) -> u64 {
        Fingerprinter::finish(*self)
    }
    fn write(&mut self, bytes: &[u8]) {
        self.bytes(bytes);
    }
}

/// Streams `value`'s `Display` into a fingerprint without allocating.
pub(crate) fn hash_display(fp: &mut Fingerprinter, value: &dyn fmt::Display) {
    let _ = write!(fp, "{value}");
    fp.byte(0xfe);
}

/// Streams `value`'s `Debug` into a fingerprint without allocating.
pub(crate) fn hash_debug(fp: &mut Fingerprinter, value: &dyn fmt::Debug) {
    let _ = write!(fp, "{value:?}");
    fp.byte(0xfe);
}

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

/// Milliseconds on a monotonic clock, for windows.
///
/// On Linux this is `CLOCK_MONOTONIC_COARSE`: read from the vDSO without
/// touching the hardware clock (a few ns, against ~25 ns for the precise
/// clock on a VM — a sixth of a suppressed repeat's cost), in ticks of
/// 1–4 ms. Windows are counted in milliseconds and last seconds, so a tick
/// of error is nothing. Elsewhere it is [`std::time::Instant`].
fn monotonic_ms() -> u64 {
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
        }
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    fn now_ms(&self) -> u64 {
        monotonic_ms().saturating_sub(self.epoch_ms)
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
    pub(crate) fn check(&self, fingerprint: u64) -> Decision {
        if self.window_ms == 0 {
            return Decision::Send(None);
        }
        let now = self.now_ms();
        let mut shard = self.shard(fingerprint);
        if let Some(entry) = shard.entries.get_mut(&fingerprint) {
            if now < entry.window_start.saturating_add(self.window_ms) {
                if entry.count == 0 {
                    entry.first = now;
                }
                entry.count += 1;
                entry.last = now;
                return Decision::Suppress;
            }
            // The window closed: its repeats (if the sweeper has not taken
            // them yet) are summarised now, and this alert opens a new window.
            let summary = self.take_summary(entry);
            entry.window_start = now;
            // The new window's summary is built from its own first alert
            // (this one), once it reaches the dispatcher; if it never does,
            // `forget` can drop the entry.
            entry.template = None;
            return Decision::Send(summary);
        }
        let mut summary = None;
        if shard.entries.len() >= shard.cap {
            summary = self.evict_oldest(&mut shard);
        }
        shard.entries.insert(
            fingerprint,
            Entry {
                window_start: now,
                count: 0,
                first: now,
                last: now,
                template: None,
            },
        );
        Decision::Send(summary)
    }

    /// Forgets a fingerprint whose first alert could not be queued, so the
    /// next repeat is tried again rather than counted against an alert that
    /// was never sent. Returns the repeats it had counted meanwhile.
    pub(crate) fn forget(&self, fingerprint: u64) -> u64 {
        let mut shard = self.shard(fingerprint);
        match shard.entries.get(&fingerprint) {
            Some(entry) if entry.template.is_none() => {
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
        alert
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_const_hashing_gives_the_run_time_hash() {
        let text = "billing::export::nightly — 결제 실패 🙈 (attempt 12345678901)";
        for split in 0..text.len() {
            if !text.is_char_boundary(split) {
                continue;
            }
            let (head, tail) = text.split_at(split);
            let mut run_time = Fingerprinter::new();
            run_time.bytes(head.as_bytes());
            run_time.str(tail);
            let mut compile_time = Fingerprinter::new();
            compile_time.bytes_const(head.as_bytes());
            compile_time.str_const(tail);
            assert_eq!(run_time.finish(), compile_time.finish(), "split at {split}");
        }
    }

    #[test]
    fn fingerprint_is_the_same_however_the_text_is_streamed() {
        let mut a = Fingerprinter::default();
        a.bytes(b"hello world, this is long");
        let mut b = Fingerprinter::default();
        for chunk in [&b"hel"[..], b"lo world", b", this is", b" long"] {
            b.bytes(chunk);
        }
        assert_eq!(a.finish(), b.finish());
    }

    #[test]
    fn fingerprints_are_stable_across_versions_and_processes() {
        // Pinned: a fleet's processes, and the next release, must agree.
        let mut a = Fingerprinter::default();
        a.bytes(b"hello world, this is long");
        assert_eq!(a.finish(), 0xb356_abd3_cb24_65f0);
        let mut b = Fingerprinter::default();
        b.str("disk full");
        assert_eq!(b.finish(), 0xfb2c_a2e4_40a2_2b52);
    }

    #[test]
    fn different_text_gives_a_different_fingerprint() {
        let mut a = Fingerprinter::default();
        a.str("ab");
        a.str("c");
        let mut b = Fingerprinter::default();
        b.str("a");
        b.str("bc");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn repeats_inside_the_window_are_suppressed() {
        let storm = StormControl::new(Duration::from_secs(60), 100, 1024);
        assert!(matches!(storm.check(7), Decision::Send(None)));
        for _ in 0..10 {
            assert!(matches!(storm.check(7), Decision::Suppress));
        }
        assert!(matches!(storm.check(8), Decision::Send(None)));
    }

    #[test]
    fn table_is_capped() {
        let storm = StormControl::new(Duration::from_secs(60), 64, 1024);
        for fp in 0..10_000u64 {
            let _ = storm.check(fp.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        assert!(storm.len() <= 64, "{}", storm.len());
        assert_eq!(storm.take_evicted(), 10_000 - storm.len() as u64);
    }

    #[test]
    fn shard_capacities_add_up_to_the_cap() {
        for max in [1, 5, 15, 16, 17, 100, 1000, 1023] {
            let storm = StormControl::new(Duration::from_secs(60), max, 1024);
            for fp in 0..(max as u64 * 40 + 100) {
                let _ = storm.check(fp.wrapping_mul(0x9e37_79b9_7f4a_7c15));
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
        assert!(matches!(storm.check(1), Decision::Send(None)));
        storm.set_template(1, template(1));
        assert!(matches!(storm.check(1), Decision::Suppress));
        assert!(matches!(storm.check(1), Decision::Suppress));
        // A second fingerprint evicts the first: its summary comes back.
        match storm.check(2) {
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
        assert!(matches!(storm.check(1), Decision::Send(None)));
        for _ in 0..3 {
            assert!(matches!(storm.check(1), Decision::Suppress));
        }
        // Evicted before the dispatcher saw the first alert of 1.
        assert!(matches!(storm.check(2), Decision::Send(None)));
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
        assert!(matches!(storm.check(1), Decision::Send(None)));
        assert!(matches!(storm.check(1), Decision::Suppress));
        assert!(matches!(storm.check(2), Decision::Send(None)));
        // The first alert of 1 could not be queued: its repeat is handed back.
        assert_eq!(storm.forget(1), 1);
        storm.set_template(1, template(1));
        assert!(storm.sweep(true).is_empty());
    }

    #[test]
    fn a_closed_window_keeps_its_repeats_until_the_template_arrives() {
        let storm = StormControl::new(Duration::from_millis(200), 10, 1024);
        assert!(matches!(storm.check(1), Decision::Send(None)));
        assert!(matches!(storm.check(1), Decision::Suppress));
        std::thread::sleep(Duration::from_millis(250));
        // Closed, but the first alert is still on its way: nothing to say yet,
        // and nothing forgotten.
        assert!(storm.sweep(false).is_empty());
        storm.set_template(1, template(1));
        assert_eq!(repeats_of(&storm.sweep(false), 1), 1);
        assert_eq!(storm.len(), 0, "closed and summarised: forgotten");
    }
}
