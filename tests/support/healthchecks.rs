//! A healthchecks.io ping API stand-in: `<base>/<ping-key>/<slug>[/start|
//! /fail|/log|/<exit status>]`, `?create=1`, `?rid=<uuid>`, GET, HEAD or
//! POST, plain-text answers, bodies cut at `Ping-Body-Limit`, at most 5
//! pings a minute per check (configurable).
//!
//! Checks, their states and the rate-limit counts are not kept apart from
//! the server's record: they are worked out from the requests it answered
//! with 200 (a 200 for an unknown slug is only given with `?create=1`, so
//! every check that got one exists). A scripted failure therefore changes
//! nothing, as it would not on the platform.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::{Recorded, Reply, TestServer, Verdict};

/// What the answer's `Ping-Body-Limit` announces; longer bodies are cut.
pub const BODY_LIMIT: usize = 10_000;
/// The platform's rate limit: this many pings per check ...
pub const PINGS: usize = 5;
/// ... per this window.
pub const PER: Duration = Duration::from_secs(60);

/// One accepted ping, as the platform stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    pub slug: String,
    /// "start" | "success" | "fail" | "log" | "exit:N"
    pub kind: String,
    pub rid: Option<String>,
    /// The POST body as stored: cut to [`BODY_LIMIT`] bytes ("" for GET, HEAD).
    pub body: String,
    /// `?create=1` was given.
    pub created: bool,
}

pub fn rate_limited() -> Reply {
    Reply::new(429, "rate limited")
}

pub fn server_error() -> Reply {
    Reply::new(500, "Server Error (500)")
}

fn ok() -> Reply {
    Reply::new(200, "OK").header("Ping-Body-Limit", &BODY_LIMIT.to_string())
}

fn not_found() -> Reply {
    Reply::new(404, "not found")
}

fn invalid() -> Reply {
    Reply::new(400, "invalid url format")
}

/// A project with `ping_key` and no checks yet (`?create=1` makes them),
/// each check allowed 5 pings a minute.
pub fn server(ping_key: &str) -> TestServer {
    server_with_limit(ping_key, PINGS, PER)
}

/// As [`server`], each check allowed `pings` pings per `per`: one more
/// within the window answers 429 (only pings answered 200 count).
pub fn server_with_limit(ping_key: &str, pings: usize, per: Duration) -> TestServer {
    let ping_key = ping_key.to_owned();
    // The judge reads the server's own record; the server is set before its
    // URL is known to anyone, so before any request.
    let this: Arc<OnceLock<TestServer>> = Arc::default();
    let judged = this.clone();
    let server = TestServer::start(move |request| {
        let server = judged.get().expect("healthchecks stand-in not ready");
        match judge(request, &ping_key, server, pings, per) {
            Ok((slug, reply)) => Verdict {
                key: slug,
                outcome: Ok(reply),
            },
            Err(refusal) => Verdict {
                key: String::new(),
                outcome: Err(refusal),
            },
        }
    });
    let _ = this.set(server.clone());
    server
}

/// The base URL a client is configured with: `http://127.0.0.1:PORT/<ping_key>`.
pub fn base_url(server: &TestServer, ping_key: &str) -> String {
    format!("{}/{ping_key}", server.url)
}

/// The accepted (200) pings, in arrival order.
pub fn pings(server: &TestServer) -> Vec<Ping> {
    server.accepted().iter().filter_map(ping_of).collect()
}

/// The check's state: "new" | "started" | "up" | "down"; None if no such check.
pub fn state(server: &TestServer, slug: &str) -> Option<String> {
    state_of(&pings(server), slug).map(str::to_owned)
}

fn state_of(pings: &[Ping], slug: &str) -> Option<&'static str> {
    let mut state = None;
    for ping in pings.iter().filter(|p| p.slug == slug) {
        state = Some(match ping.kind.as_str() {
            "start" => "started",
            "success" | "exit:0" => "up",
            "log" => state.unwrap_or("new"),
            _ => "down", // "fail", "exit:N" with N > 0
        });
    }
    state
}

