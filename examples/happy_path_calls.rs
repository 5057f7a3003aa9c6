//! Calls one function `N` times, for counting instructions rather than time:
//! what `#[alert_on_error]` adds to a call that returns `Ok`, measured without
//! the noise of a shared machine.
//!
//! ```sh
//! cargo build --release --example happy_path_calls
//! for f in sync-plain sync-wrapped async-plain async-wrapped; do
//!   for n in 1000 2000; do
//!     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/happy_path_calls $f $n 2>&1 | grep Collected
//!   done
//! done
//! ```
//!
//! The difference between the two counts of a row, divided by 1000, is the
//! cost of one call (start-up cancels out). The functions are the same as in
//! `benches/capture.rs`: ~30 ns of real work, returning `Ok`; the async ones
//! are polled to completion with a no-op waker.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use notify_core::alert_on_error;

#[derive(Debug)]
struct Declined;

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

impl std::error::Error for Declined {}

type Block = [u64; 32];

#[inline(always)]
fn checksum(block: &Block) -> Result<u64, Declined> {
    let mut h = 0u64;
    for x in block {
        h = (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    if h == 0 {
        Err(Declined)
    } else {
        Ok(h)
    }
}

#[inline(never)]
fn sync_plain(block: &Block) -> Result<u64, Declined> {
    checksum(block)
}

#[alert_on_error]
#[inline(never)]
fn sync_wrapped(block: &Block) -> Result<u64, Declined> {
    checksum(block)
}

#[inline(never)]
async fn async_plain(block: &Block) -> Result<u64, Declined> {
    let block = std::future::ready(block).await;
    checksum(block)
}

#[alert_on_error]
#[inline(never)]
async fn async_wrapped(block: &Block) -> Result<u64, Declined> {
    let block = std::future::ready(block).await;
    checksum(block)
}

#[inline(never)]
fn poll_to_completion<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(function), Some(calls)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: happy_path_calls sync-plain|sync-wrapped|async-plain|async-wrapped CALLS"
        );
        std::process::exit(2);
    };
    let calls: u32 = calls.parse().expect("CALLS is a number");
    let call: fn(&Block) -> Result<u64, Declined> = match function.as_str() {
        "sync-plain" => |b| sync_plain(black_box(b)),
        "sync-wrapped" => |b| sync_wrapped(black_box(b)),
        "async-plain" => |b| poll_to_completion(async_plain(black_box(b))),
        "async-wrapped" => |b| poll_to_completion(async_wrapped(black_box(b))),
        other => {
            eprintln!("unknown function {other}");
            std::process::exit(2);
        }
    };
    let block: Block = std::array::from_fn(|i| i as u64 + 1);
    let mut sum = 0u64;
    for _ in 0..calls {
        sum = sum.wrapping_add(call(&block).expect("the checksum is never zero"));
    }
    println!("{function}: {calls} calls, checksum {sum:x}");
}
