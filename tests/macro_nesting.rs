//! One failure, one alert: an `Err` propagating out through several
//! annotated functions is reported by the innermost only; an outer function
//! that returns a different error still reports it.
//!
//! The rule (see the attribute's documentation): the outer error is the
//! same failure when the inner error is it or one of its `source()` chain
//! (the same text) — what `?`, `anyhow::Context` and `thiserror`'s
//! `#[from]` produce — and the outer function routes nowhere further.

use notify_core::alert_on_error;
use notify_core::testing::capture_alerts;

#[derive(Debug, thiserror::Error)]
enum StoreError {
    #[error("disk full")]
    DiskFull,
}

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("export failed")]
    Store(#[from] StoreError),
    #[error("nothing to export")]
    Empty,
}

#[alert_on_error]
fn write_rows() -> Result<(), StoreError> {
    Err(StoreError::DiskFull)
}

#[alert_on_error]
fn export() -> Result<(), ExportError> {
    write_rows()?;
    Ok(())
}

#[alert_on_error]
fn nightly() -> anyhow::Result<()> {
    use anyhow::Context as _;
    export().context("nightly job failed")?;
    Ok(())
}

#[test]
fn an_err_through_three_annotated_functions_is_one_alert() {
    let alerts = capture_alerts(|| {
        assert!(nightly().is_err());
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].title, "Error in write_rows");
    assert_eq!(alerts[0].message, "disk full");
}

#[alert_on_error]
fn countdown(n: u32) -> Result<u32, String> {
    if n == 0 {
        return Err(String::from("reached zero"));
    }
    countdown(n - 1).map(|v| v + 1)
}

#[test]
fn a_recursive_function_failing_at_depth_three_is_one_alert() {
    let alerts = capture_alerts(|| {
        assert!(countdown(3).is_err());
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].message, "reached zero");
}

#[alert_on_error]
fn export_or_report_empty() -> Result<(), ExportError> {
    // The inner failure is handled here; a different error is returned.
    if write_rows().is_err() {
        return Err(ExportError::Empty);
    }
    Ok(())
}

#[test]
fn a_different_error_from_an_outer_function_is_its_own_alert() {
    let alerts = capture_alerts(|| {
        assert!(export_or_report_empty().is_err());
    });
    let messages: Vec<&str> = alerts.iter().map(|a| a.message.as_str()).collect();
    assert_eq!(messages, ["disk full", "nothing to export"]);
}

#[alert_on_error]
fn first_timeout() -> Result<(), String> {
    Err(String::from("timed out"))
}

#[alert_on_error]
fn second_timeout() -> Result<(), String> {
    Err(String::from("timed out"))
}

#[test]
fn calls_side_by_side_with_the_same_text_are_two_alerts() {
    let alerts = capture_alerts(|| {
        assert!(first_timeout().is_err());
        assert!(second_timeout().is_err());
    });
    let titles: Vec<&str> = alerts.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Error in first_timeout", "Error in second_timeout"]
    );
}

#[alert_on_error]
async fn fetch_rows() -> Result<u32, StoreError> {
    tokio::task::yield_now().await;
    Err(StoreError::DiskFull)
}

#[alert_on_error]
async fn export_later() -> Result<u32, ExportError> {
    tokio::task::yield_now().await;
    let rows = fetch_rows().await?;
    Ok(rows)
}

#[test]
fn an_err_through_nested_async_fns_is_one_alert() {
    let alerts = capture_alerts(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert!(runtime.block_on(export_later()).is_err());
    });
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].title, "Error in fetch_rows");
}

#[alert_on_error(severity = "critical", sinks("pager"))]
fn page_on_export() -> Result<(), ExportError> {
    write_rows()?;
    Ok(())
}

/// An outer function that routes further (other sinks, higher severity)
/// still reports the failure the inner one reported: the pager is paged.
#[test]
fn an_outer_function_that_routes_further_still_reports() {
    let alerts = capture_alerts(|| {
        assert!(page_on_export().is_err());
    });
    let titles: Vec<&str> = alerts.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(titles, ["Error in write_rows", "Error in page_on_export"]);
    assert_eq!(alerts[1].sinks, ["pager"]);
}

#[alert_on_error]
fn quote_the_inner_error() -> Result<(), String> {
    write_rows().map_err(|e| format!("export: {e}"))
}

/// An error that only quotes the inner one's text is a new error (it is
/// not the inner error, nor caused by it in `source()` terms): reported.
#[test]
fn an_error_that_only_quotes_the_inner_one_is_reported_too() {
    let alerts = capture_alerts(|| {
        assert!(quote_the_inner_error().is_err());
    });
    let messages: Vec<&str> = alerts.iter().map(|a| a.message.as_str()).collect();
    assert_eq!(messages, ["disk full", "export: disk full"]);
}
