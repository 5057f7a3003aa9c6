//! The capture path, measured side by side with sentry (issue 4).
//!
//! `cargo bench --bench capture` runs, in one process and one run:
//! - happy path, sync and async: `#[alert_on_error]` vs the same plain function;
//! - first error on the caller's thread (storm check, unresolved backtrace,
//!   hand-off) vs `sentry::capture_error` with `attach_stacktrace: true`;
//! - suppressed repeat, with its allocations counted;
//! - delivery throughput to a local HTTP server (keep-alive);
//! - memory growth over 10,000,000 errors on 10,000 fingerprints.
//!
//! Every measured call happens `DEPTH` `#[inline(never)]` frames below the
//! benchmark closure, so the backtraces have a realistic depth.

#[path = "support/discard.rs"]
mod discard;
use discard::Discard;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use notify_core::{alert_on_error, Alertmanager, Notifier};

// ---------------------------------------------------------------------------
// Allocation counting: only on the thread that measures, only while it does.

#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocations_in, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------
// The workload.

/// `#[inline(never)]` frames between the benchmark closure and the measured call.
const DEPTH: u32 = 10;

/// Calls `f` `depth` real frames further down the stack.
#[inline(never)]
fn nested<R>(depth: u32, f: &mut dyn FnMut() -> R) -> R {
    if depth == 0 {
        f()
    } else {
        // black_box on the way back: not a tail call, so every frame stays.
        black_box(nested(black_box(depth - 1), f))
    }
}

// The measured functions, shared with examples/happy_path_calls.rs (which
// counts their instructions).
#[path = "support/workload.rs"]
mod workload;
use workload::{
    checksum_plain, checksum_plain_async, checksum_wrapped, checksum_wrapped_async,
    checksum_wrapped_future, declined_plain, declined_wrapped, poll_to_completion, Block, Declined,
};

#[alert_on_error]
#[inline(never)]
fn charge(attempt: u64) -> Result<(), Declined> {
    Err(Declined(attempt))
}

/// What `#[alert_on_error]` does, done by hand with sentry.
#[inline(never)]
fn charge_sentry(attempt: u64) -> Result<(), Declined> {
    let result = Err(Declined(attempt));
    if let Err(error) = &result {
        sentry::capture_error(error);
    }
    result
}

// ---------------------------------------------------------------------------
// Sinks and transports.

/// sentry's transport, in memory: counts envelopes and keeps the last few.
#[derive(Default)]
struct InMemoryTransport {
    sent: AtomicU64,
    last: Mutex<Vec<sentry::Envelope>>,
}

impl sentry::Transport for InMemoryTransport {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let mut last = self.last.lock().unwrap();
        if last.len() >= 8 {
            last.remove(0);
        }
        last.push(envelope);
    }
}

// ---------------------------------------------------------------------------
// A local HTTP server that answers 200 to everything.

fn start_server(requests: Arc<AtomicU64>) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::Builder::new()
        .name(String::from("http-server"))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(move || {
                    requests.fetch_add(1, Ordering::Relaxed);
                    async { axum::http::StatusCode::OK }
                });
                axum::serve(listener, app).await.unwrap();
            });
        })
        .unwrap();
    addr
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

// ---------------------------------------------------------------------------
// The benchmarks.

fn happy_paths(c: &mut Criterion) {
    let block: Block = std::array::from_fn(|i| i as u64 + 1);
    assert!(checksum_plain(&block).is_ok() && checksum_wrapped(&block).is_ok());

    let mut group = c.benchmark_group("happy_sync");
    group.bench_function("plain", |b| {
        b.iter(|| nested(DEPTH, &mut || checksum_plain(black_box(&block))))
    });
    group.bench_function("wrapped", |b| {
        b.iter(|| nested(DEPTH, &mut || checksum_wrapped(black_box(&block))))
    });
    group.finish();

    let mut group = c.benchmark_group("happy_async");
    group.bench_function("plain", |b| {
        b.iter(|| {
            nested(DEPTH, &mut || {
                poll_to_completion(checksum_plain_async(black_box(&block)))
            })
        })
    });
    group.bench_function("wrapped", |b| {
        b.iter(|| {
            nested(DEPTH, &mut || {
                poll_to_completion(checksum_wrapped_async(black_box(&block)))
            })
        })
    });
    group.bench_function("wrapped_future_returning", |b| {
        b.iter(|| {
            nested(DEPTH, &mut || {
                poll_to_completion(checksum_wrapped_future(black_box(&block)))
            })
        })
    });
    group.finish();
}

