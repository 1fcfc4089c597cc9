//! The sandbox's modules form one-way layers: the model at the bottom, the endpoint handlers on
//! it, the HTTP server beside them knowing only the model (it is handed a router), the control
//! API and console on top. Without a check, one convenient `use` is enough to tie them back
//! into a circle, so this test reads `src/*.rs`, builds the module import graph and fails on
//! any cycle, or any import that the importing module's layer does not allow.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// State, scenarios, configuration, faults, request and reply values: data and rules, no sockets.
    Model,
    /// `/cpay/<endpoint>`: envelope, authentication, dispatch and the business handlers.
    Endpoints,
    /// Sockets: HTTP, TLS, the shaping relay.
    Server,
    /// The control API, the dashboard and the web console.
    Control,
    /// The crate root and the binary, which wire everything together.
    Root,
}

impl Layer {
    /// Whether a module of this layer may import one of layer `to`. Imports within a layer
    /// are allowed; the cycle check keeps them one-way.
    fn may_import(self, to: Layer) -> bool {
        use Layer::*;
        match self {
            Model => to == Model,
            Endpoints => matches!(to, Model | Endpoints),
            // Not the endpoints: the server answers with whatever router it was given.
            Server => matches!(to, Model | Server),
            Control => to != Root,
            Root => true,
        }
    }
}

/// Every file of `src/` and its layer; a new file has to be placed here.
const LAYERS: &[(&str, Layer)] = &[
    ("util", Layer::Model),
    ("config", Layer::Model),
    ("faults", Layer::Model),
    ("message", Layer::Model),
    ("state", Layer::Model),
    ("scenario", Layer::Model),
    ("shared", Layer::Model),
    ("endpoint", Layer::Endpoints),
    ("pay", Layer::Endpoints),
    ("refund", Layer::Endpoints),
    ("shops", Layer::Endpoints),
    ("listing", Layer::Endpoints),
    ("bootstrap", Layer::Endpoints),
    ("handlers", Layer::Endpoints),
    ("http", Layer::Server),
    ("tls", Layer::Server),
    ("relay", Layer::Server),
    ("dashboard", Layer::Control),
    ("console", Layer::Control),
    ("control", Layer::Control),
    ("lib", Layer::Root),
    ("main", Layer::Root),
];

