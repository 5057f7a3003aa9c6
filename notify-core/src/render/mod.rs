//! Rendering helpers shared by every sink: truncation at character
//! boundaries, and the plain-text parts of an alert.

use std::fmt::Write as _;

use crate::alert::{Alert, AlertKind, Severity};

#[cfg(test)]
pub(crate) mod checks;
pub(crate) mod digest;
pub(crate) mod escape;
pub(crate) mod fit;

/// What replaces the part of a text that was cut.
pub(crate) const TRUNCATED: &str = "… truncated";

/// Cuts `text` to at most `max_chars` Unicode scalar values, at a character
/// boundary. Returns whether it cut.
pub(crate) fn truncate_in_place(text: &mut String, max_chars: usize) -> bool {
    match text.char_indices().nth(max_chars) {
        Some((byte, _)) => {
            text.truncate(byte);
            true
        }
        None => false,
    }
}

/// `args` formatted, at most `max_chars` characters, then `…` if there was
/// more. Formatting stops at the limit, so a huge value costs no more than
/// a small one: context values, a logged event's fields.
pub(crate) fn bounded(args: std::fmt::Arguments<'_>, max_chars: usize) -> String {
    let mut bounded = Bounded {
        out: String::new(),
        room: max_chars,
    };
    if bounded.write_fmt(args).is_err() && bounded.room == 0 {
        bounded.out.push('…');
    }
    bounded.out
}

/// A `fmt::Write` that takes at most `room` more characters, then refuses.
struct Bounded {
    out: String,
    room: usize,
}

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            if self.room == 0 {
                return Err(std::fmt::Error);
            }
            self.out.push(c);
            self.room -= 1;
        }
        Ok(())
    }
}

/// The header facts of an alert, one `label: value` per line, in the order
/// every sink shows them.
pub(crate) fn facts(alert: &Alert) -> Vec<(&'static str, String)> {
    let mut facts = Vec::with_capacity(8);
    facts.push(("app", alert.app_name.clone()));
    if let Some(env) = &alert.environment {
        facts.push(("environment", env.clone()));
    }
    facts.push(("severity", alert.severity.to_string()));
    if let Some(run) = &alert.run {
        facts.push(("job", format!("{} (run {})", run.job, run.run_id)));
        if alert.kind != AlertKind::Started {
            facts.push(("duration", crate::alert::human_duration(run.duration)));
        }
        if let Some(value) = &run.value {
            facts.push(("returned", value.clone()));
        }
    }
    facts.push(("function", location_text(alert)));
    if let Some(at) = &alert.panic_location {
        facts.push(("panicked at", at.clone()));
    }
    facts.push((
        "host",
        format!(
            "{} (pid {}, thread {})",
            alert.host, alert.process_id, alert.thread
        ),
    ));
    facts.push(("time", alert.timestamp_rfc3339()));
    if let Some(repeats) = &alert.repeats {
        facts.push((
            "repeated",
            format!(
                "{} more {} over {}",
                repeats.count,
                if repeats.count == 1 { "time" } else { "times" },
                human_span(repeats.span())
            ),
        ));
    }
    if alert.dropped > 0 {
        facts.push((
            "dropped",
            format!(
                "{} alerts dropped before this one (the queue was full, or this sink fell behind)",
                alert.dropped
            ),
        ));
    }
    facts
}

/// The first line every chat sink shows: `🔴 [ERROR] Error in nightly_export`.
pub(crate) fn headline(alert: &Alert) -> String {
    let mark = match (alert.kind, alert.severity) {
        (AlertKind::Started, _) => "▶️",
        (AlertKind::Succeeded, _) => "✅",
        (AlertKind::StillRunning, _) => "⏳",
        (_, Severity::Info) => "ℹ️",
        (_, Severity::Warning) => "⚠️",
        (_, Severity::Error) => "🔴",
        (_, Severity::Critical) => "🚨",
    };
    format!(
        "{mark} [{}] {}",
        alert.severity.as_str().to_uppercase(),
        alert.title
    )
}

/// Characters of one digest line at most.
pub(crate) const DIGEST_LINE_CHARS: usize = 200;

/// One alert as a line of a digest: severity, title, the error's first
/// line, the call site, the repeats: `[ERROR] Error in load — disk full ·
/// app::load (src/load.rs:12) · ×4`. Cleaned of control characters, at most
/// [`DIGEST_LINE_CHARS`].
pub(crate) fn digest_line(alert: &Alert) -> String {
    let mut line = format!(
        "[{}] {}",
        alert.severity.as_str().to_uppercase(),
        alert.title
    );
    let first = alert.message.lines().next().unwrap_or("").trim();
    // Not when the title already says it (`Error: disk full`).
    if !first.is_empty() && !alert.title.contains(first) {
        let _ = write!(line, " — {first}");
    }
    let _ = write!(line, " · {}", location_text(alert));
    if let Some(repeats) = &alert.repeats {
        let _ = write!(line, " · ×{}", repeats.count);
    }
    let line: String = escape::clean(&line)
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    bounded(format_args!("{line}"), DIGEST_LINE_CHARS - 1)
}

/// `my_app::jobs::export (src/jobs.rs:42)`.
pub(crate) fn location_text(alert: &Alert) -> String {
    if alert.location.function.is_empty() {
        format!("{}:{}", alert.location.file, alert.location.line)
    } else {
        alert.location.to_string()
    }
}

/// The error text and its causes, one per line: `message`, `caused by: ...`.
pub(crate) fn error_text(alert: &Alert) -> String {
    let mut out = alert.message.clone();
    for cause in &alert.causes {
        let _ = write!(out, "\ncaused by: {cause}");
    }
    out
}

/// The error text and its causes ([`error_text`]), or `(no message)` when
/// there is none: what every chat sink shows as the alert's body.
pub(crate) fn message_text(alert: &Alert) -> String {
    let text = error_text(alert);
    if text.trim().is_empty() {
        String::from("(no message)")
    } else {
        text
    }
}

/// The context values, one `name = value` each, as every sink shows them.
pub(crate) fn context_lines(alert: &Alert) -> Vec<String> {
    alert
        .context
        .iter()
        .map(|(name, value)| format!("{name} = {value}"))
        .collect()
}

/// The backtrace, one frame per line.
pub(crate) fn backtrace_text(alert: &Alert) -> String {
    let mut out = String::new();
    for (i, frame) in alert.backtrace.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{i:>2}: {frame}");
    }
    out
}

/// `3 s`, `2 min 5 s`, `1 h 4 min`.
pub(crate) fn human_span(span: std::time::Duration) -> String {
    let secs = span.as_secs();
    if secs < 60 {
        if secs == 0 {
            format!("{} ms", span.as_millis())
        } else {
            format!("{secs} s")
        }
    } else if secs < 3600 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else {
        format!("{} h {} min", secs / 3600, (secs % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_character_boundaries() {
        let mut s = String::from("안녕하세요🙂🙂");
        assert!(truncate_in_place(&mut s, 6));
        assert_eq!(s, "안녕하세요🙂");
        assert!(!truncate_in_place(&mut s, 6));
    }

    #[test]
    fn an_empty_message_has_a_placeholder_and_context_is_name_equals_value() {
        let mut alert = checks::sample_alert();
        alert.message = String::from("  ");
        alert.causes.clear();
        assert_eq!(message_text(&alert), "(no message)");
        alert.message = String::from("disk full");
        assert_eq!(message_text(&alert), "disk full");
        alert.context = vec![(String::from("path"), String::from("\"/x\""))];
        assert_eq!(context_lines(&alert), vec![String::from("path = \"/x\"")]);
    }
}
