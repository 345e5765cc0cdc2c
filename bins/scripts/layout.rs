//! adt layout install|uninstall|render: put launchers at the legacy paths, or take them away.
use adt::cli::Ctx;
use adt::home::Machine;
use adt::layout::{install, Generation, G2022};
use std::path::PathBuf;

const USAGE: &str = "usage: adt layout install --home DIR --machine TYPE [--generation GEN] [--bin PATH] [SCRIPT...]\n\
       adt layout uninstall --home DIR [SCRIPT...]\n\
       adt layout render DIR [--generation GEN]\n\
       adt layout map [--generation GEN]\n";

pub fn main(_ctx: &Ctx, args: &[String]) -> i32 {
    let mut it = args.iter();
    let Some(action) = it.next() else {
        eprint!("{USAGE}");
        return 2;
    };
    let (mut home, mut machine, mut gen, mut bin) = (None, None, &G2022, None);
    let mut rest = Vec::new();
    while let Some(a) = it.next() {
        let mut val = |name: &str| match it.next() {
            Some(v) => Ok(v.clone()),
            None => Err(format!("{name} needs a value")),
        };
        let r = match a.as_str() {
            "--home" => val("--home").map(|v| home = Some(PathBuf::from(v))),
            "--machine" => val("--machine").and_then(|v| {
                Machine::parse(&v)
                    .map(|m| machine = Some(m))
                    .ok_or(format!("unknown machine type {v:?}"))
            }),
            "--generation" => val("--generation").and_then(|v| {
                Generation::by_name(&v)
                    .map(|g| gen = g)
                    .ok_or(format!("unknown generation {v:?}"))
            }),
            "--bin" => val("--bin").map(|v| bin = Some(PathBuf::from(v))),
            "-h" | "--help" => {
                print!("{USAGE}");
                return 0;
            }
            _ => {
                rest.push(a.clone());
                Ok(())
            }
        };
        if let Err(m) = r {
            eprintln!("adt layout: {m}");
            return 2;
        }
    }
    let result = match action.as_str() {
        "install" => match (home, machine) {
            (Some(h), Some(m)) => {
                let bin = bin
                    .or_else(|| std::env::current_exe().ok())
                    .unwrap_or_else(|| "/usr/local/bin/adt".into());
                install::install(&h, m, gen, &rest, &bin).map(|r| r.lines)
            }
            _ => Err(adt::Error::Usage(
                "install needs --home and --machine".into(),
            )),
        },
        "uninstall" => match home {
            Some(h) => install::uninstall(&h, &rest).map(|r| r.lines),
            None => Err(adt::Error::Usage("uninstall needs --home".into())),
        },
        "render" => match rest.first() {
            Some(d) => install::render_repo_tree(&PathBuf::from(d), gen)
                .map(|w| w.iter().map(|p| format!("wrote {}", p.display())).collect()),
            None => Err(adt::Error::Usage("render needs a directory".into())),
        },
        "map" => Ok(vec![adt::layout::map_tsv(gen).trim_end().to_string()]),
        _ => Err(adt::Error::Usage(format!("unknown action {action:?}"))),
    };
    match result {
        Ok(lines) => {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            adt::cli::out(text.as_bytes());
            0
        }
        Err(e) => {
            eprintln!("adt layout: {e}");
            1
        }
    }
}
