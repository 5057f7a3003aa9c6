//! A Slack incoming-webhook stand-in: plain-text answers, Block Kit limits.

use serde_json::Value;

use super::{chars, Recorded, Reply, TestServer, Verdict};

pub const PATH: &str = "/services/T000/B000/TESTSECRET";

pub fn rate_limited(secs: u64) -> Reply {
    Reply::new(429, "rate_limited").header("Retry-After", &secs.to_string())
}

pub fn archived() -> Reply {
    Reply::new(410, "channel_is_archived")
}

pub fn server_error() -> Reply {
    Reply::new(500, "rollup_error")
}

pub fn server() -> TestServer {
    TestServer::start(|request| Verdict {
        key: String::new(),
        outcome: judge(request),
    })
}

fn judge(request: &Recorded) -> Result<Reply, Reply> {
    if request.path != PATH {
        return Err(Reply::new(404, "no_service"));
    }
    if request.method != "POST" {
        return Err(Reply::new(405, "invalid_method"));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return Err(Reply::new(400, "invalid_payload"));
    };
    let text = body.get("text").and_then(Value::as_str).unwrap_or("");
    let blocks = body.get("blocks").and_then(Value::as_array);
    if text.trim().is_empty() && blocks.is_none() {
        return Err(Reply::new(400, "no_text"));
    }
    if let Some(blocks) = blocks {
        if let Err(why) = check_blocks(blocks) {
            eprintln!("slack stand-in: invalid_blocks: {why}");
            return Err(Reply::new(400, "invalid_blocks"));
        }
    }
    if let Err(why) = inert(text) {
        eprintln!("slack stand-in: {why}");
        return Err(Reply::new(400, "invalid_payload"));
    }
    Ok(Reply::new(200, "ok"))
}

/// User text must never make a mention or link: no raw `<`, `>`, and `&`
/// only as one of the three entities.
pub fn inert(text: &str) -> Result<(), String> {
    if text.contains('<') || text.contains('>') {
        return Err(format!("raw < or > in {text:?}"));
    }
    for (i, _) in text.match_indices('&') {
        let rest = &text[i..];
        if !(rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;")) {
            return Err(format!("raw & in {text:?}"));
        }
    }
    Ok(())
}

fn text_object(object: &Value, max: usize) -> Result<(), String> {
    let kind = object["type"].as_str().unwrap_or("");
    if kind != "mrkdwn" && kind != "plain_text" {
        return Err(format!("text type {kind:?}"));
    }
    let text = object["text"].as_str().unwrap_or("");
    if text.is_empty() || text.chars().count() > max {
        return Err(format!("text length {} (max {max})", text.chars().count()));
    }
    inert(text)
}

fn check_blocks(blocks: &[Value]) -> Result<(), String> {
    if blocks.is_empty() || blocks.len() > 50 {
        return Err(format!("{} blocks", blocks.len()));
    }
    for block in blocks {
        if block
            .get("block_id")
            .is_some_and(|id| chars(id.as_str().unwrap_or("")) > 255)
        {
            return Err(String::from("block_id"));
        }
        match block["type"].as_str() {
            Some("header") => {
                if block["text"]["type"] != "plain_text" {
                    return Err(String::from("header must be plain_text"));
                }
                text_object(&block["text"], 150)?;
            }
            Some("section") => {
                let fields = block.get("fields").and_then(Value::as_array);
                if block.get("text").is_none() && fields.is_none() {
                    return Err(String::from("section without text or fields"));
                }
                if let Some(text) = block.get("text") {
                    text_object(text, 3000)?;
                }
                if let Some(fields) = fields {
                    if fields.is_empty() || fields.len() > 10 {
                        return Err(format!("{} fields", fields.len()));
                    }
                    for field in fields {
                        text_object(field, 2000)?;
                    }
                }
            }
            Some("context") => {
                let elements = block["elements"].as_array().ok_or("context elements")?;
                if elements.is_empty() || elements.len() > 10 {
                    return Err(String::from("context elements"));
                }
                for element in elements {
                    text_object(element, 3000)?;
                }
            }
            Some("divider") => {}
            other => return Err(format!("block type {other:?}")),
        }
    }
    Ok(())
}
