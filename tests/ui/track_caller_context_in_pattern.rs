//! With `#[track_caller]`, `context(..)` cannot name a binding inside a
//! pattern argument: refused at the name, with what to do instead.

use notify_core::alert_on_error;

#[track_caller]
#[alert_on_error(context(x))]
fn sum((x, y): (i32, i32)) -> Result<i32, String> {
    Ok(x + y)
}

fn main() {
    let _ = sum((1, 2));
}