/// The source with comments and string and char literals blanked, so that a path in a doc
/// comment or in a message is not taken for an import.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        if at(i) == '/' && at(i + 1) == '/' {
            while i < c.len() && at(i) != '\n' {
                i += 1;
            }
        } else if at(i) == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= c.len() {
                    break;
                } else if at(i) == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if at(i) == 'r'
            && (at(i + 1) == '"' || at(i + 1) == '#')
            && (i == 0 || !ident(at(i - 1)) || at(i - 1) == 'b')
        {
            // Raw string r"…" / r#"…"# (possibly after b).
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(at(i));
                i += 1;
                continue;
            }
            j += 1;
            while j < c.len() && !(at(j) == '"' && (1..=hashes).all(|k| at(j + k) == '#')) {
                j += 1;
            }
            i = j + 1 + hashes;
            out.push(' ');
        } else if at(i) == '"' {
            i += 1;
            while i < c.len() && at(i) != '"' {
                i += if at(i) == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(' ');
        } else if at(i) == '\'' && at(i + 1) == '\\' {
            i += 2;
            while i < c.len() && at(i) != '\'' {
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if at(i) == '\'' && at(i + 2) == '\'' {
            i += 3;
            out.push(' ');
        } else {
            out.push(at(i));
            i += 1;
        }
    }
    out
}

/// The crate modules `file` refers to: `crate::a`, `crate::{a, b::c}`, `super::a` at a file's
/// top level, `super::super::a` in an inline module, and for the crate root its `mod a;` lines.
/// A crate-root item (`crate::Sandbox`) counts as an import of `lib`.
fn imports(file: &str, src: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let c: Vec<char> = strip(src).chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let skip_ws = |mut i: usize| {
        while at(i).is_whitespace() {
            i += 1;
        }
        i
    };
    let word = |i: usize| {
        let mut j = i;
        while ident(at(j)) {
            j += 1;
        }
        (c[i..j].iter().collect::<String>(), j)
    };
    let root = file == "lib" || file == "main";
    let mut out = BTreeSet::new();
    let mut add = |name: &str| {
        if name == "self" || name.is_empty() {
            return;
        }
        let target = if modules.contains(name) { name } else { "lib" };
        if target != file {
            out.insert(target.to_owned());
        }
    };
    let mut depth = 0usize;
    // Brace depth inside each open inline `mod x { … }`.
    let mut inline_mods: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = at(i);
        if ch == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if ch == '}' {
            depth = depth.saturating_sub(1);
            if inline_mods.last().is_some_and(|&d| depth < d) {
                inline_mods.pop();
            }
            i += 1;
            continue;
        }
        if !ident(ch) || (i > 0 && (ident(at(i - 1)) || at(i - 1) == '$')) {
            i += 1;
            continue;
        }
        let (w, end) = word(i);
        i = end;
        if w == "mod" {
            let (name, j) = word(skip_ws(end));
            let j = skip_ws(j);
            if at(j) == '{' {
                inline_mods.push(depth + 1);
            } else if at(j) == ';' && root && depth == 0 {
                add(&name);
            }
            continue;
        }
        if w != "crate" && w != "super" {
            continue;
        }
        // Read `seg::seg::…` and a trailing `{ group }`.
        let mut segs = vec![w];
        let mut group = None;
        let mut j = end;
        loop {
            let k = skip_ws(j);
            if !(at(k) == ':' && at(k + 1) == ':') {
                break;
            }
            let k = skip_ws(k + 2);
            if at(k) == '{' {
                let mut d = 0;
                let mut e = k;
                loop {
                    match at(e) {
                        '{' => d += 1,
                        '}' => d -= 1,
                        '\0' => break,
                        _ => {}
                    }
                    e += 1;
                    if d == 0 {
                        break;
                    }
                }
                group = Some(c[k + 1..e - 1].iter().collect::<String>());
                j = e;
                break;
            }
            let (s, e) = if at(k) == '*' { ("*".to_owned(), k + 1) } else { word(k) };
            if s.is_empty() {
                break;
            }
            segs.push(s);
            j = e;
        }
        i = j;
        if segs.len() == 1 && group.is_none() {
            continue; // `pub(crate)`, a bare `super`
        }
        let rest: &[String] = if segs[0] == "crate" {
            &segs[1..]
        } else {
            let supers = segs.iter().take_while(|s| *s == "super").count();
            // At a file's top level `super` is the crate root; inside n inline modules it takes
            // n + 1 of them to get there, fewer stay in this file.
            if root || supers != inline_mods.len() + 1 {
                continue;
            }
            &segs[supers..]
        };
        match (rest.first(), group) {
            (Some(first), _) => add(first),
            (None, Some(g)) => {
                let mut d = 0;
                let mut item = String::new();
                for ch in g.chars().chain(std::iter::once(',')) {
                    match ch {
                        '{' => d += 1,
                        '}' => d -= 1,
                        ',' if d == 0 => {
                            let t = item.trim();
                            let first: String = t.chars().take_while(|&ch| ident(ch) || ch == '*').collect();
                            add(&first);
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(ch);
                }
            }
            (None, None) => {}
        }
    }
    out
}

type Graph = BTreeMap<String, BTreeSet<String>>;

fn graph(files: &BTreeMap<String, String>) -> Graph {
    let modules: BTreeSet<String> = files.keys().filter(|f| *f != "lib" && *f != "main").cloned().collect();
    files.iter().map(|(f, src)| (f.clone(), imports(f, src, &modules))).collect()
}

/// Import cycles, one line each: a shortest circle through the group, then the whole group.
fn cycles(g: &Graph) -> Vec<String> {
    // Tarjan's strongly connected components.
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        sccs: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                scc.push(w);
                if w == v {
                    break;
                }
            }
            t.sccs.push(scc);
        }
    }
    let mut t =
        T { g, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on: BTreeSet::new(), sccs: Vec::new() };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    let mut out = Vec::new();
    for mut scc in t.sccs.into_iter().filter(|s| s.len() > 1) {
        scc.sort();
        let members: BTreeSet<&str> = scc.iter().copied().collect();
        // Shortest way back to the first member, within the group.
        let start = scc[0];
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        'bfs: while let Some(v) = queue.pop_front() {
            for w in g.get(v).into_iter().flatten().map(String::as_str).filter(|w| members.contains(w)) {
                if w == start {
                    prev.insert(start, v);
                    break 'bfs;
                }
                if !prev.contains_key(w) {
                    prev.insert(w, v);
                    queue.push_back(w);
                }
            }
        }
        let mut back = Vec::new();
        let mut v = prev[start];
        while v != start {
            back.push(v);
            v = prev[v];
        }
        let path: Vec<&str> =
            std::iter::once(start).chain(back.into_iter().rev()).chain(std::iter::once(start)).collect();
        out.push(format!("import cycle: {} (all of {{{}}} import each other)", path.join(" -> "), scc.join(", ")));
    }
    out
}

