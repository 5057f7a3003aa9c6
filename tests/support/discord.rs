//! A Discord webhook stand-in: JSON errors with codes, embed limits,
//! rate-limit headers.

use serde_json::{json, Value};

use super::{chars, Recorded, Reply, TestServer, Verdict};

pub const PATH: &str = "/api/webhooks/123/TESTSECRET";

fn error(status: u16, code: u64, message: &str) -> Reply {
    Reply::new(
        status,
        json!({"code": code, "message": message}).to_string(),
    )
}

/// 429 asking to wait `secs` (fractional), with Discord's headers.
pub fn rate_limited(secs: f64) -> Reply {
    Reply::new(
        429,
        json!({"message": "You are being rate limited.", "retry_after": secs, "global": false})
            .to_string(),
    )
    .header("Retry-After", &secs.ceil().to_string())
    .header("X-RateLimit-Limit", "5")
    .header("X-RateLimit-Remaining", "0")
    .header("X-RateLimit-Reset-After", &secs.to_string())
    .header("X-RateLimit-Scope", "shared")
}

pub fn server_error() -> Reply {
    error(500, 0, "500: Internal Server Error")
}

/// A success that says the bucket is now empty for `secs`.
pub fn last_in_bucket(secs: f64) -> Reply {
    Reply::new(204, "")
        .header("X-RateLimit-Limit", "5")
        .header("X-RateLimit-Remaining", "0")
        .header("X-RateLimit-Reset-After", &secs.to_string())
}

pub fn server() -> TestServer {
    TestServer::start(|request| Verdict {
        key: String::new(),
        outcome: judge(request),
    })
}

fn form_error(path: &str, message: &str) -> Reply {
    let mut errors = json!({"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": message}]});
    for key in path.rsplit('.') {
        errors = json!({ key: errors });
    }
    Reply::new(
        400,
        json!({"code": 50035, "message": "Invalid Form Body", "errors": errors}).to_string(),
    )
}

fn judge(request: &Recorded) -> Result<Reply, Reply> {
    if request.path != PATH {
        return Err(error(404, 10015, "Unknown Webhook"));
    }
    if request.method != "POST" {
        return Err(error(405, 0, "405: Method Not Allowed"));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return Err(error(400, 50109, "The request body contains invalid JSON."));
    };
    let embeds = body.get("embeds").and_then(Value::as_array);
    let content = body.get("content").and_then(Value::as_str).unwrap_or("");
    if content.trim().is_empty() && embeds.is_none_or(|e| e.is_empty()) {
        return Err(error(400, 50006, "Cannot send an empty message"));
    }
    if chars(content) > 2000 {
        return Err(form_error("content", "Must be 2000 or fewer in length."));
    }
    if let Some(name) = body.get("username").and_then(Value::as_str) {
        let lower = name.to_lowercase();
        if !(1..=80).contains(&name.chars().count())
            || lower.contains("discord")
            || lower.contains("clyde")
        {
            return Err(form_error("username", "Username is invalid."));
        }
    }
    // Not Discord's rule but ours: every message must disarm mentions.
    if body["allowed_mentions"] != json!({"parse": []}) {
        return Err(error(
            400,
            1,
            "test server: allowed_mentions must be {\"parse\": []}",
        ));
    }
    let embeds = embeds.map_or(&[][..], |e| e);
    if embeds.len() > 10 {
        return Err(form_error("embeds", "Must be 10 or fewer in length."));
    }
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        let limits = [("title", 256), ("description", 4096)];
        for (key, max) in limits {
            let n = chars(embed[key].as_str().unwrap_or(""));
            if n > max {
                return Err(form_error(
                    &format!("embeds.{i}.{key}"),
                    &format!("Must be {max} or fewer in length."),
                ));
            }
            total += n;
        }
        let footer = chars(embed["footer"]["text"].as_str().unwrap_or(""));
        if footer > 2048 {
            return Err(form_error(
                &format!("embeds.{i}.footer.text"),
                "Must be 2048 or fewer in length.",
            ));
        }
        total += footer;
        if let Some(color) = embed.get("color") {
            if color.as_u64().is_none_or(|c| c > 0xFF_FFFF) {
                return Err(form_error(
                    &format!("embeds.{i}.color"),
                    "Int value should be less than or equal to 16777215.",
                ));
            }
        }
        let fields = embed
            .get("fields")
            .and_then(Value::as_array)
            .map_or(&[][..], |f| f);
        if fields.len() > 25 {
            return Err(form_error(
                &format!("embeds.{i}.fields"),
                "Must be 25 or fewer in length.",
            ));
        }
        for (j, field) in fields.iter().enumerate() {
            let name = chars(field["name"].as_str().unwrap_or(""));
            let value = chars(field["value"].as_str().unwrap_or(""));
            if !(1..=256).contains(&name) {
                return Err(form_error(
                    &format!("embeds.{i}.fields.{j}.name"),
                    "This field is required",
                ));
            }
            if !(1..=1024).contains(&value) {
                return Err(form_error(
                    &format!("embeds.{i}.fields.{j}.value"),
                    "Must be between 1 and 1024 in length.",
                ));
            }
            total += name + value;
        }
    }
    if total > 6000 {
        return Err(form_error(
            "embeds",
            "Embed size exceeds maximum size of 6000",
        ));
    }
    Ok(Reply::new(204, "")
        .header("X-RateLimit-Limit", "5")
        .header("X-RateLimit-Remaining", "4")
        .header("X-RateLimit-Reset-After", "1.0"))
}
