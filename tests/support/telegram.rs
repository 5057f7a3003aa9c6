//! A Bot API stand-in: `POST /bot<token>/sendMessage`, checked in the
//! order PLATFORMS.md gives, answered with the Bot API's JSON.

use serde_json::{json, Value};

use super::{Recorded, Reply, TestServer, Verdict};

fn error(code: u16, description: &str) -> Reply {
    Reply::new(
        code,
        json!({"ok": false, "error_code": code, "description": description}).to_string(),
    )
}

/// 429 flood control asking to wait `secs`.
pub fn too_many_requests(secs: u64) -> Reply {
    Reply::new(
        429,
        json!({
            "ok": false,
            "error_code": 429,
            "description": format!("Too Many Requests: retry after {secs}"),
            "parameters": {"retry_after": secs}
        })
        .to_string(),
    )
    .header("Retry-After", &secs.to_string())
}

pub fn server_error() -> Reply {
    error(500, "Internal Server Error")
}

pub fn blocked() -> Reply {
    error(403, "Forbidden: bot was blocked by the user")
}

/// A bot with `token` that is a member of `chats`; `migrations` are groups
/// that became supergroups (old id, new id).
pub fn server(token: &str, chats: &[&str], migrations: &[(&str, &str)]) -> TestServer {
    let token = token.to_owned();
    let chats: Vec<String> = chats.iter().map(|c| (*c).to_owned()).collect();
    let migrations: Vec<(String, String)> = migrations
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    TestServer::start(move |request| judge(request, &token, &chats, &migrations))
}

fn refuse(reply: Reply) -> Verdict {
    Verdict {
        key: String::new(),
        outcome: Err(reply),
    }
}

fn judge(
    request: &Recorded,
    token: &str,
    chats: &[String],
    migrations: &[(String, String)],
) -> Verdict {
    let Some(rest) = request.path.strip_prefix("/bot") else {
        return refuse(error(404, "Not Found"));
    };
    let Some((given_token, method)) = rest.split_once('/') else {
        return refuse(error(404, "Not Found"));
    };
    if given_token != token {
        return refuse(error(401, "Unauthorized"));
    }
    if method != "sendMessage" {
        return refuse(error(404, "Not Found: method not found"));
    }
    if request.method != "POST" {
        return refuse(error(405, "Method Not Allowed"));
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) else {
        return refuse(error(400, "Bad Request: can't parse JSON object"));
    };
    // A JSON null reaches the server as the text "null".
    if let Some((field, _)) = body.iter().find(|(_, v)| v.is_null()) {
        return refuse(error(
            400,
            &format!("Bad Request: field \"{field}\" is null"),
        ));
    }
    let text = body.get("text").and_then(Value::as_str).unwrap_or("");
    if text.is_empty() {
        return refuse(error(400, "Bad Request: message text is empty"));
    }
    if text.len() > 32_768 {
        return refuse(error(400, "Bad Request: text is too long"));
    }
    if body.get("parse_mode").and_then(Value::as_str) != Some("HTML") {
        return refuse(error(400, "Bad Request: unsupported parse_mode"));
    }
    let visible = match visible_length(text) {
        Ok(n) => n,
        Err(e) => {
            return refuse(error(
                400,
                &format!("Bad Request: can't parse entities: {e}"),
            ))
        }
    };
    if let Some(options) = body.get("link_preview_options") {
        if !options.is_object() {
            return refuse(error(
                400,
                "Bad Request: can't parse link preview options JSON object",
            ));
        }
    }
    let chat = match body.get("chat_id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    if chat.is_empty() {
        return refuse(error(400, "Bad Request: chat_id is empty"));
    }
    if let Some((_, new_id)) = migrations.iter().find(|(old, _)| *old == chat) {
        let new_id: i64 = new_id.parse().unwrap();
        return refuse(Reply::new(
            400,
            json!({
                "ok": false,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": new_id}
            })
            .to_string(),
        ));
    }
    if !chats.contains(&chat) {
        return refuse(error(400, "Bad Request: chat not found"));
    }
    if visible == 0 {
        return refuse(error(400, "Bad Request: message must be non-empty"));
    }
    if visible > 4096 {
        return refuse(error(400, "Bad Request: message is too long"));
    }
    Verdict {
        key: chat.clone(),
        outcome: Ok(Reply::new(
            200,
            json!({"ok": true, "result": {"message_id": 1, "chat": {"id": chat}, "text": "..."}})
                .to_string(),
        )),
    }
}

/// Parses Bot API HTML: only its tags, balanced, entities known, no raw
/// `<` or `>` in text. Returns the length after entity parsing and trimming, in UTF-16 code
/// units, as Telegram counts.
pub fn visible_length(text: &str) -> Result<usize, String> {
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
    let mut offset = 0;
    while offset < text.len() {
        let rest = &text[offset..];
        let c = rest.chars().next().unwrap();
        if c == '<' {
            let end = rest
                .find('>')
                .ok_or(format!("unclosed start tag at byte offset {offset}"))?;
            let tag = &rest[1..end];
            let (closing, name) = match tag.strip_prefix('/') {
                Some(name) => (true, name),
                None => (false, tag.split(' ').next().unwrap_or("")),
            };
            if !TAGS.contains(&name) {
                return Err(format!(
                    "Unsupported start tag \"{name}\" at byte offset {offset}"
                ));
            }
            if closing {
                if open.pop().as_deref() != Some(name) {
                    return Err(format!("Unmatched end tag at byte offset {offset}"));
                }
            } else {
                open.push(name.to_owned());
            }
            offset += end + 1;
        } else if c == '&' {
            let end = rest.find(';').ok_or("unterminated entity")?;
            let entity = &rest[1..end];
            let known = matches!(entity, "lt" | "gt" | "amp" | "quot")
                || entity
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !known {
                return Err(format!("unsupported entity &{entity};"));
            }
            visible.push('x');
            offset += end + 1;
        } else if c == '>' {
            return Err(format!("unescaped '>' at byte offset {offset}"));
        } else {
            visible.push(c);
            offset += c.len_utf8();
        }
    }
    if let Some(tag) = open.pop() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{tag}\""
        ));
    }
    // Telegram counts UTF-16 code units (an emoji outside the BMP is two).
    Ok(visible.trim().encode_utf16().count())
}
