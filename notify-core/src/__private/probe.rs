//! Deciding by type what a wrapped function returned: a `Result` (any
//! alias of `core::result::Result`, whatever its name), a boxed
//! `dyn Future` (what `#[async_trait]` methods and `BoxFuture` return), any
//! future (for an `impl Future` return), or anything else — chosen at
//! compile time by autoref specialisation over [`Probe`], never by how the
//! return type is spelled.
//!
//! The macro calls `(&&&&Probe::of(&value)).__notify_kind()` with the
//! `Probe*` traits in scope, and then the chosen kind's `handle`; each kind
//! takes the same two closures (a description of the error, a check of a
//! future's output), typed by its own bounds, so the one expansion compiles
//! whatever the type turns out to be. A future's output is checked the same
//! way, with `__notify_output_kind` (results or anything else).

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use super::guard::{ContextSlot, SiteFn};
use super::result::report_result;
use super::watch::WatchThen;
use crate::capture::{CallSite, Entered, ErrorRef};

/// The type of a value, for autoref specialisation (holds no value).
pub struct Probe<R>(PhantomData<fn() -> R>);

impl<R> Probe<R> {
    /// The probe of `value`'s type.
    #[inline(always)]
    pub fn of(_value: &R) -> Self {
        Probe(PhantomData)
    }
}

/// Level 1: a `Result`.
pub trait ProbeResult {
    /// The kind of the returned value.
    fn __notify_kind(&self) -> KindResult;
}
impl<T, E> ProbeResult for &&&Probe<Result<T, E>> {
    #[inline(always)]
    fn __notify_kind(&self) -> KindResult {
        KindResult
    }
}

/// Level 2: a boxed `dyn Future` (see [`BoxedDynFuture`]).
pub trait ProbeBoxedFuture {
    /// The kind of the returned value.
    fn __notify_kind(&self) -> KindBoxedFuture;
}
impl<B: BoxedDynFuture> ProbeBoxedFuture for &&Probe<B> {
    #[inline(always)]
    fn __notify_kind(&self) -> KindBoxedFuture {
        KindBoxedFuture
    }
}

/// Level 3: any future — only in scope when the return type is
/// `impl Future`, where a wrapper may stand for it.
pub trait ProbeFuture {
    /// The kind of the returned value.
    fn __notify_kind(&self) -> KindFuture;
}
impl<F: Future> ProbeFuture for &Probe<F> {
    #[inline(always)]
    fn __notify_kind(&self) -> KindFuture {
        KindFuture
    }
}

/// Level 4, the fallback: anything else (watched for panics only).
pub trait ProbeOther {
    /// The kind of the returned value.
    fn __notify_kind(&self) -> KindOther;
}
impl<R> ProbeOther for Probe<R> {
    #[inline(always)]
    fn __notify_kind(&self) -> KindOther {
        KindOther
    }
}

/// A future's output, level 1: a `Result`.
pub trait OutputResult {
    /// The kind of the output.
    fn __notify_output_kind(&self) -> KindResult;
}
impl<T, E> OutputResult for &Probe<Result<T, E>> {
    #[inline(always)]
    fn __notify_output_kind(&self) -> KindResult {
        KindResult
    }
}

/// A future's output, level 2: anything else.
pub trait OutputOther {
    /// The kind of the output.
    fn __notify_output_kind(&self) -> KindOther;
}
impl<R> OutputOther for Probe<R> {
    #[inline(always)]
    fn __notify_output_kind(&self) -> KindOther {
        KindOther
    }
}

/// The value is a `Result`: its `Err` is reported.
pub struct KindResult;

impl KindResult {
    /// Reports `value` if it is an `Err` (outlined and cold), and returns it.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn handle<T, E, S, C, D, K, V>(
        self,
        value: Result<T, E>,
        site: S,
        context: C,
        entered: Entered,
        describe: D,
        _check: K,
        success: V,
    ) -> Result<T, E>
    where
        S: SiteFn,
        C: ContextSlot,
        D: for<'e> FnOnce(&'e E) -> ErrorRef<'e>,
        K: FnOnce(Infallible, C, Entered) -> Infallible,
        V: for<'v> FnOnce(&'v T) -> Option<String>,
    {
        self.handle_output(value, site.site(), context, entered, describe, success)
    }

    /// [`handle`](Self::handle) for a future's output.
    #[inline(always)]
    pub fn handle_output<T, E, C, D, V>(
        self,
        value: Result<T, E>,
        site: &'static CallSite,
        context: C,
        entered: Entered,
        describe: D,
        success: V,
    ) -> Result<T, E>
    where
        C: ContextSlot,
        D: for<'e> FnOnce(&'e E) -> ErrorRef<'e>,
        V: for<'v> FnOnce(&'v T) -> Option<String>,
    {
        match &value {
            // `black_box` after the call: never a tail call, so the wrapped
            // function's own frame is in the backtrace.
            Err(_) => std::hint::black_box(report_result(site, value, context, entered, describe)),
            Ok(ok) => {
                // Nothing, unless the call is a monitored run's.
                context.succeeded(ok, success);
                value
            }
        }
    }
}

