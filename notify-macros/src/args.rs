//! The options of `#[alert_on_error(...)]`: parsed into a typed model that
//! keeps the original syntax nodes, so later checks can point at the exact
//! token at fault.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{parenthesized, Ident, LitStr, Path, Token};

/// Every option, in the order the documentation lists them.
const OPTIONS: &str = "`severity`, `title`, `sinks`, `context`, `crate`, `result`";

/// The parsed options. Each one is `None` when it was not written.
#[derive(Default)]
pub(crate) struct Args {
    pub severity: Option<Severity>,
    pub title: Option<LitStr>,
    pub sinks: Option<Vec<LitStr>>,
    pub context: Option<Vec<Ident>>,
    pub krate: Option<Path>,
    /// The `result` keyword itself, kept for its span.
    pub result: Option<Ident>,
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
    pub fn parse(tokens: TokenStream) -> syn::Result<Args> {
        let mut args = Args::default();
        syn::meta::parser(|meta| args.parse_one(meta)).parse2(tokens)?;
        Ok(args)
    }

    fn parse_one(&mut self, meta: ParseNestedMeta) -> syn::Result<()> {
        let name = match meta.path.get_ident() {
            Some(ident) => ident.unraw().to_string(),
            None => return Err(unknown_option(&meta)),
        };
        match name.as_str() {
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
            _ => Err(unknown_option(&meta)),
        }
    }
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

fn unknown_option(meta: &ParseNestedMeta) -> syn::Error {
    let name = path_text(&meta.path);
    meta.error(format!(
        "unknown option `{name}`; the options are {OPTIONS}"
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
