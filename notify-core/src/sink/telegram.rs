//! The Telegram sink: Bot API `sendMessage` in HTML parse mode, to one or
//! more chats.

use std::fmt;
use std::sync::Mutex;

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use super::http;
use super::route::{impl_route, route_methods, Route};
use crate::alert::Alert;
use crate::error::ConfigError;
use crate::render::escape::{self, cost_of, html, html_cost};
use crate::render::{self, fit};

/// The Bot API server that [`Telegram::new`] talks to.
pub const TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// Telegram's limit on a message's text after entity parsing.
const TEXT_LIMIT: usize = 4096;
/// Bound on the headline and on each header line, so that the header always
/// leaves room for the error.
const HEADLINE_LIMIT: usize = 256;
const FACT_LIMIT: usize = 300;
/// Room for a digest's lines in one message (visible characters): headline
/// (256) + lines (2000) + facts (≤ 10 × ~115, each cut to
/// `render::digest::FACT_LIMIT`) leave room for the most severe alert's error.
const DIGEST_ROOM: usize = 2000;

/// Sends each alert with the Bot API's `sendMessage`, in HTML parse mode, to
/// every configured chat.
///
/// - **Format**: a bold headline, the header facts (app, environment,
///   severity, function, host, time, ...), the error and its causes in a
///   `<pre>` block, the context values and the backtrace. Every `<`, `>` and
///   `&` of the alert's text is escaped, so an error message can never
///   create markup. Link previews are off; optional fields are omitted,
///   never sent as `null`.
/// - **Limits**: the text stays within 4096 characters after entity
///   parsing (counted in UTF-16 code units, the stricter measure). An
///   over-long alert loses backtrace frames first, then context, then error
///   text; the header lines stay whole and a "… truncated" marker shows the
///   cut.
/// - **Delivery**: each chat is delivered on its own (see
///   [`Sink::split`]): one message at a time per chat, in order; HTTP 429
///   waits `parameters.retry_after`; 5xx and network errors are retried, and
///   a retry goes only to the chat that did not get the alert; a group
///   upgraded to a supergroup (`migrate_to_chat_id`) is followed at once and
///   remembered for later alerts; any other refusal (`chat not found`,
///   `Unauthorized`) is reported once, for that chat, with Telegram's own
///   description.
/// - **Secrets**: the bot token is never shown by `Debug`, in errors or in
///   diagnostics, even when a proxy's error page repeats it.
///
/// ```
/// use notify_core::{Notifier, Severity, Telegram};
///
/// let telegram = Telegram::new("123456:TEST-TOKEN", -1001234567890_i64)
///     .chat("@ops_alerts")
///     .min_severity(Severity::Error);
/// assert!(format!("{telegram:?}").contains("<redacted>"));
/// let notifier = Notifier::builder().sink(telegram).build()?;
/// # drop(notifier);
/// # Ok::<(), notify_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Telegram {
    route: Route,
    bot_token: String,
    chats: Vec<Chat>,
    api_url: String,
    /// Whether errors name the chat: set on the parts of a sink with
    /// several chats.
    name_chats: bool,
}

impl_route!(Telegram);

/// One destination chat, and the supergroup it became, once Telegram said so.
struct Chat {
    id: String,
    migrated_to: Mutex<Option<String>>,
}

impl Chat {
    fn new(id: String) -> Self {
        Chat {
            id,
            migrated_to: Mutex::new(None),
        }
    }

    /// The id to send to: the supergroup's, if the group was upgraded.
    fn current(&self) -> String {
        self.migrated_to
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| self.id.clone())
    }

    fn migrate(&self, new_id: &str) {
        *self.migrated_to.lock().unwrap_or_else(|p| p.into_inner()) = Some(new_id.to_owned());
    }
}

/// A clone is configuration only: each sink (each part, after
/// [`Sink::split`]) learns its chat's migration on its own.
impl Clone for Chat {
    fn clone(&self) -> Self {
        Chat::new(self.id.clone())
    }
}

