//! Launchers at the legacy paths. A launcher is a few lines of POSIX sh that `exec` our one
//! binary by absolute path (cron runs with a bare PATH), so it works executed or run as
//! `/bin/sh path.sh`. The legacy script it replaces is kept beside it as `<name>.adt-legacy`
//! and put back on uninstall.

use super::{Generation, Kind, Script};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::home::Machine;
use std::path::{Path, PathBuf};

/// The line that marks a file as one of our launchers.
pub const MARKER: &str = "# adt-rs launcher";
pub const LEGACY_SUFFIX: &str = ".adt-legacy";

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The line that runs the command, by launcher kind.
fn run_line(kind: Kind, bin: &str, opts: &str, cmd: &str) -> String {
    match kind {
        Kind::Exec => format!("exec {bin} {opts} {cmd} \"$@\""),
        Kind::Call => format!("{bin} {opts} {cmd}"),
        Kind::Eval => format!("eval \"$({bin} {opts} {cmd})\""),
        Kind::CallWith(vars) => {
            let env: Vec<String> = vars
                .iter()
                .map(|v| format!("{v}=\"${{{v}:-}}\" "))
                .collect();
            format!("{}{bin} {opts} {cmd}", env.concat())
        }
    }
}

fn kind_note(kind: Kind) -> &'static str {
    match kind {
        Kind::Exec => "",
        Kind::Call | Kind::Eval | Kind::CallWith(_) => {
            "# Legacy code sources this file: it neither execs nor takes arguments.\n"
        }
    }
}

/// The launcher installed on a machine: binary, machine type and generation fixed.
pub fn launcher(bin: &Path, machine: Machine, gen: &Generation, script: &Script) -> String {
    let opts = format!(
        "--adt-machine={} --adt-generation={} --adt-argv0=\"$0\"",
        machine.name(),
        gen.name
    );
    format!(
        "#!/bin/sh\n{MARKER} ({gen} {machine}): {path} runs `adt {cmd}`.\n\
         # The replaced legacy script is kept beside this file as {base}{LEGACY_SUFFIX}.\n\
         # Undo: {bin} layout uninstall --home \"$HOME\"\n{note}{run}\n",
        note = kind_note(script.kind),
        run = run_line(
            script.kind,
            &sh_quote(&bin.to_string_lossy()),
            &opts,
            script.command
        ),
        gen = gen.name,
        machine = machine.name(),
        path = script.path,
        cmd = script.command,
        base = Path::new(script.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        bin = bin.display(),
    )
}

/// The launcher kept in the repository's legacy trees: it finds the binary through
/// `ADT_BIN`, then the checkout's release build, then `/usr/local/bin/adt`; the machine type
/// comes from `ADT_MACHINE` or the settings files present.
pub fn repo_launcher(gen: &Generation, script: &Script) -> String {
    let depth = script.path.matches('/').count();
    let up = "../".repeat(depth);
    if script.kind != Kind::Exec {
        // Sourced: $0 is the caller, so the checkout cannot be found from it; and it must not
        // exit the caller's shell.
        return format!(
            "#!/bin/sh\n{MARKER} ({gen} repository tree): {path} runs `adt {cmd}`.\n{note}\
             {run}\n",
            gen = gen.name,
            path = script.path,
            cmd = script.command,
            note = kind_note(script.kind),
            run = run_line(
                script.kind,
                "\"${ADT_BIN:-/usr/local/bin/adt}\"",
                &format!("--adt-generation={}", gen.name),
                script.command
            ),
        );
    }
    format!(
        "#!/bin/sh\n{MARKER} ({gen} repository tree): {path} runs `adt {cmd}`.\n\
         d=$(dirname \"$0\")\n\
         for b in \"${{ADT_BIN:-}}\" \"$d/{up}target/release/adt\" \"$d/{up}target/debug/adt\" /usr/local/bin/adt; do\n\
         \x20 [ -n \"$b\" ] && [ -x \"$b\" ] && exec \"$b\" --adt-generation={gen} --adt-argv0=\"$0\" {cmd} \"$@\"\n\
         done\n\
         echo \"{path}: adt binary not found (set ADT_BIN)\" >&2\n\
         exit 127\n",
        gen = gen.name,
        path = script.path,
        cmd = script.command,
    )
}

pub fn is_launcher(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .map(|t| t.lines().nth(1).is_some_and(|l| l.starts_with(MARKER)))
        .unwrap_or(false)
}

fn legacy_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(LEGACY_SUFFIX);
    PathBuf::from(s)
}

