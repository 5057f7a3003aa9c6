//! The resolver thread: turns captured return addresses into trimmed frames,
//! one backtrace after the other, in the order queued.
//!
//! Off the dispatcher's runtime, so a slow resolution (the first one loads
//! the symbol tables) never stalls deliveries, nor tokio's blocking pool
//! (which the HTTP client uses for DNS). It runs only this crate's code, so
//! it is batch-scheduled for good (see [`crate::sys::batch_scheduling`]).

use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::alert::Frame;
use crate::capture::{mark_notifier_thread, resolve_and_trim, RawBacktrace};
use crate::sys::batch_scheduling;

/// The way to the resolver thread; the thread ends when this drops.
pub(crate) struct Resolver {
    requests: mpsc::Sender<(RawBacktrace, oneshot::Sender<Vec<Frame>>)>,
}

impl Resolver {
    /// Starts the thread. If it cannot start, alerts go without a backtrace.
    pub(crate) fn start() -> Self {
        let (requests, incoming) = mpsc::channel::<(RawBacktrace, oneshot::Sender<Vec<Frame>>)>();
        let _ = std::thread::Builder::new()
            .name(String::from("notify-resolver"))
            .spawn(move || {
                mark_notifier_thread();
                batch_scheduling(true);
                for (raw, answer) in incoming {
                    let _ = answer.send(resolve_and_trim(raw));
                }
            });
        Resolver { requests }
    }

    /// The trimmed frames of `raw`; none if resolution failed (a panic in
    /// the symboliser) or the thread is gone.
    pub(crate) async fn resolve(&self, raw: RawBacktrace) -> Vec<Frame> {
        let (answer, frames) = oneshot::channel();
        match self.requests.send((raw, answer)) {
            Ok(()) => frames.await.unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }
}
