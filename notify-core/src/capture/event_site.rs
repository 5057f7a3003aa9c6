//! Call sites of logged events (`tracing` events, `log` records), made at
//! run time: the first alert from an event's call site makes its
//! [`CallSite`] record, kept for the life of the process (as a macro's is)
//! so that storm control's per-site repeat slot and the fingerprint's
//! precomputed site part work for events as for annotated functions.
//!
//! A program has a fixed number of call sites, so the records are bounded
//! by its code; past [`MAX_SITES`] (a program that logs from generated
//! metadata), further events share one record per severity — their
//! fingerprints still differ by text.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use super::site::{CallSite, SitePrefix};
use crate::alert::Severity;
use crate::storm::RepeatSlot;

/// Distinct event call sites recorded at most.
const MAX_SITES: usize = 4096;

/// Where an event was logged: its module (or target), file and line as its
/// source gives them, its severity, and an identity that tells apart two
/// call sites with the same file and line (a `tracing` callsite's address).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct EventKey {
    pub(crate) module_path: &'static str,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    pub(crate) severity: Severity,
    pub(crate) identity: usize,
}

type Sites = HashMap<EventKey, &'static CallSite>;

/// The call site of events logged at `key`.
pub(crate) fn event_site(key: EventKey) -> &'static CallSite {
    static SITES: OnceLock<RwLock<Sites>> = OnceLock::new();
    let sites = SITES.get_or_init(|| RwLock::new(HashMap::new()));
    // Most events come from a call site seen before: a shared read, so
    // threads logging at once do not queue behind each other.
    if let Some(site) = sites.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return site;
    }
    let mut sites = sites.write().unwrap_or_else(|p| p.into_inner());
    if let Some(site) = sites.get(&key) {
        return site;
    }
    if sites.len() >= MAX_SITES {
        return overflow(key.severity);
    }
    let site: &'static CallSite = Box::leak(Box::new(site_of(key)));
    sites.insert(key, site);
    site
}

fn site_of(key: EventKey) -> CallSite {
    CallSite {
        // Filled in from the backtrace's first frame: the function that
        // logged.
        function: "",
        module_path: key.module_path,
        file: key.file,
        line: key.line,
        severity: Some(key.severity),
        title: None,
        sinks: &[],
        fingerprint_prefix: SitePrefix::new(key.module_path, "", key.file, key.line),
        repeats: RepeatSlot::new(),
    }
}

/// The shared record of events past [`MAX_SITES`].
fn overflow(severity: Severity) -> &'static CallSite {
    static SITES: OnceLock<[CallSite; 4]> = OnceLock::new();
    let sites = SITES.get_or_init(|| {
        [
            Severity::Info,
            Severity::Warning,
            Severity::Error,
            Severity::Critical,
        ]
        .map(|severity| {
            site_of(EventKey {
                module_path: "",
                file: "",
                line: 0,
                severity,
                identity: 0,
            })
        })
    });
    match severity {
        Severity::Info => &sites[0],
        Severity::Warning => &sites[1],
        Severity::Error => &sites[2],
        Severity::Critical => &sites[3],
    }
}
