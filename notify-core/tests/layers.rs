//! The crate's modules are layered: imports only point down.
//!
//! This test reads `src/` with `syn`, finds every path a module uses — `use`
//! items, paths in code and types, `crate::...` inside macro calls — and
//! resolves each to the file that defines the module it names. Then:
//!
//! 1. no file imports, directly or through others, a file that imports it
//!    back (a cycle fails the test and is printed);
//! 2. every top-level module has a layer (`LAYERS`), and a module only
//!    imports modules of its own layer or below — so the leaves (alert model,
//!    errors, settings, fingerprints, rendering, stack walking, OS
//!    specifics) depend on nothing above them, and capture never reaches
//!    the dispatcher.
//!
//! Unit tests (`#[cfg(test)]` items) are left out: they may use anything.
//! Paths through the crate root's re-exports (`crate::Alert`) count as
//! imports of `lib.rs`, which imports everything: modules name the module
//! that defines an item.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Top-level modules by layer, lowest first. A module may import its own
/// layer or lower ones; `lib.rs` (the root) is above them all.
const LAYERS: &[&[&str]] = &[
    // Leaves.
    &[
        "alert",
        "error",
        "settings",
        "diagnostic",
        "fingerprint",
        "sys",
        "wait",
    ],
    &["render", "unwind"],
    // Storm control, and the webhook document.
    &["storm", "webhook"],
    // Sinks.
    &["sink"],
    // Capture: the one report pipeline, below the dispatcher.
    &["capture"],
    // What plugs into capture: the dispatcher, the test scope, the macro's support.
    &["dispatch", "testing", "__private", "tracing", "log"],
    // Configuration and install, on top.
    &["config"],
];

/// A module path (`["dispatch", "worker"]`); the root is empty.
type ModPath = Vec<String>;

struct Crate {
    /// Every module that is a file, by path.
    files: BTreeMap<ModPath, PathBuf>,
    /// Every module, files and inline ones (`mod abort_mode { .. }`).
    modules: BTreeSet<ModPath>,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn module_files(dir: &Path, prefix: &ModPath, files: &mut BTreeMap<ModPath, PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src/")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut module = prefix.clone();
            module.push(name);
            let own = path.join("mod.rs");
            if own.exists() {
                files.insert(module.clone(), own);
            }
            module_files(&path, &module, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            if name == "mod" || (prefix.is_empty() && name == "lib") {
                if prefix.is_empty() {
                    files.insert(Vec::new(), path);
                }
                continue;
            }
            let mut module = prefix.clone();
            module.push(name);
            files.insert(module, path);
        }
    }
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .meta
                .require_list()
                .is_ok_and(|list| mentions_test(list.tokens.clone()))
    })
}

/// `test` anywhere in a `cfg(...)`, except under `not(...)`.
fn mentions_test(tokens: proc_macro2::TokenStream) -> bool {
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            proc_macro2::TokenTree::Ident(ident) if ident == "not" => {
                tokens.next(); // its group
            }
            proc_macro2::TokenTree::Ident(ident) if ident == "test" => return true,
            proc_macro2::TokenTree::Group(group) if mentions_test(group.stream()) => return true,
            _ => {}
        }
    }
    false
}

/// Collects the paths used in one file, each with the module it is used in.
struct Uses<'a> {
    module: ModPath,
    found: &'a mut Vec<(ModPath, Vec<String>)>,
    inline_modules: &'a mut BTreeSet<ModPath>,
}