/// A ping as the request asks for it: slug, kind, rid, create.
struct Parsed {
    slug: String,
    kind: String,
    rid: Option<String>,
    create: bool,
}

fn judge(
    request: &Recorded,
    ping_key: &str,
    server: &TestServer,
    pings: usize,
    per: Duration,
) -> Result<(String, Reply), Reply> {
    let mut segments = request.path.strip_prefix('/').unwrap_or("").split('/');
    if segments.next() != Some(ping_key) {
        return Err(not_found());
    }
    let rest: Vec<&str> = segments.collect();
    if rest.is_empty() {
        return Err(not_found());
    }
    if !matches!(request.method.as_str(), "GET" | "HEAD" | "POST") {
        return Err(Reply::new(405, "").header("Allow", "GET, HEAD, POST"));
    }
    let ping = parse(&rest, request.query.as_deref()).ok_or_else(invalid)?;
    let accepted = server.accepted();
    let exists = accepted
        .iter()
        .filter_map(ping_of)
        .any(|p| p.slug == ping.slug);
    if !exists && !ping.create {
        return Err(not_found());
    }
    let now = Instant::now();
    let recent = accepted
        .iter()
        .filter(|r| now.duration_since(r.at) < per)
        .filter_map(ping_of)
        .filter(|p| p.slug == ping.slug)
        .count();
    if recent >= pings {
        return Err(rate_limited());
    }
    Ok((ping.slug, ok()))
}

/// The ping a path (after the ping key) and query ask for; None if the URL
/// is malformed.
fn parse(rest: &[&str], query: Option<&str>) -> Option<Parsed> {
    let (slug, suffix) = match rest {
        [slug] => (*slug, None),
        [slug, suffix] => (*slug, Some(*suffix)),
        _ => return None,
    };
    let slug_ok = !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !slug_ok {
        return None;
    }
    let kind = match suffix {
        None => String::from("success"),
        Some(s @ ("start" | "fail" | "log")) => s.to_owned(),
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            let status: u32 = s.parse().ok()?;
            if status > 255 {
                return None;
            }
            format!("exit:{status}")
        }
        Some(_) => return None,
    };
    let mut rid = None;
    let mut create = false;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "rid" if rid.is_none() => {
                if !is_uuid(value) {
                    return None;
                }
                rid = Some(value.to_owned());
            }
            "create" => create = value == "1",
            _ => {}
        }
    }
    Some(Parsed {
        slug: slug.to_owned(),
        kind,
        rid,
        create,
    })
}

/// The canonical form: 8-4-4-4-12 hex digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The ping an accepted request stored.
fn ping_of(request: &Recorded) -> Option<Ping> {
    let rest: Vec<&str> = request
        .path
        .strip_prefix('/')?
        .split('/')
        .skip(1) // the ping key
        .collect();
    let parsed = parse(&rest, request.query.as_deref())?;
    let body = if request.method == "POST" {
        let stored = &request.body[..request.body.len().min(BODY_LIMIT)];
        String::from_utf8_lossy(stored).into_owned()
    } else {
        String::new()
    };
    Some(Ping {
        slug: parsed.slug,
        kind: parsed.kind,
        rid: parsed.rid,
        body,
        created: parsed.create,
    })
}

#[cfg(test)]
mod self_check {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;

    const KEY: &str = "pingkey-0123456789abcdefghij";
    const RID: &str = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";

