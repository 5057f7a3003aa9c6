use notify_core::alert_on_error;

struct Opaque;

mod app {
    pub type Result<T> = std::result::Result<T, super::Opaque>;
}

#[alert_on_error]
fn export() -> app::Result<()> {
    Err(Opaque)
}

fn main() {
    let _ = export();
}
