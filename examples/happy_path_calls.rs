//! Calls one function `N` times, for counting instructions rather than time:
//! what `#[alert_on_error]` adds to a call that returns `Ok`, and what a
//! suppressed repeat of the same `String` error costs next to the plain
//! function returning it, measured without the noise of a shared machine.
//!
//! ```sh
//! cargo build --release --example happy_path_calls
//! for f in sync-plain sync-wrapped async-plain async-wrapped future-wrapped string-plain string-repeat; do
//!   for n in 1000 2000; do
//!     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/happy_path_calls $f $n 2>&1 | grep Collected
//!   done
//! done
//! ```
//!
//! The difference between the two counts of a row, divided by 1000, is the
//! cost of one call (start-up cancels out). The functions are those that
//! `benches/capture.rs` times (`benches/support/workload.rs`): ~30 ns of real
//! work, returning `Ok`; the async ones are polled to completion with a
//! no-op waker. For `string-repeat` a notifier is installed (a `Memory`
//! sink), and the first call, which opens the storm window, is made
//! before the counted ones.

use std::hint::black_box;

#[path = "../benches/support/workload.rs"]
mod workload;
use workload::{
    checksum_plain, checksum_plain_async, checksum_wrapped, checksum_wrapped_async,
    checksum_wrapped_future, declined_plain, declined_wrapped, poll_to_completion, Block, Declined,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(function), Some(calls)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: happy_path_calls sync-plain|sync-wrapped|async-plain|async-wrapped|future-wrapped|string-plain|string-repeat CALLS"
        );
        std::process::exit(2);
    };
    let calls: u32 = calls.parse().expect("CALLS is a number");
    if let Some(kind) = function.strip_prefix("string-") {
        let call: fn() -> Result<(), String> = match kind {
            "plain" => declined_plain,
            "repeat" => declined_wrapped,
            other => {
                eprintln!("unknown function string-{other}");
                std::process::exit(2);
            }
        };
        let _guard = (kind == "repeat").then(|| {
            notify_core::Notifier::builder()
                .sink(notify_core::Memory::new().named("discard"))
                .on_diagnostic(|_| {})
                .install()
                .expect("install the notifier")
        });
        let _ = call(); // opens the window
        let mut failed = 0u32;
        for _ in 0..calls {
            failed += u32::from(black_box(call()).is_err());
        }
        println!("{function}: {calls} calls, {failed} errors");
        return;
    }
    let call: fn(&Block) -> Result<u64, Declined> = match function.as_str() {
        "sync-plain" => |b| checksum_plain(black_box(b)),
        "sync-wrapped" => |b| checksum_wrapped(black_box(b)),
        "async-plain" => |b| poll_to_completion(checksum_plain_async(black_box(b))),
        "async-wrapped" => |b| poll_to_completion(checksum_wrapped_async(black_box(b))),
        "future-wrapped" => |b| poll_to_completion(checksum_wrapped_future(black_box(b))),
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
