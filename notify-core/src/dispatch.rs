//! The queue, the dispatcher thread, flush and the guard.
//!
//! Callers `try_send` into a bounded queue and never wait. One named thread
//! (`notify-dispatcher`) runs its own current-thread tokio runtime: it
//! resolves and trims backtraces, sweeps storm control for summaries, and
//! delivers to every sink concurrently, with retries. A failing sink never
//! delays the others: each delivery is its own task, and a rate-limited sink
//! pauses only itself.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::alert::{Alert, Frame};
use crate::capture::{Draft, RawBacktrace};
use crate::config::{ConfigError, DiagnosticFn, NotifierBuilder, Settings};
use crate::sink::retry::{self, RetryPolicy};
use crate::sink::Sink;
use crate::storm::{StormControl, Summary};

/// Bit 0: a global notifier is installed. Each active
/// [`testing::capture_alerts`](crate::testing::capture_alerts) scope adds 2.
static STATE: AtomicUsize = AtomicUsize::new(0);
static GLOBAL: OnceLock<Notifier> = OnceLock::new();

/// How long the panic hook waits for delivery before a `panic = "abort"` abort.
#[cfg(panic = "abort")]
pub(crate) const ABORT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

thread_local! {
    static ON_DISPATCHER: Cell<bool> = const { Cell::new(false) };
}

/// Is anything listening? One relaxed atomic load: the whole cost of an
/// annotated function's error path when no notifier is installed.
#[inline(always)]
pub(crate) fn is_installed() -> bool {
    STATE.load(Ordering::Relaxed) != 0
}

pub(crate) fn testing_scope_started() {
    STATE.fetch_add(2, Ordering::SeqCst);
}

pub(crate) fn testing_scope_ended() {
    STATE.fetch_sub(2, Ordering::SeqCst);
}

/// True on a dispatcher thread: errors there never become alerts.
pub(crate) fn on_dispatcher_thread() -> bool {
    ON_DISPATCHER.try_with(Cell::get).unwrap_or(true)
}

/// The global notifier, if installed.
pub(crate) fn global() -> Option<&'static Notifier> {
    GLOBAL.get()
}

/// Flushes the global notifier (see [`crate::flush`]).
pub(crate) fn flush_global(timeout: Duration) -> bool {
    GLOBAL.get().is_none_or(|n| n.flush(timeout))
}

pub(crate) fn install(builder: NotifierBuilder) -> Result<FlushGuard, ConfigError> {
    if GLOBAL.get().is_some() {
        return Err(already_installed());
    }
    let defaulted = builder.defaulted_to_console;
    let notifier = Notifier::start(builder)?;
    let flush_timeout = notifier.shared.flush_timeout;
    if GLOBAL.set(notifier).is_err() {
        return Err(already_installed());
    }
    crate::capture::install_panic_hook();
    flush_at_exit();
    STATE.fetch_or(1, Ordering::SeqCst);
    if defaulted {
        default_diagnostic("no NOTIFY_* sink variable is set; alerts go to the console (stderr)");
    }
    Ok(FlushGuard {
        timeout: flush_timeout,
    })
}

/// Flushes once more when the process exits: after `main` returns, after a
/// panic unwinds out of `main` (the runtime catches it, then exits), and on
/// `std::process::exit`. This catches what the guard cannot: an alert raised
/// after the guard dropped, such as the panic of an annotated `main` that
/// holds the guard inside its own body.
fn flush_at_exit() {
    extern "C" fn at_exit() {
        // If the guard already waited its full timeout in vain (a sink that
        // does not answer), waiting again would only delay the exit.
        if GUARD_FLUSH_FAILED.load(Ordering::SeqCst) {
            return;
        }
        let timeout = GLOBAL
            .get()
            .map_or(Duration::ZERO, |n| n.shared.flush_timeout);
        flush_global(timeout);
    }
    #[cfg(any(unix, windows))]
    {
        // SAFETY: `at_exit` is a plain `extern "C" fn()` that never unwinds
        // (flushing only waits on a condition variable) and stays valid for
        // the life of the process.
        let _ = unsafe { libc::atexit(at_exit) };
    }
}

/// Set when the guard's flush ran out of time.
static GUARD_FLUSH_FAILED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

