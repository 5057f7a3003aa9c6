//! The spool: alerts still undelivered when the process exits — a platform
//! down, a flush deadline passed — are written to a directory, and the next
//! process of the same application that installs a notifier delivers them,
//! marked as delayed.
//!
//! - **Atomic.** An entry is written to a `.tmp-<pid>-<n>` file, synced,
//!   then renamed to `<millis>-<pid>-<n>.json`: a file with that name is
//!   whole. A process killed mid-write leaves only a `.tmp-` file, which is
//!   never read, and removed once its process is gone.
//! - **Once.** A reader claims an entry by renaming it to
//!   `….json.claimed-<pid>` (atomic: of two processes starting at once, one
//!   wins), queues it, then deletes it: from then on the alert is that
//!   process's, like one it raised — delivered, or written to the spool
//!   again at its exit (a process killed before then loses it, as it loses
//!   its own queue). A claim whose process is gone (it died before queueing
//!   it) is given back.
//! - **Bounded.** At most [`MAX_FILES`] entries and [`MAX_BYTES`] bytes;
//!   past that the oldest are deleted, counted and said.
//! - **Damaged or foreign files** are renamed `….bad`, said in one line, and
//!   never crash anything.
//! - **No secrets.** An entry is the alert (what any sink would show) and
//!   the name of the sink it was for: never a token, URL or secret.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertKind, Frame, Location, Repeats, RunInfo, Severity};

/// Entries kept at most.
pub(crate) const MAX_FILES: usize = 1000;
/// Bytes kept at most.
pub(crate) const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The format's version, in every entry.
const VERSION: u32 = 1;

/// The default directory: `$XDG_STATE_HOME/notify/<app>`, else
/// `~/.local/state/notify/<app>`; `None` when neither is known.
pub(crate) fn default_dir(app: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".local").join("state"))
        })?;
    let app: String = app
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let app = if app.is_empty() || app.starts_with('.') {
        format!("app{app}")
    } else {
        app
    };
    Some(base.join("notify").join(app))
}

/// What [`write`] did.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub(crate) written: u64,
    pub(crate) evicted: u64,
    pub(crate) errors: Vec<String>,
}

/// Writes each `(sink, alert)` as an entry of `dir`, then keeps the spool
/// within its bounds (oldest deleted first).
pub(crate) fn write(dir: &Path, entries: &[(String, &Alert)]) -> Written {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut out = Written::default();
    if entries.is_empty() {
        return out;
    }
    if let Err(e) = create_dir(dir) {
        out.errors
            .push(format!("cannot create the spool directory: {e}"));
        return out;
    }
    let pid = std::process::id();
    for (sink, alert) in entries {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let record = Record {
            version: VERSION,
            sink: sink.clone(),
            alert: AlertRecord::from(*alert),
        };
        let bytes = match serde_json::to_vec(&record) {
            Ok(bytes) => bytes,
            Err(e) => {
                out.errors.push(format!("cannot encode an alert: {e}"));
                continue;
            }
        };
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let tmp = dir.join(format!(".tmp-{pid}-{n}"));
        let name = dir.join(format!("{millis:015}-{pid}-{n:06}.json"));
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, &name)
        })();
        match result {
            Ok(()) => out.written += 1,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                out.errors.push(format!("cannot write a spool entry: {e}"));
            }
        }
    }
    out.evicted = enforce_bounds(dir);
    out
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

/// Entries of `dir` (`*.json`), oldest first, with their sizes.
fn entries(dir: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, u64)> = read
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
        .collect();
    out.sort();
    out
}

/// Deletes the oldest entries past the bounds; how many.
fn enforce_bounds(dir: &Path) -> u64 {
    let all = entries(dir);
    let mut total: u64 = all.iter().map(|(_, len)| len).sum();
    let mut count = all.len();
    let mut evicted = 0;
    for (path, len) in all {
        if count <= MAX_FILES && total <= MAX_BYTES {
            break;
        }
        if fs::remove_file(&path).is_ok() {
            evicted += 1;
        }
        count -= 1;
        total = total.saturating_sub(len);
    }
    evicted
}

/// What [`claim_all`] found.
#[derive(Default)]
pub(crate) struct Claimed {
    /// The entries this process now owns: the file (to delete once handed
    /// over), the sink, the alert marked as delayed.
    pub(crate) entries: Vec<(PathBuf, String, Alert)>,
    /// Files that are not whole entries of ours, set aside.
    pub(crate) bad: Vec<String>,
}

