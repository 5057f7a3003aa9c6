use notify_core::alert_on_error;

#[alert_on_error(title = "Export failed", title = "Again")]
fn export() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    let _ = export();
}