fn already_installed() -> ConfigError {
    ConfigError::new(
        "install",
        "a notifier is already installed in this process; install() may be called once",
    )
}

/// Diagnostics go to stderr by default; a closed stderr is not our problem
/// (`eprintln!` would panic on it).
fn default_diagnostic(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "notify: {line}");
}

/// Returned by [`install`](crate::NotifierBuilder::install) and
/// [`init_from_env`](crate::init_from_env): keep it alive for the life of the
/// program (`let _guard = ...;` — not `let _ = ...;`, which drops it at once).
/// Its `Drop` delivers pending alerts and summaries, waiting at most the
/// flush timeout; it also runs while a panic unwinds out of `main`.
#[must_use = "dropping the guard flushes at once; bind it: `let _guard = ...;`"]
#[derive(Debug)]
pub struct FlushGuard {
    timeout: Duration,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        if !flush_global(self.timeout) {
            GUARD_FLUSH_FAILED.store(true, Ordering::SeqCst);
        }
    }
}

/// Counters of a notifier, for tests and health checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Alerts accepted into the queue (summaries included).
    pub queued: u64,
    /// Alerts dropped: the queue was full, or a sink already had
    /// `queue_capacity` deliveries waiting (counted once per such sink).
    pub dropped: u64,
    /// Deliveries (alert × sink) that succeeded.
    pub delivered: u64,
    /// Deliveries that failed for good.
    pub failed: u64,
    /// Fingerprints evicted from storm control because the table was full.
    pub evicted: u64,
}

enum Job {
    /// The first alert of a storm window, as the caller drafted it: the
    /// dispatcher resolves its backtrace and completes it, and storm control
    /// keeps it as the template of the window's summary.
    First(Draft, RawBacktrace),
    /// A storm summary, made into an alert by the dispatcher.
    Summary(Summary),
}

enum Control {
    Flush(u64),
}

/// What the callers, the dispatcher and the flushers share.
struct Shared {
    storm: StormControl,
    settings: Settings,
    diagnostics: DiagnosticFn,
    flush_timeout: Duration,
    progress: Mutex<Progress>,
    progress_changed: Condvar,
    /// Dropped since the last alert that got through.
    dropped_since: AtomicU64,
    queued: AtomicU64,
    dropped: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    evicted: AtomicU64,
}

/// Delivery progress, by sequence number: every alert taken in (queued, or
/// a summary made by a sweep) gets the next number, and stays in `pending`
/// until every delivery of it has finished. A flush waits for the alerts
/// numbered before its sweep, not for alerts that came after it, so it
/// finishes even while errors keep coming.
#[derive(Default)]
struct Progress {
    next_seq: u64,
    pending: std::collections::BTreeSet<u64>,
    flush_requested: u64,
    /// The newest flush request whose sweep is done...
    flush_swept: u64,
    /// ...and the first number after that sweep's summaries.
    flush_target: u64,
}

impl Shared {
    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes an alert in: its sequence number.
    fn add_pending(&self) -> u64 {
        let mut p = self.progress();
        let seq = p.next_seq;
        p.next_seq += 1;
        p.pending.insert(seq);
        seq
    }

    fn done(&self, seq: u64) {
        let mut p = self.progress();
        p.pending.remove(&seq);
        drop(p);
        self.progress_changed.notify_all();
    }

    /// One line about the notifier itself. The user's callback may panic:
    /// that never reaches the dispatcher.
    fn diagnostic(&self, message: &str) {
        let f = &self.diagnostics;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(message)));
    }
}

/// A running notifier: a queue, a dispatcher thread, its sinks.
///
/// [`NotifierBuilder::install`] makes one the global notifier that
/// `#[alert_on_error]` uses; [`NotifierBuilder::build`] makes one you hold
/// yourself (several can run side by side). Clones share the same
/// dispatcher; when the last clone drops, pending alerts are flushed (up to
/// the flush timeout) and the dispatcher stops.
#[derive(Clone)]
pub struct Notifier {
    shared: Arc<Shared>,
    handle: Arc<Handle>,
}

