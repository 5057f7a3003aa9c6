//! Functions that return a future, and functions whose result type is
//! recognised by its type rather than its name: `#[async_trait]` methods,
//! `-> impl Future`, `-> Pin<Box<dyn Future ...>>` with any auto traits,
//! `BoxFuture`, `Result` aliases of any name, and a type named `Result`
//! that is not one.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use notify_core::testing::capture_alerts;
use notify_core::{alert_on_error, Alert, AlertKind};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("quota exceeded for {0}")]
struct Quota(String);

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;

fn assert_send<T: Send>(_: &T) {}
fn assert_sync<T: Sync>(_: &T) {}

fn messages(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.message.as_str()).collect()
}

// ---------------------------------------------------------------- #[async_trait]

#[async_trait::async_trait]
trait Exporter {
    async fn export(&self, rows: u32) -> Result<u32, Quota>;
    async fn explode(&self) -> u32;
}

struct Nightly {
    name: String,
}

#[async_trait::async_trait]
impl Exporter for Nightly {
    #[alert_on_error(context(rows))]
    async fn export(&self, rows: u32) -> Result<u32, Quota> {
        tokio::task::yield_now().await;
        if rows > 10 {
            return Err(Quota(self.name.clone()));
        }
        Ok(rows)
    }

    #[alert_on_error]
    async fn explode(&self) -> u32 {
        tokio::task::yield_now().await;
        panic!("exploded in {}", self.name)
    }
}

#[test]
fn async_trait_methods_report_their_err_once_when_awaited() {
    let nightly = Nightly {
        name: String::from("nightly"),
    };
    let alerts = capture_alerts(|| {
        assert_eq!(block_on(nightly.export(3)), Ok(3));
        let future = nightly.export(11);
        assert_send(&future);
        assert_eq!(block_on(future), Err(Quota(String::from("nightly"))));
    });
    assert_eq!(messages(&alerts), ["quota exceeded for nightly"]);
    assert_eq!(alerts[0].title, "Error in export");
    assert_eq!(alerts[0].context, [("rows".to_owned(), "11".to_owned())]);
}

#[test]
fn async_trait_methods_report_a_panic_with_its_payload() {
    let nightly = Nightly {
        name: String::from("nightly"),
    };
    let alerts = capture_alerts(|| {
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| block_on(nightly.explode())));
        let payload = caught.unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("exploded in nightly")
        );
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::Panic);
    assert_eq!(alerts[0].message, "exploded in nightly");
}

// ---------------------------------------------------------------- impl Future

#[alert_on_error]
fn fetch(id: u32) -> impl Future<Output = Result<u32, Quota>> + Send {
    async move {
        tokio::task::yield_now().await;
        if id == 0 {
            return Err(Quota(String::from("fetch")));
        }
        Ok(id)
    }
}

#[alert_on_error]
fn first_word<'a>(text: &'a str) -> impl Future<Output = Result<&'a str, Quota>> + 'a {
    async move {
        tokio::task::yield_now().await;
        text.split_whitespace()
            .next()
            .ok_or_else(|| Quota(String::from("empty text")))
    }
}

#[alert_on_error]
fn explodes_when_polled() -> impl Future<Output = u32> {
    async {
        tokio::task::yield_now().await;
        panic!("exploded while polled")
    }
}

#[test]
fn impl_future_returns_report_when_the_future_completes() {
    let alerts = capture_alerts(|| {
        let future = fetch(0);
        assert_send(&future);
        // Created, not awaited: nothing yet.
        assert_eq!(block_on(fetch(5)), Ok(5));
        assert_eq!(block_on(future), Err(Quota(String::from("fetch"))));
    });
    assert_eq!(messages(&alerts), ["quota exceeded for fetch"]);
    assert_eq!(alerts[0].title, "Error in fetch");
}

#[test]
fn impl_future_returns_keep_borrowed_lifetimes() {
    let owned = String::from("hello world");
    let alerts = capture_alerts(|| {
        assert_eq!(block_on(first_word(&owned)), Ok("hello"));
        let empty = String::new();
        assert!(block_on(first_word(&empty)).is_err());
    });
    assert_eq!(messages(&alerts), ["quota exceeded for empty text"]);
}

#[test]
fn a_future_that_panics_when_polled_is_reported_with_its_payload() {
    let alerts = capture_alerts(|| {
        let caught = std::panic::catch_unwind(|| block_on(explodes_when_polled()));
        let payload = caught.unwrap_err();
        assert_eq!(
            payload.downcast_ref::<&str>().copied(),
            Some("exploded while polled")
        );
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::Panic);
    assert_eq!(alerts[0].title, "Panic in explodes_when_polled");
}

#[test]
fn a_future_dropped_before_it_completes_reports_nothing() {
    let alerts = capture_alerts(|| {
        let future = fetch(0);
        drop(future);
        let boxed = boxed_send_sync(true);
        drop(boxed);
    });
    assert!(alerts.is_empty(), "{alerts:#?}");
}

// ---------------------------------------------------------------- boxed dyn futures

#[alert_on_error]
fn boxed_send_sync(fail: bool) -> Pin<Box<dyn Future<Output = Result<u8, Quota>> + Send + Sync>> {
    Box::pin(async move {
        if fail {
            Err(Quota(String::from("send+sync")))
        } else {
            Ok(1)
        }
    })
}

#[alert_on_error]
fn boxed_send<'a>(
    name: &'a str,
) -> Pin<Box<dyn Future<Output = Result<&'a str, Quota>> + Send + 'a>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        Err(Quota(name.to_owned()))
    })
}

