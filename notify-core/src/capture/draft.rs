//! The draft of an alert: what the caller's thread formats (the error is
//! only borrowed), completed into an [`Alert`] on the dispatcher thread.

use std::time::{Duration, SystemTime};

use super::context::Context;
use super::job::{RunRef, CANCELLED};
use super::site::Origin;
use super::subject::{ErrorRef, Subject};
use crate::alert::{Alert, AlertKind, Frame, RunInfo, Severity};
use crate::settings::Settings;

/// The part of an alert that only the caller's thread can make: the error's
/// text (the error is borrowed), the thread's name, the time. The rest —
/// names, title, the notifier's settings, the backtrace — is filled in on the
/// dispatcher thread by [`Draft::complete`], to keep the caller's work small.
pub(crate) struct Draft {
    origin: Origin,
    kind: AlertKind,
    severity: Severity,
    message: String,
    causes: Vec<String>,
    panic_location: Option<String>,
    thread: String,
    timestamp: SystemTime,
    context: Context,
    /// A title of its own (a logged event's message), else the default.
    title: Option<String>,
    /// The monitored run this failure ends, and how long it had run.
    run: Option<(RunRef, Duration)>,
    /// The failure is the run's cancellation (its future dropped).
    cancelled: bool,
    pub(crate) fingerprint: u64,
    pub(crate) dropped: u64,
}

impl Draft {
    /// The error's text or the message.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The monitored run this failure ends, if any.
    pub(crate) fn run(&self) -> Option<RunRef> {
        self.run.map(|(run, _)| run)
    }

    /// Formats what the caller's thread must: the error is only borrowed.
    pub(crate) fn new(
        origin: Origin,
        subject: &Subject<'_>,
        mut context: Context,
        fingerprint: u64,
    ) -> Draft {
        let run = context.take_run().map(|run| (run, run.started.elapsed()));
        let site_severity = match origin {
            Origin::Site(site) | Origin::Event(site) => site.severity,
            Origin::Caller(_) => None,
        };
        let mut title = None;
        let mut causes = Vec::new();
        let (message, severity, panic_location, thread) = match subject {
            Subject::Error(ErrorRef::Error(e)) => {
                causes = causes_of(*e, |cause| cause.to_string());
                (e.to_string(), Severity::Error, None, thread_name())
            }
            Subject::Error(ErrorRef::Text(text)) => {
                ((*text).to_owned(), Severity::Error, None, thread_name())
            }
            Subject::Error(ErrorRef::Display(e)) => {
                (e.to_string(), Severity::Error, None, thread_name())
            }
            Subject::Error(ErrorRef::Debug(e)) => {
                (format!("{e:?}"), Severity::Error, None, thread_name())
            }
            Subject::Panic(info) => (
                info.message.clone(),
                Severity::Critical,
                info.location.clone(),
                info.thread.clone(),
            ),
            Subject::Message(severity, text) => {
                ((*text).to_owned(), *severity, None, thread_name())
            }
            Subject::Cancelled => (CANCELLED.to_owned(), Severity::Warning, None, thread_name()),
            Subject::Event(event) => {
                title = Some(match event.error {
                    Some(error) if event.message.is_empty() => {
                        format!("Error: {}", first_line(error))
                    }
                    _ => first_line(event.message),
                });
                (event.text().to_owned(), event.severity, None, thread_name())
            }
        };
        Draft {
            origin,
            kind: subject.kind(),
            severity: site_severity.unwrap_or(severity),
            message,
            causes,
            panic_location,
            thread,
            timestamp: SystemTime::now(),
            context,
            title,
            run,
            cancelled: matches!(subject, Subject::Cancelled),
            fingerprint,
            dropped: 0,
        }
    }

