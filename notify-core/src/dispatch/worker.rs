//! The dispatcher: one named thread (`notify-dispatcher`) with its own
//! current-thread tokio runtime. It takes alerts from the queue, has their
//! backtraces resolved, completes them, sweeps storm control for summaries,
//! answers flush requests, and hands every alert to the backlog of each
//! sink it routes to. Everything that runs user code (sinks) runs in tasks,
//! whose panics tokio contains.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

use super::backlog::SinkBacklog;
use super::flush::FlushRequest;
use super::resolver::Resolver;
use super::runs::Runs;
use super::sink_thread::SinkThread;
use super::state::{Completion, NotifierState, QueuedAlert};
use super::stats::Counters;
use crate::alert::Alert;
use crate::capture::{mark_notifier_thread, still_running_alert, RunRef, RunSignal};
use crate::diagnostic::Throttled;
use crate::sink::retry::RetryPolicy;
use crate::sink::{SinkGroup, Transport};
use crate::sys::batch_scheduling;

pub(crate) struct Dispatcher {
    pub(super) state: Arc<NotifierState>,
    sinks: Vec<Arc<SinkBacklog>>,
    pub(super) policy: RetryPolicy,
    transport: Transport,
    unknown_routes_reported: Mutex<HashSet<String>>,
    /// Queued alerts taken in at once (one permit each, held until the alert
    /// is handed to its sinks): while backtraces resolve slower than alerts
    /// come, the queue fills and overflow is dropped and counted, instead of
    /// alerts piling up in memory.
    in_flight_limit: usize,
    /// First alerts (by sequence number) whose backtrace is being resolved,
    /// and a signal each time one is done.
    resolving: Mutex<BTreeSet<u64>>,
    resolved: Notify,
    resolver: Resolver,
    /// Said at most once a minute: storm control evicted fingerprints.
    eviction_note: Throttled,
    /// Said at most once a minute: the runs table forgot runs.
    runs_evicted_note: Throttled,
    /// Each sink's thread; they stop when the dispatcher does.
    sink_threads: Mutex<Vec<SinkThread>>,
    /// Monitored runs in progress (see `runs`).
    pub(super) runs: Runs,
    /// Where monitored runs check in, if a heartbeat URL is set. Not a
    /// sink alerts route to: only runs' alerts go there.
    pub(super) heartbeat: Option<Arc<SinkBacklog>>,
}

/// Marks a first alert resolved however its task ends (even by a panic), so
/// a flush never waits for it forever.
struct Resolving(Arc<Dispatcher>, u64);

impl Drop for Resolving {
    fn drop(&mut self) {
        self.0
            .resolving
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.1);
        self.0.resolved.notify_waiters();
    }
}

impl Dispatcher {
    pub(crate) fn new(
        state: Arc<NotifierState>,
        groups: Vec<SinkGroup>,
        policy: RetryPolicy,
        transport: Transport,
        capacity: usize,
        heartbeat: Option<Box<dyn crate::sink::Sink>>,
    ) -> Self {
        let mut sinks = Vec::new();
        let mut sink_threads = Vec::new();
        for group in groups {
            let blocking_threads = group
                .parts
                .iter()
                .map(|p| p.concurrency().clamp(1, 64))
                .fold(0usize, usize::saturating_add);
            let runtime = match SinkThread::start(&group.name, &transport, blocking_threads) {
                Ok(thread) => {
                    let runtime = thread.runtime().clone();
                    sink_threads.push(thread);
                    Some(runtime)
                }
                Err(e) => {
                    state.diagnostics.say(&format!(
                        "cannot start the thread of sink {:?} ({e}); it is delivered to from the dispatcher's",
                        group.name
                    ));
                    None
                }
            };
            for part in group.parts {
                sinks.push(Arc::new(SinkBacklog::new(part, capacity, runtime.clone())));
            }
        }
        Dispatcher {
            state,
            sinks,
            sink_threads: Mutex::new(sink_threads),
            policy,
            transport,
            unknown_routes_reported: Mutex::default(),
            in_flight_limit: capacity,
            resolving: Mutex::default(),
            resolved: Notify::new(),
            resolver: Resolver::start(),
            eviction_note: Throttled::default(),
            runs_evicted_note: Throttled::default(),
            runs: Runs::default(),
            // On the dispatcher's runtime: check-ins are small, and one at
            // a time keeps each run's start before its end.
            heartbeat: heartbeat.map(|sink| Arc::new(SinkBacklog::not_spooled(sink, capacity))),
        }
    }

