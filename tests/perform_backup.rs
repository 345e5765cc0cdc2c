//! The build machine's `helperscripts/PerformWebsiteBackup.sh` through its launcher: legacy's
//! prompts answered on stdin (or given as flags), then `Backup.sh <P> <id>` run on the chosen
//! webserver over SSH as root. `ssh` and `scp` are stand-ins on PATH that record their argv and
//! stdin and answer ExtractConfigValue as a webserver would; the sudo password must reach the
//! remote side on stdin only.

mod common;

use common::*;
use std::io::Write;
use std::process::Stdio;

fn build_machine() -> (Host, std::path::PathBuf) {
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
           *APPLICATIONIDENTIFIER*) echo 2 ;;\n  *BUILDIDENTIFIER*) echo acme1 ;;\nesac\n",
        log = log.display()
    );
    let scp = format!(
        "#!/bin/sh\n{{ printf 'scp'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; }} >> '{log}'\n",
        log = log.display()
    );
    for (name, text) in [("ssh", ssh), ("scp", scp)] {
        std::fs::write(bin.join(name), text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (h, log)
}

#[test]
fn the_prompts_lead_to_a_backup_over_ssh_with_the_password_on_stdin() {
    let (h, log) = build_machine();
    let bin = h.dir.path().join("bin");
    let mut child = h
        .cmd_with(&bin, "helperscripts/PerformWebsiteBackup.sh")
        .current_dir(h.path("helperscripts"))
        .args(["--ip", "10.0.0.5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // cloud host 3 (linode), build acme1, key 1 (RSA), periodicity 9 (invalid) then 2, two enters.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"3\nacme1\n1\n9\n2\n\n\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for line in [
        "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3)Linode 4)Vultr 5)AWS. Please Enter the number for your cloudhost",
        "You have these builds to choose from: \nacme1\nPlease enter the name",
        "Sorry, that's not a valid selection, please try again",
        "Your git repository provider is set to:\ngithub\n",
        "Build identifier is set to: acme1\n",
        "Making backup for DAILY periodicity\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let calls = std::fs::read_to_string(&log).unwrap();
    let backup = calls
        .lines()
        .find(|l| l.contains("Backup.sh"))
        .expect("Backup.sh was run");
    assert!(
        backup.contains("/home/X1234X/providerscripts/git/Backup.sh DAILY acme1"),
        "{backup}"
    );
    assert!(
        backup.contains("[-p] [1035]") && backup.contains("[X1234X@10.0.0.5]"),
        "{backup}"
    );
    assert!(
        backup.contains("id_rsa_AGILE_DEPLOYMENT_BUILD_KEY_acme1"),
        "{backup}"
    );
    for l in calls.lines() {
        let (argv, stdin) = l.split_once(" stdin=").unwrap();
        assert!(!argv.contains("sudo-pw-42"), "password on argv: {l}");
        assert_eq!(stdin, "sudo-pw-42", "{l}");
    }
}

#[test]
fn flags_make_it_non_interactive_and_manual_archives_are_fetched() {
    let (h, log) = build_machine();
    let bin = h.dir.path().join("bin");
    let o = h
        .cmd_with(&bin, "helperscripts/PerformWebsiteBackup.sh")
        .current_dir(h.path("helperscripts"))
        .args([
            "--cloudhost",
            "linode",
            "--build-identifier",
            "acme1",
            "--ip",
            "10.0.0.5",
        ])
        .args(["--key", "ecdsa", "--period", "MANUAL", "--yes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains("Backup.sh MANUAL acme1"), "{calls}");
    let scp = calls
        .lines()
        .find(|l| l.starts_with("scp"))
        .expect("scp ran");
    assert!(
        scp.contains("[X1234X@10.0.0.5:/tmp/backup_archive/*.tar.gz]"),
        "{scp}"
    );
    assert!(
        scp.contains("id_ecdsa_AGILE_DEPLOYMENT_BUILD_KEY_acme1"),
        "{scp}"
    );
    assert!(h.path("manualbackups").is_dir());
    let bad = h
        .cmd_with(&bin, "helperscripts/PerformWebsiteBackup.sh")
        .args(["--key", "dsa"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(stderr(&bad).lines().count(), 1);
}
