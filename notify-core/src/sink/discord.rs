//! The Discord sink: a webhook, one embed coloured by severity.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use super::http;
use super::route::{impl_route, route_methods, Route};
use crate::alert::{Alert, Severity};
use crate::error::ConfigError;
use crate::render::escape::{self, cost_of, plain_cost};
use crate::render::{self, fit};

/// Discord's embed limits (PLATFORMS.md).
const TITLE_LIMIT: usize = 256;
const DESCRIPTION_LIMIT: usize = 4096;
const FIELD_VALUE_LIMIT: usize = 1024;
const TOTAL_LIMIT: usize = 6000;
/// Bound on each header fact, so the header leaves room for the error.
const FACT_LIMIT: usize = 300;
/// Room for a digest's lines (the description, in a code block), and the
/// shorter facts of a digest, within the 6000 of the whole embed.
const DIGEST_ROOM: usize = 2500;

/// The embed's colour per severity.
const INFO_GREEN: u32 = 0x2ECC71;
const WARNING_YELLOW: u32 = 0xF1C40F;
const ERROR_RED: u32 = 0xE74C3C;
const CRITICAL_DARK_RED: u32 = 0x992D22;

/// Posts each alert to a Discord webhook as one embed, coloured by severity
/// (warning yellow, error red, critical dark red): the severity and title,
/// the error and its causes, the header facts as fields, the context values
/// and the backtrace, the fingerprint in the footer and the alert's time.
///
/// - **No pings**: every message carries `allowed_mentions: {"parse": []}`,
///   so `@everyone`, `@here` or `<@id>` in an error ping nobody.
/// - **Limits**: title 256, description 4096, field values 1024, footer 2048
///   and 6000 characters for the whole embed (counted in UTF-16 code units,
///   never less than Discord's count). An over-long alert loses backtrace
///   first, then context, then error text; the header stays whole and a
///   "… truncated" marker shows the cut.
/// - **Delivery**: 429 waits the answer's `retry_after` (or
///   `X-RateLimit-Reset-After`, `Retry-After`); a bucket reported exhausted
///   (`X-RateLimit-Remaining: 0`) is waited out before the next message; 5xx
///   and network errors are retried; other refusals (`Unknown Webhook`,
///   `Invalid Form Body` with the first field at fault) are reported once.
/// - **Secrets**: the webhook URL holds the token: `Debug`, errors and
///   diagnostics never show it.
///
/// ```
/// use notify_core::{Discord, Notifier, Severity};
///
/// let discord = Discord::new("https://discord.com/api/webhooks/123/XXXX")
///     .username("billing alerts")
///     .min_severity(Severity::Critical);
/// assert!(!format!("{discord:?}").contains("XXXX"));
/// let notifier = Notifier::builder().sink(discord).build()?;
/// # drop(notifier);
/// # Ok::<(), notify_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Discord {
    route: Route,
    webhook_url: String,
    username: String,
    /// Set when Discord said the bucket is empty: no message before then.
    ready_at: Arc<Mutex<Option<tokio::time::Instant>>>,
}

impl_route!(Discord);

impl fmt::Debug for Discord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discord")
            .field("name", &self.route.name)
            .field("min_severity", &self.route.min_severity)
            .field("webhook_url", &"<redacted>")
            .field("username", &self.username)
            .finish()
    }
}

impl Discord {
    /// A sink named `discord` that posts to `webhook_url`
    /// (`https://discord.com/api/webhooks/{id}/{token}`) as the user `notify`.
    pub fn new(webhook_url: impl Into<String>) -> Self {
        Discord {
            route: Route::new("discord"),
            webhook_url: webhook_url.into().trim().to_owned(),
            username: String::from("notify"),
            ready_at: Arc::default(),
        }
    }

    /// The name the messages are posted under (1 to 80 characters, without
    /// "discord" or "clyde", as Discord requires). Default `notify`.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = username.into();
        self
    }

    fn wait_needed(&self) -> Option<Duration> {
        let ready_at = (*self.ready_at.lock().unwrap_or_else(|p| p.into_inner()))?;
        ready_at.checked_duration_since(tokio::time::Instant::now())
    }

    fn remember_bucket(&self, headers: &reqwest::header::HeaderMap) {
        let remaining = headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        if remaining == Some("0") {
            if let Some(wait) = http::header_seconds(headers, "x-ratelimit-reset-after") {
                *self.ready_at.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(tokio::time::Instant::now() + wait);
            }
        }
    }
}

