use notify_core::monitor;

struct Report {
    rows: u64,
}

#[monitor(success_value)]
fn export() -> Result<Report, std::io::Error> {
    Ok(Report { rows: 1 })
}

fn main() {
    let _ = export().map(|r| r.rows);
}
