//! The panic hook chains the hook that was installed before it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use notify_core::{alert_on_error, AlertKind, Memory, Notifier};

static EARLIER_HOOK_RAN: AtomicUsize = AtomicUsize::new(0);

#[alert_on_error]
fn explode() -> u32 {
    panic!("hook-chain test")
}

#[test]
fn an_earlier_panic_hook_still_runs() {
    std::panic::set_hook(Box::new(|info| {
        if info.payload().downcast_ref::<&str>() == Some(&"hook-chain test") {
            EARLIER_HOOK_RAN.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let memory = Memory::new();
    let _guard = Notifier::builder().sink(memory.clone()).install().unwrap();

    assert!(std::panic::catch_unwind(explode).is_err());
    assert!(notify_core::flush(Duration::from_secs(10)));

    assert_eq!(EARLIER_HOOK_RAN.load(Ordering::SeqCst), 1);
    let alerts = memory.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Panic);
    assert_eq!(alerts[0].message, "hook-chain test");
}
