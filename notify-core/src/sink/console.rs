//! The console sink: a readable block on stderr, the embedded default.

use std::io::{IsTerminal, Write};

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use super::route::{impl_route, route_methods, Route};
use crate::alert::{Alert, Severity};
use crate::render::{self, escape};

/// Writes each alert as a block on stderr: title, error and causes, call
/// site, host/thread/time, backtrace. Coloured only when stderr is a terminal
/// and `NO_COLOR` is not set.
///
/// ```
/// let sink = notify_core::Console::new().named("stderr");
/// # let _ = sink;
/// ```
#[derive(Debug, Clone)]
pub struct Console {
    route: Route,
    colour: Option<bool>,
}

impl_route!(Console);

impl Default for Console {
    fn default() -> Self {
        Console::new()
    }
}

impl Console {
    /// A console sink named `console`.
    pub fn new() -> Self {
        Console {
            route: Route::new("console"),
            colour: None,
        }
    }

    /// Forces colour on or off (by default: on for a terminal without `NO_COLOR`).
    pub fn colour(mut self, on: bool) -> Self {
        self.colour = Some(on);
        self
    }

    fn use_colour(&self) -> bool {
        self.colour.unwrap_or_else(|| {
            colour_by_default(
                std::env::var_os("NO_COLOR").as_deref(),
                std::io::stderr().is_terminal(),
            )
        })
    }

    /// The block this sink prints for `alert`.
    pub fn render(&self, alert: &Alert) -> String {
        render_block(alert, self.use_colour())
    }
}

impl Sink for Console {
    route_methods!();

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        let block = self.render(alert);
        Box::pin(async move {
            // The write happens on a thread of its own: a stderr that blocks
            // (a pipe nobody reads) holds up this sink, never the dispatcher
            // and the other sinks. The answer says when it was written, so
            // a flush at exit really waits for the text to be out.
            let Some(writer) = writer() else {
                return write_block(&block);
            };
            let (written, answer) = tokio::sync::oneshot::channel();
            match writer.try_send((block, written)) {
                Ok(()) => {}
                Err(std::sync::mpsc::TrySendError::Full(_)) => {
                    return Err(SinkError::retryable("stderr is not keeping up"))
                }
                Err(std::sync::mpsc::TrySendError::Disconnected((block, _))) => {
                    return write_block(&block)
                }
            }
            answer
                .await
                .unwrap_or_else(|_| Err(SinkError::permanent("the stderr writer stopped")))
        })
    }
}

type Written = tokio::sync::oneshot::Sender<Result<(), SinkError>>;

/// The process's one stderr writer thread, started on first use; `None` if
/// it cannot start (then the caller writes itself).
fn writer() -> Option<&'static std::sync::mpsc::SyncSender<(String, Written)>> {
    static WRITER: std::sync::OnceLock<Option<std::sync::mpsc::SyncSender<(String, Written)>>> =
        std::sync::OnceLock::new();
    WRITER
        .get_or_init(|| {
            let (sender, blocks) = std::sync::mpsc::sync_channel::<(String, Written)>(64);
            std::thread::Builder::new()
                .name(String::from("notify-stderr"))
                .spawn(move || {
                    for (block, written) in blocks {
                        let _ = written.send(write_block(&block));
                    }
                })
                .ok()
                .map(|_| sender)
        })
        .as_ref()
}

/// One write of the whole block, so blocks never interleave with other output.
fn write_block(block: &str) -> Result<(), SinkError> {
    let mut err = std::io::stderr().lock();
    err.write_all(block.as_bytes())
        .and_then(|()| err.flush())
        .map_err(|e| SinkError::permanent(format!("cannot write to stderr: {e}")))
}

/// Colour on a terminal, unless `NO_COLOR` is set to anything non-empty
/// (<https://no-color.org>).
fn colour_by_default(no_color: Option<&std::ffi::OsStr>, terminal: bool) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

fn render_block(alert: &Alert, colour: bool) -> String {
    let style = Style { on: colour };
    let severity_colour = match alert.severity {
        Severity::Info => "1;36",
        Severity::Warning => "1;33",
        Severity::Error => "1;31",
        Severity::Critical => "1;37;41",
    };
    let mut out = String::new();
    let rule = "━".repeat(60);
    out.push_str(&style.paint("2", &rule));
    out.push('\n');
    out.push_str(&style.paint(
        severity_colour,
        &format!(
            "[{}] {}",
            alert.severity.as_str().to_uppercase(),
            escape::clean(&alert.title)
        ),
    ));
    out.push('\n');
    for line in render::error_text(alert).lines() {
        out.push_str("  ");
        out.push_str(&style.paint("1", &escape::clean(line)));
        out.push('\n');
    }
    for (label, value) in render::facts(alert) {
        out.push_str(&format!(
            "  {:<12} {}\n",
            style.paint("36", label),
            escape::clean(&value)
        ));
    }
    for (name, value) in &alert.context {
        out.push_str(&format!(
            "  {:<12} {} = {}\n",
            style.paint("36", "context"),
            name,
            escape::clean(value)
        ));
    }
    if !alert.backtrace.is_empty() {
        out.push_str(&format!("  {}\n", style.paint("36", "backtrace")));
        for line in render::backtrace_text(alert).lines() {
            out.push_str("    ");
            out.push_str(&style.paint("2", line));
            out.push('\n');
        }
    }
    out.push_str(&style.paint("2", &rule));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(colour_by_default(None, true));
        assert!(!colour_by_default(None, false));
        assert!(!colour_by_default(Some(OsStr::new("1")), true));
        assert!(colour_by_default(Some(OsStr::new("")), true));
    }

    fn sample() -> Alert {
        let mut alert = crate::testing::capture_alerts(|| {
            crate::report_error(&std::io::Error::other("disk <full> & \x1b[31mred"));
        })
        .remove(0);
        alert.context.push(("path".into(), "\"/tmp/x\"".into()));
        alert.backtrace = vec![crate::Frame {
            function: "app::jobs::export".into(),
            file: Some("src/jobs.rs".into()),
            line: Some(42),
        }];
        alert
    }

    #[test]
    fn the_block_shows_title_error_site_host_and_backtrace() {
        let alert = sample();
        let block = Console::new().colour(false).render(&alert);
        assert!(block.contains("[ERROR] Error: disk <full>"), "{block}");
        assert!(block.contains("disk <full> & \\u{1b}[31mred"), "{block}");
        assert!(block.contains("function"), "{block}");
        assert!(block.contains(&alert.host), "{block}");
        assert!(block.contains("path = \"/tmp/x\""), "{block}");
        assert!(block.contains("backtrace"), "{block}");
        assert!(
            block.contains("app::jobs::export at src/jobs.rs:42"),
            "{block}"
        );
        assert!(!block.contains('\x1b'), "no colour codes: {block}");
    }

    #[test]
    fn colour_codes_only_when_asked() {
        let block = Console::new().colour(true).render(&sample());
        assert!(block.contains("\x1b[1;31m"), "{block}");
    }

    #[test]
    fn error_text_cannot_inject_terminal_escapes() {
        assert_eq!(escape::clean("a\x1b[2Jb\u{2028}"), "a\\u{1b}[2Jb\\u{2028}");
    }
}
