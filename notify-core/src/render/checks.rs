//! Test support: alerts (a sample and a proptest strategy of hostile ones)
//! and checkers of each platform's rules, as PLATFORMS.md states them.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use serde_json::Value;

use crate::alert::{Alert, AlertKind, Frame, Location, Repeats, Severity};

/// An ordinary alert.
pub(crate) fn sample_alert() -> Alert {
    Alert {
        kind: AlertKind::Error,
        severity: Severity::Error,
        title: "Error in nightly_export".into(),
        app_name: "billing".into(),
        environment: Some("prod".into()),
        host: "web-1".into(),
        process_id: 4242,
        thread: "main".into(),
        timestamp: SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000),
        location: Location {
            function: "billing::jobs::nightly_export".into(),
            file: "src/jobs.rs".into(),
            line: 42,
        },
        message: "could not write /data/out.csv".into(),
        causes: vec!["No space left on device (os error 28)".into()],
        panic_location: None,
        backtrace: vec![
            Frame {
                function: "billing::jobs::nightly_export".into(),
                file: Some("src/jobs.rs".into()),
                line: Some(57),
            },
            Frame {
                function: "billing::main".into(),
                file: Some("src/main.rs".into()),
                line: Some(12),
            },
        ],
        context: vec![("path".into(), "\"/data/out.csv\"".into())],
        repeats: None,
        dropped: 0,
        fingerprint: 0x1234_5678_9abc_def0,
        sinks: Vec::new(),
        digest: Vec::new(),
        run: None,
    }
}

/// Text made of hostile pieces: any character (NUL and controls included),
/// Korean, emoji, combining marks, markup and mentions of every platform.
pub(crate) fn hostile_text(max_pieces: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => any::<char>().prop_map(String::from),
        2 => "[가-힣]{1,8}",
        1 => Just(String::from("🙂")),
        1 => Just(String::from("👩‍👩‍👧‍👦")),
        1 => Just(String::from("e\u{301}\u{308}")),
        1 => Just(String::from("\0")),
        1 => Just(String::from("\r\n")),
        1 => Just(String::from("\n")),
        1 => Just(String::from(" ")),
        1 => Just(String::from("<b>")),
        1 => Just(String::from("</pre>")),
        1 => Just(String::from("&amp;")),
        1 => Just(String::from("&")),
        1 => Just(String::from("<!channel>")),
        1 => Just(String::from("<@U123>")),
        1 => Just(String::from("@everyone")),
        1 => Just(String::from("```")),
        1 => Just(String::from("`")),
        1 => Just(String::from("*_~|>")),
        1 => "[a-z ]{1,40}",
    ];
    prop::collection::vec(piece, 0..max_pieces).prop_map(|pieces| pieces.concat())
}

/// Hostile text, repeated up to `max_repeats` times: long inputs, cheaply.
pub(crate) fn long_hostile_text(
    max_pieces: usize,
    max_repeats: usize,
) -> impl Strategy<Value = String> {
    (hostile_text(max_pieces), 1..=max_repeats).prop_map(|(text, n)| text.repeat(n))
}