/// Median and quartiles of `wrapped / plain` over `PAIRS` pairs of batches:
/// batches of plain and wrapped calls alternate (which one goes first
/// alternates too), and each pair gives one ratio.
fn paired(plain: &mut dyn FnMut() -> u64, wrapped: &mut dyn FnMut() -> u64) -> (f64, f64, f64) {
    const PAIRS: usize = 201;
    const CALLS: u32 = 20_000;
    let time = |f: &mut dyn FnMut() -> u64| {
        let start = Instant::now();
        let mut sum = 0u64;
        for _ in 0..CALLS {
            sum = sum.wrapping_add(nested(DEPTH, &mut *f));
        }
        black_box(sum);
        start.elapsed().as_secs_f64()
    };
    // Warm both up.
    time(plain);
    time(wrapped);
    let mut ratios: Vec<f64> = (0..PAIRS)
        .map(|pair| {
            let (p, w) = if pair % 2 == 0 {
                let p = time(plain);
                (p, time(wrapped))
            } else {
                let w = time(wrapped);
                (time(plain), w)
            };
            w / p
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    (ratios[PAIRS / 2], ratios[PAIRS / 4], ratios[3 * PAIRS / 4])
}

/// The happy-path ratios again, measured in pairs: batches of plain and
/// wrapped calls alternate (which one goes first alternates too), and each
/// pair gives one ratio. A neighbour that slows the machine for a while slows
/// both halves of a pair, so the median of the pairs' ratios is steadier on a
/// shared machine than the ratio of two medians measured seconds apart.
fn paired_ratios() {
    let block: Block = std::array::from_fn(|i| i as u64 + 1);
    let mut sync_plain = || checksum_plain(black_box(&block)).unwrap_or(0);
    let mut sync_wrapped = || checksum_wrapped(black_box(&block)).unwrap_or(0);
    let mut async_plain =
        || poll_to_completion(checksum_plain_async(black_box(&block))).unwrap_or(0);
    let mut async_wrapped =
        || poll_to_completion(checksum_wrapped_async(black_box(&block))).unwrap_or(0);
    for (name, plain, wrapped) in [
        (
            "sync",
            &mut sync_plain as &mut dyn FnMut() -> u64,
            &mut sync_wrapped as &mut dyn FnMut() -> u64,
        ),
        ("async", &mut async_plain, &mut async_wrapped),
    ] {
        let (median, low, high) = paired(plain, wrapped);
        println!(
            "paired happy path {name}: wrapped / plain median {median:.3} (quartiles {low:.3}–{high:.3})"
        );
    }
    // A function returning `impl Future` against the same body as an
    // `async fn`, both wrapped (target: at most 1).
    let mut async_wrapped =
        || poll_to_completion(checksum_wrapped_async(black_box(&block))).unwrap_or(0);
    let mut future_wrapped =
        || poll_to_completion(checksum_wrapped_future(black_box(&block))).unwrap_or(0);
    let (median, low, high) = paired(&mut async_wrapped, &mut future_wrapped);
    println!(
        "paired happy path future-returning fn / async fn, both wrapped: median {median:.3} (quartiles {low:.3}–{high:.3})"
    );
}

fn first_error(c: &mut Criterion, sentry_transport: &InMemoryTransport) {
    let mut group = c.benchmark_group("first_error");
    // A fresh fingerprint every iteration: a distinct error text.
    let mut attempt = 1_000_000_000u64;
    group.bench_function("notify", |b| {
        b.iter(|| {
            attempt += 1;
            nested(DEPTH, &mut || charge(black_box(attempt)))
        })
    });
    // The first error on a thread that never reported one: its stack bounds
    // are not known yet, its thread-locals are new. Only the call is timed,
    // on a new thread each time.
    group.bench_function("notify_new_thread", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                attempt += 1;
                let this = attempt;
                total += std::thread::Builder::new()
                    .name("first-error".into())
                    .spawn(move || {
                        // What any thread has done before it fails: allocated
                        // (glibc gives a thread its malloc arena at its first
                        // allocation, ~10 µs) and named itself.
                        drop(black_box(vec![0u8; 64]));
                        let _ = black_box(std::thread::current());
                        let start = Instant::now();
                        let _ = black_box(nested(DEPTH, &mut || charge(black_box(this))));
                        start.elapsed()
                    })
                    .expect("spawn the measuring thread")
                    .join()
                    .expect("the measuring thread");
            }
            total
        })
    });
    // For reference: the floor, an unresolved capture of the same stack alone.
    group.bench_function("std_backtrace_unresolved", |b| {
        b.iter(|| nested(DEPTH, &mut || std::backtrace::Backtrace::force_capture()))
    });
    group.bench_function("sentry", |b| {
        b.iter(|| {
            attempt += 1;
            nested(DEPTH, &mut || charge_sentry(black_box(attempt)))
        })
    });
    group.finish();

    // The comparison is only fair if sentry really attached a resolved stack.
    let last = sentry_transport.last.lock().unwrap();
    let Some(event) = last.iter().rev().find_map(|e| e.event()) else {
        // Filtered out on the command line.
        return;
    };
    let frames = event
        .threads
        .values
        .iter()
        .filter_map(|t| t.stacktrace.as_ref())
        .chain(
            event
                .exception
                .values
                .iter()
                .filter_map(|e| e.stacktrace.as_ref()),
        )
        .map(|s| s.frames.as_slice())
        .next()
        .unwrap_or_default();
    let charge_frame = frames.iter().any(|f| {
        f.function
            .as_deref()
            .is_some_and(|n| n.contains("charge_sentry"))
    });
    println!(
        "sentry check: {} envelopes; last event has a stack trace of {} frames, charge_sentry resolved: {}",
        sentry_transport.sent.load(Ordering::Relaxed),
        frames.len(),
        charge_frame
    );
    assert!(charge_frame, "sentry's stack-trace integration did not run");
}

