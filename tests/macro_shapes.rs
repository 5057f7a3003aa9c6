//! Every function shape `#[alert_on_error]` accepts, written the way a user
//! writes it, each checked for the alert it raises (or does not raise).

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use notify_core::testing::capture_alerts;
use notify_core::{alert_on_error, Alert, AlertKind};

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("disk full")]
pub struct DiskFull;

/// The one alert a closure raised.
fn one_alert(alerts: Vec<Alert>) -> Alert {
    assert_eq!(alerts.len(), 1, "expected exactly one alert: {alerts:#?}");
    alerts.into_iter().next().unwrap()
}

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;

fn assert_send<T: Send>(_: &T) {}

// ---------------------------------------------------------------- free functions

const SYNC_FREE_FN_LINE: u32 = line!() + 2;
#[alert_on_error]
fn sync_free_fn(fail: bool) -> Result<u32, DiskFull> {
    if fail {
        Err(DiskFull)
    } else {
        Ok(7)
    }
}

#[test]
fn sync_free_fn_reports_err_with_its_call_site() {
    let alerts = capture_alerts(|| {
        assert_eq!(sync_free_fn(false), Ok(7));
        assert_eq!(sync_free_fn(true), Err(DiskFull));
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.kind, AlertKind::Error);
    assert_eq!(alert.message, "disk full");
    assert_eq!(alert.location.function, "macro_shapes::sync_free_fn");
    assert!(
        alert.location.file.ends_with("macro_shapes.rs"),
        "{}",
        alert.location.file
    );
    assert_eq!(alert.location.line, SYNC_FREE_FN_LINE);
}

#[alert_on_error]
async fn async_free_fn(fail: bool) -> Result<u32, DiskFull> {
    tokio::task::yield_now().await;
    if fail {
        Err(DiskFull)
    } else {
        Ok(8)
    }
}

#[test]
fn async_free_fn_reports_err_after_an_await() {
    let alerts = capture_alerts(|| {
        assert_eq!(block_on(async_free_fn(false)), Ok(8));
        assert_eq!(block_on(async_free_fn(true)), Err(DiskFull));
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.kind, AlertKind::Error);
    assert_eq!(alert.message, "disk full");
    assert_eq!(alert.location.function, "macro_shapes::async_free_fn");
}

#[alert_on_error]
async fn async_panics_after_an_await() -> u32 {
    tokio::task::yield_now().await;
    panic!("async boom")
}

#[test]
fn async_fn_reports_a_panic_inside_a_poll() {
    let alerts = capture_alerts(|| {
        let result = catch_unwind(|| block_on(async_panics_after_an_await()));
        assert!(result.is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.kind, AlertKind::Panic);
    assert_eq!(alert.message, "async boom");
    assert_eq!(
        alert.location.function,
        "macro_shapes::async_panics_after_an_await"
    );
}

#[test]
fn async_fn_future_stays_send() {
    let future = async_free_fn(false);
    assert_send(&future);
    let joined = block_on(async { tokio::spawn(async_free_fn(false)).await.unwrap() });
    assert_eq!(joined, Ok(8));
    drop(future);
}

// ---------------------------------------------------------------- methods

#[derive(Debug, PartialEq)]
struct Counter {
    count: u32,
}

impl Counter {
    #[alert_on_error]
    fn checked_new(count: u32) -> Result<Self, DiskFull> {
        if count > 10 {
            return Err(DiskFull);
        }
        Ok(Counter { count })
    }

    #[alert_on_error]
    fn get(&self) -> Result<u32, DiskFull> {
        if self.count == 0 {
            Err(DiskFull)
        } else {
            Ok(self.count)
        }
    }

    #[alert_on_error]
    fn bump(&mut self) -> Result<u32, DiskFull> {
        self.count += 1;
        if self.count > 2 {
            Err(DiskFull)
        } else {
            Ok(self.count)
        }
    }

    /// Returns a borrow of `*self`: the body's closure must be `FnOnce`.
    #[alert_on_error]
    fn count_mut(&mut self) -> Result<&mut u32, DiskFull> {
        if self.count == 0 {
            return Err(DiskFull);
        }
        Ok(&mut self.count)
    }

    #[alert_on_error]
    fn into_count(self) -> Result<u32, DiskFull> {
        if self.count == 0 {
            Err(DiskFull)
        } else {
            Ok(self.count)
        }
    }

    #[alert_on_error]
    async fn get_later(&self) -> Result<u32, DiskFull> {
        tokio::task::yield_now().await;
        self.get()
    }

    #[alert_on_error]
    async fn bump_later(&mut self) -> Result<u32, DiskFull> {
        tokio::task::yield_now().await;
        self.count += 10;
        if self.count > 20 {
            Err(DiskFull)
        } else {
            Ok(self.count)
        }
    }
}

#[test]
fn associated_fn_returning_self() {
    let alerts = capture_alerts(|| {
        assert_eq!(Counter::checked_new(3), Ok(Counter { count: 3 }));
        assert_eq!(Counter::checked_new(11), Err(DiskFull));
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.location.function, "macro_shapes::checked_new");
}

#[test]
fn method_with_ref_self() {
    let alerts = capture_alerts(|| {
        assert_eq!(Counter { count: 2 }.get(), Ok(2));
        assert_eq!(Counter { count: 0 }.get(), Err(DiskFull));
    });
    assert_eq!(one_alert(alerts).location.function, "macro_shapes::get");
}

#[test]
fn method_with_mut_self_can_return_a_borrow_of_self() {
    let mut counter = Counter { count: 1 };
    let alerts = capture_alerts(|| {
        *counter.count_mut().unwrap() += 4;
        assert_eq!(counter.count, 5);
        assert_eq!(Counter { count: 0 }.count_mut(), Err(DiskFull));
    });
    assert_eq!(
        one_alert(alerts).location.function,
        "macro_shapes::count_mut"
    );
}

#[test]
fn method_with_mut_self_keeps_its_mutations() {
    let mut counter = Counter { count: 0 };
    let alerts = capture_alerts(|| {
        assert_eq!(counter.bump(), Ok(1));
        assert_eq!(counter.bump(), Ok(2));
        assert_eq!(counter.bump(), Err(DiskFull));
    });
    assert_eq!(counter.count, 3);
    assert_eq!(one_alert(alerts).location.function, "macro_shapes::bump");
}

#[test]
fn method_with_self_by_value() {
    let alerts = capture_alerts(|| {
        assert_eq!(Counter { count: 5 }.into_count(), Ok(5));
        assert_eq!(Counter { count: 0 }.into_count(), Err(DiskFull));
    });
    assert_eq!(
        one_alert(alerts).location.function,
        "macro_shapes::into_count"
    );
}

#[test]
fn async_methods_with_ref_and_mut_self() {
    let mut counter = Counter { count: 1 };
    let alerts = capture_alerts(|| {
        assert_eq!(block_on(counter.get_later()), Ok(1));
        assert_eq!(block_on(counter.bump_later()), Ok(11));
        assert_eq!(block_on(counter.bump_later()), Err(DiskFull));
    });
    assert_eq!(counter.count, 21);
    assert_eq!(
        one_alert(alerts).location.function,
        "macro_shapes::bump_later"
    );
}

trait Store {
    fn load(&self, key: &str) -> Result<String, DiskFull>;
    fn reset(self) -> Result<Self, DiskFull>
    where
        Self: Sized;
    fn fetch(&self) -> impl Future<Output = Result<u32, DiskFull>>;
}

struct MemoryStore {
    full: bool,
}

impl Store for MemoryStore {
    #[alert_on_error]
    fn load(&self, key: &str) -> Result<String, DiskFull> {
        if self.full {
            return Err(DiskFull);
        }
        Ok(format!("value of {key}"))
    }

    #[alert_on_error]
    fn reset(self) -> Result<Self, DiskFull> {
        if self.full {
            Err(DiskFull)
        } else {
            Ok(MemoryStore { full: false })
        }
    }

    #[alert_on_error]
    async fn fetch(&self) -> Result<u32, DiskFull> {
        tokio::task::yield_now().await;
        if self.full {
            Err(DiskFull)
        } else {
            Ok(3)
        }
    }
}

#[test]
fn trait_impl_methods() {
    let alerts = capture_alerts(|| {
        let store = MemoryStore { full: false };
        assert_eq!(store.load("a").unwrap(), "value of a");
        assert_eq!(block_on(store.fetch()), Ok(3));
        assert!(store.reset().is_ok());
        let full = MemoryStore { full: true };
        assert!(full.load("a").is_err());
        assert_eq!(block_on(full.fetch()), Err(DiskFull));
        assert!(full.reset().is_err());
    });
    let functions: Vec<String> = alerts.into_iter().map(|a| a.location.function).collect();
    assert_eq!(
        functions,
        [
            "macro_shapes::load",
            "macro_shapes::fetch",
            "macro_shapes::reset"
        ]
    );
}

// ---------------------------------------------------------------- generics and lifetimes

#[alert_on_error]
fn parse_all<T, I>(items: I) -> Result<Vec<T>, T::Err>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
    I: IntoIterator<Item = &'static str>,
{
    items.into_iter().map(str::parse).collect()
}

#[alert_on_error]
fn describe_first<T: fmt::Debug + Clone, const N: usize>(
    items: [T; N],
) -> Result<String, DiskFull> {
    match items.first() {
        Some(first) => Ok(format!("{:?}", first.clone())),
        None => Err(DiskFull),
    }
}

#[test]
fn generics_with_bounds_and_where_clauses() {
    let alerts = capture_alerts(|| {
        assert_eq!(parse_all::<u8, _>(["1", "2"]), Ok(vec![1, 2]));
        assert!(parse_all::<u8, _>(["1", "x"]).is_err());
        assert_eq!(describe_first([1, 2]).unwrap(), "1");
        assert_eq!(describe_first::<u8, 0>([]), Err(DiskFull));
    });
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert_eq!(alerts[0].message, "invalid digit found in string");
    assert_eq!(alerts[1].location.function, "macro_shapes::describe_first");
}

#[alert_on_error]
fn first_word<'a>(text: &'a str) -> Result<&'a str, DiskFull> {
    text.split_whitespace().next().ok_or(DiskFull)
}

#[alert_on_error]
fn pick_longer<'a, 'b: 'a>(a: &'a str, b: &'b str) -> Result<&'a str, DiskFull> {
    if a.is_empty() && b.is_empty() {
        return Err(DiskFull);
    }
    Ok(if a.len() >= b.len() { a } else { b })
}

#[alert_on_error]
fn trimmed(text: &str) -> Result<&str, DiskFull> {
    let text = text.trim();
    if text.is_empty() {
        Err(DiskFull)
    } else {
        Ok(text)
    }
}

struct Parser<'src> {
    source: &'src str,
}

impl<'src> Parser<'src> {
    #[alert_on_error]
    fn rest(&self, from: usize) -> Result<&'src str, DiskFull> {
        self.source.get(from..).ok_or(DiskFull)
    }
}

#[test]
fn lifetimes_named_bounded_and_elided() {
    let owned = String::from("hello world");
    let alerts = capture_alerts(|| {
        assert_eq!(first_word(&owned), Ok("hello"));
        assert_eq!(first_word("   "), Err(DiskFull));
        assert_eq!(pick_longer("ab", "abc"), Ok("abc"));
        assert_eq!(trimmed("  x "), Ok("x"));
        let parser = Parser { source: &owned };
        assert_eq!(parser.rest(6), Ok("world"));
        assert_eq!(parser.rest(99), Err(DiskFull));
    });
    let functions: Vec<String> = alerts.into_iter().map(|a| a.location.function).collect();
    assert_eq!(
        functions,
        ["macro_shapes::first_word", "macro_shapes::rest"]
    );
}

// ---------------------------------------------------------------- impl Trait

#[alert_on_error]
fn sum_all(values: impl IntoIterator<Item = u32>) -> Result<u32, DiskFull> {
    values
        .into_iter()
        .try_fold(0u32, |sum, v| sum.checked_add(v))
        .ok_or(DiskFull)
}

#[alert_on_error]
fn evens(limit: u32) -> Result<impl Iterator<Item = u32>, DiskFull> {
    if limit == 0 {
        return Err(DiskFull);
    }
    Ok((0..limit).filter(|n| n % 2 == 0))
}

#[alert_on_error]
fn countdown(from: u32) -> impl Iterator<Item = u32> {
    (0..=from).rev()
}

#[alert_on_error]
async fn greeting(name: impl fmt::Display + Send) -> Result<impl fmt::Display, DiskFull> {
    Ok(format!("hello {name}"))
}

#[test]
fn impl_trait_in_argument_and_return_position() {
    let alerts = capture_alerts(|| {
        assert_eq!(sum_all([1, 2, 3]), Ok(6));
        assert_eq!(sum_all(vec![u32::MAX, 1]), Err(DiskFull));
        assert_eq!(evens(7).unwrap().collect::<Vec<_>>(), [0, 2, 4, 6]);
        assert!(evens(0).is_err());
        assert_eq!(countdown(2).collect::<Vec<_>>(), [2, 1, 0]);
        assert_eq!(block_on(greeting("ann")).unwrap().to_string(), "hello ann");
    });
    let functions: Vec<String> = alerts.into_iter().map(|a| a.location.function).collect();
    assert_eq!(functions, ["macro_shapes::sum_all", "macro_shapes::evens"]);
}

// ---------------------------------------------------------------- unsafe fn

/// # Safety
/// `ptr` is null or points to a live `u32`.
#[alert_on_error]
unsafe fn read_value(ptr: *const u32) -> Result<u32, DiskFull> {
    if ptr.is_null() {
        return Err(DiskFull);
    }
    Ok(*ptr)
}

#[test]
fn unsafe_fn() {
    let value = 41u32;
    let alerts = capture_alerts(|| {
        // SAFETY: a live u32, and null.
        assert_eq!(unsafe { read_value(&value) }, Ok(41));
        assert_eq!(unsafe { read_value(std::ptr::null()) }, Err(DiskFull));
    });
    assert_eq!(
        one_alert(alerts).location.function,
        "macro_shapes::read_value"
    );
}

// ---------------------------------------------------------------- return types

#[alert_on_error]
fn read_missing_file() -> std::io::Result<String> {
    std::fs::read_to_string("/definitely/not/here/notify-test")
}

#[test]
fn std_io_result() {
    let alerts = capture_alerts(|| {
        let error = read_missing_file().unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.kind, AlertKind::Error);
    assert!(alert.message.contains("No such file"), "{}", alert.message);
}

#[alert_on_error]
fn load_settings() -> anyhow::Result<u32> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string("/definitely/not/here/settings.toml")
        .context("reading settings.toml")?;
    Ok(text.len() as u32)
}

#[test]
fn anyhow_result_reports_context_and_causes() {
    let alerts = capture_alerts(|| {
        assert!(load_settings().is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.message, "reading settings.toml");
    assert_eq!(alert.causes.len(), 1, "{:?}", alert.causes);
    assert!(
        alert.causes[0].contains("No such file"),
        "{:?}",
        alert.causes
    );
}

#[alert_on_error]
fn render(out: &mut String, fail: bool) -> fmt::Result {
    use fmt::Write as _;
    if fail {
        return Err(fmt::Error);
    }
    write!(out, "rendered")
}

#[test]
fn std_fmt_result() {
    let mut out = String::new();
    let alerts = capture_alerts(|| {
        assert_eq!(render(&mut out, false), Ok(()));
        assert_eq!(render(&mut out, true), Err(fmt::Error));
    });
    assert_eq!(out, "rendered");
    assert_eq!(one_alert(alerts).message, fmt::Error.to_string());
}

mod app {
    /// A project's own alias, named `Result` like `io::Result`.
    pub type Result<T> = std::result::Result<T, super::DiskFull>;
}

#[alert_on_error]
fn with_project_alias(fail: bool) -> app::Result<u32> {
    if fail {
        Err(DiskFull)
    } else {
        Ok(1)
    }
}

#[alert_on_error]
fn with_core_path(fail: bool) -> core::result::Result<u32, DiskFull> {
    if fail {
        Err(DiskFull)
    } else {
        Ok(1)
    }
}

#[test]
fn project_alias_named_result_and_full_path() {
    let alerts = capture_alerts(|| {
        assert_eq!(with_project_alias(false), Ok(1));
        assert_eq!(with_project_alias(true), Err(DiskFull));
        assert_eq!(with_core_path(true), Err(DiskFull));
    });
    let functions: Vec<String> = alerts.into_iter().map(|a| a.location.function).collect();
    assert_eq!(
        functions,
        [
            "macro_shapes::with_project_alias",
            "macro_shapes::with_core_path"
        ]
    );
}

#[alert_on_error]
fn boxed_error(send_sync: bool) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if send_sync {
        return Err(Box::new(Outer { inner: DiskFull }));
    }
    Ok(())
}

#[alert_on_error]
fn boxed_local_error() -> Result<(), Box<dyn std::error::Error>> {
    Err(Box::new(Outer { inner: DiskFull }))
}

#[alert_on_error]
async fn boxed_error_later(fail: bool) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    tokio::task::yield_now().await;
    if fail {
        return Err(Box::new(Outer { inner: DiskFull }));
    }
    let parsed: u32 = "5".parse()?;
    Ok(parsed)
}

#[test]
fn boxed_dyn_errors_coerce_and_keep_their_source_chain() {
    let alerts = capture_alerts(|| {
        assert!(boxed_error(false).is_ok());
        assert!(boxed_error(true).is_err());
        assert!(boxed_local_error().is_err());
        assert_eq!(block_on(boxed_error_later(false)).unwrap(), 5);
        assert!(block_on(boxed_error_later(true)).is_err());
    });
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    for alert in alerts {
        assert_eq!(alert.message, "export failed");
        assert_eq!(alert.causes, ["disk full"]);
    }
}

#[alert_on_error]
fn string_error(which: u8) -> Result<(), String> {
    Err(format!("quota exceeded ({which})"))
}

#[alert_on_error]
fn str_error() -> Result<(), &'static str> {
    Err("quota exceeded")
}