/// Claims every entry of `dir` (after giving back the claims of processes
/// that are gone and removing their half-written files) and reads them.
pub(crate) fn claim_all(dir: &Path) -> Claimed {
    let mut out = Claimed::default();
    recover(dir);
    let pid = std::process::id();
    for (path, _) in entries(dir).into_iter().take(MAX_FILES) {
        let mut claimed = path.clone().into_os_string();
        claimed.push(format!(".claimed-{pid}"));
        let claimed = PathBuf::from(claimed);
        if fs::rename(&path, &claimed).is_err() {
            // Another process claimed it first.
            continue;
        }
        match fs::read(&claimed)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
            .filter(|record| record.version == VERSION)
            .and_then(|record| Some((record.sink, record.alert.into_alert()?)))
        {
            Some((sink, alert)) => out.entries.push((claimed, sink, delayed(alert))),
            None => {
                let mut bad = path.clone().into_os_string();
                bad.push(".bad");
                let _ = fs::rename(&claimed, PathBuf::from(bad));
                out.bad.push(
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
            }
        }
    }
    out
}

/// Gives back the claims of processes that are gone; removes their
/// half-written files.
fn recover(dir: &Path) {
    let Ok(read) = fs::read_dir(dir) else {
        return;
    };
    for entry in read.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((original, pid)) = name.rsplit_once(".claimed-") {
            if pid.parse().is_ok_and(|pid| !alive(pid)) {
                let _ = fs::rename(entry.path(), dir.join(original));
            }
        } else if let Some(rest) = name.strip_prefix(".tmp-") {
            let pid = rest.split('-').next().and_then(|p| p.parse().ok());
            if pid.is_some_and(|pid| !alive(pid)) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Whether process `pid` exists.
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks that the process exists.
        let result = unsafe { libc::kill(pid, 0) };
        result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        pid == std::process::id()
    }
}

/// The alert as the next run sends it: ` (delayed)` in the title, and
/// when and where it was raised.
fn delayed(mut alert: Alert) -> Alert {
    if alert
        .context
        .first()
        .is_some_and(|(name, _)| name == "delayed")
    {
        // Spooled again by a later run that could not deliver it either:
        // it says when and where it was raised already.
        return alert;
    }
    alert.title.push_str(" (delayed)");
    alert.context.insert(
        0,
        (
            String::from("delayed"),
            format!(
                "raised {} on {} (pid {}), not delivered before that run exited; sent by a later run",
                alert.timestamp_rfc3339(),
                alert.host,
                alert.process_id
            ),
        ),
    );
    alert
}

/// One entry.
#[derive(Serialize, Deserialize)]
struct Record {
    version: u32,
    sink: String,
    alert: AlertRecord,
}

/// An [`Alert`] as the spool keeps it.
#[derive(Serialize, Deserialize)]
struct AlertRecord {
    kind: String,
    severity: String,
    title: String,
    app_name: String,
    environment: Option<String>,
    host: String,
    process_id: u32,
    thread: String,
    /// Milliseconds since the Unix epoch.
    timestamp_ms: u64,
    function: String,
    file: String,
    line: u32,
    message: String,
    causes: Vec<String>,
    panic_location: Option<String>,
    backtrace: Vec<(String, Option<String>, Option<u32>)>,
    context: Vec<(String, String)>,
    /// Count, first and last (milliseconds since the epoch).
    repeats: Option<(u64, u64, u64)>,
    dropped: u64,
    fingerprint: u64,
    sinks: Vec<String>,
    /// A monitored run's job, run id, duration (ms), value and whether it
    /// ends a still-running alert.
    #[serde(default)]
    run: Option<(String, String, u64, Option<String>, bool)>,
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .min(u128::from(u64::MAX)) as u64
}

fn time(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl From<&Alert> for AlertRecord {
    fn from(a: &Alert) -> Self {
        AlertRecord {
            kind: a.kind.as_str().to_owned(),
            severity: a.severity.as_str().to_owned(),
            title: a.title.clone(),
            app_name: a.app_name.clone(),
            environment: a.environment.clone(),
            host: a.host.clone(),
            process_id: a.process_id,
            thread: a.thread.clone(),
            timestamp_ms: millis(a.timestamp),
            function: a.location.function.clone(),
            file: a.location.file.clone(),
            line: a.location.line,
            message: a.message.clone(),
            causes: a.causes.clone(),
            panic_location: a.panic_location.clone(),
            backtrace: a
                .backtrace
                .iter()
                .map(|f| (f.function.clone(), f.file.clone(), f.line))
                .collect(),
            context: a.context.clone(),
            repeats: a
                .repeats
                .map(|r| (r.count, millis(r.first), millis(r.last))),
            dropped: a.dropped,
            fingerprint: a.fingerprint,
            sinks: a.sinks.clone(),
            run: a.run.as_ref().map(|r| {
                (
                    r.job.clone(),
                    r.run_id.clone(),
                    r.duration.as_millis().min(u128::from(u64::MAX)) as u64,
                    r.value.clone(),
                    r.ends_still_running,
                )
            }),
        }
    }
}

impl AlertRecord {
    fn into_alert(self) -> Option<Alert> {
        let kind = match self.kind.as_str() {
            "error" => AlertKind::Error,
            "panic" => AlertKind::Panic,
            "message" => AlertKind::Message,
            "started" => AlertKind::Started,
            "succeeded" => AlertKind::Succeeded,
            "still_running" => AlertKind::StillRunning,
            _ => return None,
        };
        let severity: Severity = self.severity.parse().ok()?;
        Some(Alert {
            kind,
            severity,
            title: self.title,
            app_name: self.app_name,
            environment: self.environment,
            host: self.host,
            process_id: self.process_id,
            thread: self.thread,
            timestamp: time(self.timestamp_ms),
            location: Location {
                function: self.function,
                file: self.file,
                line: self.line,
            },
            message: self.message,
            causes: self.causes,
            panic_location: self.panic_location,
            backtrace: self
                .backtrace
                .into_iter()
                .map(|(function, file, line)| Frame {
                    function,
                    file,
                    line,
                })
                .collect(),
            context: self.context,
            repeats: self.repeats.map(|(count, first, last)| Repeats {
                count,
                first: time(first),
                last: time(last),
            }),
            dropped: self.dropped,
            fingerprint: self.fingerprint,
            sinks: self.sinks,
            // Only single alerts are kept (a delivery is kept before any
            // digest is made of it).
            digest: Vec::new(),
            run: self.run.map(
                |(job, run_id, duration_ms, value, ends_still_running)| RunInfo {
                    job,
                    run_id,
                    duration: Duration::from_millis(duration_ms),
                    value,
                    ends_still_running,
                },
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::checks::sample_alert;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("notify-spool-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn an_entry_comes_back_as_the_same_alert_marked_delayed() {
        let dir = temp_dir("roundtrip");
        let mut alert = sample_alert();
        alert.repeats = Some(Repeats {
            count: 3,
            first: time(1_000),
            last: time(2_000),
        });
        let written = write(&dir, &[(String::from("ops"), &alert)]);
        assert_eq!(written.written, 1, "{:?}", written.errors);
        let claimed = claim_all(&dir);
        assert_eq!(claimed.entries.len(), 1);
        let (file, sink, back) = &claimed.entries[0];
        assert_eq!(sink, "ops");
        assert!(file.to_string_lossy().contains(".claimed-"));
        assert_eq!(back.title, format!("{} (delayed)", alert.title));
        assert_eq!(back.message, alert.message);
        assert_eq!(back.backtrace, alert.backtrace);
        assert_eq!(back.repeats, alert.repeats);
        assert_eq!(back.context[0].0, "delayed");
        assert_eq!(&back.context[1..], &alert.context[..]);
        // Claimed: a second reader finds nothing.
        assert!(claim_all(&dir).entries.is_empty());

        // Undelivered again and spooled again: still marked once, with
        // when and where it was first raised.
        let written = write(&dir, &[(String::from("ops"), back)]);
        assert_eq!(written.written, 1, "{:?}", written.errors);
        let again = claim_all(&dir);
        let (_, _, again) = &again.entries[0];
        assert_eq!(again.title, back.title);
        assert_eq!(again.context, back.context);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_spool_keeps_its_bounds_oldest_first() {
        let dir = temp_dir("bounds");
        let alert = sample_alert();
        let entries: Vec<(String, &Alert)> = (0..MAX_FILES + 5)
            .map(|_| (String::from("s"), &alert))
            .collect();
        let written = write(&dir, &entries);
        assert_eq!(written.written as usize, MAX_FILES + 5);
        assert_eq!(written.evicted, 5);
        assert_eq!(super::entries(&dir).len(), MAX_FILES);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn half_written_and_foreign_files_are_never_delivered() {
        let dir = temp_dir("damaged");
        let alert = sample_alert();
        write(&dir, &[(String::from("s"), &alert)]);
        // What a process killed mid-write leaves (pid 1 is never ours, but
        // alive: left alone; a dead pid's is removed).
        fs::write(dir.join(".tmp-1-0"), b"{\"version\":1,\"si").unwrap();
        fs::write(dir.join(".tmp-999999999-0"), b"{\"version\":1,\"si").unwrap();
        fs::write(
            dir.join("0000000000000-1-000000.json"),
            b"{\"version\":1,\"si",
        )
        .unwrap();
        fs::write(dir.join("notes.json"), b"[1, 2, 3]").unwrap();
        let claimed = claim_all(&dir);
        assert_eq!(claimed.entries.len(), 1);
        let mut bad = claimed.bad.clone();
        bad.sort();
        assert_eq!(bad, ["0000000000000-1-000000.json", "notes.json"]);
        assert!(!dir.join(".tmp-999999999-0").exists());
        assert!(dir.join("notes.json.bad").exists());
        // Set aside: not read again.
        assert!(claim_all(&dir).bad.is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_claim_of_a_process_that_is_gone_is_given_back() {
        let dir = temp_dir("stale");
        let alert = sample_alert();
        write(&dir, &[(String::from("s"), &alert)]);
        let (path, _) = super::entries(&dir).remove(0);
        let mut stale = path.clone().into_os_string();
        stale.push(".claimed-999999999");
        fs::rename(&path, PathBuf::from(stale)).unwrap();
        assert_eq!(claim_all(&dir).entries.len(), 1);
        let _ = fs::remove_dir_all(&dir);
    }
}
