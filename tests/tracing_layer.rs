//! `notify_core::tracing::layer()` as a user sets it up: `tracing` events
//! at `ERROR` become alerts, with their message, error, fields, spans and
//! call site; lower levels and filtered events do not; and an error that
//! both an annotated function and an event report is one alert.
//!
//! Each test sets its subscriber for its own thread (`with_default`) and
//! captures the alerts raised on that thread (`testing::capture_alerts`).

use notify_core::testing::capture_alerts;
use notify_core::{alert_on_error, Alert, AlertKind, Severity};
use tracing_subscriber::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("ledger is locked")]
struct Locked;

#[derive(Debug, thiserror::Error)]
#[error("payment capture failed")]
struct CaptureFailed(#[source] Locked);

/// A fmt layer that writes nowhere, on a registry.
type Fmt = tracing_subscriber::fmt::Layer<
    tracing_subscriber::Registry,
    tracing_subscriber::fmt::format::DefaultFields,
    tracing_subscriber::fmt::format::Format,
    fn() -> std::io::Sink,
>;

/// Our layer, on top of that.
type NotifyLayer = notify_core::tracing::Layer<
    tracing_subscriber::layer::Layered<Fmt, tracing_subscriber::Registry>,
>;

/// Runs `f` with a registry, a fmt layer writing nowhere, and our layer.
fn with_layer(layer: NotifyLayer, f: impl FnOnce()) -> Vec<Alert> {
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink as fn() -> std::io::Sink))
        .with(layer);
    tracing::subscriber::with_default(subscriber, || capture_alerts(f))
}

fn charge(order_id: u64) {
    let span = tracing::info_span!("checkout", user = "ana", cart = 3);
    let _entered = span.enter();
    let error = CaptureFailed(Locked);
    tracing::error!(
        error = &error as &dyn std::error::Error,
        order_id,
        attempt = 2,
        "charging the card failed"
    );
}

#[test]
fn an_error_event_is_an_alert_with_its_error_fields_and_spans() {
    let alerts = with_layer(notify_core::tracing::layer(), || charge(42));
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::Error);
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(alert.title, "charging the card failed");
    assert_eq!(alert.message, "payment capture failed");
    assert_eq!(alert.causes, ["ledger is locked"]);
    let context: Vec<(&str, &str)> = alert
        .context
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        context,
        [
            ("order_id", "42"),
            ("attempt", "2"),
            ("checkout", "user=ana cart=3")
        ]
    );
    // The call site is the event's; the function is the one that logged.
    assert_eq!(alert.location.file, file!());
    assert!(
        alert.location.function.ends_with("charge"),
        "{:?}",
        alert.location
    );
    assert!(alert.location.line > 0);
    // The first frame is the function itself, not the closure a logging
    // macro expands to inside it.
    assert_eq!(
        alert.backtrace[0].function, "tracing_layer::charge",
        "{:?}",
        alert.backtrace
    );
}

#[test]
fn below_the_threshold_nothing_is_reported() {
    let alerts = with_layer(notify_core::tracing::layer(), || {
        tracing::warn!("disk at 91%");
        tracing::info!("started");
        tracing::debug!(error = "x", "details");
    });
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn min_level_lets_warnings_through_as_warnings() {
    let alerts = with_layer(
        notify_core::tracing::layer().min_level(tracing::Level::WARN),
        || {
            tracing::warn!("disk at 91%");
            tracing::info!("started");
        },
    );
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].severity, Severity::Warning);
    assert_eq!(alerts[0].kind, AlertKind::Message);
    assert_eq!(alerts[0].title, "disk at 91%");
    assert_eq!(alerts[0].message, "disk at 91%");
}

#[test]
fn an_event_filter_keeps_events_out() {
    let alerts = with_layer(
        notify_core::tracing::layer().event_filter(|m| m.target() != "noisy"),
        || {
            tracing::error!(target: "noisy", "retrying");
            tracing::error!("kept");
        },
    );
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].title, "kept");
}

#[test]
fn the_display_and_debug_forms_of_an_error_field_are_its_text() {
    let alerts = with_layer(notify_core::tracing::layer(), || {
        let e = Locked;
        tracing::error!(error = %e, "as display");
        tracing::error!(error = ?e, "as debug");
        tracing::error!("no error field: {}", 7);
    });
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    assert_eq!(alerts[0].message, "ledger is locked");
    assert_eq!(alerts[0].kind, AlertKind::Error);
    assert_eq!(alerts[1].message, "Locked");
    assert_eq!(alerts[2].kind, AlertKind::Message);
    assert_eq!(alerts[2].title, "no error field: 7");
    assert_eq!(alerts[2].message, "no error field: 7");
}

