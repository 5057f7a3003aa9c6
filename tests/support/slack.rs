//! placeholder, filled in with the Slack sink
