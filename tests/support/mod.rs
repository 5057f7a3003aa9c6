//! Local stand-ins for the platforms, on 127.0.0.1 only. Each answers the
//! way PLATFORMS.md says its platform does, checks every request the way
//! the platform would, and can be told to fail first (a script of replies).
#![allow(dead_code)]

pub mod discord;
pub mod healthchecks;
pub mod slack;
pub mod telegram;

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener as StdListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A reply: status, headers, body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            self.body,
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        response
    }
}

/// What a platform makes of a request: the key its script is kept under
/// (a chat id, or "") and either its success reply or a refusal.
pub struct Verdict {
    pub key: String,
    pub outcome: Result<Reply, Reply>,
}

type Judge = dyn Fn(&Recorded) -> Verdict + Send + Sync;

/// A platform's rate-limit answer, given how long until the next request
/// is allowed.
type TooMany = dyn Fn(Duration) -> Reply + Send + Sync;

struct State {
    judge: Box<Judge>,
    requests: Mutex<Vec<(Recorded, u16)>>,
    script: Mutex<HashMap<String, VecDeque<Reply>>>,
    /// At most one accepted request per this interval, per key (a chat).
    rate: Mutex<Option<(Duration, Box<TooMany>)>>,
    last_accepted: Mutex<HashMap<String, Instant>>,
    /// How long each answer takes.
    delay: Mutex<Duration>,
}

/// A running test server. It stops when the test process ends.
#[derive(Clone)]
pub struct TestServer {
    pub url: String,
    state: Arc<State>,
}

impl TestServer {
    /// Starts a server whose every request `judge` decides, on its own thread.
    pub fn start(judge: impl Fn(&Recorded) -> Verdict + Send + Sync + 'static) -> TestServer {
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            judge: Box::new(judge),
            requests: Mutex::default(),
            script: Mutex::default(),
            rate: Mutex::default(),
            last_accepted: Mutex::default(),
            delay: Mutex::default(),
        });
        let app_state = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let state = app_state.clone();
                        async move {
                            let delay = *state.delay.lock().unwrap();
                            if !delay.is_zero() {
                                tokio::time::sleep(delay).await;
                            }
                            answer(&state, method, uri, headers, body)
                        }
                    },
                );
                axum::serve(listener, app).await.unwrap();
            });
        });
        TestServer { url, state }
    }

    /// The status of every answer so far, in order.
    pub fn statuses(&self) -> Vec<u16> {
        self.requests().iter().map(|(_, s)| *s).collect()
    }

    /// The next replies for requests under `key`, before the verdict applies
    /// again (a request the platform would refuse is refused all the same).
    pub fn script(&self, key: &str, replies: impl IntoIterator<Item = Reply>) {
        self.state
            .script
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default()
            .extend(replies);
    }

    /// Accepts at most one request per `every` for each key (each chat, as
    /// the platforms limit); a request sooner gets `too_many(wait)`, `wait`
    /// being how long until the next one is allowed.
    pub fn limit_rate(
        &self,
        every: Duration,
        too_many: impl Fn(Duration) -> Reply + Send + Sync + 'static,
    ) {
        *self.state.rate.lock().unwrap() = Some((every, Box::new(too_many)));
    }

    /// Every answer takes `delay`.
    pub fn delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    /// Every request so far, with the status it got.
    pub fn requests(&self) -> Vec<(Recorded, u16)> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The requests that were answered with 2xx.
    pub fn accepted(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|(_, status)| (200..300).contains(status))
            .map(|(r, _)| r)
            .collect()
    }
}

