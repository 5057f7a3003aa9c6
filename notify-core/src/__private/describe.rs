//! Describing an error by the richest trait its type has: `Error` (with
//! its `source()` chain), `AsRef<dyn Error>`, plain text (`String`, `&str`
//! and their kin: their `Display` is the text itself, so it is read without
//! the formatting machinery), `Display`, `Debug` — chosen at compile time by
//! autoref specialisation, so the type checker decides, not the spelling of
//! the type.

use std::error::Error;
use std::fmt::{Debug, Display};

use crate::capture::ErrorRef;

/// Wrapper for autoref specialisation: the macro calls
/// `(&&&&&&&Wrap(err)).__notify_describe()` with all seven `Describe*` traits in scope.
pub struct Wrap<'a, E: ?Sized>(pub &'a E);

/// Level 1: `E: Error`.
pub trait DescribeError<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: Error + 'a> DescribeError<'a> for &&&&&&Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Error(self.0)
    }
}

/// Level 2: `anyhow::Error`, `eyre::Report`, `Box<dyn Error + Send + Sync>`.
pub trait DescribeAsErrorSendSync<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: AsRef<dyn Error + Send + Sync> + ?Sized> DescribeAsErrorSendSync<'a>
    for &&&&&Wrap<'a, E>
{
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Error(self.0.as_ref())
    }
}

/// Level 3: `Box<dyn Error>`.
pub trait DescribeAsError<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: AsRef<dyn Error> + ?Sized> DescribeAsError<'a> for &&&&Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Error(self.0.as_ref())
    }
}

/// Level 4: plain text — `String`, `&str`, `Box<str>`, `Cow<str>`,
/// `Rc<str>`, `Arc<str>` (see [`PlainText`]).
pub trait DescribeText<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: PlainText + ?Sized> DescribeText<'a> for &&&Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Text(self.0.text())
    }
}

/// A type whose `Display` is exactly its text: the standard string types,
/// and only those (sealed), so no user type's own `Display` is bypassed.
pub trait PlainText: sealed::Sealed {
    /// The text.
    fn text(&self) -> &str;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! plain_text {
    ($($ty:ty),* $(,)?) => {$(
        impl sealed::Sealed for $ty {}
        impl PlainText for $ty {
            #[inline(always)]
            fn text(&self) -> &str {
                self
            }
        }
    )*};
}

plain_text!(
    String,
    &str,
    Box<str>,
    std::borrow::Cow<'_, str>,
    std::rc::Rc<str>,
    std::sync::Arc<str>,
);

/// Level 5: `E: Display`.
pub trait DescribeDisplay<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: Display + 'a> DescribeDisplay<'a> for &&Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Display(self.0)
    }
}

/// Level 6: `E: Debug`.
pub trait DescribeDebug<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: Debug + 'a> DescribeDebug<'a> for &Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Debug(self.0)
    }
}

/// Level 7, the fallback: a type with neither `Display` nor `Debug`. Its
/// result does not implement [`IntoErrorRef`], so [`report_result`](super::report_result) gives one
/// clear compile error at the function's return type.
pub trait DescribeNothing {
    /// Describes the error (it cannot).
    fn __notify_describe(&self) -> NotReportable;
}
impl<E: ?Sized> DescribeNothing for Wrap<'_, E> {
    fn __notify_describe(&self) -> NotReportable {
        NotReportable(())
    }
}

/// What the fallback level yields; never reported.
pub struct NotReportable(());

/// A description that can be reported.
#[diagnostic::on_unimplemented(
    message = "`#[alert_on_error]` cannot report this function's error type: it implements neither `Display` nor `Debug`",
    label = "the error type of this return type needs `Display` or `Debug`",
    note = "derive `Debug` or implement `std::fmt::Display` for the error type"
)]
pub trait IntoErrorRef<'a> {
    /// The description.
    fn into_error_ref(self) -> ErrorRef<'a>;
}
impl<'a> IntoErrorRef<'a> for ErrorRef<'a> {
    #[inline(always)]
    fn into_error_ref(self) -> ErrorRef<'a> {
        self
    }
}