struct Handle {
    queue: mpsc::Sender<(u64, Job)>,
    control: mpsc::UnboundedSender<Control>,
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        flush_shared(&self.shared, &self.control, self.shared.flush_timeout);
        // Dropping the senders ends the dispatcher loop.
    }
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("app_name", &self.shared.settings.app_name)
            .field("environment", &self.shared.settings.environment)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Starts configuring a notifier.
    pub fn builder() -> NotifierBuilder {
        NotifierBuilder::default()
    }

    pub(crate) fn start(builder: NotifierBuilder) -> Result<Notifier, ConfigError> {
        let client = crate::sink::http::build_client(builder.request_timeout).map_err(|e| {
            ConfigError::new(
                "http client",
                format!(
                    "cannot build the HTTP client (TLS backend): {}",
                    e.without_url()
                ),
            )
        })?;
        let mut settings = Settings::detect();
        if let Some(name) = builder.app_name {
            settings.app_name = name;
        }
        settings.environment = builder.environment;
        let diagnostics: DiagnosticFn = builder
            .diagnostics
            .unwrap_or_else(|| Arc::new(default_diagnostic));
        let shared = Arc::new(Shared {
            // First alerts on their way: the queue plus those in delivery.
            storm: StormControl::new(
                builder.dedup_window,
                builder.max_fingerprints,
                builder.queue_capacity.saturating_mul(2),
            ),
            settings,
            diagnostics,
            flush_timeout: builder.flush_timeout,
            progress: Mutex::default(),
            progress_changed: Condvar::new(),
            dropped_since: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        });
        let (queue, jobs) = mpsc::channel(builder.queue_capacity);
        let (control, controls) = mpsc::unbounded_channel();
        let policy = RetryPolicy {
            attempt_timeout: builder.request_timeout,
            ..RetryPolicy::default()
        };
        let sinks: Vec<SinkSlot> = builder
            .sinks
            .into_iter()
            .flat_map(|group| group.parts)
            .map(|sink| SinkSlot::new(sink, builder.queue_capacity))
            .collect();
        let dispatcher = Dispatcher {
            shared: shared.clone(),
            sinks: Arc::new(sinks),
            policy,
            client,
            unknown_routes_reported: Default::default(),
            in_flight_limit: builder.queue_capacity,
            backlog: builder.queue_capacity,
            resolving: Mutex::default(),
            resolved: tokio::sync::Notify::new(),
            resolver: start_resolver(),
            eviction_note: Mutex::new((None, 0)),
        };
        let spawned = std::thread::Builder::new()
            .name(String::from("notify-dispatcher"))
            .spawn(move || dispatcher.run(jobs, controls));
        if let Err(e) = spawned {
            shared.diagnostic(&format!(
                "cannot start the dispatcher thread ({e}); alerts will be dropped"
            ));
        }
        Ok(Notifier {
            handle: Arc::new(Handle {
                queue,
                control,
                shared: shared.clone(),
            }),
            shared,
        })
    }

    pub(crate) fn storm(&self) -> &StormControl {
        &self.shared.storm
    }

    /// Queues the first alert of a window; never blocks.
    pub(crate) fn enqueue_first(&self, draft: Draft, backtrace: RawBacktrace) {
        let fingerprint = draft.fingerprint;
        if !self.enqueue_job(Job::First(draft, backtrace)) {
            let lost = self.shared.storm.forget(fingerprint);
            self.shared.dropped_since.fetch_add(lost, Ordering::Relaxed);
            self.shared.dropped.fetch_add(lost, Ordering::Relaxed);
        }
    }

    /// Queues a storm summary; never blocks. If the queue is full, the
    /// repeats it summarises are counted as dropped.
    pub(crate) fn enqueue_summary(&self, summary: Summary) {
        let repeats = summary.repeats.count;
        if !self.enqueue_job(Job::Summary(summary)) {
            // `enqueue_job` counted the summary itself as one dropped alert.
            let lost = repeats.saturating_sub(1);
            self.shared.dropped_since.fetch_add(lost, Ordering::Relaxed);
            self.shared.dropped.fetch_add(lost, Ordering::Relaxed);
        }
    }

    fn enqueue_job(&self, mut job: Job) -> bool {
        let shared = &self.shared;
        // The drops since the last alert that got through ride on the next
        // first alert (a summary only reports its own repeats).
        let dropped_before = match &mut job {
            Job::First(draft, _) => {
                draft.dropped = shared.dropped_since.swap(0, Ordering::Relaxed);
                draft.dropped
            }
            Job::Summary(_) => 0,
        };
        let seq = shared.add_pending();
        match self.handle.queue.try_send((seq, job)) {
            Ok(()) => {
                shared.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => {
                shared.done(seq);
                shared
                    .dropped_since
                    .fetch_add(dropped_before + 1, Ordering::Relaxed);
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Reports an error through this notifier (storm control, capture,
    /// dispatch), as `#[alert_on_error]` would.
    #[track_caller]
    pub fn report_error(&self, error: &(dyn std::error::Error + '_)) {
        let caller = std::panic::Location::caller();
        crate::capture::report_to(
            self,
            crate::capture::Origin::Caller(caller),
            crate::capture::Subject::Error(crate::__private::ErrorRef::Error(error)),
        );
    }

    /// Reports a message through this notifier.
    #[track_caller]
    pub fn report_message(&self, severity: crate::Severity, message: &str) {
        let caller = std::panic::Location::caller();
        crate::capture::report_to(
            self,
            crate::capture::Origin::Caller(caller),
            crate::capture::Subject::Message(severity, message),
        );
    }

    /// Waits until every queued alert (and every pending storm summary) is
    /// delivered or given up, or `timeout` passes. Returns whether
    /// everything was delivered in time. Never waits longer than `timeout`,
    /// even when a sink does not answer.
    pub fn flush(&self, timeout: Duration) -> bool {
        flush_shared(&self.shared, &self.handle.control, timeout)
    }

    /// One line about the notifier itself, to its diagnostic callback.
    pub(crate) fn diagnostic(&self, message: &str) {
        self.shared.diagnostic(message);
    }

    /// The notifier's counters.
    pub fn stats(&self) -> Stats {
        let s = &self.shared;
        Stats {
            queued: s.queued.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            delivered: s.delivered.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            evicted: s.evicted.load(Ordering::Relaxed),
        }
    }
}

fn flush_shared(
    shared: &Shared,
    control: &mpsc::UnboundedSender<Control>,
    timeout: Duration,
) -> bool {
    if on_dispatcher_thread() {
        return false;
    }
    // No deadline for a timeout too large to add (`Duration::MAX`).
    let deadline = Instant::now().checked_add(timeout);
    let ticket = {
        let mut p = shared.progress();
        p.flush_requested += 1;
        p.flush_requested
    };
    if control.send(Control::Flush(ticket)).is_err() {
        return false;
    }
    let mut p = shared.progress();
    loop {
        if p.flush_swept >= ticket && p.pending.range(..p.flush_target).next().is_none() {
            return true;
        }
        p = match deadline {
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                match shared.progress_changed.wait_timeout(p, deadline - now) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
            None => match shared.progress_changed.wait(p) {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            },
        };
    }
}

struct SinkSlot {
    sink: Box<dyn Sink>,
    /// Deliveries in flight at once (the sink's `concurrency`).
    permits: Semaphore,
    /// Deliveries waiting or in flight, at most the queue capacity.
    backlog: Arc<Semaphore>,
    /// Set when the platform asked us to wait: every delivery to this sink waits.
    pause: retry::Pause,
    /// When an overflow was last said, and how many since.
    overflow_note: Mutex<(Option<Instant>, u64)>,
    /// Alerts this sink missed (and the drops they reported), to be told in
    /// the next alert it gets.
    missed: AtomicU64,
}

impl SinkSlot {
    fn new(sink: Box<dyn Sink>, backlog: usize) -> Self {
        SinkSlot {
            permits: Semaphore::new(sink.concurrency().clamp(1, 64)),
            backlog: Arc::new(Semaphore::new(backlog.max(1))),
            sink,
            pause: retry::Pause::default(),
            overflow_note: Mutex::new((None, 0)),
            missed: AtomicU64::new(0),
        }
    }
}

struct Dispatcher {
    shared: Arc<Shared>,
    sinks: Arc<Vec<SinkSlot>>,
    policy: RetryPolicy,
    client: reqwest::Client,
    unknown_routes_reported: Mutex<HashSet<String>>,
    /// Queued alerts taken in at once (one permit each, held until the alert
    /// is handed to its sinks): while backtraces resolve slower than alerts
    /// come, the queue fills and overflow is dropped and counted, instead of
    /// jobs piling up in memory.
    in_flight_limit: usize,
    /// Each sink's backlog (the queue capacity).
    backlog: usize,
    /// First alerts (by sequence number) whose backtrace is being resolved,
    /// and a signal each time one is done.
    resolving: Mutex<std::collections::BTreeSet<u64>>,
    resolved: tokio::sync::Notify,
    /// The thread that resolves backtraces, one after the other, in the
    /// order queued: off the runtime, so a slow resolution (the first loads
    /// the symbol tables) never stalls deliveries, nor tokio's blocking pool
    /// (which reqwest uses for DNS).
    resolver: std::sync::mpsc::Sender<(RawBacktrace, tokio::sync::oneshot::Sender<Vec<Frame>>)>,
    /// When evictions were last reported, and how many since.
    eviction_note: Mutex<(Option<Instant>, u64)>,
}

/// Starts the resolver thread (see `Dispatcher::resolver`). It ends when the
/// dispatcher drops its sender.
fn start_resolver(
) -> std::sync::mpsc::Sender<(RawBacktrace, tokio::sync::oneshot::Sender<Vec<Frame>>)> {
    let (sender, requests) =
        std::sync::mpsc::channel::<(RawBacktrace, tokio::sync::oneshot::Sender<Vec<Frame>>)>();
    // If the thread cannot start, requests fail and alerts go without a backtrace.
    let _ = std::thread::Builder::new()
        .name(String::from("notify-resolver"))
        .spawn(move || {
            let _ = ON_DISPATCHER.try_with(|d| d.set(true));
            // Runs only this crate's code (no user code, no threads started
            // from it): batch-scheduled for good.
            batch_scheduling(true);
            for (raw, answer) in requests {
                let _ = answer.send(crate::capture::resolve_and_trim(raw));
            }
        });
    sender
}

/// Puts the calling thread in or out of `SCHED_BATCH` on Linux.
///
/// The dispatcher is woken by the caller's hand-off; as a normal thread the
/// scheduler often runs it at once on the caller's own CPU (wake-up
/// preemption), and the caller waits for it (an isolated first error on a
/// new thread measured ~36 µs, ~15 µs without). A `SCHED_BATCH` thread never
/// preempts on wake-up, yet keeps its full fair share of the CPU (the weight
/// of nice 0), so under full load alerts are not delayed — nice 10 was tried
/// and starved delivery under load. The policy is inherited by threads a
/// thread starts, so the dispatcher holds it only while asleep (see the
/// runtime's park hooks); the resolver holds it throughout. Unprivileged; a
/// failure leaves the thread as it was.
pub(crate) fn batch_scheduling(batch: bool) {
    #[cfg(target_os = "linux")]
    // SAFETY: a plain syscall on the calling thread with a valid parameter.
    unsafe {
        let policy = if batch {
            libc::SCHED_BATCH
        } else {
            libc::SCHED_OTHER
        };
        let param = libc::sched_param { sched_priority: 0 };
        let _ = libc::sched_setscheduler(0, policy, &param);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = batch;
}

/// How often evictions are reported at most.
const EVICTION_NOTE_EVERY: Duration = Duration::from_secs(60);

/// Marks one alert done when every delivery of it has finished.
struct Completion(Arc<Shared>, u64);

impl Drop for Completion {
    fn drop(&mut self) {
        self.0.done(self.1);
    }
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
    fn run(
        self,
        mut jobs: mpsc::Receiver<(u64, Job)>,
        mut controls: mpsc::UnboundedReceiver<Control>,
    ) {
        let this = Arc::new(self);
        let _ = ON_DISPATCHER.try_with(|d| d.set(true));
        crate::sink::http::set_thread_client(this.client.clone());
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("notify-dispatcher")
            .on_thread_start(|| {
                let _ = ON_DISPATCHER.try_with(|d| d.set(true));
            })
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
                this.shared.diagnostic(&format!(
                    "cannot start the dispatcher's runtime ({e}); alerts will be dropped"
                ));
                return;
            }
        };
        let window = this.shared.storm.window();
        let sweep_every = (window / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let in_flight = Arc::new(Semaphore::new(this.in_flight_limit.max(1)));
        runtime.block_on(async {
            let mut tick = tokio::time::interval(sweep_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A flush request, and how many jobs queued before it are still
            // to be handled: its sweep waits for them, so that the windows
            // they open have their templates and none of their repeats is
            // left out of the summaries.
            let mut flush: Option<(u64, usize)> = None;
            loop {
                tokio::select! {
                    next = async {
                        // Cancel-safe: a permit taken without a job is given back.
                        let permit = in_flight.clone().acquire_owned().await.ok();
                        (jobs.recv().await, permit)
                    } => match next {
                        (Some((seq, job)), permit) => {
                            this.handle(seq, job, permit);
                            if let Some((_, before)) = &mut flush {
                                *before = before.saturating_sub(1);
                            }
                        }
                        (None, _) => break,
                    },
                    control = controls.recv() => match control {
                        Some(Control::Flush(ticket)) => {
                            let ticket = flush.map_or(ticket, |(t, _)| t.max(ticket));
                            flush = Some((ticket, jobs.len()));
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
                        let before = this.shared.progress().next_seq;
                        this.wait_resolved(before).await;
                        this.sweep(true);
                        let mut p = this.shared.progress();
                        p.flush_swept = p.flush_swept.max(ticket);
                        // The flush waits for everything taken in so far,
                        // this sweep's summaries included.
                        p.flush_target = p.next_seq;
                        drop(p);
                        this.shared.progress_changed.notify_all();
                    });
                }
            }
        });
    }

    /// Queues the summaries of closed storm windows (all open ones on flush).
    fn sweep(self: &Arc<Self>, all: bool) {
        for summary in self.shared.storm.sweep(all) {
            let seq = self.shared.add_pending();
            self.shared.queued.fetch_add(1, Ordering::Relaxed);
            self.handle(seq, Job::Summary(summary), None);
        }
        let lost = self.shared.storm.take_lost();
        if lost > 0 {
            self.shared.dropped_since.fetch_add(lost, Ordering::Relaxed);
            self.shared.dropped.fetch_add(lost, Ordering::Relaxed);
        }
        let evicted = self.shared.storm.take_evicted();
        if evicted > 0 {
            self.shared.evicted.fetch_add(evicted, Ordering::Relaxed);
            // Said at most once a minute, with the count since it was last said.
            let mut note = self.eviction_note.lock().unwrap_or_else(|p| p.into_inner());
            note.1 += evicted;
            let due = note
                .0
                .is_none_or(|last| last.elapsed() >= EVICTION_NOTE_EVERY);
            if due {
                let count = std::mem::take(&mut note.1);
                note.0 = Some(Instant::now());
                drop(note);
                self.shared.diagnostic(&format!(
                    "storm control evicted {count} fingerprints: more distinct errors than max_fingerprints"
                ));
            }
        }
    }

    /// Completes a job into an alert and delivers it. Everything that runs
    /// user code (sinks, routing) runs in tasks, whose panics tokio contains.
    fn handle(self: &Arc<Self>, seq: u64, job: Job, permit: Option<OwnedSemaphorePermit>) {
        let completion = Arc::new(Completion(self.shared.clone(), seq));
        let resolving = match job {
            Job::First(..) => {
                self.resolving
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(seq);
                Some(Resolving(self.clone(), seq))
            }
            Job::Summary(_) => None,
        };
        let this = self.clone();
        tokio::spawn(async move {
            let alert = match job {
                Job::First(draft, raw) => {
                    let (frames, resolved) = tokio::sync::oneshot::channel();
                    let frames = match this.resolver.send((raw, frames)) {
                        // No answer only if resolution panicked: no backtrace then.
                        Ok(()) => resolved.await.unwrap_or_default(),
                        Err(_) => Vec::new(),
                    };
                    let alert = Arc::new(draft.complete(&this.shared.settings, frames));
                    this.shared
                        .storm
                        .set_template(alert.fingerprint, alert.clone());
                    drop(resolving);
                    alert
                }
                Job::Summary(summary) => Arc::new(summary.into_alert()),
            };
            this.deliver(alert, completion);
            // Handed to the sinks: the next job may come in.
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

    fn deliver(&self, alert: Arc<Alert>, completion: Arc<Completion>) {
        let routed_somewhere = alert.sinks.is_empty()
            || self
                .sinks
                .iter()
                .any(|slot| alert.routes_to(slot.sink.name()));
        if !routed_somewhere {
            self.report_unknown_routes(&alert);
        }
        for (index, slot) in self.sinks.iter().enumerate() {
            if routed_somewhere && !alert.routes_to(slot.sink.name()) {
                continue;
            }
            if alert.severity < slot.sink.severity_threshold() {
                continue;
            }
            // Each sink holds at most `backlog` deliveries (waiting or in
            // flight); past that this sink misses the alert, so a sink that
            // never answers costs bounded memory and delays no other sink.
            let Ok(backlog) = slot.backlog.clone().try_acquire_owned() else {
                self.overflowed(slot, &alert);
                continue;
            };
            // What this sink missed rides on the next alert it gets.
            let missed = slot.missed.swap(0, Ordering::Relaxed);
            let alert = if missed == 0 {
                alert.clone()
            } else {
                let mut own = Alert::clone(&alert);
                own.dropped += missed;
                Arc::new(own)
            };
            let sinks = self.sinks.clone();
            let completion = completion.clone();
            let shared = self.shared.clone();
            let policy = self.policy;
            tokio::spawn(async move {
                let _backlog = backlog;
                let slot = &sinks[index];
                let Ok(_permit) = slot.permits.acquire().await else {
                    return;
                };
                let result = retry::run(&policy, &slot.pause, || slot.sink.send(&alert)).await;
                match result {
                    Ok(()) => {
                        shared.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                        shared.diagnostic(&format!(
                            "sink {:?} did not deliver alert {:?}: {}",
                            slot.sink.name(),
                            alert.title,
                            error.message()
                        ));
                    }
                }
                drop(completion);
            });
        }
    }

    /// A sink's backlog is full: the alert is dropped for it, counted, and
    /// said at most once a minute per sink.
    fn overflowed(&self, slot: &SinkSlot, alert: &Alert) {
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        // This sink misses the alert, and with it the drops it reported.
        slot.missed.fetch_add(1 + alert.dropped, Ordering::Relaxed);
        let mut note = slot.overflow_note.lock().unwrap_or_else(|p| p.into_inner());
        note.1 += 1;
        if note
            .0
            .is_none_or(|last| last.elapsed() >= EVICTION_NOTE_EVERY)
        {
            let count = std::mem::take(&mut note.1);
            note.0 = Some(Instant::now());
            drop(note);
            self.shared.diagnostic(&format!(
                "sink {:?} is not keeping up: {count} alerts dropped for it ({} deliveries already waiting)",
                slot.sink.name(),
                self.backlog
            ));
        }
    }

    fn report_unknown_routes(&self, alert: &Alert) {
        let key = alert.sinks.join(",");
        let mut reported = self
            .unknown_routes_reported
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if reported.len() < 256 && reported.insert(key.clone()) {
            self.shared.diagnostic(&format!(
                "alert {:?} routes to sinks({key}), but no sink has such a name; sending it to every sink",
                alert.title
            ));
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The notifier's threads do not preempt the application on wake-up,
    /// and what runs user code is a normal thread while it does (see
    /// [`super::batch_scheduling`]).
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
        let [(dispatcher, policy)] = seen.lock().unwrap()[..] else {
            panic!("one delivery expected: {:?}", seen.lock().unwrap());
        };
        // Awake, running a sink: a normal thread.
        assert_eq!(policy, libc::SCHED_OTHER);
        // Asleep: batch. (It parks within moments of the flush.)
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            // SAFETY: a query about a thread of this process.
            let policy = unsafe { libc::sched_getscheduler(dispatcher) };
            if policy == libc::SCHED_BATCH {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "policy {policy}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // Every resolver thread (this test's and others') is batch for good.
        let mut resolvers = 0;
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let task = task.unwrap().path();
            let Ok(comm) = std::fs::read_to_string(task.join("comm")) else {
                continue;
            };
            if comm.trim() != "notify-resolver" {
                continue;
            }
            let tid: libc::pid_t = task.file_name().unwrap().to_str().unwrap().parse().unwrap();
            // One that has just started may not have set it yet.
            loop {
                // SAFETY: a query about a thread of this process (-1 once it ended).
                let policy = unsafe { libc::sched_getscheduler(tid) };
                if policy == libc::SCHED_BATCH || policy == -1 {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "resolver policy {policy}"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            resolvers += 1;
        }
        assert!(resolvers > 0);
    }
}