impl Sink for Discord {
    route_methods!();

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            // Why this is not left to the dispatcher's pause: the dispatcher
            // pauses a sink only when an attempt fails with a rate-limit
            // error, while Discord announces an empty bucket on a
            // *successful* answer (`X-RateLimit-Remaining: 0` with
            // `Reset-After`). Posting anyway would provoke a 429, and Discord
            // (Cloudflare) bans clients that collect too many of them. So
            // the next attempt fails here, without a request, as a
            // rate-limit error: the dispatcher then pauses this sink and
            // retries after the wait, as after a 429.
            if let Some(wait) = self.wait_needed() {
                return Err(SinkError::rate_limited(
                    "rate limit bucket exhausted (X-RateLimit-Remaining: 0)",
                    wait,
                ));
            }
            let body = payload(alert, &self.username).to_string().into_bytes();
            let answer = http::post_json(&self.webhook_url, body, &[], None).await?;
            self.remember_bucket(&answer.headers);
            classify(&answer, |reason| {
                http::scrub(reason, &self.webhook_url, &[])
            })
        })
    }

    fn concurrency(&self) -> usize {
        // About one message per second per webhook; one at a time keeps order.
        1
    }

    fn digest_room(&self) -> Option<usize> {
        Some(DIGEST_ROOM)
    }

    fn digest_line_cost(&self, line: &str) -> usize {
        cost_of(&escape::unfence(&escape::clean(line)), plain_cost) + 1
    }

    fn validate(&self) -> Result<(), ConfigError> {
        http::check_url("discord.webhook_url", &self.webhook_url)?;
        let length = self.username.chars().count();
        if !(1..=80).contains(&length) || self.username.trim().is_empty() {
            return Err(ConfigError::new(
                "discord.username",
                "must be 1 to 80 characters",
            ));
        }
        let lower = self.username.to_lowercase();
        if lower.contains("discord") || lower.contains("clyde") {
            return Err(ConfigError::new(
                "discord.username",
                "must not contain \"discord\" or \"clyde\" (Discord refuses them)",
            ));
        }
        Ok(())
    }
}

/// Classifies Discord's answer: 2xx ok; 429 wait; 5xx retry; other 4xx refuse,
/// with Discord's message, code and (for form errors) the first field at
/// fault; `scrub` cleans them of secrets.
fn classify(answer: &http::Answer, scrub: impl Fn(&str) -> String) -> Result<(), SinkError> {
    if answer.status.is_success() {
        return Ok(());
    }
    let body: Value = serde_json::from_str(&answer.body).unwrap_or_default();
    let mut reason = http::body_reason(&answer.body, "message");
    if let Some(path) = first_form_error(&body["errors"], String::new()) {
        reason.push_str(": ");
        reason.push_str(&path);
    }
    if let Some(code) = body["code"].as_u64() {
        reason.push_str(&format!(" (code {code})"));
    }
    let retry_after = body["retry_after"]
        .as_f64()
        .and_then(http::seconds)
        .or_else(|| http::header_seconds(&answer.headers, "x-ratelimit-reset-after"));
    http::classify(answer.status, &answer.headers, &scrub(&reason), retry_after)
}

/// `embeds.0.description: Must be 4096 or fewer in length.` from Discord's
/// nested `errors` object.
fn first_form_error(errors: &Value, path: String) -> Option<String> {
    let object = errors.as_object()?;
    if let Some(first) = object.get("_errors").and_then(|e| e.get(0)) {
        let message = first["message"].as_str().unwrap_or("invalid");
        return Some(format!("{path}: {message}"));
    }
    object.iter().find_map(|(key, value)| {
        let path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        first_form_error(value, path)
    })
}

fn colour(severity: Severity) -> u32 {
    match severity {
        Severity::Info => INFO_GREEN,
        Severity::Warning => WARNING_YELLOW,
        Severity::Error => ERROR_RED,
        Severity::Critical => CRITICAL_DARK_RED,
    }
}

