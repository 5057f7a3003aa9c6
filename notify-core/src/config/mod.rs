//! Configuration, on top of everything else: the builder (`builder.rs`),
//! the environment (`env.rs`) and the global install with its guard
//! (`install.rs`).

mod builder;
mod env;
mod install;

pub use builder::{
    NotifierBuilder, SpoolDir, DEFAULT_DEDUP_WINDOW, DEFAULT_FLUSH_TIMEOUT,
    DEFAULT_MAX_FINGERPRINTS, DEFAULT_QUEUE_CAPACITY, DEFAULT_REQUEST_TIMEOUT,
};
pub(crate) use install::flush_global;
pub use install::FlushGuard;
