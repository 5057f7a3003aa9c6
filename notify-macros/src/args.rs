//! The options of `#[alert_on_error(...)]`: parsed into a typed model that
//! keeps the original syntax nodes, so later checks can point at the exact
//! token at fault.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{parenthesized, Ident, LitStr, Path, Token};

/// Every option of `#[alert_on_error]`, in the order the documentation lists them.
const OPTIONS: &str = "`severity`, `title`, `sinks`, `context`, `crate`, `result`";

/// Every option of `#[monitor]`.
const MONITOR_OPTIONS: &str = "`name`, `notify`, `success_value`, `max_runtime`, `severity`, \
                               `title`, `sinks`, `context`, `crate`, `result`";

/// Which attribute the options are of.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Attribute {
    #[default]
    AlertOnError,
    Monitor,
}

impl Attribute {
    /// `#[alert_on_error]` or `#[monitor]`, for messages.
    pub fn written(self) -> &'static str {
        match self {
            Attribute::AlertOnError => "`#[alert_on_error]`",
            Attribute::Monitor => "`#[monitor]`",
        }
    }
}

/// The parsed options. Each one is `None` when it was not written.
#[derive(Default)]
pub(crate) struct Args {
    pub attribute: Attribute,
    pub severity: Option<Severity>,
    pub title: Option<LitStr>,
    pub sinks: Option<Vec<LitStr>>,
    pub context: Option<Vec<Ident>>,
    pub krate: Option<Path>,
    /// The `result` keyword itself, kept for its span.
    pub result: Option<Ident>,
    /// `#[monitor]`: `name = "..."`.
    pub name: Option<LitStr>,
    /// `#[monitor]`: `notify(start, success)`, each keyword if written.
    pub notify: Option<Notify>,
    /// `#[monitor]`: the `success_value` keyword.
    pub success_value: Option<Ident>,
    /// `#[monitor]`: `max_runtime = ".."`, in milliseconds.
    pub max_runtime: Option<u64>,
}

/// `notify(start, success)`.
#[derive(Default)]
pub(crate) struct Notify {
    pub start: Option<Ident>,
    pub success: Option<Ident>,
}

/// `severity = "..."`, with the literal it came from.
pub(crate) struct Severity {
    pub level: Level,
    pub literal: LitStr,
}

#[derive(Clone, Copy)]
pub(crate) enum Level {
    Warning,
    Error,
    Critical,
}

impl Level {
    /// The variant name of `notify_core::Severity`.
    pub fn variant(self) -> &'static str {
        match self {
            Level::Warning => "Warning",
            Level::Error => "Error",
            Level::Critical => "Critical",
        }
    }
}

impl Args {
    /// Parses the attribute's arguments (the tokens between the parentheses).
    pub fn parse(tokens: TokenStream, attribute: Attribute) -> syn::Result<Args> {
        let mut args = Args {
            attribute,
            ..Args::default()
        };
        syn::meta::parser(|meta| args.parse_one(meta)).parse2(tokens)?;
        Ok(args)
    }

    fn parse_one(&mut self, meta: ParseNestedMeta) -> syn::Result<()> {
        let name = match meta.path.get_ident() {
            Some(ident) => ident.unraw().to_string(),
            None => return Err(unknown_option(&meta, self.attribute)),
        };
        let monitor_only = ["name", "notify", "success_value", "max_runtime"];
        if self.attribute == Attribute::AlertOnError && monitor_only.contains(&name.as_str()) {
            return Err(meta.error(format!(
                "`{name}` is an option of `#[monitor]`, not of `#[alert_on_error]`: \
                 use `#[notify_core::monitor({name} ...)]` to monitor a job"
            )));
        }
        match name.as_str() {
            "name" => {
                let value = parse_string(&meta, "name = \"nightly-export\"")?;
                check_job_name(&value.value(), value.span(), "")?;
                set(&mut self.name, value, &meta)
            }
            "notify" => {
                let items = parse_list(&meta, "notify(start, success)", Ident::parse_any)?;
                let mut notify = Notify::default();
                for item in items {
                    let slot = match item.to_string().as_str() {
                        "start" => &mut notify.start,
                        "success" => &mut notify.success,
                        other => {
                            return Err(syn::Error::new(
                                item.span(),
                                format!(
                                    "unknown notification `{other}`: `notify(..)` takes `start` and `success` \
                                     (a failure is always an alert)"
                                ),
                            ))
                        }
                    };
                    if slot.is_some() {
                        return Err(syn::Error::new(
                            item.span(),
                            format!("`{item}` is already in `notify(...)`"),
                        ));
                    }
                    *slot = Some(item);
                }
                set(&mut self.notify, notify, &meta)
            }
            "success_value" => {
                if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
                    return Err(meta.error(
                        "`success_value` takes no value: write `#[monitor(success_value)]`",
                    ));
                }
                let ident = meta.path.get_ident().cloned().expect("one identifier");
                set(&mut self.success_value, ident, &meta)
            }
            "max_runtime" => {
                let value = parse_string(&meta, "max_runtime = \"2h\"")?;
                let millis = parse_duration(&value)?;
                set(&mut self.max_runtime, millis, &meta)
            }
            "severity" => {
                let value = parse_string(&meta, "severity = \"error\"")?;
                let severity = parse_level(value)?;
                set(&mut self.severity, severity, &meta)
            }
            "title" => {
                let value = parse_string(&meta, "title = \"...\"")?;
                set(&mut self.title, value, &meta)
            }
            "sinks" => {
                let sinks = parse_list(&meta, "sinks(\"ops\", ...)", |input| {
                    let name: LitStr = input.parse()?;
                    if name.value().is_empty() {
                        return Err(syn::Error::new(name.span(), "a sink name cannot be empty"));
                    }
                    Ok(name)
                })?;
                set(&mut self.sinks, sinks, &meta)
            }
            "context" => {
                let names = parse_list(&meta, "context(argument, ...)", Ident::parse_any)?;
                for (i, name) in names.iter().enumerate() {
                    if names[..i].contains(name) {
                        return Err(syn::Error::new(
                            name.span(),
                            format!("`{name}` is already in `context(...)`"),
                        ));
                    }
                }
                set(&mut self.context, names, &meta)
            }
            "crate" => {
                let value = parse_string(&meta, "crate = \"path::to::notify_core\"")?;
                let path = value.parse_with(Path::parse_mod_style).map_err(|_| {
                    syn::Error::new(
                        value.span(),
                        "expected a path to `notify_core`, like \"my_crate::reexports::notify_core\"",
                    )
                })?;
                set(&mut self.krate, path, &meta)
            }
            "result" => {
                if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
                    return Err(
                        meta.error("`result` takes no value: write `#[alert_on_error(result)]`")
                    );
                }
                let ident = meta
                    .path
                    .get_ident()
                    .cloned()
                    .expect("checked above: the path is one identifier");
                set(&mut self.result, ident, &meta)
            }
            _ => Err(unknown_option(&meta, self.attribute)),
        }
    }
}