    /// The dispatcher thread's body: runs until the queue's senders are gone.
    pub(crate) fn run(
        self,
        mut queue: mpsc::Receiver<(u64, QueuedAlert)>,
        mut flush_requests: mpsc::UnboundedReceiver<FlushRequest>,
    ) {
        let this = Arc::new(self);
        mark_notifier_thread();
        this.transport.enter();
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("notify-dispatcher")
            .on_thread_start(mark_notifier_thread)
            // Asleep, the dispatcher is batch-scheduled, so the caller's
            // hand-off that wakes it does not hand it the caller's CPU; awake,
            // it is a normal thread again, so a thread that a user's sink
            // starts from it inherits nothing unusual.
            .on_thread_park(|| batch_scheduling(true))
            .on_thread_unpark(|| batch_scheduling(false))
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                this.state.diagnostics.say(&format!(
                    "cannot start the dispatcher's runtime ({e}); alerts will be dropped"
                ));
                this.stop_sink_threads();
                return;
            }
        };
        let window = this.state.storm.window();
        let sweep_every = (window / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let in_flight = Arc::new(Semaphore::new(this.in_flight_limit.max(1)));
        runtime.block_on(async {
            let mut tick = tokio::time::interval(sweep_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A flush request, and how many alerts queued before it are
            // still to be handled: its sweep waits for them, so that the
            // windows they open have their templates and none of their
            // repeats is left out of the summaries.
            let mut flush: Option<(u64, usize)> = None;
            loop {
                tokio::select! {
                    next = async {
                        // Cancel-safe: a permit taken without an alert is given back.
                        let permit = in_flight.clone().acquire_owned().await.ok();
                        (queue.recv().await, permit)
                    } => match next {
                        (Some((seq, queued)), permit) => {
                            this.handle(seq, queued, permit);
                            if let Some((_, before)) = &mut flush {
                                *before = before.saturating_sub(1);
                            }
                        }
                        (None, _) => break,
                    },
                    request = flush_requests.recv() => match request {
                        Some(FlushRequest { ticket }) => {
                            let ticket = flush.map_or(ticket, |(t, _)| t.max(ticket));
                            flush = Some((ticket, queue.len()));
                        }
                        // The last handle is gone and has flushed (up to its
                        // timeout): stop, even if a hanging sink holds every
                        // delivery slot. Dropping the runtime cancels what is left.
                        None => break,
                    },
                    _ = tick.tick() => this.sweep(false),
                }
                if let Some((ticket, 0)) = flush {
                    flush = None;
                    let this = this.clone();
                    tokio::spawn(async move {
                        // The first alerts handled so far must have their
                        // templates before the sweep, or their windows'
                        // repeats would miss this flush.
                        let before = this.state.ledger.next_seq();
                        this.wait_resolved(before).await;
                        this.sweep(true);
                        this.state.ledger.swept(ticket);
                    });
                }
            }
        });
        this.stop_sink_threads();
    }

    fn stop_sink_threads(&self) {
        self.sink_threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Queues the summaries of closed storm windows (all open ones on flush).
    fn sweep(self: &Arc<Self>, all: bool) {
        self.forget_lost_run_ends();
        let state = &self.state;
        for summary in state.storm.sweep(all) {
            let seq = state.ledger.take_in();
            Counters::add(&state.counters.queued, 1);
            self.handle(seq, QueuedAlert::Summary(summary), None);
        }
        state.counters.lost(state.storm.take_lost());
        let evicted = state.storm.take_evicted();
        if evicted > 0 {
            Counters::add(&state.counters.evicted, evicted);
            if let Some(count) = self.eviction_note.count(evicted) {
                state.diagnostics.say(&format!(
                    "storm control evicted {count} fingerprints: more distinct errors than max_fingerprints"
                ));
            }
        }
    }

    /// Completes a queued alert and delivers it.
    fn handle(
        self: &Arc<Self>,
        seq: u64,
        queued: QueuedAlert,
        permit: Option<OwnedSemaphorePermit>,
    ) {
        let completion = Arc::new(Completion::new(self.state.clone(), seq));
        let resolving = match queued {
            QueuedAlert::First(..) => {
                self.resolving
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(seq);
                Some(Resolving(self.clone(), seq))
            }
            QueuedAlert::Summary(_) | QueuedAlert::Spooled(..) => None,
            QueuedAlert::Run(signal) => {
                // In queue order with every other event of runs (see
                // `runs.rs`): a run's start before its end, a run's
                // `/fail` before the next run's `/start`.
                let previous = self.runs.take_turn(signal.run());
                let this = self.clone();
                tokio::spawn(async move {
                    let _turn = previous.wait().await;
                    this.handle_run(signal, &completion);
                    drop(permit);
                });
                return;
            }
        };
        // A monitored run's failure takes its turn among its run's events
        // now, in queue order; it waits for it once its backtrace is resolved.
        let turn = match &queued {
            QueuedAlert::First(draft, _) => draft.run().map(|run| self.runs.take_turn(&run)),
            _ => None,
        };
        let this = self.clone();
        tokio::spawn(async move {
            let alert = match queued {
                QueuedAlert::First(draft, raw) => {
                    let frames = this.resolver.resolve(raw).await;
                    let run = draft.run();
                    let mut alert = draft.complete(&this.state.settings, frames);
                    let _turn = match turn {
                        Some(turn) => Some(turn.wait().await),
                        None => None,
                    };
                    if let Some(run) = &run {
                        this.run_failed(&mut alert, run);
                    }
                    let alert = Arc::new(alert);
                    if run.is_some() {
                        this.check_in(&alert, &completion);
                    }
                    this.state
                        .storm
                        .set_template(alert.fingerprint, alert.clone());
                    drop(resolving);
                    alert
                }
                QueuedAlert::Summary(summary) => Arc::new(summary.into_alert()),
                QueuedAlert::Run(_) => return,
                QueuedAlert::Spooled(alert, sink) => {
                    let alert = Arc::new(*alert);
                    // To the sink it was for, if this run has one by that name.
                    if let Some(backlog) = this.sinks.iter().find(|b| b.sink.name() == sink) {
                        backlog.deliver(&alert, &this.state, this.policy, &completion);
                        drop(permit);
                        return;
                    }
                    alert
                }
            };
            this.route(&alert, &completion);
            // Handed to the sinks: the next alert may come in.
            drop(permit);
        });
    }

    /// Waits until no first alert numbered before `before` is being resolved.
    async fn wait_resolved(&self, before: u64) {
        loop {
            let resolved = self.resolved.notified();
            let waiting = self
                .resolving
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .range(..before)
                .next()
                .is_some();
            if !waiting {
                return;
            }
            resolved.await;
        }
    }

    /// Hands the alert to the backlog of every sink it routes to.
    pub(super) fn route(&self, alert: &Arc<Alert>, completion: &Arc<Completion>) {
        let routed_somewhere = alert.sinks.is_empty()
            || self
                .sinks
                .iter()
                .any(|backlog| alert.routes_to(backlog.sink.name()));
        if !routed_somewhere {
            self.report_unknown_routes(alert);
        }
        for backlog in &self.sinks {
            if routed_somewhere && !alert.routes_to(backlog.sink.name()) {
                continue;
            }
            if alert.severity < backlog.sink.severity_threshold() || !backlog.sink.accepts(alert) {
                continue;
            }
            backlog.deliver(alert, &self.state, self.policy, completion);
        }
    }

    fn report_unknown_routes(&self, alert: &Alert) {
        let key = alert.sinks.join(",");
        let mut reported = self
            .unknown_routes_reported
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if reported.len() < 256 && reported.insert(key.clone()) {
            self.state.diagnostics.say(&format!(
                "alert {:?} routes to sinks({key}), but no sink has such a name; sending it to every sink",
                alert.title
            ));
        }
    }
}

// ---------------------------------------------------------------------------
// Monitored runs (see `runs`): their signals, failures, timers and check-ins.

impl Dispatcher {
    /// A run's start or end, as its job's thread signalled it.
    pub(super) fn handle_run(self: &Arc<Self>, signal: RunSignal, completion: &Arc<Completion>) {
        let run = *signal.run();
        let ends_still_running = match &signal {
            RunSignal::Started(_, thread) => {
                self.started(run, thread.label());
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
        if self.state.take_lost_run_end(run.id) {
            // Its end came first, and was lost: it is over.
            return;
        }
        let timer = run.monitor.max_runtime().map(|max| {
            let this = self.clone();
            let deadline = tokio::time::Instant::from_std(run.started + max);
            tokio::spawn(async move {
                tokio::time::sleep_until(deadline).await;
                // After the run's events already taken from the queue: a
                // start handled late finds its end handled first.
                let _turn = this.runs.take_turn(&run).wait().await;
                this.still_running(run);
            })
            .abort_handle()
        });
        if self.runs.start(&run, thread, timer) {
            Counters::add(&self.state.counters.dropped, 1);
            if let Some(count) = self.runs_evicted_note.count(1) {
                self.state.diagnostics.say(&format!(
                    "forgot {count} monitored runs that never ended: more than 4096 at once \
                     (no still-running alert or end will be told for them)"
                ));
            }
        }
    }

    /// Forgets the runs in the table whose end was lost with a full queue
    /// (those whose start is still queued are not taken in: `started`).
    pub(super) fn forget_lost_run_ends(&self) {
        let lost_run_ends = &self.state.lost_run_ends;
        // Out from under the lock, which a job's thread may want meanwhile.
        let mut lost =
            std::mem::take(&mut *lost_run_ends.lock().unwrap_or_else(|p| p.into_inner()));
        if lost.is_empty() {
            return;
        }
        lost.retain(|id| !self.runs.forget(*id));
        let mut kept = lost_run_ends.lock().unwrap_or_else(|p| p.into_inner());
        for id in lost {
            if kept.len() < 4096 {
                kept.push_back(id);
            }
        }
    }

    /// A run's `max_runtime` passed: one alert, if it is still going.
    fn still_running(self: &Arc<Self>, run: RunRef) {
        self.forget_lost_run_ends();
        let Some(thread) = self.runs.overdue(&run) else {
            return;
        };
        let state = &self.state;
        let seq = state.ledger.take_in();
        Counters::add(&state.counters.queued, 1);
        let completion = Arc::new(Completion::new(state.clone(), seq));
        let alert = Arc::new(still_running_alert(&run, &state.settings, &thread));
        self.route(&alert, &completion);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The notifier's threads do not preempt the application on wake-up,
    /// and what runs user code is a normal thread while it does (see
    /// [`crate::sys::batch_scheduling`]).
    #[test]
    fn the_background_threads_are_batch_scheduled_while_idle() {
        // A sink that notes its thread and that thread's policy as it sends.
        type Seen = std::sync::Arc<std::sync::Mutex<Vec<(libc::pid_t, libc::c_int)>>>;
        struct Policy(Seen);
        impl crate::Sink for Policy {
            fn name(&self) -> &str {
                "policy"
            }
            fn send<'a>(
                &'a self,
                _alert: &'a crate::Alert,
            ) -> crate::BoxFuture<'a, Result<(), crate::SinkError>> {
                // SAFETY: queries about the calling thread.
                let seen = unsafe { (libc::gettid(), libc::sched_getscheduler(0)) };
                self.0.lock().unwrap().push(seen);
                Box::pin(std::future::ready(Ok(())))
            }
        }
        let seen = Seen::default();
        let notifier = crate::Notifier::builder()
            .sink(Policy(seen.clone()))
            .build()
            .unwrap();
        notifier.report_message(crate::Severity::Warning, "wake up");
        assert!(notifier.flush(std::time::Duration::from_secs(30)));
        let [(_sink_thread, policy)] = seen.lock().unwrap()[..] else {
            panic!("one delivery expected: {:?}", seen.lock().unwrap());
        };
        // Running a sink: a normal thread (the sink's own).
        assert_eq!(policy, libc::SCHED_OTHER);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Asleep, every dispatcher is batch (this one parks within moments
        // of the flush).
        assert!(all_become_batch("notify-dispatch", deadline) > 0);
        // So is every sink thread ("notify-sink:policy", cut to 15 bytes).
        assert!(all_become_batch("notify-sink:pol", deadline) > 0);
        // Every resolver thread (this test's and others') is batch for good.
        assert!(all_become_batch("notify-resolver", deadline) > 0);
    }

    /// Waits until every thread named `name` is `SCHED_BATCH` (or has
    /// ended); how many there were.
    fn all_become_batch(name: &str, deadline: std::time::Instant) -> usize {
        let mut count = 0;
        for (tid, _) in threads().into_iter().filter(|(_, n)| n == name) {
            loop {
                // SAFETY: a query about a thread of this process (-1 once it ended).
                let policy = unsafe { libc::sched_getscheduler(tid) };
                if policy == libc::SCHED_BATCH || policy == -1 {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{name} policy {policy}"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            count += 1;
        }
        count
    }

    /// This process's threads: id and name (`comm`, at most 15 bytes).
    fn threads() -> Vec<(libc::pid_t, String)> {
        let mut threads = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let task = task.unwrap().path();
            let Ok(comm) = std::fs::read_to_string(task.join("comm")) else {
                continue;
            };
            let tid = task.file_name().unwrap().to_str().unwrap().parse().unwrap();
            threads.push((tid, comm.trim().to_owned()));
        }
        threads
    }
}
