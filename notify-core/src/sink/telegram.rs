//! The Telegram sink: Bot API `sendMessage` in HTML parse mode, to one or
//! more chats.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use super::{http, impl_route, BoxFuture, Route, Sink, SinkError};
use crate::alert::{Alert, Severity};
use crate::config::ConfigError;
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
/// Deliveries to several chats whose progress is remembered between attempts.
const TRACKED_DELIVERIES: usize = 256;

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
/// - **Delivery**: HTTP 429 waits `parameters.retry_after`; 5xx and network
///   errors are retried; a group upgraded to a supergroup
///   (`migrate_to_chat_id`) is followed at once and remembered for later
///   alerts; any other refusal (`chat not found`, `Unauthorized`) is
///   reported once with Telegram's own description. With several chats, a
///   retry goes only to the chats that have not received the alert yet.
/// - **Secrets**: the bot token is never shown by `Debug`, in errors or in
///   diagnostics.
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
    chat_ids: Vec<String>,
    api_url: String,
    state: Arc<Mutex<State>>,
}

impl_route!(Telegram);

/// What the sink remembers between attempts and alerts.
#[derive(Default)]
struct State {
    /// Chats that became supergroups: configured id → new id.
    migrated: HashMap<String, String>,
    /// Deliveries of one alert to several chats, still in progress.
    deliveries: VecDeque<(DeliveryKey, Progress)>,
}

/// Identifies one alert during its delivery: the dispatcher passes the same
/// `Alert` (same address) to every attempt; fingerprint and timestamp guard
/// against an address being reused by a later alert.
#[derive(Clone, Copy, PartialEq, Eq)]
struct DeliveryKey {
    address: usize,
    fingerprint: u64,
    timestamp: std::time::SystemTime,
}

#[derive(Default)]
struct Progress {
    /// Chats (by index) that received the alert or refused it for good.
    finished: HashSet<usize>,
    /// The refusals, to report once the other chats are done.
    refusals: Vec<String>,
}