#[alert_on_error]
fn cow_error() -> Result<(), std::borrow::Cow<'static, str>> {
    Err(std::borrow::Cow::Borrowed("quota exceeded"))
}

#[alert_on_error]
fn boxed_str_error() -> Result<(), Box<str>> {
    Err("quota exceeded".into())
}

#[alert_on_error]
fn arc_str_error() -> Result<(), std::sync::Arc<str>> {
    Err("quota exceeded".into())
}

/// The string types are reported with their text, as their `Display` shows it.
#[test]
fn string_errors_are_reported_with_their_text() {
    let alerts = capture_alerts(|| {
        assert!(string_error(7).is_err());
        assert!(str_error().is_err());
        assert!(cow_error().is_err());
        assert!(boxed_str_error().is_err());
        assert!(arc_str_error().is_err());
    });
    let messages: Vec<&str> = alerts.iter().map(|a| a.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "quota exceeded (7)",
            "quota exceeded",
            "quota exceeded",
            "quota exceeded",
            "quota exceeded"
        ]
    );
    assert!(alerts.iter().all(|a| a.causes.is_empty()));
}

#[alert_on_error]
fn total(values: &[u32]) -> u32 {
    values.iter().sum()
}

#[alert_on_error]
fn maybe_first(values: &[u32]) -> Option<u32> {
    values.first().copied()
}