fn suppressed_repeat(c: &mut Criterion) {
    let mut group = c.benchmark_group("suppressed_repeat");
    group.bench_function("notify", |b| {
        b.iter(|| nested(DEPTH, &mut || charge(black_box(7))))
    });
    // The baseline: the same `String` error returned by a plain function.
    let _ = declined_wrapped(); // the first of its window
    group.bench_function("string_error_plain", |b| {
        b.iter(|| nested(DEPTH, &mut || declined_plain()))
    });
    group.bench_function("string_error_repeat", |b| {
        b.iter(|| nested(DEPTH, &mut || declined_wrapped()))
    });
    group.finish();
    let _ = declined_wrapped();
    let (median, low, high) = paired(&mut || declined_plain().map_or(1, |()| 0), &mut || {
        declined_wrapped().map_or(1, |()| 0)
    });
    println!(
        "paired suppressed repeat: repeat / plain call returning the same String error, median {median:.3} (quartiles {low:.3}–{high:.3})"
    );

    const N: u64 = 100_000;
    let _ = charge(7); // the first of the window, if it closed meanwhile
    let allocations = allocations_in(|| {
        for _ in 0..N {
            let _ = black_box(nested(DEPTH, &mut || charge(black_box(7))));
        }
    });
    println!(
        "suppressed repeat: {allocations} allocations in {N} repeats ({} per repeat)",
        allocations as f64 / N as f64
    );
}

