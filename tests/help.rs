//! `--help` and `-h`: as a legacy command's only argument they print its usage and exit 0
//! without touching anything (no datastore, no settings, no files); adt's own commands answer
//! through clap. Every other argument keeps its legacy meaning.

mod common;
use common::*;
use std::path::Path;

/// Every file under `dir` with its bytes, to prove a command changed nothing.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_legacy_command_prints_its_usage_and_touches_nothing() {
    // The datastore port answers nothing: a command that tried to reach it would fail.
    let h = Host::new("autoscaler", free_port());
    h.install();
    let before = snapshot(h.dir.path());
    let list = h.cmd(adt_bin()).arg("--help").output().unwrap();
    assert!(list.status.success());
    let names: Vec<String> = stdout(&list)
        .lines()
        .skip_while(|l| !l.starts_with("Legacy commands"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert!(names.len() > 40, "{}", stdout(&list));
    for name in &names {
        for flag in ["--help", "-h"] {
            let o = h
                .cmd(adt_bin())
                .args(["--adt-machine=autoscaler", name, flag])
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(0), "{name} {flag}: {}", stderr(&o));
            assert!(
                stdout(&o).starts_with(&format!("usage: {name}.sh")),
                "{name} {flag}: {}",
                stdout(&o)
            );
            assert_eq!(stderr(&o), "", "{name} {flag}");
        }
    }
    // Through a launcher at the legacy path, as an operator would type it.
    let o = h.exec(
        "providerscripts/datastore/configwrapper/PutToConfigDatastore.sh",
        &["--help"],
    );
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("usage: PutToConfigDatastore.sh FILE [PLACE] [recursive]"));
    assert_eq!(snapshot(h.dir.path()), before, "a --help changed files");
}

#[test]
fn help_is_only_help_when_it_is_the_only_argument() {
    // A second argument: the legacy meaning (here: a settings lookup of the key "--help").
    let h = Host::new("webserver", free_port());
    h.install();
    let o = h.exec(
        "providerscripts/utilities/ExtractConfigValue.sh",
        &["--help", "x"],
    );
    assert!(o.status.success());
    assert!(!stdout(&o).contains("usage"), "{}", stdout(&o));
    let o = h.exec(
        "providerscripts/utilities/ExtractConfigValue.sh",
        &["SSHPORT"],
    );
    assert_eq!(stdout(&o), "1035\n");
}

#[test]
fn own_commands_answer_help_through_clap() {
    let h = Host::new("autoscaler", free_port());
    for (cmd, word) in [
        ("layout", "install"),
        ("health-sweep", "--timeout"),
        ("local-cloud", "teardown"),
        ("scaling-profile", "set"),
        ("cloudflare-ranges", "refresh"),
    ] {
        let o = h.cmd(adt_bin()).args([cmd, "--help"]).output().unwrap();
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        assert!(stdout(&o).contains(word), "{cmd}: {}", stdout(&o));
        // A wrong argument is a usage error (status 2), naming what was wrong.
        let o = h
            .cmd(adt_bin())
            .args([cmd, "--no-such-flag"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&o).contains("--no-such-flag"),
            "{cmd}: {}",
            stderr(&o)
        );
    }
}
