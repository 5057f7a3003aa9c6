use notify_core::alert_on_error;

#[alert_on_error(context(day, user))]
fn export(day: u32, attempt: u8) -> Result<(), std::io::Error> {
    let _ = (day, attempt);
    Ok(())
}

fn main() {
    let _ = export(1, 0);
}
