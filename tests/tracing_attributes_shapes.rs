#![deny(warnings)]
//! The function shapes of tracing-attributes' own test suite, under
//! `#[alert_on_error]`.
//!
//! tokio-rs/tracing tests `#[instrument]` on every kind of signature it met
//! in bug reports: destructured arguments, `impl Trait` in a `Result`,
//! `async-trait` methods, sync functions returning futures, bodies with inner
//! attributes, and so on. Each group below takes the shapes of one of its test
//! files (`tracing-attributes/tests/*.rs`) and checks that `#[alert_on_error]`
//! accepts them and keeps their meaning: an `Err` is reported exactly once, an
//! `Ok` reports nothing, and the value returned is the one the body returned.
//! Only the shapes are taken: tracing's collectors, spans and `fields(...)`
//! have no counterpart here (`context(...)` stands in for `fields(...)`), and
//! the bodies are our own. The last group adds the shapes a user writes that
//! those files leave out.

use std::array::TryFromSliceError;
use std::convert::Infallible;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::num::TryFromIntError;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use notify_core::testing::capture_alerts;
use notify_core::{alert_on_error, Alert, AlertKind};

// ================================================================ helpers

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;

/// A future that is pending `n` times before it completes: an `.await` on it
/// really suspends the function.
struct Suspend(usize);

impl Future for Suspend {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs `call`, and gives back what it returned and the alerts it raised.
fn capturing<T>(call: impl FnOnce() -> T) -> (T, Vec<Alert>) {
    let mut value = None;
    let alerts = capture_alerts(|| value = Some(call()));
    (value.expect("the closure ran to its end"), alerts)
}

/// Runs `call`, checks that it raised no alert, and gives back what it
/// returned.
#[track_caller]
fn quietly<T>(call: impl FnOnce() -> T) -> T {
    let (value, alerts) = capturing(call);
    assert!(alerts.is_empty(), "expected no alert, got {alerts:#?}");
    value
}

/// Runs `call`, checks that it raised exactly one alert — the `Err` of
/// `function`, with `message` as its text — and gives back what it returned
/// and the alert.
#[track_caller]
fn reported_alert<T>(function: &str, message: &str, call: impl FnOnce() -> T) -> (T, Alert) {
    let (value, alerts) = capturing(call);
    assert_eq!(
        alerts.len(),
        1,
        "expected exactly one alert, got {alerts:#?}"
    );
    let alert = alerts.into_iter().next().unwrap();
    assert_eq!(alert.kind, AlertKind::Error);
    assert_eq!(alert.title, format!("Error in {function}"));
    assert_eq!(alert.message, message);
    (value, alert)
}

/// [`reported_alert`], for when only the value matters afterwards.
#[track_caller]
fn reported<T>(function: &str, message: &str, call: impl FnOnce() -> T) -> T {
    reported_alert(function, message, call).0
}

/// The error most shapes return: a `thiserror` type, as applications define.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("out of stock: {0}")]
struct OutOfStock(u32);

/// What `u8::try_from` returns for a number that does not fit — the error
/// tracing's `err.rs` is written around.
fn too_big() -> TryFromIntError {
    u8::try_from(1234).unwrap_err()
}

// ================================================================ tracing-attributes/tests/async_fn.rs

/// An `async fn` that suspends before it returns. `()` has no `Display`, so
/// the alert shows its `Debug` text.
#[alert_on_error]
async fn settle(polls: usize, accept: bool) -> Result<(), ()> {
    Suspend(polls).await;
    if accept {
        Ok(())
    } else {
        Err(())
    }
}

#[test]
fn async_fn_that_suspends() {
    assert_eq!(quietly(|| block_on(settle(2, true))), Ok(()));
    assert_eq!(
        reported("settle", "()", || block_on(settle(2, false))),
        Err(())
    );
}

/// `impl Trait` inside the `Result` of an `async fn` (tokio-rs/tracing#1615).
#[alert_on_error]
async fn below(limit: i32) -> Result<impl Iterator<Item = i32>, ()> {
    if limit < 0 {
        return Err(());
    }
    Ok((0..10).filter(move |n| *n < limit))
}

/// The same, with a `&'static str` error.
#[alert_on_error]
async fn below_or_refuse(limit: i32) -> Result<impl Iterator<Item = i32>, &'static str> {
    if limit < 0 {
        return Err("a negative limit");
    }
    Ok((0..10).filter(move |n| *n < limit))
}

#[test]
fn async_fn_returning_impl_trait_in_a_result() {
    let collected = quietly(|| block_on(below(3)).map(Iterator::collect::<Vec<_>>));
    assert_eq!(collected, Ok(vec![0, 1, 2]));
    let collected = reported("below", "()", || {
        block_on(below(-1)).map(Iterator::collect::<Vec<_>>)
    });
    assert_eq!(collected, Err(()));

    let collected = quietly(|| block_on(below_or_refuse(2)).map(Iterator::collect::<Vec<_>>));
    assert_eq!(collected, Ok(vec![0, 1]));
    let collected = reported("below_or_refuse", "a negative limit", || {
        block_on(below_or_refuse(-1)).map(Iterator::collect::<Vec<_>>)
    });
    assert_eq!(collected, Err("a negative limit"));
}

/// An empty `async fn`, and one whose body is only comments that mention
/// `else`, under the clippy lint tracing once tripped (tokio-rs/tracing#1613,
/// rust-lang/rust-clippy#7760).
#[alert_on_error]
async fn nothing_to_do() {}

#[alert_on_error]
#[deny(clippy::suspicious_else_formatting)]
async fn only_comments() {
    // nothing happens here,
    // else we would say so
}

#[test]
fn empty_async_fns() {
    quietly(|| block_on(nothing_to_do()));
    quietly(|| block_on(only_comments()));
}

/// An `if`/`else` written on one line inside a call spread over several, kept
/// as written by `#[rustfmt::skip]`, under
/// `#[deny(clippy::suspicious_else_formatting)]` (tokio-rs/tracing#1613).
#[alert_on_error]
#[rustfmt::skip]
#[deny(clippy::suspicious_else_formatting)]
async fn verdict(accept: bool) -> Result<String, String> {
    let word = String::from(
        if accept { "accepted" } else { "refused" }
    );
    if accept { Ok(word) } else { Err(word) }
}

#[test]
fn async_fn_with_rustfmt_skip_and_a_clippy_deny() {
    assert_eq!(
        quietly(|| block_on(verdict(true))),
        Ok("accepted".to_owned())
    );
    assert_eq!(
        reported("verdict", "refused", || block_on(verdict(false))),
        Err("refused".to_owned())
    );
}

/// Inner attributes at the top of an `async fn`'s body, under an outer
/// `#[deny]` they relax (tokio-rs/tracing#2294).
#[deny(unused_variables)]
#[alert_on_error]
async fn relaxed(stock: u32) -> Result<u32, OutOfStock> {
    #![allow(unused_variables)]
    let unused = 42;
    if stock == 0 {
        return Err(OutOfStock(stock));
    }
    Ok(stock)
}

#[test]
fn async_fn_with_inner_attributes() {
    assert_eq!(quietly(|| block_on(relaxed(3))), Ok(3));
    assert_eq!(
        reported("relaxed", "out of stock: 0", || block_on(relaxed(0))),
        Err(OutOfStock(0))
    );
}

/// A sync fn returning `Pin<Box<dyn Future>>` (no `Send`), under
/// `#[deny(unused_braces)]` (tokio-rs/tracing#1831; also the shape of
/// `manual_box_pin`).
#[alert_on_error]
#[deny(unused_braces)]
fn boxed_lookup(key: u32) -> Pin<Box<dyn Future<Output = Result<u32, OutOfStock>>>> {
    Box::pin(async move {
        Suspend(1).await;
        if key == 0 {
            Err(OutOfStock(key))
        } else {
            Ok(key * 10)
        }
    })
}

#[test]
fn sync_fn_returning_a_boxed_future() {
    assert_eq!(quietly(|| block_on(boxed_lookup(4))), Ok(40));
    // Nothing is reported until the future completes.
    let future = quietly(|| boxed_lookup(0));
    assert_eq!(
        reported("boxed_lookup", "out of stock: 0", || block_on(future)),
        Err(OutOfStock(0))
    );
}

