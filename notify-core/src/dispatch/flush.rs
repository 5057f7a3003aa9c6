//! Flush: waiting, bounded by a timeout, until everything taken in so far
//! is delivered.
//!
//! Every alert taken in (queued, or a summary made by a sweep) gets the next
//! sequence number and stays pending until every delivery of it has
//! finished. A flush asks the dispatcher for a sweep (so that open storm
//! windows are summarised), then waits for the alerts numbered before the
//! end of that sweep — not for alerts that came after it, so a flush
//! finishes even while errors keep coming.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::capture::on_notifier_thread;
use crate::wait;

/// A flush's request to the dispatcher for a sweep of every open window.
pub(crate) struct FlushRequest {
    pub(crate) ticket: u64,
}

/// Delivery progress by sequence number; flushers wait on it.
#[derive(Default)]
pub(crate) struct DeliveryLedger {
    progress: Mutex<Progress>,
    changed: Condvar,
}

#[derive(Default)]
struct Progress {
    next_seq: u64,
    pending: BTreeSet<u64>,
    flush_requested: u64,
    /// The newest flush request whose sweep is done...
    flush_swept: u64,
    /// ...and the first number after that sweep's summaries.
    flush_target: u64,
}

impl DeliveryLedger {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes an alert in: its sequence number.
    pub(crate) fn take_in(&self) -> u64 {
        let mut p = self.progress();
        let seq = p.next_seq;
        p.next_seq += 1;
        p.pending.insert(seq);
        seq
    }

    /// Every delivery of `seq` has finished (or it was never queued).
    pub(crate) fn done(&self, seq: u64) {
        self.progress().pending.remove(&seq);
        self.changed.notify_all();
    }

    /// Alerts taken in whose deliveries have not all finished.
    pub(crate) fn pending(&self) -> u64 {
        self.progress().pending.len() as u64
    }

    /// The number the next alert taken in will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.progress().next_seq
    }

    /// The sweep for flush `ticket` is done: the flush waits for everything
    /// taken in so far, that sweep's summaries included.
    pub(crate) fn swept(&self, ticket: u64) {
        let mut p = self.progress();
        p.flush_swept = p.flush_swept.max(ticket);
        p.flush_target = p.next_seq;
        drop(p);
        self.changed.notify_all();
    }

    /// Asks the dispatcher for a sweep and waits until every alert taken in
    /// before its end is delivered, or `timeout` passes. Returns whether
    /// everything was delivered in time.
    pub(crate) fn flush(
        &self,
        requests: &mpsc::UnboundedSender<FlushRequest>,
        timeout: Duration,
    ) -> bool {
        if on_notifier_thread() {
            // The dispatcher would wait for itself.
            return false;
        }
        // No deadline for a timeout too large to add (`Duration::MAX`).
        let deadline = Instant::now().checked_add(timeout);
        let ticket = {
            let mut p = self.progress();
            p.flush_requested += 1;
            p.flush_requested
        };
        if requests.send(FlushRequest { ticket }).is_err() {
            return false;
        }
        wait::until(&self.changed, self.progress(), deadline, |p| {
            p.flush_swept >= ticket && p.pending.range(..p.flush_target).next().is_none()
        })
    }
}
