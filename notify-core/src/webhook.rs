//! The JSON document the [`Webhook`](crate::Webhook) sink posts, its
//! signature, and [`verify`] for receivers.
//!
//! # The document (`notify.alert/v1`)
//!
//! Each alert is one `POST` with `Content-Type: application/json` and the
//! body an [`AlertDocument`]. Every key is always present (absent values are
//! `null`), so receivers can rely on the shape. Fields may be *added* within
//! `v1`; a change that removes or re-types a field gets a new `schema`.
//!
//! ```json
//! {
//!   "schema": "notify.alert/v1",
//!   "kind": "error",
//!   "severity": "error",
//!   "title": "Error in nightly_export",
//!   "app": "billing",
//!   "environment": "prod",
//!   "host": "web-1",
//!   "process_id": 4242,
//!   "thread": "main",
//!   "timestamp": "2026-09-21T18:13:20Z",
//!   "location": { "function": "billing::jobs::nightly_export", "file": "src/jobs.rs", "line": 42 },
//!   "message": "could not write /data/out.csv",
//!   "causes": ["No space left on device (os error 28)"],
//!   "panic_location": null,
//!   "backtrace": [{ "function": "billing::jobs::nightly_export", "file": "src/jobs.rs", "line": 57 }],
//!   "context": [{ "name": "path", "value": "\"/data/out.csv\"" }],
//!   "repeats": null,
//!   "dropped": 0,
//!   "fingerprint": "123456789abcdef0",
//!   "run": null
//! }
//! ```
//!
//! A monitored job's run (`#[monitor]`) sends documents of kinds
//! `"started"`, `"succeeded"` and `"still_running"` (besides its failure,
//! an `"error"` or `"panic"`), each with a `run` object:
//!
//! ```json
//! {
//!   "schema": "notify.alert/v1",
//!   "kind": "still_running",
//!   "severity": "warning",
//!   "title": "nightly-export still running after 2h",
//!   "run": {
//!     "job": "nightly-export",
//!     "run_id": "0d6c3b8e-3f1a-4c7e-9a51-2b7f4c9d1e08",
//!     "duration_ms": 7200000,
//!     "value": null,
//!     "ends_still_running": false
//!   },
//!   "...": "the other fields, as above"
//! }
//! ```
//!
//! # The signature
//!
//! With [`Webhook::secret`](crate::Webhook::secret) set, each request carries
//!
//! ```text
//! X-Notify-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//! ```
//!
//! The timestamp is inside the signed bytes, so a captured request cannot be
//! replayed later than the receiver's tolerance; the body is signed exactly
//! as sent. Receivers may see several `v1=` entries (during a secret
//! rotation); any one that matches is enough. Unknown `key=value` entries are
//! ignored, so later versions can add schemes.
//!
//! # A receiver
//!
//! ```
//! use std::time::Duration;
//! use notify_core::webhook::{self, AlertDocument, VerifyError};
//!
//! /// What a receiver's handler does with a request's header and raw body.
//! fn receive(secret: &str, signature: Option<&str>, body: &[u8]) -> Result<AlertDocument, String> {
//!     let signature = signature.ok_or("unsigned request")?;
//!     webhook::verify(secret, signature, body, Duration::from_secs(300))
//!         .map_err(|e| format!("rejected: {e}"))?;
//!     serde_json::from_slice(body).map_err(|e| format!("not an alert: {e}"))
//! }
//!
//! let secret = "whsec-test-only";
//! let body = br#"{"schema":"notify.alert/v1"}"#;
//! let now = std::time::SystemTime::now()
//!     .duration_since(std::time::UNIX_EPOCH)
//!     .unwrap()
//!     .as_secs();
//!
//! // A good signature passes verification.
//! let good = webhook::sign(secret, now, body);
//! assert!(webhook::verify(secret, &good, body, Duration::from_secs(300)).is_ok());
//!
//! // A signature made with another secret, or over another body, is rejected.
//! let forged = webhook::sign("guessed", now, body);
//! assert!(receive(secret, Some(&forged), body).unwrap_err().contains("does not match"));
//! assert_eq!(
//!     webhook::verify(secret, &good, br#"{"schema":"tampered"}"#, Duration::from_secs(300)),
//!     Err(VerifyError::Mismatch)
//! );
//!
//! // A replay of a request signed an hour ago is stale.
//! let old = webhook::sign(secret, now - 3600, body);
//! assert_eq!(webhook::verify(secret, &old, body, Duration::from_secs(300)), Err(VerifyError::Stale));
//!
//! // Garbage is malformed.
//! assert_eq!(webhook::verify(secret, "v1=zz", body, Duration::from_secs(300)), Err(VerifyError::Malformed));
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::alert::{rfc3339, Alert};