    /// One HTTP/1.1 request; the answer's status, headers and body.
    fn send(server: &TestServer, method: &str, path: &str, body: &str) -> (u16, String, String) {
        let address = server.url.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(address).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_owned(), body.to_owned())
    }

    fn get(server: &TestServer, path: &str) -> (u16, String) {
        let (status, _, body) = send(server, "GET", &format!("/{KEY}/{path}"), "");
        (status, body)
    }

    #[test]
    fn create_and_not_found() {
        let server = server(KEY);
        assert!(base_url(&server, KEY).ends_with(&format!("/{KEY}")));
        assert_eq!(get(&server, "backup"), (404, "not found".into()));
        assert_eq!(state(&server, "backup"), None);
        let (status, head, body) =
            send(&server, "HEAD", &format!("/{KEY}/backup/log?create=1"), "");
        assert_eq!(status, 200);
        assert!(
            head.to_lowercase().contains("ping-body-limit: 10000"),
            "{head}"
        );
        assert_eq!(body, "");
        assert_eq!(state(&server, "backup").as_deref(), Some("new"));
        assert_eq!(get(&server, "backup"), (200, "OK".into()));
        assert_eq!(state(&server, "backup").as_deref(), Some("up"));
        assert_eq!(
            send(&server, "GET", "/other-key/backup?create=1", "").0,
            404
        );
        assert_eq!(send(&server, "PUT", &format!("/{KEY}/backup"), "").0, 405);
        let kinds: Vec<_> = pings(&server)
            .into_iter()
            .map(|p| (p.kind, p.created))
            .collect();
        assert_eq!(kinds, [("log".into(), true), ("success".into(), false)]);
    }

    #[test]
    fn malformed_urls() {
        let server = server(KEY);
        for path in [
            "backup?create=1&rid=not-a-uuid",
            "Backup?create=1",
            "back.up?create=1",
            "backup/256?create=1",
            "backup/-1?create=1",
            "backup/started?create=1",
            "backup/fail/extra?create=1",
        ] {
            assert_eq!(
                get(&server, path),
                (400, "invalid url format".into()),
                "{path}"
            );
        }
        assert!(pings(&server).is_empty());
        assert_eq!(
            get(&server, &format!("backup/255?create=1&rid={RID}")).0,
            200
        );
        assert_eq!(state(&server, "backup").as_deref(), Some("down"));
        assert_eq!(pings(&server)[0].rid.as_deref(), Some(RID));
    }

    #[test]
    fn body_is_cut() {
        let server = server(KEY);
        let long = "x".repeat(BODY_LIMIT + 500);
        let (status, _, body) = send(
            &server,
            "POST",
            &format!("/{KEY}/backup/fail?create=1"),
            &long,
        );
        assert_eq!((status, body.as_str()), (200, "OK"));
        assert_eq!(pings(&server)[0].body, "x".repeat(BODY_LIMIT));
    }

    #[test]
    fn sixth_ping_in_a_minute_is_refused() {
        let server = server(KEY);
        for _ in 0..5 {
            assert_eq!(get(&server, "backup/log?create=1").0, 200);
        }
        assert_eq!(
            get(&server, "backup?create=1"),
            (429, "rate limited".into())
        );
        // Per check.
        assert_eq!(get(&server, "other?create=1").0, 200);
        assert_eq!(pings(&server).len(), 6);

        let server = server_with_limit(KEY, 1, Duration::from_millis(100));
        assert_eq!(get(&server, "a?create=1").0, 200);
        assert_eq!(get(&server, "a").0, 429);
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(get(&server, "a").0, 200);
    }

    #[test]
    fn state_transitions() {
        let server = server(KEY);
        assert_eq!(get(&server, &format!("up/start?create=1&rid={RID}")).0, 200);
        assert_eq!(state(&server, "up").as_deref(), Some("started"));
        assert_eq!(get(&server, &format!("up?rid={RID}")).0, 200);
        assert_eq!(state(&server, "up").as_deref(), Some("up"));

        assert_eq!(get(&server, "down/start?create=1").0, 200);
        assert_eq!(get(&server, "down/fail").0, 200);
        assert_eq!(get(&server, "down/log").0, 200);
        assert_eq!(state(&server, "down").as_deref(), Some("down"));
        assert_eq!(get(&server, "down/0").0, 200);
        assert_eq!(state(&server, "down").as_deref(), Some("up"));

        // A scripted failure changes nothing.
        server.script("down", [server_error()]);
        assert_eq!(get(&server, "down/1").0, 500);
        assert_eq!(state(&server, "down").as_deref(), Some("up"));
        server.script("new", [server_error()]);
        assert_eq!(get(&server, "new?create=1").0, 500);
        assert_eq!(state(&server, "new"), None);
    }
}
