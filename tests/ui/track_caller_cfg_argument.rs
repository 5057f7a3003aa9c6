//! `#[track_caller]` with an argument that `#[cfg]` may remove cannot keep
//! the caller's location (a call cannot leave an argument out): refused at
//! the `cfg`, with what to do instead.

use notify_core::alert_on_error;

#[track_caller]
#[alert_on_error]
fn load(#[cfg(any())] verbose: bool, id: u32) -> Result<u32, String> {
    Err(format!("{id} missing"))
}

fn main() {
    let _ = load(1);
}
