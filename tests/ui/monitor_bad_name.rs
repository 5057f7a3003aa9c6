use notify_core::monitor;

#[monitor(name = "Nightly Export")]
fn export() -> Result<(), std::io::Error> {
    Ok(())
}

#[allow(non_snake_case)]
#[monitor]
fn NightlyExport() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    let _ = export();
    let _ = NightlyExport();
}