/// A job's name is a slug, as heartbeat services take it in a URL:
/// lowercase ASCII letters, digits, `-` and `_`, at most 100.
pub(crate) fn check_job_name(name: &str, span: proc_macro2::Span, advice: &str) -> syn::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        return Ok(());
    }
    Err(syn::Error::new(
        span,
        format!(
            "{name:?} is not a valid job name: a job's name is a slug (lowercase ASCII letters, \
             digits, `-` and `_`, 1 to 100 of them), as heartbeat services take it in a URL{advice}"
        ),
    ))
}

/// `"90s"`, `"15m"`, `"2h"`, `"1h30m"`, `"1d"`, `"500ms"`: milliseconds,
/// more than zero, at most 365 days.
fn parse_duration(literal: &LitStr) -> syn::Result<u64> {
    let text = literal.value();
    let bad = |why: &str| {
        syn::Error::new(
            literal.span(),
            format!(
                "{why}: `max_runtime` takes a duration like \"90s\", \"15m\", \"2h\", \"1h30m\" \
                 or \"1d\" (units: ms, s, m, h, d)"
            ),
        )
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad("the duration is empty"));
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad(&format!("expected a number at {rest:?}")));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("the number is too large"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        let scale = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(bad(&format!("{number} has no unit"))),
            other => return Err(bad(&format!("unknown unit `{other}`"))),
        };
        rest = rest[unit_len..].trim_start();
        total = number
            .checked_mul(scale)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| bad("the duration is too long"))?;
    }
    if total == 0 {
        return Err(bad("the duration must be more than zero"));
    }
    if total > 365 * 86_400_000 {
        return Err(bad("the duration must be at most 365 days"));
    }
    Ok(total)
}

/// One setter for every option: a second occurrence is an error at its name.
fn set<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta) -> syn::Result<()> {
    if slot.is_some() {
        let name = path_text(&meta.path);
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!("duplicate option `{name}`"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn unknown_option(meta: &ParseNestedMeta, attribute: Attribute) -> syn::Error {
    let name = path_text(&meta.path);
    let options = match attribute {
        Attribute::AlertOnError => OPTIONS,
        Attribute::Monitor => MONITOR_OPTIONS,
    };
    meta.error(format!(
        "unknown option `{name}`; the options are {options}"
    ))
}

fn path_text(path: &Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|s| s.ident.unraw().to_string())
        .collect();
    segments.join("::")
}

/// `name = "string"`.
fn parse_string(meta: &ParseNestedMeta, example: &str) -> syn::Result<LitStr> {
    let input = meta
        .value()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `{example}`")))?;
    input
        .parse::<LitStr>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected a string literal: `{example}`")))
}

/// `name(item, item, ...)` with at least one item.
fn parse_list<T>(
    meta: &ParseNestedMeta,
    example: &str,
    item: fn(ParseStream) -> syn::Result<T>,
) -> syn::Result<Vec<T>> {
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("expected a list: `{example}`")));
    }
    let content;
    parenthesized!(content in meta.input);
    let items = Punctuated::<T, Token![,]>::parse_terminated_with(&content, item)?;
    if items.is_empty() {
        return Err(meta.error(format!("the list is empty: `{example}`")));
    }
    Ok(items.into_iter().collect())
}

fn parse_level(literal: LitStr) -> syn::Result<Severity> {
    let level = match literal.value().as_str() {
        "warning" => Level::Warning,
        "error" => Level::Error,
        "critical" => Level::Critical,
        other => {
            return Err(syn::Error::new(
                literal.span(),
                format!(
                    "unknown severity `{other}`; expected \"warning\", \"error\" or \"critical\""
                ),
            ))
        }
    };
    Ok(Severity { level, literal })
}