#[alert_on_error]
fn nothing_returned(values: &mut Vec<u32>) {
    values.push(values.len() as u32);
}

#[test]
fn non_result_return_types_raise_nothing_on_return() {
    let mut values = vec![];
    let alerts = capture_alerts(|| {
        assert_eq!(total(&[1, 2]), 3);
        assert_eq!(maybe_first(&[]), None);
        nothing_returned(&mut values);
        nothing_returned(&mut values);
    });
    assert!(alerts.is_empty(), "{alerts:#?}");
    assert_eq!(values, [0, 1]);
}

#[test]
fn non_result_return_type_is_watched_for_panics() {
    let alerts = capture_alerts(|| {
        let result = catch_unwind(|| total(&[u32::MAX, 1]));
        assert!(result.is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.kind, AlertKind::Panic);
    assert_eq!(alert.location.function, "macro_shapes::total");
}

// ---------------------------------------------------------------- error types

/// `Display` only: no `Debug`, no `Error`.
struct Code(u16);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status {}", self.0)
    }
}

#[alert_on_error]
fn display_only_error() -> Result<(), Code> {
    Err(Code(503))
}

#[derive(Debug, thiserror::Error)]
#[error("export failed")]
struct Outer {
    #[source]
    inner: DiskFull,
}

#[derive(Debug, thiserror::Error)]
#[error("nightly run failed")]
struct Top {
    #[source]
    outer: Outer,
}

