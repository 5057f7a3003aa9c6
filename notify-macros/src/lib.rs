//! The `#[alert_on_error]` and `#[monitor]` attributes of `notify-core`.
//!
//! Use it through `notify_core::alert_on_error`: the generated code calls into
//! `notify_core`, which this crate does not depend on.

mod args;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Sends an alert when the function returns `Err` or panics.
///
/// ```ignore
/// use notify_core::alert_on_error;
///
/// #[alert_on_error]
/// fn nightly_export(day: Date) -> Result<(), ExportError> {
///     let rows = load(day)?;
///     upload(rows)?;
///     Ok(())
/// }
/// ```
///
/// The function keeps its signature, visibility, documentation and other
/// attributes as written, and behaves as before: it returns the same value, `return`
/// and `?` keep their meaning, and a panic continues to unwind with the same
/// payload after it has been reported (so `catch_unwind` and
/// `#[should_panic(expected = "...")]` see what they saw before). With no
/// notifier installed nothing is sent or printed, and the cost of a call is one
/// atomic load.
///
/// # What it accepts
///
/// Sync and `async fn`; free functions, inherent and trait-impl methods (`self`,
/// `&self`, `&mut self`); generics, lifetimes and `where` clauses; `impl Trait`
/// in argument and return position; `unsafe fn`; any other attributes beside it
/// (`#[inline]`, `#[must_use]`, `#[test]`, `#[tokio::test]` in either order).
/// A sync `fn ... -> !` is watched for panics. An `async fn`'s future stays
/// `Send` whenever the body's is.
/// Not a `const fn` (an alert happens at run time) and not a non-function item:
/// both are compile errors.
///
/// # What stays as it was
///
/// - **Arguments drop in the same order** as without the attribute: the
///   body takes every argument (not only the parts it mentions) and drops
///   them after its own locals, last argument first. (A `mut` moves from the
///   argument to the body's binding of it, and an argument written `_` gets
///   a name; neither changes the function's type.)
/// - **`#[track_caller]`** on a sync function keeps `Location::caller()` and
///   the location of a panic at the caller: the body runs in a nested
///   `#[track_caller]` fn rather than a closure. On a method (or a function
///   that mentions `Self`) that is impossible — a nested fn sees neither
///   `Self` nor the impl's generics, and closures cannot track their caller
///   on stable Rust — so it is a compile error that says what to do, not a
///   silent change of location.
/// - **Warnings**: an unused annotated function warns `dead_code` (and
///   `#[expect(dead_code)]` on it is fulfilled); an unused argument warns
///   `unused_variables` at the argument; a type error in the body is
///   reported at the body's tokens.
///
/// # Which functions report errors
///
/// Whether a function returns a result is decided by the **type** it
/// returns, not by how the type is spelled: `Result<T, E>`,
/// `std::io::Result<T>`, `anyhow::Result<T>`, `std::fmt::Result`, and every
/// alias of `core::result::Result` whatever its name (`AppResult<T>`,
/// `IResult<I, O>`, `PyResult<T>`). A type that is merely *named* `Result`
/// but is not one compiles and is watched for panics. An `Err` is reported
/// with its `Display` text and, when the error implements
/// `std::error::Error` (or is an `anyhow::Error`, `eyre::Report` or
/// `Box<dyn Error>`), its `source()` chain; an error type with only `Debug`
/// is reported with its `Debug` text. An error type with neither is a
/// compile error at the return type.
///
/// # Functions that return a future
///
/// A sync function that returns a future is watched while the future is
/// polled, exactly like an `async fn`: its `Err` output is reported once,
/// when the future completes, and a panic while it is polled is reported
/// and goes on unwinding with the same payload; a future dropped before it
/// completes reports nothing. This covers:
///
/// - `#[async_trait]` methods (async-trait turns them into functions that
///   return a boxed future before this attribute sees them);
/// - `-> Pin<Box<dyn Future<Output = ..> + 'a>>` with any of `Send` and
///   `Sync`, and aliases of it such as `BoxFuture`: the future returned is a
///   boxed watch of the original, of the very same type, so the function
///   keeps its auto traits and lifetimes;
/// - `-> impl Future<Output = ..>` (with any other bounds and lifetimes):
///   a watch of the future, with the same auto traits.
///
/// A function that returns a future of a named type (`-> JoinHandle<T>`,
/// `-> Ready<T>`) keeps that type: it is watched for panics while it runs,
/// and the future it returns is not wrapped.
///
/// # One failure, one alert
///
/// An `Err` that propagates out through several annotated functions —
/// nested calls, recursion, an `async fn` awaiting another — is reported
/// once, by the innermost. The rule: an outer function's `Err` is the same
/// failure when an annotated function it called (directly or not) reported
/// an error during this call, on this thread, that error is the outer one
/// or one of its `source()` chain (the same text) — what `?`,
/// `anyhow::Context` and `thiserror`'s `#[from]` produce — and the outer
/// function routes nowhere further (its `sinks(..)` among the inner one's,
/// its severity no higher). An outer function that returns a *different*
/// error after handling the inner one still reports its own, and so does
/// one whose error only quotes the inner one's text. Calls side by side
/// never count as one failure.
/// An error handed across threads (a spawned task's result awaited through
/// its `JoinHandle`, a joined thread's) is one failure too: there, "during
/// this call" means a first report by an annotated function anywhere in the
/// process after the outer call started and at most 10 s before its own,
/// with the same text and routing (the last 16 are kept). The price of not
/// knowing which tasks a call awaited: two unrelated calls on different
/// threads failing with the very same text within those seconds count as
/// one. A repeat on another thread (counted, not reported) leaves nothing
/// to match, so in a loop the awaiting function alerts once too, then its
/// repeats are counted. A panic is reported once, by the innermost
/// annotated function it unwinds through.
///
/// # Options
///
/// `#[alert_on_error(option, ...)]`, each at most once:
///
/// - `severity = "warning" | "error" | "critical"`: the alert's severity. By
///   default an `Err` is `"error"` and a panic is `"critical"`; the option sets
///   both.
/// - `title = "..."`: the alert's title, instead of one built from the function name.
/// - `sinks("ops", ...)`: send only to the sinks with these names (see the
///   sinks' `.named(...)`); by default every sink receives the alert.
/// - `context(arg, ...)`: add these arguments' `Debug` text to the alert
///   (`self` too, in a method). Nothing else of the arguments is ever sent.
///   Like the fields of `tracing`'s `#[instrument]`, the values are formatted
///   when the function is entered (the body may move or change them), and only
///   when a notifier is installed.
/// - `crate = "path"`: where `notify_core` is, when you reach it through a
///   re-export (`crate = "my_app::reexports::notify_core"`).
/// - `result`: accepted for compatibility, and no longer needed: a result
///   is recognised by its type, whatever its name.
///
/// ```ignore
/// #[alert_on_error(severity = "critical", title = "Billing run failed", sinks("ops"), context(day))]
/// async fn bill(day: Date, customers: &[Customer]) -> anyhow::Result<Summary> {
///     /* ... */
/// }
/// ```
///
/// # What it expands to
///
/// The code you would write by hand without the macro (`__private` is
/// `notify_core`'s hidden support module, not public API):
///
/// ```ignore
/// fn nightly_export(day: Date) -> Result<(), ExportError> {
///     static __NOTIFY_SITE: ::notify_core::__private::CallSite = ::notify_core::__private::CallSite {
///         function: "nightly_export",
///         module_path: module_path!(),
///         file: file!(),
///         line: line!(),
///         severity: None,
///         title: None,
///         sinks: &[],
///         // The site's part of the storm-control fingerprint, hashed at compile time.
///         fingerprint_prefix: ::notify_core::__private::SitePrefix::new(module_path!(), "nightly_export", file!(), line!()),
///         // Where storm control counts repeats of this site's latest error
///         // without touching its shared table.
///         repeats: ::notify_core::__private::RepeatSlot::new(),
///     };
///     // Zero-sized without `context(...)`; the values' `Debug` text with it.
///     let __notify_context = ::notify_core::__private::NoContext;
///     // Reports a panic from its `Drop` while the body unwinds. The site is
///     // named by a closure that captures nothing, so the guard is zero-sized.
///     let __notify_guard = ::notify_core::__private::PanicGuard::new(|| &__NOTIFY_SITE, __notify_context);
///     // A closure, so that `return` and `?` in the body keep their meaning;
///     // called through an `FnOnce` bound, so the body may return borrows of
///     // `&mut` arguments.
///     let __notify_result: Result<(), ExportError> = ::notify_core::__private::call_once(move || {
///         let rows = load(day)?;
///         upload(rows)?;
///         Ok(())
///     });
///     let __notify_context = __notify_guard.disarm();
///     // What was returned is probed by its type (autoref specialisation:
///     // `(&&&&__private::Probe::of(&value)).__notify_kind()`): a `Result`, a
///     // boxed `dyn Future`, a future standing for an `impl Future`, or
///     // anything else. For a `Result` this is `if result.is_err() { <an
///     // outlined, cold call that reports it> } else { result }`: the `Ok`
///     // path never stores the result, so it costs one branch. The first
///     // closure describes the error by the richest trait its type has —
///     // `Error` (with the `source()` chain), `AsRef<dyn Error>`, plain text,
///     // `Display`, `Debug` — again by autoref specialisation; the second
///     // checks a returned future's output when it completes.
///     let __notify_result = (&&&&::notify_core::__private::Probe::of(&__notify_result))
///         .__notify_kind()
///         .handle(__notify_result, &__NOTIFY_SITE, __notify_context, |err| /* ... */, |output, context| /* ... */);
///     __notify_result
/// }
/// ```
///
/// An `async fn` stays an `async fn`; its body runs as `async move { ... }`
/// inside `__private::Watch`, which guards each poll the same way, so a panic
/// is reported on whichever thread polls the future, and hands the context
/// back with the output. Without `context(...)`, `Watch` adds one `u64` to
/// the future — when the call started, so that a failure an inner call
/// reported on another thread meanwhile is recognised — and nothing else.
#[proc_macro_attribute]
pub fn alert_on_error(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into(), args::Attribute::AlertOnError).into()
}

