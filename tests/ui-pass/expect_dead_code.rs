//! `#[expect(dead_code)]` on an unused annotated function is fulfilled (an
//! unfulfilled expectation would warn, and warnings are denied here).
#![deny(warnings)]

use notify_core::alert_on_error;

#[expect(dead_code)]
#[alert_on_error]
fn kept_for_later() -> Result<(), String> {
    Ok(())
}

#[alert_on_error]
#[expect(dead_code)]
async fn kept_for_later_too() -> Result<(), String> {
    Ok(())
}

fn main() {}
