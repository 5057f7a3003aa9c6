//! Each sink's own backlog: the deliveries waiting for it or in flight,
//! bounded, so a sink that is slow or never answers costs bounded memory,
//! misses alerts only itself (counted, said once a minute, and told in the
//! next alert it gets) and delays no other sink.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::state::{Completion, NotifierState};
use super::stats::Counters;
use crate::alert::Alert;
use crate::capture::payload_text;
use crate::diagnostic::Throttled;
use crate::sink::retry::{self, RetryPolicy};
use crate::sink::Sink;

/// A sink with its backlog and its delivery state.
pub(crate) struct SinkBacklog {
    pub(crate) sink: Box<dyn Sink>,
    /// The sink's own thread's runtime, where its deliveries run (the
    /// dispatcher's own, if that thread could not start).
    runtime: Option<tokio::runtime::Handle>,
    /// Deliveries in flight at once (the sink's `concurrency`).
    in_flight: Semaphore,
    /// Deliveries waiting or in flight, at most `capacity`.
    waiting: Arc<Semaphore>,
    capacity: usize,
    /// Set when the platform asked us to wait: every delivery to this sink waits.
    pause: retry::Pause,
    /// Said at most once a minute: this sink is not keeping up.
    overflow_note: Throttled,
    /// Alerts this sink missed (and the drops they reported), to be told in
    /// the next alert it gets.
    missed: AtomicU64,
    /// For a sink that takes digests: the deliveries waiting, sent by one
    /// worker task at a time — all that wait when it is free go as one
    /// digest.
    queue: Mutex<VecDeque<Waiting>>,
    /// Whether that worker task is running.
    draining: AtomicBool,
    /// Whether deliveries not done at exit go to the spool (not the
    /// heartbeat's: a check-in is about now, not a later run).
    spooled: bool,
    /// The sink's [`Sink::digest_room`], asked once (it is user code).
    digest_room: Option<usize>,
    /// Said at most once a minute: the sink's `digest_line_cost` panicked.
    cost_panicked: Throttled,
}

/// A delivery waiting in a digest sink's queue.
struct Waiting {
    alert: Arc<Alert>,
    /// Its id for the spool (see `NotifierState::sending`), if it is kept.
    id: Option<u64>,
    _completion: Arc<Completion>,
    _slot: OwnedSemaphorePermit,
}

/// Why a message was not delivered.
struct Undelivered {
    /// The sink's error, or the panic's payload.
    reason: String,
    /// A later attempt (another run) might succeed: kept for the spool.
    retryable: bool,
    panicked: bool,
}

impl Undelivered {
    /// The diagnostic: `sink "x" did not deliver <what>: <reason>`.
    fn line(&self, sink: &str, what: &str) -> String {
        if self.panicked {
            format!(
                "sink {sink:?} panicked while delivering {what}: {}",
                self.reason
            )
        } else {
            format!("sink {sink:?} did not deliver {what}: {}", self.reason)
        }
    }
}

/// Alerts taken into one digest at most (each is one line; a digest of
/// more goes out as several messages anyway).
const MAX_DIGEST: usize = 500;