/// A sync fn returning `impl Future` of a `Result` whose error cannot happen,
/// the way async trait methods were written before they were stable
/// (tokio-rs/tracing#1831).
#[alert_on_error]
#[deny(unused_braces)]
#[allow(clippy::manual_async_fn)]
fn always_ready() -> impl Future<Output = Result<(), Infallible>> {
    async { Ok(()) }
}

/// A sync fn returning `impl Future` built by an `async move` block
/// (`manual_impl_future`).
#[alert_on_error]
#[allow(clippy::manual_async_fn)]
fn manual_lookup(key: u32) -> impl Future<Output = Result<u32, OutOfStock>> {
    async move {
        Suspend(2).await;
        if key == 0 {
            Err(OutOfStock(key))
        } else {
            Ok(key + 1)
        }
    }
}

#[test]
fn sync_fn_returning_impl_future() {
    assert_eq!(quietly(|| block_on(always_ready())), Ok(()));
    assert_eq!(quietly(|| block_on(manual_lookup(1))), Ok(2));
    assert_eq!(
        reported("manual_lookup", "out of stock: 0", || block_on(
            manual_lookup(0)
        )),
        Err(OutOfStock(0))
    );
}

/// An annotated `async fn` awaiting another one: the inner `Err`, passed on
/// by `?`, is one failure, reported by the inner function.
#[alert_on_error]
async fn fetch_scaled(key: u32) -> Result<u32, OutOfStock> {
    let found = fetch(key).await?;
    Ok(found * 100)
}

#[alert_on_error]
async fn fetch(key: u32) -> Result<u32, OutOfStock> {
    Suspend(1).await;
    if key == 0 {
        Err(OutOfStock(key))
    } else {
        Ok(key)
    }
}

#[test]
fn nested_async_fns() {
    assert_eq!(quietly(|| block_on(fetch_scaled(2))), Ok(200));
    assert_eq!(
        reported("fetch", "out of stock: 0", || block_on(fetch_scaled(0))),
        Err(OutOfStock(0))
    );
}

/// `async-trait` methods, `&mut self` and `&self`, calling one another.
#[async_trait]
trait Restock {
    async fn restock(&mut self, amount: u32) -> Result<u32, OutOfStock>;
}

#[async_trait]
trait Count {
    async fn count(&self) -> Result<u32, OutOfStock>;
}

#[async_trait]
trait Inspect {
    async fn inspect(&self) -> Result<(), OutOfStock>;
}

#[derive(Debug)]
struct Shelf(u32);

#[async_trait]
impl Restock for Shelf {
    #[alert_on_error]
    async fn restock(&mut self, amount: u32) -> Result<u32, OutOfStock> {
        if amount == 0 {
            return Err(OutOfStock(self.0));
        }
        self.inspect().await?;
        self.0 += amount;
        self.count().await
    }
}

#[async_trait]
impl Count for Shelf {
    #[alert_on_error]
    async fn count(&self) -> Result<u32, OutOfStock> {
        Suspend(1).await;
        Ok(self.0)
    }
}

#[async_trait]
impl Inspect for Shelf {
    #[alert_on_error]
    async fn inspect(&self) -> Result<(), OutOfStock> {
        if self.0 == 0 {
            Err(OutOfStock(0))
        } else {
            Ok(())
        }
    }
}

#[test]
fn async_trait_methods_calling_each_other() {
    let mut shelf = Shelf(2);
    assert_eq!(quietly(|| block_on(shelf.restock(3))), Ok(5));
    assert_eq!(
        reported("restock", "out of stock: 5", || block_on(shelf.restock(0))),
        Err(OutOfStock(5))
    );
    assert_eq!(shelf.0, 5);

    // The inner method's error, passed on by `?`, is reported once, by it.
    let mut empty = Shelf(0);
    assert_eq!(
        reported("inspect", "out of stock: 0", || block_on(empty.restock(3))),
        Err(OutOfStock(0))
    );
    assert_eq!(empty.0, 0);
}

/// An `async-trait` method with an unused `_`-prefixed argument, whose
/// context names `self` and that argument (tracing's `fields(...)` with
/// `self` expressions).
#[async_trait]
trait Dial {
    async fn dial(&mut self, _attempt: usize) -> Result<usize, String>;
}

#[derive(Clone, Debug)]
struct Line {
    open: bool,
}

impl Line {
    fn extension(&self) -> usize {
        42
    }
}

#[async_trait]
impl Dial for Line {
    #[alert_on_error(context(self, _attempt))]
    async fn dial(&mut self, _attempt: usize) -> Result<usize, String> {
        if self.open {
            Ok(Self::clone(self).extension())
        } else {
            Err(format!("line closed at {}", self.extension()))
        }
    }
}

#[test]
fn async_trait_method_with_context_of_self() {
    assert_eq!(quietly(|| block_on(Line { open: true }.dial(5))), Ok(42));
    let (value, alert) = reported_alert("dial", "line closed at 42", || {
        block_on(Line { open: false }.dial(5))
    });
    assert_eq!(value, Err("line closed at 42".to_owned()));
    assert_eq!(
        alert.context,
        [
            ("self".to_owned(), "Line { open: false }".to_owned()),
            ("_attempt".to_owned(), "5".to_owned()),
        ]
    );
}

/// `async-trait` methods that use `Self`: an associated function without a
/// receiver (which `#[instrument]` cannot take), `&self` awaiting a sync fn
/// that returns `Pin<Box<dyn Future + Send + '_>>`, and `&mut self`.
#[async_trait]
trait Describe {
    async fn kind(known: bool) -> Result<&'static str, String>;
    async fn name(&self) -> Result<&'static str, String>;
    async fn toggle(&mut self) -> Result<bool, String>;
}

#[derive(Clone, Debug)]
struct Named(bool);

impl Named {
    #[alert_on_error]
    fn sync_name(&self) -> Pin<Box<dyn Future<Output = Result<&'static str, String>> + Send + '_>> {
        let this = self.clone();
        Box::pin(async move {
            Suspend(1).await;
            if this.0 {
                Ok(std::any::type_name::<Self>())
            } else {
                Err("unnamed".to_owned())
            }
        })
    }
}

#[async_trait]
impl Describe for Named {
    #[alert_on_error]
    async fn kind(known: bool) -> Result<&'static str, String> {
        if known {
            Ok(std::any::type_name::<Self>())
        } else {
            Err("unknown kind".to_owned())
        }
    }

    #[alert_on_error]
    async fn name(&self) -> Result<&'static str, String> {
        self.sync_name().await
    }

    #[alert_on_error]
    async fn toggle(&mut self) -> Result<bool, String> {
        self.0 = !self.0;
        if self.0 {
            Ok(true)
        } else {
            Err(format!("{} switched off", std::any::type_name::<Self>()))
        }
    }
}

#[test]
fn async_trait_methods_using_self_type() {
    let type_name = std::any::type_name::<Named>();

    assert_eq!(quietly(|| block_on(Named::kind(true))), Ok(type_name));
    assert_eq!(
        reported("kind", "unknown kind", || block_on(Named::kind(false))),
        Err("unknown kind".to_owned())
    );

    assert_eq!(quietly(|| block_on(Named(true).name())), Ok(type_name));
    // `name` passes on the error of `sync_name`'s future: one alert, the inner one.
    assert_eq!(
        reported("sync_name", "unnamed", || block_on(Named(false).name())),
        Err("unnamed".to_owned())
    );

    let mut switch = Named(false);
    assert_eq!(quietly(|| block_on(switch.toggle())), Ok(true));
    let message = format!("{type_name} switched off");
    assert_eq!(
        reported("toggle", &message, || block_on(switch.toggle())),
        Err(message.clone())
    );
}

/// A `&mut self` method returning `Pin<Box<dyn Future + Send + Sync>>` built
/// from a value taken out of `self` before the future (tokio-rs/tracing#1296),
/// with an unused `()` argument.
struct Service {
    metrics: Arc<str>,
}

impl Service {
    #[alert_on_error]
    fn call(
        &mut self,
        _request: (),
    ) -> Pin<Box<dyn Future<Output = Result<Arc<str>, String>> + Send + Sync>> {
        let metrics = self.metrics.clone();
        Box::pin(async move {
            if metrics.is_empty() {
                Err("no metrics".to_owned())
            } else {
                Ok(metrics)
            }
        })
    }
}

