//! An argument the body never uses warns `unused_variables` at the
//! argument, with and without the attribute (sync, async, track_caller).
#![deny(unused_variables, unused_mut)]

use notify_core::alert_on_error;

#[alert_on_error]
fn sync_unused(id: u32) -> Result<(), String> {
    Ok(())
}

#[alert_on_error]
async fn async_unused(mut id: u32) -> Result<(), String> {
    Ok(())
}

#[track_caller]
#[alert_on_error]
fn tracked_unused(id: u32) -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = sync_unused(1);
    let _ = async_unused(1);
    let _ = tracked_unused(1);
}