impl fmt::Debug for Telegram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telegram")
            .field("name", &self.route.name)
            .field("min_severity", &self.route.min_severity)
            .field("bot_token", &"<redacted>")
            .field(
                "chat_ids",
                &self.chats.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            )
            .field("api_url", &http::redact_url(&self.api_url))
            .finish()
    }
}

impl Telegram {
    /// A sink named `telegram` that sends with the bot `bot_token` (from
    /// @BotFather, `123456:ABC-DEF...`) to `chat_id`: a numeric id (groups
    /// and channels are negative) or a public channel's `@username`.
    pub fn new(bot_token: impl Into<String>, chat_id: impl ToString) -> Self {
        Telegram {
            route: Route::new("telegram"),
            bot_token: bot_token.into(),
            chats: vec![Chat::new(chat_id.to_string().trim().to_owned())],
            api_url: TELEGRAM_API_URL.to_owned(),
            name_chats: false,
        }
    }

    /// Sends to another chat as well.
    pub fn chat(mut self, chat_id: impl ToString) -> Self {
        self.chats
            .push(Chat::new(chat_id.to_string().trim().to_owned()));
        self
    }

    /// Talks to another Bot API server (a self-hosted `telegram-bot-api`, or
    /// a test server) instead of [`TELEGRAM_API_URL`]. Requests go to
    /// `{api_url}/bot{token}/sendMessage`.
    pub fn api_url(mut self, api_url: impl Into<String>) -> Self {
        self.api_url = api_url.into().trim().trim_end_matches('/').to_owned();
        self
    }

    /// `{api_url}/bot{token}/sendMessage`: a secret.
    fn send_url(&self) -> String {
        format!("{}/bot{}/sendMessage", self.api_url, self.bot_token)
    }

    /// Sends `text` to one chat, following one `migrate_to_chat_id`.
    async fn send_to(&self, chat: &Chat, url: &str, text: &str) -> Result<(), SinkError> {
        let mut result = self.send_once(url, &chat.current(), text).await;
        if let Err(Refusal::Migrate(new_id)) = &result {
            chat.migrate(new_id);
            result = self.send_once(url, new_id, text).await;
        }
        let error = match result {
            Ok(()) => return Ok(()),
            Err(Refusal::Migrate(_)) => {
                SinkError::permanent("the chat was migrated twice (migrate_to_chat_id)")
            }
            Err(Refusal::Error(error)) => error,
        };
        if !(self.name_chats || self.chats.len() > 1) {
            return Err(error);
        }
        Err(http::labelled(&format!("chat {}", chat.current()), &error))
    }

    async fn send_once(&self, url: &str, chat_id: &str, text: &str) -> Result<(), Refusal> {
        let body = body(chat_id, text).to_string().into_bytes();
        let answer = http::post_json(url, body, &[], None).await?;
        classify(&answer, |reason| {
            http::scrub(reason, url, &[self.bot_token.as_str()])
        })
    }
}

