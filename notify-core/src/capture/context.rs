//! The `context(...)` values of an annotated call: their `Debug` text,
//! formatted on entry, bounded, and only while someone listens.

use std::fmt::Debug;

use super::run::RunRef;

/// The `Debug` text of the `context(...)` arguments, formatted on entry, and
/// only when a notifier is installed.
#[derive(Debug, Default)]
// Two pointers (not a `Vec`'s three words and a run's six): it lives in
// every wrapped call's frame and every `async fn`'s state, and is almost
// always empty.
#[allow(clippy::box_collection)]
pub struct Context {
    values: Option<Box<Vec<(&'static str, String)>>>,
    /// The monitored run a failure ends (`#[monitor]`).
    run: Option<Box<RunRef>>,
}

impl Context {
    /// Runs `f` only if a notifier is installed (one atomic load otherwise).
    #[inline]
    pub fn capture(f: impl FnOnce() -> Vec<(&'static str, String)>) -> Self {
        if super::listening::is_listening() {
            Context::of_values(f())
        } else {
            Context::none()
        }
    }

    /// The values, name and `Debug` text.
    pub(crate) fn into_values(self) -> Vec<(&'static str, String)> {
        self.values.map(|values| *values).unwrap_or_default()
    }

    /// No context.
    #[inline]
    pub const fn none() -> Self {
        Context {
            values: None,
            run: None,
        }
    }

    /// These values (for tests).
    #[cfg(test)]
    pub(crate) fn of(values: Vec<(&'static str, String)>) -> Self {
        Context::of_values(values)
    }

    /// These values, already formatted and bounded (a logged event's).
    pub(crate) fn of_values(values: Vec<(&'static str, String)>) -> Self {
        Context {
            values: Some(Box::new(values)),
            run: None,
        }
    }

    /// The same, about a failure that ends `run`.
    pub(crate) fn with_run(mut self, run: RunRef) -> Self {
        self.run = Some(Box::new(run));
        self
    }

    /// The run this failure ends, if any.
    pub(crate) fn take_run(&mut self) -> Option<RunRef> {
        self.run.take().map(|run| *run)
    }
}

/// `{:?}` of a context value, cut to a sane size. Formatting stops at the
/// limit, so a huge value costs no more than a small one.
#[cold]
pub fn debug(value: &dyn Debug) -> String {
    crate::render::bounded(format_args!("{value:?}"), MAX_CONTEXT_CHARS)
}

const MAX_CONTEXT_CHARS: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_values_are_cut_while_formatting() {
        let huge = vec![7u8; 1_000_000];
        let text = debug(&huge);
        assert_eq!(text.chars().count(), MAX_CONTEXT_CHARS + 1);
        assert!(text.ends_with('…'));
        assert_eq!(debug(&"short"), "\"short\"");
    }
}
