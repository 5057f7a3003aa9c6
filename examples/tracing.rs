//! Alerts from `tracing` events and `log` records, next to the logs you
//! already write.
//!
//! ```text
//! cargo run --example tracing
//! ```
//!
//! The fmt layer prints every event as usual; `notify_core::tracing::layer()`
//! turns the `ERROR` ones into alerts — with the error's causes, the
//! event's fields and its spans' fields, and a backtrace from where it was
//! logged. With no `NOTIFY_*` variable set they go to the console (stderr),
//! after the log lines.

use notify_core::alert_on_error;
use tracing_subscriber::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("the payment provider answered 503")]
struct Unavailable;

#[derive(Debug, thiserror::Error)]
#[error("charging order {order_id} failed")]
struct ChargeFailed {
    order_id: u64,
    #[source]
    cause: Unavailable,
}

fn charge(order_id: u64) -> Result<(), ChargeFailed> {
    Err(ChargeFailed {
        order_id,
        cause: Unavailable,
    })
}

#[tracing::instrument]
fn checkout(user: &str, order_id: u64) {
    tracing::info!("checking out");
    if let Err(error) = charge(order_id) {
        // One alert: title "checkout failed", the error and its cause, the
        // `order_id` field, and the span's `user` and `order_id`.
        tracing::error!(
            error = &error as &dyn std::error::Error,
            order_id,
            "checkout failed"
        );
    }
}

/// An error logged and returned: one failure, one alert (the event's).
#[alert_on_error]
fn refund(order_id: u64) -> Result<(), ChargeFailed> {
    let error = charge(order_id).unwrap_err();
    tracing::error!(error = %error, "refund failed");
    Err(error)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = notify_core::init_from_env()?;
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer())
        .with(notify_core::tracing::layer())
        .init();

    checkout("ana", 42);
    let _ = refund(43);
    // Below ERROR: logged, not alerted.
    tracing::warn!("disk at 91%");
    Ok(())
}
