use notify_core::alert_on_error;

#[alert_on_error(level = "error")]
fn export() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    let _ = export();
}