/// Imports that go against the layer table.
fn layer_violations(g: &Graph) -> Vec<String> {
    let layer = |m: &str| LAYERS.iter().find(|(n, _)| *n == m).map(|(_, l)| *l);
    let mut out = Vec::new();
    for (from, tos) in g {
        for to in tos {
            match (layer(from), layer(to)) {
                (Some(lf), Some(lt)) if !lf.may_import(lt) => {
                    out.push(format!("{from} ({lf:?}) imports {to} ({lt:?})"))
                }
                (Some(_), Some(_)) => {}
                _ => {}
            }
        }
        if layer(from).is_none() {
            out.push(format!("{from}: not in the layer table (place it in LAYERS)"));
        }
    }
    out
}

fn sources(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect()
}

#[test]
fn sandbox_modules_form_one_way_layers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        assert!(!p.is_dir(), "{}: modules in subdirectories are not mapped by this test", p.display());
        if p.extension().is_some_and(|x| x == "rs") {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            files.insert(name, std::fs::read_to_string(&p).unwrap());
        }
    }
    let g = graph(&files);
    let mut problems = cycles(&g);
    problems.extend(layer_violations(&g));
    for (name, _) in LAYERS.iter().filter(|(n, _)| !files.contains_key(*n)) {
        problems.push(format!("{name}: in the layer table but not in src/"));
    }
    let edges: Vec<String> =
        g.iter().map(|(f, t)| format!("  {f} -> {}", t.iter().cloned().collect::<Vec<_>>().join(", "))).collect();
    assert!(problems.is_empty(), "\n{}\n\nimport graph:\n{}\n", problems.join("\n"), edges.join("\n"));
}

/// The checker itself: a test that cannot fail checks nothing.
#[test]
fn checker_reports_cycles_and_upward_imports() {
    let files = sources(&[
        ("state", "use crate::control::Shared;\n"),
        ("control", "use crate::{state, http::Request};\n"),
        ("http", "fn serve() { let r = crate::control::route(); }\n"),
        ("pay", "use crate::state::Store;\n"),
    ]);
    let g = graph(&files);
    let c = cycles(&g);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].starts_with("import cycle: control -> "), "{c:?}");
    assert!(c[0].contains("{control, http, state}"), "{c:?}");
    let v = layer_violations(&g);
    assert!(v.contains(&"state (Model) imports control (Control)".to_owned()), "{v:?}");
    assert!(v.contains(&"http (Server) imports control (Control)".to_owned()), "{v:?}");
    assert!(!v.iter().any(|l| l.starts_with("pay ") || l.starts_with("control ")), "{v:?}");

    let endpoints_in_server = sources(&[("http", "use crate::handlers::handle_cpay;\n"), ("handlers", "")]);
    assert_eq!(layer_violations(&graph(&endpoints_in_server)), ["http (Server) imports handlers (Endpoints)"]);
}

#[test]
fn parser_reads_groups_super_and_code_paths_only() {
    let src = r##"
        //! Mentions crate::doc_only in a comment.
        use crate::{a, b::{c, d}, self};
        use std::fmt;
        pub(crate) fn f() -> u64 {
            let s = "crate::in_string";
            let r = r#"crate::in_raw"#;
            let q = '"';
            /* crate::in_block */
            crate::h::now() + super::i::j()
        }
        mod wx { use super::super::e; pub const X: i32 = 1; }
        #[cfg(test)]
        mod tests { use super::*; fn t() { super::f(); } }
        fn after() { crate::k::go(); crate::Sandbox::start(); }
    "##;
    let names = ["a", "b", "c", "d", "e", "h", "i", "k", "doc_only", "in_string", "in_raw", "in_block", "m"];
    let modules: BTreeSet<String> = names.iter().map(|s| s.to_string()).collect();
    let got = imports("m", src, &modules);
    let want: BTreeSet<String> = ["a", "b", "e", "h", "i", "k", "lib"].iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want);

    let lib = imports("lib", "mod a;\npub mod b;\nmod inline { }\nuse a::X;\n", &modules);
    assert_eq!(lib, ["a", "b"].iter().map(|s| s.to_string()).collect());
}
