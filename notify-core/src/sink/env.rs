//! The sinks that the `NOTIFY_*` environment variables configure.

#[cfg(feature = "alertmanager")]
use super::alertmanager;
#[cfg(feature = "discord")]
use super::discord;
use super::group::SinkGroup;
#[cfg(feature = "slack")]
use super::slack;
#[cfg(feature = "telegram")]
use super::telegram;
#[cfg(feature = "webhook")]
use super::webhook;
use crate::error::ConfigError;

/// The sinks that the `NOTIFY_*` variables configure, in a fixed order.
/// `get` returns a variable's value, `None` when unset or empty.
#[cfg_attr(not(feature = "http"), allow(unused_mut))]
pub(crate) fn from_env(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<SinkGroup>, ConfigError> {
    let mut sinks = Vec::new();
    // Each HTTP sink adds itself here when its variables are set. A sink
    // whose feature is off reads nothing: its variables are refused.
    #[cfg(feature = "telegram")]
    if let Some(sink) = telegram::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    #[cfg(feature = "slack")]
    if let Some(sink) = slack::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    #[cfg(feature = "discord")]
    if let Some(sink) = discord::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    #[cfg(feature = "webhook")]
    if let Some(sink) = webhook::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    #[cfg(feature = "alertmanager")]
    if let Some(sink) = alertmanager::from_env(get)? {
        sinks.push(SinkGroup::new(sink));
    }
    for (feature, variables) in DISABLED_SINKS {
        if let Some(variable) = variables.iter().find(|v| get(v).is_some()) {
            return Err(ConfigError::new(
                *variable,
                format!(
                    "is set, but notify-core was built without its `{feature}` feature; \
                     enable the feature or unset the variable"
                ),
            ));
        }
    }
    Ok(sinks)
}

/// The sinks whose cargo feature is off, and the variables that would
/// configure them: setting one is an error, not silence.
const DISABLED_SINKS: &[(&str, &[&str])] = &[
    #[cfg(not(feature = "telegram"))]
    (
        "telegram",
        &[
            "NOTIFY_TELEGRAM_BOT_TOKEN",
            "NOTIFY_TELEGRAM_CHAT_ID",
            "NOTIFY_TELEGRAM_API_URL",
        ],
    ),
    #[cfg(not(feature = "slack"))]
    ("slack", &["NOTIFY_SLACK_WEBHOOK_URL"]),
    #[cfg(not(feature = "discord"))]
    ("discord", &["NOTIFY_DISCORD_WEBHOOK_URL"]),
    #[cfg(not(feature = "webhook"))]
    ("webhook", &["NOTIFY_WEBHOOK_URL", "NOTIFY_WEBHOOK_SECRET"]),
    #[cfg(not(feature = "alertmanager"))]
    ("alertmanager", &["NOTIFY_ALERTMANAGER_URL"]),
];