/// A field value: never empty (Discord requires one), within `limit`.
fn value(text: &str, limit: usize) -> String {
    let cleaned = escape::clean(text);
    if cleaned.trim().is_empty() {
        String::from("-")
    } else {
        fit::cut(&cleaned, limit, plain_cost, false)
    }
}

/// The webhook payload for `alert`.
pub(crate) fn payload(alert: &Alert, username: &str) -> Value {
    let title = value(&render::headline(alert), TITLE_LIMIT);
    let footer = format!(
        "notify · {} · fingerprint {}",
        alert.kind,
        alert.fingerprint_hex()
    );
    let mut fields: Vec<Value> = Vec::new();
    let mut header_cost = cost_of(&title, plain_cost) + cost_of(&footer, plain_cost);
    // A digest: every waiting alert's line, whole, as the description (they
    // fit DIGEST_ROOM by construction); the error moves to a field.
    let digest = (!alert.digest.is_empty()).then(|| {
        let lines: Vec<String> = alert
            .digest
            .iter()
            .map(|line| escape::unfence(&escape::clean(line)))
            .collect();
        format!(
            "{}\n```\n{}\n```",
            crate::render::digest::heading(alert),
            lines.join("\n")
        )
    });
    if let Some(digest) = &digest {
        header_cost += cost_of(digest, plain_cost);
    }
    let fact_limit = if digest.is_some() {
        crate::render::digest::FACT_LIMIT
    } else {
        FACT_LIMIT
    };
    for (label, fact) in render::facts(alert) {
        let fact = value(&fact, fact_limit);
        header_cost += cost_of(label, plain_cost) + cost_of(&fact, plain_cost);
        let inline = matches!(label, "app" | "environment" | "severity");
        fields.push(json!({ "name": label, "value": fact, "inline": inline }));
    }

    // The parts that may be cut, in the order they are cut last-first:
    // the error (description), the context, the backtrace.
    let error = escape::clean(&render::message_text(alert));
    let context = escape::clean(&render::context_lines(alert).join("\n"));
    let backtrace = escape::clean(&render::backtrace_text(alert));
    let (error_label, error_limit) = if digest.is_some() {
        ("error", FIELD_VALUE_LIMIT)
    } else {
        ("", DESCRIPTION_LIMIT)
    };
    // (label, text, limit, cut at whole lines): the error may be cut
    // anywhere; context and backtrace lines stay whole.
    let parts = [
        (error_label, error, error_limit, false),
        ("context", context, FIELD_VALUE_LIMIT, true),
        ("backtrace", backtrace, FIELD_VALUE_LIMIT, true),
    ];
    // Each part within its own limit first, fences included.
    let costs: Vec<usize> = parts
        .iter()
        .map(|(_, text, limit, _)| {
            let text = escape::unfence(text);
            if text.is_empty() {
                0
            } else {
                cost_of(&text, plain_cost).min(limit - fit::FENCE_COST)
            }
        })
        .collect();
    let overhead: usize = parts
        .iter()
        .zip(&costs)
        .filter(|(_, cost)| **cost > 0)
        .map(|((label, _, _, _), _)| label.len() + fit::FENCE_COST)
        .sum();
    let room = TOTAL_LIMIT.saturating_sub(header_cost + overhead);
    let keep = cost_of(fit::MARKER, plain_cost);
    let budgets = fit::share(&costs, room, &[2, 1, 0], keep);

    let mut description = None;
    for ((label, text, _, whole_lines), budget) in parts.iter().zip(budgets) {
        if budget == 0 {
            continue;
        }
        let whole_lines = *whole_lines;
        let Some(block) = fit::fenced(
            text,
            budget + fit::FENCE_COST,
            plain_cost,
            str::to_owned,
            whole_lines,
        ) else {
            continue;
        };
        if label.is_empty() {
            description = Some(block);
        } else {
            fields.push(json!({ "name": label, "value": block, "inline": false }));
        }
    }

    let mut embed = json!({
        "title": title,
        "color": colour(alert.severity),
        "fields": fields,
        "footer": { "text": footer },
        "timestamp": alert.timestamp_rfc3339(),
    });
    if let Some(description) = digest.or(description) {
        embed["description"] = Value::String(description);
    }
    json!({
        "username": username,
        "allowed_mentions": { "parse": [] },
        "embeds": [embed],
    })
}

