use notify_core::alert_on_error;

#[alert_on_error(result)]
fn export() {}

fn main() {
    export();
}
