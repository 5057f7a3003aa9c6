//! The alert model: what every sink receives.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// How urgent an alert is. Ordered: `Info < Warning < Error < Critical`.
///
/// An `Err` defaults to [`Severity::Error`], a panic to [`Severity::Critical`];
/// `#[alert_on_error(severity = "...")]` overrides both. `Info` is what a
/// job's start and success messages are (see `#[monitor]`): every sink
/// receives them by default; `.min_severity(Severity::Warning)` on a sink
/// keeps them out of it.
///
/// More levels may be added: a `match` on it needs a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// News, not trouble: a monitored job started or succeeded.
    Info,
    /// Something is off, nobody needs to get up.
    Warning,
    /// A failure that someone should look at.
    Error,
    /// A failure that needs attention now.
    Critical,
}

impl Severity {
    /// The lowercase name: `"info"`, `"warning"`, `"error"` or `"critical"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Severity`] from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSeverityError(pub(crate) String);

impl fmt::Display for ParseSeverityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown severity {:?}: expected \"info\", \"warning\", \"error\" or \"critical\"",
            self.0
        )
    }
}

impl std::error::Error for ParseSeverityError {}

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Parses `info`, `warning`, `error` or `critical`, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            "critical" | "crit" => Ok(Severity::Critical),
            _ => Err(ParseSeverityError(s.to_owned())),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AlertKind {
    /// A function returned `Err`, or [`report_error`](crate::report_error) was called.
    Error,
    /// A function panicked.
    Panic,
    /// [`report_message`](crate::report_message) was called (or a
    /// monitored run was cancelled: its future dropped before it completed).
    Message,
    /// A monitored job's run started (`#[monitor(notify(start))]`).
    Started,
    /// A monitored job's run succeeded (`#[monitor(notify(success))]`, or
    /// after a [`StillRunning`](AlertKind::StillRunning) alert, which it ends).
    Succeeded,
    /// A monitored job's run is still going after its `max_runtime`.
    StillRunning,
}

impl AlertKind {
    /// `"error"`, `"panic"`, `"message"`, `"started"`, `"succeeded"` or
    /// `"still_running"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::Error => "error",
            AlertKind::Panic => "panic",
            AlertKind::Message => "message",
            AlertKind::Started => "started",
            AlertKind::Succeeded => "succeeded",
            AlertKind::StillRunning => "still_running",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the alert was raised: the annotated function, or the caller of
/// [`report_error`](crate::report_error) / [`report_message`](crate::report_message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The function's path, `my_app::jobs::nightly_export`.
    pub function: String,
    /// The source file, as `file!()` gives it.
    pub file: String,
    /// The line of the function's name (or of the `report_*` call).
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}:{})", self.function, self.file, self.line)
    }
}

/// One frame of a resolved, trimmed backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The demangled function name, without the hash suffix.
    pub function: String,
    /// The source file, when debug info has it.
    pub file: Option<String>,
    /// The line, when debug info has it.
    pub line: Option<u32>,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.function)?;
        if let Some(file) = &self.file {
            write!(f, " at {file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
        }
        Ok(())
    }
}

/// For a summary: how many repeats of the same alert were suppressed, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeats {
    /// How many alerts with this fingerprint were counted, not sent.
    pub count: u64,
    /// When the first suppressed repeat happened.
    pub first: SystemTime,
    /// When the last suppressed repeat happened.
    pub last: SystemTime,
}

impl Repeats {
    /// The span the repeats cover (`last - first`).
    pub fn span(&self) -> Duration {
        self.last.duration_since(self.first).unwrap_or_default()
    }
}

/// For an alert about a monitored job's run (`#[monitor]`): which job, which
/// run, how long it had run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunInfo {
    /// The job's name (`name = "..."`, else the function's): a slug.
    pub job: String,
    /// This run's id, a UUID: the same in every alert and heartbeat
    /// check-in of the run, different for an overlapping run of the job.
    pub run_id: String,
    /// How long the run had been going when the alert was raised (zero
    /// for a start).
    pub duration: Duration,
    /// With `success_value`: the `Debug` text of what a successful run
    /// returned (bounded).
    pub value: Option<String>,
    /// True when this alert ends a run whose
    /// [`StillRunning`](AlertKind::StillRunning) alert was sent: its
    /// success or failure. Alertmanager resolves the still-running alert.
    pub ends_still_running: bool,
}

