//! Alerts from `log` records (feature `log`): [`Logger`] wraps the logger
//! you already use, forwards every record to it unchanged, and turns
//! records at `Error` (configurable) into alerts through the same pipeline
//! as `#[alert_on_error]`.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let _guard = notify_core::Notifier::builder()
//!     .sink(notify_core::Console::new())
//!     .install()?;
//! // Your logger (env_logger, simplelog, ...) inside ours.
//! # struct MyLogger;
//! # impl log::Log for MyLogger {
//! #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
//! #     fn log(&self, _: &log::Record<'_>) {}
//! #     fn flush(&self) {}
//! # }
//! notify_core::log::Logger::new(MyLogger)
//!     .max_level(log::LevelFilter::Info)
//!     .init()?;
//!
//! log::error!("export failed: disk full");
//! # Ok(())
//! # }
//! ```
//!
//! An alert from a record has the record's message as title and message
//! (kind `message`), its severity (`Error` is `error`, `Warn` with
//! `.min_level(log::Level::Warn)` is `warning`), its target as context,
//! its module, file and line as the call site, and a backtrace captured
//! where it was logged. Records logged on the notifier's own threads (its
//! HTTP stack, a sink) never become alerts; a record logged right after an
//! annotated function reported the same error on the same thread is that
//! failure again (see [`crate::tracing`]'s "One failure, one alert").

use ::log::{Level, LevelFilter, Log, Metadata, Record};

use crate::alert::Severity;
use crate::capture::{events_wanted, report_event, Context, EventKey, EventRef, Late};

/// A `log::Log` that forwards every record to an inner logger and turns
/// records at `Error` (by default) into alerts.
pub struct Logger {
    inner: Option<Box<dyn Log>>,
    min_level: Level,
    max_level: Option<LevelFilter>,
}

impl Logger {
    /// Wraps `inner`: it receives every record, as if it were the logger.
    pub fn new(inner: impl Log + 'static) -> Self {
        Logger {
            inner: Some(Box::new(inner)),
            min_level: Level::Error,
            max_level: None,
        }
    }

    /// No inner logger: records only become alerts.
    pub fn alone() -> Self {
        Logger {
            inner: None,
            min_level: Level::Error,
            max_level: None,
        }
    }

    /// Records at this level and above become alerts (default: `Error`).
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = level;
        self
    }

    /// The most verbose level `log` lets through at all, set by
    /// [`Logger::init`] (default: `Trace` with an inner logger, which then
    /// filters as it does alone; without one, [`Logger::min_level`]). Set it
    /// to your inner logger's own level to keep `debug!` free.
    pub fn max_level(mut self, level: LevelFilter) -> Self {
        self.max_level = Some(level);
        self
    }

    /// Makes this the global logger (`log::set_boxed_logger`) and sets
    /// `log`'s maximum level. Fails if a logger is already set.
    pub fn init(self) -> Result<(), ::log::SetLoggerError> {
        let ours = self.min_level.to_level_filter();
        let max = match (self.max_level, &self.inner) {
            (Some(max), _) => max.max(ours),
            (None, Some(_)) => LevelFilter::Trace,
            (None, None) => ours,
        };
        ::log::set_boxed_logger(Box::new(self))?;
        ::log::set_max_level(max);
        Ok(())
    }

    fn alerts_on(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.min_level
    }
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("inner", &self.inner.is_some())
            .field("min_level", &self.min_level)
            .field("max_level", &self.max_level)
            .finish()
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.alerts_on(metadata) || self.inner.as_ref().is_some_and(|i| i.enabled(metadata))
    }

    fn log(&self, record: &Record<'_>) {
        if let Some(inner) = &self.inner {
            inner.log(record);
        }
        if !self.alerts_on(record.metadata()) || !events_wanted() {
            return;
        }
        let severity = match record.level() {
            Level::Error => Severity::Error,
            Level::Warn => Severity::Warning,
            _ => Severity::Info,
        };
        // `log` gives `'static` strings for a call site in the program's own
        // code (the macros' case); others share one record per file slot.
        let key = EventKey {
            module_path: record.module_path_static().unwrap_or(""),
            file: record.file_static().unwrap_or(""),
            line: record.line().unwrap_or(0),
            severity,
            identity: 0,
        };
        let message = record.args().to_string();
        let target = record.target();
        let late = || Late {
            context: Context::of_values(vec![("target", target.to_owned())]),
            causes: Vec::new(),
        };
        report_event(
            key,
            EventRef {
                message: &message,
                error: None,
                severity,
            },
            &late,
        );
    }

    fn flush(&self) {
        if let Some(inner) = &self.inner {
            inner.flush();
        }
    }
}
