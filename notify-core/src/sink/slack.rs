//! The Slack sink: an incoming webhook, Block Kit with a text fallback.

use std::fmt;

use serde_json::{json, Value};

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use super::http;
use super::route::{impl_route, route_methods, Route};
use crate::alert::Alert;
use crate::error::ConfigError;
use crate::render::escape::{self, cost_of, slack, slack_cost};
use crate::render::{self, fit};

/// Slack's limits (PLATFORMS.md), in the escaped text's characters.
const HEADER_LIMIT: usize = 150;
const SECTION_LIMIT: usize = 3000;
const FIELD_LIMIT: usize = 2000;
/// The notification fallback: Slack cuts past 40,000; a notification needs far less.
const FALLBACK_LIMIT: usize = 3000;
/// Room for a digest's lines: one section (3000), less its label.
const DIGEST_ROOM: usize = 2900;

/// Posts each alert to a Slack [incoming webhook] as Block Kit blocks: a
/// header with the severity and title, the error and its causes, the
/// header facts as fields, the context values and the backtrace in code
/// blocks, and the fingerprint; plus the top-level `text` that
/// notifications and old clients show.
///
/// - **No injection**: `&`, `<` and `>` of the alert's text are sent as
///   `&amp;`, `&lt;`, `&gt;` in every text object (Slack decodes them for
///   display), so `<!channel>`, `<!here>` or `<@U123>` in an error stay
///   text and ping nobody.
/// - **Limits**: header 150 characters, sections 3000, fields 2000, a handful
///   of blocks; longer text is cut at a character boundary with a
///   "… truncated" marker (backtraces at a frame boundary).
/// - **Delivery**: `ok` is success; 429 waits `Retry-After`; 5xx and network
///   errors are retried; other refusals (`invalid_blocks`,
///   `channel_is_archived`, `no_service`) are reported once, with Slack's
///   own reason.
/// - **Secrets**: the whole webhook URL is the secret: `Debug`, errors and
///   diagnostics never show it.
///
/// [incoming webhook]: https://api.slack.com/messaging/webhooks
///
/// ```
/// use notify_core::{Notifier, Slack};
///
/// let slack = Slack::new("https://hooks.slack.com/services/T000/B000/XXXX").named("ops");
/// assert_eq!(format!("{slack:?}"), r#"Slack { name: "ops", min_severity: Info, webhook_url: "<redacted>" }"#);
/// let notifier = Notifier::builder().sink(slack).build()?;
/// # drop(notifier);
/// # Ok::<(), notify_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Slack {
    route: Route,
    webhook_url: String,
}

impl_route!(Slack);

impl fmt::Debug for Slack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slack")
            .field("name", &self.route.name)
            .field("min_severity", &self.route.min_severity)
            .field("webhook_url", &"<redacted>")
            .finish()
    }
}

impl Slack {
    /// A sink named `slack` that posts to `webhook_url`
    /// (`https://hooks.slack.com/services/T…/B…/…`).
    pub fn new(webhook_url: impl Into<String>) -> Self {
        Slack {
            route: Route::new("slack"),
            webhook_url: webhook_url.into().trim().to_owned(),
        }
    }
}

impl Sink for Slack {
    route_methods!();

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let body = payload(alert).to_string().into_bytes();
            let answer = http::post_json(&self.webhook_url, body, &[], None).await?;
            let reason = http::scrub(&answer.body, &self.webhook_url, &[]);
            http::classify(answer.status, &answer.headers, &reason, None)
        })
    }

    fn concurrency(&self) -> usize {
        // About one message per second per webhook; one at a time keeps order.
        1
    }

    fn validate(&self) -> Result<(), ConfigError> {
        http::check_url("slack.webhook_url", &self.webhook_url)
    }

    fn digest_room(&self) -> Option<usize> {
        Some(DIGEST_ROOM)
    }

    fn digest_line_cost(&self, line: &str) -> usize {
        cost_of(&escape::clean(line), slack_cost) + 1
    }
}

fn text_object(kind: &str, text: String) -> Value {
    json!({ "type": kind, "text": text })
}

/// Cut to `limit` as Slack counts the escaped text, then escaped.
fn fitted(text: &str, limit: usize) -> String {
    slack(&fit::cut(&escape::clean(text), limit, slack_cost, false))
}

/// `*label*\n` followed by a code block, within `limit`.
fn labelled_block(label: &str, text: &str, limit: usize, whole_lines: bool) -> Option<String> {
    let prefix = format!("*{label}*\n");
    let room = limit - prefix.chars().count();
    let block = fit::fenced(&escape::clean(text), room, slack_cost, slack, whole_lines)?;
    Some(prefix + &block)
}

