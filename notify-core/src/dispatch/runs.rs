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
use std::sync::{Arc, Mutex};

use super::state::Completion;
use super::stats::Counters;
use super::worker::Dispatcher;
use crate::alert::Alert;
use crate::capture::{still_running_alert, RunRef, RunSignal};

/// The runs in progress, by run id.
#[derive(Default)]
pub(crate) struct Runs {
    table: Mutex<HashMap<u128, Entry>>,
    /// The end of the last signal's handling: each waits for the one
    /// before it (its sender is dropped when it is done, however).
    pub(super) tail: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
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
    /// A run ended: out of the table, its timer cancelled. Whether its
    /// still-running alert was sent.
    fn end(&self, run: &RunRef) -> bool {
        let entry = self
            .table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&run.id);
        match entry {
            Some(entry) => {
                if let Some(timer) = entry.timer {
                    timer.abort();
                }
                entry.still_running
            }
            None => false,
        }
    }
}

impl Dispatcher {
    /// A run's start or end, as its job's thread signalled it.
    pub(super) fn handle_run(self: &Arc<Self>, signal: RunSignal, completion: &Arc<Completion>) {
        let run = *signal.run();
        let ends_still_running = match &signal {
            RunSignal::Started(_, thread) => {
                self.started(run, thread.clone());
                false
            }
            RunSignal::Succeeded { .. } | RunSignal::Failed { .. } => self.runs.end(&run),
        };
        let alert = Arc::new(signal.alert(&self.state.settings, ends_still_running));
        self.check_in(&alert, completion);
        let to_chats = match &signal {
            RunSignal::Started(..) => run.monitor.notify_start,
            RunSignal::Succeeded { .. } => run.monitor.notify_success || ends_still_running,
            // A failure not alerted (a repeat, or an inner call's): the
            // chats hear of it only to end a still-running alert.
            RunSignal::Failed { .. } => ends_still_running,
        };
        if to_chats {
            self.route(&alert, completion);
        }
    }

    /// A run's failure, as its alert (with the backtrace) completes: the
    /// run ends here.
    pub(super) fn run_failed(&self, alert: &mut Alert, run: &RunRef) {
        let ends_still_running = self.runs.end(run);
        if let Some(info) = &mut alert.run {
            info.ends_still_running = ends_still_running;
        }
    }

    /// The heartbeat check-in for a run's alert, if a heartbeat is set.
    pub(super) fn check_in(&self, alert: &Arc<Alert>, completion: &Arc<Completion>) {
        if let Some(heartbeat) = &self.heartbeat {
            heartbeat.deliver(alert, &self.state, self.policy, completion);
        }
    }

    /// A run started: into the table, with its timer.
    fn started(self: &Arc<Self>, run: RunRef, thread: String) {
        let mut table = self.runs.table.lock().unwrap_or_else(|p| p.into_inner());
        let timer = run.monitor.max_runtime().map(|max| {
            let this = self.clone();
            let deadline = tokio::time::Instant::from_std(run.started + max);
            tokio::spawn(async move {
                tokio::time::sleep_until(deadline).await;
                this.still_running(run);
            })
            .abort_handle()
        });
        if table.len() >= MAX_RUNS {
            let oldest = table
                .iter()
                .min_by_key(|(_, e)| e.started)
                .map(|(id, _)| *id);
            if let Some(entry) = oldest.and_then(|id| table.remove(&id)) {
                if let Some(timer) = entry.timer {
                    timer.abort();
                }
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
    }

    /// A run's `max_runtime` passed: one alert, if it is still going.
    fn still_running(self: &Arc<Self>, run: RunRef) {
        let thread = {
            let mut table = self.runs.table.lock().unwrap_or_else(|p| p.into_inner());
            match table.get_mut(&run.id) {
                Some(entry) if !entry.still_running => {
                    entry.still_running = true;
                    entry.timer = None;
                    entry.thread.clone()
                }
                _ => return,
            }
        };
        let state = &self.state;
        let seq = state.ledger.take_in();
        Counters::add(&state.counters.queued, 1);
        let completion = Arc::new(Completion::new(state.clone(), seq));
        let alert = Arc::new(still_running_alert(&run, &state.settings, &thread));
        self.route(&alert, &completion);
    }
}
