//! What a notifier's callers, its dispatcher and its flushers share.

use std::sync::Arc;
use std::time::Duration;

use super::flush::DeliveryLedger;
use super::stats::Counters;
use crate::alert::{Alert, AlertKind};
use crate::capture::{Draft, RawBacktrace, RunSignal};
use crate::diagnostic::Diagnostics;
use crate::settings::Settings;
use crate::storm::{StormControl, Summary};

/// The state of one notifier, shared by every thread that touches it.
pub(crate) struct NotifierState {
    pub(crate) storm: StormControl,
    pub(crate) settings: Settings,
    pub(crate) diagnostics: Diagnostics,
    pub(crate) flush_timeout: Duration,
    pub(crate) ledger: DeliveryLedger,
    pub(crate) counters: Counters,
    /// [`crate::sys::forks`] when the notifier started: if it differs, this
    /// is a `fork()` child, where the notifier's threads do not run.
    pub(crate) forks: u64,
    /// Alerts raised in a `fork()` child, which are not sent.
    pub(crate) orphaned: std::sync::atomic::AtomicU64,
    /// Where undelivered alerts go at exit (`None`: nowhere).
    pub(crate) spool: Option<std::path::PathBuf>,
    /// Deliveries not done yet, or given up on after their retries: what
    /// the spool takes at exit. By delivery id: (sink, alert).
    /// By id, so in the order they were started (oldest first).
    pub(crate) unsent: std::sync::Mutex<std::collections::BTreeMap<u64, (String, Arc<Alert>)>>,
    /// The ids in `unsent` given up on after their retries, oldest first:
    /// bounded by what the spool would keep (a long-running process whose
    /// sink is down does not hold every alert it ever failed to send).
    pub(crate) given_up: std::sync::Mutex<std::collections::VecDeque<u64>>,
    pub(crate) next_delivery: std::sync::atomic::AtomicU64,
    /// Monitored runs whose end was dropped with a full queue (counted):
    /// the dispatcher forgets them — or, if their start is still queued,
    /// does not take them in — so it never says they are still running.
    /// The last 4096.
    pub(crate) lost_run_ends: std::sync::Mutex<std::collections::VecDeque<u128>>,
}

impl NotifierState {
    /// A run's end did not get into the queue (dropped and counted).
    pub(crate) fn run_end_lost(&self, id: u128) {
        let mut lost = self.lost_run_ends.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded like the runs table (which forgets its oldest past it).
        if lost.len() >= 4096 {
            lost.pop_front();
        }
        lost.push_back(id);
    }

    /// Whether run `id`'s end was lost; it is no longer kept if so.
    pub(crate) fn take_lost_run_end(&self, id: u128) -> bool {
        let mut lost = self.lost_run_ends.lock().unwrap_or_else(|p| p.into_inner());
        match lost.iter().position(|lost| *lost == id) {
            Some(at) => {
                lost.remove(at);
                true
            }
            None => false,
        }
    }

    /// Whether this process is a `fork()` child of the one that started the
    /// notifier: its dispatcher, sinks and diagnostics threads are gone, and
    /// its locks may be held by threads that no longer exist.
    #[inline]
    pub(crate) fn orphaned(&self) -> bool {
        crate::sys::forks() != self.forks
    }

    /// A delivery started: kept for the spool until [`Self::sent`] —
    /// unless it is news of now that a later run would only get wrong (a
    /// run's start; a still-running alert, which nothing would resolve).
    pub(crate) fn sending(&self, sink: &str, alert: &Arc<Alert>) -> u64 {
        let id = self
            .next_delivery
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let of_now = matches!(alert.kind, AlertKind::Started | AlertKind::StillRunning);
        if self.spool.is_some() && !of_now {
            self.unsent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, (sink.to_owned(), alert.clone()));
        }
        id
    }

    /// A delivery was given up on after its retries: it stays for the
    /// spool, but no more than the spool keeps — past that, the oldest is
    /// dropped, and counted (the account at exit says it).
    pub(crate) fn given_up(&self, id: u64) {
        if self.spool.is_none() {
            return;
        }
        let mut given_up = self.given_up.lock().unwrap_or_else(|p| p.into_inner());
        given_up.push_back(id);
        while given_up.len() > super::spool::MAX_FILES {
            let Some(oldest) = given_up.pop_front() else {
                break;
            };
            let removed = self
                .unsent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&oldest);
            if removed.is_some() {
                self.counters.lost(1);
            }
        }
    }

    /// A delivery is done with: delivered, or refused for good (a retry in
    /// a later run would be refused too). One given up on after its retries
    /// stays, for the spool.
    pub(crate) fn sent(&self, id: u64) {
        if self.spool.is_some() {
            self.unsent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }
    }
}

/// An alert on its way through the queue to the dispatcher.
pub(crate) enum QueuedAlert {
    /// The first alert of a storm window, as the caller drafted it: the
    /// dispatcher resolves its backtrace and completes it, and storm control
    /// keeps it as the template of the window's summary.
    First(Draft, RawBacktrace),
    /// A storm summary, made into an alert by the dispatcher.
    Summary(Summary),
    /// An alert a previous run spooled, for the sink of that name (or, if
    /// there is none, wherever it routes).
    Spooled(Box<Alert>, String),
    /// A monitored run started or ended (see `runs`).
    Run(RunSignal),
}

/// Marks one alert done in the ledger when its last delivery has finished,
/// however it ends (even by a panic), so a flush never waits for it forever.
pub(crate) struct Completion {
    state: Arc<NotifierState>,
    seq: u64,
}

impl Completion {
    pub(crate) fn new(state: Arc<NotifierState>, seq: u64) -> Self {
        Completion { state, seq }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        self.state.ledger.done(self.seq);
    }
}
