//! What every alert of a notifier shares: application, environment, host.

/// The notifier-wide facts that complete each alert.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) app_name: String,
    pub(crate) environment: Option<String>,
    pub(crate) host: String,
}

impl Settings {
    /// The executable's name and this host, no environment.
    pub(crate) fn detect() -> Self {
        Settings {
            app_name: default_app_name(),
            environment: None,
            host: gethostname::gethostname().to_string_lossy().into_owned(),
        }
    }
}

fn default_app_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| String::from("app"))
}
