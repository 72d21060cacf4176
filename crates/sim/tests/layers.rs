//! The layers of `apical-sim` import one way only, and no two modules import each other.
//!
//! `src/` holds three layers, one folder each: `io` (file formats), `engine` (configuration of
//! the model, weights, engines) and `experiments` (the run configuration, the experiments, presets
//! and saved runs), with `lib.rs` and `verify.rs` on top. A module may import from its own layer
//! and the layers below it: experiments → engine → io, never back. This test reads every path
//! that starts with `crate::` or `super::`, and every `use` of a child module, resolves it to the
//! file that defines it (following the crate root's re-exports), and fails on an import that runs
//! up a layer or on any circle of imports between files. Comments are not read, so doc links do
//! not count; `mod` declarations are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers from the bottom up.
const LAYERS: [&str; 4] = ["io", "engine", "experiments", "root"];

/// A module: its path from the crate root and the file that defines it.
struct Module {
    path: Vec<String>,
    file: PathBuf,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `lib.rs` is the root, `a/mod.rs` and `a.rs` are `a`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("a file under src/");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The layer of a module, by the folder its file sits in.
fn layer(module: &[String]) -> usize {
    let top = module.first().map(String::as_str).unwrap_or("root");
    LAYERS.iter().position(|&l| l == top).unwrap_or(LAYERS.len() - 1)
}

/// The source without comments (`//` to the end of a line, `/* … */`) and with every string and
/// character literal emptied, so that neither can be mistaken for a path.
fn strip_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let (mut out, mut i, mut in_string) = (String::new(), 0, false);
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            if c == '\\' {
                i += 1;
            } else if c == '"' {
                in_string = false;
                out.push(c);
            }
        } else if c == '\'' && chars.get(i + 1) == Some(&'\\') {
            // An escaped character literal such as '\n' or '\u{7f}'.
            i += 3;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 2;
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            continue;
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Parses the path that starts at `chars[*i]` (after a leading segment already read), following
/// `::` and brace groups; every complete path is pushed onto `out`, each prefixed by `prefix`.
fn parse_tail(chars: &[char], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    let mut path = prefix;
    loop {
        skip_ws(i);
        if chars.get(*i) == Some(&':') && chars.get(*i + 1) == Some(&':') {
            *i += 2;
            skip_ws(i);
            if chars.get(*i) == Some(&'{') {
                *i += 1;
                loop {
                    skip_ws(i);
                    match chars.get(*i) {
                        Some('}') => {
                            *i += 1;
                            return;
                        }
                        Some(',') => *i += 1,
                        Some(&c) if is_ident(c) => {
                            let start = *i;
                            while *i < chars.len() && is_ident(chars[*i]) {
                                *i += 1;
                            }
                            let mut sub = path.clone();
                            sub.push(chars[start..*i].iter().collect());
                            parse_tail(chars, i, sub, out);
                        }
                        _ => *i += 1,
                    }
                }
            }
            let start = *i;
            while *i < chars.len() && is_ident(chars[*i]) {
                *i += 1;
            }
            if start == *i {
                break;
            }
            path.push(chars[start..*i].iter().collect());
        } else {
            break;
        }
    }
    out.push(path);
}

/// Every module path a file refers to, absolute from the crate root (before re-exports).
fn references(text: &str, module: &[String], children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_ident(chars[i]) || (i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let followed_by_path = chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':');
        if !followed_by_path {
            continue;
        }
        let base: Option<Vec<String>> = match word.as_str() {
            "crate" => Some(Vec::new()),
            "super" => Some(module[..module.len().saturating_sub(1)].to_vec()),
            "self" => Some(module.to_vec()),
            w if children.contains(w) => Some([module, &[w.to_string()]].concat()),
            _ => None,
        };
        if let Some(base) = base {
            let mut paths = Vec::new();
            parse_tail(&chars, &mut i, base, &mut paths);
            // `super::super::x` climbs again for each further `super`.
            for mut p in paths {
                while let Some(pos) = p.iter().position(|s| s == "super") {
                    p.remove(pos);
                    if pos > 0 {
                        p.remove(pos - 1);
                    }
                }
                out.push(p);
            }
        }
    }
    out
}