fn answer(state: &State, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Reply {
    let recorded = Recorded {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
        at: Instant::now(),
    };
    let verdict = (state.judge)(&recorded);
    let reply = match verdict.outcome {
        Err(refusal) => refusal,
        Ok(success) => {
            let scripted = state
                .script
                .lock()
                .unwrap()
                .get_mut(&verdict.key)
                .and_then(VecDeque::pop_front);
            match scripted {
                Some(reply) => reply,
                None => rate_limited(state, &verdict.key).unwrap_or(success),
            }
        }
    };
    state
        .requests
        .lock()
        .unwrap()
        .push((recorded, reply.status));
    reply
}

/// The rate limit's answer, if `key` had a request accepted too recently;
/// else the request counts as accepted now.
fn rate_limited(state: &State, key: &str) -> Option<Reply> {
    let rate = state.rate.lock().unwrap();
    let (every, too_many) = rate.as_ref()?;
    let mut last = state.last_accepted.lock().unwrap();
    let now = Instant::now();
    if let Some(at) = last.get(key) {
        let next = *at + *every;
        if now < next {
            return Some(too_many(next - now));
        }
    }
    last.insert(key.to_owned(), now);
    None
}

/// A server that accepts connections and never answers; it lets go of them
/// after `hold`.
pub fn never_answers(hold: Duration) -> String {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + hold;
        let mut held = Vec::new();
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((socket, _)) => held.push(socket),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    url
}

/// A URL where nothing listens: the port was bound, then let go.
pub fn refused() -> String {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// A builder for a notifier under test: app "billing", the given request
/// timeout, diagnostics collected.
pub fn builder(diagnostics: &Diagnostics, timeout: Duration) -> notify_core::NotifierBuilder {
    notify_core::Notifier::builder()
        .app_name("billing")
        .request_timeout(timeout)
        .on_diagnostic(diagnostics.collector())
}

/// A notifier with one sink under test (see [`builder`]).
pub fn notifier(
    sink: impl notify_core::Sink,
    diagnostics: &Diagnostics,
    timeout: Duration,
) -> notify_core::Notifier {
    builder(diagnostics, timeout).sink(sink).build().unwrap()
}

/// A destination that never answers, then one where nothing listens: each
/// alert fails within the bounded retry budget, and each failure is
/// reported once with its reason. `sink` makes the sink for a base URL,
/// named as given.
pub fn assert_unreachable_is_bounded_and_reported<S: notify_core::Sink>(
    sink: impl Fn(&str, &'static str) -> S,
) {
    let diagnostics = Diagnostics::default();
    for (name, url) in [
        ("silent", never_answers(Duration::from_secs(15))),
        ("refused", refused()),
    ] {
        let n = notifier(sink(&url, name), &diagnostics, Duration::from_millis(300));
        let started = Instant::now();
        n.report_message(notify_core::Severity::Error, name);
        assert!(n.flush(Duration::from_secs(10)));
        assert!(
            started.elapsed() < Duration::from_secs(7),
            "{name}: {:?}",
            started.elapsed()
        );
        assert_eq!(n.stats().failed, 1);
    }
    let lines = diagnostics.lines();
    assert!(
        lines[0].contains("timed out") || lines[0].contains("no answer"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("could not connect"), "{}", lines[1]);
}

/// Diagnostics of a notifier, collected.
#[derive(Clone, Default)]
pub struct Diagnostics(Arc<Mutex<Vec<String>>>);

impl Diagnostics {
    pub fn collector(&self) -> impl Fn(&str) + Send + Sync + 'static {
        let lines = self.0.clone();
        move |line: &str| lines.lock().unwrap().push(line.to_owned())
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Asserts that `secret` appears nowhere in `texts`.
pub fn assert_no_secret(secret: &str, texts: &[String]) {
    for text in texts {
        assert!(
            !text.contains(secret),
            "secret {secret:?} leaked in: {text}"
        );
    }
}

/// A proxy in front of the platform that knows no such page, and says so
/// with the request's path and query, secrets and all.
pub fn echoing_404() -> TestServer {
    TestServer::start(|request| {
        Verdict {
        key: String::new(),
        outcome: Err(Reply::new(
            404,
            format!(
                "<html><body><h1>Not Found</h1>The requested URL {}{} was not found on this server.</body></html>",
                request.path,
                request.query.as_deref().map(|q| format!("?{q}")).unwrap_or_default()
            ),
        )),
    }
    })
}

/// Asserts that `lines` is the one diagnostic of a 404 from [`echoing_404`],
/// with the page's text but none of `secrets`.
pub fn assert_scrubbed_404(lines: &[String], secrets: &[&str]) {
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("HTTP 404:") && lines[0].contains("The requested URL <redacted>"),
        "{}",
        lines[0]
    );
    for secret in secrets {
        assert_no_secret(secret, lines);
    }
}

/// Reports "alert number 0", "alert number 1", ... through `notifier`.
pub fn report_numbered(notifier: &notify_core::Notifier, count: usize) {
    for i in 0..count {
        notifier.report_message(notify_core::Severity::Error, &format!("alert number {i}"));
    }
}

/// The numbers of the [`report_numbered`] alerts in `texts`, in the order
/// they first appear — message after message, and within a digest line
/// after line.
pub fn numbers(texts: impl IntoIterator<Item = String>, count: usize) -> Vec<usize> {
    let mut seen = Vec::new();
    for text in texts {
        let mut found: Vec<(usize, usize)> = (0..count)
            .filter_map(|i| text.find(&format!("alert number {i}")).map(|at| (at, i)))
            .collect();
        found.sort_unstable();
        for (_, i) in found {
            if !seen.contains(&i) {
                seen.push(i);
            }
        }
    }
    seen
}

/// The bodies of the accepted requests, as text.
pub fn bodies(server: &TestServer) -> Vec<String> {
    server
        .accepted()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// Characters of `s` after trimming, as the platforms count them.
pub fn chars(s: &str) -> usize {
    s.trim().chars().count()
}
