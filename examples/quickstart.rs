//! The quick start: one error alert and one panic alert.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! With no `NOTIFY_*` variable set, both alerts go to the console (stderr).
//! Set, say, `NOTIFY_TELEGRAM_BOT_TOKEN` and `NOTIFY_TELEGRAM_CHAT_ID` (see
//! the README) and the same alerts arrive in Telegram instead.

use notify_core::alert_on_error;

fn main() -> Result<(), notify_core::ConfigError> {
    let _guard = notify_core::init_from_env()?; // flushes pending alerts when dropped

    // An error: the function returns `Err`, the alert carries the error, its
    // causes and a backtrace that starts at `load_config`.
    if let Err(e) = load_config("/etc/quickstart/does-not-exist.toml") {
        println!("load_config failed as expected: {e:#}");
    }

    // A panic: reported with the panic site's backtrace, then the panic
    // continues as usual (here it is caught, so the example exits 0).
    let caught = std::panic::catch_unwind(|| average(&[]));
    println!("average panicked as expected: {}", caught.is_err());
    Ok(())
}

#[alert_on_error(context(path))]
fn load_config(path: &str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {path}"))?;
    Ok(text)
}

#[alert_on_error(title = "Averaging failed")]
fn average(values: &[u64]) -> u64 {
    let sum: u64 = values.iter().sum();
    sum.checked_div(values.len() as u64)
        .expect("average of an empty list")
}
