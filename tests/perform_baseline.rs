//! The build machine's `helperscripts/PerformWebsiteBaseline.sh` and `PerformDatabaseBaseline.sh`
//! through their launchers: legacy's prompts answered on stdin (or given as flags), then
//! `CreateWebrootBaseline.sh` / `CreateDBBaseline.sh <identifier>` run on the chosen server over
//! SSH as root. `ssh` is a stand-in on PATH that records its argv and stdin and answers
//! ExtractConfigValue as a server would; the sudo password must reach the remote side on stdin
//! only, and a hostile identifier never reaches the remote shell.

mod common;

use common::*;
use std::io::Write;
use std::process::Stdio;

fn build_machine(remote_fails: bool) -> (Host, std::path::PathBuf) {
    let h = Host::new("build", free_port());
    h.install();
    let conf = h.path("buildconfiguration/linode");
    std::fs::create_dir_all(conf.join("acme1-credentials")).unwrap();
    std::fs::write(conf.join("acme1"), "export SSH_PORT=\"1035\"\n").unwrap();
    std::fs::write(conf.join("acme1-credentials/SERVERUSER"), "X1234X\n").unwrap();
    std::fs::write(
        conf.join("acme1-credentials/SERVERUSERPASSWORD"),
        "sudo-pw-42\n",
    )
    .unwrap();
    let bin = h.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = h.dir.path().join("calls.log");
    let ssh = format!(
        "#!/bin/sh\n{{ printf 'ssh'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; printf ' stdin='; tr -d '\\n'; echo; }} >> '{log}'\n\
         case \"$*\" in\n  *APPLICATIONREPOSITORYPROVIDER*) echo github ;;\n  *APPLICATIONREPOSITORYUSERNAME*) echo acmeuser ;;\n\
           *APPLICATIONIDENTIFIER*) echo 2 ;;\n  *Baseline.sh*) echo 'pushed x'; exit {} ;;\nesac\n",
        if remote_fails { 1 } else { 0 },
        log = log.display()
    );
    std::fs::write(bin.join("ssh"), ssh).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("ssh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    (h, log)
}

fn run(h: &Host, script: &str, args: &[&str], input: &[u8]) -> std::process::Output {
    let bin = h.dir.path().join("bin");
    let mut child = h
        .cmd_with(&bin, script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn password_only_on_stdin(calls: &str) {
    assert!(!calls.is_empty());
    for l in calls.lines() {
        let (argv, stdin) = l.split_once(" stdin=").unwrap();
        assert!(!argv.contains("sudo-pw-42"), "password on argv: {l}");
        assert_eq!(stdin, "sudo-pw-42", "{l}");
    }
}

#[test]
fn website_baseline_prompts_then_create_over_ssh() {
    let (h, log) = build_machine(false);
    // cloud host 3 (linode), build acme1, <enter>, key 1 (RSA), <enter>, identifier, <enter>.
    let o = run(
        &h,
        "helperscripts/PerformWebsiteBaseline.sh",
        &["--ip", "10.0.0.5"],
        b"3\nacme1\n\n1\n\nmysite\n\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for line in [
        "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3)Linode 4)Vultr 5)AWS. Please Enter the number for your cloudhost\n",
        "You have these builds to choose from: \nacme1\nPlease enter the name",
        "Please insure you have an empty repository called: acme1-webroot-sourcecode-baseline available with your git provider\n",
        "Your git repository provider is set to:\ngithub\n",
        "You must have a repository of name '<identifier>-webroot-sourcecode-baseline' available\n",
        "OK, ready to create baseline - press enter to confirm\npushed x\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let calls = std::fs::read_to_string(&log).unwrap();
    let create = calls
        .lines()
        .find(|l| l.contains("Baseline.sh"))
        .expect("ran the baseline");
    assert!(
        create.contains("/home/X1234X/providerscripts/git/CreateWebrootBaseline.sh mysite"),
        "{create}"
    );
    assert!(
        create.contains("[-p] [1035]") && create.contains("[X1234X@10.0.0.5]"),
        "{create}"
    );
    assert!(
        create.contains("id_rsa_AGILE_DEPLOYMENT_BUILD_KEY_acme1"),
        "{create}"
    );
    password_only_on_stdin(&calls);
}

#[test]
fn database_baseline_asks_for_the_identifier_on_ecdsa_too() {
    let (h, log) = build_machine(false);
    // Legacy's ECDSA branch silently used the build identifier; ours asks.
    let o = run(
        &h,
        "helperscripts/PerformDatabaseBaseline.sh",
        &[
            "--cloudhost",
            "linode",
            "--build-identifier",
            "acme1",
            "--ip",
            "10.0.0.6",
            "--key",
            "ecdsa",
        ],
        b"\ndbbase1\n\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o)
        .contains("You MUST have a repository of name '<identifier>-db-baseline' available\n"));
    let calls = std::fs::read_to_string(&log).unwrap();
    let create = calls.lines().find(|l| l.contains("Baseline.sh")).unwrap();
    assert!(
        create.contains("/home/X1234X/providerscripts/git/CreateDBBaseline.sh dbbase1"),
        "{create}"
    );
    assert!(
        create.contains("id_ecdsa_AGILE_DEPLOYMENT_BUILD_KEY_acme1"),
        "{create}"
    );
    password_only_on_stdin(&calls);
}

#[test]
fn a_hostile_identifier_never_reaches_the_remote_shell_and_failures_show() {
    let (h, log) = build_machine(false);
    let flags = [
        "--cloudhost",
        "linode",
        "--build-identifier",
        "acme1",
        "--ip",
        "10.0.0.5",
        "--key",
        "rsa",
        "--yes",
    ];
    let mut args = flags.to_vec();
    args.extend(["--identifier", "x;rm -rf /"]);
    let o = run(&h, "helperscripts/PerformWebsiteBaseline.sh", &args, b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("baseline identifier"), "{}", stderr(&o));
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!calls.contains("Baseline.sh"), "{calls}");

    let (h, _) = build_machine(true);
    let mut args = flags.to_vec();
    args.extend(["--identifier", "mysite"]);
    let o = run(&h, "helperscripts/PerformWebsiteBaseline.sh", &args, b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("Failed to make a baseline of your website, sorry... exiting\n"));
}
