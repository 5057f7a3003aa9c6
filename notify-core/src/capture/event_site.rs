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

/// Whether the table has been full (said once).
static FULL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The call site of events logged at `key`, and whether this is the first
/// event that found the table full (to be said, once).
pub(crate) fn event_site(key: EventKey) -> (&'static CallSite, bool) {
    static SITES: OnceLock<RwLock<Sites>> = OnceLock::new();
    let sites = SITES.get_or_init(|| RwLock::new(HashMap::new()));
    // Most events come from a call site seen before: a shared read, so
    // threads logging at once do not queue behind each other.
    if let Some(site) = sites.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return (site, false);
    }
    let mut sites = sites.write().unwrap_or_else(|p| p.into_inner());
    if let Some(site) = sites.get(&key) {
        return (site, false);
    }
    if sites.len() >= MAX_SITES {
        let first = !FULL.swap(true, std::sync::atomic::Ordering::Relaxed);
        return (overflow(key.severity), first);
    }
    let site: &'static CallSite = Box::leak(Box::new(site_of(key)));
    sites.insert(key, site);
    (site, false)
}

/// What is said when the table is full.
pub(crate) const FULL_NOTE: &str = "more than 4096 distinct call sites of logged events: \
    events from further ones share one record per severity (their alerts \
    take their location from the backtrace; storm control still tells them \
    apart by text)";

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
