//! Reporting an `Err` that a wrapped function returned.

use super::guard::ContextSlot;
use crate::capture::{report, CallSite, Entered, ErrorRef, Origin, Report, Subject};

/// Reports an `Err` returned by the function at `site` and returns the
/// result unchanged. Outlined and cold, and it takes the result by value: the
/// wrapped function's `Ok` path never needs the result in memory. `describe`
/// (the macro's autoref specialisation) only describes; the report is made
/// after it returns, so its frame is not in the backtrace.
#[cold]
#[inline(never)]
pub fn report_result<T, E, C, D>(
    site: &'static CallSite,
    result: Result<T, E>,
    context: C,
    entered: Entered,
    describe: D,
) -> Result<T, E>
where
    C: ContextSlot,
    D: for<'e> FnOnce(&'e E) -> ErrorRef<'e>,
{
    if let Err(error) = &result {
        report(
            Report::new(Origin::Site(site), Subject::Error(describe(error)))
                .context(context.into_context())
                .returned_from(entered),
        );
    }
    result
}
