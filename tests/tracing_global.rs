//! The `tracing` layer and the `log` logger set for the whole process, as a
//! tokio service does: a registry with a fmt layer that enables everything
//! at TRACE, our layer, a global notifier sending to a local Slack
//! stand-in. Events from the notifier's own threads — its HTTP stack at
//! every level, a sink that itself logs `error!` — never become alerts,
//! with `set_global_default` and with `with_default`; the user's events do,
//! and reach the platform server.
//!
//! One test: the subscriber, the logger and the notifier are the process's.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify_core::{Alert, BoxFuture, Memory, Notifier, Sink, SinkError, Slack};
use support::slack;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

/// A user's sink that logs an error with `tracing` and with `log` on every
/// alert it receives: neither may come back as an alert.
struct Chatty(Arc<Mutex<u32>>);

impl Sink for Chatty {
    fn name(&self) -> &str {
        "chatty"
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            *self.0.lock().unwrap() += 1;
            tracing::error!(title = %alert.title, "chatty sink saw an alert");
            log::error!("chatty sink saw {}", alert.title);
            Ok(())
        })
    }
}

/// What the inner logger wrote.
#[derive(Clone, Default)]
struct Written(Arc<Mutex<Vec<u8>>>);

impl Write for Written {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Written {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Everything at TRACE, written nowhere, plus our layer.
fn subscriber() -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::sink)
                .with_filter(LevelFilter::TRACE),
        )
        .with(notify_core::tracing::layer())
}

#[test]
fn events_reach_the_platform_and_the_notifier_never_reports_itself() {
    let server = slack::server();
    let memory = Memory::new();
    let chatty_calls = Arc::new(Mutex::new(0));
    let _guard = Notifier::builder()
        .app_name("tracing-service")
        .sink(memory.clone())
        .sink(Chatty(chatty_calls.clone()))
        .sink(Slack::new(format!("{}{}", server.url, slack::PATH)))
        .install()
        .expect("install");
    tracing::subscriber::set_global_default(subscriber()).expect("global subscriber");
    let written = Written::default();
    let inner = env_logger::Builder::new()
        .filter_level(log::LevelFilter::Info)
        .target(env_logger::Target::Pipe(Box::new(written.clone())))
        .build();
    notify_core::log::Logger::new(inner)
        .max_level(log::LevelFilter::Info)
        .init()
        .expect("global logger");
    let flush = || assert!(notify_core::flush(Duration::from_secs(10)));

    // A tokio service: a request span with fields, an error inside it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        tokio::spawn(async {
            let span = tracing::info_span!("request", method = "POST", path = "/orders");
            let _entered = span.enter();
            let e = std::io::Error::other("upstream timed out");
            tracing::error!(error = &e as &dyn std::error::Error, "order failed");
        })
        .await
        .expect("task");
    });
    flush();
    let alerts = memory.take();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].title, "order failed");
    assert_eq!(alerts[0].message, "upstream timed out");
    assert!(alerts[0]
        .context
        .contains(&("request".to_owned(), "method=POST path=/orders".to_owned())));
    assert_eq!(*chatty_calls.lock().unwrap(), 1);
    let accepted = server.accepted();
    assert_eq!(accepted.len(), 1);
    assert!(accepted[0].json()["text"]
        .as_str()
        .unwrap()
        .contains("upstream timed out"));

    // `with_default` on a thread of the user's: the same.
    std::thread::spawn(|| {
        tracing::subscriber::with_default(subscriber(), || {
            tracing::error!("scoped failure");
        })
    })
    .join()
    .expect("thread");
    flush();
    let alerts = memory.take();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].title, "scoped failure");
    assert_eq!(*chatty_calls.lock().unwrap(), 2);

    // `log`: every record reaches the inner logger unchanged; `Error`
    // becomes an alert; the sink's own `log::error!` does not.
    log::info!("service started");
    log::error!("payment provider unreachable");
    flush();
    let alerts = memory.take();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].title, "payment provider unreachable");
    assert_eq!(alerts[0].location.file, file!());
    assert!(
        alerts[0]
            .location
            .function
            .contains("events_reach_the_platform"),
        "{:?} {:#?}",
        alerts[0].location,
        alerts[0].backtrace
    );
    let logged = written.text();
    assert!(logged.contains("service started"), "{logged}");
    assert!(logged.contains("payment provider unreachable"), "{logged}");
    // The inner logger got the sink's records too: forwarded, not alerted.
    assert!(logged.contains("chatty sink saw"), "{logged}");
    assert_eq!(*chatty_calls.lock().unwrap(), 3);
    assert_eq!(server.accepted().len(), 3);
}