/// Alerts with hostile text everywhere, some of them far over every limit.
pub(crate) fn arbitrary_alert() -> impl Strategy<Value = Alert> {
    let frame = (
        long_hostile_text(8, 20),
        prop::option::of(hostile_text(6)),
        any::<Option<u32>>(),
    )
        .prop_map(|(function, file, line)| Frame {
            function,
            file,
            line,
        });
    (
        (
            long_hostile_text(20, 30),
            long_hostile_text(40, 150),
            prop::collection::vec(long_hostile_text(10, 40), 0..4),
            prop::collection::vec(frame, 0..60),
            prop::collection::vec((hostile_text(6), long_hostile_text(10, 60)), 0..6),
        ),
        (
            hostile_text(20),
            prop::option::of(hostile_text(20)),
            hostile_text(20),
            prop::option::of(hostile_text(20)),
            any::<bool>(),
            prop_oneof![
                Just(Severity::Info),
                Just(Severity::Warning),
                Just(Severity::Error),
                Just(Severity::Critical)
            ],
            any::<u64>(),
        ),
        // A monitored run's alert: its kind, and a hostile returned value.
        prop::option::of((
            prop_oneof![
                Just(AlertKind::Started),
                Just(AlertKind::Succeeded),
                Just(AlertKind::StillRunning),
                Just(AlertKind::Error),
                Just(AlertKind::Panic),
            ],
            prop::option::of(long_hostile_text(40, 150)),
            any::<bool>(),
        )),
    )
        .prop_map(
            |(
                (title, message, causes, backtrace, context),
                (app, env, host, panic, summary, severity, dropped),
                run,
            )| {
                let mut alert = sample_alert();
                alert.title = title;
                alert.message = message;
                alert.causes = causes;
                alert.backtrace = backtrace;
                alert.context = context;
                alert.app_name = app;
                alert.environment = env;
                alert.thread = host.clone();
                alert.host = host;
                alert.panic_location = panic;
                alert.severity = severity;
                alert.dropped = dropped % 3;
                if let Some((kind, value, ends_still_running)) = run {
                    alert.kind = kind;
                    alert.run = Some(crate::alert::RunInfo {
                        job: String::from("nightly-export"),
                        run_id: String::from("0d6c3b8e-3f1a-4c7e-9a51-2b7f4c9d1e08"),
                        duration: Duration::from_secs(dropped % 1_000_000),
                        value,
                        ends_still_running,
                    });
                }
                if summary {
                    alert.repeats = Some(Repeats {
                        count: dropped,
                        first: alert.timestamp,
                        last: alert.timestamp + Duration::from_secs(dropped % 100_000),
                    });
                }
                alert
            },
        )
}

/// Checks Telegram HTML the way the Bot API parses it: only its tags,
/// balanced, every `<`, `>` and `&` of text escaped. Returns the length
/// after entity parsing and trimming, in UTF-16 code units, as Telegram counts.
pub(crate) fn telegram_html(text: &str) -> Result<usize, String> {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "span",
        "tg-spoiler",
        "tg-emoji",
    ];
    let mut visible = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("unclosed tag")?;
                let tag = &rest[1..end];
                let (closing, name) = match tag.strip_prefix('/') {
                    Some(name) => (true, name),
                    None => (false, tag.split(' ').next().unwrap_or("")),
                };
                if !TAGS.contains(&name) {
                    return Err(format!("Unsupported start tag {name:?}"));
                }
                if closing {
                    if open.pop().as_deref() != Some(name) {
                        return Err(format!("unmatched end tag {name:?}"));
                    }
                } else {
                    open.push(name.to_owned());
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').ok_or("unterminated entity")?;
                let entity = &rest[1..end];
                let ok = matches!(entity, "lt" | "gt" | "amp" | "quot")
                    || entity
                        .strip_prefix('#')
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                if !ok {
                    return Err(format!("unknown entity &{entity};"));
                }
                visible.push('x');
                rest = &rest[end + 1..];
            }
            '>' => return Err(String::from("unescaped '>' in text")),
            c => {
                visible.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(tag) = open.pop() {
        return Err(format!("tag {tag:?} left open"));
    }
    // Telegram counts UTF-16 code units (an emoji outside the BMP is two).
    Ok(visible.trim().encode_utf16().count())
}

fn len(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.trim().chars().count())
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

/// Slack mrkdwn/plain_text from user text: `&`, `<`, `>` only as entities.
fn slack_escaped(text: &str) -> Result<(), String> {
    check(!text.contains('<') && !text.contains('>'), || {
        format!("raw < or > in {text:?}")
    })?;
    for (i, _) in text.match_indices('&') {
        let rest = &text[i..];
        check(
            rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;"),
            || format!("raw & in {text:?}"),
        )?;
    }
    Ok(())
}

fn slack_text_object(object: &Value, max: usize) -> Result<(), String> {
    let kind = object["type"].as_str().unwrap_or("");
    check(kind == "mrkdwn" || kind == "plain_text", || {
        format!("text type {kind:?}")
    })?;
    let text = object["text"].as_str().ok_or("text object without text")?;
    check(!text.is_empty(), || String::from("empty text object"))?;
    check(text.chars().count() <= max, || format!("text over {max}"))?;
    slack_escaped(text)
}

