//! Where an alert comes from: an annotated function's static [`CallSite`], or
//! the caller of a `report_*` function.

use crate::alert::{AlertKind, Location, Severity};
use crate::fingerprint::Fingerprinter;
use crate::storm::RepeatSlot;

/// The static record of one annotated function, built at compile time.
#[derive(Debug)]
pub struct CallSite {
    /// The function's name as written (`nightly_export`).
    pub function: &'static str,
    /// `module_path!()` at the function.
    pub module_path: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()` of the function's name.
    pub line: u32,
    /// `severity = "..."`, if given.
    pub severity: Option<Severity>,
    /// `title = "..."`, if given.
    pub title: Option<&'static str>,
    /// `sinks("a", "b")`; empty means every sink.
    pub sinks: &'static [&'static str],
    /// The site's part of every fingerprint made here, hashed at compile
    /// time: a repeat hashes only its kind and text.
    pub fingerprint_prefix: SitePrefix,
    /// The fingerprint last suppressed here, so that storm control can count
    /// a repeat of it without touching its shared table.
    pub repeats: RepeatSlot,
}

/// The fingerprint hasher's state after the call site's module path,
/// function, file and line — and after those and the kind `error`, the
/// common case: what [`SitePrefix::new`] computes in `const` context, so
/// the hashing costs nothing at run time.
#[derive(Clone, Copy)]
pub struct SitePrefix {
    pub(crate) site: Fingerprinter,
    pub(crate) site_and_error: Fingerprinter,
}

impl SitePrefix {
    /// Hashes a call site (the same bytes, in the same order, as a site
    /// hashed at run time would be).
    pub const fn new(module_path: &str, function: &str, file: &str, line: u32) -> Self {
        let mut site = Fingerprinter::new();
        site.str_const(module_path);
        site.str_const(function);
        site.str_const(file);
        site.bytes_const(&line.to_le_bytes());
        let mut site_and_error = site;
        site_and_error.str_const(AlertKind::Error.as_str());
        SitePrefix {
            site,
            site_and_error,
        }
    }
}

impl std::fmt::Debug for SitePrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SitePrefix")
    }
}

/// Where an alert comes from: an annotated function, a `report_*` call, or
/// a logged event (whose call site is made once per event call site, at
/// run time: its `function` is empty, the backtrace's first frame names it).
#[derive(Clone, Copy)]
pub(crate) enum Origin {
    Site(&'static CallSite),
    Caller(&'static std::panic::Location<'static>),
    #[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
    Event(&'static CallSite),
}

impl Origin {
    /// The caller of the `#[track_caller]` function that calls this.
    #[track_caller]
    pub(crate) fn caller() -> Self {
        Origin::Caller(std::panic::Location::caller())
    }

    /// A hasher that has taken in this origin and `kind`: for a call site,
    /// its precomputed state (see [`SitePrefix`]).
    #[inline]
    pub(crate) fn fingerprinter(&self, kind: AlertKind) -> Fingerprinter {
        let mut fp = match self {
            Origin::Site(site) if kind == AlertKind::Error => {
                return site.fingerprint_prefix.site_and_error
            }
            Origin::Site(site) | Origin::Event(site) => site.fingerprint_prefix.site,
            Origin::Caller(loc) => {
                let mut fp = Fingerprinter::new();
                fp.str(loc.file());
                fp.bytes(&loc.line().to_le_bytes());
                fp.bytes(&loc.column().to_le_bytes());
                fp
            }
        };
        fp.str(kind.as_str());
        fp
    }

    /// The annotated function's call site, if it is one.
    pub(crate) fn site(&self) -> Option<&'static CallSite> {
        match self {
            Origin::Site(site) | Origin::Event(site) => Some(site),
            Origin::Caller(_) => None,
        }
    }

    /// The call site's repeat slot, for storm control's fast path.
    pub(crate) fn repeat_slot(&self) -> Option<&'static RepeatSlot> {
        match self {
            Origin::Site(site) | Origin::Event(site) => Some(&site.repeats),
            Origin::Caller(_) => None,
        }
    }

    pub(crate) fn location(&self) -> Location {
        match self {
            Origin::Site(site) if site.module_path.is_empty() => Location {
                // A panic outside any annotated function (`panic = "abort"`):
                // its `panic_location` says where.
                function: site.function.to_owned(),
                file: site.file.to_owned(),
                line: site.line,
            },
            Origin::Site(site) => Location {
                function: format!("{}::{}", site.module_path, site.function),
                file: site.file.to_owned(),
                line: site.line,
            },
            Origin::Caller(loc) => Location {
                function: String::new(),
                file: loc.file().to_owned(),
                line: loc.line(),
            },
            Origin::Event(site) => Location {
                function: String::new(),
                file: site.file.to_owned(),
                line: site.line,
            },
        }
    }
}
