//! A suppressed repeat allocates nothing: storm control runs before any
//! capture, and the fingerprint streams the error text into a hasher.
//!
//! Its own test binary, because it installs a counting global allocator
//! (counting only on the measuring thread, only while it measures) and the
//! global notifier.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use notify_core::{alert_on_error, Memory, Notifier};

struct Counting;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = MEASURING.try_with(|measuring| {
        if measuring.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded to `System` unchanged; counting touches
// only const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    MEASURING.with(|m| m.set(true));
    f();
    MEASURING.with(|m| m.set(false));
    ALLOCATIONS.with(Cell::get)
}

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
