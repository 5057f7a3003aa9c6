//! Heartbeat check-ins of monitored runs (`#[monitor]`), with the
//! healthchecks.io ping protocol: `<url>/<job>/start`, `<url>/<job>` on
//! success, `<url>/<job>/fail` with the error and the backtrace as the
//! body; `?create=1` and the run's `rid` on every ping.
//!
//! It is a [`Sink`] the dispatcher delivers runs' alerts to (and nothing
//! else), so a check-in has every delivery's discipline: off the job's
//! thread, bounded, retried with backoff, a 429 waited out, a refusal said
//! once with its reason, never its URL (which holds the ping key).

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use super::http;
use crate::alert::{Alert, AlertKind};
use crate::error::ConfigError;
use crate::render;

/// What a ping body may hold unless the service announced otherwise
/// (healthchecks' `Ping-Body-Limit` default).
const DEFAULT_BODY_LIMIT: usize = 10_000;

/// How long a check-in waits after a 429 that names no wait: the service
/// allows five pings a minute per check.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(12);

/// The heartbeat: a base URL (`https://hc-ping.com/<ping-key>`, or a
/// self-hosted instance's), the job's slug appended per check-in.
pub(crate) struct Heartbeat {
    base: String,
    /// The last `Ping-Body-Limit` the service announced.
    body_limit: AtomicUsize,
}

impl fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Heartbeat")
            .field("url", &http::redact_url(&self.base))
            .finish_non_exhaustive()
    }
}

impl Heartbeat {
    /// Checks and keeps the base URL; the error names `field`, never the URL.
    pub(crate) fn new(field: &str, url: &str) -> Result<Heartbeat, ConfigError> {
        let parsed = http::parse_url(field, url)?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(ConfigError::new(
                field,
                "must be a base URL without query or fragment, like https://hc-ping.com/<ping-key>",
            ));
        }
        Ok(Heartbeat {
            base: url.trim().trim_end_matches('/').to_owned(),
            body_limit: AtomicUsize::new(DEFAULT_BODY_LIMIT),
        })
    }

    /// The ping's URL and body for a run's alert; `None` for an alert that
    /// is not a check-in (a still-running alert: the service has its own
    /// timing).
    fn ping(&self, alert: &Alert) -> Option<(String, String)> {
        let run = alert.run.as_ref()?;
        let suffix = match alert.kind {
            AlertKind::Started => "/start",
            AlertKind::Succeeded => "",
            AlertKind::StillRunning => return None,
            // A failure: an `Err`, a panic, a cancelled run.
            _ => "/fail",
        };
        let url = format!(
            "{}/{}{suffix}?create=1&rid={}",
            self.base, run.job, run.run_id
        );
        let mut body = alert.title.clone();
        if matches!(
            alert.kind,
            AlertKind::Error | AlertKind::Panic | AlertKind::Message
        ) {
            body.push_str("\n\n");
            body.push_str(&render::error_text(alert));
            let backtrace = render::backtrace_text(alert);
            if !backtrace.is_empty() {
                body.push_str("\n\nbacktrace:\n");
                body.push_str(&backtrace);
            }
        } else if let Some(value) = &run.value {
            body.push_str("\nreturned: ");
            body.push_str(value);
        }
        Some((
            url,
            cut_to_bytes(body, self.body_limit.load(Ordering::Relaxed)),
        ))
    }
}

/// `text` in at most `limit` bytes, cut at a character boundary.
fn cut_to_bytes(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

impl Sink for Heartbeat {
    fn name(&self) -> &str {
        "heartbeat"
    }

    /// One check-in at a time: a run's start goes before its end.
    fn concurrency(&self) -> usize {
        1
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let Some((url, body)) = self.ping(alert) else {
                return Ok(());
            };
            let answer = http::post(
                &url,
                "text/plain; charset=utf-8",
                body.into_bytes(),
                &[],
                None,
            )
            .await?;
            if let Some(limit) = answer
                .headers
                .get("ping-body-limit")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                self.body_limit.store(limit, Ordering::Relaxed);
            }
            let reason = http::scrub(&answer.body, &url, &[&self.base]);
            let wait = http::retry_after_header(&answer.headers).unwrap_or(RATE_LIMIT_WAIT);
            http::classify(answer.status, &answer.headers, &reason, Some(wait))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_never_shows_and_must_be_a_base() {
        let heartbeat = Heartbeat::new("heartbeat", "https://hc-ping.com/PINGKEY123/").unwrap();
        let debug = format!("{heartbeat:?}");
        assert!(!debug.contains("PINGKEY123"), "{debug}");
        assert_eq!(heartbeat.base, "https://hc-ping.com/PINGKEY123");
        let err =
            Heartbeat::new("NOTIFY_HEARTBEAT_URL", "https://hc-ping.com/KEY?x=1").unwrap_err();
        assert_eq!(err.field(), "NOTIFY_HEARTBEAT_URL");
        assert!(!err.to_string().contains("KEY"), "{err}");
        assert!(Heartbeat::new("heartbeat", "ftp://x/KEY").is_err());
    }

    #[test]
    fn bodies_are_cut_at_a_character_boundary() {
        let text = "가".repeat(10);
        let cut = cut_to_bytes(text, 7);
        assert_eq!(cut, "가가");
        assert_eq!(cut_to_bytes("short".into(), 100), "short");
    }
}
