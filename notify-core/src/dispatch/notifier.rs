//! [`Notifier`]: a running notifier — its queue, its dispatcher thread, its
//! sinks — and how callers hand it alerts without ever waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::flush::{DeliveryLedger, FlushRequest};
use super::state::{NotifierState, QueuedAlert};
use super::stats::{Counters, Stats};
use super::worker::Dispatcher;
use crate::alert::Severity;
use crate::capture::{
    mark_notifier_thread, report, Destination, Draft, ErrorRef, Origin, RawBacktrace, Report,
    RunSignal, Subject,
};
use crate::diagnostic::{DiagnosticFn, Diagnostics};
use crate::error::ConfigError;
use crate::settings::Settings;
use crate::sink::retry::RetryPolicy;
use crate::sink::{SinkGroup, Transport};
use crate::storm::{Decision, RepeatSlot, StormControl, Summary};

/// Everything a notifier is started with (what the builder validated).
pub(crate) struct NotifierOptions {
    pub(crate) settings: Settings,
    pub(crate) sinks: Vec<SinkGroup>,
    pub(crate) dedup_window: Duration,
    pub(crate) max_fingerprints: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) flush_timeout: Duration,
    pub(crate) diagnostics: Option<DiagnosticFn>,
    /// The spool directory, resolved (`None`: no spool).
    pub(crate) spool: Option<std::path::PathBuf>,
    /// Where monitored runs check in (`.heartbeat(url)`), if anywhere.
    pub(crate) heartbeat: Option<Box<dyn crate::sink::Sink>>,
}

/// A running notifier: a queue, a dispatcher thread, its sinks.
///
/// [`NotifierBuilder::install`](crate::NotifierBuilder::install) makes one
/// the global notifier that `#[alert_on_error]` uses;
/// [`NotifierBuilder::build`](crate::NotifierBuilder::build) makes one you
/// hold yourself (several can run side by side). Clones share the same
/// dispatcher; when the last clone drops, pending alerts are flushed (up to
/// the flush timeout) and the dispatcher stops.
#[derive(Clone)]
pub struct Notifier {
    state: Arc<NotifierState>,
    senders: Arc<DispatcherSenders>,
}

/// The senders into the dispatcher's queue and flush requests. When the
/// last one drops, it flushes, and the dispatcher's loop ends.
struct DispatcherSenders {
    queue: mpsc::Sender<(u64, QueuedAlert)>,
    flush_requests: mpsc::UnboundedSender<FlushRequest>,
    state: Arc<NotifierState>,
}

impl Drop for DispatcherSenders {
    fn drop(&mut self) {
        flush(&self.state, &self.flush_requests, self.state.flush_timeout);
    }
}

/// Says, in one line, what never reached a sink — if anything: silence
/// means every alert was delivered. Waits briefly for the line to be said.
fn account(state: &NotifierState) {
    if state.orphaned() {
        // A fork() child: the parent's counts are the parent's to give.
        let orphaned = state.orphaned.load(Ordering::Relaxed);
        if orphaned > 0 {
            state.diagnostics.say_here(&format!(
                "not every alert was delivered: {orphaned} raised in this fork() child were not sent (a forked child has no dispatcher)"
            ));
        }
        return;
    }
    let stats = stats(state);
    let mut parts = Vec::new();
    if stats.pending > 0 {
        parts.push(format!(
            "{} still being delivered when the flush timeout ({:?}) ended",
            stats.pending, state.flush_timeout
        ));
    }
    if stats.dropped > 0 {
        parts.push(format!(
            "{} dropped (the queue, a sink's backlog or the spool was full)",
            stats.dropped
        ));
    }
    if stats.failed > 0 {
        parts.push(format!(
            "{} deliveries failed (said above, sink by sink)",
            stats.failed
        ));
    }
    if stats.spooled > 0 {
        let dir = state
            .spool
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        parts.push(format!(
            "{} written to the spool {dir}: the next run of {} that installs a notifier delivers them",
            stats.spooled, state.settings.app_name
        ));
    }
    // Coalesced is not lost, but it is said: an alert that arrived as a
    // line of a digest, not as a message of its own.
    let coalesced = (stats.coalesced > 0).then(|| {
        format!(
            "{} were sent as lines of digests ({} {}: alerts that waited for a chat at once, the most severe in full)",
            stats.coalesced,
            stats.digests,
            if stats.digests == 1 { "message" } else { "messages" }
        )
    });
    let line = match (parts.is_empty(), coalesced) {
        (true, None) => return,
        (true, Some(coalesced)) => {
            format!(
                "every alert was delivered ({}); {coalesced}",
                stats.delivered
            )
        }
        (false, coalesced) => format!(
            "not every alert was delivered: {}; {} delivered{}",
            parts.join(", "),
            stats.delivered,
            coalesced
                .map(|c| format!(", of which {c}"))
                .unwrap_or_default()
        ),
    };
    state.diagnostics.say(&line);
    state
        .diagnostics
        .wait_said(std::time::Instant::now().checked_add(ACCOUNT_WAIT));
}