/// The webhook payload for `alert`.
pub(crate) fn payload(alert: &Alert) -> Value {
    let headline = render::headline(alert);
    let error = render::message_text(alert);
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": fitted(&headline, HEADER_LIMIT), "emoji": true },
    })];
    // A digest: every waiting alert's line, whole, in one section (they
    // fit DIGEST_ROOM by construction).
    if !alert.digest.is_empty() {
        let mut text = format!("*{}*", crate::render::digest::heading(alert));
        for line in &alert.digest {
            text.push('\n');
            text.push_str(&slack(&escape::clean(line)));
        }
        blocks.push(json!({ "type": "section", "text": text_object("mrkdwn", text) }));
    }
    if let Some(text) = fit::fenced(
        &escape::clean(&error),
        SECTION_LIMIT,
        slack_cost,
        slack,
        false,
    ) {
        blocks.push(json!({ "type": "section", "text": text_object("mrkdwn", text) }));
    }
    let fields: Vec<Value> = render::facts(alert)
        .into_iter()
        .take(10)
        .map(|(label, value)| {
            let prefix = format!("*{label}*\n");
            let room = FIELD_LIMIT - prefix.chars().count();
            let value = if value.trim().is_empty() {
                String::from("-")
            } else {
                value
            };
            text_object("mrkdwn", prefix + &fitted(&value, room))
        })
        .collect();
    blocks.push(json!({ "type": "section", "fields": fields }));
    if !alert.context.is_empty() {
        let context = render::context_lines(alert).join("\n");
        if let Some(text) = labelled_block("context", &context, SECTION_LIMIT, true) {
            blocks.push(json!({ "type": "section", "text": text_object("mrkdwn", text) }));
        }
    }
    if !alert.backtrace.is_empty() {
        let backtrace = render::backtrace_text(alert);
        if let Some(text) = labelled_block("backtrace", &backtrace, SECTION_LIMIT, true) {
            blocks.push(json!({ "type": "section", "text": text_object("mrkdwn", text) }));
        }
    }
    blocks.push(json!({
        "type": "context",
        "elements": [text_object(
            "mrkdwn",
            format!("notify · {} · fingerprint `{}`", alert.kind, alert.fingerprint_hex()),
        )],
    }));
    json!({
        "text": fitted(&format!("{headline}\n{error}"), FALLBACK_LIMIT),
        "blocks": blocks,
    })
}

/// The sink that `NOTIFY_SLACK_WEBHOOK_URL` configures, if set.
pub(crate) fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Slack>, ConfigError> {
    let Some(url) = get("NOTIFY_SLACK_WEBHOOK_URL") else {
        return Ok(None);
    };
    let sink = Slack::new(url);
    http::validate_from_env(&sink, &[("slack.webhook_url", "NOTIFY_SLACK_WEBHOOK_URL")])?;
    Ok(Some(sink))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::checks;
    use proptest::prelude::*;

    #[test]
    fn mentions_in_an_error_stay_text() {
        let mut alert = checks::sample_alert();
        alert.message = "<!channel> <!here> <@U123> &amp; <b>".into();
        let payload = payload(&alert);
        checks::slack_payload(&payload).unwrap();
        let sent = payload.to_string();
        assert!(
            sent.contains("&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &amp;amp; &lt;b&gt;"),
            "{sent}"
        );
        assert!(!sent.contains("<!channel>"));
    }

    #[test]
    fn the_webhook_url_is_redacted() {
        let sink = Slack::new("https://hooks.slack.com/services/T1/B2/SECRET");
        assert!(!format!("{sink:?}").contains("SECRET"));
        assert!(!format!("{sink:?}").contains("hooks.slack.com"));
        let err = Slack::new("not a url SECRET").validate().unwrap_err();
        assert_eq!(err.field(), "slack.webhook_url");
        assert!(!err.to_string().contains("SECRET"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn every_digest_payload_is_within_block_kit_limits_with_every_line(
            alerts in proptest::collection::vec(checks::arbitrary_alert(), 2..60)
        ) {
            let sink = Slack::new("https://hooks.slack.com/services/T/B/X");
            let waiting: Vec<std::sync::Arc<Alert>> = alerts.into_iter().map(std::sync::Arc::new).collect();
            let room = sink.digest_room().unwrap();
            let messages = crate::render::digest::messages(&waiting, room, &|l| sink.digest_line_cost(l));
            let mut lines = 0;
            for message in &messages {
                let payload = payload(message);
                checks::slack_payload(&payload).map_err(TestCaseError::fail)?;
                let digest = payload["blocks"][1]["text"]["text"].as_str().unwrap_or("");
                for line in &message.digest {
                    prop_assert!(digest.contains(&slack(&escape::clean(line))), "{line:?}");
                    lines += 1;
                }
            }
            prop_assert_eq!(lines, waiting.len());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_payload_is_within_block_kit_limits(alert in checks::arbitrary_alert()) {
            let payload = payload(&alert);
            checks::slack_payload(&payload).map_err(TestCaseError::fail)?;
            let body = payload.to_string();
            prop_assert!(serde_json::from_str::<Value>(&body).is_ok());
        }
    }
}
