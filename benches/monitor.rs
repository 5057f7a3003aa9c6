//! What a monitored run costs the job's thread on the success path (issue
//! 13's target: under 5 µs — a run is a whole job, so this is about doing
//! no I/O on the thread).
//!
//! `cargo bench --bench monitor` runs, in one process, with a notifier
//! installed (a sink that discards, and a heartbeat whose check-ins go to a
//! local server that answers `200 OK`):
//! - `plain`: the job without the attribute;
//! - `monitor`: `#[monitor]` — a run id, two signals through the queue;
//! - `monitor_notify`: `#[monitor(notify(start, success), success_value)]`.
//!
//! The queue is never allowed to fill (a full queue drops, which would be
//! cheaper than the real path): runs are timed in batches of 256, and the
//! notifier is flushed, untimed, between batches.

#[path = "support/discard.rs"]
mod discard;
use discard::Discard;
use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use criterion::Criterion;
use notify_core::monitor;

/// A heartbeat stand-in on 127.0.0.1 that answers every ping `200 OK`.
fn heartbeat_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/bench-key", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buffer = [0u8; 16 * 1024];
                // Keep-alive: answer each request on the connection.
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    let answer =
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nPing-Body-Limit: 10000\r\n\r\nOK";
                    if stream.write_all(answer.as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    url
}

#[inline(never)]
fn plain(rows: u64) -> Result<u64, std::io::Error> {
    Ok(black_box(rows) + 1)
}

#[monitor(name = "bench-job")]
#[inline(never)]
fn monitored(rows: u64) -> Result<u64, std::io::Error> {
    Ok(black_box(rows) + 1)
}

#[monitor(name = "bench-job-notify", notify(start, success), success_value)]
#[inline(never)]
fn monitored_notify(rows: u64) -> Result<u64, std::io::Error> {
    Ok(black_box(rows) + 1)
}

const BATCH: u64 = 256;

/// `iters` runs of `job`, timed in batches, the notifier flushed between them.
fn timed(iters: u64, job: fn(u64) -> Result<u64, std::io::Error>) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = BATCH.min(iters - done);
        let start = Instant::now();
        for i in 0..n {
            let _ = black_box(job(black_box(i)));
        }
        total += start.elapsed();
        done += n;
        assert!(notify_core::flush(Duration::from_secs(60)));
    }
    total
}

fn main() {
    let _guard = notify_core::Notifier::builder()
        .sink(Discard)
        .heartbeat(heartbeat_server())
        .queue_capacity(4096)
        .spool_dir(None)
        .install()
        .unwrap();
    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let mut group = c.benchmark_group("monitored run, success path, job thread");
    group.bench_function("plain", |b| b.iter_custom(|iters| timed(iters, plain)));
    group.bench_function("monitor", |b| {
        b.iter_custom(|iters| timed(iters, monitored))
    });
    group.bench_function("monitor_notify", |b| {
        b.iter_custom(|iters| timed(iters, monitored_notify))
    });
    group.finish();
    let stats = notify_core::flush(Duration::from_secs(60));
    assert!(stats);
    c.final_summary();
}