#[test]
fn method_returning_a_boxed_future_of_a_captured_value() {
    let mut service = Service {
        metrics: Arc::from("requests=3"),
    };
    assert_eq!(
        quietly(|| block_on(service.call(()))),
        Ok(Arc::from("requests=3"))
    );
    service.metrics = Arc::from("");
    assert_eq!(
        reported("call", "no metrics", || block_on(service.call(()))),
        Err("no metrics".to_owned())
    );
}

/// The same kind of boxed future through an alias with a named lifetime, as
/// `futures::future::BoxFuture` is written, borrowing an argument.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[alert_on_error]
fn first_char<'a>(text: &'a str) -> BoxFuture<'a, Result<&'a str, String>> {
    Box::pin(async move {
        Suspend(1).await;
        text.get(..1).ok_or_else(|| "empty text".to_owned())
    })
}

#[test]
fn sync_fn_returning_a_boxed_future_alias() {
    assert_eq!(quietly(|| block_on(first_char("abc"))), Ok("a"));
    assert_eq!(
        reported("first_char", "empty text", || block_on(first_char(""))),
        Err("empty text".to_owned())
    );
}

// ================================================================ tracing-attributes/tests/err.rs

/// The body is one expression of the `Result` type.
#[alert_on_error]
fn narrow(n: i32) -> Result<u8, TryFromIntError> {
    u8::try_from(n)
}

/// An empty block before that expression (an `else` lint tracing once
/// tripped).
#[alert_on_error]
fn narrow_after_a_block(n: i32) -> Result<u8, TryFromIntError> {
    {}
    u8::try_from(n)
}

/// `?` returns early.
#[alert_on_error]
fn check_then_default(n: i32) -> Result<u8, TryFromIntError> {
    u8::try_from(n)?;
    Ok(5)
}

#[test]
fn err_shapes() {
    let message = too_big().to_string();

    assert_eq!(quietly(|| narrow(200)), Ok(200));
    assert_eq!(
        reported("narrow", &message, || narrow(1234)),
        Err(too_big())
    );

    assert_eq!(quietly(|| narrow_after_a_block(7)), Ok(7));
    assert_eq!(
        reported("narrow_after_a_block", &message, || narrow_after_a_block(
            -1
        )),
        Err(too_big())
    );

    assert_eq!(quietly(|| check_then_default(100)), Ok(5));
    assert_eq!(
        reported("check_then_default", &message, || check_then_default(1234)),
        Err(too_big())
    );
}

/// An `async fn` that suspends, then fails.
#[alert_on_error]
async fn narrow_later(polls: usize, n: i32) -> Result<u8, TryFromIntError> {
    Suspend(polls).await;
    u8::try_from(n)
}

#[test]
fn err_in_an_async_fn() {
    assert_eq!(quietly(|| block_on(narrow_later(2, 9))), Ok(9));
    assert_eq!(
        reported("narrow_later", &too_big().to_string(), || block_on(
            narrow_later(2, 1234)
        )),
        Err(too_big())
    );
}

/// A `&mut` argument written through, in a sync and an `async fn`.
#[alert_on_error]
fn narrow_into(n: i32, out: &mut u8) -> Result<(), TryFromIntError> {
    *out = u8::try_from(n)?;
    Ok(())
}

#[alert_on_error]
async fn narrow_into_later(polls: usize, n: i32, out: &mut u8) -> Result<(), TryFromIntError> {
    Suspend(polls).await;
    *out = u8::try_from(n)?;
    Ok(())
}

#[test]
fn err_with_a_mut_reference_argument() {
    let message = too_big().to_string();
    let mut out = 0;

    assert_eq!(quietly(|| narrow_into(200, &mut out)), Ok(()));
    assert_eq!(out, 200);
    assert_eq!(
        reported("narrow_into", &message, || narrow_into(1234, &mut out)),
        Err(too_big())
    );
    assert_eq!(out, 200, "an Err leaves the output as it was");

    assert_eq!(
        quietly(|| block_on(narrow_into_later(2, 17, &mut out))),
        Ok(())
    );
    assert_eq!(out, 17);
    assert_eq!(
        reported("narrow_into_later", &message, || block_on(
            narrow_into_later(2, 1234, &mut out)
        )),
        Err(too_big())
    );
    assert_eq!(out, 17);
}

/// `impl Trait` inside the `Result` of a sync fn, with a `String` error
/// (tokio-rs/tracing#1227).
#[alert_on_error]
fn first_n(n: usize) -> Result<impl Iterator<Item = usize>, String> {
    if n > 100 {
        return Err(format!("{n} is too many"));
    }
    Ok(0..n)
}

#[test]
fn err_with_impl_trait_in_a_result() {
    assert_eq!(quietly(|| first_n(3).map(Iterator::sum::<usize>)), Ok(3));
    assert_eq!(
        reported("first_n", "101 is too many", || first_n(101)
            .map(Iterator::sum::<usize>)),
        Err("101 is too many".to_owned())
    );
}

/// An error type with `Debug` only (what `err(Debug)` prints in tracing): the
/// alert shows its `Debug` text.
#[derive(Debug, PartialEq)]
struct Status(u16);

#[alert_on_error]
fn respond(code: u16) -> Result<&'static str, Status> {
    match code {
        200 => Ok("fine"),
        other => Err(Status(other)),
    }
}

#[test]
fn err_of_a_debug_only_type() {
    assert_eq!(quietly(|| respond(200)), Ok("fine"));
    assert_eq!(
        reported("respond", "Status(503)", || respond(503)),
        Err(Status(503))
    );
}

// ================================================================ tracing-attributes/tests/ret.rs

/// Values that are not results: nothing to report, the value passes through.
#[alert_on_error]
fn answer() -> i32 {
    42
}

#[alert_on_error]
fn double_in_place(a: &mut i32) -> i32 {
    *a *= 2;
    *a
}

#[alert_on_error]
async fn answer_later() -> i32 {
    Suspend(1).await;
    42
}

#[alert_on_error]
fn opaque_answer() -> impl Copy + fmt::Debug + PartialEq<i32> {
    42
}

#[test]
fn ret_values_that_are_not_results() {
    assert_eq!(quietly(answer), 42);

    let mut a = 1;
    assert_eq!(quietly(|| double_in_place(&mut a)), 2);
    assert_eq!(a, 2);

    assert_eq!(quietly(|| block_on(answer_later())), 42);
    assert_eq!(quietly(opaque_answer), 42);
}

/// Results without arguments, one `Ok` and one `Err` (`ret_and_ok`,
/// `ret_and_err`).
#[alert_on_error]
fn small_enough() -> Result<u8, TryFromIntError> {
    u8::try_from(123)
}

#[alert_on_error]
fn too_large() -> Result<u8, TryFromIntError> {
    u8::try_from(1234)
}

#[test]
fn ret_results() {
    assert_eq!(quietly(small_enough), Ok(123));
    assert_eq!(
        reported("too_large", &too_big().to_string(), too_large),
        Err(too_big())
    );
}

// ================================================================ tracing-attributes/tests/instrument.rs

/// Inner attributes at the top of a sync fn's body (tokio-rs/tracing#2294).
#[deny(unused_variables)]
#[alert_on_error]
fn relaxed_sync(stock: u32) -> Result<u32, OutOfStock> {
    #![allow(unused_variables)]
    let unused = 42;
    if stock == 0 {
        return Err(OutOfStock(stock));
    }
    Ok(stock)
}

#[test]
fn sync_fn_with_inner_attributes() {
    assert_eq!(quietly(|| relaxed_sync(1)), Ok(1));
    assert_eq!(
        reported("relaxed_sync", "out of stock: 0", || relaxed_sync(0)),
        Err(OutOfStock(0))
    );
}

/// Other attributes before and after ours (tracing's `override_everything`
/// sets all of its own options here).
#[inline]
#[alert_on_error]
fn attribute_before(fail: bool) -> Result<(), String> {
    if fail {
        Err("failed before".to_owned())
    } else {
        Ok(())
    }
}

#[alert_on_error]
#[inline(never)]
fn attribute_after(fail: bool) -> Result<(), String> {
    if fail {
        Err("failed after".to_owned())
    } else {
        Ok(())
    }
}

#[test]
fn fns_with_other_attributes() {
    assert_eq!(quietly(|| attribute_before(false)), Ok(()));
    assert_eq!(
        reported("attribute_before", "failed before", || attribute_before(
            true
        )),
        Err("failed before".to_owned())
    );
    assert_eq!(quietly(|| attribute_after(false)), Ok(()));
    assert_eq!(
        reported("attribute_after", "failed after", || attribute_after(true)),
        Err("failed after".to_owned())
    );
}