    /// The causes of an error known only as text (a logged event's error
    /// field, read again once the event became an alert).
    pub(crate) fn set_causes(&mut self, causes: Vec<String>) {
        if self.causes.is_empty() {
            self.causes = causes;
        }
    }
    /// The whole alert, with the notifier's settings and the resolved backtrace.
    pub(crate) fn complete(self, settings: &Settings, mut backtrace: Vec<Frame>) -> Alert {
        if matches!(self.origin, Origin::Event(_)) {
            // The closure a logging macro expands to, inside the function
            // that logged: that function is the first frame.
            while backtrace.len() > 1 {
                let closure_of_next = backtrace[0]
                    .function
                    .strip_suffix("::{{closure}}")
                    .is_some_and(|outer| outer == backtrace[1].function);
                if !closure_of_next {
                    break;
                }
                backtrace.remove(0);
            }
        }
        let Draft {
            origin,
            kind,
            severity,
            message,
            causes,
            panic_location,
            thread,
            timestamp,
            context,
            title: own_title,
            run,
            cancelled,
            fingerprint,
            dropped,
        } = self;
        let (site_title, sinks) = match origin {
            Origin::Site(site) | Origin::Event(site) => (site.title, site.sinks),
            Origin::Caller(_) => (None, &[][..]),
        };
        let mut location = origin.location();
        if location.file.is_empty() {
            // A panic outside any annotated function: where it happened.
            if let Some((file, line)) = panic_location.as_deref().and_then(file_and_line) {
                location.file = file.to_owned();
                location.line = line;
            }
        }
        if location.file.is_empty() {
            // No call site of its own (a logged event past the table of
            // call sites): where the first frame is.
            if let Some(frame) = backtrace.first() {
                location.file = frame.file.clone().unwrap_or_default();
                location.line = frame.line.unwrap_or_default();
            }
        }
        if location.function.is_empty() {
            // A manual report or a logged event: its function is the first
            // frame of the backtrace (for an event, not the closure its
            // macro expands to).
            if let Some(frame) = backtrace.first() {
                let mut function = frame.function.as_str();
                if matches!(origin, Origin::Event(_)) {
                    while let Some(outer) = function.strip_suffix("::{{closure}}") {
                        function = outer;
                    }
                }
                location.function = function.to_owned();
            }
        }
        // A monitored run's failure says how long it ran, unless the
        // attribute gave a title.
        let own_title = own_title.or_else(|| match (&run, site_title) {
            (Some((run, duration)), None) => Some(run_failure_title(
                run.monitor.job,
                kind,
                cancelled,
                *duration,
                &message,
            )),
            _ => None,
        });
        let title = match (site_title, origin) {
            _ if own_title.is_some() => own_title.unwrap_or_default(),
            (Some(title), _) => title.to_owned(),
            (None, Origin::Site(site)) => match kind {
                AlertKind::Panic => format!("Panic in {}", site.function),
                _ => format!("Error in {}", site.function),
            },
            (None, Origin::Caller(_) | Origin::Event(_)) => match kind {
                AlertKind::Message => first_line(&message),
                _ => format!("Error: {}", first_line(&message)),
            },
        };
        Alert {
            kind,
            severity,
            title,
            app_name: settings.app_name.clone(),
            environment: settings.environment.clone(),
            host: settings.host.clone(),
            process_id: std::process::id(),
            thread,
            timestamp,
            location,
            message,
            causes,
            panic_location,
            backtrace,
            context: context
                .into_values()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            repeats: None,
            dropped,
            fingerprint,
            sinks: sinks.iter().map(|s| (*s).to_owned()).collect(),
            digest: Vec::new(),
            run: run.map(|(run, duration)| RunInfo {
                job: run.monitor.job.to_owned(),
                run_id: run.run_id(),
                duration,
                value: None,
                ends_still_running: false,
            }),
        }
    }
}

/// `nightly-export failed after 41s: disk full`, `nightly-export cancelled
/// after 12s`.
fn run_failure_title(
    job: &str,
    kind: AlertKind,
    cancelled: bool,
    duration: Duration,
    message: &str,
) -> String {
    let duration = crate::alert::human_duration(duration);
    match kind {
        _ if cancelled => format!("{job} cancelled after {duration}"),
        AlertKind::Panic => format!("{job} panicked after {duration}: {}", first_line(message)),
        _ => format!("{job} failed after {duration}: {}", first_line(message)),
    }
}

/// `src/main.rs:12:5` → (`src/main.rs`, 12).
fn file_and_line(location: &str) -> Option<(&str, u32)> {
    let (rest, _column) = location.rsplit_once(':')?;
    let (file, line) = rest.rsplit_once(':')?;
    Some((file, line.parse().ok()?))
}

const MAX_CAUSES: usize = 32;

/// The `source()` chain of `error`, outermost first, at most 32, each as
/// `text` writes it: the causes of every alert of an error.
pub(crate) fn causes_of(
    error: &(dyn std::error::Error + '_),
    text: impl Fn(&dyn std::error::Error) -> String,
) -> Vec<String> {
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        if causes.len() >= MAX_CAUSES {
            break;
        }
        causes.push(text(cause));
        source = cause.source();
    }
    causes
}
const MAX_TITLE_CHARS: usize = 120;

fn first_line(text: &str) -> String {
    let mut line = text.lines().next().unwrap_or("").to_owned();
    crate::render::truncate_in_place(&mut line, MAX_TITLE_CHARS);
    line
}

pub(crate) fn thread_name() -> String {
    crate::sys::thread_label(&std::thread::current())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_location_splits_into_file_and_line() {
        assert_eq!(file_and_line("src/main.rs:12:5"), Some(("src/main.rs", 12)));
        assert_eq!(
            file_and_line("C:\\app\\main.rs:7:1"),
            Some(("C:\\app\\main.rs", 7))
        );
        assert_eq!(file_and_line("nonsense"), None);
    }
}
