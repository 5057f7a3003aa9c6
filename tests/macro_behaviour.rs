//! `#[alert_on_error]` leaves the function's behaviour untouched: the same
//! values come back and panics keep unwinding with the same payload.

use std::panic::catch_unwind;

use notify_core::testing::capture_alerts;
use notify_core::{alert_on_error, AlertKind};

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("quota exceeded for {0}")]
struct QuotaExceeded(String);

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;

#[alert_on_error]
fn charge(user: &str, cents: u64) -> Result<u64, QuotaExceeded> {
    if cents > 1_000 {
        return Err(QuotaExceeded(user.to_owned()));
    }
    Ok(cents * 2)
}

#[alert_on_error]
fn owned_values(n: usize) -> (Vec<String>, Box<u32>) {
    ((0..n).map(|i| i.to_string()).collect(), Box::new(n as u32))
}

#[alert_on_error]
fn borrowed_value(items: &[String]) -> Option<&String> {
    items.last()
}

#[test]
fn the_same_values_are_returned() {
    let items = vec!["a".to_owned(), "b".to_owned()];
    let alerts = capture_alerts(|| {
        assert_eq!(charge("ann", 10), Ok(20));
        assert_eq!(charge("bob", 5_000), Err(QuotaExceeded("bob".into())));
        assert_eq!(
            owned_values(2),
            (vec!["0".to_owned(), "1".to_owned()], Box::new(2))
        );
        assert!(std::ptr::eq(borrowed_value(&items).unwrap(), &items[1]));
    });
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].message, "quota exceeded for bob");
}

#[test]
fn the_same_values_are_returned_without_a_capture_scope() {
    assert_eq!(charge("ann", 10), Ok(20));
    assert_eq!(charge("bob", 5_000), Err(QuotaExceeded("bob".into())));
    assert_eq!(owned_values(1).0, ["0"]);
}

#[alert_on_error]
fn panics_with_str() -> u32 {
    panic!("static message")
}

#[alert_on_error]
fn panics_with_string(id: u32) -> Result<u32, QuotaExceeded> {
    panic!("formatted message for {id}")
}

#[alert_on_error]
fn panics_with_custom_payload() {
    std::panic::panic_any(42_i64)
}

#[alert_on_error]
async fn panics_with_string_later(id: u32) -> u32 {
    tokio::task::yield_now().await;
    panic!("async message for {id}")
}

#[test]
fn a_str_panic_keeps_its_payload() {
    let alerts = capture_alerts(|| {
        let payload = catch_unwind(panics_with_str).unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"static message"));
    });
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Panic);
    assert_eq!(alerts[0].message, "static message");
    let location = alerts[0].panic_location.as_deref().unwrap_or_default();
    assert!(location.contains("macro_behaviour.rs:"), "{location}");
}

#[test]
fn a_string_panic_keeps_its_payload() {
    let alerts = capture_alerts(|| {
        let payload = catch_unwind(|| panics_with_string(7)).unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("formatted message for 7")
        );
    });
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Panic);
    assert_eq!(alerts[0].message, "formatted message for 7");
}

#[test]
fn a_custom_panic_payload_is_kept() {
    let alerts = capture_alerts(|| {
        let payload = catch_unwind(panics_with_custom_payload).unwrap_err();
        assert_eq!(payload.downcast_ref::<i64>(), Some(&42));
    });
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Panic);
}

#[test]
fn an_async_panic_keeps_its_payload() {
    let alerts = capture_alerts(|| {
        let payload = catch_unwind(|| block_on(panics_with_string_later(3))).unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("async message for 3")
        );
    });
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::Panic);
    assert_eq!(alerts[0].message, "async message for 3");
}

#[test]
fn a_panic_without_a_capture_scope_keeps_its_payload() {
    let payload = catch_unwind(|| panics_with_string(9)).unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("formatted message for 9")
    );
}

#[test]
#[should_panic(expected = "formatted message for 1")]
fn should_panic_sees_a_wrapped_functions_panic() {
    let _ = panics_with_string(1);
}

#[test]
#[should_panic(expected = "the test itself is wrapped")]
#[alert_on_error]
fn should_panic_on_a_wrapped_test_function() {
    panic!("the test itself is wrapped");
}

#[alert_on_error]
fn inner_step(values: &[u32]) -> u32 {
    values[10]
}

#[alert_on_error]
fn outer_step(values: &[u32]) -> u32 {
    inner_step(values) + 1
}

#[test]
fn a_panic_through_two_wrapped_functions_is_reported_once() {
    let alerts = capture_alerts(|| {
        assert!(catch_unwind(|| outer_step(&[1, 2])).is_err());
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::Panic);
    assert_eq!(alerts[0].location.function, "macro_behaviour::inner_step");
}

#[test]
fn a_panic_caught_inside_the_body_raises_nothing() {
    #[alert_on_error]
    fn recovers() -> u32 {
        catch_unwind(|| -> u32 { panic!("handled inside") }).unwrap_or(5)
    }
    let alerts = capture_alerts(|| assert_eq!(recovers(), 5));
    // The panic never left the annotated function.
    assert!(
        alerts
            .iter()
            .all(|a| a.location.function != "macro_behaviour::recovers"),
        "{alerts:#?}"
    );
}

#[test]
fn a_wrapped_function_works_again_after_a_panic() {
    let alerts = capture_alerts(|| {
        assert!(catch_unwind(|| panics_with_string(1)).is_err());
        assert_eq!(charge("carol", 1), Ok(2));
        assert!(catch_unwind(|| panics_with_string(2)).is_err());
    });
    let kinds: Vec<AlertKind> = alerts.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [AlertKind::Panic, AlertKind::Panic]);
}

#[alert_on_error]
fn drops_in_order(log: &std::cell::RefCell<Vec<&'static str>>) -> Result<(), QuotaExceeded> {
    struct Noisy<'a>(&'a std::cell::RefCell<Vec<&'static str>>);
    impl Drop for Noisy<'_> {
        fn drop(&mut self) {
            self.0.borrow_mut().push("local dropped");
        }
    }
    let _noisy = Noisy(log);
    log.borrow_mut().push("body ran");
    Ok(())
}

#[test]
fn locals_drop_before_the_function_returns() {
    let log = std::cell::RefCell::new(Vec::new());
    assert_eq!(drops_in_order(&log), Ok(()));
    assert_eq!(*log.borrow(), ["body ran", "local dropped"]);
}

#[tokio::test(flavor = "current_thread")]
#[alert_on_error]
async fn an_async_test_function_can_be_wrapped() -> Result<(), QuotaExceeded> {
    let charged = charge("dan", 3)?;
    assert_eq!(charged, 6);
    Ok(())
}