/// How long the account at the end waits for its line to be said.
const ACCOUNT_WAIT: Duration = Duration::from_millis(500);

fn stats(state: &NotifierState) -> Stats {
    let mut stats = state.counters.snapshot();
    stats.pending = state.ledger.pending();
    stats
}

/// Waits for the ledger, then for the diagnostics said meanwhile, within one
/// deadline; returns whether every alert was delivered.
fn flush(
    state: &NotifierState,
    flush_requests: &mpsc::UnboundedSender<FlushRequest>,
    timeout: Duration,
) -> bool {
    if state.orphaned() {
        // A fork() child: the dispatcher that would deliver is not here, and
        // nothing may wait for it.
        return false;
    }
    let deadline = std::time::Instant::now().checked_add(timeout);
    let delivered = state.ledger.flush(flush_requests, timeout);
    state.diagnostics.wait_said(deadline);
    delivered
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("app_name", &self.state.settings.app_name)
            .field("environment", &self.state.settings.environment)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Starts the dispatcher thread. The only error is a TLS backend that
    /// cannot initialise.
    pub(crate) fn start(options: NotifierOptions) -> Result<Notifier, ConfigError> {
        let transport = Transport::new(options.request_timeout)?;
        let state = Arc::new(NotifierState {
            // First alerts on their way: the queue plus those in delivery.
            storm: StormControl::new(
                options.dedup_window,
                options.max_fingerprints,
                options.queue_capacity.saturating_mul(2),
            ),
            settings: options.settings,
            diagnostics: Diagnostics::new(options.diagnostics, mark_notifier_thread),
            flush_timeout: options.flush_timeout,
            ledger: DeliveryLedger::default(),
            counters: Counters::default(),
            forks: {
                crate::sys::watch_forks();
                crate::sys::forks()
            },
            orphaned: AtomicU64::new(0),
            spool: options.spool,
            unsent: std::sync::Mutex::default(),
            given_up: std::sync::Mutex::default(),
            next_delivery: AtomicU64::new(0),
            lost_run_ends: std::sync::Mutex::default(),
        });
        let (queue, queued) = mpsc::channel(options.queue_capacity);
        let (flush_requests, flush_requested) = mpsc::unbounded_channel();
        let policy = RetryPolicy {
            attempt_timeout: options.request_timeout,
            ..RetryPolicy::default()
        };
        let dispatcher = Dispatcher::new(
            state.clone(),
            options.sinks,
            policy,
            transport,
            options.queue_capacity,
            options.heartbeat,
        );
        let spawned = std::thread::Builder::new()
            .name(String::from("notify-dispatcher"))
            .spawn(move || dispatcher.run(queued, flush_requested));
        if let Err(e) = spawned {
            state.diagnostics.say(&format!(
                "cannot start the dispatcher thread ({e}); alerts will be dropped"
            ));
        }
        Ok(Notifier {
            senders: Arc::new(DispatcherSenders {
                queue,
                flush_requests,
                state: state.clone(),
            }),
            state,
        })
    }

    /// How long the guard's `Drop` waits for delivery.
    pub(crate) fn flush_timeout(&self) -> Duration {
        self.state.flush_timeout
    }

    /// Queues the first alert of a window; never blocks.
    fn enqueue_first(&self, mut draft: Draft, backtrace: RawBacktrace) {
        let counters = &self.state.counters;
        // The drops since the last alert that got through ride on the next
        // first alert (a summary only reports its own repeats).
        draft.dropped = counters
            .dropped_since
            .swap(0, std::sync::atomic::Ordering::Relaxed);
        let dropped_before = draft.dropped;
        let fingerprint = draft.fingerprint;
        let run = draft.run();
        if !self.enqueue(QueuedAlert::First(draft, backtrace)) {
            if let Some(run) = run {
                self.state.run_end_lost(run.id);
            }
            // The drops it carried (counted already) ride on the next one;
            // the repeats storm control counted against it are lost with it.
            counters
                .dropped_since
                .fetch_add(dropped_before, std::sync::atomic::Ordering::Relaxed);
            counters.lost(self.state.storm.forget(fingerprint));
        }
    }

    /// Queues a storm summary; never blocks. If the queue is full, the
    /// repeats it summarises are counted as dropped.
    fn enqueue_summary(&self, summary: Summary) {
        let repeats = summary.repeats.count;
        if !self.enqueue(QueuedAlert::Summary(summary)) {
            // `enqueue` counted the summary itself as one dropped alert.
            self.state.counters.lost(repeats.saturating_sub(1));
        }
    }

    /// `try_send` into the queue; a full queue drops and counts one alert.
    fn enqueue(&self, queued: QueuedAlert) -> bool {
        let taken = self.try_enqueue(queued);
        if !taken {
            self.state.counters.lost(1);
        }
        taken
    }

    /// `try_send` into the queue, with its place in the delivery ledger;
    /// whether it was taken (the caller says what a refusal means).
    fn try_enqueue(&self, queued: QueuedAlert) -> bool {
        let state = &self.state;
        let seq = state.ledger.take_in();
        match self.senders.queue.try_send((seq, queued)) {
            Ok(()) => {
                Counters::add(&state.counters.queued, 1);
                true
            }
            Err(_) => {
                state.ledger.done(seq);
                false
            }
        }
    }

    /// Reports an error through this notifier (storm control, capture,
    /// dispatch), as `#[alert_on_error]` would.
    #[track_caller]
    pub fn report_error(&self, error: &(dyn std::error::Error + '_)) {
        report(Report::new(Origin::caller(), Subject::Error(ErrorRef::Error(error))).to(self));
    }

    /// Reports a message through this notifier.
    #[track_caller]
    pub fn report_message(&self, severity: Severity, message: &str) {
        report(Report::new(Origin::caller(), Subject::Message(severity, message)).to(self));
    }

    /// Waits until every queued alert (and every pending storm summary) is
    /// delivered or given up, or `timeout` passes. Returns whether
    /// everything was delivered in time. Never waits longer than `timeout`,
    /// even when a sink does not answer.
    pub fn flush(&self, timeout: Duration) -> bool {
        flush(&self.state, &self.senders.flush_requests, timeout)
    }

    /// The notifier's counters.
    pub fn stats(&self) -> Stats {
        stats(&self.state)
    }

    /// An alert raised in a `fork()` child: not sent (its dispatcher is the
    /// parent's), counted, and said once, on this thread.
    #[cold]
    fn orphaned_alert(&self) {
        if self.state.orphaned.fetch_add(1, Ordering::Relaxed) == 0 {
            self.state.diagnostics.say_here(
                "an alert was raised in a fork() child of the process that installed the notifier; \
                 alerts from this child are not sent (its dispatcher runs in the parent only)",
            );
        }
    }

    /// At exit, after the last flush: what is still undelivered — in
    /// delivery, or given up on after its retries — is written to the
    /// spool, for the next run of the application.
    pub(crate) fn spool_at_exit(&self) {
        let state = &self.state;
        let Some(dir) = &state.spool else {
            return;
        };
        if state.orphaned() {
            return;
        }
        let unsent: Vec<(String, Arc<crate::alert::Alert>)> = state
            .unsent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .split_off(&0)
            .into_values()
            .collect();
        let entries: Vec<(String, &crate::alert::Alert)> = unsent
            .iter()
            .map(|(sink, alert)| (sink.clone(), &**alert))
            .collect();
        let written = super::spool::write(dir, &entries);
        Counters::add(&state.counters.spooled, written.written);
        for error in written.errors.iter().take(3) {
            state
                .diagnostics
                .say(&format!("spool {}: {error}", dir.display()));
        }
        if written.evicted > 0 {
            // Entries of earlier runs deleted to make room: lost, counted.
            Counters::add(&state.counters.dropped, written.evicted);
            state.diagnostics.say(&format!(
                "spool {}: {} oldest entries deleted to stay within {} files and {} MB",
                dir.display(),
                written.evicted,
                super::spool::MAX_FILES,
                super::spool::MAX_BYTES / (1024 * 1024)
            ));
        }
    }

    /// At install: delivers what earlier runs of the application spooled
    /// (each entry claimed by this process alone), marked as delayed.
    pub(crate) fn deliver_spooled(&self) {
        let Some(dir) = &self.state.spool else {
            return;
        };
        let claimed = super::spool::claim_all(dir);
        if !claimed.bad.is_empty() {
            self.state.diagnostics.say(&format!(
                "spool {}: {} files are not whole entries of notify's and were set aside (renamed .bad): {}",
                dir.display(),
                claimed.bad.len(),
                claimed.bad.join(", ")
            ));
        }
        let mut left = 0;
        for (file, sink, alert) in claimed.entries {
            if self.try_enqueue(QueuedAlert::Spooled(Box::new(alert), sink)) {
                let _ = std::fs::remove_file(&file);
            } else {
                // The queue is full: the entry stays in the spool, unclaimed,
                // for the next run (not dropped, so not counted as dropped).
                left += 1;
                if let Some((name, _)) = file.to_str().and_then(|f| f.rsplit_once(".claimed-")) {
                    let _ = std::fs::rename(&file, name);
                }
            }
        }
        if left > 0 {
            self.state.diagnostics.say(&format!(
                "spool {}: {left} entries left for the next run: the queue is full",
                dir.display()
            ));
        }
    }

    /// At the process's exit, after the last flush: one line says what was
    /// not delivered, if anything (see [`Stats`]). Only the installed
    /// notifier does this; one you build yourself has `stats()`.
    pub(crate) fn account_at_exit(&self) {
        account(&self.state);
    }
}

/// Capture hands this notifier its drafts through here.
impl Destination for Notifier {
    fn admit(&self, fingerprint: u64, slot: Option<&'static RepeatSlot>) -> bool {
        if self.state.orphaned() {
            self.orphaned_alert();
            return false;
        }
        match self.state.storm.check(fingerprint, slot) {
            Decision::Suppress => false,
            Decision::Send(summary) => {
                // A summary handed back by storm control goes into the queue
                // first, so a flush running meanwhile counts it.
                if let Some(summary) = summary {
                    self.enqueue_summary(summary);
                }
                true
            }
        }
    }

    fn withdraw(&self, fingerprint: u64) {
        // Only repeats counted by other threads in the moment between admit
        // and withdraw can be in its window. Most are the same propagating
        // failure, reported already by their inner calls; but one may be an
        // outer failure of its own, so they are counted as dropped (and told
        // in the next alert) rather than forgotten in silence.
        let repeats = self.state.storm.forget(fingerprint);
        self.state.counters.lost(repeats);
    }

    fn accept(&self, draft: Draft, backtrace: RawBacktrace) {
        self.enqueue_first(draft, backtrace);
    }

    fn flush(&self, timeout: Duration) -> bool {
        Notifier::flush(self, timeout)
    }

    fn diagnostic(&self, message: &str) {
        self.state.diagnostics.say(message);
    }

    fn run(&self, signal: RunSignal) {
        if self.state.orphaned() {
            // Counted as what the chats would have had: a start or success
            // message. A failure's alert was counted by `admit`.
            let monitor = signal.run().monitor;
            let message = match &signal {
                RunSignal::Started(..) => monitor.notify_start,
                RunSignal::Succeeded { .. } => monitor.notify_success,
                RunSignal::Failed { .. } => false,
            };
            if message {
                self.orphaned_alert();
            }
            return;
        }
        let ends = match &signal {
            RunSignal::Started(..) => None,
            RunSignal::Succeeded { run, .. } | RunSignal::Failed { run, .. } => Some(run.id),
        };
        if !self.enqueue(QueuedAlert::Run(signal)) {
            if let Some(id) = ends {
                self.state.run_end_lost(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CallSite, MonitorSite, RunRef, RunThread, SitePrefix};
    use crate::sink::Memory;

    static JOB_SITE: CallSite = CallSite {
        function: "job",
        module_path: "tests",
        file: "src/tests.rs",
        line: 1,
        severity: None,
        title: None,
        sinks: &[],
        fingerprint_prefix: SitePrefix::new("tests", "job", "src/tests.rs", 1),
        repeats: RepeatSlot::new(),
    };
    static JOB: MonitorSite = MonitorSite {
        site: &JOB_SITE,
        job: "job",
        notify_start: false,
        notify_success: false,
        max_runtime_ms: 150,
    };

    /// A sink that is down for hours: what is given up on after retries is
    /// kept for the spool, but only as much as the spool would keep — the
    /// oldest past that are dropped, and counted.
    #[test]
    fn alerts_given_up_on_are_kept_for_the_spool_within_its_bound() {
        let dir = std::env::temp_dir().join(format!("notify-given-up-{}", std::process::id()));
        let options = Notifier::builder()
            .sink(Memory::new())
            .spool_dir(dir.clone())
            .into_options(true);
        let notifier = Notifier::start(options).unwrap();
        let state = &notifier.state;
        let alert = Arc::new(crate::render::checks::sample_alert());
        let max = crate::dispatch::spool::MAX_FILES;
        for _ in 0..max + 5 {
            let id = state.sending("memory", &alert);
            state.given_up(id);
        }
        let unsent = state.unsent.lock().unwrap();
        assert_eq!(unsent.len(), max);
        // The oldest went: the first kept is the sixth.
        assert_eq!(unsent.keys().next(), Some(&5));
        drop(unsent);
        assert_eq!(notifier.stats().dropped, 5);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A run whose end was lost with a full queue (counted) is never called
    /// still running: whether its start was handled before (it is
    /// forgotten) or is still queued behind (it is not taken in).
    #[test]
    fn a_run_whose_end_was_lost_is_never_said_to_be_still_running() {
        let memory = Memory::new();
        let notifier = Notifier::builder().sink(memory.clone()).build().unwrap();
        let timeout = Duration::from_secs(30);

        // Started, then its end lost.
        let handled = RunRef::start(&JOB);
        notifier.run(RunSignal::Started(handled, RunThread::here()));
        assert!(notifier.flush(timeout));
        notifier.state.run_end_lost(handled.id);
        // The end lost before its start was handled.
        let queued = RunRef::start(&JOB);
        notifier.state.run_end_lost(queued.id);
        notifier.run(RunSignal::Started(queued, RunThread::here()));

        // A run that really is still running, for contrast.
        let running = RunRef::start(&JOB);
        notifier.run(RunSignal::Started(running, RunThread::here()));

        std::thread::sleep(Duration::from_millis(600));
        assert!(notifier.flush(timeout));
        let alerts = memory.alerts();
        let run_ids: Vec<&str> = alerts
            .iter()
            .filter(|a| a.kind == crate::AlertKind::StillRunning)
            .filter_map(|a| a.run.as_ref().map(|r| r.run_id.as_str()))
            .collect();
        assert_eq!(run_ids, [running.run_id()], "{alerts:#?}");
    }

    /// A window withdrawn (the failure was an inner call's) is forgotten:
    /// the next report is judged afresh. A repeat counted in it meanwhile is
    /// not forgotten in silence: it is counted as dropped.
    #[test]
    fn a_withdrawn_window_counts_its_repeats_as_dropped() {
        let notifier = Notifier::builder()
            .sink(Memory::new())
            .on_diagnostic(|_| {})
            .build()
            .unwrap();
        assert!(notifier.admit(7, None));
        assert!(!notifier.admit(7, None), "a repeat in the open window");
        notifier.withdraw(7);
        assert_eq!(notifier.stats().dropped, 1);
        assert!(notifier.admit(7, None), "forgotten: admitted afresh");
    }
}
