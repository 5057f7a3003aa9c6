//! Alerts from `tracing` events (feature `tracing`): [`layer()`], a
//! [`tracing_subscriber::Layer`] that turns events at `ERROR` (by default)
//! into alerts, through the same pipeline as `#[alert_on_error]` — storm
//! control, routing, every sink, flushing at exit.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//!
//! # fn main() -> Result<(), notify_core::ConfigError> {
//! let _guard = notify_core::Notifier::builder()
//!     .sink(notify_core::Console::new())
//!     .install()?;
//! tracing_subscriber::registry()
//!     // .with(tracing_subscriber::fmt::layer())
//!     .with(notify_core::tracing::layer())
//!     .init();
//!
//! let e = std::io::Error::other("disk full");
//! tracing::error!(error = &e as &dyn std::error::Error, order_id = 42, "export failed");
//! # Ok(())
//! # }
//! ```
//!
//! # What an alert from an event holds
//!
//! - **Title**: the event's message (`export failed`).
//! - **Message**: the text of the event's error — the first field recorded
//!   as a `&dyn Error` (`error = &e as &dyn Error`), whose `source()` chain
//!   becomes the causes, or else a field named `error` in any form
//!   (`error = %e`, `error = ?e`) — or, without one, the message itself.
//!   An event with an error is an alert of kind `error`; without, `message`.
//! - **Severity**: `ERROR` is `error`, `WARN` (with `.min_level(Level::WARN)`)
//!   is `warning`; a lower level, if you let one through, is `info`.
//! - **Context**: the event's other fields, then each span of its scope
//!   (innermost first) as `span name = "field=value ..."`; at most
//!   [`MAX_FIELDS`] entries of at most [`MAX_VALUE_CHARS`] characters each
//!   (an entry `more` then says how many fields and spans were left out).
//!   **Spans record what you give them** — `#[instrument]` records every
//!   argument unless `skip(..)`ped — and alerts go to chats: skip secret
//!   fields, or turn span fields off with [`Layer::span_fields`]`(false)`.
//!   The event's fields are formatted only once the event is an alert (not
//!   for a suppressed repeat); a span's are formatted when it is created,
//!   while a notifier is installed (afterwards its values are gone).
//! - **Call site**: the event's module, file and line; the function is the
//!   first frame of the backtrace, which is captured at the event, on the
//!   thread that logged it.
//! - **Fingerprint**: the call site, the message and the error's text: the
//!   same event repeating in a loop is one alert and a summary.
//!
//! # Cost
//!
//! The layer has its own per-layer filter: a callsite below the threshold
//! gets `Interest::never` from it, so such events cost what they cost
//! without the layer (other layers, such as `fmt`, still see them). It
//! enables spans at `INFO` and above, to read their fields.
//! A per-layer filter needs the [`tracing_subscriber::Registry`] at the
//! bottom of the stack (`tracing_subscriber::registry()`), as every
//! `tracing-subscriber` setup has.
//!
//! # Never about itself
//!
//! Events logged on the notifier's own threads — by its HTTP client stack
//! (reqwest, hyper, h2, rustls), by a sink, by a diagnostic callback — never
//! become alerts, whatever the subscriber enables and however it is set
//! (`set_global_default`, `with_default`).
//!
//! # One failure, one alert
//!
//! An `error!` logged inside an `#[alert_on_error]` function that then
//! returns the same error is one alert (the event's: it is an inner report
//! of the call, see the attribute's rule). One logged with the same text
//! right after an annotated function reported it on the same thread —
//! `#[tracing::instrument(err)]` around it, a caller that logs what it got —
//! within a second, is that failure again and is not reported.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;
use std::sync::Arc;

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context as LayerContext, Filter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer as _;

use crate::alert::Severity;
use crate::capture::{causes_of, events_wanted, report_event, Context, EventKey, EventRef, Late};

/// Context entries (event fields and spans) kept at most.
pub const MAX_FIELDS: usize = 32;

/// Characters kept of one context value (and of one span's fields).
pub const MAX_VALUE_CHARS: usize = 512;

/// Fields of one span kept at most.
const MAX_SPAN_FIELDS: usize = 16;

/// A layer that turns `tracing` events at `ERROR` into alerts. Add it to a
/// `tracing_subscriber::registry()`; see the [module](self) for what an
/// alert holds.
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let layer = notify_core::tracing::layer()
///     .min_level(tracing::Level::WARN)
///     // Not the retries of a client that is known to be noisy.
///     .event_filter(|metadata| !metadata.target().starts_with("flaky_client"));
/// let subscriber = tracing_subscriber::registry().with(layer);
/// # drop(subscriber);
/// ```
pub fn layer<S>() -> Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    Layer {
        inner: EventLayer {
            span_fields: true,
            _subscriber: PhantomData,
        }
        .with_filter(EventFilter {
            min_level: Level::ERROR,
            event_filter: None,
            spans: true,
        }),
    }
}

