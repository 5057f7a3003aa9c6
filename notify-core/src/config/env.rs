//! Configuration from the `NOTIFY_*` environment variables.

use std::time::Duration;

use super::builder::{check_label, NotifierBuilder};
use crate::error::ConfigError;
use crate::sink::{Console, SinkGroup};

impl NotifierBuilder {
    /// Configuration from the `NOTIFY_*` environment variables (see
    /// [`init_from_env`](crate::init_from_env)).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get`
    /// (for tests, or another source of configuration). Empty values count
    /// as unset.
    pub fn from_env_with(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut builder = NotifierBuilder::default();
        if let Some(name) = get("NOTIFY_APP_NAME") {
            check_label("NOTIFY_APP_NAME", &name)?;
            builder = builder.app_name(name);
        }
        if let Some(env) = get("NOTIFY_ENVIRONMENT") {
            check_label("NOTIFY_ENVIRONMENT", &env)?;
            builder = builder.environment(env);
        }
        if let Some(secs) = get("NOTIFY_DEDUP_WINDOW_SECS") {
            let secs = whole_seconds("NOTIFY_DEDUP_WINDOW_SECS", &secs, 86_400, "one day")?;
            builder = builder.dedup_window(Duration::from_secs(secs));
        }
        if let Some(secs) = get("NOTIFY_FLUSH_TIMEOUT_SECS") {
            let secs = whole_seconds("NOTIFY_FLUSH_TIMEOUT_SECS", &secs, 3_600, "one hour")?;
            builder = builder.flush_timeout(Duration::from_secs(secs));
        }
        if let Some(dir) = get("NOTIFY_SPOOL_DIR") {
            let dir = dir.trim();
            builder = if dir == "off" {
                builder.spool_dir(None)
            } else {
                builder.spool_dir(dir)
            };
        }
        if let Some(url) = get("NOTIFY_HEARTBEAT_URL") {
            builder.heartbeat = Some((url, "NOTIFY_HEARTBEAT_URL"));
        }
        builder.sinks.extend(crate::sink::from_env(&get)?);
        if builder.sinks.is_empty() {
            builder.sinks.push(SinkGroup::new(Console::new()));
            builder.defaulted_to_console = true;
        }
        Ok(builder)
    }
}

/// A whole number of seconds from `variable`, at most `max`.
fn whole_seconds(
    variable: &str,
    value: &str,
    max: u64,
    max_name: &str,
) -> Result<u64, ConfigError> {
    let secs: u64 = value.trim().parse().map_err(|_| {
        ConfigError::new(
            variable,
            format!("expected a whole number of seconds, got {value:?}"),
        )
    })?;
    if secs > max {
        return Err(ConfigError::new(
            variable,
            format!("must be at most {max} ({max_name})"),
        ));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{Memory, SinkExt};

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn bad_dedup_window_names_the_variable() {
        let err = NotifierBuilder::from_env_with(env(&[("NOTIFY_DEDUP_WINDOW_SECS", "soon")]))
            .unwrap_err();
        assert_eq!(err.field(), "NOTIFY_DEDUP_WINDOW_SECS");
    }

    #[test]
    fn no_sink_variable_means_console() {
        let b = NotifierBuilder::from_env_with(env(&[("NOTIFY_APP_NAME", "billing")])).unwrap();
        assert!(b.defaulted_to_console);
        assert_eq!(b.sinks[0].name, "console");
        assert_eq!(b.app_name.as_deref(), Some("billing"));
    }

    #[test]
    fn duplicate_sink_names_are_rejected() {
        let err = NotifierBuilder::default()
            .sink(Memory::new())
            .sink(Memory::new())
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "sink[1].named");
        assert!(NotifierBuilder::default()
            .sink(Memory::new())
            .sink(Memory::new().named("other"))
            .build()
            .is_ok());
        let _ = SinkExt::named(Memory::new(), "x");
    }

    #[test]
    fn zero_queue_capacity_is_rejected() {
        let err = NotifierBuilder::default()
            .queue_capacity(0)
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "queue_capacity");
        assert!(err.to_string().contains("queue_capacity"));
    }

    #[test]
    fn the_flush_timeout_comes_from_the_environment() {
        let b =
            NotifierBuilder::from_env_with(env(&[("NOTIFY_FLUSH_TIMEOUT_SECS", "12")])).unwrap();
        assert_eq!(b.flush_timeout, Duration::from_secs(12));
        let b = NotifierBuilder::from_env_with(env(&[])).unwrap();
        assert_eq!(b.flush_timeout, crate::DEFAULT_FLUSH_TIMEOUT);
        for bad in ["5s", "-1", "1.5", "86400"] {
            let err = NotifierBuilder::from_env_with(env(&[("NOTIFY_FLUSH_TIMEOUT_SECS", bad)]))
                .unwrap_err();
            assert_eq!(err.field(), "NOTIFY_FLUSH_TIMEOUT_SECS", "{bad}");
        }
    }
}