/// A duration as a person reads it, to the second: `41s`, `3m 12s`,
/// `2h`, `1d 3h`; under ten seconds, to the hundredth: `0.25s`, `1.50s`.
pub(crate) fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs < 10 {
        // Short runs, to the hundredth: `0.25s`, `1.50s`.
        return if duration.is_zero() {
            String::from("0s")
        } else {
            format!("{:.2}s", duration.as_secs_f64())
        };
    }
    let (days, hours, minutes, seconds) =
        (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    let parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    // The two largest units: `1d 3h`, not `1d 3h 4m 5s`.
    parts[first..(first + 2).min(4)]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One alert, as every sink receives it.
///
/// Built on the caller's thread, completed (backtrace resolved and trimmed)
/// on the dispatcher thread before any sink sees it. Fields are public so a
/// custom [`Sink`](crate::Sink) can render them as it likes; more may be
/// added, so the struct is `#[non_exhaustive]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Alert {
    /// Error, panic or message.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// One line: the `title = "..."` option, or a default such as
    /// `Error in nightly_export`.
    pub title: String,
    /// The application name (`NOTIFY_APP_NAME`, or the executable's name).
    pub app_name: String,
    /// The environment (`prod`, `staging`), if configured.
    pub environment: Option<String>,
    /// The host name.
    pub host: String,
    /// The process id.
    pub process_id: u32,
    /// The name of the thread that raised the alert (`<unnamed ThreadId(N)>` if none).
    pub thread: String,
    /// When the alert was raised.
    pub timestamp: SystemTime,
    /// Where it was raised.
    pub location: Location,
    /// The error's `Display` (or `Debug` for a `Debug`-only error), the
    /// panic message, or the reported message.
    pub message: String,
    /// The error's `source()` chain, outermost first.
    pub causes: Vec<String>,
    /// For a panic, where it happened: `file:line:column`.
    pub panic_location: Option<String>,
    /// Backtrace frames trimmed to the application's own, innermost first.
    pub backtrace: Vec<Frame>,
    /// The `context(...)` arguments: name and `Debug` text.
    pub context: Vec<(String, String)>,
    /// Set on a summary: the repeats that storm control counted instead of sending.
    pub repeats: Option<Repeats>,
    /// Alerts dropped since the last alert that reached this sink: the queue
    /// was full, or this sink had fallen behind (see
    /// [`Stats::dropped`](crate::Stats::dropped)).
    pub dropped: u64,
    /// Identifies "the same alert": call site, kind and message.
    pub fingerprint: u64,
    /// The `sinks(...)` this alert routes to; empty means every sink.
    pub sinks: Vec<String>,
    /// Set on a digest: several alerts that waited for the same chat sink
    /// (rate-limited, slow, or flushing) sent as one message — one line
    /// each (severity, title, the error's first line, call site, repeats),
    /// while the rest of this alert is the most severe one in full. Empty
    /// for a single alert. See [`Sink::digest_room`](crate::Sink::digest_room).
    pub digest: Vec<String>,
    /// Set on an alert about a monitored job's run (`#[monitor]`): its
    /// start, success, failure or overlong run.
    pub run: Option<RunInfo>,
}

impl Alert {
    /// The timestamp in RFC 3339, UTC, to the second: `2026-11-23T04:05:06Z`.
    pub fn timestamp_rfc3339(&self) -> String {
        rfc3339(self.timestamp)
    }

    /// True for a digest of several alerts (see [`Alert::digest`]).
    pub fn is_digest(&self) -> bool {
        !self.digest.is_empty()
    }

    /// True for a summary of suppressed repeats.
    pub fn is_summary(&self) -> bool {
        self.repeats.is_some()
    }

    /// The fingerprint as 16 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        format!("{:016x}", self.fingerprint)
    }

    /// Does this alert route to a sink named `name` (or to every sink)?
    pub fn routes_to(&self, name: &str) -> bool {
        self.sinks.is_empty() || self.sinks.iter().any(|s| s == name)
    }
}

/// Formats a time as RFC 3339 in UTC, to the second.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&format)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_says_them() {
        let s = Duration::from_secs;
        assert_eq!(human_duration(s(41)), "41s");
        assert_eq!(human_duration(s(192)), "3m 12s");
        assert_eq!(human_duration(s(7200)), "2h");
        assert_eq!(human_duration(s(7260)), "2h 1m");
        assert_eq!(human_duration(s(97_200 + 61)), "1d 3h");
        assert_eq!(human_duration(Duration::from_millis(250)), "0.25s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.50s");
        assert_eq!(human_duration(s(1)), "1.00s");
        assert_eq!(human_duration(Duration::ZERO), "0s");
    }
}