/// The layer [`layer()`] returns. `S` is the subscriber it is layered on,
/// inferred where it is added.
pub struct Layer<S> {
    inner: Filtered<EventLayer<S>, EventFilter, S>,
}

impl<S> Layer<S> {
    /// Events at this level and above become alerts (default: `ERROR`).
    pub fn min_level(mut self, level: Level) -> Self {
        self.inner.filter_mut().min_level = level;
        self
    }

    /// Whether the fields of the spans around an event go into its alert's
    /// context (default: yes). They are what `#[instrument]` and your spans
    /// record — all of a function's arguments, unless `skip(..)`ped, and
    /// request URIs with their query strings — and an alert goes to a chat:
    /// turn this off if your spans may hold secrets, or `skip` those fields.
    /// Off, no span field is formatted or stored at all.
    pub fn span_fields(mut self, record: bool) -> Self {
        self.inner.inner_mut().span_fields = record;
        // Off, this layer does not even see spans.
        self.inner.filter_mut().spans = record;
        self
    }

    /// Only events for which `filter` returns true become alerts (checked
    /// once per callsite, with the level: an event it refuses costs
    /// nothing), in the spirit of `sentry-tracing`'s `event_filter`.
    pub fn event_filter(
        mut self,
        filter: impl Fn(&Metadata<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.inner.filter_mut().event_filter = Some(Arc::new(filter));
        self
    }
}

impl<S> fmt::Debug for Layer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let filter = self.inner.filter();
        f.debug_struct("Layer")
            .field("min_level", &filter.min_level)
            .field("event_filter", &filter.event_filter.is_some())
            .finish()
    }
}

/// Everything is the inner filtered layer's: [`Layer`] only names it.
impl<S> tracing_subscriber::Layer<S> for Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &tracing_core::Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: LayerContext<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        self.inner.on_record(span, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        self.inner.on_event(event, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: LayerContext<'_, S>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: LayerContext<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: std::any::TypeId) -> Option<*const ()> {
        if id == std::any::TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarded as is; the inner layer upholds the contract.
        unsafe { self.inner.downcast_raw(id) }
    }
}

/// Which callsites the layer sees: events at the threshold (and past the
/// user's filter), spans at `INFO` and above (none with `span_fields(false)`).
#[derive(Clone)]
struct EventFilter {
    min_level: Level,
    event_filter: Option<MetadataFilter>,
    /// Whether spans are seen (for their fields).
    spans: bool,
}

/// A user's `.event_filter(..)`.
type MetadataFilter = Arc<dyn Fn(&Metadata<'_>) -> bool + Send + Sync>;

impl EventFilter {
    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        if metadata.is_span() {
            return self.spans && *metadata.level() <= Level::INFO;
        }
        // `Level` orders by verbosity: ERROR < WARN < ... < TRACE.
        *metadata.level() <= self.min_level
            && self.event_filter.as_ref().is_none_or(|f| f(metadata))
    }
}

impl<S> Filter<S> for EventFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &LayerContext<'_, S>) -> bool {
        self.wants(metadata)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.wants(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<tracing_core::LevelFilter> {
        let level = if self.spans {
            self.min_level.max(Level::INFO)
        } else {
            self.min_level
        };
        Some(tracing_core::LevelFilter::from_level(level))
    }
}

/// The layer behind the filter: records span fields, reports events.
struct EventLayer<S> {
    /// Whether spans' fields are recorded, for alerts' context.
    span_fields: bool,
    _subscriber: PhantomData<fn(S)>,
}

/// A span's fields, formatted when it was created (and recorded since),
/// and how many they are.
struct SpanFields {
    out: String,
    count: usize,
}