/// Several arguments, one of them an owned `String` (`fields`).
#[alert_on_error]
fn register(id: usize, active: bool, name: String) -> Result<String, String> {
    if active {
        Ok(format!("{id}: {name}"))
    } else {
        Err(format!("{name} is inactive"))
    }
}

#[test]
fn several_arguments() {
    assert_eq!(
        quietly(|| register(2, true, "Cool".to_owned())),
        Ok("2: Cool".to_owned())
    );
    assert_eq!(
        reported("register", "Still Cool is inactive", || register(
            3,
            false,
            "Still Cool".to_owned()
        )),
        Err("Still Cool is inactive".to_owned())
    );
}

/// Arguments of a type without `Debug`, some of them unused (`skip`,
/// `skip_all`): `#[alert_on_error]` never looks at arguments it is not told
/// to.
struct Opaque(u32);

#[alert_on_error]
fn add_opaque(base: u32, value: Opaque, _ignored: Opaque) -> Result<u32, String> {
    base.checked_add(value.0)
        .ok_or_else(|| format!("{base} + {} overflows", value.0))
}

#[alert_on_error]
fn ignore_all(_base: u32, _value: Opaque, _ignored: Opaque) -> Result<(), String> {
    Ok(())
}

#[test]
fn arguments_without_debug() {
    assert_eq!(quietly(|| add_opaque(2, Opaque(3), Opaque(4))), Ok(5));
    let message = format!("{} + 1 overflows", u32::MAX);
    assert_eq!(
        reported("add_opaque", &message, || add_opaque(
            u32::MAX,
            Opaque(1),
            Opaque(0)
        )),
        Err(message.clone())
    );
    assert_eq!(quietly(|| ignore_all(1, Opaque(2), Opaque(3))), Ok(()));
}

/// Type parameters, bounded inline and in a `where` clause (`generics`).
#[alert_on_error]
fn describe_pair<S, T: fmt::Debug>(first: S, second: T) -> Result<String, String>
where
    S: fmt::Debug,
{
    let text = format!("{first:?} and {second:?}");
    if text.len() > 20 {
        Err(format!("{text} is too long"))
    } else {
        Ok(text)
    }
}

#[derive(Debug)]
struct Foo;

#[test]
fn generic_fn_with_a_where_clause() {
    assert_eq!(
        quietly(|| describe_pair(Foo, false)),
        Ok("Foo and false".to_owned())
    );
    let message = "Foo and \"a long, long string\" is too long";
    assert_eq!(
        reported("describe_pair", message, || describe_pair(
            Foo,
            "a long, long string"
        )),
        Err(message.to_owned())
    );
}

/// A `&self` method (`methods`; the other receivers are in the last group).
#[derive(Debug)]
struct Scale(usize);

impl Scale {
    #[alert_on_error]
    fn apply(&self, value: usize) -> Result<usize, String> {
        value
            .checked_mul(self.0)
            .ok_or_else(|| format!("{value} * {} overflows", self.0))
    }
}

#[test]
fn method_with_ref_self() {
    let scale = Scale(3);
    assert_eq!(quietly(|| scale.apply(14)), Ok(42));
    let message = format!("{} * 3 overflows", usize::MAX);
    assert_eq!(
        reported("apply", &message, || scale.apply(usize::MAX)),
        Err(message.clone())
    );
}

/// `impl Iterator` in return position, not in a `Result`
/// (`impl_trait_return_type`): passed through, nothing to report.
#[alert_on_error]
fn evens(limit: usize) -> impl Iterator<Item = usize> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[test]
fn fn_returning_impl_iterator() {
    let numbers: Vec<_> = quietly(|| evens(7).collect());
    assert_eq!(numbers, [0, 2, 4, 6]);
}

/// The body calls a module of the user's named like the crate the macro's
/// code calls (`user_tracing_module`, tokio-rs/tracing#3119).
#[test]
fn user_module_named_like_the_crate() {
    mod notify_core {
        pub fn greeting() -> &'static str {
            "hello"
        }
    }

    #[alert_on_error]
    fn greet(loud: bool) -> Result<&'static str, String> {
        let greeting = notify_core::greeting();
        if loud {
            Err(format!("{greeting} is not loud"))
        } else {
            Ok(greeting)
        }
    }

    assert_eq!(quietly(|| greet(false)), Ok("hello"));
    assert_eq!(
        reported("greet", "hello is not loud", || greet(true)),
        Err("hello is not loud".to_owned())
    );
}

// ================================================================ tracing-attributes/tests/destructuring.rs

#[alert_on_error]
fn divide((numerator, denominator): (usize, usize)) -> Result<usize, String> {
    numerator
        .checked_div(denominator)
        .ok_or_else(|| format!("{numerator} / 0"))
}

#[alert_on_error]
fn sum_pairs(((a, b), (c, d)): ((usize, usize), (usize, usize))) -> Result<usize, String> {
    let sum = a + b + c + d;
    if sum > 100 {
        return Err(format!("{sum} is over 100"));
    }
    Ok(sum)
}

#[alert_on_error]
fn non_zero(&n: &usize) -> Result<usize, String> {
    if n == 0 {
        Err("zero".to_owned())
    } else {
        Ok(n)
    }
}

struct Pair(usize, usize);

#[alert_on_error]
fn difference(Pair(larger, smaller): Pair) -> Result<usize, String> {
    larger
        .checked_sub(smaller)
        .ok_or_else(|| format!("{larger} < {smaller}"))
}

struct Interval {
    start: usize,
    end: usize,
}

#[alert_on_error]
fn length(
    Interval {
        start: from,
        end: to,
    }: Interval,
) -> Result<usize, String> {
    to.checked_sub(from)
        .ok_or_else(|| format!("{from}..{to} is backwards"))
}

struct Bundle {
    pair: Wrapped,
    sizes: (usize, usize),
    label: &'static str,
}

struct Wrapped((usize, usize));

#[alert_on_error]
fn total(
    &Bundle {
        pair: Wrapped((a, b)),
        sizes: (c, d),
        ..
    }: &Bundle,
) -> Result<usize, String> {
    let total = a + b + c + d;
    if total == 0 {
        Err("an empty bundle".to_owned())
    } else {
        Ok(total)
    }
}

#[test]
fn destructured_tuples() {
    assert_eq!(quietly(|| divide((6, 2))), Ok(3));
    assert_eq!(
        reported("divide", "6 / 0", || divide((6, 0))),
        Err("6 / 0".to_owned())
    );

    assert_eq!(quietly(|| sum_pairs(((1, 2), (3, 4)))), Ok(10));
    assert_eq!(
        reported("sum_pairs", "200 is over 100", || sum_pairs((
            (50, 50),
            (50, 50)
        ))),
        Err("200 is over 100".to_owned())
    );
}

#[test]
fn destructured_reference() {
    assert_eq!(quietly(|| non_zero(&1)), Ok(1));
    assert_eq!(
        reported("non_zero", "zero", || non_zero(&0)),
        Err("zero".to_owned())
    );
}

#[test]
fn destructured_tuple_struct() {
    assert_eq!(quietly(|| difference(Pair(5, 2))), Ok(3));
    assert_eq!(
        reported("difference", "2 < 5", || difference(Pair(2, 5))),
        Err("2 < 5".to_owned())
    );
}

#[test]
fn destructured_struct() {
    assert_eq!(quietly(|| length(Interval { start: 2, end: 9 })), Ok(7));
    assert_eq!(
        reported("length", "9..2 is backwards", || length(Interval {
            start: 9,
            end: 2
        })),
        Err("9..2 is backwards".to_owned())
    );
}

#[test]
fn destructured_everything() {
    let bundle = Bundle {
        pair: Wrapped((1, 2)),
        sizes: (3, 4),
        label: "full",
    };
    assert_eq!(quietly(|| total(&bundle)), Ok(10));
    assert_eq!(bundle.label, "full");

    let empty = Bundle {
        pair: Wrapped((0, 0)),
        sizes: (0, 0),
        label: "empty",
    };
    assert_eq!(
        reported("total", "an empty bundle", || total(&empty)),
        Err("an empty bundle".to_owned())
    );
    assert_eq!(empty.label, "empty");
}