/// The sink that `NOTIFY_DISCORD_WEBHOOK_URL` configures, if set.
pub(crate) fn from_env(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Discord>, ConfigError> {
    let Some(url) = get("NOTIFY_DISCORD_WEBHOOK_URL") else {
        return Ok(None);
    };
    let sink = Discord::new(url);
    http::validate_from_env(
        &sink,
        &[("discord.webhook_url", "NOTIFY_DISCORD_WEBHOOK_URL")],
    )?;
    Ok(Some(sink))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::checks;
    use proptest::prelude::*;

    #[test]
    fn mentions_parse_nothing_and_colour_follows_severity() {
        let mut alert = checks::sample_alert();
        alert.message = "@everyone <@123> @here".into();
        alert.severity = Severity::Critical;
        let payload = payload(&alert, "notify");
        checks::discord_payload(&payload).unwrap();
        assert_eq!(payload["allowed_mentions"], json!({"parse": []}));
        assert_eq!(payload["embeds"][0]["color"], CRITICAL_DARK_RED);
        assert!(payload["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("@everyone"));
    }

    #[test]
    fn a_huge_alert_fits_6000_backtrace_first() {
        let mut alert = checks::sample_alert();
        alert.message = "에러 ".repeat(3000);
        alert.backtrace = (0..500)
            .map(|i| crate::Frame {
                function: format!("app::f{i}"),
                file: None,
                line: None,
            })
            .collect();
        let payload = payload(&alert, "notify");
        checks::discord_payload(&payload).unwrap();
        let embed = &payload["embeds"][0];
        assert!(embed["description"]
            .as_str()
            .unwrap()
            .contains(crate::render::TRUNCATED));
    }

    #[test]
    fn form_errors_name_the_first_field() {
        let body = json!({"code": 50035, "message": "Invalid Form Body", "errors": {"embeds": {"0": {"description": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}]}}}}});
        assert_eq!(
            first_form_error(&body["errors"], String::new()).unwrap(),
            "embeds.0.description: Must be 4096 or fewer in length."
        );
    }

    #[test]
    fn username_rules_are_checked() {
        let url = "https://discord.com/api/webhooks/1/SECRET";
        assert!(Discord::new(url).validate().is_ok());
        for bad in ["", "my Discord bot", "CLYDE", &"x".repeat(81)] {
            let err = Discord::new(url).username(bad).validate().unwrap_err();
            assert_eq!(err.field(), "discord.username");
        }
        let err = Discord::new("SECRET").validate().unwrap_err();
        assert_eq!(err.field(), "discord.webhook_url");
        assert!(!err.to_string().contains("SECRET"));
        assert!(!format!("{:?}", Discord::new(url)).contains("SECRET"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn every_digest_embed_is_within_discord_limits_with_every_line(
            alerts in proptest::collection::vec(checks::arbitrary_alert(), 2..60)
        ) {
            let sink = Discord::new("https://discord.com/api/webhooks/1/X");
            let waiting: Vec<std::sync::Arc<Alert>> = alerts.into_iter().map(std::sync::Arc::new).collect();
            let room = sink.digest_room().unwrap();
            let messages = crate::render::digest::messages(&waiting, room, &|l| sink.digest_line_cost(l));
            let mut lines = 0;
            for message in &messages {
                let payload = payload(message, "notify");
                checks::discord_payload(&payload).map_err(TestCaseError::fail)?;
                let description = payload["embeds"][0]["description"].as_str().unwrap_or("");
                for line in &message.digest {
                    prop_assert!(description.contains(&escape::unfence(&escape::clean(line))), "{line:?}");
                    lines += 1;
                }
            }
            prop_assert_eq!(lines, waiting.len());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_embed_is_within_discord_limits(alert in checks::arbitrary_alert()) {
            let payload = payload(&alert, "notify");
            checks::discord_payload(&payload).map_err(TestCaseError::fail)?;
            prop_assert!(serde_json::from_str::<Value>(&payload.to_string()).is_ok());
        }
    }
}
