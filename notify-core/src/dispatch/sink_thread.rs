//! Each sink's own thread: a current-thread tokio runtime on a named thread
//! (`notify-sink:<name>`), where that sink's deliveries run.
//!
//! A sink whose `send` blocks its thread — a custom async sink that calls a
//! synchronous client, a [`BlockingSink`](crate::sink::BlockingSink) —
//! then holds up only its own deliveries: the dispatcher, the other sinks,
//! storm summaries and flush deadlines go on. The parts of one sink (the
//! chats of a `Telegram` sink) share its thread; they are one sink's, so
//! none of them blocks. The cost is a thread per sink, parked while idle,
//! and one cross-thread hand-off per delivery.

use tokio::sync::oneshot;

use crate::capture::mark_notifier_thread;
use crate::sink::Transport;
use crate::sys::batch_scheduling;

/// A running sink thread; it ends when this is dropped (what it still runs
/// is abandoned, never waited for).
pub(crate) struct SinkThread {
    runtime: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
}

impl SinkThread {
    /// Starts the thread of the sink named `name`, with room for
    /// `blocking_threads` blocking calls at once (a blocking sink's).
    pub(crate) fn start(
        name: &str,
        transport: &Transport,
        blocking_threads: usize,
    ) -> Result<Self, String> {
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, runtime) = std::sync::mpsc::channel();
        let transport = transport.clone();
        std::thread::Builder::new()
            .name(format!("notify-sink:{name}"))
            .spawn(move || {
                mark_notifier_thread();
                transport.enter();
                let built = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .thread_name("notify-sink-blocking")
                    .max_blocking_threads(blocking_threads.clamp(1, 64))
                    .on_thread_start(mark_notifier_thread)
                    // Like the dispatcher: batch-scheduled while asleep, so
                    // the hand-off that wakes it never preempts the
                    // application on its CPU; a normal thread while it runs
                    // the sink (what the sink starts inherits nothing).
                    .on_thread_park(|| batch_scheduling(true))
                    .on_thread_unpark(|| batch_scheduling(false))
                    .build();
                let runtime = match built {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready.send(Ok(runtime.handle().clone()));
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                // A blocking call that never returns must not keep the
                // thread (or the process) waiting.
                runtime.shutdown_background();
            })
            .map_err(|e| e.to_string())?;
        let runtime = runtime
            .recv()
            .map_err(|_| String::from("the sink thread ended at once"))??;
        Ok(SinkThread {
            runtime,
            stop: Some(stop),
        })
    }

    /// Where this sink's deliveries are spawned.
    pub(crate) fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }
}

impl Drop for SinkThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