#[alert_on_error]
fn error_with_source_chain() -> Result<(), Top> {
    Err(Top {
        outer: Outer { inner: DiskFull },
    })
}

#[derive(Debug)]
#[allow(dead_code)] // read only through `Debug`
enum DebugOnly {
    Timeout { after_ms: u64 },
}

#[alert_on_error]
fn debug_only_error() -> Result<(), DebugOnly> {
    Err(DebugOnly::Timeout { after_ms: 250 })
}

#[test]
fn error_type_with_display_only() {
    let alerts = capture_alerts(|| {
        assert!(display_only_error().is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.message, "status 503");
    assert!(alert.causes.is_empty());
}

#[test]
fn error_type_with_source_chain() {
    let alerts = capture_alerts(|| {
        assert!(error_with_source_chain().is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.message, "nightly run failed");
    assert_eq!(alert.causes, ["export failed", "disk full"]);
}

#[test]
fn error_type_with_debug_only() {
    let alerts = capture_alerts(|| {
        assert!(debug_only_error().is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.message, "Timeout { after_ms: 250 }");
    assert!(alert.causes.is_empty());
}

// ---------------------------------------------------------------- return and ?

#[derive(Debug, thiserror::Error)]
enum ImportError {
    #[error("bad number")]
    Number(#[from] std::num::ParseIntError),
}

#[alert_on_error]
fn import(line: &str) -> Result<u32, ImportError> {
    if line.is_empty() {
        return Ok(0);
    }
    let value: u32 = line.parse()?;
    Ok(value * 2)
}

#[alert_on_error]
async fn import_later(line: &str) -> Result<u32, ImportError> {
    tokio::task::yield_now().await;
    if line.is_empty() {
        return Ok(0);
    }
    let value: u32 = line.parse()?;
    Ok(value * 2)
}

#[alert_on_error]
fn first_even(values: &[u32]) -> u32 {
    for value in values {
        if value % 2 == 0 {
            return *value;
        }
    }
    0
}

#[test]
fn return_and_question_mark_keep_their_meaning() {
    let alerts = capture_alerts(|| {
        assert_eq!(import("").unwrap(), 0);
        assert_eq!(import("21").unwrap(), 42);
        assert!(matches!(import("x"), Err(ImportError::Number(_))));
        assert_eq!(block_on(import_later("")).unwrap(), 0);
        assert_eq!(block_on(import_later("4")).unwrap(), 8);
        assert!(block_on(import_later("y")).is_err());
        assert_eq!(first_even(&[1, 4, 6]), 4);
    });
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    for alert in alerts {
        assert_eq!(alert.message, "bad number");
        assert_eq!(alert.causes, ["invalid digit found in string"]);
    }
}

// ---------------------------------------------------------------- other attributes

/// Documentation is kept.
#[inline]
#[must_use = "the export count matters"]
#[alert_on_error]
#[allow(clippy::unnecessary_wraps, clippy::mixed_attributes_style)]
pub fn with_other_attributes(n: u32) -> Result<u32, DiskFull> {
    #![allow(unused_mut)]
    let mut doubled = n * 2;
    Ok(doubled)
}

#[test]
fn other_attributes_and_inner_attributes_are_kept() {
    let alerts = capture_alerts(|| {
        assert_eq!(with_other_attributes(2), Ok(4));
    });
    assert!(alerts.is_empty());
}

#[test]
#[alert_on_error]
fn a_test_function_can_be_wrapped() {
    assert_eq!(total(&[2, 2]), 4);
}

#[tokio::test]
#[alert_on_error]
async fn wrapped_inside_tokio_test() -> Result<(), DiskFull> {
    assert_eq!(async_free_fn(false).await, Ok(8));
    Ok(())
}

#[alert_on_error]
#[tokio::test]
async fn wrapping_tokio_test() -> Result<(), DiskFull> {
    assert_eq!(async_free_fn(false).await, Ok(8));
    Ok(())
}

#[test]
fn panic_in_sync_fn_is_reported_with_kind_panic() {
    let alerts = capture_alerts(|| {
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut counter = Counter { count: u32::MAX };
            counter.bump()
        }));
        assert!(result.is_err());
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.kind, AlertKind::Panic);
    assert_eq!(alert.location.function, "macro_shapes::bump");
}

#[alert_on_error]
fn run_forever(stop_with: &str) -> ! {
    if !stop_with.is_empty() {
        panic!("{stop_with}");
    }
    loop {
        std::thread::park();
    }
}

#[test]
fn never_returning_fn_is_watched_for_panics() {
    let alerts = capture_alerts(|| {
        let payload = catch_unwind(|| run_forever("worker stopped")).unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("worker stopped")
        );
    });
    let alert = one_alert(alerts);
    assert_eq!(alert.kind, AlertKind::Panic);
    assert_eq!(alert.location.function, "macro_shapes::run_forever");
}
