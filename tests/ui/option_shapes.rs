use notify_core::alert_on_error;

#[alert_on_error(sinks = "ops")]
fn export() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    let _ = export();
}
