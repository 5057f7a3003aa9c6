//! A custom sink that calls blocking code: it appends each alert as one
//! JSON line to a file.
//!
//! ```text
//! cargo run --example custom_sink                  # writes to a file in the temp dir
//! cargo run --example custom_sink -- alerts.jsonl  # or to this one
//! ```
//!
//! Writing a file is synchronous, so the sink implements `BlockingSink`:
//! each `send` runs on a blocking thread of the sink's own, never on the
//! notifier's runtime, and a slow disk delays no other sink. (A sink that
//! awaits — an async HTTP client — implements `Sink` instead.) It is routed,
//! retried, bounded and counted like any other sink.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use notify_core::{alert_on_error, Alert, BlockingSink, BlockingSinkExt, Console, SinkError};

/// Appends alerts to a file, one JSON document per line.
struct JsonLines {
    file: Mutex<File>,
}

impl JsonLines {
    fn open(path: &PathBuf) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonLines {
            file: Mutex::new(file),
        })
    }
}

impl BlockingSink for JsonLines {
    fn name(&self) -> &str {
        "jsonl"
    }

    fn send(&self, alert: &Alert) -> Result<(), SinkError> {
        let line = serde_json::json!({
            "kind": alert.kind.as_str(),
            "severity": alert.severity.as_str(),
            "title": alert.title,
            "message": alert.message,
            "causes": alert.causes,
            "function": alert.location.function,
            "file": alert.location.file,
            "line": alert.location.line,
            "host": alert.host,
            "fingerprint": format!("{:016x}", alert.fingerprint),
        });
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // One write per line, so lines from concurrent processes never interleave.
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        file.write_all(&bytes)
            // A full disk may clear up; a retry costs little.
            .map_err(|e| SinkError::retryable(format!("cannot append to the alert file: {e}")))
    }
}

#[derive(Debug)]
struct QuotaExceeded(u32);

impl std::fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "export quota exceeded ({} rows over)", self.0)
    }
}

impl std::error::Error for QuotaExceeded {}

#[alert_on_error(context(rows))]
fn export(rows: u32) -> Result<u32, QuotaExceeded> {
    if rows > 1000 {
        return Err(QuotaExceeded(rows - 1000));
    }
    Ok(rows)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("notify-custom-sink-example.jsonl"));
    let _guard = notify_core::Notifier::builder()
        .sink(JsonLines::open(&path)?.named("audit-file"))
        .sink(Console::new())
        .flush_timeout(Duration::from_secs(5))
        .install()?;

    let _ = export(1500);
    notify_core::report_message(notify_core::Severity::Warning, "disk 91% full");

    assert!(notify_core::flush(Duration::from_secs(5)));
    println!("appended the alerts to {}", path.display());
    Ok(())
}