// ================================================================ tracing-attributes/tests/fields.rs
//
// tracing records arguments and expressions as span fields; the counterpart
// here is `context(...)`, the arguments' `Debug` text in the alert, taken
// when the function is entered.

#[alert_on_error(context(param))]
fn with_param(param: u32) -> Result<u32, String> {
    if param == 0 {
        Err("no param".to_owned())
    } else {
        Ok(param)
    }
}

#[alert_on_error(context(s))]
fn word_length(s: &str) -> Result<usize, String> {
    if s.is_empty() {
        Err("an empty word".to_owned())
    } else {
        Ok(s.len())
    }
}

/// The body shadows the argument the context names (`fn_clashy_expr_field`):
/// the alert shows the argument as it came in.
#[alert_on_error(context(s))]
fn trimmed_length(s: &str) -> Result<usize, String> {
    let s = s.trim();
    if s.is_empty() {
        Err("only blanks".to_owned())
    } else {
        Ok(s.len())
    }
}

#[alert_on_error(context(s))]
fn owned_length(s: String) -> Result<usize, String> {
    if s.is_empty() {
        Err("an empty string".to_owned())
    } else {
        Ok(s.len())
    }
}

/// An argument prefixed with `_` (`fn_keyword_ident_in_field`).
#[alert_on_error(context(_label))]
fn labelled(_label: &str, count: u32) -> Result<u32, String> {
    count
        .checked_sub(1)
        .ok_or_else(|| "nothing left".to_owned())
}

/// Keywords as names, through raw identifiers (tracing's `keywords.impl.type.fn`
/// field): the title names the function without its `r#`.
#[alert_on_error]
fn r#try(r#type: u32) -> Result<u32, String> {
    if r#type == 0 {
        Err("no type".to_owned())
    } else {
        Ok(r#type)
    }
}

#[derive(Debug)]
struct HasField {
    my_field: &'static str,
}

impl HasField {
    #[alert_on_error(context(self))]
    fn field_length(&self) -> Result<usize, String> {
        if self.my_field.is_empty() {
            Err("an empty field".to_owned())
        } else {
            Ok(self.my_field.len())
        }
    }
}

/// One `(name, Debug text)` pair of an alert's context.
fn entry(name: &str, text: &str) -> (String, String) {
    (name.to_owned(), text.to_owned())
}

#[test]
fn context_of_a_parameter() {
    assert_eq!(quietly(|| with_param(1)), Ok(1));
    let (value, alert) = reported_alert("with_param", "no param", || with_param(0));
    assert_eq!(value, Err("no param".to_owned()));
    assert_eq!(alert.context, [entry("param", "0")]);
}

#[test]
fn context_of_str_and_string_arguments() {
    assert_eq!(quietly(|| word_length("hello world")), Ok(11));
    let (value, alert) = reported_alert("word_length", "an empty word", || word_length(""));
    assert_eq!(value, Err("an empty word".to_owned()));
    assert_eq!(alert.context, [entry("s", "\"\"")]);

    assert_eq!(quietly(|| trimmed_length(" hi ")), Ok(2));
    let (value, alert) = reported_alert("trimmed_length", "only blanks", || trimmed_length("   "));
    assert_eq!(value, Err("only blanks".to_owned()));
    assert_eq!(alert.context, [entry("s", "\"   \"")]);

    assert_eq!(quietly(|| owned_length("hello world".to_owned())), Ok(11));
    let (value, alert) = reported_alert("owned_length", "an empty string", || {
        owned_length(String::new())
    });
    assert_eq!(value, Err("an empty string".to_owned()));
    assert_eq!(alert.context, [entry("s", "\"\"")]);
}

#[test]
fn context_of_an_underscore_argument() {
    assert_eq!(quietly(|| labelled("test", 2)), Ok(1));
    let (value, alert) = reported_alert("labelled", "nothing left", || labelled("test", 0));
    assert_eq!(value, Err("nothing left".to_owned()));
    assert_eq!(alert.context, [entry("_label", "\"test\"")]);
}