impl fmt::Debug for Telegram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telegram")
            .field("name", &self.route.name)
            .field("min_severity", &self.route.min_severity)
            .field("bot_token", &"<redacted>")
            .field("chat_ids", &self.chat_ids)
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
            chat_ids: vec![chat_id.to_string().trim().to_owned()],
            api_url: TELEGRAM_API_URL.to_owned(),
            state: Arc::default(),
        }
    }

    /// Sends to another chat as well.
    pub fn chat(mut self, chat_id: impl ToString) -> Self {
        self.chat_ids.push(chat_id.to_string().trim().to_owned());
        self
    }

    /// Talks to another Bot API server (a self-hosted `telegram-bot-api`, or
    /// a test server) instead of [`TELEGRAM_API_URL`]. Requests go to
    /// `{api_url}/bot{token}/sendMessage`.
    pub fn api_url(mut self, api_url: impl Into<String>) -> Self {
        self.api_url = api_url.into().trim().trim_end_matches('/').to_owned();
        self
    }

    fn key(alert: &Alert) -> DeliveryKey {
        DeliveryKey {
            address: alert as *const Alert as usize,
            fingerprint: alert.fingerprint,
            timestamp: alert.timestamp,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The chats (index, current id) that still need `key`'s alert.
    fn pending(&self, key: DeliveryKey) -> Vec<(usize, String)> {
        let state = self.lock();
        let finished = state
            .deliveries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, p)| &p.finished);
        self.chat_ids
            .iter()
            .enumerate()
            .filter(|(i, _)| finished.is_none_or(|f| !f.contains(i)))
            .map(|(i, id)| (i, state.migrated.get(id).unwrap_or(id).clone()))
            .collect()
    }

    /// Records what happened to chat `index`; returns the progress so far
    /// when every chat is finished (and forgets the delivery).
    fn finish(&self, key: DeliveryKey, index: usize, refusal: Option<String>) -> Option<Progress> {
        let mut state = self.lock();
        let position = match state.deliveries.iter().position(|(k, _)| *k == key) {
            Some(position) => position,
            None => {
                if state.deliveries.len() >= TRACKED_DELIVERIES {
                    state.deliveries.pop_front();
                }
                state.deliveries.push_back((key, Progress::default()));
                state.deliveries.len() - 1
            }
        };
        let progress = &mut state.deliveries[position].1;
        progress.finished.insert(index);
        progress.refusals.extend(refusal);
        if progress.finished.len() >= self.chat_ids.len() {
            state.deliveries.remove(position).map(|(_, p)| p)
        } else {
            None
        }
    }

    fn remember_migration(&self, index: usize, new_id: &str) {
        let original = self.chat_ids[index].clone();
        self.lock().migrated.insert(original, new_id.to_owned());
    }

    async fn send_all(&self, alert: &Alert) -> Result<(), SinkError> {
        let key = Self::key(alert);
        let text = Arc::new(render_text(alert));
        let url = Arc::new(format!(
            "{}/bot{}/sendMessage",
            self.api_url, self.bot_token
        ));
        let mut tasks = tokio::task::JoinSet::new();
        for (index, chat_id) in self.pending(key) {
            let (text, url) = (text.clone(), url.clone());
            tasks.spawn(async move { (index, send_to_chat(&url, &chat_id, &text).await) });
        }
        let several = self.chat_ids.len() > 1;
        let mut retry: Option<SinkError> = None;
        let mut done: Option<Progress> = None;
        while let Some(joined) = tasks.join_next().await {
            let Ok((index, outcome)) = joined else {
                // A request task panicked: count it as retryable.
                retry.get_or_insert_with(|| SinkError::retryable("request task failed"));
                continue;
            };
            if let Some(new_id) = &outcome.migrated_to {
                self.remember_migration(index, new_id);
            }
            let chat = || {
                let id = outcome
                    .migrated_to
                    .as_ref()
                    .unwrap_or(&self.chat_ids[index]);
                format!("chat {id}")
            };
            match outcome.result {
                Ok(()) => done = self.finish(key, index, None).or(done),
                Err(error) if error.is_retryable() => {
                    let error = if several {
                        relabel(&error, &format!("{}: {}", chat(), error.message()))
                    } else {
                        error
                    };
                    retry = Some(match retry {
                        Some(previous) => worse(previous, error),
                        None => error,
                    });
                }
                Err(error) => {
                    let reason = if several {
                        format!("{}: {}", chat(), error.message())
                    } else {
                        error.message().to_owned()
                    };
                    done = self.finish(key, index, Some(reason)).or(done);
                }
            }
        }
        if let Some(error) = retry {
            return Err(error);
        }
        match done {
            Some(progress) if !progress.refusals.is_empty() => {
                Err(SinkError::permanent(progress.refusals.join("; ")))
            }
            _ => Ok(()),
        }
    }
}

/// The error that should decide the next attempt: the longer rate-limit wait.
fn worse(a: SinkError, b: SinkError) -> SinkError {
    if b.retry_after() > a.retry_after() {
        b
    } else {
        a
    }
}

fn relabel(error: &SinkError, message: &str) -> SinkError {
    match error.retry_after() {
        Some(wait) => SinkError::rate_limited(message, wait),
        None => SinkError::retryable(message),
    }
}

impl Sink for Telegram {
    fn name(&self) -> &str {
        &self.route.name
    }

    fn severity_threshold(&self) -> Severity {
        self.route.min_severity
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(self.send_all(alert))
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
        if self.chat_ids.is_empty() {
            return Err(ConfigError::new(
                "telegram.chat_id",
                "at least one chat id is needed",
            ));
        }
        for id in &self.chat_ids {
            let numeric = id.strip_prefix('-').unwrap_or(id);
            let valid = (!numeric.is_empty() && numeric.bytes().all(|b| b.is_ascii_digit()))
                || id.strip_prefix('@').is_some_and(|name| {
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                });
            if !valid {
                return Err(ConfigError::new(
                    "telegram.chat_id",
                    format!("{id:?} is neither a numeric chat id nor a channel's @username"),
                ));
            }
        }
        http::check_url("telegram.api_url", &self.api_url)
    }
}