/// The file each module path resolves to: the longest prefix that is a module, after replacing
/// a leading name that the crate root re-exports by what it re-exports.
fn resolve(
    path: &[String],
    modules: &BTreeMap<Vec<String>, PathBuf>,
    aliases: &BTreeMap<String, Vec<String>>,
) -> PathBuf {
    let mut path = path.to_vec();
    if let Some(target) = path.first().and_then(|first| aliases.get(first)) {
        path.splice(0..1, target.iter().cloned());
    }
    (0..=path.len()).rev().find_map(|n| modules.get(&path[..n])).cloned().expect("the crate root is a module")
}

#[test]
fn imports_run_one_way_and_form_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: Vec<Module> = files.iter().map(|f| Module { path: module_path(&src, f), file: f.clone() }).collect();
    let by_path: BTreeMap<Vec<String>, PathBuf> = modules.iter().map(|m| (m.path.clone(), m.file.clone())).collect();
    let children = |path: &[String]| -> BTreeSet<String> {
        modules
            .iter()
            .filter(|m| m.path.len() == path.len() + 1 && m.path.starts_with(path))
            .map(|m| m.path[path.len()].clone())
            .collect()
    };

    // The crate root's re-exports: `pub use engine::{microcircuit, …}` makes `crate::microcircuit`
    // a name for `crate::engine::microcircuit`.
    let root_text = strip_comments(&std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs"));
    let aliases: BTreeMap<String, Vec<String>> = references(&root_text, &[], &children(&[]))
        .into_iter()
        .filter(|p| p.len() > 1)
        .map(|p| (p.last().expect("a segment").clone(), p))
        .collect();
    assert!(aliases.contains_key("microcircuit"), "the root re-exports were not read: {aliases:?}");

    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut violations = Vec::new();
    for m in &modules {
        let text = strip_comments(&std::fs::read_to_string(&m.file).expect("a readable source file"));
        for reference in references(&text, &m.path, &children(&m.path)) {
            let target = resolve(&reference, &by_path, &aliases);
            if target == m.file {
                continue;
            }
            let target_module = module_path(&src, &target);
            if layer(&target_module) > layer(&m.path) {
                violations.push(format!(
                    "{} ({}) imports crate::{} from {} ({})",
                    m.file.strip_prefix(&src).unwrap().display(),
                    LAYERS[layer(&m.path)],
                    reference.join("::"),
                    target.strip_prefix(&src).unwrap().display(),
                    LAYERS[layer(&target_module)],
                ));
            }
            edges.entry(m.file.clone()).or_default().insert(target);
        }
    }
    assert!(violations.is_empty(), "imports that run up a layer:\n{}", violations.join("\n"));
    assert!(edges.values().map(BTreeSet::len).sum::<usize>() > 40, "too few imports were found: {edges:?}");

    // Depth-first search for a circle among the files.
    fn visit(
        file: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<PathBuf, bool>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        match state.get(file) {
            Some(true) => return None,
            Some(false) => {
                let from = stack.iter().position(|f| f == file).expect("on the stack");
                return Some(stack[from..].to_vec());
            }
            None => {}
        }
        state.insert(file.clone(), false);
        stack.push(file.clone());
        for next in edges.get(file).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, state, stack) {
                return Some(circle);
            }
        }
        stack.pop();
        state.insert(file.clone(), true);
        None
    }
    let mut state = BTreeMap::new();
    for m in &modules {
        let mut stack = Vec::new();
        if let Some(circle) = visit(&m.file, &edges, &mut state, &mut stack) {
            let names: Vec<String> =
                circle.iter().map(|f| f.strip_prefix(&src).unwrap().display().to_string()).collect();
            panic!("an import circle: {} → back to the first", names.join(" → "));
        }
    }
}

/// The checker itself finds what it is meant to find.
#[test]
fn references_resolve_groups_super_and_children() {
    let module = vec!["experiments".to_string(), "fig1".to_string()];
    let children: BTreeSet<String> = ["run".to_string()].into();
    let text = "use crate::engine::{config::{ModelConfig, invalid}, network};\n\
                use super::context::Report;\nfn f() { run::go(); let x = \"crate::io::no\"; }";
    let refs: Vec<String> =
        references(&strip_comments(text), &module, &children).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        refs,
        [
            "engine::config::ModelConfig",
            "engine::config::invalid",
            "engine::network",
            "experiments::context::Report",
            "experiments::fig1::run::go",
        ]
    );
    assert_eq!(strip_comments("a // crate::x\nb /* crate::y */ c"), "a \nb  c");
    assert_eq!(strip_comments("s(\"crate::x\\\"\", '\"', '\\'', x::<'a>)"), "s(\"\", , , x::<'a>)");
}