impl Sink for Telegram {
    route_methods!();

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let text = render_text(alert);
            let url = self.send_url();
            // After `split` (how a notifier uses the sink) there is one chat.
            // Used whole, the sink sends to every chat in turn, and a retry
            // sends to all of them again.
            let mut errors = Vec::new();
            for chat in &self.chats {
                if let Err(error) = self.send_to(chat, &url, &text).await {
                    errors.push(error);
                }
            }
            http::combine(errors)
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let token = &self.bot_token;
        let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        if !well_formed {
            return Err(ConfigError::new(
                "telegram.bot_token",
                "must be the token @BotFather gave: digits, a colon, then letters, digits, '-' or '_'",
            ));
        }
        if self.chats.is_empty() {
            return Err(ConfigError::new(
                "telegram.chat_id",
                "at least one chat id is needed",
            ));
        }
        for (index, chat) in self.chats.iter().enumerate() {
            let id = &chat.id;
            let numeric = id.strip_prefix('-').unwrap_or(id);
            let valid = (!numeric.is_empty() && numeric.bytes().all(|b| b.is_ascii_digit()))
                || id.strip_prefix('@').is_some_and(|name| {
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                });
            if !valid {
                // The value is not repeated: a token pasted into the wrong
                // variable would leak into the error.
                return Err(ConfigError::new(
                    "telegram.chat_id",
                    format!(
                        "chat id number {} is neither a numeric chat id (like -1001234567890) nor a channel's @username",
                        index + 1
                    ),
                ));
            }
        }
        http::check_url("telegram.api_url", &self.api_url)
    }

    fn concurrency(&self) -> usize {
        // About one message per second per chat; one at a time keeps order.
        1
    }

    fn digest_room(&self) -> Option<usize> {
        Some(DIGEST_ROOM)
    }

    /// As the message's own limit counts: UTF-16 code units after entity
    /// parsing (an emoji outside the BMP is two), and the line break.
    fn digest_line_cost(&self, line: &str) -> usize {
        cost_of(&escape::clean(line), html_cost) + 1
    }

    fn split(self) -> Vec<Box<dyn Sink>> {
        let name_chats = self.chats.len() > 1;
        let Telegram {
            route,
            bot_token,
            chats,
            api_url,
            ..
        } = self;
        chats
            .into_iter()
            .map(|chat| {
                Box::new(Telegram {
                    route: route.clone(),
                    bot_token: bot_token.clone(),
                    chats: vec![chat],
                    api_url: api_url.clone(),
                    name_chats,
                }) as Box<dyn Sink>
            })
            .collect()
    }
}

/// Why one `sendMessage` did not deliver.
enum Refusal {
    /// The group became a supergroup with this id: send there.
    Migrate(String),
    Error(SinkError),
}

impl From<SinkError> for Refusal {
    fn from(error: SinkError) -> Self {
        Refusal::Error(error)
    }
}

/// The request body: optional fields are absent, never `null`.
fn body(chat_id: &str, text: &str) -> serde_json::Value {
    let chat_id = match chat_id.parse::<i64>() {
        Ok(numeric) => serde_json::Value::from(numeric),
        Err(_) => serde_json::Value::from(chat_id),
    };
    serde_json::json!({
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": { "is_disabled": true },
    })
}

/// Classifies the Bot API's answer
/// (`{"ok":false,"error_code":N,"description":"...","parameters":{...}}`);
/// `scrub` cleans the description of secrets.
fn classify(answer: &http::Answer, scrub: impl Fn(&str) -> String) -> Result<(), Refusal> {
    let api: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
    let parameters = &api["parameters"];
    if api["ok"] == true && answer.status.is_success() {
        return Ok(());
    }
    if let Some(new_id) = parameters["migrate_to_chat_id"].as_i64() {
        return Err(Refusal::Migrate(new_id.to_string()));
    }
    let status = if answer.status.is_success() && api.is_object() {
        // `ok: false` under a 2xx (a confused proxy): by the error code,
        // else worth another try.
        api["error_code"]
            .as_u64()
            .and_then(|code| u16::try_from(code).ok())
            .and_then(|code| reqwest::StatusCode::from_u16(code).ok())
            .filter(|code| !code.is_success())
            .unwrap_or(reqwest::StatusCode::BAD_GATEWAY)
    } else {
        // Not the Bot API's JSON (a proxy's page): by the HTTP status.
        answer.status
    };
    let reason = scrub(&http::body_reason(&answer.body, "description"));
    let retry_after = parameters["retry_after"].as_f64().and_then(http::seconds);
    http::classify(status, &answer.headers, &reason, retry_after).map_err(Refusal::Error)
}

/// Telegram HTML: markup from fixed tags, every piece of the alert escaped,
/// and the visible length counted as the text is built.
struct Html {
    out: String,
    cost: usize,
}

