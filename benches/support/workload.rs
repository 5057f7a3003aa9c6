//! The workload: the same function plain and wrapped, sync and async, ~30
//! ns of real work each (the happy path); and a function that returns the
//! same `String` error every time (the suppressed repeat). Shared by `benches/capture.rs` (time)
//! and `examples/happy_path_calls.rs` (instructions), so both measure the
//! same code.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use notify_core::alert_on_error;

/// The error, never returned on the happy path.
#[derive(Debug)]
pub struct Declined(pub u64);

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "card declined (attempt {})", self.0)
    }
}

impl std::error::Error for Declined {}

/// The input: a block to checksum.
pub type Block = [u64; 32];

/// ~30 ns of real work, so that the ratio means something.
#[inline(always)]
fn checksum(block: &Block) -> Result<u64, Declined> {
    let mut h = 0u64;
    for x in block {
        h = (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    if h == 0 {
        Err(Declined(0))
    } else {
        Ok(h)
    }
}

#[inline(never)]
pub fn checksum_plain(block: &Block) -> Result<u64, Declined> {
    checksum(block)
}

#[alert_on_error]
#[inline(never)]
pub fn checksum_wrapped(block: &Block) -> Result<u64, Declined> {
    checksum(block)
}

#[inline(never)]
pub async fn checksum_plain_async(block: &Block) -> Result<u64, Declined> {
    let block = std::future::ready(block).await;
    checksum(block)
}

#[alert_on_error]
#[inline(never)]
pub async fn checksum_wrapped_async(block: &Block) -> Result<u64, Declined> {
    let block = std::future::ready(block).await;
    checksum(block)
}

/// The same `String` error every time, plain and wrapped: with a notifier
/// installed, every wrapped call after the first of its window is a
/// suppressed repeat.
#[inline(never)]
pub fn declined_plain() -> Result<(), String> {
    Err(String::from("card declined: insufficient funds"))
}

#[alert_on_error]
#[inline(never)]
pub fn declined_wrapped() -> Result<(), String> {
    Err(String::from("card declined: insufficient funds"))
}

/// Polls a future that completes at once (no executor: a no-op waker).
pub fn poll_to_completion<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// The async fn's body as a sync function that returns the future: the
/// attribute watches the returned future (its happy path should cost what
/// the `async fn`'s does).
#[alert_on_error]
#[inline(never)]
pub fn checksum_wrapped_future(
    block: &Block,
) -> impl Future<Output = Result<u64, Declined>> + Send + '_ {
    async move {
        let block = std::future::ready(block).await;
        checksum(block)
    }
}
