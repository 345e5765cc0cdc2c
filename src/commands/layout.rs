//! `adt layout install | uninstall | render | map | detect`: put launchers at the legacy paths
//! of a machine's home, take them away again (the legacy scripts come back byte for byte), write
//! the repository's own launcher trees, print a generation's legacy-path map, or say which
//! generation and machine type a home holds (install uses that when not told).

use super::{out, parse_args, Ctx};
use crate::error::Result;
use crate::home::Machine;
use crate::layout::{detect, install, map_tsv, Generation};
use std::path::PathBuf;

fn machine(s: &str) -> std::result::Result<Machine, String> {
    Machine::parse(s).ok_or_else(|| format!("unknown machine type {s:?}"))
}

fn generation(s: &str) -> std::result::Result<&'static Generation, String> {
    Generation::by_name(s).ok_or_else(|| format!("unknown generation {s:?}"))
}

/// Launchers at the legacy script paths.
#[derive(clap::Parser)]
#[command(name = "adt layout")]
pub(super) enum Layout {
    /// Replace a machine's legacy scripts (every script of its type, or those named) with
    /// launchers; each script is kept as `<name>.sh.adt-legacy`.
    Install {
        /// The machine's toolkit home.
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
        /// autoscaler, webserver, database or build (default: detected from the home's files).
        #[arg(long, value_name = "TYPE", value_parser = machine)]
        machine: Option<Machine>,
        /// 2022 or 2025 (default: detected from the home's files; 2022 when only --machine is
        /// given and nothing tells).
        #[arg(long, value_name = "GEN", value_parser = generation)]
        generation: Option<&'static Generation>,
        /// The binary the launchers run (default: this one).
        #[arg(long, value_name = "PATH")]
        bin: Option<PathBuf>,
        /// Scripts to replace (default: every script of the machine type).
        #[arg(value_name = "SCRIPT")]
        scripts: Vec<String>,
    },
    /// Put the legacy scripts back (all, or those named).
    Uninstall {
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
        #[arg(value_name = "SCRIPT")]
        scripts: Vec<String>,
    },
    /// Which legacy paths of a HOME are replaced (and the binary their launcher runs) and which
    /// are kept: `replaced PATH BIN`, `kept PATH` (with --machine), one per line.
    Status {
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
        /// List the kept legacy scripts of this machine type too.
        #[arg(long, value_name = "TYPE", value_parser = machine)]
        machine: Option<Machine>,
        #[arg(long, value_name = "GEN", default_value = "2022", value_parser = generation)]
        generation: &'static Generation,
    },
    /// The HOMEs whose launchers run BIN (the package's registry of HOMEs, /var/lib/adt/homes,
    /// and the one /home/homedir.dat names), one per line with how many launchers; the
    /// package's prerm asks this before removing the binary.
    Homes {
        #[arg(long, value_name = "PATH", default_value = "/usr/bin/adt")]
        bin: PathBuf,
        #[arg(long, value_name = "FILE", default_value = crate::home::HOMEDIR_FILE)]
        homedir_file: PathBuf,
    },
    /// Write the repository's launcher tree for a generation into DIR.
    Render {
        dir: PathBuf,
        #[arg(long, value_name = "GEN", default_value = "2022", value_parser = generation)]
        generation: &'static Generation,
    },
    /// Print the generation's legacy-path map (`compat/map-<gen>.tsv`).
    Map {
        #[arg(long, value_name = "GEN", default_value = "2022", value_parser = generation)]
        generation: &'static Generation,
    },
    /// Say which generation and machine type a home holds (`2025 autoscaler`), from its files.
    Detect {
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
        /// Also say why (which files decided).
        #[arg(long)]
        verbose: bool,
    },
}

/// adt layout install|uninstall|render|map
pub fn main(_ctx: &Ctx, args: &[String]) -> i32 {
    let cmd: Layout = match parse_args("adt layout", args) {
        Ok(c) => c,
        Err(status) => return status,
    };
    let result: Result<Vec<String>> = match cmd {
        Layout::Install {
            home,
            machine,
            generation,
            bin,
            scripts,
        } => {
            let bin = bin
                .or_else(|| std::env::current_exe().ok())
                .unwrap_or_else(|| "/usr/local/bin/adt".into());
            let found = if machine.is_none() || generation.is_none() {
                detect(&home)
            } else {
                None
            };
            // With --machine alone and nothing to detect from, 2022 (the former default).
            let default_gen = machine.map(|_| &crate::layout::G2022);
            match (
                machine.or(found.as_ref().map(|d| d.machine)),
                generation.or(found.as_ref().map(|d| d.gen)).or(default_gen),
            ) {
                (Some(m), Some(g)) => {
                    install::install(&home, m, g, &scripts, &bin).map(|r| r.lines)
                }
                _ => Err(crate::error::Error::Usage(format!(
                    "cannot tell the generation and machine type of {} from its files; give \
                     --generation and --machine",
                    home.display()
                ))),
            }
        }
        Layout::Detect { home, verbose } => match detect(&home) {
            Some(d) if verbose => Ok(vec![format!(
                "{} {} ({})",
                d.gen.name,
                d.machine.name(),
                d.because
            )]),
            Some(d) => Ok(vec![format!("{} {}", d.gen.name, d.machine.name())]),
            None => Err(crate::error::Error::Usage(format!(
                "{}: no settings file and no legacy script of either generation",
                home.display()
            ))),
        },
        Layout::Uninstall { home, scripts } => install::uninstall(&home, &scripts).map(|r| r.lines),
        Layout::Status {
            home,
            machine,
            generation,
        } => Ok(status_lines(&home, machine, generation)),
        Layout::Homes { bin, homedir_file } => Ok(install::homes_using(&bin, &homedir_file)
            .into_iter()
            .map(|(h, l)| format!("{} ({} launchers)", h.display(), l.len()))
            .collect()),
        Layout::Render { dir, generation } => install::render_repo_tree(&dir, generation)
            .map(|w| w.iter().map(|p| format!("wrote {}", p.display())).collect()),
        Layout::Map { generation } => Ok(vec![map_tsv(generation).trim_end().to_string()]),
    };
    match result {
        Ok(lines) if lines.is_empty() => 0,
        Ok(lines) => {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            out(text.as_bytes());
            0
        }
        Err(e) => {
            eprintln!("adt layout: {e}");
            1
        }
    }
}

/// `replaced PATH BIN` for every launcher under `home`, then (with a machine type) `kept PATH`
/// for each of its generation's legacy scripts still in place.
fn status_lines(home: &std::path::Path, machine: Option<Machine>, gen: &Generation) -> Vec<String> {
    let mut lines: Vec<String> = install::launchers(home)
        .into_iter()
        .map(|(p, b)| {
            let bin = b.map(|b| b.display().to_string());
            format!("replaced {} {}", p.display(), bin.as_deref().unwrap_or("?"))
        })
        .collect();
    if let Some(m) = machine {
        for (s, st) in install::states(home, m, gen) {
            if st == install::PathState::Kept {
                lines.push(format!("kept {}", home.join(s.path).display()));
            }
        }
    }
    lines
}
