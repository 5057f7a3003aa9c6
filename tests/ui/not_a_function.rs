use notify_core::alert_on_error;

#[alert_on_error]
struct Export {
    day: u32,
}

fn main() {
    let export = Export { day: 1 };
    let _ = export.day;
}
