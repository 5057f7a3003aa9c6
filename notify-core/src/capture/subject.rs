//! What an alert is about — an error, a panic, a message — borrowed from the
//! caller until the alert is drafted.

use std::error::Error;
use std::fmt::{Debug, Display};

use super::job::CANCELLED;
use crate::alert::{AlertKind, Severity};
use crate::fingerprint::{hash_debug, hash_display, Fingerprinter};

/// How an error will be described: chosen at compile time by autoref
/// specialisation (see `__private::Wrap`).
pub enum ErrorRef<'a> {
    /// `Display` plus the `source()` chain.
    Error(&'a (dyn Error + 'a)),
    /// Plain text, whose `Display` is the text itself (`String`, `&str`...).
    Text(&'a str),
    /// `Display` only.
    Display(&'a (dyn Display + 'a)),
    /// `Debug` only.
    Debug(&'a (dyn Debug + 'a)),
}

/// A logged event (a `tracing` event, a `log` record): its message, and
/// the text of its error field if it has one. Formatted by its source
/// (the event's values live only while it is visited).
#[derive(Clone, Copy)]
pub(crate) struct EventRef<'a> {
    pub(crate) message: &'a str,
    pub(crate) error: Option<&'a str>,
    pub(crate) severity: Severity,
}

impl EventRef<'_> {
    /// What the alert's message is: the error's text, else the message.
    pub(crate) fn text(&self) -> &str {
        self.error.unwrap_or(self.message)
    }
}

/// The error or message of an alert, before it is formatted.
pub(crate) enum Subject<'a> {
    Error(ErrorRef<'a>),
    Panic(&'a PanicInfo),
    Message(Severity, &'a str),
    #[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
    Event(EventRef<'a>),
    /// A monitored run whose future was dropped before it completed.
    Cancelled,
}

impl Subject<'_> {
    pub(crate) fn kind(&self) -> AlertKind {
        match self {
            Subject::Error(_) => AlertKind::Error,
            Subject::Panic(_) => AlertKind::Panic,
            Subject::Message(..) | Subject::Cancelled => AlertKind::Message,
            Subject::Event(event) if event.error.is_some() => AlertKind::Error,
            Subject::Event(_) => AlertKind::Message,
        }
    }

    /// The text an alert about this would have (a run's failure that is
    /// not alerted, for its heartbeat check-in).
    pub(crate) fn text(&self) -> String {
        match self {
            Subject::Error(ErrorRef::Error(e)) => e.to_string(),
            Subject::Error(ErrorRef::Text(text)) => (*text).to_owned(),
            Subject::Error(ErrorRef::Display(e)) => e.to_string(),
            Subject::Error(ErrorRef::Debug(e)) => format!("{e:?}"),
            Subject::Panic(info) => format!("panicked: {}", info.message),
            Subject::Message(_, text) => (*text).to_owned(),
            Subject::Event(event) => event.text().to_owned(),
            Subject::Cancelled => CANCELLED.to_owned(),
        }
    }

    /// Streams the text into a fingerprint (which has taken in the kind),
    /// without allocating.
    #[inline]
    pub(crate) fn hash_into(&self, fp: &mut Fingerprinter) {
        match self {
            Subject::Error(ErrorRef::Error(e)) => hash_display(fp, *e),
            Subject::Error(ErrorRef::Text(text)) => {
                // What `hash_display` streams for it, without the formatting
                // machinery: the same fingerprint.
                fp.bytes(text.as_bytes());
                fp.byte(0xfe);
            }
            Subject::Error(ErrorRef::Display(e)) => hash_display(fp, *e),
            Subject::Error(ErrorRef::Debug(e)) => hash_debug(fp, *e),
            Subject::Panic(info) => fp.str(&info.message),
            Subject::Message(_, text) => fp.str(text),
            Subject::Cancelled => fp.str(CANCELLED),
            Subject::Event(event) => {
                fp.str(event.message);
                if let Some(error) = event.error {
                    fp.str(error);
                }
            }
        }
    }
}

/// What the panic hook records of a panic, for the report made where it
/// unwinds through an annotated function.
pub(crate) struct PanicInfo {
    pub(crate) message: String,
    pub(crate) location: Option<String>,
    pub(crate) thread: String,
}
