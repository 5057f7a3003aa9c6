//! Symbol resolution stays off the caller: the thread that returned `Err`
//! captures an unresolved backtrace and hands it off; the dispatcher's
//! threads resolve it (the first resolution in a process loads the symbol
//! tables: megabytes of allocations).
//!
//! Its own test binary, with one test: it counts the bytes the caller and
//! the whole process allocate (a counting global allocator), and it must be
//! the first resolution in the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify_core::{Alert, BoxFuture, Notifier, Sink, SinkError};

struct Counting;

thread_local! {
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
}

/// Bytes allocated by every thread of the process.
static ALLOCATED_IN_PROCESS: AtomicU64 = AtomicU64::new(0);

fn note(bytes: usize) {
    ALLOCATED_IN_PROCESS.fetch_add(bytes as u64, Ordering::Relaxed);
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = ALLOCATED.try_with(|n| n.set(n.get() + bytes as u64));
}

// SAFETY: every call is forwarded to `System` unchanged; counting touches
// only a const-initialised thread-local, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated so far by the current thread.
fn allocated_here() -> u64 {
    ALLOCATED.with(Cell::get)
}

/// What the sink saw, on the thread that delivered.
struct Delivery {
    thread: Option<String>,
    alert: Alert,
}

struct Recorder(Arc<Mutex<Vec<Delivery>>>);

impl Sink for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        let delivery = Delivery {
            thread: std::thread::current().name().map(str::to_owned),
            alert: alert.clone(),
        };
        self.0.lock().unwrap().push(delivery);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[inline(never)]
fn open_ledger(notifier: &Notifier) -> u64 {
    let error = std::io::Error::other("ledger is locked");
    let before = allocated_here();
    notifier.report_error(&error);
    allocated_here() - before
}

/// Generous for an unresolved backtrace (a few dozen instruction pointers)
/// plus the owned alert, plus what the process's first capture sets up once
/// (the fast unwinder's module table and rule cache, ~30 KB); far below what
/// loading symbol tables takes.
const CALLER_BUDGET: u64 = 64 * 1024;
/// Resolving the first backtrace of a process parses the binary's debug info.
const RESOLUTION_AT_LEAST: u64 = 1024 * 1024;

#[test]
fn the_backtrace_is_resolved_on_the_dispatcher_thread_not_on_the_caller() {
    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let process_before = ALLOCATED_IN_PROCESS.load(Ordering::SeqCst);
    let notifier = Notifier::builder()
        .sink(Recorder(deliveries.clone()))
        .build()
        .unwrap();

    let caller = std::thread::Builder::new()
        .name(String::from("caller"))
        .spawn({
            let notifier = notifier.clone();
            move || open_ledger(&notifier)
        })
        .unwrap();
    let caller_allocated = caller.join().unwrap();
    assert!(notifier.flush(Duration::from_secs(60)));

    let process_allocated = ALLOCATED_IN_PROCESS.load(Ordering::SeqCst) - process_before;
    let deliveries = deliveries.lock().unwrap();
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    eprintln!(
        "allocated: caller {caller_allocated} bytes in report_error; the process {process_allocated} bytes in all"
    );
    // Delivered on the sink's own thread, never the caller's.
    assert_eq!(delivery.thread.as_deref(), Some("notify-sink:recorder"));
    assert_eq!(
        delivery.alert.thread, "caller",
        "the alert names the thread that failed"
    );
    // Resolved by the time it is delivered: the caller's own frame is there,
    // with its file and line.
    let frame = delivery
        .alert
        .backtrace
        .iter()
        .find(|f| f.function.ends_with("open_ledger"))
        .unwrap_or_else(|| {
            panic!(
                "no resolved frame of open_ledger: {:#?}",
                delivery.alert.backtrace
            )
        });
    assert!(frame
        .file
        .as_deref()
        .is_some_and(|f| f.ends_with("symbol_resolution.rs")));
    assert!(frame.line.is_some());
    // The resolution's cost landed on the dispatcher's threads (its runtime
    // thread delivers, its blocking thread resolves)...
    assert!(
        process_allocated - caller_allocated >= RESOLUTION_AT_LEAST,
        "the other threads allocated only {} bytes",
        process_allocated - caller_allocated
    );
    // ...and not on the caller, which only captured instruction pointers.
    assert!(
        caller_allocated < CALLER_BUDGET,
        "the caller allocated {caller_allocated} bytes in report_error: was the backtrace resolved there?"
    );
}
