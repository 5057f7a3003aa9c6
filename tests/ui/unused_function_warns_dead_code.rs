//! An unused annotated function warns `dead_code` like any other (here
//! denied, so the warning is an error to snapshot).
#![deny(dead_code)]

use notify_core::alert_on_error;

#[alert_on_error]
fn never_called() -> Result<(), String> {
    Ok(())
}

#[alert_on_error]
async fn never_awaited() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