/// One chat's result, and the supergroup it moved to, if it did.
struct ChatOutcome {
    result: Result<(), SinkError>,
    migrated_to: Option<String>,
}

/// Sends to one chat, following one `migrate_to_chat_id`.
async fn send_to_chat(url: &str, chat_id: &str, text: &str) -> ChatOutcome {
    match send_once(url, chat_id, text).await {
        Answer::Migrate(new_id) => {
            let result = match send_once(url, &new_id, text).await {
                Answer::Done(result) => result,
                Answer::Migrate(_) => Err(SinkError::permanent(
                    "the chat was migrated twice (migrate_to_chat_id)",
                )),
            };
            ChatOutcome {
                result,
                migrated_to: Some(new_id),
            }
        }
        Answer::Done(result) => ChatOutcome {
            result,
            migrated_to: None,
        },
    }
}

enum Answer {
    Done(Result<(), SinkError>),
    Migrate(String),
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

async fn send_once(url: &str, chat_id: &str, text: &str) -> Answer {
    let body = body(chat_id, text).to_string().into_bytes();
    match http::post_json(url, body, &[]).await {
        Ok(answer) => classify(&answer),
        Err(error) => Answer::Done(Err(error)),
    }
}

#[derive(Deserialize)]
struct ApiAnswer {
    ok: bool,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ApiParameters>,
}

#[derive(Deserialize)]
struct ApiParameters {
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    migrate_to_chat_id: Option<i64>,
}

/// Classifies the Bot API's answer.
fn classify(answer: &http::Answer) -> Answer {
    let Ok(api) = serde_json::from_str::<ApiAnswer>(&answer.body) else {
        // Not the Bot API's JSON (a proxy's error page): go by the status.
        return Answer::Done(http::classify_status(
            answer.status,
            &answer.headers,
            &answer.body,
        ));
    };
    if api.ok && answer.status.is_success() {
        return Answer::Done(Ok(()));
    }
    let parameters = api.parameters.unwrap_or(ApiParameters {
        retry_after: None,
        migrate_to_chat_id: None,
    });
    if let Some(new_id) = parameters.migrate_to_chat_id {
        return Answer::Migrate(new_id.to_string());
    }
    let code = api.error_code.unwrap_or(answer.status.as_u16());
    let description = http::one_line(api.description.as_deref().unwrap_or(""), 300);
    let reason = if description.is_empty() {
        format!("error {code}")
    } else {
        format!("{description} (error {code})")
    };
    Answer::Done(Err(if code == 429 || answer.status.as_u16() == 429 {
        let wait = parameters
            .retry_after
            .filter(|secs| secs.is_finite() && *secs >= 0.0)
            .map(|secs| Duration::from_secs_f64(secs.min(86_400.0)))
            .or_else(|| http::retry_after_header(&answer.headers))
            .unwrap_or(Duration::from_secs(1));
        SinkError::rate_limited(reason, wait)
    } else if answer.status.is_server_error() || code >= 500 {
        SinkError::retryable(reason)
    } else {
        SinkError::permanent(reason)
    }))
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
    for (label, value) in render::facts(alert) {
        let value = fit::cut(&escape::clean(&value), FACT_LIMIT, html_cost, false);
        doc.text("\n");
        doc.tag("<b>");
        doc.text(label);
        doc.text(":");
        doc.tag("</b>");
        doc.text(" ");
        doc.text(&value);
    }

    let error = escape::clean(&render::error_text(alert));
    let mut parts = vec![Part {
        label: None,
        content: if error.trim().is_empty() {
            String::from("(no message)")
        } else {
            error
        },
        whole_lines: false,
    }];
    let context = context_text(alert);
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

/// `name = value` per line.
fn context_text(alert: &Alert) -> String {
    let lines: Vec<String> = alert
        .context
        .iter()
        .map(|(name, value)| escape::clean(&format!("{name} = {value}")))
        .collect();
    lines.join("\n")
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
    super::validate_from_env(
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
