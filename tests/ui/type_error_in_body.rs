//! A type error in an annotated body is reported in the body, where it
//! would be without the attribute.

use notify_core::alert_on_error;

#[alert_on_error]
fn sync_tail() -> Result<u32, String> {
    Ok("not a number")
}

#[alert_on_error]
async fn async_tail() -> String {
    1
}

#[alert_on_error]
async fn async_statement() -> Result<(), String> {
    let count: u32 = "three";
    let _ = count;
    Ok(())
}

#[track_caller]
#[alert_on_error]
fn tracked_tail() -> Result<u32, String> {
    Ok("not a number")
}

fn main() {}