fn selected<'a>(gen: &'a Generation, machine: Machine, only: &[String]) -> Result<Vec<&'a Script>> {
    let all: Vec<&Script> = gen.scripts_for(machine).collect();
    if only.is_empty() {
        return Ok(all);
    }
    let mut out = Vec::new();
    for want in only {
        let w = want.trim_end_matches(".sh");
        let w = w.rsplit('/').next().unwrap_or(w);
        match all.iter().find(|s| s.command == w) {
            Some(s) => out.push(*s),
            None => {
                return Err(Error::Usage(format!(
                    "{want} is not one of the {} scripts of generation {}",
                    machine.name(),
                    gen.name
                )))
            }
        }
    }
    Ok(out)
}

/// What an install or uninstall did, one line per file, for the operator.
#[derive(Default, Debug)]
pub struct Report {
    pub lines: Vec<String>,
}

/// Install launchers for `machine` under `home`, for all scripts or the named subset.
pub fn install(
    home: &Path,
    machine: Machine,
    gen: &Generation,
    only: &[String],
    bin: &Path,
) -> Result<Report> {
    let bin = if bin.is_absolute() {
        bin.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("current directory", e))?
            .join(bin)
    };
    let mut report = Report::default();
    for script in selected(gen, machine, only)? {
        let path = home.join(script.path);
        let backup = legacy_path(&path);
        if path.exists() && !is_launcher(&path) {
            if backup.exists() {
                return Err(Error::Io(format!(
                    "{} exists and so does {}; refusing to overwrite either",
                    path.display(),
                    backup.display()
                )));
            }
            std::fs::rename(&path, &backup).map_err(|e| Error::io(path.display(), e))?;
            report
                .lines
                .push(format!("kept legacy {}", backup.display()));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        }
        fsutil::write_atomic(
            &path,
            launcher(&bin, machine, gen, script).as_bytes(),
            Some(0o755),
        )?;
        report.lines.push(format!("installed {}", path.display()));
    }
    Ok(report)
}

/// Remove our launchers under `home` (all generations, or the named subset) and put back the
/// legacy scripts kept beside them.
pub fn uninstall(home: &Path, only: &[String]) -> Result<Report> {
    let mut report = Report::default();
    let mut seen = std::collections::BTreeSet::new();
    for gen in super::GENERATIONS {
        for script in gen.scripts {
            if !only.is_empty()
                && !only
                    .iter()
                    .any(|w| w.trim_end_matches(".sh").rsplit('/').next() == Some(script.command))
            {
                continue;
            }
            let path = home.join(script.path);
            if !seen.insert(path.clone()) || !is_launcher(&path) {
                continue;
            }
            let backup = legacy_path(&path);
            if backup.exists() {
                std::fs::rename(&backup, &path).map_err(|e| Error::io(backup.display(), e))?;
                report.lines.push(format!("restored {}", path.display()));
            } else {
                std::fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
                report.lines.push(format!("removed {}", path.display()));
            }
        }
    }
    Ok(report)
}

/// Write the repository's legacy trees (`providerscripts/…`) for a generation under `dest`.
pub fn render_repo_tree(dest: &Path, gen: &Generation) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for script in gen.scripts {
        if !seen.insert(script.path) {
            continue;
        }
        let path = dest.join(script.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        }
        fsutil::write_atomic(&path, repo_launcher(gen, script).as_bytes(), Some(0o755))?;
        written.push(path);
    }
    Ok(written)
}