impl Html {
    fn tag(&mut self, tag: &str) {
        self.out.push_str(tag);
    }

    fn text(&mut self, text: &str) {
        self.out.push_str(&html(text));
        self.cost += cost_of(text, html_cost);
    }
}

/// A part that may be cut: a bold label, then the content in `<pre>`.
struct Part {
    label: Option<&'static str>,
    content: String,
    whole_lines: bool,
}

impl Part {
    /// The visible cost of everything but the content.
    fn overhead(&self) -> usize {
        // "\n" before the block; "label\n" if labelled.
        1 + self.label.map_or(0, |l| l.chars().count() + 1)
    }
}

fn render_text(alert: &Alert) -> String {
    let mut doc = Html {
        out: String::with_capacity(1024),
        cost: 0,
    };
    let headline = fit::cut(
        &escape::clean(&render::headline(alert)),
        HEADLINE_LIMIT,
        html_cost,
        false,
    );
    doc.tag("<b>");
    doc.text(&headline);
    doc.tag("</b>");
    // A digest: every waiting alert's line, whole (they fit DIGEST_ROOM).
    if !alert.digest.is_empty() {
        doc.text("\n");
        doc.tag("<b>");
        doc.text(&crate::render::digest::heading(alert));
        doc.tag("</b>");
        for line in &alert.digest {
            doc.text("\n");
            doc.text(&escape::clean(line));
        }
        doc.text("\n");
    }
    let fact_limit = if alert.digest.is_empty() {
        FACT_LIMIT
    } else {
        crate::render::digest::FACT_LIMIT
    };
    for (label, value) in render::facts(alert) {
        let value = fit::cut(&escape::clean(&value), fact_limit, html_cost, false);
        doc.text("\n");
        doc.tag("<b>");
        doc.text(label);
        doc.text(":");
        doc.tag("</b>");
        doc.text(" ");
        doc.text(&value);
    }

    let mut parts = vec![Part {
        label: None,
        content: escape::clean(&render::message_text(alert)),
        whole_lines: false,
    }];
    let context = escape::clean(&render::context_lines(alert).join("\n"));
    if !context.is_empty() {
        parts.push(Part {
            label: Some("context"),
            content: context,
            whole_lines: true,
        });
    }
    let backtrace = escape::clean(&render::backtrace_text(alert));
    if !backtrace.is_empty() {
        parts.push(Part {
            label: Some("backtrace"),
            content: backtrace,
            whole_lines: true,
        });
    }

    // The header is kept; the parts share what is left, cut last-first
    // (backtrace, then context, then the error).
    let overheads: usize = parts.iter().map(Part::overhead).sum();
    let room = TEXT_LIMIT.saturating_sub(doc.cost + overheads);
    let costs: Vec<usize> = parts
        .iter()
        .map(|p| cost_of(&p.content, html_cost))
        .collect();
    let order: Vec<usize> = (0..parts.len()).rev().collect();
    let keep = cost_of(fit::MARKER, html_cost);
    let budgets = fit::share(&costs, room, &order, keep);
    for (part, budget) in parts.iter().zip(budgets) {
        let content = fit::cut(&part.content, budget, html_cost, part.whole_lines);
        if content.is_empty() {
            continue;
        }
        doc.text("\n");
        if let Some(label) = part.label {
            doc.tag("<b>");
            doc.text(label);
            doc.tag("</b>");
            doc.text("\n");
        }
        doc.tag("<pre>");
        doc.text(&content);
        doc.tag("</pre>");
    }
    doc.out
}

