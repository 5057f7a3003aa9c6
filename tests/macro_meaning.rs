//! The attribute leaves a function's meaning as it was: arguments drop in
//! the same order as without it, and `#[track_caller]` keeps
//! `Location::caller()` and the panic location at the caller.
//!
//! Each case is written twice, plain and annotated, and the two are
//! compared.

#![deny(warnings)]

use std::cell::RefCell;
use std::panic::Location;

use notify_core::alert_on_error;
use notify_core::testing::capture_alerts;

thread_local! {
    static DROPS: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// Says when it drops.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        DROPS.with(|d| d.borrow_mut().push(self.0));
    }
}

fn drops_of(f: impl FnOnce()) -> Vec<&'static str> {
    DROPS.with(|d| d.borrow_mut().clear());
    f();
    DROPS.with(|d| d.borrow_mut().drain(..).collect())
}

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;

macro_rules! twice {
    ($(#[$attr:meta])* fn $plain:ident / $wrapped:ident $($rest:tt)*) => {
        $(#[$attr])* fn $plain $($rest)*
        $(#[$attr])* #[alert_on_error] fn $wrapped $($rest)*
    };
    ($(#[$attr:meta])* async fn $plain:ident / $wrapped:ident $($rest:tt)*) => {
        $(#[$attr])* async fn $plain $($rest)*
        $(#[$attr])* #[alert_on_error] async fn $wrapped $($rest)*
    };
}

twice! {
    fn plain_drops / wrapped_drops(a: Noisy, _: Noisy, mut c: Noisy, (d, _e): (Noisy, Noisy), _f: Noisy) -> Result<(), String> {
        let _local = Noisy("local");
        c.0 = "c (changed)";
        Err(format!("{} {} {}", a.0, c.0, d.0))
    }
}

twice! {
    async fn plain_drops_async / wrapped_drops_async(a: Noisy, _: Noisy, mut c: Noisy, (d, _e): (Noisy, Noisy), _f: Noisy) -> Result<(), String> {
        let _local = Noisy("local");
        std::future::ready(()).await;
        c.0 = "c (changed)";
        Err(format!("{} {} {}", a.0, c.0, d.0))
    }
}

fn args() -> (Noisy, Noisy, Noisy, (Noisy, Noisy), Noisy) {
    (
        Noisy("a"),
        Noisy("b"),
        Noisy("c"),
        (Noisy("d"), Noisy("e")),
        Noisy("f"),
    )
}

#[test]
fn arguments_drop_in_the_same_order_as_without_the_attribute() {
    let plain = drops_of(|| {
        let (a, b, c, de, f) = args();
        let _ = plain_drops(a, b, c, de, f);
    });
    let mut alerts = Vec::new();
    let wrapped = drops_of(|| {
        alerts = capture_alerts(|| {
            let (a, b, c, de, f) = args();
            let _ = wrapped_drops(a, b, c, de, f);
        });
    });
    assert_eq!(wrapped, plain);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].message, "a c (changed) d");

    let plain = drops_of(|| {
        let (a, b, c, de, f) = args();
        let _ = block_on(plain_drops_async(a, b, c, de, f));
    });
    let wrapped = drops_of(|| {
        alerts = capture_alerts(|| {
            let (a, b, c, de, f) = args();
            let _ = block_on(wrapped_drops_async(a, b, c, de, f));
        });
    });
    assert_eq!(wrapped, plain);
    assert_eq!(alerts.len(), 1);
}

twice! {
    #[track_caller]
    fn plain_caller / wrapped_caller(fail: bool) -> Result<&'static Location<'static>, String> {
        if fail {
            return Err(String::from("no caller"));
        }
        Ok(Location::caller())
    }
}

twice! {
    #[track_caller]
    fn plain_unwrap / wrapped_unwrap<T: std::fmt::Debug>(value: Option<T>) -> Result<T, String> {
        Ok(value.expect("a value"))
    }
}

/// The location of a panic, and its message.
fn panic_location(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    // Chains the hook installed before (ours, which reports the panic).
    let previous = std::sync::Arc::new(std::panic::take_hook());
    std::panic::set_hook(Box::new({
        let seen = seen.clone();
        let previous = previous.clone();
        move |info| {
            if let Some(location) = info.location() {
                *seen.lock().unwrap() = format!("{}:{}", location.file(), location.line());
            }
            previous(info);
        }
    }));
    let caught = std::panic::catch_unwind(f);
    drop(std::panic::take_hook());
    let previous = std::sync::Arc::into_inner(previous).expect("the hook is ours again");
    std::panic::set_hook(previous);
    assert!(caught.is_err());
    let seen = seen.lock().unwrap().clone();
    seen
}

#[test]
fn track_caller_keeps_the_caller_s_location() {
    let (plain, line) = (plain_caller(false).unwrap(), line!());
    assert_eq!((plain.file(), plain.line()), (file!(), line));
    let alerts = capture_alerts(|| {
        let (wrapped, line) = (wrapped_caller(false).unwrap(), line!());
        assert_eq!((wrapped.file(), wrapped.line()), (file!(), line));
        assert_eq!(wrapped_caller(true), Err(String::from("no caller")));
    });
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].message, "no caller");

    // A panic inside reports the caller's line, with and without the
    // attribute, and the panic is still an alert.
    let expected = format!("{}:{}", file!(), line!() + 1);
    let plain = panic_location(|| drop(plain_unwrap::<u8>(None)));
    assert_eq!(plain, expected);
    let mut wrapped = String::new();
    let alerts = capture_alerts(|| {
        let expected = format!("{}:{}", file!(), line!() + 1);
        wrapped = panic_location(|| drop(wrapped_unwrap::<u8>(None)));
        assert_eq!(wrapped, expected);
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(wrapped_unwrap(Some(3)), Ok(3));
}
