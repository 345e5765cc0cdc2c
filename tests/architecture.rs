//! The shape of the code, held by a test: every module of `src/` uses only modules of a lower
//! layer (so no two modules import each other, and none loops back up), no domain module
//! knows the command layer, and only `src/process.rs` starts child processes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module's layer: a module may use only modules of a lower number.
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("knobs", 0),
    ("fsutil", 1),
    ("home", 1),
    ("sshmux", 1),
    ("process", 2),
    ("layout", 2),
    ("logging", 3),
    ("config", 3),
    ("git", 4),
    ("datastore", 4),
    ("mode", 4),
    ("database", 4),
    ("site", 5),
    ("scaling", 6),
    ("ips", 6),
    ("cron", 6),
    ("baseline", 6),
    ("backup", 6),
    ("cloud", 6),
    ("dns", 7),
    ("firewall", 7),
    ("fleet", 7),
    ("autoscaler", 8),
    ("doctor", 8),
    ("authenticator", 8),
    ("commands", 9),
];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its comments (doc comments name other modules freely).
fn code_lines(text: &str) -> Vec<String> {
    let mut in_tests = false;
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter_map(|l| {
            // Unit tests may reach anywhere (they are not part of the layering).
            if l.starts_with("#[cfg(test)]") {
                in_tests = true;
            }
            (!in_tests).then(|| l.split(" // ").next().unwrap_or(l).to_string())
        })
        .collect()
}

fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// `crate::X` paths, and the `X` of `use crate::{X, …}` groups.
fn used_modules(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.push(name);
            }
        } else {
            out.push(
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    out
}

#[test]
fn modules_use_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let m = module_of(&src, f);
        if m == "lib" {
            continue;
        }
        let Some(&mine) = layer.get(m.as_str()) else {
            panic!("module {m} ({}) has no layer in LAYERS", f.display());
        };
        let text = std::fs::read_to_string(f).unwrap();
        for line in code_lines(&text) {
            for used in used_modules(&line) {
                if used == m || used.is_empty() || used == "Error" || used == "Result" {
                    continue;
                }
                match layer.get(used.as_str()) {
                    Some(&theirs) if theirs < mine => {}
                    theirs => wrong.push(format!(
                        "{}: {m} (layer {mine}) uses {used} (layer {theirs:?}): {}",
                        f.display(),
                        line.trim()
                    )),
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_the_process_module_starts_programs() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut wrong = Vec::new();
    for f in files.iter().filter(|f| !f.ends_with("process.rs")) {
        let text = std::fs::read_to_string(f).unwrap();
        for line in code_lines(&text) {
            if ["Command::new", "std::process::Command", "duct::", "Stdio::"]
                .iter()
                .any(|p| line.contains(p))
            {
                wrong.push(format!("{}: {}", f.display(), line.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "programs started outside src/process.rs:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layer_check_sees_what_it_checks() {
    assert_eq!(
        used_modules("use crate::{config, error::Result, site::Site};"),
        ["config", "error", "site"]
    );
    assert_eq!(
        used_modules("let x = crate::cloud::Cloud::open(ctx)?; crate::dns::add(x)"),
        ["cloud", "dns"]
    );
    assert_eq!(
        code_lines("//! crate::commands\nuse crate::site;\n#[cfg(test)]\nuse crate::x;"),
        ["use crate::site;"]
    );
}