/// The `schema` value of the document this version posts.
pub const SCHEMA: &str = "notify.alert/v1";

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Notify-Signature";

/// The document the [`Webhook`](crate::Webhook) sink posts for one alert.
/// Deserialize it in a Rust receiver; see the [module docs](self) for the
/// JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AlertDocument {
    /// Always [`SCHEMA`], `"notify.alert/v1"`.
    pub schema: String,
    /// `"error"` (an `Err`, or `report_error`), `"panic"` or `"message"`
    /// (`report_message`, or a monitored run cancelled); for a monitored job
    /// (`#[monitor]`) also `"started"`, `"succeeded"` and `"still_running"`.
    /// Receivers should accept kinds they do not know: more may be added
    /// within `v1`.
    pub kind: String,
    /// `"info"` (a job's start or success), `"warning"`, `"error"` or `"critical"`.
    pub severity: String,
    /// One line: the `title = "..."` option or a default like `Error in nightly_export`.
    pub title: String,
    /// The application name (`NOTIFY_APP_NAME`, or the executable's name).
    pub app: String,
    /// The environment (`prod`, `staging`), or `null`.
    pub environment: Option<String>,
    /// The host name.
    pub host: String,
    /// The process id.
    pub process_id: u32,
    /// The name of the thread that raised the alert (`<unnamed ThreadId(N)>` if none).
    pub thread: String,
    /// When the alert was raised, RFC 3339 in UTC to the second.
    pub timestamp: String,
    /// Where it was raised.
    pub location: DocumentLocation,
    /// The error's `Display` (or `Debug`), the panic message, or the reported message.
    pub message: String,
    /// The error's `source()` chain, outermost first; may be empty.
    pub causes: Vec<String>,
    /// For a panic, `file:line:column` of the panic; else `null`.
    pub panic_location: Option<String>,
    /// The backtrace trimmed to the application's frames, innermost first; may be empty.
    pub backtrace: Vec<DocumentFrame>,
    /// The `context(...)` arguments, in order: name and `Debug` text.
    pub context: Vec<DocumentContext>,
    /// On a storm-control summary, the repeats it stands for; else `null`.
    pub repeats: Option<DocumentRepeats>,
    /// Alerts dropped (queue full, too many distinct errors) just before this one.
    pub dropped: u64,
    /// 16 hex digits identifying "the same alert" (call site, kind, message),
    /// stable across processes: group or de-duplicate by it.
    pub fingerprint: String,
    /// For an alert about a monitored job's run (`#[monitor]`): which job
    /// and run; else `null`. Added within `v1`: a document without it (from
    /// an older sender) reads as `null`.
    #[serde(default)]
    pub run: Option<DocumentRun>,
}

/// A monitored job's run, in an [`AlertDocument`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DocumentRun {
    /// The job's name (a slug).
    pub job: String,
    /// The run's id, a UUID: the same in every document of the run.
    pub run_id: String,
    /// How long the run had been going, in milliseconds (0 for a start).
    pub duration_ms: u64,
    /// With `success_value`, the `Debug` text of what the run returned; else `null`.
    pub value: Option<String>,
    /// True when this document ends a run whose `"still_running"` document
    /// was sent (its success or failure).
    pub ends_still_running: bool,
}

