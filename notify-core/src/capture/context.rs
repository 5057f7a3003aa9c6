//! The `context(...)` values of an annotated call: their `Debug` text,
//! formatted on entry, bounded, and only while someone listens.

use std::fmt::Debug;

/// The `Debug` text of the `context(...)` arguments, formatted on entry, and
/// only when a notifier is installed.
#[derive(Debug, Default)]
// One pointer wide (not a `Vec`'s three words): it lives in every wrapped
// call's frame and every `async fn`'s state, and is almost always empty.
#[allow(clippy::box_collection)]
pub struct Context(Option<Box<Vec<(&'static str, String)>>>);

impl Context {
    /// Runs `f` only if a notifier is installed (one atomic load otherwise).
    #[inline]
    pub fn capture(f: impl FnOnce() -> Vec<(&'static str, String)>) -> Self {
        if super::listening::is_listening() {
            Context(Some(Box::new(f())))
        } else {
            Context(None)
        }
    }

    /// The values, name and `Debug` text.
    pub(crate) fn into_values(self) -> Vec<(&'static str, String)> {
        self.0.map(|values| *values).unwrap_or_default()
    }

    /// No context.
    #[inline]
    pub const fn none() -> Self {
        Context(None)
    }

    /// These values (for tests).
    #[cfg(test)]
    pub(crate) fn of(values: Vec<(&'static str, String)>) -> Self {
        Context(Some(Box::new(values)))
    }

    /// These values, already formatted and bounded (a logged event's).
    #[cfg(any(feature = "tracing", feature = "log"))]
    pub(crate) fn of_values(values: Vec<(&'static str, String)>) -> Self {
        Context(Some(Box::new(values)))
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