#[test]
fn raw_identifiers() {
    assert_eq!(quietly(|| r#try(3)), Ok(3));
    assert_eq!(
        reported("try", "no type", || r#try(0)),
        Err("no type".to_owned())
    );
}

#[test]
fn context_of_self() {
    let full = HasField {
        my_field: "hello world",
    };
    assert_eq!(quietly(|| full.field_length()), Ok(11));
    let empty = HasField { my_field: "" };
    let (value, alert) = reported_alert("field_length", "an empty field", || empty.field_length());
    assert_eq!(value, Err("an empty field".to_owned()));
    assert_eq!(
        alert.context,
        [entry("self", "HasField { my_field: \"\" }")]
    );
}

// ================================================================ not in those files: the remaining shapes a user writes

/// Every receiver, in an inherent impl and a trait impl: `self`, `mut self`,
/// `&mut self` returning a borrow of `self` (sync and async), `self: Box<Self>`,
/// `Pin<&mut Self>`, `Arc<Self>`, and associated functions returning
/// `Result<Self, _>` (sync and async).
#[derive(Debug, PartialEq)]
struct Tank {
    level: u32,
}

impl Tank {
    #[alert_on_error]
    fn new(level: u32) -> Result<Self, OutOfStock> {
        if level == 0 {
            return Err(OutOfStock(0));
        }
        Ok(Self { level })
    }

    #[alert_on_error]
    fn into_level(self) -> Result<u32, OutOfStock> {
        if self.level < 10 {
            Err(OutOfStock(self.level))
        } else {
            Ok(self.level)
        }
    }

    #[alert_on_error]
    fn drained(mut self, amount: u32) -> Result<Self, OutOfStock> {
        self.level = self
            .level
            .checked_sub(amount)
            .ok_or(OutOfStock(self.level))?;
        Ok(self)
    }

    #[alert_on_error]
    fn level_mut(&mut self, at_least: u32) -> Result<&mut u32, OutOfStock> {
        if self.level < at_least {
            return Err(OutOfStock(self.level));
        }
        Ok(&mut self.level)
    }

    #[alert_on_error]
    fn pinned_level(self: Pin<&mut Self>, at_least: u32) -> Result<u32, OutOfStock> {
        let this = self.get_mut();
        if this.level < at_least {
            return Err(OutOfStock(this.level));
        }
        Ok(this.level)
    }

    #[alert_on_error]
    fn shared_level(self: Arc<Self>) -> Result<u32, OutOfStock> {
        if self.level == 0 {
            Err(OutOfStock(0))
        } else {
            Ok(self.level)
        }
    }

    #[alert_on_error]
    async fn new_later(level: u32) -> Result<Self, OutOfStock> {
        Suspend(1).await;
        Self::new(level)
    }

    #[alert_on_error]
    async fn level_mut_later(&mut self, at_least: u32) -> Result<&mut u32, OutOfStock> {
        Suspend(1).await;
        self.level_mut(at_least)
    }

    #[alert_on_error]
    fn boxed_level(self: Box<Self>) -> Result<u32, OutOfStock> {
        let tank = *self;
        tank.into_level()
    }
}

trait Drain {
    fn drain(&mut self, amount: u32) -> Result<u32, OutOfStock>;
}

impl Drain for Tank {
    #[alert_on_error]
    fn drain(&mut self, amount: u32) -> Result<u32, OutOfStock> {
        self.level = self
            .level
            .checked_sub(amount)
            .ok_or(OutOfStock(self.level))?;
        Ok(self.level)
    }
}

#[test]
fn every_receiver() {
    assert_eq!(quietly(|| Tank::new(5)), Ok(Tank { level: 5 }));
    assert_eq!(
        reported("new", "out of stock: 0", || Tank::new(0)),
        Err(OutOfStock(0))
    );

    assert_eq!(quietly(|| Tank { level: 12 }.into_level()), Ok(12));
    assert_eq!(
        reported("into_level", "out of stock: 3", || Tank { level: 3 }
            .into_level()),
        Err(OutOfStock(3))
    );

    assert_eq!(
        quietly(|| Tank { level: 5 }.drained(2)),
        Ok(Tank { level: 3 })
    );
    assert_eq!(
        reported("drained", "out of stock: 5", || Tank { level: 5 }
            .drained(6)),
        Err(OutOfStock(5))
    );

    let mut tank = Tank { level: 4 };
    *quietly(|| tank.level_mut(2)).unwrap() += 1;
    assert_eq!(tank.level, 5);
    assert_eq!(
        reported("level_mut", "out of stock: 5", || tank
            .level_mut(6)
            .map(|level| *level)),
        Err(OutOfStock(5))
    );

    assert_eq!(
        quietly(|| Box::new(Tank { level: 11 }).boxed_level()),
        Ok(11)
    );
    // `boxed_level` passes on the error of `into_level`: one alert, the inner one.
    assert_eq!(
        reported("into_level", "out of stock: 1", || Box::new(Tank {
            level: 1
        })
        .boxed_level()),
        Err(OutOfStock(1))
    );

    let mut tank = Tank { level: 6 };
    assert_eq!(quietly(|| Pin::new(&mut tank).pinned_level(2)), Ok(6));
    assert_eq!(
        reported("pinned_level", "out of stock: 6", || Pin::new(&mut tank)
            .pinned_level(9)),
        Err(OutOfStock(6))
    );
    assert_eq!(
        quietly(|| Arc::new(Tank { level: 2 }).shared_level()),
        Ok(2)
    );
    assert_eq!(
        reported("shared_level", "out of stock: 0", || Arc::new(Tank {
            level: 0
        })
        .shared_level()),
        Err(OutOfStock(0))
    );

    assert_eq!(
        quietly(|| block_on(Tank::new_later(7))),
        Ok(Tank { level: 7 })
    );
    // `new_later` passes on the error of `new`: one alert, the inner one.
    assert_eq!(
        reported("new", "out of stock: 0", || block_on(Tank::new_later(0))),
        Err(OutOfStock(0))
    );
    *quietly(|| block_on(tank.level_mut_later(1))).unwrap() += 1;
    assert_eq!(tank.level, 7);
    assert_eq!(
        reported("level_mut", "out of stock: 7", || block_on(
            tank.level_mut_later(8)
        )
        .map(|level| *level)),
        Err(OutOfStock(7))
    );

    let mut tank = Tank { level: 4 };
    assert_eq!(quietly(|| tank.drain(3)), Ok(1));
    assert_eq!(
        reported("drain", "out of stock: 1", || tank.drain(3)),
        Err(OutOfStock(1))
    );
    assert_eq!(tank.level, 1);
}

/// Trait methods without `async-trait`: a native `async fn` and a
/// `fn -> impl Future` in a trait impl, provided methods (sync and `async`)
/// annotated in the trait itself, and the standard conversions, whose error
/// type is an associated type (`Self::Error`, `Self::Err`).
trait Warehouse {
    async fn reserve(&mut self, amount: u32) -> Result<u32, OutOfStock>;

    fn restock_later(&mut self, amount: u32) -> impl Future<Output = Result<u32, OutOfStock>>;

    fn stock(&self) -> u32;

    #[alert_on_error]
    fn require(&self, amount: u32) -> Result<u32, OutOfStock> {
        if self.stock() < amount {
            return Err(OutOfStock(self.stock()));
        }
        Ok(self.stock() - amount)
    }

    #[alert_on_error]
    async fn require_later(&self, amount: u32) -> Result<u32, OutOfStock> {
        Suspend(1).await;
        if self.stock() < amount {
            return Err(OutOfStock(self.stock()));
        }
        Ok(self.stock() - amount)
    }
}

impl Warehouse for Tank {
    #[alert_on_error]
    async fn reserve(&mut self, amount: u32) -> Result<u32, OutOfStock> {
        Suspend(1).await;
        self.level = self
            .level
            .checked_sub(amount)
            .ok_or(OutOfStock(self.level))?;
        Ok(self.level)
    }

    #[alert_on_error]
    #[allow(clippy::manual_async_fn)]
    fn restock_later(&mut self, amount: u32) -> impl Future<Output = Result<u32, OutOfStock>> {
        async move {
            Suspend(1).await;
            if amount == 0 {
                return Err(OutOfStock(self.level));
            }
            self.level += amount;
            Ok(self.level)
        }
    }

    fn stock(&self) -> u32 {
        self.level
    }
}

#[derive(Debug, PartialEq)]
struct Even(u32);

impl TryFrom<u32> for Even {
    type Error = OutOfStock;

    #[alert_on_error]
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        if value % 2 == 1 {
            return Err(OutOfStock(value));
        }
        Ok(Even(value))
    }
}

impl FromStr for Even {
    type Err = std::num::ParseIntError;

    #[alert_on_error]
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value: u32 = text.parse()?;
        Ok(Even(value - value % 2))
    }
}

#[test]
fn trait_methods_without_async_trait() {
    let mut tank = Tank { level: 5 };
    assert_eq!(quietly(|| block_on(tank.reserve(2))), Ok(3));
    assert_eq!(
        reported("reserve", "out of stock: 3", || block_on(tank.reserve(4))),
        Err(OutOfStock(3))
    );
    assert_eq!(quietly(|| block_on(tank.restock_later(2))), Ok(5));
    assert_eq!(
        reported("restock_later", "out of stock: 5", || block_on(
            tank.restock_later(0)
        )),
        Err(OutOfStock(5))
    );

    assert_eq!(quietly(|| tank.require(1)), Ok(4));
    assert_eq!(
        reported("require", "out of stock: 5", || tank.require(6)),
        Err(OutOfStock(5))
    );
    assert_eq!(quietly(|| block_on(tank.require_later(5))), Ok(0));
    assert_eq!(
        reported("require_later", "out of stock: 5", || block_on(
            tank.require_later(9)
        )),
        Err(OutOfStock(5))
    );

    assert_eq!(quietly(|| Even::try_from(4)), Ok(Even(4)));
    assert_eq!(
        reported("try_from", "out of stock: 3", || Even::try_from(3)),
        Err(OutOfStock(3))
    );
    assert_eq!(quietly(|| "7".parse::<Even>()), Ok(Even(6)));
    let bad = "seven".parse::<u32>().unwrap_err();
    assert_eq!(
        reported("from_str", &bad.to_string(), || "seven".parse::<Even>()),
        Err(bad)
    );
}

/// Generic methods of a generic impl, with a bound on the impl.
struct Labelled<T> {
    label: T,
}

impl<T: fmt::Display> Labelled<T> {
    #[alert_on_error]
    fn render<U>(&self, value: U) -> Result<String, String>
    where
        U: fmt::Display + PartialOrd<u32>,
    {
        if value > 99 {
            return Err(format!("{}: {value} is out of range", self.label));
        }
        Ok(format!("{}: {value}", self.label))
    }
}

#[test]
fn generic_method_of_a_generic_impl() {
    let gauge = Labelled { label: "load" };
    assert_eq!(quietly(|| gauge.render(7_u32)), Ok("load: 7".to_owned()));
    assert_eq!(
        reported("render", "load: 120 is out of range", || gauge
            .render(120_u32)),
        Err("load: 120 is out of range".to_owned())
    );
}

/// Lifetimes: a borrow returned inside the `Result`, a lifetime bound, and an
/// `async fn` holding borrows across an `.await`.
#[alert_on_error]
fn longer<'a, 'b: 'a>(first: &'a str, second: &'b str) -> Result<&'a str, String> {
    match first.len().cmp(&second.len()) {
        std::cmp::Ordering::Less => Ok(second),
        std::cmp::Ordering::Greater => Ok(first),
        std::cmp::Ordering::Equal => Err(format!("{first:?} and {second:?} tie")),
    }
}

#[alert_on_error]
async fn first_word<'a>(text: &'a str, separator: &str) -> Result<&'a str, String> {
    Suspend(1).await;
    text.split(separator)
        .next()
        .filter(|word| !word.is_empty())
        .ok_or_else(|| format!("no word before {separator:?}"))
}

#[test]
fn lifetimes() {
    assert_eq!(quietly(|| longer("ab", "abc")), Ok("abc"));
    assert_eq!(
        reported("longer", "\"ab\" and \"cd\" tie", || longer("ab", "cd")),
        Err("\"ab\" and \"cd\" tie".to_owned())
    );

    let text = String::from("hello world");
    assert_eq!(quietly(|| block_on(first_word(&text, " "))), Ok("hello"));
    assert_eq!(
        reported("first_word", "no word before \" \"", || block_on(
            first_word(" world", " ")
        )),
        Err("no word before \" \"".to_owned())
    );
}

