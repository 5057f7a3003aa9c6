//! Support for the code that `#[alert_on_error]` generates. Not public API:
//! nothing here is covered by semver, and nothing here should be called by
//! hand. The attribute's documentation shows what it expands to.
//!
//! This module only re-exports: each piece lives in a file named for what it
//! does (the call site and context in `capture`, the sync guard, the async
//! watch, the autoref description of errors, the probe of what a function
//! returned, the `Err` report).

mod describe;
mod guard;
mod probe;
mod result;
mod watch;

pub use crate::alert::Severity;
pub use crate::capture::{
    debug, entered, not_entered, CallSite, Context, Entered, ErrorRef, MonitorSite, SitePrefix,
};
pub use crate::storm::RepeatSlot;
pub use describe::{
    DescribeAsError, DescribeAsErrorSendSync, DescribeDebug, DescribeDisplay, DescribeError,
    DescribeNothing, DescribeText, IntoErrorRef, NotReportable, PlainText, Wrap,
};
pub use guard::{call_once, ContextSlot, Monitored, NoContext, PanicGuard, SiteFn};
pub use probe::{
    BoxedDynFuture, KindBoxedFuture, KindFuture, KindOther, KindResult, OutputOther, OutputResult,
    Probe, ProbeBoxedFuture, ProbeFuture, ProbeOther, ProbeResult,
};
pub use result::report_result;
pub use watch::{Watch, WatchThen};