impl SinkBacklog {
    pub(crate) fn new(
        sink: Box<dyn Sink>,
        capacity: usize,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Self {
        // User code, asked once: a sink that panics here takes no digests.
        let digest_room =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.digest_room()))
                .unwrap_or(None);
        SinkBacklog {
            runtime,
            in_flight: Semaphore::new(sink.concurrency().clamp(1, 64)),
            waiting: Arc::new(Semaphore::new(capacity.max(1))),
            capacity: capacity.max(1),
            sink,
            pause: retry::Pause::default(),
            overflow_note: Throttled::default(),
            missed: AtomicU64::new(0),
            queue: Mutex::new(VecDeque::new()),
            draining: AtomicBool::new(false),
            spooled: true,
            digest_room,
            cost_panicked: Throttled::default(),
        }
    }

    /// A backlog on the dispatcher's own runtime whose deliveries are never
    /// spooled: the heartbeat's.
    pub(crate) fn not_spooled(sink: Box<dyn Sink>, capacity: usize) -> Self {
        SinkBacklog {
            spooled: false,
            ..SinkBacklog::new(sink, capacity, None)
        }
    }

    /// Starts delivering `alert` to this sink, as a task on the sink's own
    /// thread (so a sink that blocks holds up only itself, and a panicking
    /// one is contained and reported). If the backlog is full, the sink
    /// misses the alert instead.
    pub(crate) fn deliver(
        self: &Arc<Self>,
        alert: &Arc<Alert>,
        state: &Arc<NotifierState>,
        policy: RetryPolicy,
        completion: &Arc<Completion>,
    ) {
        let Ok(waiting) = self.waiting.clone().try_acquire_owned() else {
            self.overflowed(alert, state);
            return;
        };
        // What this sink missed rides on the next alert it gets.
        let missed = self.missed.swap(0, Ordering::Relaxed);
        let alert = if missed == 0 {
            alert.clone()
        } else {
            let mut own = Alert::clone(alert);
            own.dropped += missed;
            Arc::new(own)
        };
        let id = self
            .spooled
            .then(|| state.sending(self.sink.name(), &alert));
        if self.digest_room.is_some() {
            self.enqueue(
                Waiting {
                    alert,
                    id,
                    _completion: completion.clone(),
                    _slot: waiting,
                },
                state,
                policy,
            );
            return;
        }
        let this = self.clone();
        let state = state.clone();
        let completion = completion.clone();
        let task = async move {
            let _waiting = waiting;
            let Ok(_in_flight) = this.in_flight.acquire().await else {
                return;
            };
            let outcome = this.send_one(&alert, &policy).await;
            // Given up on after its retries: kept for the spool.
            if let Some(id) = id {
                if matches!(&outcome, Err(e) if e.retryable) {
                    state.given_up(id);
                } else {
                    state.sent(id);
                }
            }
            match outcome {
                Ok(()) => Counters::add(&state.counters.delivered, 1),
                Err(error) => {
                    Counters::add(&state.counters.failed, 1);
                    let what = format!("alert {:?}", alert.title);
                    state.diagnostics.say(&error.line(this.sink.name(), &what));
                }
            }
            drop(completion);
        };
        match &self.runtime {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    /// A digest sink's delivery: queued; the worker task is started if it
    /// is not running.
    fn enqueue(
        self: &Arc<Self>,
        waiting: Waiting,
        state: &Arc<NotifierState>,
        policy: RetryPolicy,
    ) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(waiting);
        if self.draining.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        let state = state.clone();
        let task = async move { this.drain(&state, policy).await };
        match &self.runtime {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    /// The worker of a digest sink: sends what waits — one alert alone,
    /// several as a digest — until nothing does.
    async fn drain(&self, state: &Arc<NotifierState>, policy: RetryPolicy) {
        // However this task ends — even by a panic in a user's sink code —
        // the next delivery starts a worker again.
        struct Draining<'a>(&'a AtomicBool);
        impl Drop for Draining<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _draining = Draining(&self.draining);
        loop {
            let batch: Vec<Waiting> = {
                let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                let n = queue.len().min(MAX_DIGEST);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                self.draining.store(false, Ordering::Release);
                // A delivery queued between the check and the store would
                // otherwise wait for the next one.
                let more = !self
                    .queue
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_empty();
                if more && !self.draining.swap(true, Ordering::AcqRel) {
                    continue;
                }
                // Not ours to reset any more (another worker may hold it).
                std::mem::forget(_draining);
                return;
            }
            let alerts: Vec<Arc<Alert>> = batch.iter().map(|w| w.alert.clone()).collect();
            // Each message with the alerts it carries (a digest's parts:
            // the lines of each; a single alert: itself).
            let messages: Vec<(Arc<Alert>, u64)> = match (alerts.len(), self.digest_room) {
                (2.., Some(room)) => {
                    let cost = |line: &str| self.sink.digest_line_cost(line);
                    // A sink's `digest_line_cost` is user code: if it
                    // panics, the alerts go one by one.
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        crate::render::digest::messages(&alerts, room, &cost)
                    })) {
                        Ok(parts) => parts
                            .into_iter()
                            .map(|m| {
                                let n = m.digest.len() as u64;
                                (Arc::new(m), n)
                            })
                            .collect(),
                        Err(panic) => {
                            if let Some(count) = self.cost_panicked.count(1) {
                                state.diagnostics.say(&format!(
                                    "sink {:?} panicked in digest_line_cost ({}): {count} batches of its alerts went one message each",
                                    self.sink.name(),
                                    payload_text(panic.as_ref())
                                ));
                            }
                            alerts.iter().map(|a| (a.clone(), 1)).collect()
                        }
                    }
                }
                _ => alerts.iter().map(|a| (a.clone(), 1)).collect(),
            };
            let mut failures = Vec::new();
            let mut retryable = false;
            let (mut delivered, mut failed) = (0u64, 0u64);
            for (message, carries) in &messages {
                match self.send_one(message, &policy).await {
                    Ok(()) => {
                        delivered += carries;
                        if message.is_digest() {
                            Counters::add(&state.counters.coalesced, *carries);
                            Counters::add(&state.counters.digests, 1);
                        }
                    }
                    Err(error) => {
                        failed += carries;
                        retryable |= error.retryable;
                        failures.push(error);
                    }
                }
            }
            // Given up on after retries: kept for the spool (all of the
            // batch: a digest's alerts are not told apart once split).
            for waiting in &batch {
                if let Some(id) = waiting.id {
                    if retryable {
                        state.given_up(id);
                    } else {
                        state.sent(id);
                    }
                }
            }
            Counters::add(&state.counters.delivered, delivered);
            if failed > 0 {
                Counters::add(&state.counters.failed, failed);
                let what = if alerts.len() > 1 {
                    format!("{failed} of a digest of {} alerts", alerts.len())
                } else {
                    format!("alert {:?}", alerts[0].title)
                };
                for error in &failures {
                    state.diagnostics.say(&error.line(self.sink.name(), &what));
                }
            }
            drop(batch);
        }
    }

    /// One message, with retries; a panic is contained. The one way every
    /// delivery of this sink is made, alone or as a digest.
    async fn send_one(&self, alert: &Alert, policy: &RetryPolicy) -> Result<(), Undelivered> {
        let delivery = retry::run(policy, &self.pause, || self.sink.send(alert));
        match CatchUnwind(Box::pin(delivery)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Undelivered {
                reason: error.message().to_owned(),
                retryable: error.is_retryable(),
                panicked: false,
            }),
            Err(panic) => Err(Undelivered {
                reason: payload_text(&*panic),
                retryable: false,
                panicked: true,
            }),
        }
    }

    /// The backlog is full: the alert is dropped for this sink, counted, and
    /// said at most once a minute.
    fn overflowed(&self, alert: &Alert, state: &NotifierState) {
        Counters::add(&state.counters.dropped, 1);
        // This sink misses the alert, and with it the drops it reported.
        self.missed.fetch_add(1 + alert.dropped, Ordering::Relaxed);
        if let Some(count) = self.overflow_note.count(1) {
            state.diagnostics.say(&format!(
                "sink {:?} is not keeping up: {count} alerts dropped for it ({} deliveries already waiting)",
                self.sink.name(),
                self.capacity
            ));
        }
    }
}

/// A delivery whose panic is caught and handed back, not unwound into the
/// runtime: the sink is then counted as failed and said to have panicked.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}
