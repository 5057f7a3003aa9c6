use notify_core::alert_on_error;

#[alert_on_error]
const fn limit() -> u32 {
    10
}

fn main() {
    let _ = limit();
}
