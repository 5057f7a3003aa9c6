//! The wrapping itself: the signature is re-emitted as written, the body runs
//! inside a closure (sync) or an `async move` block (async) watched by the
//! runtime, and an `Err` return is reported.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    AttrStyle, GenericArgument, Ident, ItemFn, LitStr, Path, PathArguments, ReturnType, Type,
    TypeInfer,
};

use crate::args::{Args, Attribute};
use crate::valid;

/// The whole macro: parse, check, expand. On any mistake the item is emitted
/// as written next to the `compile_error!`, so one mistake gives one error.
pub(crate) fn expand(args: TokenStream, item: TokenStream, attribute: Attribute) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error = valid::not_a_function(item.clone(), attribute);
            return with_error(item, error);
        }
    };
    let args = match Args::parse(args, attribute) {
        Ok(args) => args,
        Err(error) => return with_error(func.into_token_stream(), error),
    };
    if let Err(error) = valid::check(&func, &args) {
        return with_error(func.into_token_stream(), error);
    }
    wrap(func, &args)
}

fn with_error(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#item #error)
}

fn wrap(func: ItemFn, args: &Args) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    let (outer, inner): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Outer));
    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::notify_core),
    };
    let private = quote!(#krate::__private);

    let site = call_site(&private, &sig.ident, args);
    let context = context(&private, args);
    // `#[monitor]`: the job's static record, and the context slot that
    // carries the run.
    let (site, context) = match args.attribute {
        Attribute::Monitor => (
            {
                let monitor = monitor_site(&private, &sig.ident, args);
                quote!(#site #monitor)
            },
            quote!(#private::Monitored::start(&__NOTIFY_MONITOR, #context)),
        ),
        Attribute::AlertOnError => (site, context),
    };
    // What a success says of the value returned: its `Debug` text with
    // `success_value` (spanned there, so a value without `Debug` is
    // reported at the option), else nothing.
    let success = match &args.success_value {
        Some(option) => quote_spanned! {option.span()=>
            |__notify_value| ::core::option::Option::Some(#private::debug(__notify_value))
        },
        None => quote!(|_| ::core::option::Option::None),
    };
    // A body that returns no value to probe succeeds all the same: a
    // monitored run must hear it.
    // (Without `success_value`, the value is not looked at: `&()` stands
    // for it, as an opaque `impl Trait` value may not be nameable here.)
    let success_without_value = |context: TokenStream| {
        let value = match &args.success_value {
            Some(_) => quote!(&__notify_result),
            None => quote!(&()),
        };
        match args.attribute {
            Attribute::AlertOnError => quote!(let _ = #context;),
            Attribute::Monitor => {
                quote!(#private::ContextSlot::succeeded(#context, #value, #success);)
            }
        }
    };

    // The type the body must produce: the return type, with every `impl Trait`
    // left to inference (a `let` cannot name an opaque type).
    let result_ty = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => infer_impl_traits(ty).into_token_stream(),
    };
    // What the function returned is checked by its type (see
    // `__private::Probe`): a `Result` reports its `Err`; a future returned
    // by a sync fn is watched; anything else passes through.
    let error_tokens = error_span_tokens(&sig.output);
    // An `impl Trait` return shows only its bounds: it can be awaited (and so
    // is worth watching) only when they name a future's `Output`; any other
    // opaque type passes through, unprobed (its hidden type may be still
    // unknown where the probe would look, as in `-> impl Debug { todo!() }`).
    let returns_value = match &sig.output {
        ReturnType::Default => false,
        output if returns_impl_trait(output) => future_output_type(output).is_some(),
        ReturnType::Type(..) => true,
    };
    // `#[track_caller]` on a sync fn: the body goes into a nested
    // `#[track_caller]` fn instead of a closure (a closure cannot be
    // `#[track_caller]` on stable), so `Location::caller()` and panics in
    // the body still see the caller.
    let tracks_caller = sig.asyncness.is_none()
        && outer
            .iter()
            .any(|attr| attr.path().is_ident("track_caller"));
    let nested = if tracks_caller {
        match nested_body(&mut sig, &block, &inner, &outer, args) {
            Ok(nested) => Some(nested),
            Err(error) => {
                let error = error.into_compile_error();
                let item = ItemFn {
                    attrs: outer.into_iter().chain(inner).collect(),
                    vis,
                    sig,
                    block,
                };
                return quote!(#item #error);
            }
        }
    } else {
        None
    };
    // The arguments are moved into the body and rebound there in their
    // order, so that they drop as they would without the attribute: after
    // the body's locals, last argument first. (A nested body fn has them
    // as its own arguments.)
    let rebind = if nested.is_some() {
        TokenStream::new()
    } else {
        rebind_arguments(&mut sig, args.context.as_deref().unwrap_or_default())
    };
    let statements = &block.stmts;
    // The body's braces keep the span of the original ones (and the
    // signature its own tokens), so the function is still the user's item
    // to the compiler: an unused one warns `dead_code` (as tracing-attributes
    // found: tokio-rs/tracing#3108).
    let brace_span = block.brace_token.span.join();
    let describe = describe_error(&private, error_tokens);
    // Every body starts the same: its inner attributes, the call site, the
    // context values.
    let (nested_fn, nested_call) = match nested {
        Some(Nested { item, call }) => (item, Some(call)),
        None => (TokenStream::new(), None),
    };
    let prelude = quote! {
        #nested_fn
        #site
        let __notify_context = #context;
    };
    let prelude = if nested_call.is_some() {
        prelude
    } else {
        quote!(#(#inner)* #prelude)
    };
    let call_never = match &nested_call {
        Some(call) => call.clone(),
        None => quote! {
            #[allow(clippy::redundant_closure_call)]
            (move || -> ! { #rebind #block })()
        },
    };
    // A closure, so that `return` and `?` keep their meaning; its declared
    // return type makes them coerce and convert as in the function.
    let call_value = match &nested_call {
        Some(call) => call.clone(),
        None => quote!(#private::call_once(move || -> #result_ty { #rebind #block })),
    };
    if sig.asyncness.is_some() {
        // Spanned on the return type: a body whose value does not match it
        // is told "return type inferred to be .. here" at the signature.
        let output_span = match &sig.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => sig.ident.span(),
        };
        let fake_return = quote_spanned! {output_span=>
            let __notify_fake_return: #result_ty = loop {};
            return __notify_fake_return;
        };
        // The output of the body: a `Result` (by type) reports its `Err`.
        let check_output = if returns_value {
            quote! {
                #[allow(unused_imports)]
                use #private::{OutputOther as _, OutputResult as _};
                let __notify_result = (&&#private::Probe::of(&__notify_result))
                    .__notify_output_kind()
                    .handle_output(
                        __notify_result,
                        &__NOTIFY_SITE,
                        __notify_context,
                        __notify_entered,
                        #describe,
                        #success,
                    );
            }
        } else {
            let succeeded = success_without_value(quote!(__notify_context));
            quote!(let _ = __notify_entered; #succeeded)
        };
        return {
            let body = braced(
                brace_span,
                quote! {
                    #prelude
                    // `__notify_entered`: when the poll that completed the body
                    // started (a call inside that reported the same error
                    // already, then this one does not).
                    let (__notify_result, __notify_context, __notify_entered): (#result_ty, _, _) = #private::Watch::new(
                        || &__NOTIFY_SITE,
                        __notify_context,
                        async move {
                            // An async block has no declared output type: this first
                            // `return` gives it one, so the body's `return`s and `?`
                            // coerce and convert as they did in the `async fn` (the
                            // trick of tracing-attributes).
                            #[allow(
                                unknown_lints,
                                unreachable_code,
                                clippy::diverging_sub_expression,
                                clippy::empty_loop,
                                clippy::let_unit_value,
                                clippy::let_with_type_underscore,
                                clippy::needless_return,
                                clippy::unreachable
                            )]
                            if false {
                                #fake_return
                            }
                            #rebind
                            // The body's statements, not the block: a block as the
                            // tail would warn `unused_braces` on `async fn f() { x }`.
                            #(#statements)*
                        },
                    )
                    .await;
                    #check_output
                    __notify_result
                },
            );
            quote! { #(#outer)* #vis #sig #body }
        };
    }
    if returns_never(&sig.output) {
        // `fn ... -> !` never returns: the guard only ever reports a panic, and
        // `!` cannot be written as a `let` type on stable.
        return {
            let body = braced(
                brace_span,
                quote! {
                    #prelude
                    let __notify_guard = #private::PanicGuard::new(|| &__NOTIFY_SITE, __notify_context);
                    #call_never
                },
            );
            quote! { #(#outer)* #vis #sig #body }
        };
    }
    let check_returned = if returns_value {
        // Any future, not just a boxed one, may stand for an `impl Trait`
        // return: a watch of it is the same kind of `impl Future`.
        let any_future = if returns_impl_trait(&sig.output) {
            quote!(ProbeFuture as _,)
        } else {
            TokenStream::new()
        };
        // `impl Future<Output = X>`: the output's type as written, so that a
        // body whose future never returns (it panics) still has one.
        let output_annotation = match future_output_type(&sig.output) {
            Some(ty) => {
                let ty = infer_impl_traits(&ty);
                quote!(: #ty)
            }
            None => TokenStream::new(),
        };
        quote! {
            #[allow(unused_imports)]
            use #private::{
                OutputOther as _, OutputResult as _, ProbeBoxedFuture as _, #any_future
                ProbeOther as _, ProbeResult as _,
            };
            let __notify_result = (&&&&#private::Probe::of(&__notify_result))
                .__notify_kind()
                .handle(
                    __notify_result,
                    || &__NOTIFY_SITE,
                    __notify_context,
                    __notify_entered,
                    #describe,
                    // A returned future's output, when it completes.
                    move |__notify_output #output_annotation, __notify_context, __notify_entered| {
                        (&&#private::Probe::of(&__notify_output))
                            .__notify_output_kind()
                            .handle_output(
                                __notify_output,
                                &__NOTIFY_SITE,
                                __notify_context,
                                __notify_entered,
                                #describe,
                                #success,
                            )
                    },
                    #success,
                );
        }
    } else {
        success_without_value(quote!(__notify_context))
    };
    // When this call started (an `Err` that a call inside it reported
    // already is not reported again); only a value can be an `Err`.
    // (An `impl Future` return is a future: its output is stamped by the
    // poll that completes it.)
    let entered = if future_output_type(&sig.output).is_some() {
        quote!(let __notify_entered = #private::not_entered();)
    } else if returns_value {
        quote!(let __notify_entered = #private::entered();)
    } else {
        TokenStream::new()
    };
    {
        let body = braced(
            brace_span,
            quote! {
                #prelude
                #entered
                let __notify_guard = #private::PanicGuard::new(|| &__NOTIFY_SITE, __notify_context);
                #[allow(clippy::let_unit_value)]
                let __notify_result: #result_ty = #call_value;
                let __notify_context = __notify_guard.disarm();
                #check_returned
                __notify_result
            },
        );
        quote! { #(#outer)* #vis #sig #body }
    }
}

/// `static __NOTIFY_SITE: CallSite = ...;`
fn call_site(private: &TokenStream, ident: &syn::Ident, args: &Args) -> TokenStream {
    let function = LitStr::new(&ident.unraw().to_string(), ident.span());
    // `line!()` and `file!()` spanned on the function's name give its position.
    let line = quote_spanned!(ident.span()=> ::core::line!());
    let file = quote_spanned!(ident.span()=> ::core::file!());
    let severity = match &args.severity {
        Some(severity) => {
            let variant = format_ident!(
                "{}",
                severity.level.variant(),
                span = severity.literal.span()
            );
            quote!(::core::option::Option::Some(#private::Severity::#variant))
        }
        None => quote!(::core::option::Option::None),
    };
    let title = match &args.title {
        Some(title) => quote!(::core::option::Option::Some(#title)),
        None => quote!(::core::option::Option::None),
    };
    let sinks = args.sinks.as_deref().unwrap_or_default();
    quote! {
        static __NOTIFY_SITE: #private::CallSite = #private::CallSite {
            function: #function,
            module_path: ::core::module_path!(),
            file: #file,
            line: #line,
            severity: #severity,
            title: #title,
            sinks: &[#(#sinks),*],
            fingerprint_prefix: #private::SitePrefix::new(
                ::core::module_path!(),
                #function,
                #file,
                #line,
            ),
            repeats: #private::RepeatSlot::new(),
        };
    }
}

/// `static __NOTIFY_MONITOR: MonitorSite = ...;` of a `#[monitor]`ed function.
fn monitor_site(private: &TokenStream, ident: &syn::Ident, args: &Args) -> TokenStream {
    let job = match &args.name {
        Some(name) => name.clone(),
        None => LitStr::new(&ident.unraw().to_string(), ident.span()),
    };
    let notify = args.notify.as_ref();
    let start = notify.is_some_and(|n| n.start.is_some());
    let success = notify.is_some_and(|n| n.success.is_some());
    let max_runtime_ms = args.max_runtime.unwrap_or(0);
    quote! {
        static __NOTIFY_MONITOR: #private::MonitorSite = #private::MonitorSite {
            site: &__NOTIFY_SITE,
            job: #job,
            notify_start: #start,
            notify_success: #success,
            max_runtime_ms: #max_runtime_ms,
        };
    }
}

/// The `Debug` text of the `context(...)` arguments, formatted on entry.
fn context(private: &TokenStream, args: &Args) -> TokenStream {
    let Some(names) = &args.context else {
        return quote!(#private::NoContext);
    };
    let entries = names.iter().map(|name| {
        let key = LitStr::new(&name.unraw().to_string(), name.span());
        // Spanned on the name, so a value without `Debug` is reported there.
        let value = quote_spanned!(name.span()=> #private::debug(&#name));
        quote!((#key, #value))
    });
    quote!(#private::Context::capture(|| ::std::vec![#(#entries),*]))
}

/// The closure that describes an error by the richest trait its type has
/// (autoref specialisation over `__private::Wrap`).
fn describe_error(private: &TokenStream, error_tokens: TokenStream) -> TokenStream {
    // The conversion is spanned on the error type's tokens: when the type has
    // neither `Display` nor `Debug`, the one error points at the type in the
    // signature. A `match` spanned from the first to the last token makes the
    // error cover the whole type.
    let (first, last) = first_and_last_span(&error_tokens);
    let at_type = respan(private.clone(), first);
    // The local's name keeps the macro's own span: the type's tokens may
    // come from a `macro_rules!` expansion, whose hygiene would not see a
    // `let` made here.
    let desc = Ident::new("__notify_desc", Span::call_site());
    let mut arms = Group::new(Delimiter::Brace, quote_spanned!(first=> #desc => #desc));
    arms.set_span(last);
    let mut argument = Group::new(
        Delimiter::Parenthesis,
        quote_spanned!(first=> match #desc #arms),
    );
    argument.set_span(last);
    let convert = Ident::new("into_error_ref", last);
    let describe = quote_spanned!(first=> #at_type::IntoErrorRef::#convert #argument);
    // The closure only describes the error; the report happens after it has
    // returned, so the first frame of the backtrace is the function's.
    quote! {
        |__notify_err| {
            #[allow(unused_imports)]
            use #private::{
                DescribeAsError as _, DescribeAsErrorSendSync as _, DescribeDebug as _,
                DescribeDisplay as _, DescribeError as _, DescribeNothing as _,
                DescribeText as _,
            };
            // Autoref specialisation picks the richest description the type allows.
            let __notify_wrap = &&&&&&&#private::Wrap(__notify_err);
            let __notify_desc = __notify_wrap.__notify_describe();
            #describe
        }
    }
}

fn first_and_last_span(tokens: &TokenStream) -> (Span, Span) {
    let mut spans = tokens.clone().into_iter().map(|t| t.span());
    let first = spans.next().unwrap_or_else(Span::call_site);
    (first, spans.last().unwrap_or(first))
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// The tokens a missing `Display`/`Debug` of the error type is reported
/// at: the `E` of a return type spelled `X<T, E>`, else the whole return
/// type. Only spans: whether the type is a `Result` is decided by its type.
fn error_span_tokens(output: &ReturnType) -> TokenStream {
    let ReturnType::Type(_, ty) = output else {
        return quote!(());
    };
    match strip_groups(ty) {
        Type::Path(path) if path.qself.is_none() => {
            error_type(&path.path).map_or_else(|| ty.to_token_stream(), ToTokens::to_token_stream)
        }
        _ => ty.to_token_stream(),
    }
}

/// `X` of a return type `impl Future<Output = X>` whose other bounds are
/// only auto traits (`Send`, `Sync`, `Unpin`), lifetimes and `use<..>`: the
/// opaque types a watch of the future can stand for. (`+ Clone`, `+ Debug`,
/// `impl FusedFuture` or `impl IntoFuture` are left as they are.)
fn future_output_type(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::ImplTrait(impl_trait) = strip_groups(ty) else {
        return None;
    };
    let mut future_output = None;
    for bound in &impl_trait.bounds {
        match bound {
            syn::TypeParamBound::Lifetime(_) => {}
            syn::TypeParamBound::Trait(bound) => {
                let last = bound.path.segments.last()?;
                if last.ident == "Future" && future_output.is_none() {
                    let PathArguments::AngleBracketed(args) = &last.arguments else {
                        return None;
                    };
                    future_output = args.args.iter().find_map(|arg| match arg {
                        GenericArgument::AssocType(assoc) if assoc.ident == "Output" => {
                            Some(assoc.ty.clone())
                        }
                        _ => None,
                    });
                    future_output.as_ref()?;
                } else if !["Send", "Sync", "Unpin"].iter().any(|t| last.ident == t)
                    || !matches!(last.arguments, PathArguments::None)
                {
                    return None;
                }
            }
            // `use<'a, T>` (precise capturing) and whatever else: only
            // precise capturing is known to keep the watch valid.
            other => {
                let first = other.to_token_stream().into_iter().next();
                if !matches!(first, Some(TokenTree::Ident(ident)) if ident == "use") {
                    return None;
                }
            }
        }
    }
    future_output
}

fn returns_impl_trait(output: &ReturnType) -> bool {
    matches!(output, ReturnType::Type(_, ty) if matches!(strip_groups(ty), Type::ImplTrait(_)))
}

fn returns_never(output: &ReturnType) -> bool {
    matches!(output, ReturnType::Type(_, ty) if matches!(strip_groups(ty), Type::Never(_)))
}

fn strip_groups(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => strip_groups(&g.elem),
        Type::Paren(p) => strip_groups(&p.elem),
        other => other,
    }
}

/// The second type argument of the last segment (`E` of `Result<T, E>`).
fn error_type(path: &Path) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = &path.segments.last()?.arguments else {
        return None;
    };
    args.args
        .iter()
        .filter_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .nth(1)
}

/// `ty` with every `impl Trait` replaced by `_`.
fn infer_impl_traits(ty: &Type) -> Type {
    let mut ty = ty.clone();
    replace_impl_traits(&mut ty);
    ty
}

fn replace_impl_traits(ty: &mut Type) {
    match ty {
        Type::ImplTrait(impl_trait) => {
            *ty = Type::Infer(TypeInfer {
                underscore_token: syn::Token![_](impl_trait.span()),
            });
        }
        Type::Array(t) => replace_impl_traits(&mut t.elem),
        Type::Group(t) => replace_impl_traits(&mut t.elem),
        Type::Paren(t) => replace_impl_traits(&mut t.elem),
        Type::Ptr(t) => replace_impl_traits(&mut t.elem),
        Type::Reference(t) => replace_impl_traits(&mut t.elem),
        Type::Slice(t) => replace_impl_traits(&mut t.elem),
        Type::Tuple(t) => t.elems.iter_mut().for_each(replace_impl_traits),
        Type::Path(t) => {
            if let Some(qself) = &mut t.qself {
                replace_impl_traits(&mut qself.ty);
            }
            for segment in &mut t.path.segments {
                match &mut segment.arguments {
                    PathArguments::AngleBracketed(args) => {
                        for arg in &mut args.args {
                            match arg {
                                GenericArgument::Type(ty) => replace_impl_traits(ty),
                                GenericArgument::AssocType(assoc) => {
                                    replace_impl_traits(&mut assoc.ty);
                                }
                                _ => {}
                            }
                        }
                    }
                    PathArguments::Parenthesized(args) => {
                        args.inputs.iter_mut().for_each(replace_impl_traits);
                        if let ReturnType::Type(_, ty) = &mut args.output {
                            replace_impl_traits(ty);
                        }
                    }
                    PathArguments::None => {}
                }
            }
        }
        _ => {}
    }
}

/// `{ tokens }`, its braces spanned at `span`.
fn braced(span: Span, tokens: TokenStream) -> TokenStream {
    let mut group = Group::new(Delimiter::Brace, tokens);
    group.set_span(span);
    TokenTree::Group(group).into()
}

/// The arguments' bindings, rebound at the start of the body in their
/// order: `let a = a; let mut c = c; ...`. Moved into the body's closure
/// or `async` block this way, every argument is owned by the body (not
/// only the parts of it the body mentions) and drops where it would
/// without the attribute: after the body's locals, last argument first.
///
/// The signature changes where the rebinding needs it, without changing
/// what the function is: a `mut` moves from the argument to its rebinding,
/// and an argument written `_` gets a name (so it too is moved, and drops
/// in its turn). `self` stays where it is.
///
/// An argument named in `context(..)` is used by the attribute, so the body
/// not using it is no reason to warn.
fn rebind_arguments(sig: &mut syn::Signature, context: &[Ident]) -> TokenStream {
    let mut rebind = TokenStream::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        let syn::FnArg::Typed(arg) = input else {
            continue;
        };
        if let syn::Pat::Wild(wild) = &*arg.pat {
            let name = format_ident!("__notify_arg{}", index, span = wild.underscore_token.span);
            *arg.pat = syn::Pat::Ident(syn::PatIdent {
                attrs: Vec::new(),
                by_ref: None,
                mutability: None,
                ident: name,
                subpat: None,
            });
        }
        // The argument's own attributes go with its rebinding: a
        // `#[cfg(..)]` that removes the argument removes it too, and an
        // `#[allow(unused_variables)]` still covers it.
        // The attributes that speak of the binding go with it: `cfg` (the
        // argument may not exist) and lint levels. Any other (a helper
        // attribute of another macro) stays on the argument only.
        let attrs: Vec<syn::Attribute> = arg
            .attrs
            .iter()
            .filter(|attr| {
                [
                    "cfg", "cfg_attr", "allow", "expect", "warn", "deny", "forbid",
                ]
                .iter()
                .any(|name| attr.path().is_ident(name))
            })
            .cloned()
            .collect();
        // An `#[expect(..)]` moves to the rebinding, where the body's use
        // (or not) of the argument is; on the argument it would be unfulfilled.
        arg.attrs.retain(|attr| !attr.path().is_ident("expect"));
        let mut bindings = TokenStream::new();
        rebind_pattern(&mut arg.pat, &mut bindings);
        for statement in split_statements(bindings) {
            rebind.extend(quote!(#(#attrs)* #statement));
        }
    }
    // Every name in `context(..)` but `self` is a binding of an argument
    // (checked by `valid::check`), so it is rebound above.
    for name in context.iter().filter(|name| *name != "self") {
        rebind.extend(quote!(let _ = &#name;));
    }
    rebind
}

/// `let a = a; let b = b;` as one statement each.
fn split_statements(tokens: TokenStream) -> Vec<TokenStream> {
    let mut statements = Vec::new();
    let mut current = TokenStream::new();
    for token in tokens {
        let end = matches!(&token, TokenTree::Punct(p) if p.as_char() == ';');
        current.extend([token]);
        if end {
            statements.push(std::mem::take(&mut current));
        }
    }
    statements
}

fn rebind_pattern(pat: &mut syn::Pat, rebind: &mut TokenStream) {
    valid::for_each_binding(pat, &mut |binding| {
        let ident = &binding.ident;
        // `mut x` moves to the rebinding (where the body mutates it);
        // `ref mut x` stays (it is a reference into the argument).
        let mutability = if binding.by_ref.is_none() {
            binding.mutability.take()
        } else {
            None
        };
        rebind.extend(quote!(let #mutability #ident = #ident;));
    });
}

/// A sync body as a nested `#[track_caller]` fn, and the call of it.
struct Nested {
    item: TokenStream,
    call: TokenStream,
}

/// Moves the body of a `#[track_caller]` sync fn into a nested fn with the
/// same generics, arguments (as written) and return type, itself
/// `#[track_caller]`; the outer signature names each argument that is not
/// a plain name, to pass it on. A method (or any fn that mentions `Self`)
/// cannot have its body in a nested fn — a nested item sees neither
/// `Self` nor the impl's generics — and is refused with a clear error.
fn nested_body(
    sig: &mut syn::Signature,
    block: &syn::Block,
    inner_attrs: &[syn::Attribute],
    outer_attrs: &[syn::Attribute],
    args: &Args,
) -> syn::Result<Nested> {
    let at = outer_attrs
        .iter()
        .find(|attr| attr.path().is_ident("track_caller"))
        .map_or_else(|| sig.ident.span(), |attr| attr.path().span());
    let refuse = || {
        syn::Error::new(
            at,
            format!(
                "{} cannot keep `#[track_caller]` on a method (or a function \
                 that mentions `Self`): its body would run in a closure, which cannot track its \
                 caller on stable Rust, so panics and `Location::caller()` would point inside the \
                 method; move the body into a free `#[track_caller]` function and annotate that \
                 (an associated function that uses its impl's generic parameters cannot be kept \
                 either: the compiler then says \"can't use generic parameters from outer item\")",
                args.attribute.written()
            ),
        )
    };
    // `Self` in the body, outside items of its own (a local `impl` has its
    // own `Self`).
    let body_mentions_self = block
        .stmts
        .iter()
        .any(|stmt| !matches!(stmt, syn::Stmt::Item(_)) && mentions_self(stmt.to_token_stream()));
    if sig.receiver().is_some() || mentions_self(sig.to_token_stream()) || body_mentions_self {
        return Err(refuse());
    }
    // `context(x)` of a binding inside a pattern argument: the outer
    // function passes the argument whole, so it has no `x` to format.
    if let Some(names) = &args.context {
        for input in &sig.inputs {
            let syn::FnArg::Typed(arg) = input else {
                continue;
            };
            if matches!(&*arg.pat, syn::Pat::Ident(b) if b.by_ref.is_none() && b.subpat.is_none()) {
                continue;
            }
            let bindings = valid::bindings(&arg.pat);
            if let Some(name) = names.iter().find(|n| bindings.contains(n)) {
                return Err(syn::Error::new(
                    name.span(),
                    format!(
                        "with `#[track_caller]`, `context({name})` cannot name a binding inside a \
                         pattern argument (the body runs in a nested `#[track_caller]` fn that \
                         takes the argument whole); bind the argument to a name and destructure it \
                         in the body"
                    ),
                ));
            }
        }
    }
    if let Some(attr) = sig.inputs.iter().find_map(|input| match input {
        syn::FnArg::Typed(arg) => arg.attrs.iter().find(|a| a.path().is_ident("cfg")),
        syn::FnArg::Receiver(_) => None,
    }) {
        return Err(syn::Error::new(
            attr.path().span(),
            format!(
                "{} cannot keep `#[track_caller]` on a function with a `#[cfg(..)]` \
                 argument: its body runs in a nested `#[track_caller]` fn, and a call cannot leave \
                 an argument out by `cfg`; move the `cfg` to the whole function",
                args.attribute.written()
            ),
        ));
    }
    let inner_sig = sig.clone();
    let mut arguments = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        // A receiver was refused above.
        let syn::FnArg::Typed(arg) = input else {
            continue;
        };
        match &mut *arg.pat {
            syn::Pat::Ident(binding) if binding.by_ref.is_none() && binding.subpat.is_none() => {
                // Only passed on: the nested fn's argument is the `mut` one.
                binding.mutability = None;
                arguments.push(binding.ident.clone());
            }
            other => {
                let name = format_ident!("__notify_arg{}", index, span = other.span());
                *other = syn::Pat::Ident(syn::PatIdent {
                    attrs: Vec::new(),
                    by_ref: None,
                    mutability: None,
                    ident: name.clone(),
                    subpat: None,
                });
                arguments.push(name);
            }
        }
    }
    // Explicit generic arguments (allowed beside `impl Trait` arguments,
    // whose own parameters are inferred): a parameter only the body uses
    // could not be inferred.
    let params: Vec<TokenStream> = inner_sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            syn::GenericParam::Type(t) => Some(t.ident.to_token_stream()),
            syn::GenericParam::Const(c) => Some(c.ident.to_token_stream()),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect();
    let turbofish = if params.is_empty() {
        TokenStream::new()
    } else {
        quote!(::<#(#params),*>)
    };
    let syn::Signature {
        unsafety,
        generics,
        inputs,
        variadic,
        output,
        ..
    } = &inner_sig;
    if let Some(variadic) = variadic {
        return Err(syn::Error::new(
            variadic.dots.spans[0],
            "`#[track_caller]` cannot be kept on a C-variadic function: its body cannot move \
             into a nested fn",
        ));
    }
    let (params_with_bounds, _, where_clause) = generics.split_for_impl();
    let statements = &block.stmts;
    let body = braced(
        block.brace_token.span.join(),
        quote!(#(#inner_attrs)* #(#statements)*),
    );
    let item = quote! {
        #[track_caller]
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        #unsafety fn __notify_body #params_with_bounds (#inputs) #output #where_clause #body
    };
    let call = quote!(__notify_body #turbofish (#(#arguments),*));
    let call = if unsafety.is_some() {
        quote!(unsafe { #call })
    } else {
        call
    };
    Ok(Nested { item, call })
}

fn mentions_self(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "Self",
        TokenTree::Group(group) => mentions_self(group.stream()),
        _ => false,
    })
}