/// A const generic parameter, with the standard library's error of a slice
/// conversion.
#[alert_on_error]
fn head<const N: usize>(bytes: &[u8]) -> Result<[u8; N], TryFromSliceError> {
    bytes.get(..N).unwrap_or(bytes).try_into()
}

/// A generic error type, `T::Err`, known only by its bounds.
#[alert_on_error]
fn parse_all<T>(words: &[&str]) -> Result<Vec<T>, T::Err>
where
    T: FromStr,
    T::Err: fmt::Display + fmt::Debug,
{
    words.iter().map(|word| word.parse()).collect()
}

#[test]
fn const_and_associated_type_generics() {
    assert_eq!(
        quietly(|| head::<2>(b"abc").map_err(|e| e.to_string())),
        Ok(*b"ab")
    );
    let short = <[u8; 4]>::try_from(&b"ab"[..]).unwrap_err().to_string();
    assert_eq!(
        reported("head", &short, || head::<4>(b"ab")
            .map_err(|e| e.to_string())),
        Err(short.clone())
    );

    assert_eq!(quietly(|| parse_all::<u8>(&["1", "2"])), Ok(vec![1, 2]));
    let bad = "x".parse::<u8>().unwrap_err();
    assert_eq!(
        reported("parse_all", &bad.to_string(), || parse_all::<u8>(&[
            "1", "x"
        ])),
        Err(bad)
    );
}

/// `impl Trait` and `dyn Trait` in argument position, in a sync and an
/// `async fn`.
#[alert_on_error]
fn sum_all(
    numbers: impl IntoIterator<Item = u32>,
    accept: &dyn Fn(u32) -> bool,
) -> Result<u32, String> {
    let mut sum = 0;
    for number in numbers {
        if !accept(number) {
            return Err(format!("{number} is not accepted"));
        }
        sum += number;
    }
    Ok(sum)
}

#[alert_on_error]
async fn sum_later(numbers: impl IntoIterator<Item = u32>) -> Result<u32, String> {
    Suspend(1).await;
    let sum: u32 = numbers.into_iter().sum();
    if sum == 0 {
        Err("nothing to add".to_owned())
    } else {
        Ok(sum)
    }
}

#[test]
fn impl_and_dyn_trait_arguments() {
    let small = |n: u32| n < 10;
    assert_eq!(quietly(|| sum_all([1, 2, 3], &small)), Ok(6));
    assert_eq!(
        reported("sum_all", "12 is not accepted", || sum_all(
            vec![1, 12],
            &small
        )),
        Err("12 is not accepted".to_owned())
    );

    assert_eq!(quietly(|| block_on(sum_later(1..4))), Ok(6));
    assert_eq!(
        reported("sum_later", "nothing to add", || block_on(sum_later(
            Vec::new()
        ))),
        Err("nothing to add".to_owned())
    );
}

/// `mut` arguments, in a sync and an `async fn`.
#[alert_on_error]
fn countdown(mut from: u32, step: u32) -> Result<u32, String> {
    let mut ticks = 0;
    while from > 0 {
        from = from
            .checked_sub(step)
            .ok_or_else(|| format!("overshot after {ticks} ticks"))?;
        ticks += 1;
    }
    Ok(ticks)
}

#[alert_on_error]
async fn countdown_later(mut from: u32, step: u32) -> Result<u32, String> {
    let mut ticks = 0;
    while from > 0 {
        Suspend(1).await;
        from = from
            .checked_sub(step)
            .ok_or_else(|| format!("overshot after {ticks} ticks"))?;
        ticks += 1;
    }
    Ok(ticks)
}

#[test]
fn mut_arguments() {
    assert_eq!(quietly(|| countdown(9, 3)), Ok(3));
    assert_eq!(
        reported("countdown", "overshot after 2 ticks", || countdown(9, 4)),
        Err("overshot after 2 ticks".to_owned())
    );
    assert_eq!(quietly(|| block_on(countdown_later(6, 2))), Ok(3));
    assert_eq!(
        reported("countdown_later", "overshot after 1 ticks", || block_on(
            countdown_later(5, 3)
        )),
        Err("overshot after 1 ticks".to_owned())
    );
}

/// Patterns tracing's file leaves out: `mut` and `_` inside a pattern, an
/// ignored argument, an array pattern with a rest, a `ref mut` binding
/// inside a `&mut` pattern, an `@` binding, shorthand struct fields, and a
/// destructured argument of an `async fn` and of a method.
#[alert_on_error]
fn spread((mut low, _): (u32, u32), _: &str, [first, .., last]: [u32; 4]) -> Result<u32, String> {
    low += first;
    last.checked_sub(low)
        .ok_or_else(|| format!("{last} < {low}"))
}

#[alert_on_error]
fn accumulate(&mut (ref mut total, step): &mut (u32, u32)) -> Result<u32, String> {
    *total += step;
    if *total > 10 {
        return Err(format!("{total} is over 10"));
    }
    Ok(*total)
}

#[alert_on_error]
fn width(whole @ (left, right): (u8, u8)) -> Result<u8, String> {
    right
        .checked_sub(left)
        .ok_or_else(|| format!("{whole:?} is reversed"))
}

#[alert_on_error]
async fn span_later(Interval { start, end }: Interval) -> Result<usize, String> {
    Suspend(1).await;
    end.checked_sub(start)
        .ok_or_else(|| format!("{start}..{end} is backwards"))
}

impl Scale {
    #[alert_on_error]
    fn apply_pair(&self, (a, b): (usize, usize)) -> Result<(usize, usize), String> {
        Ok((self.apply(a)?, self.apply(b)?))
    }
}

#[test]
fn more_patterns() {
    assert_eq!(quietly(|| spread((1, 0), "ignored", [2, 0, 0, 10])), Ok(7));
    assert_eq!(
        reported("spread", "1 < 5", || spread((3, 0), "", [2, 0, 0, 1])),
        Err("1 < 5".to_owned())
    );

    let mut running = (4, 3);
    assert_eq!(quietly(|| accumulate(&mut running)), Ok(7));
    assert_eq!(quietly(|| accumulate(&mut running)), Ok(10));
    assert_eq!(running, (10, 3));
    assert_eq!(
        reported("accumulate", "13 is over 10", || accumulate(&mut running)),
        Err("13 is over 10".to_owned())
    );
    assert_eq!(running, (13, 3));

    assert_eq!(quietly(|| width((2, 5))), Ok(3));
    assert_eq!(
        reported("width", "(5, 2) is reversed", || width((5, 2))),
        Err("(5, 2) is reversed".to_owned())
    );

    assert_eq!(
        quietly(|| block_on(span_later(Interval { start: 1, end: 4 }))),
        Ok(3)
    );
    assert_eq!(
        reported("span_later", "4..1 is backwards", || block_on(span_later(
            Interval { start: 4, end: 1 }
        ))),
        Err("4..1 is backwards".to_owned())
    );

    let scale = Scale(2);
    assert_eq!(quietly(|| scale.apply_pair((1, 2))), Ok((2, 4)));
    // `apply_pair` passes on the error of `apply`: one alert, the inner one.
    let message = format!("{} * 2 overflows", usize::MAX);
    assert_eq!(
        reported("apply", &message, || scale.apply_pair((1, usize::MAX))),
        Err(message.clone())
    );
}

/// An `unsafe fn`.
///
/// # Safety
///
/// `bytes` must be valid UTF-8.
#[alert_on_error]
unsafe fn trusted_text(bytes: &[u8]) -> Result<&str, String> {
    // SAFETY: the caller promises valid UTF-8.
    let text = unsafe { std::str::from_utf8_unchecked(bytes) };
    if text.is_empty() {
        Err("no text".to_owned())
    } else {
        Ok(text)
    }
}

/// An `async unsafe fn`.
///
/// # Safety
///
/// `bytes` must be valid UTF-8.
#[alert_on_error]
async unsafe fn trusted_text_later(bytes: &[u8]) -> Result<&str, String> {
    Suspend(1).await;
    // SAFETY: the caller promises valid UTF-8.
    let text = unsafe { std::str::from_utf8_unchecked(bytes) };
    text.split_whitespace()
        .next()
        .ok_or_else(|| "no words".to_owned())
}