/// Monitors a function that is one run of a job (a batch job, a cron
/// task, a daemon's cycle): its failure is an alert with the run's
/// duration; with `notify(start, success)` its start and success are
/// messages too; `max_runtime` alerts once when a run goes on too long; and
/// every run checks in with a heartbeat service, when one is configured.
///
/// ```ignore
/// use notify_core::monitor;
///
/// #[monitor(name = "nightly-export", notify(start, success), max_runtime = "2h")]
/// fn nightly_export(day: Date) -> anyhow::Result<u64> {
///     /* ... */
/// }
/// ```
///
/// What it accepts, what stays as it was, which functions report errors,
/// and how one failure stays one alert: all as for
/// [`alert_on_error`](macro@alert_on_error), which this attribute is, with
/// the run around it. A run starts when the function is entered (an
/// `async fn`: when its future is first polled; a function returning a
/// future: when it is called) and ends when it returns — an `Ok` or any
/// value that is not a result is a success — or fails (`Err` or panic).
/// A future dropped before it completes ends its run as cancelled: a
/// warning (or the `severity` option's). A function returning a future of a named type (`JoinHandle`)
/// is not wrapped (see `#[alert_on_error]`): its run ends when it returns.
/// With no notifier installed a run costs one atomic load.
///
/// # Messages
///
/// With the host's name, in every sink, at [`Severity::Info`] for news and
/// as alerts for trouble:
///
/// - `nightly-export started on web-1` (with `notify(start)`);
/// - `nightly-export succeeded in 3m 12s on web-1` (with `notify(success)`,
///   and the returned value's `Debug` text with `success_value`);
/// - `nightly-export failed after 41s: disk full` — the alert of the failure
///   (an `Err` or a panic; severity as for `#[alert_on_error]`), with the
///   error, its causes, the backtrace and the run's duration;
/// - `nightly-export still running after 2h` (a warning, once per run, when
///   `max_runtime` passes; the run goes on). The run's end — success or
///   failure — is then always told, and resolves it in Alertmanager.
///
/// The job's thread only stamps the time, draws a run id and names itself
/// (and with `success_value` formats the value, bounded): messages, timers
/// and check-ins are the dispatcher's.
///
/// # Options
///
/// - `name = "nightly-export"`: the job's name, a slug (lowercase ASCII
///   letters, digits, `-`, `_`), checked at compile time. Default: the
///   function's name.
/// - `notify(start, success)`: either or both.
/// - `success_value`: a success message says what the run returned (its
///   `Debug` text, bounded; the type must be `Debug`).
/// - `max_runtime = "90s" | "15m" | "2h" | "1h30m" | "1d"`: checked at
///   compile time.
/// - `severity`, `title`, `sinks(..)`, `context(..)`, `crate`: as on
///   `#[alert_on_error]` (`severity` and `title` apply to the failure; a
///   `title` replaces the "failed after" one).
///
/// # Heartbeat check-ins
///
/// With `.heartbeat(url)` or `NOTIFY_HEARTBEAT_URL`, every run checks in
/// with the healthchecks.io protocol: `<url>/<job>/start`, then `<url>/<job>`
/// or `<url>/<job>/fail` (the error and backtrace as the body), each with
/// `?create=1&rid=<run id>`. A check-in that fails never fails or delays
/// the job.
///
/// [`Severity::Info`]: https://docs.rs/notify-core/latest/notify_core/enum.Severity.html
#[proc_macro_attribute]
pub fn monitor(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into(), args::Attribute::Monitor).into()
}
