//! The webhook sink: the alert as a versioned JSON document, optionally signed.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::contract::{BoxFuture, Sink};
use super::error::SinkError;
use super::http;
use super::route::{impl_route, route_methods, Route};
use crate::alert::Alert;
use crate::error::ConfigError;
use crate::webhook::{sign, AlertDocument, SIGNATURE_HEADER};

/// Posts each alert as a [`notify.alert/v1`](crate::webhook) JSON document to
/// any URL, optionally signed with HMAC-SHA256 in the `X-Notify-Signature`
/// header (timestamp included in the signed bytes). Receivers check it with
/// [`webhook::verify`](crate::webhook::verify); the
/// [`webhook`](crate::webhook) module documents every field and shows a
/// receiver.
///
/// - **Delivery**: any 2xx is success; 429 waits `Retry-After`; 5xx and
///   network errors are retried; other answers are reported once with the
///   first line of the body.
/// - **Secrets**: `Debug` shows only the URL's scheme and host (a path or
///   query often holds a token) and never the secret; errors carry no URL.
///
/// ```
/// use notify_core::{Notifier, Webhook};
///
/// let hook = Webhook::new("https://alerts.example.com/hooks/notify?key=abc")
///     .secret("whsec-test-only");
/// assert_eq!(
///     format!("{hook:?}"),
///     r#"Webhook { name: "webhook", min_severity: Info, url: "https://alerts.example.com", secret: Some("<redacted>") }"#
/// );
/// let notifier = Notifier::builder().sink(hook).build()?;
/// # drop(notifier);
/// # Ok::<(), notify_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Webhook {
    route: Route,
    url: String,
    secret: Option<String>,
}

impl_route!(Webhook);

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.route.name)
            .field("min_severity", &self.route.min_severity)
            .field("url", &http::redact_url(&self.url))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Webhook {
    /// A sink named `webhook` that posts to `url`, unsigned.
    pub fn new(url: impl Into<String>) -> Self {
        Webhook {
            route: Route::new("webhook"),
            url: url.into().trim().to_owned(),
            secret: None,
        }
    }

    /// Signs every request with `secret` (see [`crate::webhook`]).
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }
}

impl Sink for Webhook {
    route_methods!();

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&AlertDocument::from_alert(alert))
                .map_err(|e| SinkError::permanent(format!("cannot serialize the alert: {e}")))?;
            let mut headers = Vec::new();
            if let Some(secret) = &self.secret {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                headers.push((SIGNATURE_HEADER, sign(secret, now, &body)));
            }
            let answer = http::post_json(&self.url, body, &headers, None).await?;
            let secret = self.secret.as_deref().unwrap_or("");
            let reason = http::scrub(&answer.body, &self.url, &[secret]);
            http::classify(answer.status, &answer.headers, &reason, None)
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        http::check_url("webhook.url", &self.url)?;
        if self.secret.as_ref().is_some_and(|s| s.is_empty()) {
            return Err(ConfigError::new("webhook.secret", "must not be empty"));
        }
        Ok(())
    }
}

/// The sink that `NOTIFY_WEBHOOK_URL` and `NOTIFY_WEBHOOK_SECRET` configure, if set.
pub(crate) fn from_env(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Webhook>, ConfigError> {
    let secret = get("NOTIFY_WEBHOOK_SECRET");
    let Some(url) = get("NOTIFY_WEBHOOK_URL") else {
        if secret.is_some() {
            return Err(ConfigError::new(
                "NOTIFY_WEBHOOK_SECRET",
                "is set, but NOTIFY_WEBHOOK_URL is not",
            ));
        }
        return Ok(None);
    };
    let mut sink = Webhook::new(url);
    if let Some(secret) = secret {
        sink = sink.secret(secret);
    }
    http::validate_from_env(
        &sink,
        &[
            ("webhook.url", "NOTIFY_WEBHOOK_URL"),
            ("webhook.secret", "NOTIFY_WEBHOOK_SECRET"),
        ],
    )?;
    Ok(Some(sink))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::checks;
    use proptest::prelude::*;

    #[test]
    fn debug_shows_scheme_and_host_only() {
        let hook =
            Webhook::new("https://user:pw@example.com:8443/hook/TOKEN?k=SECRET").secret("S3CR3T");
        let debug = format!("{hook:?}");
        assert!(debug.contains("\"https://example.com:8443\""), "{debug}");
        for secret in ["TOKEN", "SECRET", "S3CR3T", "pw"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        let err = Webhook::new("nope TOKEN").validate().unwrap_err();
        assert_eq!(err.field(), "webhook.url");
        assert!(!err.to_string().contains("TOKEN"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn every_document_round_trips(alert in checks::arbitrary_alert()) {
            let body = serde_json::to_vec(&AlertDocument::from_alert(&alert)).unwrap();
            let back: AlertDocument = serde_json::from_slice(&body).unwrap();
            prop_assert_eq!(back.schema, "notify.alert/v1");
            prop_assert_eq!(back.message, alert.message);
            prop_assert_eq!(back.backtrace.len(), alert.backtrace.len());
        }
    }
}
