//! Describing an error by the richest trait its type has: `Error` (with
//! its `source()` chain), `AsRef<dyn Error>`, `Display`, `Debug` — chosen at
//! compile time by autoref specialisation, so the type checker decides, not
//! the spelling of the type.

use std::error::Error;
use std::fmt::{Debug, Display};

use crate::capture::ErrorRef;

/// Wrapper for autoref specialisation: the macro calls
/// `(&&&&&&Wrap(err)).__notify_describe()` with all six `Describe*` traits in scope.
pub struct Wrap<'a, E: ?Sized>(pub &'a E);

/// Level 1: `E: Error`.
pub trait DescribeError<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: Error + 'a> DescribeError<'a> for &&&&&Wrap<'a, E> {
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
    for &&&&Wrap<'a, E>
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
impl<'a, E: AsRef<dyn Error> + ?Sized> DescribeAsError<'a> for &&&Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Error(self.0.as_ref())
    }
}

/// Level 4: `E: Display`.
pub trait DescribeDisplay<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: Display + 'a> DescribeDisplay<'a> for &&Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Display(self.0)
    }
}

/// Level 5: `E: Debug`.
pub trait DescribeDebug<'a> {
    /// Describes the error, borrowing it for as long as the wrapper does.
    fn __notify_describe(&self) -> ErrorRef<'a>;
}
impl<'a, E: Debug + 'a> DescribeDebug<'a> for &Wrap<'a, E> {
    fn __notify_describe(&self) -> ErrorRef<'a> {
        ErrorRef::Debug(self.0)
    }
}

/// Level 6, the fallback: a type with neither `Display` nor `Debug`. Its
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