/// Where an alert was raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentLocation {
    /// The function's path, `billing::jobs::nightly_export`.
    pub function: String,
    /// The source file.
    pub file: String,
    /// The line.
    pub line: u32,
}

/// One backtrace frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentFrame {
    /// The demangled function name.
    pub function: String,
    /// The source file, or `null` without debug info.
    pub file: Option<String>,
    /// The line, or `null` without debug info.
    pub line: Option<u32>,
}

/// One `context(...)` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentContext {
    /// The argument's name.
    pub name: String,
    /// Its `Debug` text.
    pub value: String,
}

/// The repeats a summary stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRepeats {
    /// How many repeats were counted instead of sent.
    pub count: u64,
    /// The first repeat, RFC 3339.
    pub first: String,
    /// The last repeat, RFC 3339.
    pub last: String,
}

impl AlertDocument {
    /// The document for `alert`.
    pub fn from_alert(alert: &Alert) -> Self {
        AlertDocument {
            schema: SCHEMA.to_owned(),
            kind: alert.kind.as_str().to_owned(),
            severity: alert.severity.as_str().to_owned(),
            title: alert.title.clone(),
            app: alert.app_name.clone(),
            environment: alert.environment.clone(),
            host: alert.host.clone(),
            process_id: alert.process_id,
            thread: alert.thread.clone(),
            timestamp: alert.timestamp_rfc3339(),
            location: DocumentLocation {
                function: alert.location.function.clone(),
                file: alert.location.file.clone(),
                line: alert.location.line,
            },
            message: alert.message.clone(),
            causes: alert.causes.clone(),
            panic_location: alert.panic_location.clone(),
            backtrace: alert
                .backtrace
                .iter()
                .map(|f| DocumentFrame {
                    function: f.function.clone(),
                    file: f.file.clone(),
                    line: f.line,
                })
                .collect(),
            context: alert
                .context
                .iter()
                .map(|(name, value)| DocumentContext {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            repeats: alert.repeats.map(|r| DocumentRepeats {
                count: r.count,
                first: rfc3339(r.first),
                last: rfc3339(r.last),
            }),
            dropped: alert.dropped,
            fingerprint: alert.fingerprint_hex(),
            run: alert.run.as_ref().map(|run| DocumentRun {
                job: run.job.clone(),
                run_id: run.run_id.clone(),
                duration_ms: run.duration.as_millis().min(u128::from(u64::MAX)) as u64,
                value: run.value.clone(),
                ends_still_running: run.ends_still_running,
            }),
        }
    }
}

fn mac(secret: &[u8], timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The [`SIGNATURE_HEADER`] value for `body` sent at `timestamp` (unix
/// seconds): `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn sign(secret: impl AsRef<[u8]>, timestamp: u64, body: &[u8]) -> String {
    let digest = mac(secret.as_ref(), timestamp, body)
        .finalize()
        .into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Why [`verify`] rejected a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The header is not `t=<secs>,v1=<hex>[,...]`.
    Malformed,
    /// The timestamp is further from now than the tolerance (a replay, or
    /// a badly wrong clock).
    Stale,
    /// No `v1` signature matches the secret and body.
    Mismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifyError::Malformed => "the signature header is malformed",
            VerifyError::Stale => "the signature's timestamp is outside the tolerance",
            VerifyError::Mismatch => "the signature does not match the body",
        })
    }
}

impl std::error::Error for VerifyError {}

/// Checks the [`SIGNATURE_HEADER`] value `signature` of a request whose raw
/// body is `body`: the timestamp must be within `tolerance` of now and a
/// `v1` signature must match (compared in constant time). See the
/// [module docs](self) for a receiver.
pub fn verify(
    secret: impl AsRef<[u8]>,
    signature: &str,
    body: &[u8],
    tolerance: Duration,
) -> Result<(), VerifyError> {
    verify_at(secret, signature, body, tolerance, SystemTime::now())
}

