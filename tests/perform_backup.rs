//! The build machine's `helperscripts/PerformWebsiteBackup.sh` and (2025)
//! `PerformDatabaseBackup.sh` through their launchers: legacy's prompts answered on stdin (or
//! given as flags), then the machine's backup script run over SSH as root. 2022: `ssh` and `scp`
//! are stand-ins on PATH that record their argv and stdin and answer ExtractConfigValue as a
//! webserver would (`Backup.sh <P> <id>`). 2025: the build's state in `runtimedata/`, legacy's
//! server listers and `ssh-keyscan` as recording stand-ins, and an `ssh` stand-in that runs the
//! remote command on the machine's HOME of the test: for the webserver our real 2025
//! `application/backupscripts/Backup.sh` against s3s-fs, for the database a recording script at
//! that path (the database machine's own). The sudo password must reach the remote side on stdin
//! only. (The 2022 database helper's test is in tests/backup_db.rs, against a real MariaDB.)

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

/// A 2025 database machine's HOME (our 2025 launchers, BUILDIDENTIFIER prod1) whose
/// `application/backupscripts/Backup.sh` (the database machine's own) is a stand-in that logs
/// its arguments to the returned file, then runs `then`.
fn database_2025(then: &str) -> (Host, std::path::PathBuf) {
    let db = Host::new("database", free_port());
    common::build2025::install_2025(&db.home, "database");
    std::fs::write(
        db.path("runtime/database_configuration_settings.dat"),
        "WEBSITEURL:www.example.com\nSERVERUSER:X1234X\nBUILDIDENTIFIER:prod1\n",
    )
    .unwrap();
    let ran = db.dir.path().join("backups.log");
    let script = db.path("application/backupscripts/Backup.sh");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n{then}", ran.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (db, ran)
}

/// A 2025 build machine (`adt layout install --generation 2025 --machine build`) whose
/// BUILD_HOME (named by the buildhome file it returns) has the build `prod1` on DigitalOcean in
/// `runtimedata/` (build_environment, credentials), `ACTIVE_CLOUDHOST` linode, legacy's server
/// listers as recording stand-ins (`ips` public, `private_ips` private), and on PATH an
/// `ssh-keyscan` that answers for port 1035 (not for 10.0.0.66), an `ssh` that runs the remote
/// command on `server`'s HOME (its `/home/X1234X`) with `server_env`, and an `scp` that copies
/// a file into the destination. Every call is logged to `calls.log`, ssh's stdin with it.
struct Build2025 {
    bm: Host,
    buildhome: std::path::PathBuf,
    bin: std::path::PathBuf,
    log: std::path::PathBuf,
}