/// Checks a Slack payload against Block Kit's limits.
pub(crate) fn slack_payload(payload: &Value) -> Result<(), String> {
    let text = payload["text"].as_str().ok_or("no top-level text")?;
    check(!text.trim().is_empty(), || {
        String::from("empty fallback text")
    })?;
    check(text.chars().count() <= 40_000, || {
        String::from("text over 40000")
    })?;
    slack_escaped(text)?;
    let blocks = payload["blocks"].as_array().ok_or("no blocks")?;
    check(!blocks.is_empty() && blocks.len() <= 50, || {
        format!("{} blocks", blocks.len())
    })?;
    for block in blocks {
        if let Some(id) = block.get("block_id") {
            check(len(id) <= 255, || String::from("block_id over 255"))?;
        }
        match block["type"].as_str() {
            Some("header") => {
                check(block["text"]["type"] == "plain_text", || {
                    String::from("header not plain_text")
                })?;
                slack_text_object(&block["text"], 150)?;
            }
            Some("section") => {
                let text = block.get("text");
                let fields = block.get("fields").and_then(Value::as_array);
                check(text.is_some() || fields.is_some(), || {
                    String::from("empty section")
                })?;
                if let Some(text) = text {
                    slack_text_object(text, 3000)?;
                }
                if let Some(fields) = fields {
                    check(!fields.is_empty() && fields.len() <= 10, || {
                        format!("{} fields", fields.len())
                    })?;
                    for field in fields {
                        slack_text_object(field, 2000)?;
                    }
                }
            }
            Some("context") => {
                let elements = block["elements"]
                    .as_array()
                    .ok_or("context without elements")?;
                check(!elements.is_empty() && elements.len() <= 10, || {
                    String::from("context elements")
                })?;
                for element in elements {
                    slack_text_object(element, 3000)?;
                }
            }
            Some("divider") => {}
            other => return Err(format!("unexpected block type {other:?}")),
        }
    }
    Ok(())
}

/// Checks a Discord webhook payload against the embed limits.
pub(crate) fn discord_payload(payload: &Value) -> Result<(), String> {
    check(
        payload["allowed_mentions"]["parse"] == serde_json::json!([]),
        || String::from("allowed_mentions.parse is not []"),
    )?;
    if let Some(username) = payload.get("username") {
        let name = username.as_str().ok_or("username not a string")?;
        let n = name.chars().count();
        check((1..=80).contains(&n), || format!("username length {n}"))?;
        let lower = name.to_lowercase();
        check(
            !lower.contains("discord") && !lower.contains("clyde"),
            || String::from("forbidden username"),
        )?;
    }
    if let Some(content) = payload.get("content") {
        check(len(content) <= 2000, || String::from("content over 2000"))?;
    }
    let embeds = payload["embeds"].as_array().ok_or("no embeds")?;
    check(!embeds.is_empty() && embeds.len() <= 10, || {
        String::from("embed count")
    })?;
    let mut total = 0;
    for embed in embeds {
        let title = len(&embed["title"]);
        let description = len(&embed["description"]);
        let footer = len(&embed["footer"]["text"]);
        check(title <= 256, || format!("title {title}"))?;
        check(description <= 4096, || format!("description {description}"))?;
        check(footer <= 2048, || format!("footer {footer}"))?;
        total += title + description + footer + len(&embed["author"]["name"]);
        if let Some(color) = embed.get("color") {
            check(color.as_u64().is_some_and(|c| c <= 0xFF_FFFF), || {
                String::from("color")
            })?;
        }
        let fields = embed
            .get("fields")
            .and_then(Value::as_array)
            .map_or(&[][..], |f| f);
        check(fields.len() <= 25, || format!("{} fields", fields.len()))?;
        for field in fields {
            let (name, value) = (len(&field["name"]), len(&field["value"]));
            check((1..=256).contains(&name), || format!("field name {name}"))?;
            check((1..=1024).contains(&value), || {
                format!("field value {value}")
            })?;
            total += name + value;
        }
    }
    check(total <= 6000, || format!("embeds total {total}"))
}