impl Uses<'_> {
    fn add(&mut self, segments: Vec<String>) {
        // `pub(crate)` and `pub(super)` are paths too, naming no import.
        let keyword_only =
            segments.len() == 1 && matches!(segments[0].as_str(), "crate" | "self" | "super");
        if !segments.is_empty() && !keyword_only {
            self.found.push((self.module.clone(), segments));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                let mut full = prefix.clone();
                if name.ident != "self" {
                    full.push(name.ident.to_string());
                }
                self.add(full);
            }
            syn::UseTree::Rename(rename) => {
                let mut full = prefix.clone();
                if rename.ident != "self" {
                    full.push(rename.ident.to_string());
                }
                self.add(full);
            }
            syn::UseTree::Glob(_) => self.add(prefix.clone()),
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_only(attrs) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if let Some((_, items)) = &item.content {
            self.module.push(item.ident.to_string());
            self.inline_modules.insert(self.module.clone());
            for item in items {
                self.visit_item(item);
            }
            self.module.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.add(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // `format!("..", crate::x::y())` and macro_rules bodies: scan the
        // tokens for `crate :: a :: b` and `$crate :: a :: b`.
        scan_tokens(mac.tokens.clone(), &mut |segments| self.add(segments));
        syn::visit::visit_macro(self, mac);
    }
}

fn scan_tokens(tokens: proc_macro2::TokenStream, add: &mut dyn FnMut(Vec<String>)) {
    let tokens: Vec<_> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            proc_macro2::TokenTree::Group(group) => scan_tokens(group.stream(), add),
            proc_macro2::TokenTree::Ident(ident) if ident == "crate" => {
                let mut segments = vec![String::from("crate")];
                let mut j = i + 1;
                while j + 2 < tokens.len() + 1 {
                    let colons = matches!(&tokens.get(j), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':')
                        && matches!(&tokens.get(j + 1), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':');
                    match (colons, tokens.get(j + 2)) {
                        (true, Some(proc_macro2::TokenTree::Ident(next))) => {
                            segments.push(next.to_string());
                            j += 3;
                        }
                        _ => break,
                    }
                }
                add(segments);
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

impl Crate {
    fn read() -> (Crate, Vec<(ModPath, Vec<String>)>) {
        let mut files = BTreeMap::new();
        module_files(&src_dir(), &Vec::new(), &mut files);
        let mut found = Vec::new();
        let mut inline_modules = BTreeSet::new();
        for (module, path) in &files {
            let text = std::fs::read_to_string(path).expect("read a source file");
            let file = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            let mut uses = Uses {
                module: module.clone(),
                found: &mut found,
                inline_modules: &mut inline_modules,
            };
            for item in &file.items {
                uses.visit_item(item);
            }
        }
        let mut modules: BTreeSet<ModPath> = files.keys().cloned().collect();
        modules.extend(inline_modules);
        (Crate { files, modules }, found)
    }

    /// The file module that `segments`, used in `module`, points into; None
    /// for paths outside the crate (std, dependencies, local names).
    fn resolve(&self, module: &ModPath, segments: &[String]) -> Option<ModPath> {
        let mut at: ModPath;
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                at = Vec::new();
                rest = &rest[1..];
            }
            Some("self") => {
                at = module.clone();
                rest = &rest[1..];
            }
            Some("super") => {
                at = module.clone();
                while rest.first().is_some_and(|s| s == "super") {
                    at.pop();
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                let mut child = module.clone();
                child.push(first.to_owned());
                if !self.modules.contains(&child) {
                    return None;
                }
                at = module.clone();
            }
            None => return None,
        }
        for segment in rest {
            let mut next = at.clone();
            next.push(segment.clone());
            if !self.modules.contains(&next) {
                break;
            }
            at = next;
        }
        // The file that holds `at` (an inline module lives in its parent's file).
        while !self.files.contains_key(&at) {
            at.pop();
        }
        Some(at)
    }

    /// `file module -> file modules it imports`.
    fn imports(&self, found: &[(ModPath, Vec<String>)]) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
        for (module, segments) in found {
            let mut from = module.clone();
            while !self.files.contains_key(&from) {
                from.pop();
            }
            if let Some(to) = self.resolve(module, segments) {
                if to != from {
                    edges.entry(from).or_default().insert(to);
                }
            }
        }
        edges
    }
}

fn name(module: &ModPath) -> String {
    if module.is_empty() {
        String::from("lib")
    } else {
        module.join("::")
    }
}

/// A cycle through the import graph, if there is one.
fn find_cycle(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &ModPath,
        edges: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        marks: &mut BTreeMap<ModPath, Mark>,
        stack: &mut Vec<ModPath>,
    ) -> Option<Vec<ModPath>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|m| m == node).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(node.clone());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.clone(), Mark::Open);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

fn layer_of(module: &ModPath) -> usize {
    let Some(top) = module.first() else {
        return LAYERS.len(); // lib.rs
    };
    LAYERS
        .iter()
        .position(|layer| layer.contains(&top.as_str()))
        .unwrap_or_else(|| panic!("module {top} has no layer in tests/layers.rs: give it one"))
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let (krate, found) = Crate::read();
    let edges = krate.imports(&found);
    if let Some(cycle) = find_cycle(&edges) {
        let cycle: Vec<String> = cycle.iter().map(name).collect();
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn imports_only_point_down_the_layers() {
    let (krate, found) = Crate::read();
    let mut wrong = Vec::new();
    for (from, targets) in krate.imports(&found) {
        for to in targets {
            if layer_of(&to) > layer_of(&from) {
                wrong.push(format!("{} imports {}", name(&from), name(&to)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports pointing up:\n{}",
        wrong.join("\n")
    );
}

/// The checks see what they should: a sample of edges that exist, and the
/// cycle detector finds a planted cycle.
#[test]
fn the_import_graph_is_read_correctly() {
    let (krate, found) = Crate::read();
    let edges = krate.imports(&found);
    let has = |from: &str, to: &str| {
        let split = |s: &str| -> ModPath {
            if s == "lib" {
                Vec::new()
            } else {
                s.split("::").map(str::to_owned).collect()
            }
        };
        edges
            .get(&split(from))
            .is_some_and(|targets| targets.contains(&split(to)))
    };
    assert!(has("dispatch::notifier", "capture"), "a crate:: use");
    assert!(
        has("dispatch::worker", "dispatch::backlog"),
        "a super:: use"
    );
    assert!(has("capture", "capture::report"), "a re-export of a child");
    assert!(
        has("capture::panic_hook", "storm"),
        "a use inside an inline module"
    );
    assert!(has("lib", "capture"), "a bare child-module path");
    assert!(
        !has("capture", "dispatch"),
        "capture never reaches the dispatcher"
    );

    let mut planted = edges.clone();
    planted
        .entry(vec![String::from("alert")])
        .or_default()
        .insert(vec![String::from("config"), String::from("install")]);
    planted
        .entry(vec![String::from("config"), String::from("install")])
        .or_default()
        .insert(vec![String::from("alert")]);
    assert!(find_cycle(&planted).is_some(), "a planted cycle is found");
}