/// [`verify`] as if the time were `now`.
pub fn verify_at(
    secret: impl AsRef<[u8]>,
    signature: &str,
    body: &[u8],
    tolerance: Duration,
    now: SystemTime,
) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for entry in signature.split(',') {
        let Some((key, value)) = entry.trim().split_once('=') else {
            return Err(VerifyError::Malformed);
        };
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(value.parse::<u64>().map_err(|_| VerifyError::Malformed)?);
            }
            "t" => return Err(VerifyError::Malformed),
            "v1" => candidates.push(hex::decode(value).map_err(|_| VerifyError::Malformed)?),
            _ => {}
        }
    }
    let (Some(timestamp), false) = (timestamp, candidates.is_empty()) else {
        return Err(VerifyError::Malformed);
    };
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(VerifyError::Stale);
    }
    let expected = mac(secret.as_ref(), timestamp, body);
    if candidates
        .iter()
        .any(|candidate| expected.clone().verify_slice(candidate).is_ok())
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `run` was added within v1: a document from an older sender (without
    /// the key) still reads, and a run's document carries its run.
    #[test]
    fn documents_without_run_still_read_and_runs_round_trip() {
        let old = r#"{"schema":"notify.alert/v1","kind":"error","severity":"error","title":"t",
            "app":"a","environment":null,"host":"h","process_id":1,"thread":"main",
            "timestamp":"2026-01-01T00:00:00Z","location":{"function":"f","file":"f.rs","line":1},
            "message":"m","causes":[],"panic_location":null,"backtrace":[],"context":[],
            "repeats":null,"dropped":0,"fingerprint":"0000000000000001"}"#;
        let document: AlertDocument = serde_json::from_str(old).unwrap();
        assert_eq!(document.run, None);

        let mut alert = crate::render::checks::sample_alert();
        alert.kind = crate::AlertKind::StillRunning;
        alert.run = Some(crate::RunInfo {
            job: String::from("nightly-export"),
            run_id: String::from("0d6c3b8e-3f1a-4c7e-9a51-2b7f4c9d1e08"),
            duration: Duration::from_secs(7200),
            value: None,
            ends_still_running: false,
        });
        let json = serde_json::to_value(AlertDocument::from_alert(&alert)).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["kind"], "still_running");
        assert_eq!(json["run"]["job"], "nightly-export");
        assert_eq!(json["run"]["duration_ms"], 7_200_000);
        assert_eq!(json["run"]["ends_still_running"], false);
        // Every key is present: no run is `null`, not missing.
        alert.run = None;
        let json = serde_json::to_value(AlertDocument::from_alert(&alert)).unwrap();
        assert!(json.as_object().unwrap().contains_key("run"));
        assert!(json["run"].is_null());
    }

    #[test]
    fn signature_is_the_documented_hmac() {
        // HMAC-SHA256("key", "1.body"), computed independently (Python's hmac module).
        assert_eq!(
            sign("key", 1, b"body"),
            "t=1,v1=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5"
        );
    }

    #[test]
    fn verify_rejects_bad_malformed_and_stale() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let good = sign("s", 1_000_000, b"b");
        let tolerance = Duration::from_secs(300);
        assert_eq!(verify_at("s", &good, b"b", tolerance, now), Ok(()));
        assert_eq!(
            verify_at("x", &good, b"b", tolerance, now),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_at("s", &good, b"c", tolerance, now),
            Err(VerifyError::Mismatch)
        );
        let late = now + Duration::from_secs(301);
        assert_eq!(
            verify_at("s", &good, b"b", tolerance, late),
            Err(VerifyError::Stale)
        );
        for bad in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1,t=1,v1=00",
            "t=1000000,v1=xyz",
            "garbage",
        ] {
            assert_eq!(
                verify_at("s", bad, b"b", tolerance, now),
                Err(VerifyError::Malformed),
                "{bad}"
            );
        }
        let rotated = format!("{good},v1={}", "00".repeat(32));
        assert_eq!(verify_at("s", &rotated, b"b", tolerance, now), Ok(()));
    }
}
