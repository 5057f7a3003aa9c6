//! A nightly batch job, monitored: its start, its success with how long it
//! took and what it returned, a step that runs too long, and a failing job.
//!
//! ```text
//! cargo run --example monitor
//! ```
//!
//! With no `NOTIFY_*` variable set, every message goes to the console
//! (stderr). Set `NOTIFY_SLACK_WEBHOOK_URL` (or any sink's variable) to get
//! them in a chat, and `NOTIFY_HEARTBEAT_URL=https://hc-ping.com/<ping-key>`
//! to have every run check in with healthchecks.io, which notices a night
//! when the job did not run at all.

use std::time::Duration;

use notify_core::monitor;

#[derive(Debug, thiserror::Error)]
#[error("the warehouse refused the upload: quota exceeded")]
struct UploadRefused;

#[derive(Debug)]
struct Summary {
    rows: u64,
    files: u32,
}

/// One run of the export: "nightly-export started on <host>", then
/// "nightly-export succeeded in 0.32s on <host>" with the summary.
#[monitor(name = "nightly-export", notify(start, success), success_value)]
fn nightly_export(day: &str) -> Result<Summary, UploadRefused> {
    println!("exporting {day} ...");
    std::thread::sleep(Duration::from_millis(300));
    Ok(Summary {
        rows: 48_213,
        files: 3,
    })
}

/// Takes longer than it should: "reindex still running after 1s", once,
/// while it goes on; its end is then told too.
#[monitor(name = "reindex", max_runtime = "1s")]
fn reindex() -> Result<(), UploadRefused> {
    println!("reindexing ...");
    std::thread::sleep(Duration::from_millis(1500));
    Ok(())
}

/// Fails: "upload failed after 0.10s: the warehouse refused the upload",
/// with the backtrace, like any `#[alert_on_error]` alert.
#[monitor(name = "upload", severity = "critical")]
fn upload() -> Result<(), UploadRefused> {
    println!("uploading ...");
    std::thread::sleep(Duration::from_millis(100));
    Err(UploadRefused)
}

fn main() -> Result<(), notify_core::ConfigError> {
    // Flushes pending messages when dropped, at the end of main.
    let _guard = notify_core::init_from_env()?;
    if let Ok(summary) = nightly_export("2026-12-01") {
        println!("exported {} rows in {} files", summary.rows, summary.files);
    }
    let _ = reindex();
    if let Err(error) = upload() {
        println!("upload failed: {error}");
    }
    Ok(())
}
