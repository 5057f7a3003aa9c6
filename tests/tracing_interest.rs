//! The `tracing` layer's interest, alone in its test binary: callsite
//! interest is process-wide, and other tests' subscribers (a fmt layer at
//! `INFO` on another thread) would change what these callsites are asked.

use tracing_subscriber::prelude::*;

/// Below the threshold our layer is never interested: alone on a registry
/// it leaves `INFO` and `WARN` disabled, and next to a fmt layer it takes
/// nothing from the fmt layer's interest.
#[test]
fn below_the_threshold_the_layer_is_never_interested() {
    let alone = tracing_subscriber::registry().with(notify_core::tracing::layer());
    tracing::subscriber::with_default(alone, || {
        assert!(!tracing::enabled!(tracing::Level::INFO));
        assert!(!tracing::enabled!(tracing::Level::WARN));
        assert!(tracing::enabled!(tracing::Level::ERROR));
    });
    let with_fmt = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
        .with(notify_core::tracing::layer());
    tracing::subscriber::with_default(with_fmt, || {
        assert!(tracing::enabled!(tracing::Level::INFO));
    });
}
