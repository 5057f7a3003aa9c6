//! What the `tracing` layer costs the events it does not report, and what
//! a storm-suppressed `error!` costs (issue 12).
//!
//! `cargo bench --bench events` runs, in one process and one run, with a
//! notifier installed (a sink that discards):
//! - `info!` through a registry with a fmt layer (writing to `io::sink`),
//!   without and with `notify_core::tracing::layer()` (target: ≤ 1.05);
//! - the same `error!` repeated, without our layer and with it, where
//!   every event after the first is a repeat that storm control counts.
//!
//! Each pair of subscribers is measured in alternating batches (which one
//! goes first alternates too), and the median of the pairs' ratios is
//! printed, with criterion's own rows for the absolute times.

#[path = "support/discard.rs"]
mod discard;
use discard::Discard;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use notify_core::Notifier;
use tracing::Dispatch;
use tracing_subscriber::prelude::*;

fn fmt_only() -> Dispatch {
    Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink)),
    )
}

fn fmt_and_notify() -> Dispatch {
    Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
            .with(notify_core::tracing::layer()),
    )
}

#[inline(never)]
fn log_info(n: u64) {
    tracing::info!(order_id = n, "order accepted");
}

#[inline(never)]
fn log_error(n: u64) {
    let _ = n;
    tracing::error!(error = "card declined", "charging the card failed");
}

/// Median and quartiles of `b / a` over pairs of alternating batches.
fn paired(a: &Dispatch, b: &Dispatch, f: fn(u64)) -> (f64, f64, f64) {
    const PAIRS: usize = 101;
    const CALLS: u64 = 5_000;
    let time = |dispatch: &Dispatch| {
        tracing::dispatcher::with_default(dispatch, || {
            let start = Instant::now();
            for n in 0..CALLS {
                f(black_box(n));
            }
            start.elapsed().as_secs_f64()
        })
    };
    time(a);
    time(b);
    let mut ratios: Vec<f64> = (0..PAIRS)
        .map(|pair| {
            if pair % 2 == 0 {
                let ta = time(a);
                time(b) / ta
            } else {
                let tb = time(b);
                tb / time(a)
            }
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    (ratios[PAIRS / 2], ratios[PAIRS / 4], ratios[3 * PAIRS / 4])
}

fn main() {
    let _guard = Notifier::builder()
        .sink(Discard)
        .on_diagnostic(|_| {})
        .install()
        .expect("install the notifier");
    let without = fmt_only();
    let with = fmt_and_notify();

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    for (name, f) in [("info", log_info as fn(u64)), ("error_repeat", log_error)] {
        let mut group = c.benchmark_group(format!("events_{name}"));
        for (label, dispatch) in [("fmt", &without), ("fmt_and_notify", &with)] {
            group.bench_function(label, |b| {
                tracing::dispatcher::with_default(dispatch, || {
                    let mut n = 0u64;
                    b.iter(|| {
                        n += 1;
                        f(black_box(n))
                    })
                })
            });
        }
        group.finish();
    }

    let (median, low, high) = paired(&without, &with, log_info);
    println!(
        "paired info! with a fmt layer: with our layer / without, median {median:.3} (quartiles {low:.3}–{high:.3})"
    );
    let (median, low, high) = paired(&without, &with, log_error);
    println!(
        "paired repeated error! (storm-suppressed with our layer): with / without, median {median:.3} (quartiles {low:.3}–{high:.3})"
    );
    let stats = notify_core::flush(Duration::from_secs(10));
    println!("flushed: {stats}");
    c.final_summary();
}