#[alert_on_error]
fn boxed_local() -> Pin<Box<dyn Future<Output = Result<(), Quota>>>> {
    let not_send = std::rc::Rc::new(String::from("local"));
    Box::pin(async move { Err(Quota((*not_send).clone())) })
}

#[alert_on_error]
fn boxed_alias(id: u8) -> notify_core::BoxFuture<'static, Result<u8, Quota>> {
    Box::pin(async move {
        if id == 0 {
            return Err(Quota(String::from("BoxFuture")));
        }
        Ok(id)
    })
}

#[test]
fn boxed_dyn_futures_keep_their_auto_traits_and_report_when_awaited() {
    let name = String::from("borrowed");
    let alerts = capture_alerts(|| {
        let send_sync = boxed_send_sync(true);
        assert_send(&send_sync);
        assert_sync(&send_sync);
        assert!(block_on(send_sync).is_err());
        assert_eq!(block_on(boxed_send_sync(false)), Ok(1));
        let borrowed = boxed_send(&name);
        assert_send(&borrowed);
        assert!(block_on(borrowed).is_err());
        assert!(block_on(boxed_local()).is_err());
        assert_eq!(block_on(boxed_alias(2)), Ok(2));
        assert!(block_on(boxed_alias(0)).is_err());
    });
    assert_eq!(
        messages(&alerts),
        [
            "quota exceeded for send+sync",
            "quota exceeded for borrowed",
            "quota exceeded for local",
            "quota exceeded for BoxFuture"
        ]
    );
}

// ---------------------------------------------------------------- results by type

type AppResult<T> = Result<T, Quota>;
type IResult<I, O> = Result<(I, O), Quota>;

#[alert_on_error]
fn app_result(fail: bool) -> AppResult<u8> {
    if fail {
        return Err(Quota(String::from("AppResult")));
    }
    Ok(7)
}

#[alert_on_error]
fn parse_number(input: &str) -> IResult<&str, u32> {
    input
        .parse()
        .map(|n| ("", n))
        .map_err(|_| Quota(format!("not a number: {input}")))
}

#[alert_on_error]
async fn app_result_later() -> AppResult<u8> {
    Err(Quota(String::from("AppResult later")))
}

mod domain {
    /// A type named `Result` that is not `core::result::Result`.
    #[derive(Debug, PartialEq)]
    pub struct Result {
        pub accepted: bool,
    }
}

static RAN: AtomicBool = AtomicBool::new(false);

#[alert_on_error]
fn not_a_std_result(accepted: bool) -> domain::Result {
    RAN.store(true, Ordering::SeqCst);
    domain::Result { accepted }
}

#[alert_on_error]
fn not_a_std_result_panics() -> domain::Result {
    panic!("domain result panic")
}

#[test]
fn results_are_recognised_by_their_type_not_their_name() {
    let alerts = capture_alerts(|| {
        assert_eq!(app_result(false), Ok(7));
        assert!(app_result(true).is_err());
        assert_eq!(parse_number("12"), Ok(("", 12)));
        assert!(parse_number("twelve").is_err());
        assert!(block_on(app_result_later()).is_err());
        assert_eq!(not_a_std_result(false), domain::Result { accepted: false });
        assert!(std::panic::catch_unwind(not_a_std_result_panics).is_err());
    });
    assert!(RAN.load(Ordering::SeqCst));
    assert_eq!(
        messages(&alerts),
        [
            "quota exceeded for AppResult",
            "quota exceeded for not a number: twelve",
            "quota exceeded for AppResult later",
            "domain result panic"
        ]
    );
}

// ---------------------------------------------------------------- opaque types left as they are

#[derive(Clone)]
struct Job;

impl std::future::IntoFuture for Job {
    type Output = u32;
    type IntoFuture = std::future::Ready<u32>;
    fn into_future(self) -> Self::IntoFuture {
        std::future::ready(1)
    }
}

#[alert_on_error]
fn into_future() -> impl std::future::IntoFuture<Output = u32> {
    Job
}

#[alert_on_error]
fn adds() -> impl std::ops::Add<u32, Output = u32> {
    1u32
}

#[alert_on_error]
fn cloneable_future() -> impl Future<Output = Result<u32, Quota>> + Clone {
    std::future::ready(Err(Quota(String::from("cloneable"))))
}

/// An `impl Trait` return that a watch could not stand for (an
/// `IntoFuture`, an `Add`, a future that must stay `Clone`) compiles and is
/// returned as it is: watched for panics while the function runs.
#[test]
fn opaque_returns_a_watch_cannot_stand_for_are_left_as_they_are() {
    let alerts = capture_alerts(|| {
        assert_eq!(block_on(into_future().into_future()), 1);
        assert_eq!(adds() + 1, 2);
        let future = cloneable_future();
        assert!(block_on(future.clone()).is_err());
    });
    assert!(alerts.is_empty(), "{alerts:#?}");
}
