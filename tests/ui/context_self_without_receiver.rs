use notify_core::alert_on_error;

struct Exporter;

impl Exporter {
    #[alert_on_error(context(self))]
    fn run(day: u32) -> Result<(), std::io::Error> {
        let _ = day;
        Ok(())
    }
}

fn main() {
    let _ = Exporter::run(1);
}