#[test]
fn unsafe_fn() {
    // SAFETY: both are valid UTF-8.
    assert_eq!(quietly(|| unsafe { trusted_text(b"ok") }), Ok("ok"));
    assert_eq!(
        reported("trusted_text", "no text", || unsafe { trusted_text(b"") }),
        Err("no text".to_owned())
    );
    // SAFETY: both are valid UTF-8.
    assert_eq!(
        quietly(|| block_on(unsafe { trusted_text_later(b"hi there") })),
        Ok("hi")
    );
    assert_eq!(
        reported("trusted_text_later", "no words", || block_on(unsafe {
            trusted_text_later(b"  ")
        })),
        Err("no words".to_owned())
    );
}

/// The error types a user returns: `Box<dyn Error>` (also `+ Send + Sync`),
/// `io::Error`, `std::io::Result`, `anyhow::Result`, and an alias of
/// `Result` of the user's own.
type AppResult<T> = Result<T, OutOfStock>;

#[alert_on_error]
fn boxed_error(n: i32) -> Result<u8, Box<dyn Error>> {
    Ok(u8::try_from(n)?)
}

#[alert_on_error]
async fn boxed_error_later(n: i32) -> Result<u8, Box<dyn Error + Send + Sync>> {
    Suspend(1).await;
    Ok(u8::try_from(n)?)
}

/// `impl Trait` in the error position too, and an `async fn` returning
/// `Result<impl Display, Box<dyn Error>>`.
#[alert_on_error]
fn opaque_error(n: i32) -> Result<u8, impl Error> {
    u8::try_from(n)
}

#[alert_on_error]
async fn opaque_value_later(n: i32) -> Result<impl fmt::Display, Box<dyn Error>> {
    Suspend(1).await;
    Ok(u8::try_from(n)?)
}

/// A module's own alias named `Result`, hiding the prelude's.
mod inventory {
    use super::{alert_on_error, OutOfStock};

    pub type Result<T> = std::result::Result<T, OutOfStock>;

    #[alert_on_error]
    pub fn take(stock: u32, amount: u32) -> Result<u32> {
        stock.checked_sub(amount).ok_or(OutOfStock(stock))
    }
}

#[alert_on_error]
fn io_error(path: &str) -> Result<usize, io::Error> {
    if path.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no path"));
    }
    Ok(path.len())
}

#[alert_on_error]
fn io_result(path: &str) -> io::Result<usize> {
    io_error(path).map(|len| len * 2)
}

#[alert_on_error]
fn with_anyhow(n: i32) -> anyhow::Result<u8> {
    let small = u8::try_from(n)?;
    anyhow::ensure!(small != 0, "zero is not allowed");
    Ok(small)
}

#[alert_on_error]
fn with_alias(stock: u32) -> AppResult<u32> {
    if stock == 0 {
        Err(OutOfStock(0))
    } else {
        Ok(stock)
    }
}

#[test]
fn error_types() {
    let message = too_big().to_string();

    assert_eq!(quietly(|| boxed_error(7).map_err(|e| e.to_string())), Ok(7));
    assert_eq!(
        reported("boxed_error", &message, || boxed_error(1234)
            .map_err(|e| e.to_string())),
        Err(message.clone())
    );

    assert_eq!(
        quietly(|| block_on(boxed_error_later(8)).map_err(|e| e.to_string())),
        Ok(8)
    );
    assert_eq!(
        reported("boxed_error_later", &message, || block_on(
            boxed_error_later(-1)
        )
        .map_err(|e| e.to_string())),
        Err(message.clone())
    );

    assert_eq!(quietly(|| io_error("a/b").map_err(|e| e.kind())), Ok(3));
    assert_eq!(
        reported("io_error", "no path", || io_error("").map_err(|e| e.kind())),
        Err(io::ErrorKind::NotFound)
    );
    assert_eq!(quietly(|| io_result("a/b").map_err(|e| e.kind())), Ok(6));
    // `io_result` passes on the error of `io_error`: one alert, the inner one.
    assert_eq!(
        reported("io_error", "no path", || io_result("")
            .map_err(|e| e.kind())),
        Err(io::ErrorKind::NotFound)
    );

    assert_eq!(quietly(|| with_anyhow(3).map_err(|e| e.to_string())), Ok(3));
    assert_eq!(
        reported("with_anyhow", "zero is not allowed", || with_anyhow(0)
            .map_err(|e| e.to_string())),
        Err("zero is not allowed".to_owned())
    );
    assert_eq!(
        reported("with_anyhow", &message, || with_anyhow(1234)
            .map_err(|e| e.to_string())),
        Err(message.clone())
    );

    assert_eq!(
        quietly(|| opaque_error(5).map_err(|e| e.to_string())),
        Ok(5)
    );
    assert_eq!(
        reported("opaque_error", &message, || opaque_error(1234)
            .map_err(|e| e.to_string())),
        Err(message.clone())
    );
    fn shown(result: Result<impl fmt::Display, Box<dyn Error>>) -> Result<String, String> {
        result
            .map(|value| value.to_string())
            .map_err(|error| error.to_string())
    }
    assert_eq!(
        quietly(|| shown(block_on(opaque_value_later(9)))),
        Ok("9".to_owned())
    );
    assert_eq!(
        reported("opaque_value_later", &message, || shown(block_on(
            opaque_value_later(1234)
        ))),
        Err(message.clone())
    );

    assert_eq!(quietly(|| inventory::take(5, 2)), Ok(3));
    assert_eq!(
        reported("take", "out of stock: 1", || inventory::take(1, 2)),
        Err(OutOfStock(1))
    );

    assert_eq!(quietly(|| with_alias(2)), Ok(2));
    assert_eq!(
        reported("with_alias", "out of stock: 0", || with_alias(0)),
        Err(OutOfStock(0))
    );
}

/// An explicit early `return Err(..)` from inside a loop, in a sync and an
/// `async fn`.
#[alert_on_error]
fn first_odd(numbers: &[u32]) -> Result<u32, String> {
    for &n in numbers {
        if n % 2 == 1 {
            return Ok(n);
        }
    }
    Err(format!("no odd number in {numbers:?}"))
}

#[alert_on_error]
async fn first_odd_later(numbers: Vec<u32>) -> Result<u32, String> {
    for n in &numbers {
        Suspend(1).await;
        if n % 2 == 1 {
            return Ok(*n);
        }
    }
    Err(format!("no odd number in {numbers:?}"))
}

#[test]
fn early_returns_from_a_loop() {
    assert_eq!(quietly(|| first_odd(&[2, 3, 5])), Ok(3));
    assert_eq!(
        reported("first_odd", "no odd number in [2, 4]", || first_odd(&[
            2, 4
        ])),
        Err("no odd number in [2, 4]".to_owned())
    );
    assert_eq!(quietly(|| block_on(first_odd_later(vec![4, 7]))), Ok(7));
    assert_eq!(
        reported("first_odd_later", "no odd number in []", || block_on(
            first_odd_later(Vec::new())
        )),
        Err("no odd number in []".to_owned())
    );
}

// Attributes on parameters stay with them: a parameter removed by
// `#[cfg(..)]` is gone from the body too, and a parameter's own
// `#[allow(unused_variables)]` / `#[expect(unused_variables)]` still covers
// it (the attribute rebinds each argument with its attributes).
mod parameter_attributes {
    use super::alert_on_error;

    #[alert_on_error]
    pub fn cfg_removed(#[cfg(any())] removed: u32, kept: u32) -> Result<u32, String> {
        Ok(kept)
    }

    #[alert_on_error]
    pub async fn cfg_removed_async(#[cfg(any())] removed: u32, kept: u32) -> Result<u32, String> {
        Ok(kept)
    }

    #[alert_on_error]
    pub fn allowed_unused(#[allow(unused_variables)] unused: u32) -> Result<(), String> {
        Ok(())
    }

    #[alert_on_error]
    pub fn expected_unused(#[expect(unused_variables)] unused: u32) -> Result<(), String> {
        Err(String::from("refused"))
    }
}

#[test]
fn parameter_attributes_stay_with_their_parameters() {
    let alerts = capture_alerts(|| {
        assert_eq!(parameter_attributes::cfg_removed(4), Ok(4));
        assert_eq!(block_on(parameter_attributes::cfg_removed_async(5)), Ok(5));
        assert_eq!(parameter_attributes::allowed_unused(1), Ok(()));
    });
    assert!(alerts.is_empty(), "{alerts:#?}");
    let alerts = capture_alerts(|| {
        assert!(parameter_attributes::expected_unused(1).is_err());
    });
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].message, "refused");
}