/// Anything else: returned as it is.
pub struct KindOther;

impl KindOther {
    /// Returns `value`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn handle<R, S, C, D, K, V>(
        self,
        value: R,
        _site: S,
        context: C,
        _entered: Entered,
        _describe: D,
        _check: K,
        success: V,
    ) -> R
    where
        C: ContextSlot,
        D: for<'e> FnOnce(&'e Infallible) -> ErrorRef<'e>,
        K: FnOnce(Infallible, C, Entered) -> Infallible,
        V: for<'v> FnOnce(&'v R) -> Option<String>,
    {
        context.succeeded(&value, success);
        value
    }

    /// [`handle`](Self::handle) for a future's output.
    #[inline(always)]
    pub fn handle_output<R, C, D, V>(
        self,
        value: R,
        _site: &'static CallSite,
        context: C,
        _entered: Entered,
        _describe: D,
        success: V,
    ) -> R
    where
        C: ContextSlot,
        D: for<'e> FnOnce(&'e Infallible) -> ErrorRef<'e>,
        V: for<'v> FnOnce(&'v R) -> Option<String>,
    {
        context.succeeded(&value, success);
        value
    }
}

/// A boxed `dyn Future`: boxed again around a watch of it, same type.
pub struct KindBoxedFuture;

impl KindBoxedFuture {
    /// The future, watched: its panics and its output checked by `check`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn handle<B, S, C, D, K, V>(
        self,
        value: B,
        site: S,
        context: C,
        _entered: Entered,
        _describe: D,
        check: K,
        _success: V,
    ) -> B
    where
        B: BoxedDynFuture,
        S: SiteFn + Send + Sync + 'static,
        C: ContextSlot + Send + Sync + 'static,
        D: for<'e> FnOnce(&'e Infallible) -> ErrorRef<'e>,
        K: FnOnce(B::Output, C, Entered) -> B::Output + Copy + Send + Sync + 'static,
        V: for<'v> FnOnce(&'v Infallible) -> Option<String>,
    {
        value.watched(site, context, check)
    }
}

/// Any future, for an `impl Future` return: a watch of it stands for it.
pub struct KindFuture;

impl KindFuture {
    /// The future, watched: its panics and its output checked by `check`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn handle<F, S, C, D, K, V>(
        self,
        value: F,
        site: S,
        context: C,
        _entered: Entered,
        _describe: D,
        check: K,
        _success: V,
    ) -> WatchThen<S, F, C, K>
    where
        F: Future,
        S: SiteFn,
        C: ContextSlot,
        D: for<'e> FnOnce(&'e Infallible) -> ErrorRef<'e>,
        K: FnOnce(F::Output, C, Entered) -> F::Output + Copy,
        V: for<'v> FnOnce(&'v Infallible) -> Option<String>,
    {
        WatchThen::new(site, context, value, check)
    }
}

/// `Pin<Box<dyn Future<Output = O> + 'a>>`, with any of `Send` and `Sync`:
/// what `#[async_trait]` methods and `BoxFuture` aliases return. Watching
/// one boxes the watch and coerces it back to the very same type, so the
/// function keeps its signature, its auto traits and its lifetimes.
pub trait BoxedDynFuture: Sized {
    /// The future's output.
    type Output;

    /// The same type, watching `self`.
    fn watched<S, C, K>(self, site: S, context: C, check: K) -> Self
    where
        S: SiteFn + Send + Sync + 'static,
        C: ContextSlot + Send + Sync + 'static,
        K: FnOnce(Self::Output, C, Entered) -> Self::Output + Copy + Send + Sync + 'static;
}

macro_rules! boxed_dyn_future {
    ($($bounds:tt)*) => {
        impl<'a, O: 'a> BoxedDynFuture for Pin<Box<dyn Future<Output = O> $($bounds)* + 'a>> {
            type Output = O;

            fn watched<S, C, K>(self, site: S, context: C, check: K) -> Self
            where
                S: SiteFn + Send + Sync + 'static,
                C: ContextSlot + Send + Sync + 'static,
                K: FnOnce(O, C, Entered) -> O + Copy + Send + Sync + 'static,
            {
                Box::pin(WatchThen::new(site, context, self, check))
            }
        }
    };
}

boxed_dyn_future!();
boxed_dyn_future!(+ Send);
boxed_dyn_future!(+ Sync);
boxed_dyn_future!(+ Send + Sync);