#[test]
fn long_and_many_fields_are_bounded() {
    let alerts = with_layer(notify_core::tracing::layer(), || {
        let long = "é".repeat(10_000);
        tracing::error!(long = %long, "big");
    });
    assert_eq!(alerts.len(), 1);
    let (_, value) = &alerts[0].context[0];
    assert!(value.chars().count() <= notify_core::tracing::MAX_VALUE_CHARS + 1);
    assert!(value.ends_with('…'));

    // Past MAX_FIELDS entries, what was left out is said.
    let alerts = with_layer(notify_core::tracing::layer(), || {
        let span = tracing::info_span!("outer", user = "ana");
        let _entered = span.enter();
        tracing::error!(
            f01 = 1,
            f02 = 2,
            f03 = 3,
            f04 = 4,
            f05 = 5,
            f06 = 6,
            f07 = 7,
            f08 = 8,
            f09 = 9,
            f10 = 10,
            f11 = 11,
            f12 = 12,
            f13 = 13,
            f14 = 14,
            f15 = 15,
            f16 = 16,
            f17 = 17,
            f18 = 18,
            f19 = 19,
            f20 = 20,
            f21 = 21,
            f22 = 22,
            f23 = 23,
            f24 = 24,
            f25 = 25,
            f26 = 26,
            f27 = 27,
            f28 = 28,
            f29 = 29,
            f30 = 30,
            f31 = 31,
            f32 = 32,
            f33 = 33,
            f34 = 34,
            "many"
        );
    });
    let context = &alerts[0].context;
    assert_eq!(
        context.len(),
        notify_core::tracing::MAX_FIELDS + 1,
        "{context:?}"
    );
    assert_eq!(
        context.last().unwrap(),
        &(
            String::from("more"),
            String::from("3 more fields and spans left out")
        )
    );
}

// One failure, one alert.

#[alert_on_error]
fn logs_then_fails() -> Result<(), Locked> {
    tracing::error!(error = %Locked, "could not book");
    Err(Locked)
}

#[alert_on_error]
#[tracing::instrument(err)]
fn instrumented_inside() -> Result<(), Locked> {
    Err(Locked)
}

#[tracing::instrument(err)]
#[alert_on_error]
fn instrumented_outside() -> Result<(), Locked> {
    Err(Locked)
}

#[alert_on_error]
fn fails_plainly() -> Result<(), Locked> {
    Err(Locked)
}

#[test]
fn an_error_logged_and_returned_is_one_alert() {
    let alerts = with_layer(notify_core::tracing::layer(), || {
        assert!(logs_then_fails().is_err());
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].title, "could not book");

    for instrumented in [instrumented_inside, instrumented_outside] {
        let alerts = with_layer(notify_core::tracing::layer(), || {
            assert!(instrumented().is_err());
        });
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].message, "ledger is locked");
    }

    // A caller that logs the error it got from an annotated function.
    let alerts = with_layer(notify_core::tracing::layer(), || {
        if let Err(e) = fails_plainly() {
            tracing::error!(error = %e, "giving up");
        }
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].title, "Error in fails_plainly");

    // A different error logged afterwards is its own alert.
    let alerts = with_layer(notify_core::tracing::layer(), || {
        let _ = fails_plainly();
        tracing::error!(error = "quota exceeded", "giving up");
    });
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
}

#[alert_on_error(sinks("pager"))]
fn pages_only() -> Result<(), Locked> {
    Err(Locked)
}

#[test]
fn an_event_that_goes_further_than_the_report_before_it_is_its_own_alert() {
    // A warning of an error, then the error itself: the error! is not
    // swallowed as "the same failure" (it is more severe).
    let alerts = with_layer(
        notify_core::tracing::layer().min_level(tracing::Level::WARN),
        || {
            tracing::warn!(error = %Locked, "retrying");
            tracing::error!(error = %Locked, "giving up");
        },
    );
    assert_eq!(
        alerts.iter().map(|a| a.severity).collect::<Vec<_>>(),
        [Severity::Warning, Severity::Error],
        "{alerts:#?}"
    );

    // An annotated function that pages only, then the caller's error! to
    // every sink: the event goes further, so it is an alert too.
    let alerts = with_layer(notify_core::tracing::layer(), || {
        if let Err(e) = pages_only() {
            tracing::error!(error = %e, "giving up");
        }
    });
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert_eq!(alerts[1].title, "giving up");
}

#[test]
fn span_fields_can_be_left_out() {
    let alerts = with_layer(notify_core::tracing::layer().span_fields(false), || {
        charge(7)
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0].context.iter().all(|(k, _)| k != "checkout"),
        "{:?}",
        alerts[0].context
    );
}

/// A span whose recorded value's `Debug` logs an error inside that span:
/// no deadlock, and the event is an alert.
#[test]
fn a_debug_that_logs_while_a_span_records_does_not_deadlock() {
    struct Loud;
    impl std::fmt::Debug for Loud {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            tracing::error!("logged from Debug");
            f.write_str("loud")
        }
    }
    // Our layer alone: tracing-subscriber's fmt layer itself formats span
    // fields under that lock, and would deadlock here on its own.
    let subscriber = tracing_subscriber::registry().with(notify_core::tracing::layer());
    let alerts = tracing::subscriber::with_default(subscriber, || {
        capture_alerts(|| {
            let span = tracing::info_span!("job", state = tracing::field::Empty);
            let _entered = span.enter();
            span.record("state", tracing::field::debug(&Loud));
        })
    });
    assert!(
        alerts.iter().any(|a| a.title == "logged from Debug"),
        "{alerts:#?}"
    );
}

/// A value recorded into a span later goes whole into its entry, even
/// with `=` and spaces in it; and span fields off, nothing of spans is kept.
#[test]
fn fields_recorded_later_are_kept_whole() {
    let alerts = with_layer(notify_core::tracing::layer(), || {
        let span = tracing::info_span!("request", user = "ana", query = tracing::field::Empty);
        let _entered = span.enter();
        span.record("query", "a=1 b=2");
        tracing::error!("failed");
    });
    let request = alerts[0]
        .context
        .iter()
        .find(|(k, _)| k == "request")
        .map(|(_, v)| v.as_str());
    assert_eq!(request, Some("user=ana query=a=1 b=2"), "{alerts:#?}");
}
