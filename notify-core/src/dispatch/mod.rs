//! The dispatcher side of the pipeline: the queue between callers and the
//! `notify-dispatcher` thread, and everything that thread does.
//!
//! | file | what it holds |
//! |---|---|
//! | `notifier.rs` | [`Notifier`]: starting one, handing it alerts (never blocking), its public methods |
//! | `state.rs` | what callers, dispatcher and flushers share; the queued alert |
//! | `worker.rs` | the dispatcher thread: its loop, sweeps, completing and routing alerts |
//! | `resolver.rs` | the resolver thread: backtraces resolved and trimmed, off the runtime |
//! | `backlog.rs` | each sink's bounded backlog and its deliveries |
//! | `sink_thread.rs` | each sink's own thread, where its deliveries run |
//! | `spool.rs` | what is undelivered at exit, kept on disk for the next run |
//! | `flush.rs` | the delivery ledger by sequence number, and waiting for it |
//! | `stats.rs` | [`Stats`] and the counters behind it |
//!
//! Callers `try_send` into a bounded queue and never wait. A failing sink
//! never delays the others: each delivery is its own task, each sink has its
//! own backlog, and a rate-limited sink pauses only itself.

mod backlog;
mod flush;
mod notifier;
mod resolver;
mod runs;
mod sink_thread;
mod spool;
mod state;
mod stats;
mod worker;

pub use notifier::Notifier;
pub(crate) use notifier::NotifierOptions;
pub(crate) use spool::default_dir as default_spool_dir;
pub use stats::Stats;
