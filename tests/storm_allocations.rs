//! A suppressed repeat allocates nothing: storm control runs before any
//! capture, and the fingerprint streams the error text into a hasher.
//!
//! Its own test binary, because it installs a counting global allocator
//! (counting only on the measuring thread, only while it measures) and the
//! global notifier.

use std::fmt;
use std::time::Duration;

use notify_core::{alert_on_error, Memory, Notifier};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocations_in, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Debug)]
struct DiskFull {
    device: &'static str,
}

impl fmt::Display for DiskFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no space left on {}", self.device)
    }
}

impl std::error::Error for DiskFull {}

#[alert_on_error]
fn write_block(device: &'static str) -> Result<(), DiskFull> {
    Err(DiskFull { device })
}

fn report(notifier: &Notifier, error: &DiskFull) {
    notifier.report_error(error);
}

#[test]
fn a_suppressed_repeat_allocates_nothing() {
    let memory = Memory::new();
    let notifier = Notifier::builder().sink(memory.clone()).build().unwrap();
    let error = DiskFull { device: "/dev/sda" };

    // The counter works: a first alert allocates (backtrace, owned alert).
    let first = allocations_in(|| report(&notifier, &error));
    assert!(first > 0, "the counting allocator counts nothing");
    assert!(notifier.flush(Duration::from_secs(30)));

    let repeats = allocations_in(|| {
        for _ in 0..10_000 {
            report(&notifier, &error);
        }
    });
    assert_eq!(repeats, 0, "allocations in 10,000 suppressed repeats");

    assert!(notifier.flush(Duration::from_secs(30)));
    let summary = memory
        .alerts()
        .into_iter()
        .find(|a| a.is_summary())
        .unwrap();
    assert_eq!(summary.repeats.unwrap().count, 10_000);
}

#[test]
fn a_suppressed_repeat_through_the_attribute_allocates_nothing() {
    let memory = Memory::new();
    let _guard = Notifier::builder().sink(memory.clone()).install().unwrap();

    let first = allocations_in(|| {
        let _ = write_block("/dev/nvme0");
    });
    assert!(first > 0, "the counting allocator counts nothing");

    let repeats = allocations_in(|| {
        for _ in 0..10_000 {
            assert!(write_block("/dev/nvme0").is_err());
        }
    });
    assert_eq!(repeats, 0, "allocations in 10,000 suppressed repeats");

    assert!(notify_core::flush(Duration::from_secs(30)));
    let alerts = memory.alerts();
    assert_eq!(alerts.iter().filter(|a| !a.is_summary()).count(), 1);
    let summary = alerts.iter().find(|a| a.is_summary()).unwrap();
    assert_eq!(summary.repeats.unwrap().count, 10_000);
    assert_eq!(summary.message, "no space left on /dev/nvme0");
}
