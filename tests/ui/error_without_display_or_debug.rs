use notify_core::alert_on_error;

struct Opaque;

#[alert_on_error]
fn export() -> Result<(), Opaque> {
    Err(Opaque)
}

fn main() {
    let _ = export();
}
