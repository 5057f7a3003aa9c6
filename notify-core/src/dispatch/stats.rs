//! A notifier's counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a notifier, for tests and health checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Alerts accepted into the queue (summaries included), and the start
    /// and end signals of monitored runs (`#[monitor]`).
    pub queued: u64,
    /// Alerts dropped: the queue was full, a sink already had
    /// `queue_capacity` deliveries waiting (counted once per such sink), or
    /// the spool deleted its oldest entries to stay within its bounds.
    pub dropped: u64,
    /// Deliveries (alert × sink) that succeeded, heartbeat check-ins of
    /// monitored runs included.
    pub delivered: u64,
    /// Deliveries that failed for good (check-ins included).
    pub failed: u64,
    /// Fingerprints evicted from storm control because the table was full.
    pub evicted: u64,
    /// Alerts taken in whose deliveries have not all finished yet (at exit:
    /// not delivered before the flush timeout ended).
    pub pending: u64,
    /// Deliveries (alert × sink) made as a line of a digest rather than a
    /// message of their own: several alerts waited for a chat sink at once
    /// (see [`Alert::digest`](crate::Alert::digest)). Counted in
    /// `delivered` too.
    pub coalesced: u64,
    /// Digest messages sent.
    pub digests: u64,
    /// Alerts written to the spool at exit, for the next run to deliver
    /// (see [`NotifierBuilder::spool_dir`](crate::NotifierBuilder::spool_dir)).
    pub spooled: u64,
}

/// The live counters behind [`Stats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) queued: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) evicted: AtomicU64,
    pub(crate) coalesced: AtomicU64,
    pub(crate) digests: AtomicU64,
    pub(crate) spooled: AtomicU64,
    /// Dropped since the last alert that got through: told in the next one.
    pub(crate) dropped_since: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Alerts lost before they reached the queue or a sink: counted, and
    /// told in the next alert that gets through.
    pub(crate) fn lost(&self, n: u64) {
        if n > 0 {
            self.dropped_since.fetch_add(n, Ordering::Relaxed);
            self.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            queued: self.queued.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            evicted: self.evicted.load(Ordering::Relaxed),
            pending: 0,
            coalesced: self.coalesced.load(Ordering::Relaxed),
            digests: self.digests.load(Ordering::Relaxed),
            spooled: self.spooled.load(Ordering::Relaxed),
        }
    }
}
