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

/// The line that runs the command, by launcher kind (`path`: the script's, relative to HOME).
fn run_line(kind: Kind, bin: &str, opts: &str, cmd: &str, path: &str) -> String {
    match kind {
        Kind::SourceThen => format!(
            "if [ -f \"$HOME/{path}{LEGACY_SUFFIX}\" ]; then . \"$HOME/{path}{LEGACY_SUFFIX}\"; \
             else echo \"$HOME/{path}{LEGACY_SUFFIX} is missing: its legacy step did not run\" >&2; fi\n\
             {bin} {opts} {cmd}"
        ),
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
        Kind::SourceThen => {
            "# Legacy code sources this file: the kept legacy script is sourced as before, then\n\
             # our step runs (no exec, no arguments).\n"
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
            script.command,
            script.path
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
                script.command,
                script.path
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
        let matching: Vec<&Script> = all.iter().copied().filter(|s| s.command == w).collect();
        match matching.is_empty() {
            false => out.extend(matching),
            true => {
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
    let scripts = selected(gen, machine, only)?;
    // Every refusal before the first change: a machine is either installed or left as it was.
    for script in &scripts {
        let path = home.join(script.path);
        let backup = legacy_path(&path);
        if path.exists() && !is_launcher(&path) && backup.exists() {
            return Err(Error::Io(format!(
                "{} exists and so does {}; refusing to overwrite either (nothing was changed)",
                path.display(),
                backup.display()
            )));
        }
    }
    for script in scripts {
        let path = home.join(script.path);
        let backup = legacy_path(&path);
        if path.exists() && !is_launcher(&path) {
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
    register_home(home)?;
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

/// The binary a launcher runs (from its `# Undo: BIN layout uninstall` line).
pub fn launcher_bin(path: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("# Undo: "))
        .and_then(|l| l.strip_suffix(" layout uninstall --home \"$HOME\""))
        .map(PathBuf::from)
}

/// One legacy path of a machine's generation, as it is on disk now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathState {
    /// Our launcher, running this binary (`None`: a launcher whose binary line is unreadable).
    Replaced(Option<PathBuf>),
    /// The legacy script, still in place.
    Kept,
    /// Neither (the legacy tree lacks it).
    Missing,
}

/// Every legacy path of `machine` in `gen` under `home`, and what is there.
pub fn states(
    home: &Path,
    machine: Machine,
    gen: &Generation,
) -> Vec<(&'static Script, PathState)> {
    gen.scripts_for(machine)
        .map(|s| {
            let p = home.join(s.path);
            let st = if is_launcher(&p) {
                PathState::Replaced(launcher_bin(&p))
            } else if p.exists() {
                PathState::Kept
            } else {
                PathState::Missing
            };
            (s, st)
        })
        .collect()
}

/// Every launcher of ours under `home` (any generation, any machine type), with its binary.
pub fn launchers(home: &Path) -> Vec<(PathBuf, Option<PathBuf>)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for gen in super::GENERATIONS {
        for s in gen.scripts {
            let p = home.join(s.path);
            if seen.insert(p.clone()) && is_launcher(&p) {
                let bin = launcher_bin(&p);
                out.push((p, bin));
            }
        }
    }
    out
}

/// The package's registry of the HOMEs `layout install` has put launchers in, one per line:
/// `ADT_HOMES_FILE`, else `/var/lib/adt/homes` when `/var/lib/adt` exists (the Debian package
/// creates it). Without the package nothing is recorded.
pub fn registry_file() -> Option<PathBuf> {
    if let Some(f) = std::env::var_os("ADT_HOMES_FILE") {
        return Some(PathBuf::from(f));
    }
    Path::new("/var/lib/adt")
        .is_dir()
        .then(|| PathBuf::from("/var/lib/adt/homes"))
}

/// The HOMEs in the registry.
pub fn registered_homes() -> Vec<PathBuf> {
    registry_file()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|t| {
            t.lines()
                .filter(|l| !l.trim().is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Add `home` to the registry (once), if there is one.
pub fn register_home(home: &Path) -> Result<()> {
    let Some(file) = registry_file() else {
        return Ok(());
    };
    let home = std::fs::canonicalize(home).unwrap_or_else(|_| home.to_path_buf());
    let mut homes = registered_homes();
    if homes.contains(&home) {
        return Ok(());
    }
    homes.push(home);
    let text: String = homes.iter().map(|h| format!("{}\n", h.display())).collect();
    if let Some(d) = file.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
    }
    fsutil::write_atomic(&file, text.as_bytes(), Some(0o644))
}

/// The HOMEs whose launchers run `bin`: those in the registry and the one `homedir_file`
/// names, each with its launchers that do.
pub fn homes_using(bin: &Path, homedir_file: &Path) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut homes = registered_homes();
    if let Some(h) = std::fs::read_to_string(homedir_file)
        .ok()
        .and_then(|t| t.lines().next().map(|l| PathBuf::from(l.trim())))
        .filter(|h| !h.as_os_str().is_empty())
    {
        if !homes.contains(&h) {
            homes.push(h);
        }
    }
    homes
        .into_iter()
        .filter_map(|h| {
            let using: Vec<PathBuf> = launchers(&h)
                .into_iter()
                .filter(|(_, b)| b.as_deref() == Some(bin))
                .map(|(p, _)| p)
                .collect();
            (!using.is_empty()).then_some((h, using))
        })
        .collect()
}