fn delivery(c: &mut Criterion) {
    let requests = Arc::new(AtomicU64::new(0));
    let addr = start_server(requests.clone());
    let notifier = Notifier::builder()
        .sink(Alertmanager::new(format!("http://{addr}")))
        .queue_capacity(1_000_000)
        .on_diagnostic(|line| eprintln!("notify (delivery bench): {line}"))
        .build()
        .unwrap();
    let mut attempt = 0u64;
    let mut group = c.benchmark_group("delivery");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("alertmanager_http_keepalive", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                attempt += 1;
                nested(DEPTH, &mut || notifier.report_error(&Declined(attempt)));
            }
            assert!(notifier.flush(Duration::from_secs(120)), "flush timed out");
            start.elapsed()
        })
    });
    group.finish();
    let stats = notifier.stats();
    println!(
        "delivery check: {} alerts reported, {} delivered, {} failed, {} dropped; the server answered {} requests",
        attempt,
        stats.delivered,
        stats.failed,
        stats.dropped,
        requests.load(Ordering::Relaxed)
    );
    assert_eq!(stats.delivered, attempt);
}

fn memory() {
    const FINGERPRINTS: u64 = 10_000;
    const ERRORS: u64 = 10_000_000;
    let notifier = Notifier::builder()
        .sink(Discard)
        // Room for all 10,000 in the table, as `max_fingerprints` would be
        // set by a program that expects that many.
        .max_fingerprints(20_000)
        .queue_capacity(16_384)
        .on_diagnostic(|_| {})
        .build()
        .unwrap();
    let report = |i: u64| {
        nested(DEPTH, &mut || {
            notifier.report_error(&Declined(i % FINGERPRINTS));
        })
    };
    for i in 0..FINGERPRINTS {
        report(i);
    }
    assert!(notifier.flush(Duration::from_secs(120)));
    let after_first = rss_bytes();
    let start = Instant::now();
    for i in FINGERPRINTS..ERRORS {
        report(i);
    }
    let elapsed = start.elapsed();
    // Every repeat is counted in the table; nothing is queued yet.
    let after_errors = rss_bytes();
    // The flush turns the 10,000 open windows into 10,000 summaries at once
    // (a one-time burst per fingerprint, not per error).
    assert!(notifier.flush(Duration::from_secs(120)));
    let after_flush = rss_bytes();
    let stats = notifier.stats();
    let mb = |bytes: u64| bytes as f64 / 1e6;
    println!(
        "memory: RSS after the first {FINGERPRINTS} errors: {:.1} MB; after {ERRORS} errors over {FINGERPRINTS} fingerprints: {:.1} MB \
         (growth {:+.2} MB); after the flush that delivers their {FINGERPRINTS} summaries: {:.1} MB (growth {:+.2} MB)",
        mb(after_first),
        mb(after_errors),
        mb(after_errors) - mb(after_first),
        mb(after_flush),
        mb(after_flush) - mb(after_first),
    );
    println!(
        "memory: {:.0} ns per error over the loop; queued {}, dropped {}, evicted {}",
        elapsed.as_nanos() as f64 / (ERRORS - FINGERPRINTS) as f64,
        stats.queued,
        stats.dropped,
        stats.evicted,
    );
}

fn main() {
    // The global notifier, for `#[alert_on_error]`.
    let _guard = Notifier::builder()
        .sink(Discard)
        .on_diagnostic(|_| {})
        .install()
        .expect("install the notifier");

    let sentry_transport = Arc::new(InMemoryTransport::default());
    let mut options = sentry::ClientOptions::new();
    // A DSN is required for the client to be enabled; the transport keeps
    // everything in memory, nothing is sent anywhere.
    options.dsn = Some("http://public@127.0.0.1:9/1".parse().expect("a valid DSN"));
    options.attach_stacktrace = true;
    options.transport = Some(Arc::new(sentry_transport.clone()));
    // `sentry::init` applies the defaults (`apply_defaults`), so the
    // stack-trace integrations run.
    let _sentry = sentry::init(options);

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50)
        .configure_from_args();

    happy_paths(&mut c);
    // Also with a filter that names it (`cargo bench --bench capture happy`).
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if filters.is_empty() || filters.iter().any(|f| "happy_paired".contains(f.as_str())) {
        paired_ratios();
    }
    first_error(&mut c, &sentry_transport);
    // Let the dispatcher catch up with the first errors before timing repeats.
    notify_core::flush(Duration::from_secs(120));
    suppressed_repeat(&mut c);
    delivery(&mut c);
    c.final_summary();
    memory();
}