impl Build2025 {
    fn new(port: u16, server: &Host, server_env: &str, ips: &str, private_ips: &str) -> Build2025 {
        let common::build2025::Build2025 { bm, buildhome } = common::build2025::Build2025::new(
            port,
            &[
                (
                    "digitalocean/prod1",
                    "REGION=\"lon1\"\nSSH_PORT=\"1035\"\nALGORITHM=\"ed25519\"\nWEBSITE_URL=\"www.example.com\"\n",
                    Some("X1234X"),
                ),
                ("linode/other", "", None),
            ],
            ("linode", "other"),
        );
        for p in ["PerformWebsiteBackup", "PerformDatabaseBackup"] {
            let text = std::fs::read_to_string(bm.path(&format!("helperscripts/{p}.sh"))).unwrap();
            assert!(text.contains("--adt-generation=2025"), "{text}");
        }
        std::fs::write(
            bm.path("runtimedata/digitalocean/prod1/credentials/SERVERUSERPASSWORD"),
            "sudo-pw-2025\n",
        )
        .unwrap();
        let log = bm.dir.path().join("calls.log");
        let servers = bm.path("providerscripts/server");
        std::fs::create_dir_all(&servers).unwrap();
        for (script, out) in [
            ("GetServerIPAddresses.sh", ips),
            ("GetServerPrivateIPAddresses.sh", private_ips),
        ] {
            std::fs::write(
                servers.join(script),
                format!(
                    "echo \"{script} $* VULTR_API_KEY=${{VULTR_API_KEY:-}}\" >> '{}'\nfor ip in {out}; do echo $ip; done\n",
                    log.display()
                ),
            )
            .unwrap();
        }
        let bin = bm.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let scripts = [
            (
                "ssh-keyscan",
                format!(
                    "#!/bin/sh\necho \"ssh-keyscan $*\" >> '{log}'\nfor a in \"$@\"; do last=\"$a\"; done\n\
                     case \"$*\" in\n  *10.0.0.66*) ;;\n  \"-p 1035 \"*) echo \"$last ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheTestServer\" ;;\nesac\n",
                    log = log.display()
                ),
            ),
            (
                "ssh",
                format!(
                    "#!/bin/sh\nfor a in \"$@\"; do last=\"$a\"; done\ninput=$(cat)\n\
                     {{ printf 'ssh'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; printf ' stdin=%s\\n' \"$input\"; }} >> '{log}'\n\
                     cmd=$(printf '%s' \"$last\" | sed \"s#/home/X1234X#{home}#g\")\n\
                     export HOME='{home}' ADT_HOMEDIR_FILE='{hd}' ADT_TMP='{tmp}' PATH=/usr/local/bin:/usr/bin:/bin {server_env}\n\
                     exec /bin/sh -c \"$cmd\" 2>>'{log}.stderr'\n",
                    log = log.display(),
                    home = server.home.display(),
                    hd = server.homedir_file.display(),
                    tmp = server.tmp.display(),
                ),
            ),
            (
                "scp",
                format!(
                    "#!/bin/sh\n{{ printf 'scp'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; }} >> '{log}'\n\
                     for a in \"$@\"; do last=\"$a\"; done\necho archive > \"$last/copied.tar.gz\"\n",
                    log = log.display()
                ),
            ),
        ];
        for (name, text) in scripts {
            std::fs::write(bin.join(name), text).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        Build2025 {
            bm,
            buildhome,
            bin,
            log,
        }
    }

    /// `helperscripts/<helper>.sh args` run by `/bin/sh` from `helperscripts/`, `input` on stdin.
    fn run(&self, helper: &str, args: &[&str], input: &str) -> std::process::Output {
        let mut c = self
            .bm
            .cmd_with(&self.bin, "/bin/sh")
            .arg(self.bm.path(&format!("helperscripts/{helper}.sh")))
            .args(args)
            .env("ADT_BUILDHOME_FILE", &self.buildhome)
            .current_dir(self.bm.path("helperscripts"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        c.wait_with_output().unwrap()
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn rt(&self, p: &str) -> std::path::PathBuf {
        self.bm.path(&format!("runtimedata/{p}"))
    }
}

/// The 2025 PerformWebsiteBackup.sh by `/bin/sh` with legacy's questions answered on stdin:
/// the chosen cloud host made active, the build made active, the webservers `ws-lon1-prod1`
/// listed by legacy's lister, the host key scanned into the build's keys, then the real 2025
/// webserver Backup.sh run over SSH (strict host key, the build's ed25519 key, the password on
/// stdin only): the archive is in the period's bucket. Then by flags for every period, the
/// recorded host key reused.
#[test]
fn the_2025_website_backup_by_prompts_and_by_flags() {
    let server = S3Server::start();
    server.make_bucket("www-example-com-config-x123");
    // The fleet is installed (the 2025 backup's gate).
    std::fs::write(
        server
            .root
            .path()
            .join("www-example-com-config-x123/INSTALLED_SUCCESSFULLY"),
        "",
    )
    .unwrap();
    let ws = Host::new("webserver", server.port);
    std::fs::write(
        ws.path("runtime/webserver_configuration_settings.dat"),
        "WEBSITEURL:www.example.com\nSERVERUSER:X1234X\nBUILDOS:ubuntu:24.04\nSSHPORT:1035\n\
         S3ACCESSKEY:AKADTTEST\nAPPLICATION:wordpress\nBUILDARCHIVECHOICE:daily\n\
         BUILDIDENTIFIER:prod1\n",
    )
    .unwrap();
    std::fs::write(ws.path("runtime/buildstyles.dat"), "DATASTORETOOL:s3cmd\n").unwrap();
    let root = ws.dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join(".s3cfg-1"),
        format!(
            "[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nbucket_location = us-east-1\n\
             host_base = 127.0.0.1:{p}\nhost_bucket = 127.0.0.1:{p}\nuse_https = False\n\
             signature_v2 = False\n",
            p = server.port
        ),
    )
    .unwrap();
    common::build2025::install_2025(&ws.home, "webserver");
    std::fs::write(ws.path("runtime/WEBSERVER_READY"), "").unwrap();
    std::fs::write(
        ws.path("runtime/application.dat"),
        "EXCLUDE_FROM_BACKUP:logs:\n",
    )
    .unwrap();
    std::fs::create_dir_all(ws.path("providerscripts/email")).unwrap();
    std::fs::write(ws.path("providerscripts/email/SendEmail.sh"), "#!/bin/sh\n").unwrap();
    let webroot = ws.dir.path().join("www/html");
    std::fs::create_dir_all(webroot.join("wp-includes")).unwrap();
    std::fs::write(webroot.join("index.php"), "<?php // the site\n").unwrap();
    std::fs::write(webroot.join("wp-includes/version.php"), "<?php $v = 6;\n").unwrap();
    let env = format!(
        "ADT_WEBROOT='{}' ADT_ROOT_DIR='{}' ADT_HOSTNAME=ws-lon1-prod1-1 ADT_BACKUP_JITTER_SECS=0 ADT_BACKUP_LOCK_SETTLE_MS=0",
        webroot.display(),
        root.display()
    );
    let b = Build2025::new(server.port, &ws, &env, "10.0.0.7 10.0.0.8", "10.1.0.7");

    // No BUILD_HOME: one line, status 1.
    let o =
        b.bm.cmd_with(&b.bin, "/bin/sh")
            .arg(b.bm.path("helperscripts/PerformWebsiteBackup.sh"))
            .env("ADT_BUILDHOME_FILE", b.bm.dir.path().join("missing.dat"))
            .current_dir(b.bm.path("helperscripts"))
            .output()
            .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("buildhome.dat"), "{}", stderr(&o));

    // Outside helperscripts/: legacy's refusal.
    let o =
        b.bm.cmd_with(&b.bin, "/bin/sh")
            .arg(b.bm.path("helperscripts/PerformWebsiteBackup.sh"))
            .env("ADT_BUILDHOME_FILE", &b.buildhome)
            .output()
            .unwrap();
    assert_eq!(
        stdout(&o),
        "Sorry, this script has to be run from the helperscripts subdirectory\n"
    );

    // Cloud host 1 (made active: Y), build prod1, the second webserver, periodicity 9 then 2.
    let o = b.run("PerformWebsiteBackup", &[], "1\nY\nprod1\nN\nY\n9\n2\n\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3)Linode 4)Vultr. Please Enter the number for your cloudhost\n\
         Your chosen cloudhost provider is different to your active cloudhost provider on this build machine\n\
         Do you want to set your chosen cloudhost to be the active cloudhost provider (Y|y)\n\
         What is the build Identifer for your build?\n\
         You have these builds to choose from: \nprod1\n\
         Please enter the name of the build of the server you wish to connect with\n\
         Which webserver would you like to connect to?\n\
         1:   10.0.0.7\nPress Y/N to connect...\n2:   10.0.0.8\nPress Y/N to connect...\n\
         Which periodicity of backup do you want to make, 1) HOURLY 2)DAILY 3) WEEKLY 4)MONTHLY 5)BIMONTHLY 6)MANUAL 7)ALL\n\
         Please enter one of 1,2,3,4,5,6,7\n\
         Sorry, that's not a valid selection, please try again\n\
         Build identifier is set to: prod1\n\
         OK, ready to create backup - press enter to confirm\n\
         Making backup for DAILY periodicity\n"
    );
    assert_eq!(
        std::fs::read_to_string(b.rt("ACTIVE_CLOUDHOST")).unwrap(),
        "digitalocean\n"
    );
    assert_eq!(
        std::fs::read_to_string(b.rt("ACTIVE_BUILD_IDENTIFIER")).unwrap(),
        "prod1\n"
    );
    let calls = b.calls();
    let home = b.bm.home.display().to_string();
    assert!(
        calls.contains(&format!(
            "GetServerIPAddresses.sh ws-lon1-prod1 digitalocean {home} VULTR_API_KEY=\n"
        )),
        "{calls}"
    );
    assert!(calls.contains("ssh-keyscan -p 1035 10.0.0.8\n"), "{calls}");
    let known = b.rt("digitalocean/prod1/keys/webserver_10.0.0.8keys");
    assert!(std::fs::read_to_string(&known)
        .unwrap()
        .contains("ssh-ed25519"));
    let backup = calls
        .lines()
        .find(|l| l.contains("Backup.sh"))
        .expect("Backup.sh was run");
    for part in [
        "[-p] [1035]".to_string(),
        format!(
            "[{}]",
            b.rt("digitalocean/prod1/keys/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY_prod1")
                .display()
        ),
        format!("[UserKnownHostsFile={}]", known.display()),
        "[StrictHostKeyChecking=yes]".to_string(),
        "[X1234X@10.0.0.8]".to_string(),
        "/home/X1234X/application/backupscripts/Backup.sh DAILY prod1;".to_string(),
    ] {
        assert!(backup.contains(&part), "{part} not in {backup}");
    }
    assert!(
        calls.contains("/home/X1234X/utilities/config/ExtractConfigValue.sh 'BUILDIDENTIFIER'"),
        "{calls}"
    );
    for l in calls.lines().filter(|l| l.starts_with("ssh ")) {
        let (argv, stdin) = l.split_once(" stdin=").unwrap();
        assert!(!argv.contains("sudo-pw-2025"), "password on argv: {l}");
        assert_eq!(stdin, "sudo-pw-2025", "{l}");
    }
    let bucket = |p: &str| server.root.path().join(format!("www-example-com-{p}"));
    let archive = std::fs::read(bucket("daily").join("applicationsourcecode.tar.gz"))
        .unwrap_or_else(|e| {
            panic!(
                "no 2025 archive ({e}); remote stderr: {}",
                std::fs::read_to_string(b.log.with_extension("log.stderr")).unwrap_or_default()
            )
        });
    assert!(!archive.is_empty());

    // Flags only, every period: the recorded host key is used as it is.
    std::fs::write(&b.log, "").unwrap();
    let o = b.run(
        "PerformWebsiteBackup",
        &[
            "--cloudhost",
            "digitalocean",
            "--build-identifier",
            "prod1",
            "--ip",
            "10.0.0.8",
        ],
        "",
    );
    // No period given and none on stdin: nothing is run.
    assert_eq!(o.status.code(), Some(1));
    assert!(!b.calls().contains("Backup.sh"));
    let o = b.run(
        "PerformWebsiteBackup",
        &[
            "--cloudhost=1",
            "--build-identifier",
            "prod1",
            "--ip",
            "10.0.0.8",
            "--period",
            "ALL",
            "--yes",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let calls = b.calls();
    assert!(!calls.contains("ssh-keyscan"), "{calls}");
    // `--ip` is one of the build's webservers (listed, not asked).
    assert!(
        calls.contains("GetServerIPAddresses.sh ws-lon1-prod1 digitalocean"),
        "{calls}"
    );
    assert!(!stdout(&o).contains("Press Y/N"), "{}", stdout(&o));
    for p in ["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "BIMONTHLY"] {
        assert!(stdout(&o).contains(&format!("Making backup for {p} periodicity\n")));
        assert!(
            calls.contains(&format!("Backup.sh {p} prod1;")),
            "{p}: {calls}"
        );
    }
    for p in ["hourly", "weekly", "monthly", "bimonthly"] {
        assert!(
            bucket(p).join("applicationsourcecode.tar.gz").is_file(),
            "{p} archive"
        );
    }
    // A bad flag: one line on stderr, status 2.
    let o = b.run("PerformWebsiteBackup", &["--key", "dsa"], "");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

/// The 2025 PerformDatabaseBackup.sh: legacy's questions on stdin (the active cloud host kept,
/// the build's private IPs because of VPC-ACTIVE), the database's 2025
/// `application/backupscripts/Backup.sh <P> <id>` run over SSH (here a recording stand-in on
/// the database's HOME: that script is the database machine's own), MANUAL's archives copied
/// into manualbackups with the strict host key; a machine whose host key cannot be scanned is
/// not connected to; by flags, ALL stops at the first failed period with legacy's line.
#[test]
fn the_2025_database_backup_by_prompts_and_by_flags() {
    let (db, ran) = database_2025("[ \"$1\" = WEEKLY ] && exit 1\nexit 0\n");
    let b = Build2025::new(free_port(), &db, "", "10.0.0.9", "10.1.0.9 10.0.0.66");
    std::fs::write(b.rt("ACTIVE_CLOUDHOST"), "digitalocean\n").unwrap();
    std::fs::write(b.rt("digitalocean/prod1/VPC-ACTIVE"), "").unwrap();

    // Cloud host 1 (already active), build prod1, the one database, MANUAL.
    let o = b.run("PerformDatabaseBackup", &[], "1\nprod1\nY\n6\n\n");
    assert!(o.status.success(), "{}", stderr(&o));
    let home = b.bm.home.display().to_string();
    assert_eq!(
        stdout(&o),
        format!(
            "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4)Vultr. Please Enter the number for your cloudhost\n\
             What is the build identifier you want to connect to?\n\
             You have these builds to choose from: \nprod1\n\
             Please enter the name of the build of the server you wish to connect with\n\
             Which Database server would you like to connect to?\n\
             1:   10.1.0.9\nPress Y/N to connect...\n\
             Which periodicity of backup do you want to make, 1) HOURLY 2)DAILY 3) WEEKLY 4)MONTHLY 5)BIMONTHLY 6)MANUAL 7)ALL\n\
             Please enter one of 1,2,3,4,5,6,7\n\
             Build identifier is set to: prod1\n\
             OK, ready to create backup - press enter to confirm\n\
             Making database backup for MANUAL backup\n\
             BACKUP STORED IN {home}/manualbackups\n\
             #####################################################################\n"
        )
    );
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "MANUAL prod1\n");
    let calls = b.calls();
    assert!(
        calls.contains(&format!(
            "GetServerPrivateIPAddresses.sh db-lon1-prod1 digitalocean {home} "
        )),
        "{calls}"
    );
    let known = b.rt("digitalocean/prod1/keys/database_10.1.0.9keys");
    assert!(known.is_file());
    let scp = calls
        .lines()
        .find(|l| l.starts_with("scp"))
        .expect("scp ran");
    for part in [
        "[-P] [1035]".to_string(),
        format!("[UserKnownHostsFile={}]", known.display()),
        "[StrictHostKeyChecking=yes]".to_string(),
        "[X1234X@10.1.0.9:/tmp/backup_archive/*.tar.gz]".to_string(),
        format!("[{home}/manualbackups]"),
    ] {
        assert!(scp.contains(&part), "{part} not in {scp}");
    }
    assert!(b.bm.path("manualbackups/copied.tar.gz").is_file());

    // An `--ip` that is not one of the build's databases: refused, nothing scanned or run.
    std::fs::write(&b.log, "").unwrap();
    let o = b.run(
        "PerformDatabaseBackup",
        &[
            "--cloudhost=1",
            "--build-identifier=prod1",
            "--ip=10.9.9.9",
            "--period=2",
            "--yes",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).ends_with("10.9.9.9 is not one of the databases running: 10.1.0.9 10.0.0.66\n"),
        "{}",
        stdout(&o)
    );
    assert!(!b.calls().contains("ssh"), "{}", b.calls());

    // A machine whose host key cannot be scanned: legacy's line, no key file, no SSH.
    std::fs::write(&b.log, "").unwrap();
    let o = b.run(
        "PerformDatabaseBackup",
        &[
            "--cloudhost",
            "digitalocean",
            "--build-identifier",
            "prod1",
            "--ip",
            "10.0.0.66",
            "--period",
            "2",
            "--yes",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with(
            "Couldn't initiate ssh key scan please try again (make sure the machine is online\n"
        ),
        "{}",
        stdout(&o)
    );
    assert!(!b
        .rt("digitalocean/prod1/keys/database_10.0.0.66keys")
        .exists());
    let calls = b.calls();
    assert!(
        calls.contains("ssh-keyscan -p 1035 10.0.0.66\nssh-keyscan 10.0.0.66\n"),
        "{calls}"
    );
    assert!(!calls.contains("\nssh "), "{calls}");

    // Vultr: its API key (the build's TOKEN) reaches legacy's lister in its environment, not
    // its arguments; the cloud host not made active (n), so REGION is still the active build's
    // (legacy's GetVariableValue); no database chosen: a line saying so, status 1.
    let vultr = b.rt("vultr/prod1");
    std::fs::create_dir_all(vultr.join("credentials")).unwrap();
    std::fs::write(vultr.join("build_environment"), "REGION=\"ams\"\n").unwrap();
    std::fs::write(vultr.join("TOKEN"), "VULTRTOKEN123\n").unwrap();
    std::fs::write(&b.log, "").unwrap();
    let o = b.run("PerformDatabaseBackup", &[], "4\nn\nprod1\nN\n");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with(
            "Which Database server would you like to connect to?\n1:   10.0.0.9\nPress Y/N to connect...\n\
             No database server was chosen. Exiting ....\n"
        ),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        b.calls(),
        format!("GetServerIPAddresses.sh db-lon1-prod1 vultr {home} VULTR_API_KEY=VULTRTOKEN123\n")
    );
    assert_eq!(
        std::fs::read_to_string(b.rt("ACTIVE_CLOUDHOST")).unwrap(),
        "digitalocean\n"
    );
    assert_eq!(
        std::fs::read_to_string(b.rt("ACTIVE_BUILD_IDENTIFIER")).unwrap(),
        "prod1\n"
    );

    // Flags, ALL: HOURLY and DAILY made, WEEKLY fails: legacy's line, status 1, no more.
    std::fs::write(&ran, "").unwrap();
    let o = b.run(
        "PerformDatabaseBackup",
        &[
            "--cloudhost",
            "1",
            "--build-identifier",
            "prod1",
            "--ip",
            "10.1.0.9",
            "--period",
            "7",
            "--yes",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).ends_with(
            "Making database backup for WEEKLY backup\nFailed to make a backup of your database, sorry... exiting\n"
        ),
        "{}",
        stdout(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap(),
        "HOURLY prod1\nDAILY prod1\nWEEKLY prod1\n"
    );
}

/// A real sshd on 127.0.0.1 (a free port, its own host key, the build's key authorized) whose
/// forced command runs the command on `server`'s HOME (its `/home/<user>` mapped there).
struct Sshd {
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl Sshd {
    fn start(
        dir: &std::path::Path,
        port: u16,
        authorized: &std::path::Path,
        server: &Host,
        user: &str,
    ) -> Sshd {
        let hostkey = dir.join("hostkey");
        let _ = std::fs::remove_file(&hostkey);
        let _ = std::fs::remove_file(dir.join("hostkey.pub"));
        let o = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&hostkey)
            .output()
            .unwrap();
        assert!(o.status.success());
        let map = dir.join("map.sh");
        std::fs::write(
            &map,
            format!(
                "#!/bin/sh\ncmd=$(printf '%s' \"$SSH_ORIGINAL_COMMAND\" | sed \"s#/home/{user}#{home}#g\")\n\
                 export HOME='{home}' ADT_HOMEDIR_FILE='{hd}' ADT_TMP='{tmp}' PATH=/usr/local/bin:/usr/bin:/bin\n\
                 exec /bin/sh -c \"$cmd\"\n",
                home = server.home.display(),
                hd = server.homedir_file.display(),
                tmp = server.tmp.display(),
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&map, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {h}\nAuthorizedKeysFile {a}\n\
                 PermitRootLogin yes\nPasswordAuthentication no\nUsePAM no\nUseDNS no\nStrictModes no\n\
                 PidFile {d}/sshd.pid\nForceCommand {m}\n",
                h = hostkey.display(),
                a = authorized.display(),
                d = dir.display(),
                m = map.display(),
            ),
        )
        .unwrap();
        std::fs::create_dir_all("/run/sshd").ok();
        let child = std::process::Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "sshd did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Sshd {
            child,
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self.dir.join("sshd.pid"));
    }
}

/// The 2025 PerformDatabaseBackup.sh against a real sshd: the real ssh-keyscan records the
/// server's host key on its port, the real ssh holds the server to it with the build's ed25519
/// key and runs the database's Backup.sh (a recording script at the 2025 path); when the
/// server's host key changes, nothing is run and the helper says so (status 1).
#[test]
fn the_2025_helper_holds_a_real_sshd_to_its_scanned_host_key() {
    if !std::path::Path::new("/usr/sbin/sshd").exists() {
        panic!("sshd is missing: apt-get install openssh-server (.ci/run does)");
    }
    let user = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let (db, ran) = database_2025("");
    let b = Build2025::new(free_port(), &db, "", "127.0.0.1", "");
    // The real ssh, ssh-keyscan and scp.
    for p in ["ssh", "ssh-keyscan", "scp"] {
        std::fs::remove_file(b.bin.join(p)).unwrap();
    }
    let port = free_port();
    let build = b.rt("digitalocean/prod1");
    std::fs::write(
        build.join("build_environment"),
        format!("REGION=\"lon1\"\nSSH_PORT=\"{port}\"\nALGORITHM=\"ed25519\"\n"),
    )
    .unwrap();
    std::fs::write(build.join("credentials/SERVERUSER"), format!("{user}\n")).unwrap();
    std::fs::write(b.rt("ACTIVE_CLOUDHOST"), "digitalocean\n").unwrap();
    std::fs::create_dir_all(build.join("keys")).unwrap();
    let key = build.join("keys/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY_prod1");
    let o = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success());
    let sshd_dir = b.bm.dir.path().join("sshd");
    std::fs::create_dir_all(&sshd_dir).unwrap();
    let authorized = key.with_extension("pub");
    let sshd = Sshd::start(&sshd_dir, port, &authorized, &db, &user);

    let o = b.run("PerformDatabaseBackup", &[], "1\nprod1\nY\n2\n\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with(
            "Build identifier is set to: prod1\nOK, ready to create backup - press enter to confirm\n\
             Making database backup for DAILY backup\n"
        ),
        "{}",
        stdout(&o)
    );
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "DAILY prod1\n");
    let known = build.join("keys/database_127.0.0.1keys");
    let recorded = std::fs::read_to_string(&known).unwrap();
    assert!(
        recorded.contains(&format!("[127.0.0.1]:{port} ssh-ed25519 ")),
        "{recorded}"
    );

    // Another host key on the same address: refused, nothing run, the recorded key kept.
    drop(sshd);
    let _sshd = Sshd::start(&sshd_dir, port, &authorized, &db, &user);
    let o = b.run(
        "PerformDatabaseBackup",
        &[
            "--cloudhost",
            "digitalocean",
            "--build-identifier",
            "prod1",
            "--ip",
            "127.0.0.1",
            "--period",
            "WEEKLY",
            "--yes",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("Build identifier is set to: \n"),
        "{}",
        stdout(&o)
    );
    assert!(
        !stdout(&o).contains("Making database backup"),
        "{}",
        stdout(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "its host key is not the one in {}",
            known.display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "DAILY prod1\n");
    assert_eq!(std::fs::read_to_string(&known).unwrap(), recorded);
}
