//! Checks on the annotated item, each error on the token at fault.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, Item, ItemFn, Pat, ReturnType};

use crate::args::{check_job_name, Args, Attribute};

/// The error for an item that is not a function with a body.
pub(crate) fn not_a_function(item: TokenStream, attribute: Attribute) -> syn::Error {
    let message = format!(
        "{} can only be applied to a function with a body",
        attribute.written()
    );
    let span = match syn::parse2::<Item>(item.clone()) {
        Ok(item) => item_keyword(&item),
        // Not an item at all (a trait method without a body, a statement, ...):
        // point at its first token.
        Err(_) => item
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| t.span()),
    };
    syn::Error::new(span, message)
}

/// The keyword that says what the item is (`struct`, `enum`, ...).
fn item_keyword(item: &Item) -> Span {
    match item {
        Item::Const(i) => i.const_token.span,
        Item::Enum(i) => i.enum_token.span,
        Item::ExternCrate(i) => i.extern_token.span,
        Item::ForeignMod(i) => i.abi.extern_token.span,
        Item::Impl(i) => i.impl_token.span,
        Item::Macro(i) => i.mac.path.span(),
        Item::Mod(i) => i.mod_token.span,
        Item::Static(i) => i.static_token.span,
        Item::Struct(i) => i.struct_token.span,
        Item::Trait(i) => i.trait_token.span,
        Item::TraitAlias(i) => i.trait_token.span,
        Item::Type(i) => i.type_token.span,
        Item::Union(i) => i.union_token.span,
        Item::Use(i) => i.use_token.span,
        other => other.span(),
    }
}

/// Checks the function against the options.
pub(crate) fn check(func: &ItemFn, args: &Args) -> syn::Result<()> {
    let sig = &func.sig;
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new(
            constness.span,
            format!(
                "{} cannot wrap a `const fn`: an alert is sent at run time, \
                 and the wrapper is not const",
                args.attribute.written()
            ),
        ));
    }
    if args.attribute == Attribute::Monitor && args.name.is_none() {
        // The job's name defaults to the function's: it must be a slug too.
        let name = sig.ident.unraw().to_string();
        check_job_name(
            &name,
            sig.ident.span(),
            &format!(
                "; the job is named after the function unless you name it: \
                 `#[monitor(name = \"{}\")]`",
                name.to_lowercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
            ),
        )?;
    }
    if let (Some(result), ReturnType::Default) = (&args.result, &sig.output) {
        return Err(syn::Error::new(
            result.span(),
            "`result` marks the return type as a `Result`, but this function returns `()`",
        ));
    }
    if let Some(names) = &args.context {
        let has_self = sig.receiver().is_some();
        let mut bindings = Vec::new();
        for input in &sig.inputs {
            if let FnArg::Typed(arg) = input {
                bindings.extend(self::bindings(&arg.pat));
            }
        }
        for name in names {
            if name == "self" {
                if !has_self {
                    return Err(syn::Error::new(
                        name.span(),
                        "`context(self)` needs a method: this function has no `self` argument",
                    ));
                }
            } else if !bindings.contains(name) {
                let mut all: Vec<String> = Vec::new();
                if has_self {
                    all.push("`self`".to_owned());
                }
                all.extend(bindings.iter().map(|b| format!("`{b}`")));
                let listed = if all.is_empty() {
                    "this function has no arguments".to_owned()
                } else {
                    format!("its arguments are {}", all.join(", "))
                };
                return Err(syn::Error::new(
                    name.span(),
                    format!("`context({name})` names no argument of this function; {listed}"),
                ));
            }
        }
    }
    Ok(())
}

/// The names an argument pattern binds (`a`, `mut b`, `(x, y)`,
/// `Point { x, .. }`, `all @ (first, ..)`), in order.
pub(crate) fn bindings(pat: &Pat) -> Vec<Ident> {
    let mut pat = pat.clone();
    let mut out = Vec::new();
    for_each_binding(&mut pat, &mut |binding| out.push(binding.ident.clone()));
    out
}

/// Calls `f` on each binding of a pattern, in order: the one walk of
/// argument patterns (the checks read it, the expansion rebinds by it).
pub(crate) fn for_each_binding(pat: &mut Pat, f: &mut dyn FnMut(&mut syn::PatIdent)) {
    match pat {
        Pat::Ident(p) => {
            f(p);
            if let Some((_, sub)) = &mut p.subpat {
                for_each_binding(sub, f);
            }
        }
        Pat::Paren(p) => for_each_binding(&mut p.pat, f),
        Pat::Reference(p) => for_each_binding(&mut p.pat, f),
        Pat::Slice(p) => p.elems.iter_mut().for_each(|p| for_each_binding(p, f)),
        Pat::Struct(p) => p
            .fields
            .iter_mut()
            .for_each(|field| for_each_binding(&mut field.pat, f)),
        Pat::Tuple(p) => p.elems.iter_mut().for_each(|p| for_each_binding(p, f)),
        Pat::TupleStruct(p) => p.elems.iter_mut().for_each(|p| for_each_binding(p, f)),
        Pat::Type(p) => for_each_binding(&mut p.pat, f),
        _ => {}
    }
}
