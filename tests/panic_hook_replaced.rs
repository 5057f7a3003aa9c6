//! A panic hook installed after `install()` that does not chain ours: panics
//! can no longer be reported, and the notifier says so once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify_core::{alert_on_error, Memory, Notifier};

#[alert_on_error]
fn explode(n: u32) -> u32 {
    panic!("boom {n}")
}

#[test]
fn a_replaced_hook_is_reported_once_as_a_diagnostic() {
    let memory = Memory::new();
    let diagnostics = Arc::new(Mutex::new(Vec::<String>::new()));
    let lines = diagnostics.clone();
    let _guard = Notifier::builder()
        .sink(memory.clone())
        .on_diagnostic(move |line| lines.lock().unwrap().push(line.to_owned()))
        .install()
        .unwrap();
    // Replaces notify's hook without chaining it.
    std::panic::set_hook(Box::new(|_| {}));

    for n in 0..3 {
        assert!(std::panic::catch_unwind(|| explode(n)).is_err());
    }
    assert!(notify_core::flush(Duration::from_secs(10)));

    assert!(memory.is_empty(), "{:?}", memory.alerts());
    let diagnostics = diagnostics.lock().unwrap();
    let about: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.contains("panic hook did not run"))
        .collect();
    assert_eq!(about.len(), 1, "{diagnostics:#?}");
    assert!(about[0].contains("take_hook"), "{}", about[0]);
}
