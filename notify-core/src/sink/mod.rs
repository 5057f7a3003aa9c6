//! Sinks: where alerts go. One trait, one file per built-in sink, and the
//! delivery code they share (HTTP client, retries).
//!
//! Each HTTP sink is behind its cargo feature (`telegram`, `slack`,
//! `discord`, `webhook`, `alertmanager`, all on by default); `Console` and
//! `Memory` are always there. Without any HTTP sink, no HTTP or TLS code is
//! compiled at all.

#[cfg(feature = "alertmanager")]
mod alertmanager;
mod blocking;
mod console;
mod contract;
#[cfg(feature = "discord")]
mod discord;
// Shared by the HTTP sinks; with some of them left out, others' helpers go unused.
mod env;
mod error;
mod group;
#[cfg(feature = "http")]
pub(crate) mod heartbeat;
#[cfg(feature = "http")]
#[cfg_attr(
    not(all(
        feature = "telegram",
        feature = "slack",
        feature = "discord",
        feature = "webhook",
        feature = "alertmanager"
    )),
    allow(dead_code)
)]
pub(crate) mod http;
mod memory;
pub(crate) mod retry;
mod route;
#[cfg(feature = "slack")]
mod slack;
#[cfg(feature = "telegram")]
mod telegram;
mod transport;
#[cfg(feature = "webhook")]
mod webhook;

#[cfg(feature = "alertmanager")]
pub use alertmanager::Alertmanager;
pub use blocking::{AsyncKind, Blocking, BlockingKind, BlockingSink, BlockingSinkExt, IntoSink};
pub use console::Console;
pub use contract::{BoxFuture, Sink};
#[cfg(feature = "discord")]
pub use discord::Discord;
pub(crate) use env::from_env;
pub use error::SinkError;
pub(crate) use group::SinkGroup;
pub use memory::Memory;
pub use route::{Routed, SinkExt};
#[cfg(feature = "slack")]
pub use slack::Slack;
#[cfg(feature = "telegram")]
pub use telegram::{Telegram, TELEGRAM_API_URL};
pub(crate) use transport::Transport;
#[cfg(feature = "webhook")]
pub use webhook::Webhook;
