//! The module stack (docs/architecture.md): each top-level module may import only modules
//! of a lower layer. A test reads the sources, so an import that points up or closes a
//! cycle fails `cargo test` with the offending file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules by layer, bottom first. A module imports only from earlier rows;
/// modules in one row do not import each other.
const LAYERS: &[&[&str]] = &[
    // Leaves: std, the protocol crate and third-party crates only.
    &["error", "secret", "nonce", "platform", "machine", "domains", "files", "outcome", "paycode", "schedule"],
    // Parsing and plumbing over the leaves.
    &["input", "transport", "monitor"],
    &["sdklog"],
    &["config"],
    &["client"],
    // Features: each on the client, none on another.
    &["merchant", "trade", "security"],
    // The per-init state and the process slot that holds it.
    &["runtime"],
    // The C boundary.
    &["ffi"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

/// `(importing module, imported module, file, line)` for every `crate::x` in `src/`.
fn imports(src: &Path) -> Vec<(String, String, String, usize)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let first = rel.components().next().unwrap().as_os_str().to_str().unwrap();
            let module = first.trim_end_matches(".rs");
            if module == "lib" || module == "layers" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for target in referenced(code) {
                    if target != module {
                        out.push((module.to_owned(), target, rel.display().to_string(), i + 1));
                    }
                }
            }
        }
    }
    out
}

/// Modules named by `crate::x` and by the groups of `use crate::{x, y::z}`.
fn referenced(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `cloud_pay_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    // `protocol` is the re-exported protocol crate, not a module of this crate.
    found.retain(|n| n != "protocol");
    found
}

/// A cycle among the modules, if any (depth-first search over the import graph).
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut c = path[at..].to_vec();
            c.push(n.to_owned());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_owned());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn modules_form_a_one_way_stack() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = imports(&src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (from, to, file, line) in &found {
        edges.entry(from.clone()).or_default().insert(to.clone());
        match (layer_of(from), layer_of(to)) {
            (None, _) => wrong.push(format!("{file}:{line}: module `{from}` has no layer in LAYERS")),
            (_, None) => wrong.push(format!("{file}:{line}: `{to}` has no layer in LAYERS")),
            (Some(a), Some(b)) if b >= a => {
                wrong.push(format!("{file}:{line}: `{from}` (layer {a}) imports `{to}` (layer {b})"))
            }
            _ => {}
        }
    }
    assert!(!found.is_empty(), "the scan found no imports at all: it is not reading the sources");
    if let Some(c) = cycle(&edges) {
        wrong.push(format!("import cycle: {}", c.join(" -> ")));
    }
    assert!(wrong.is_empty(), "the module stack is broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_groups_paths_and_cycles() {
    assert_eq!(referenced("use crate::{client::Client, error};"), ["client", "error"]);
    assert_eq!(referenced("let x = crate::trade::journal::Journal::open(p); crate::protocol::x"), ["trade"]);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(cycle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
}
