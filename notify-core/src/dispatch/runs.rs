//! Monitored runs (`#[monitor]`), on the dispatcher: the table of runs in
//! progress, each one's `max_runtime` timer, its messages to the chats and
//! its heartbeat check-ins. The job's thread only sent a
//! [`RunSignal`](crate::capture::RunSignal) (or its failure's alert);
//! everything here runs on the dispatcher's runtime, never on the job's
//! thread.
//!
//! - **Start**: the run enters the table; its timer is set if it has a
//!   `max_runtime`; the heartbeat gets `/start`; the chats get "started"
//!   with `notify(start)`.
//! - **Timer**: a run still in the table when its `max_runtime` passes
//!   gets one still-running alert (a warning), routed like any alert.
//! - **End** (success, a failure's alert, or a failure not alerted): the
//!   run leaves the table, its timer is cancelled, the heartbeat gets
//!   success or `/fail`; the chats get "succeeded" with `notify(success)`,
//!   and always when a still-running alert was sent — that message ends it
//!   (and resolves it in Alertmanager).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::capture::RunRef;

/// The runs in progress, by run id.
#[derive(Default)]
pub(crate) struct Runs {
    table: Mutex<HashMap<u128, Entry>>,
    /// Per job, the end of its last event's turn (see [`Runs::take_turn`]).
    /// One entry per monitored job of the program (their names are static).
    tails: Mutex<HashMap<&'static str, tokio::sync::oneshot::Receiver<()>>>,
}

/// An event of a run waiting for its turn: every event of a job's runs —
/// start, success, failure not alerted, failure alert, `max_runtime`
/// passing — is handled in the order it left the queue (the timer's: when
/// it fired), so a run's start is handled (and checked in) before its end,
/// one run's `/fail` before the next run's `/start`, and a timer that fires
/// late finds the run already ended. Jobs do not wait for each other.
pub(crate) struct Turn {
    previous: Option<tokio::sync::oneshot::Receiver<()>>,
    done: tokio::sync::oneshot::Sender<()>,
}

/// Held while an event is handled; the next one's turn comes when it drops
/// (however the handling ends, even by a panic).
pub(crate) struct InTurn {
    _done: tokio::sync::oneshot::Sender<()>,
}

impl Turn {
    /// Waits until every event before this one is handled.
    pub(crate) async fn wait(self) -> InTurn {
        if let Some(previous) = self.previous {
            // An error: the one before ended without sending, also done.
            let _ = previous.await;
        }
        InTurn { _done: self.done }
    }
}

/// Runs in progress kept at most: a run whose end never came (its signal
/// was dropped with a full queue, counted) must not stay for ever. Past it,
/// the oldest is forgotten (and its timer with it).
const MAX_RUNS: usize = 4096;

/// A run in progress.
struct Entry {
    started: std::time::Instant,
    /// The job's thread, for its still-running alert.
    thread: String,
    /// Its still-running alert was sent.
    still_running: bool,
    /// Its `max_runtime` timer.
    timer: Option<tokio::task::AbortHandle>,
}

impl Runs {
    /// The next turn of `run`'s job, in the order of the calls (the
    /// queue's order: the dispatcher calls this as it takes each event
    /// from the queue).
    pub(super) fn take_turn(&self, run: &RunRef) -> Turn {
        let (done, next) = tokio::sync::oneshot::channel();
        let previous = self
            .tails
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(run.monitor.job, next);
        Turn { previous, done }
    }

    /// A run started, with its `max_runtime` timer: into the table. Past
    /// [`MAX_RUNS`], the oldest run is forgotten: whether one was.
    pub(super) fn start(
        &self,
        run: &RunRef,
        thread: String,
        timer: Option<tokio::task::AbortHandle>,
    ) -> bool {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let mut evicted = false;
        if table.len() >= MAX_RUNS {
            let oldest = table
                .iter()
                .min_by_key(|(_, e)| e.started)
                .map(|(id, _)| *id);
            if let Some(entry) = oldest.and_then(|id| table.remove(&id)) {
                if let Some(timer) = entry.timer {
                    timer.abort();
                }
                evicted = true;
            }
        }
        table.insert(
            run.id,
            Entry {
                started: run.started,
                thread,
                still_running: false,
                timer,
            },
        );
        evicted
    }

    /// A run's `max_runtime` passed: if it is still in the table and has
    /// had no still-running alert, it is marked as having one, and its
    /// thread's name is returned (for the alert).
    pub(super) fn overdue(&self, run: &RunRef) -> Option<String> {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        match table.get_mut(&run.id) {
            Some(entry) if !entry.still_running => {
                entry.still_running = true;
                entry.timer = None;
                Some(entry.thread.clone())
            }
            _ => None,
        }
    }

    /// A run ended: out of the table, its timer cancelled. Whether its
    /// still-running alert was sent.
    pub(super) fn end(&self, run: &RunRef) -> bool {
        self.remove(run.id).unwrap_or(false)
    }

    /// A run whose end was lost (the queue was full, counted): out of the
    /// table, so no still-running alert is raised about a run that ended.
    /// Whether it was in the table.
    pub(super) fn forget(&self, id: u128) -> bool {
        self.remove(id).is_some()
    }

    /// Takes run `id` out of the table and cancels its timer: if it was
    /// there, whether its still-running alert was sent.
    fn remove(&self, id: u128) -> Option<bool> {
        let entry = self
            .table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)?;
        if let Some(timer) = entry.timer {
            timer.abort();
        }
        Some(entry.still_running)
    }
}