impl<S> tracing_subscriber::Layer<S> for EventLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        if !self.span_fields || !events_wanted() {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut fields = SpanFieldsVisitor::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields {
            out: fields.out,
            count: fields.count,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        if !self.span_fields || !events_wanted() {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        // Only for a span whose fields are kept, and only as many more as
        // fit; formatted first (user `Debug` code, which may log), appended
        // whole under the extensions' lock after.
        let Some(count) = span.extensions().get::<SpanFields>().map(|f| f.count) else {
            return;
        };
        let mut fields = SpanFieldsVisitor {
            out: String::new(),
            count,
        };
        values.record(&mut fields);
        if fields.out.is_empty() {
            return;
        }
        let mut extensions = span.extensions_mut();
        let Some(kept) = extensions.get_mut::<SpanFields>() else {
            return;
        };
        if !kept.out.is_empty() {
            kept.out.push(' ');
        }
        kept.out.push_str(&fields.out);
        kept.count = fields.count;
        crate::render::truncate_in_place(&mut kept.out, MAX_VALUE_CHARS);
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if !events_wanted() {
            return;
        }
        let metadata = event.metadata();
        let mut head = Head::default();
        event.record(&mut head);
        let key = EventKey {
            module_path: metadata.module_path().unwrap_or_else(|| metadata.target()),
            file: metadata.file().unwrap_or(""),
            line: metadata.line().unwrap_or(0),
            severity: severity_of(*metadata.level()),
            identity: metadata as *const Metadata<'static> as usize,
        };
        let late = || late(event, &ctx);
        report_event(
            key,
            EventRef {
                message: &head.message,
                error: head.error.as_deref(),
                severity: key.severity,
            },
            &late,
        );
    }
}

fn severity_of(level: Level) -> Severity {
    if level == Level::ERROR {
        Severity::Error
    } else if level == Level::WARN {
        Severity::Warning
    } else {
        Severity::Info
    }
}

/// The event's context and its error's causes, once it is an alert.
fn late<S>(event: &Event<'_>, ctx: &LayerContext<'_, S>) -> Late
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut rest = Rest::default();
    event.record(&mut rest);
    let mut values = rest.values;
    let mut left_out = rest.left_out;
    if let Some(scope) = ctx.event_scope(event) {
        for span in scope {
            if let Some(fields) = span.extensions().get::<SpanFields>() {
                if values.len() < MAX_FIELDS {
                    values.push((span.name(), fields.out.clone()));
                } else {
                    left_out += 1;
                }
            }
        }
    }
    if left_out > 0 {
        // Said, not silently cut.
        values.push(("more", format!("{left_out} more fields and spans left out")));
    }
    Late {
        context: if values.is_empty() {
            Context::none()
        } else {
            Context::of_values(values)
        },
        causes: rest.causes,
    }
}

/// What the fingerprint needs: the message and the error's text.
#[derive(Default)]
struct Head {
    message: String,
    error: Option<String>,
    /// The error came from a `&dyn Error` field (it wins over a field
    /// merely named `error`).
    error_is_dyn: bool,
}

impl Visit for Head {
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if !self.error_is_dyn {
            self.error = Some(value.to_string());
            self.error_is_dyn = true;
        }
        let _ = field;
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => value.clone_into(&mut self.message),
            "error" if self.error.is_none() => self.error = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            // `message` is `format_args!`, whose `Debug` is its text.
            "message" => {
                self.message.clear();
                let _ = write!(self.message, "{value:?}");
            }
            "error" if self.error.is_none() => self.error = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

/// The other fields, and the causes of the error field.
#[derive(Default)]
struct Rest {
    values: Vec<(&'static str, String)>,
    causes: Vec<String>,
    error_seen: bool,
    /// Fields past [`MAX_FIELDS`].
    left_out: usize,
}

impl Rest {
    fn push(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.values.len() < MAX_FIELDS {
            self.values.push((field.name(), bounded(value)));
        } else {
            self.left_out += 1;
        }
    }
}

impl Visit for Rest {
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.error_seen {
            // A second error field is context.
            self.push(field, format_args!("{value}"));
            return;
        }
        self.error_seen = true;
        self.causes = causes_of(value, |cause| bounded(format_args!("{cause}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if !matches!(field.name(), "message" | "error") {
            self.push(field, format_args!("{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !matches!(field.name(), "message" | "error") {
            self.push(field, format_args!("{value:?}"));
        }
    }
}

/// `field=value ...` of a span, bounded.
#[derive(Default)]
struct SpanFieldsVisitor {
    out: String,
    count: usize,
}

impl Visit for SpanFieldsVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.count >= MAX_SPAN_FIELDS || self.out.len() >= MAX_VALUE_CHARS {
            return;
        }
        self.count += 1;
        if !self.out.is_empty() {
            self.out.push(' ');
        }
        let name = match field.name() {
            "message" => "msg",
            name => name,
        };
        let value = bounded(format_args!("{value:?}"));
        let _ = write!(self.out, "{name}={value}");
        crate::render::truncate_in_place(&mut self.out, MAX_VALUE_CHARS);
    }
}

/// `value` formatted, at most [`MAX_VALUE_CHARS`] characters (then `…`),
/// formatting no further than that.
fn bounded(value: fmt::Arguments<'_>) -> String {
    crate::render::bounded(value, MAX_VALUE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_VALUE_CHARS * 2);
        let cut = bounded(format_args!("{long}"));
        assert!(cut.chars().count() <= MAX_VALUE_CHARS + 1, "{}", cut.len());
        assert!(cut.starts_with('é'));
    }
}
