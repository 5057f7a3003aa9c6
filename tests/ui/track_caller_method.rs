//! `#[track_caller]` on a method cannot be kept (its body would run in a
//! closure): refused at the attribute, with what to do instead.

use notify_core::alert_on_error;

struct Store;

impl Store {
    #[track_caller]
    #[alert_on_error]
    fn load(&self, id: u32) -> Result<u32, String> {
        Err(format!("{id} missing"))
    }
}

fn main() {
    let _ = Store.load(1);
}