/// The sink that `NOTIFY_TELEGRAM_BOT_TOKEN`, `NOTIFY_TELEGRAM_CHAT_ID`
/// (comma-separated) and `NOTIFY_TELEGRAM_API_URL` configure, if set.
pub(crate) fn from_env(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Telegram>, ConfigError> {
    const TOKEN: &str = "NOTIFY_TELEGRAM_BOT_TOKEN";
    const CHAT: &str = "NOTIFY_TELEGRAM_CHAT_ID";
    const API: &str = "NOTIFY_TELEGRAM_API_URL";
    let chats: Vec<String> = get(CHAT)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    let token = match (get(TOKEN), chats.is_empty()) {
        (None, true) => {
            if get(API).is_some() {
                return Err(ConfigError::new(
                    TOKEN,
                    format!("is needed when {API} is set"),
                ));
            }
            return Ok(None);
        }
        (Some(_), true) => {
            return Err(ConfigError::new(
                CHAT,
                format!(
                    "is needed when {TOKEN} is set: the chat id(s) to send to, comma-separated"
                ),
            ));
        }
        (None, false) => {
            return Err(ConfigError::new(
                CHAT,
                format!("is set, but {TOKEN} is not"),
            ));
        }
        (Some(token), false) => token,
    };
    let mut chats = chats.into_iter();
    let mut sink = Telegram::new(token.trim(), chats.next().unwrap_or_default());
    for chat in chats {
        sink = sink.chat(chat);
    }
    if let Some(api) = get(API) {
        sink = sink.api_url(api);
    }
    http::validate_from_env(
        &sink,
        &[
            ("telegram.bot_token", TOKEN),
            ("telegram.chat_id", CHAT),
            ("telegram.api_url", API),
        ],
    )?;
    Ok(Some(sink))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::checks;
    use proptest::prelude::*;

    #[test]
    fn body_omits_optional_fields_and_disables_previews() {
        let body = body("-100123", "hi");
        assert_eq!(body["chat_id"], -100123);
        assert_eq!(body["parse_mode"], "HTML");
        assert_eq!(body["link_preview_options"]["is_disabled"], true);
        assert!(body
            .as_object()
            .is_some_and(|o| o.values().all(|v| !v.is_null())));
        assert_eq!(super::body("@ops", "hi")["chat_id"], "@ops");
    }

    #[test]
    fn hostile_text_is_escaped() {
        let mut alert = checks::sample_alert();
        alert.message = "<b>bold</b> &amp; <a href=\"x\">link</a>".into();
        let text = render_text(&alert);
        assert!(text.contains("&lt;b&gt;bold&lt;/b&gt; &amp;amp; &lt;a href=\"x\"&gt;"));
        checks::telegram_html(&text).unwrap();
    }

    #[test]
    fn a_huge_backtrace_is_cut_first_and_the_header_kept() {
        let mut alert = checks::sample_alert();
        alert.message = "disk full".into();
        alert.backtrace = (0..2000)
            .map(|i| crate::Frame {
                function: format!("app::frame_{i}"),
                file: Some("src/lib.rs".into()),
                line: Some(i),
            })
            .collect();
        let text = render_text(&alert);
        let visible = checks::telegram_html(&text).unwrap();
        assert!(visible <= TEXT_LIMIT);
        assert!(text.contains("disk full"));
        assert!(text.contains("app::frame_0 "));
        assert!(text.contains(crate::render::TRUNCATED));
        for (label, _) in crate::render::facts(&alert) {
            assert!(text.contains(&format!("<b>{label}:</b>")), "{label}");
        }
    }

    #[test]
    fn token_is_redacted_in_debug() {
        let sink = Telegram::new("123456:TEST-TOKEN", 42).api_url("http://127.0.0.1:9/x/y");
        let debug = format!("{sink:?}");
        assert!(!debug.contains("TEST-TOKEN"), "{debug}");
        assert!(!debug.contains("/x/y"), "{debug}");
        assert!(debug.contains("bot_token: \"<redacted>\""), "{debug}");
    }

    #[test]
    fn validation_names_the_field_and_hides_the_token() {
        let err = Telegram::new("not a token", 1).validate().unwrap_err();
        assert_eq!(err.field(), "telegram.bot_token");
        assert!(!err.to_string().contains("not a token"));
        let err = Telegram::new("1:A", "chat").validate().unwrap_err();
        assert_eq!(err.field(), "telegram.chat_id");
        let err = Telegram::new("1:A", 1)
            .api_url("ftp://x")
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "telegram.api_url");
        assert!(Telegram::new("123456:TEST-TOKEN", -1001)
            .chat("@ops_1")
            .validate()
            .is_ok());
    }

    #[test]
    fn a_bad_chat_id_is_not_repeated_in_the_error() {
        let err = Telegram::new("123456:TEST-TOKEN", 42)
            .chat("654321:PASTED-TOKEN")
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "telegram.chat_id");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("PASTED"), "{shown}");
        assert!(shown.contains("number 2"), "{shown}");
    }

    #[test]
    fn each_chat_is_a_part_with_its_own_migration_memory() {
        let sink = Telegram::new("123456:TEST-TOKEN", -55).chat(7).named("ops");
        sink.chats[0].migrate("-100777");
        // A clone is configuration only.
        assert_eq!(sink.clone().chats[0].current(), "-55");
        assert_eq!(sink.chats[0].current(), "-100777");
        let parts = sink.clone().split();
        assert_eq!(parts.len(), 2);
        assert!(parts
            .iter()
            .all(|p| p.name() == "ops" && p.concurrency() == 1));
        assert_eq!(Telegram::new("1:A", 1).split().len(), 1);
    }

    /// Lines of emoji outside the BMP cost Telegram two units a character:
    /// a digest of them still fits every message, every line whole.
    #[test]
    fn a_digest_of_astral_lines_fits_every_message() {
        let sink = Telegram::new("1:A", 1);
        let waiting: Vec<std::sync::Arc<Alert>> = (0..40)
            .map(|i| {
                let mut alert = checks::sample_alert();
                alert.title = format!("{i} {}", "🙂".repeat(150));
                alert.message = "😀".repeat(150);
                std::sync::Arc::new(alert)
            })
            .collect();
        let room = sink.digest_room().unwrap();
        let messages =
            crate::render::digest::messages(&waiting, room, &|l| sink.digest_line_cost(l));
        let mut lines = 0;
        for message in &messages {
            let text = render_text(message);
            let visible = checks::telegram_html(&text).unwrap();
            assert!(visible <= TEXT_LIMIT, "visible length {visible}");
            for line in &message.digest {
                assert!(text.contains(&html(&escape::clean(line))), "{line:?}");
                lines += 1;
            }
        }
        assert_eq!(lines, waiting.len());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn every_digest_message_is_valid_html_within_limits_with_every_line(
            alerts in proptest::collection::vec(checks::arbitrary_alert(), 2..60)
        ) {
            let sink = Telegram::new("1:A", 1);
            let waiting: Vec<std::sync::Arc<Alert>> = alerts.into_iter().map(std::sync::Arc::new).collect();
            let room = sink.digest_room().unwrap();
            let messages = crate::render::digest::messages(&waiting, room, &|l| sink.digest_line_cost(l));
            let mut lines = 0;
            for message in &messages {
                let text = render_text(message);
                let visible = checks::telegram_html(&text).map_err(TestCaseError::fail)?;
                prop_assert!(visible <= TEXT_LIMIT, "visible length {visible}");
                for line in &message.digest {
                    prop_assert!(text.contains(&html(&escape::clean(line))), "{line:?}");
                    lines += 1;
                }
            }
            prop_assert_eq!(lines, waiting.len());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_rendered_message_is_valid_html_within_limits(alert in checks::arbitrary_alert()) {
            let text = render_text(&alert);
            let visible = checks::telegram_html(&text).map_err(TestCaseError::fail)?;
            prop_assert!(visible <= TEXT_LIMIT, "visible length {visible}");
            prop_assert!(text.len() <= 32_768);
            prop_assert!(!text.trim().is_empty());
            let body = body("1", &text).to_string();
            prop_assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok());
        }
    }
}
