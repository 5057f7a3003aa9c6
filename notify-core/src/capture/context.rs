//! The `context(...)` values of an annotated call: their `Debug` text,
//! formatted on entry, bounded, and only while someone listens.

use std::fmt::Debug;

use super::job::RunRef;

/// The `Debug` text of the `context(...)` arguments, formatted on entry, and
/// only when a notifier is installed.
#[derive(Debug, Default)]
// One pointer wide (not a `Vec`'s three words and a run's six): it lives in
// every wrapped call's frame and every `async fn`'s state, and is almost
// always empty.
pub struct Context(Option<Box<Values>>);

/// What a [`Context`] holds when it holds anything.
#[derive(Debug)]
struct Values {
    values: Vec<(&'static str, String)>,
    /// The monitored run a failure ends (`#[monitor]`).
    run: Option<RunRef>,
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
        self.0.map(|values| values.values).unwrap_or_default()
    }

    /// No context.
    #[inline]
    pub const fn none() -> Self {
        Context(None)
    }

    /// These values (for tests).
    #[cfg(test)]
    pub(crate) fn of(values: Vec<(&'static str, String)>) -> Self {
        Context::of_values(values)
    }

    /// These values, already formatted and bounded (a logged event's).
    pub(crate) fn of_values(values: Vec<(&'static str, String)>) -> Self {
        Context(Some(Box::new(Values { values, run: None })))
    }

    /// The same, about a failure that ends `run`.
    pub(crate) fn with_run(self, run: RunRef) -> Self {
        let mut values = self.0.unwrap_or_else(|| {
            Box::new(Values {
                values: Vec::new(),
                run: None,
            })
        });
        values.run = Some(run);
        Context(Some(values))
    }

    /// Whether this is about a failure that ends a monitored run.
    #[inline(always)]
    pub(crate) fn has_run(&self) -> bool {
        self.0.as_ref().is_some_and(|values| values.run.is_some())
    }

    /// The run this failure ends, if any.
    pub(crate) fn take_run(&mut self) -> Option<RunRef> {
        self.0.as_mut().and_then(|values| values.run.take())
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
