//! [`NotifierBuilder`]: configuration in code, validated when built.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::install::{self, FlushGuard};
use crate::diagnostic::DiagnosticFn;
use crate::dispatch::{Notifier, NotifierOptions};
use crate::error::ConfigError;
use crate::settings::Settings;
use crate::sink::{IntoSink, SinkGroup};

/// The default window in which repeats of one alert are counted, not sent.
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(60);
/// The default capacity of the queue between callers and the dispatcher.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;
/// The default number of distinct fingerprints storm control tracks.
pub const DEFAULT_MAX_FINGERPRINTS: usize = 1000;
/// The default bound on one HTTP request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time the guard's `Drop` waits for delivery.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a [`Notifier`]; validated by [`build`](Self::build) and
/// [`install`](Self::install).
///
/// ```
/// use std::time::Duration;
/// use notify_core::{Console, Memory, Notifier, Severity};
///
/// let memory = Memory::new();
/// let notifier = Notifier::builder()
///     .app_name("billing")
///     .environment("prod")
///     .sink(Console::new().min_severity(Severity::Critical))
///     .sink(memory.clone().named("tests"))
///     .dedup_window(Duration::from_secs(30))
///     .queue_capacity(256)
///     .build()?;
/// # drop(notifier);
/// # Ok::<(), notify_core::ConfigError>(())
/// ```
#[must_use = "a builder does nothing until .install() or .build()"]
pub struct NotifierBuilder {
    pub(super) app_name: Option<String>,
    pub(super) environment: Option<String>,
    pub(super) sinks: Vec<SinkGroup>,
    pub(super) dedup_window: Duration,
    pub(super) queue_capacity: usize,
    pub(super) max_fingerprints: usize,
    pub(super) request_timeout: Duration,
    pub(super) flush_timeout: Duration,
    pub(super) diagnostics: Option<DiagnosticFn>,
    pub(super) defaulted_to_console: bool,
    /// `None`: the default directory; `Some(None)`: no spool.
    pub(super) spool_dir: Option<Option<PathBuf>>,
    /// `.heartbeat(url)`, and the name of the field it came from.
    pub(super) heartbeat: Option<(String, &'static str)>,
}

impl fmt::Debug for NotifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sinks are listed by name only: their settings hold secrets.
        f.debug_struct("NotifierBuilder")
            .field("app_name", &self.app_name)
            .field("environment", &self.environment)
            .field(
                "sinks",
                &self
                    .sinks
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("dedup_window", &self.dedup_window)
            .field("queue_capacity", &self.queue_capacity)
            .field("max_fingerprints", &self.max_fingerprints)
            .field("request_timeout", &self.request_timeout)
            .field("flush_timeout", &self.flush_timeout)
            .field("spool_dir", &self.spool_dir)
            .field(
                "heartbeat",
                // The URL holds the ping key.
                &self.heartbeat.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Default for NotifierBuilder {
    fn default() -> Self {
        NotifierBuilder {
            app_name: None,
            environment: None,
            sinks: Vec::new(),
            dedup_window: DEFAULT_DEDUP_WINDOW,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_fingerprints: DEFAULT_MAX_FINGERPRINTS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            diagnostics: None,
            defaulted_to_console: false,
            spool_dir: None,
            heartbeat: None,
        }
    }
}

impl NotifierBuilder {
    /// The application name in every alert (default: the executable's name).
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// The environment in every alert (`prod`, `staging`; default: none).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Adds a sink: a [`Sink`](crate::Sink) (async) or a
    /// [`BlockingSink`](crate::BlockingSink) (synchronous, run on blocking
    /// threads). Without any, alerts go nowhere (use
    /// [`Console`](crate::Console) for stderr).
    pub fn sink<Kind>(mut self, sink: impl IntoSink<Kind>) -> Self {
        self.sinks.push(SinkGroup::new(sink.into_sink()));
        self
    }

    /// Repeats of the same alert within this window are counted, not sent;
    /// one summary follows when it closes. Default 60 s; zero turns storm
    /// control off. At most one day.
    pub fn dedup_window(mut self, window: Duration) -> Self {
        self.dedup_window = window;
        self
    }

    /// Capacity of the queue to the dispatcher (default 1024). When it is
    /// full, alerts are dropped and counted, never waited for.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// How many distinct fingerprints storm control tracks (default 1000).
    /// Past it, the oldest is evicted (its pending summary still delivered)
    /// and the eviction counted.
    pub fn max_fingerprints(mut self, max: usize) -> Self {
        self.max_fingerprints = max;
        self
    }

    /// Bound on one delivery attempt (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long the guard's `Drop` waits for pending alerts (default 5 s).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Where alerts still undelivered when the process exits are kept for
    /// the next run of the application, which delivers them (marked as
    /// delayed) when it installs a notifier. By default the per-user state
    /// directory: `$XDG_STATE_HOME/notify/<app>`, else
    /// `~/.local/state/notify/<app>`; `NOTIFY_SPOOL_DIR` sets it from the
    /// environment. `.spool_dir(None)` turns the spool off.
    ///
    /// Entries are written atomically, bounded (1000 files, 16 MB, oldest
    /// dropped first and counted), claimed by one process only, and hold
    /// the alert and its sink's name — never a token, URL or secret.
    ///
    /// ```
    /// let builder = notify_core::Notifier::builder()
    ///     .spool_dir("/var/lib/myjob/notify-spool");
    /// let without = notify_core::Notifier::builder().spool_dir(None);
    /// # drop((builder, without));
    /// ```
    pub fn spool_dir(mut self, dir: impl Into<SpoolDir>) -> Self {
        self.spool_dir = Some(dir.into().0);
        self
    }

    /// Where monitored jobs (`#[monitor]`) check in, with the
    /// [healthchecks.io](https://healthchecks.io) ping protocol (the hosted
    /// service, a self-hosted instance, or any compatible one): the base
    /// URL with your project's ping key, `https://hc-ping.com/<ping-key>`.
    /// Every run pings `<url>/<job>/start` when it starts, then `<url>/<job>`
    /// when it succeeds or `<url>/<job>/fail` (with the error and the
    /// backtrace as the body) when it fails, with `?create=1` (a new job's
    /// check is created by its first ping) and the run's id as `rid`.
    /// `NOTIFY_HEARTBEAT_URL` sets it from the environment.
    ///
    /// The service is what notices a run that never happened. Check-ins are
    /// made by the dispatcher, never on the job's thread, retried like any
    /// delivery (a 429 is waited out); one that fails is said once as a
    /// diagnostic and never fails or delays the job. The URL holds the ping
    /// key: it never appears in `Debug`, errors or diagnostics. Needs an
    /// HTTP sink's feature (any of them: they bring the HTTP client).
    ///
    /// ```
    /// let builder = notify_core::Notifier::builder()
    ///     .heartbeat("https://hc-ping.com/fH3o-example-ping-key");
    /// assert!(!format!("{builder:?}").contains("fH3o"));
    /// # drop(builder);
    /// ```
    pub fn heartbeat(mut self, url: impl Into<String>) -> Self {
        self.heartbeat = Some((url.into(), "heartbeat"));
        self
    }

    /// Where the notifier's own diagnostics go (default: one line on stderr
    /// each). They never contain secrets.
    pub fn on_diagnostic(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.diagnostics = Some(Arc::new(f));
        self
    }

    /// Validates and starts a notifier without making it the global one:
    /// useful in tests and to run several notifiers side by side. Only the
    /// global notifier (see [`install`](Self::install)) receives the alerts of
    /// `#[alert_on_error]`.
    ///
    /// A notifier built this way has no spool (nothing of it runs at exit);
    /// the installed one does.
    pub fn build(self) -> Result<Notifier, ConfigError> {
        self.validate()?;
        Notifier::start(self.into_options(false))
    }

    /// Validates, starts, and makes this the global notifier that
    /// `#[alert_on_error]`, [`report_error`](crate::report_error) and
    /// [`report_message`](crate::report_message) use. Returns the guard
    /// whose `Drop` flushes pending alerts. A second install is an error.
    pub fn install(self) -> Result<FlushGuard, ConfigError> {
        self.validate()?;
        if install::is_installed() {
            return Err(install::already_installed());
        }
        let defaulted_to_console = self.defaulted_to_console;
        let notifier = Notifier::start(self.into_options(true))?;
        install::install(notifier, defaulted_to_console)
    }

    pub(crate) fn into_options(self, installed: bool) -> NotifierOptions {
        let mut settings = Settings::detect();
        if let Some(name) = self.app_name {
            settings.app_name = name;
        }
        settings.environment = self.environment;
        let spool = match self.spool_dir {
            _ if !installed => None,
            Some(dir) => dir,
            None => crate::dispatch::default_spool_dir(&settings.app_name),
        };
        // Checked by `validate`.
        let heartbeat = self
            .heartbeat
            .and_then(|(url, field)| heartbeat_sink(field, &url).ok().flatten());
        NotifierOptions {
            settings,
            sinks: self.sinks,
            dedup_window: self.dedup_window,
            max_fingerprints: self.max_fingerprints,
            queue_capacity: self.queue_capacity,
            request_timeout: self.request_timeout,
            flush_timeout: self.flush_timeout,
            diagnostics: self.diagnostics,
            spool,
            heartbeat,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(name) = &self.app_name {
            check_label("app_name", name)?;
        }
        if let Some(env) = &self.environment {
            check_label("environment", env)?;
        }
        if self.dedup_window > Duration::from_secs(86_400) {
            return Err(ConfigError::new("dedup_window", "must be at most one day"));
        }
        if self.queue_capacity == 0 || self.queue_capacity > 1_000_000 {
            return Err(ConfigError::new(
                "queue_capacity",
                format!("must be between 1 and 1000000, got {}", self.queue_capacity),
            ));
        }
        if self.max_fingerprints == 0 || self.max_fingerprints > 10_000_000 {
            return Err(ConfigError::new(
                "max_fingerprints",
                format!(
                    "must be between 1 and 10000000, got {}",
                    self.max_fingerprints
                ),
            ));
        }
        if let Some((url, field)) = &self.heartbeat {
            heartbeat_sink(field, url)?;
        }
        if self.request_timeout.is_zero() {
            return Err(ConfigError::new(
                "request_timeout",
                "must be more than zero",
            ));
        }
        let mut names = HashSet::new();
        for (i, sink) in self.sinks.iter().enumerate() {
            let name = sink.name.as_str();
            if name.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("sink[{i}].named"),
                    "a sink name must not be empty",
                ));
            }
            if name.chars().any(char::is_control) {
                return Err(ConfigError::new(
                    format!("sink[{i}].named"),
                    "a sink name must not contain control characters",
                ));
            }
            if !names.insert(name.to_owned()) {
                return Err(ConfigError::new(
                    format!("sink[{i}].named"),
                    format!(
                        "two sinks are named {name:?}; give one of them another name with .named(\"...\")"
                    ),
                ));
            }
            sink.validation.clone()?;
        }
        Ok(())
    }
}

impl Notifier {
    /// Starts configuring a notifier.
    pub fn builder() -> NotifierBuilder {
        NotifierBuilder::default()
    }
}

pub(super) fn check_label(field: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::new(field, "must not be empty"));
    }
    if value.chars().count() > 200 {
        return Err(ConfigError::new(field, "must be at most 200 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(ConfigError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// The argument of [`NotifierBuilder::spool_dir`]: a path, or `None` for
/// no spool.
#[derive(Debug, Clone)]
pub struct SpoolDir(Option<PathBuf>);

impl From<Option<PathBuf>> for SpoolDir {
    fn from(dir: Option<PathBuf>) -> Self {
        SpoolDir(dir)
    }
}

impl From<PathBuf> for SpoolDir {
    fn from(dir: PathBuf) -> Self {
        SpoolDir(Some(dir))
    }
}

impl From<&Path> for SpoolDir {
    fn from(dir: &Path) -> Self {
        SpoolDir(Some(dir.to_owned()))
    }
}

impl From<&str> for SpoolDir {
    fn from(dir: &str) -> Self {
        SpoolDir(Some(PathBuf::from(dir)))
    }
}

impl From<String> for SpoolDir {
    fn from(dir: String) -> Self {
        SpoolDir(Some(PathBuf::from(dir)))
    }
}

/// The heartbeat's sink for `url` (set in `field`).
#[cfg(feature = "http")]
fn heartbeat_sink(
    field: &str,
    url: &str,
) -> Result<Option<Box<dyn crate::sink::Sink>>, ConfigError> {
    let heartbeat = crate::sink::heartbeat::Heartbeat::new(field, url)?;
    Ok(Some(Box::new(heartbeat)))
}

/// Without an HTTP sink's feature there is no HTTP client to check in with.
#[cfg(not(feature = "http"))]
fn heartbeat_sink(
    field: &str,
    _url: &str,
) -> Result<Option<Box<dyn crate::sink::Sink>>, ConfigError> {
    Err(ConfigError::new(
        field,
        "needs an HTTP sink's cargo feature (telegram, slack, discord, webhook or alertmanager): \
         notify-core was built without an HTTP client",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without an HTTP client, a heartbeat cannot be checked in with: a
    /// configuration error naming the field, not silence.
    #[test]
    #[cfg(not(feature = "http"))]
    fn a_heartbeat_without_http_is_a_config_error() {
        let err = NotifierBuilder::default()
            .heartbeat("https://hc-ping.com/KEY-123456")
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "heartbeat");
        assert!(!err.to_string().contains("KEY-123456"), "{err}");
    }

    #[test]
    #[cfg(feature = "http")]
    fn a_bad_heartbeat_url_is_a_config_error_without_the_url() {
        let err = NotifierBuilder::default()
            .heartbeat("hc-ping.com/KEY-123456")
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "heartbeat");
        assert!(!err.to_string().contains("KEY-123456"), "{err}");
        let err = NotifierBuilder::from_env_with(|name| match name {
            "NOTIFY_HEARTBEAT_URL" => Some(String::from("https://hc-ping.com/KEY-123456?x=1")),
            _ => None,
        })
        .and_then(NotifierBuilder::build)
        .unwrap_err();
        assert_eq!(err.field(), "NOTIFY_HEARTBEAT_URL");
        assert!(!err.to_string().contains("KEY-123456"), "{err}");
    }
}
