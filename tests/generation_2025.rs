//! The 2025 generation as a first-class layout: its tree installed and restored byte for byte
//! (generation and machine type detected from the files), the legacy-style 2025 flow through our
//! launchers compared line for line with the reference model (compat/reference-2025: bash +
//! s3cmd on the machine's `.s3cfg-1`), a mixed fleet of a 2025 legacy machine and ours on one
//! bucket, the credentials of each datastore tool, and UpdateIPs' 2025 markers.
//!
//! These run on moto's server whatever `ADT_TEST_S3` says: the reference model's s3cmd needs
//! the ETags in listings for recursive get and delete, which s3s-fs leaves out.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BUCKET_2025: &str = "www-example-com-config-x123";

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// A 2025 machine: settings and buildstyles under runtime/, credentials in `<dir>/root`.
struct Machine2025 {
    host: Host,
    root: PathBuf,
}

impl Machine2025 {
    fn new(machine: &'static str, port: u16, tool: &str) -> Machine2025 {
        let host = Host::new(machine, port);
        let settings = "WEBSITEURL:www.example.com\nSERVERUSER:X1234X\nBUILDOS:ubuntu:24.04\n\
             SSHPORT:1035\nPRODUCTION:1\nEMPTYVALUE:\nOLDMYIP:10.0.0.1\nS3ACCESSKEY:AKADTTEST\n\
             BUILDMACHINEIP:198.51.100.4\n";
        std::fs::write(
            host.path(&format!("runtime/{machine}_configuration_settings.dat")),
            settings,
        )
        .unwrap();
        std::fs::write(
            host.path("runtime/buildstyles.dat"),
            format!("DATASTORETOOL:{tool}\nNGINX:source\n"),
        )
        .unwrap();
        let root = host.dir.path().join("root");
        std::fs::create_dir_all(root.join(".config/rclone")).unwrap();
        // The 2025 template's s3cmd file, pointed at the test store.
        std::fs::write(
            root.join(".s3cfg-1"),
            format!(
                "[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nbucket_location = us-east-1\n\
                 host_base = 127.0.0.1:{port}\nhost_bucket = 127.0.0.1:{port}\nuse_https = False\n\
                 signature_v2 = False\n"
            ),
        )
        .unwrap();
        std::fs::write(
            root.join(".s5cfg-1"),
            format!(
                "[default]\naws_access_key_id = {ACCESS}\naws_secret_access_key = {SECRET}\n\
                 host_base = http://127.0.0.1:{port}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            root.join(".config/rclone/rclone.conf-1"),
            format!(
                "[s3]\ntype = s3\nprovider = Other\nenv_auth = false\naccess_key_id =  {ACCESS}\n\
                 secret_access_key =  {SECRET}\nendpoint = http://127.0.0.1:{port}\nacl = private\n"
            ),
        )
        .unwrap();
        Machine2025 { host, root }
    }

    fn install(&self) {
        // No --generation, no --machine: both are detected from the files.
        let out = Command::new(adt_bin())
            .args(["layout", "install", "--home"])
            .arg(&self.host.home)
            .output()
            .unwrap();
        assert!(out.status.success(), "install: {}", stderr(&out));
    }

    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = self.host.cmd(program);
        // 2025 host names: ws-<region>-<build>-<n>, as-…, db-….
        let host = match self.host.machine {
            "webserver" => "ws-lon1-prod1-1",
            "autoscaler" => "as-lon1-prod1-1",
            _ => "db-lon1-prod1",
        };
        c.env("ADT_ROOT_DIR", &self.root)
            .env("REF_MACHINE", self.host.machine)
            .env("ADT_HOSTNAME", host);
        c
    }

    fn run(&self, script: &str, args: &[&str]) -> Output {
        self.cmd(self.host.path(script))
            .args(args)
            .output()
            .unwrap()
    }

    /// The reference model of the legacy 2025 script of that name.
    fn legacy(&self, name: &str, args: &[&str]) -> Output {
        self.cmd("/bin/sh")
            .arg(repo(&format!("compat/reference-2025/{name}.sh")))
            .args(args)
            .output()
            .unwrap()
    }

    fn s3cmd(&self, args: &[&str]) -> Output {
        self.cmd("s3cmd")
            .arg(format!("--config={}", self.root.join(".s3cfg-1").display()))
            .args(args)
            .output()
            .unwrap()
    }
}

const W: &str = "providerscripts/datastore/configwrapper/";

fn map_paths(machine: &str) -> Vec<String> {
    let out = Command::new(adt_bin())
        .args(["layout", "map", "--generation", "2025"])
        .output()
        .unwrap();
    stdout(&out)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split('\t')
                .nth(2)
                .unwrap()
                .split(',')
                .any(|m| m == machine)
        })
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

#[test]
fn a_2025_tree_is_detected_installed_and_restored_byte_for_byte() {
    for machine in ["autoscaler", "webserver", "database"] {
        let m = Machine2025::new(machine, free_port(), "s3cmd");
        let paths = map_paths(machine);
        assert!(paths.len() >= 13, "{machine}: {paths:?}");
        // The legacy tree: every script the map names, distinct bytes and modes, and one the
        // installer must leave alone.
        let mut legacy = Vec::new();
        for (i, p) in paths
            .iter()
            .chain(["utilities/processing/GetIP.sh".to_string()].iter())
            .enumerate()
        {
            let body = format!("#!/bin/bash\n# legacy 2025 {p}\necho legacy {i}\n\x01\u{e9}\n");
            let f = m.host.path(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, &body).unwrap();
            let md = if i % 2 == 0 { 0o750 } else { 0o700 };
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(md)).unwrap();
            legacy.push((p.clone(), body, md));
        }
        let detect = Command::new(adt_bin())
            .args(["layout", "detect", "--home"])
            .arg(&m.host.home)
            .output()
            .unwrap();
        assert_eq!(
            stdout(&detect),
            format!("2025 {machine}\n"),
            "{}",
            stderr(&detect)
        );
        m.install();
        for (p, body, _) in &legacy[..paths.len()] {
            let launcher = std::fs::read_to_string(m.host.path(p)).unwrap();
            assert!(
                launcher.contains("--adt-generation=2025"),
                "{p}: {launcher}"
            );
            assert!(
                launcher.contains(&format!("--adt-machine={machine}")),
                "{p}"
            );
            assert_eq!(mode(&m.host.path(p)), 0o755);
            assert_eq!(
                std::fs::read_to_string(m.host.path(&format!("{p}.adt-legacy"))).unwrap(),
                *body
            );
        }
        // GetIP.sh is not ours: untouched.
        let (p, body, _) = legacy.last().unwrap();
        assert_eq!(std::fs::read_to_string(m.host.path(p)).unwrap(), *body);
        // Still detected the same once our launchers are in place.
        let again = Command::new(adt_bin())
            .args(["layout", "detect", "--home"])
            .arg(&m.host.home)
            .output()
            .unwrap();
        assert_eq!(stdout(&again), format!("2025 {machine}\n"));
        let out = Command::new(adt_bin())
            .args(["layout", "uninstall", "--home"])
            .arg(&m.host.home)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        for (p, body, md) in &legacy {
            assert_eq!(
                std::fs::read(m.host.path(p)).unwrap(),
                body.as_bytes(),
                "{p}"
            );
            assert_eq!(mode(&m.host.path(p)), *md, "{p}");
            assert!(!m.host.path(&format!("{p}.adt-legacy")).exists());
        }
    }
}

/// The 2025 build machine's mapped scripts (BUILD_HOME): installed over a legacy tree and
/// restored byte for byte, modes included.
#[test]
fn the_2025_build_machine_tree_is_installed_and_restored_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("adt-build-machine-scripts");
    let paths = map_paths("build");
    for want in [
        "helperscripts/AdjustScaling.sh",
        "helperscripts/AllowLaptopIP.sh",
        "helperscripts/PerformWebsiteBackup.sh",
        "helperscripts/PerformDatabaseBackup.sh",
        "initscripts/InitialiseUniqueConfigDatastore.sh",
        "security/firewall/AdjustBuildMachineFirewall.sh",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} not in {paths:?}");
    }
    let mut legacy = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let body = format!("#!/bin/sh\n# legacy 2025 build machine {p}\necho {i}\n\u{e9}\n");
        let f = home.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, &body).unwrap();
        let md = if i % 2 == 0 { 0o750 } else { 0o700 };
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(md)).unwrap();
        legacy.push((p.clone(), body, md));
    }
    // The 2025 tree also has paths that the 2022 build machine maps and 2025 does not: the
    // tree is detected as what it is, and they are left alone.
    for p in [
        "helperscripts/PerformWebsiteBaseline.sh",
        "helperscripts/PerformDatabaseBaseline.sh",
        "providerscripts/datastore/configwrapper/PutToConfigDatastore.sh",
    ] {
        let f = home.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, format!("#!/bin/sh\n# legacy 2025 {p}\n")).unwrap();
    }
    let detect = || {
        let d = Command::new(adt_bin())
            .args(["layout", "detect", "--home"])
            .arg(&home)
            .output()
            .unwrap();
        stdout(&d)
    };
    assert_eq!(detect(), "2025 build\n");
    // Installed as detected (no --generation, no --machine).
    let o = Command::new(adt_bin())
        .args(["layout", "install", "--home"])
        .arg(&home)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(detect(), "2025 build\n");
    assert_eq!(
        std::fs::read_to_string(home.join("helperscripts/PerformWebsiteBaseline.sh")).unwrap(),
        "#!/bin/sh\n# legacy 2025 helperscripts/PerformWebsiteBaseline.sh\n"
    );
    for (p, body, _) in &legacy {
        let launcher = std::fs::read_to_string(home.join(p)).unwrap();
        assert!(
            launcher.contains("--adt-generation=2025"),
            "{p}: {launcher}"
        );
        assert!(launcher.contains("--adt-machine=build"), "{p}");
        assert_eq!(
            std::fs::read_to_string(home.join(format!("{p}.adt-legacy"))).unwrap(),
            *body
        );
    }
    let o = Command::new(adt_bin())
        .args(["layout", "uninstall", "--home"])
        .arg(&home)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for (p, body, md) in &legacy {
        assert_eq!(std::fs::read(home.join(p)).unwrap(), body.as_bytes(), "{p}");
        assert_eq!(mode(&home.join(p)), *md, "{p}");
        assert!(!home.join(format!("{p}.adt-legacy")).exists());
    }
}

#[test]
fn detect_tells_2022_from_2025_and_says_when_it_cannot() {
    let h = Host::new("database", free_port());
    let d = Command::new(adt_bin())
        .args(["layout", "detect", "--verbose", "--home"])
        .arg(&h.home)
        .output()
        .unwrap();
    assert_eq!(
        stdout(&d),
        "2022 database (.ssh/database_configuration_settings.dat is there)\n"
    );
    // No settings file: the scripts present decide.
    let dir = tempfile::tempdir().unwrap();
    for p in [
        "utilities/config/ExtractConfigValue.sh",
        "utilities/config/StoreConfigValueWebserver.sh",
    ] {
        std::fs::create_dir_all(dir.path().join(p).parent().unwrap()).unwrap();
        std::fs::write(dir.path().join(p), "#!/bin/sh\n").unwrap();
    }
    let d = Command::new(adt_bin())
        .args(["layout", "detect", "--home"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(stdout(&d), "2025 autoscaler\n", "{}", stderr(&d));
    let empty = tempfile::tempdir().unwrap();
    let d = Command::new(adt_bin())
        .args(["layout", "install", "--home"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(d.status.code(), Some(1));
    assert!(
        stderr(&d).contains("give --generation and --machine"),
        "{}",
        stderr(&d)
    );
}

fn run_flow(machine: &'static str, reference: bool) -> (String, String) {
    let server = S3Server::start_kind(S3Impl::Moto);
    server.make_bucket(BUCKET_2025);
    let m = Machine2025::new(machine, server.port, "s3cmd");
    m.install();
    let mut cmd = m.cmd("/bin/sh");
    cmd.arg(repo("compat/flows/datastore-2025.sh"))
        .current_dir(&m.host.home);
    if reference {
        cmd.env("WRAP", repo("compat/reference-2025"))
            .env("UTIL", repo("compat/reference-2025"));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "flow failed: {}", stderr(&out));
    (stdout(&out), stderr(&out))
}

fn same_transcript(ours: &str, legacy: &str) {
    let ol: Vec<&str> = ours.lines().collect();
    let ll: Vec<&str> = legacy.lines().collect();
    for (i, (a, b)) in ol.iter().zip(ll.iter()).enumerate() {
        assert_eq!(
            a,
            b,
            "line {} differs\n--- ours:\n{ours}\n--- legacy model:\n{legacy}",
            i + 1
        );
    }
    assert_eq!(
        ol.len(),
        ll.len(),
        "--- ours:\n{ours}\n--- legacy model:\n{legacy}"
    );
}

#[test]
fn the_2025_flow_matches_the_legacy_model_on_a_webserver() {
    let (ours, ours_err) = run_flow("webserver", false);
    let (legacy, _) = run_flow("webserver", true);
    for want in [
        "rc 0\nmarker kept in tmp\nmarker removed\n",
        "source kept\nsource removed\n",
        "peer 10.0.0.5\npeer 10.0.0.50\ncount 2\n",
        "prefix [10.0.0.5 10.0.0.50 203.0.113.9 ]\n",
        "deep [fullchain.pem]\n",
        "no database yet\n",
        "installed\nscaling on\nprefix 1 dir 1 empty 0\n",
        "fetched define( \"DB_NAME\", \"app\" );\n",
        "cert cert\n",
        "Key doesn't exist\nrc 0\n",
        "tree ./webserverips/10.0.0.5 ./webserverips/10.0.0.50 \n",
        "into file define(",
        "synced ./additions/additions/additions.1.tar.gz ./additions/additions/additions.2.tar.gz \nagain rc 0\ncontent two\n",
        "scale [2 1]\n",
        "delete: 's3://www-example-com-config-x123/STATIC_SCALE:2:1'\nrc 0\nafter []\n",
        "delete: 's3://www-example-com-config-x123/webserverips/10.0.0.5'\nrc 0\nrc 64\n",
        "delete: 's3://www-example-com-config-x123/webserverpublicips/203.0.113.9'\nrc 0\n",
        "delete: 's3://www-example-com-config-x123/nothere'\nrc 0\nleft [10.0.0.50 ]\n",
        "glob check 1\ndelete: 's3://www-example-com-config-x123/webserverips/10.0.0.50'\nrc 0\nleft2 []\nplaced [placed.txt]\n",
        "os [ubuntu:24.04] url [www.example.com] empty [] missing []\n",
        "values [BUILDOS:ubuntu:24.04] stripped [ubuntu 24.04]\nempties [1]\n",
        "style [s3cmd] rc 0\n",
        "check 1 0 0\ntool 1 0\n",
        "stored [10.0.0.9] [2222] old []\n",
    ] {
        assert!(
            ours.contains(want),
            "missing {want:?} in:\n{ours}\nstderr:\n{ours_err}"
        );
    }
    same_transcript(&ours, &legacy);
}

#[test]
fn the_2025_flow_matches_the_legacy_model_on_an_autoscaler() {
    let (ours, ours_err) = run_flow("autoscaler", false);
    let (legacy, _) = run_flow("autoscaler", true);
    for want in [
        // The autoscaler's readers drop empty lines; its StoreConfigValue replaces only lines
        // that start with the key.
        "empties [0]\n",
        "stored [10.0.0.9] [2222] old [10.0.0.1]\n",
    ] {
        assert!(
            ours.contains(want),
            "missing {want:?} in:\n{ours}\nstderr:\n{ours_err}"
        );
    }
    same_transcript(&ours, &legacy);
}

/// A 2025 legacy machine (its wrappers modelled with real s3cmd on `.s3cfg-1`) and one on our
/// launchers share one bucket: each reads what the other wrote, with the same keys and bytes.
#[test]
fn mixed_2025_fleet_on_one_bucket() {
    let server = S3Server::start_kind(S3Impl::Moto);
    server.make_bucket(BUCKET_2025);
    let legacy = Machine2025::new("webserver", server.port, "s3cmd");
    let ours = Machine2025::new("autoscaler", server.port, "s3cmd");
    ours.install();

    // Legacy publishes; ours reads.
    assert!(legacy
        .legacy("PutToConfigDatastore", &["10.0.0.5", "webserverips", "yes"])
        .status
        .success());
    std::fs::write(
        legacy.host.path("runtime/drupal_settings.php"),
        "<?php $db = 'x';\n",
    )
    .unwrap();
    legacy.legacy(
        "PutToConfigDatastore",
        &[
            &legacy
                .host
                .path("runtime/drupal_settings.php")
                .to_string_lossy(),
            "",
            "no",
        ],
    );
    legacy.legacy(
        "PutToConfigDatastore",
        &["INSTALLED_SUCCESSFULLY", "", "yes"],
    );
    let l = ours.run(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&l), "10.0.0.5\n", "{}", stderr(&l));
    let c = ours.run(
        &format!("{W}CheckConfigDatastore.sh"),
        &["INSTALLED_SUCCESSFULLY"],
    );
    assert_eq!(stdout(&c), "1\n");
    let dest = ours.host.path("runtime/fetched");
    let g = ours.run(
        &format!("{W}GetFromConfigDatastore.sh"),
        &["drupal_settings.php", &dest.to_string_lossy()],
    );
    assert_eq!(stdout(&g), "", "{}", stderr(&g));
    assert_eq!(
        std::fs::read_to_string(dest.join("drupal_settings.php")).unwrap(),
        "<?php $db = 'x';\n"
    );
    let age = ours.run(&format!("{W}AgeOfConfigFile.sh"), &["drupal_settings.php"]);
    let secs: u64 = stdout(&age)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", stderr(&age)));
    assert!(secs < 600, "{secs}");

    // Ours publishes and writes the scaling marker; legacy reads.
    ours.run(
        &format!("{W}PutToConfigDatastore.sh"),
        &["10.0.0.7", "autoscalerips", "yes"],
    );
    std::fs::create_dir_all(ours.host.path("runtime/scaling")).unwrap();
    let marker = ours.host.path("runtime/scaling/STATIC_SCALE:3");
    std::fs::write(&marker, "").unwrap();
    let p = ours.run(
        &format!("{W}PutToConfigDatastore.sh"),
        &[&marker.to_string_lossy(), "", "no"],
    );
    assert!(
        p.status.success() && stdout(&p).is_empty(),
        "{}",
        stderr(&p)
    );
    let l = legacy.legacy("ListFromConfigDatastore", &["autoscalerips/*"]);
    assert_eq!(stdout(&l), "10.0.0.7\n");
    let l = legacy.legacy("ListFromConfigDatastore", &["STATIC_SCALE:*"]);
    assert_eq!(stdout(&l), "STATIC_SCALE:3\n");
    std::fs::write(ours.host.path("runtime/cred.dat"), "name\npass\n").unwrap();
    ours.run(
        &format!("{W}PutToConfigDatastore.sh"),
        &[
            &ours.host.path("runtime/cred.dat").to_string_lossy(),
            "credentials",
            "no",
        ],
    );
    let dest = legacy.host.path("runtime/got");
    let g = legacy.legacy(
        "GetFromConfigDatastore",
        &["credentials/cred.dat", &dest.to_string_lossy()],
    );
    assert_eq!(stdout(&g), "");
    assert_eq!(
        std::fs::read_to_string(dest.join("cred.dat")).unwrap(),
        "name\npass\n"
    );

    // The keys, as s3cmd lists them: the same names whoever wrote them.
    let all = legacy.s3cmd(&["--recursive", "ls", &format!("s3://{BUCKET_2025}")]);
    let keys: Vec<String> = stdout(&all)
        .lines()
        .map(|l| {
            l.rsplit(&format!("s3://{BUCKET_2025}/"))
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        keys,
        [
            "INSTALLED_SUCCESSFULLY",
            "STATIC_SCALE:3",
            "autoscalerips/10.0.0.7",
            "credentials/cred.dat",
            "drupal_settings.php",
            "webserverips/10.0.0.5"
        ]
    );

    // Ours deletes the scaling markers recursively as ScalingUpdateEvent does; legacy sees none.
    let d = ours.run(
        &format!("{W}DeleteFromConfigDatastore.sh"),
        &["STATIC_SCALE:", "yes"],
    );
    assert_eq!(
        stdout(&d),
        format!("delete: 's3://{BUCKET_2025}/STATIC_SCALE:3'\n")
    );
    assert_eq!(
        stdout(&legacy.legacy("ListFromConfigDatastore", &["STATIC_SCALE:*"])),
        ""
    );
    // Legacy deletes a marker; ours no longer lists it.
    legacy.legacy("DeleteFromConfigDatastore", &["webserverips/10.0.0.5"]);
    let l = ours.run(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&l), "");
}

/// The credentials and endpoint come from whichever file the machine's tool has.
#[test]
fn each_datastore_tool_s_file_is_read() {
    let server = S3Server::start_kind(S3Impl::Moto);
    server.make_bucket(BUCKET_2025);
    for (i, tool) in ["s5cmd", "rclone", "s3cmd"].iter().enumerate() {
        let m = Machine2025::new("database", server.port, tool);
        m.install();
        // Only this tool's file: the others would name no store at all.
        for other in [".s3cfg-1", ".s5cfg-1", ".config/rclone/rclone.conf-1"] {
            let keep = match *tool {
                "s3cmd" => ".s3cfg-1",
                "s5cmd" => ".s5cfg-1",
                _ => ".config/rclone/rclone.conf-1",
            };
            if other != keep {
                std::fs::remove_file(m.root.join(other)).unwrap();
            }
        }
        let ip = format!("10.0.1.{i}");
        let p = m.run(
            &format!("{W}PutToConfigDatastore.sh"),
            &[&ip, "databaseip", "yes"],
        );
        assert!(stderr(&p).is_empty(), "{tool}: {}", stderr(&p));
        let l = m.run(&format!("{W}ListFromConfigDatastore.sh"), &["databaseip/*"]);
        let want: String = (0..=i).map(|n| format!("10.0.1.{n}\n")).collect();
        assert_eq!(stdout(&l), want, "{tool}: {}", stderr(&l));
    }
    // A tool whose file is missing: one clear line naming it.
    let m = Machine2025::new("database", server.port, "rclone");
    m.install();
    std::fs::remove_file(m.root.join(".config/rclone/rclone.conf-1")).unwrap();
    let l = m.run(&format!("{W}ListFromConfigDatastore.sh"), &["databaseip/*"]);
    assert_eq!(stdout(&l), "");
    assert!(
        stderr(&l).contains("rclone configuration"),
        "{}",
        stderr(&l)
    );
    assert!(stderr(&l).contains("rclone.conf-1"), "{}", stderr(&l));
}

/// UpdateIPs at its 2025 path publishes the 2025 keys, with the addresses the machine's own
/// GetIP.sh and GetPublicIP.sh print.
#[test]
fn update_ips_publishes_the_2025_markers() {
    let server = S3Server::start_kind(S3Impl::Moto);
    server.make_bucket(BUCKET_2025);
    let m = Machine2025::new("autoscaler", server.port, "s3cmd");
    for (p, ip) in [
        ("utilities/processing/GetIP.sh", "10.0.0.7"),
        ("utilities/processing/GetPublicIP.sh", "203.0.113.7"),
    ] {
        std::fs::create_dir_all(m.host.path(p).parent().unwrap()).unwrap();
        std::fs::write(m.host.path(p), format!("#!/bin/sh\necho {ip}\n")).unwrap();
        std::fs::set_permissions(m.host.path(p), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    m.install();
    let o = m.run("utilities/processing/UpdateIPs.sh", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all = m.s3cmd(&["--recursive", "ls", &format!("s3://{BUCKET_2025}")]);
    let listing = stdout(&all);
    let keys: Vec<&str> = listing
        .lines()
        .map(|l| {
            l.rsplit("s3://www-example-com-config-x123/")
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        keys,
        [
            "autoscalerips/10.0.0.7",
            "autoscalerpublicips/203.0.113.7",
            "buildmachineip/198.51.100.4"
        ]
    );
}

/// 2025's ManuallyScale: ScalingUpdateEvent N shares N webservers among the autoscalers the
/// cloud lists (`as-<REGION>-<BUILDIDENTIFIER>`), as the one STATIC_SCALE: marker the legacy
/// readers list; a marker younger than 10 minutes is left alone; a bad N changes nothing.
#[test]
fn scaling_update_event_writes_the_static_scale_marker() {
    let server = S3Server::start_kind(S3Impl::Moto);
    server.make_bucket(BUCKET_2025);
    let m = Machine2025::new("autoscaler", server.port, "s3cmd");
    let f = m.host.path("runtime/autoscaler_configuration_settings.dat");
    let mut t = std::fs::read_to_string(&f).unwrap();
    t.push_str("CLOUDHOST:digitalocean\nREGION:lon1\nBUILDIDENTIFIER:prod1\n");
    std::fs::write(&f, t).unwrap();
    std::fs::write(m.host.path("DROPLET"), "").unwrap();
    m.install();
    let bin = m.host.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fixtures = m.host.dir.path().join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    std::fs::write(
        fixtures.join("do.json"),
        r#"[{"id": 1, "name": "as-lon1-prod1-1", "networks": {"v4": []}},
            {"id": 2, "name": "as-lon1-prod1-2", "networks": {"v4": []}},
            {"id": 3, "name": "ws-lon1-prod1-1", "networks": {"v4": []}},
            {"id": 4, "name": "as-lon1-prod2-1", "networks": {"v4": []}}]"#,
    )
    .unwrap();
    let log = m.host.dir.path().join("calls.log");
    stand_in(
        &bin,
        "doctl",
        &log,
        &fixtures,
        &[("'compute droplet list -o json'", "do.json")],
    );
    let run = |n: &str, min_age: &str| {
        m.cmd(m.host.path("utilities/processing/ScalingUpdateEvent.sh"))
            .arg(n)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("ADT_STATIC_SCALE_MIN_AGE", min_age)
            .output()
            .unwrap()
    };
    let o = run("5", "600");
    assert!(
        o.status.success() && stdout(&o).is_empty(),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        stdout(&m.legacy("ListFromConfigDatastore", &["STATIC_SCALE:*"])),
        "STATIC_SCALE:3:2\n"
    );
    assert!(m.host.path("runtime/scaling/STATIC_SCALE:3:2").is_file());
    // Younger than 10 minutes: left alone.
    let o = run("7", "600");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&m.legacy("ListFromConfigDatastore", &["STATIC_SCALE:*"])),
        "STATIC_SCALE:3:2\n"
    );
    // Older (the age limit lowered): replaced, one marker left, here and in runtime/scaling.
    let o = run("7", "0");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&m.legacy("ListFromConfigDatastore", &["STATIC_SCALE:*"])),
        "STATIC_SCALE:4:3\n"
    );
    let local: Vec<String> = std::fs::read_dir(m.host.path("runtime/scaling"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(local, ["STATIC_SCALE:4:3"]);
    // Not a count of 2 or more: nothing changes.
    for bad in ["abc", "1", "2.5"] {
        let o = run(bad, "0");
        assert_eq!(o.status.code(), Some(1), "{bad}");
        assert!(stderr(&o).contains(bad), "{}", stderr(&o));
    }
    assert_eq!(
        stdout(&m.legacy("ListFromConfigDatastore", &["STATIC_SCALE:*"])),
        "STATIC_SCALE:4:3\n"
    );
    // Empty N: nothing at all, as legacy.
    let o = run("", "0");
    assert!(o.status.success() && stderr(&o).is_empty());
}

/// cron/InitialiseCron.sh on a 2025 autoscaler and database: the 2025 lines, in order, with
/// their conditions (PRODUCTION, MULTIREGION, the virus scanner's periodicity); a second run
/// changes nothing; a line ADT did not write is kept.
#[test]
fn initialise_cron_writes_the_2025_crontabs() {
    for machine in ["autoscaler", "database"] {
        let m = Machine2025::new(machine, free_port(), "s3cmd");
        let f = m
            .host
            .path(&format!("runtime/{machine}_configuration_settings.dat"));
        let mut t = std::fs::read_to_string(&f).unwrap();
        t.push_str("MULTIREGION:1\nSERVERTIMEZONECONTINENT:Europe\nSERVERTIMEZONECITY:London\n");
        std::fs::write(&f, t).unwrap();
        std::fs::write(
            m.host.path("runtime/buildstyles.dat"),
            "DATASTORETOOL:s3cmd\nVIRUSSCANNER:clamav:weekly\n",
        )
        .unwrap();
        m.install();
        let tab = m.host.dir.path().join("crontab");
        std::fs::write(&tab, "17 * * * * /usr/local/bin/operator-job\n").unwrap();
        let run = || {
            m.cmd(m.host.path("cron/InitialiseCron.sh"))
                .env("ADT_CRONTAB_FILE", &tab)
                .output()
                .unwrap()
        };
        let o = run();
        assert!(o.status.success(), "{machine}: {}", stderr(&o));
        let text = std::fs::read_to_string(&tab).unwrap();
        let h = m.host.home.display().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "MAILTO=''");
        let want_in = |l: String| {
            assert!(
                lines.contains(&l.as_str()),
                "{machine}: missing {l:?} in\n{text}"
            );
        };
        want_in(format!(
            "*/1 * * * * export HOME={h} && /bin/sleep 30 && {h}/utilities/processing/UpdateIPs.sh"
        ));
        want_in(format!(
            "*/1 * * * * export HOME={h} && {h}/cron/SetupFirewallFromCron.sh"
        ));
        want_in(format!(
            "22 4 * * *  export HOME={h} && {h}/utilities/software/UpdateSoftware.sh"
        ));
        want_in("@reboot export TZ=\":Europe/London\"".to_string());
        let virus = lines
            .iter()
            .find(|l| l.starts_with("@weekly export HOME="))
            .unwrap_or_else(|| panic!("{machine}: no virus scan line in\n{text}"));
        let delay: u32 = virus
            .split("/bin/sleep ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=1000).contains(&delay));
        if machine == "autoscaler" {
            want_in(format!(
                "*/2 * * * * export HOME={h} && {h}/cron/PerformScalingFromCron.sh"
            ));
            want_in(format!(
                "*/3 * * * * export HOME={h} && {h}/cron/DeadOrAliveFromCron.sh"
            ));
            want_in(format!(
                "*/1 * * * * export HOME={h} && {h}/providerscripts/dbaas/AdjustDBaaSFirewall.sh"
            ));
            assert_eq!(lines.len(), 24, "{text}");
        } else {
            want_in(format!(
                "30 2 * * * export HOME={h} && {h}/cron/BackupFromCron.sh 'DAILY'"
            ));
            want_in(format!(
                "@hourly export HOME={h} && {h}/providerscripts/datastore/configwrapper/DeleteFromConfigDatastore.sh 'dbbackuplock.file'"
            ));
            assert_eq!(lines.len(), 29, "{text}");
        }
        assert_eq!(
            *lines.last().unwrap(),
            "17 * * * * /usr/local/bin/operator-job"
        );
        let o = run();
        assert!(o.status.success());
        assert_eq!(
            std::fs::read_to_string(&tab).unwrap(),
            text,
            "{machine}: second run"
        );
    }
}

/// The accounts S3ACCESSKEY allows (`AK1|AK2`): one store per account, each from its own
/// numbered file (`.s3cfg-1`, `.s3cfg-2`), for the writes legacy makes to every account; the
/// config wrappers use account 1 only, as the 2025 scripts did.
#[test]
fn every_account_of_a_2025_machine_is_a_store() {
    let one = S3Server::start_kind(S3Impl::Moto);
    let two = S3Server::start_kind(S3Impl::Moto);
    let m = Machine2025::new("webserver", one.port, "s3cmd");
    let f = m.host.path("runtime/webserver_configuration_settings.dat");
    let t = std::fs::read_to_string(&f)
        .unwrap()
        .replace("S3ACCESSKEY:AKADTTEST", "S3ACCESSKEY:AKADTTEST|AKSECOND");
    std::fs::write(&f, t).unwrap();
    let first = std::fs::read_to_string(m.root.join(".s3cfg-1")).unwrap();
    std::fs::write(
        m.root.join(".s3cfg-2"),
        first.replace(&one.port.to_string(), &two.port.to_string()),
    )
    .unwrap();
    for s in [&one, &two] {
        s.make_bucket("www-example-com-multi-region");
    }
    // In-process: only this test reads ADT_ROOT_DIR in this process (the others pass it to the
    // programs they start).
    std::env::set_var("ADT_ROOT_DIR", &m.root);
    let site = adt::site::Site {
        home: m.host.home.clone(),
        machine: adt::home::Machine::Webserver,
        gen: &adt::layout::G2025,
        tmp: m.host.tmp.clone(),
        home_origin: adt::home::HomeOrigin::HomedirFile,
    };
    assert_eq!(site.account_count(), 2);
    let stores = site
        .stores_in_every_account("www-example-com-multi-region")
        .unwrap();
    assert_eq!(stores.len(), 2);
    for s in &stores {
        s.put_bytes("dbaas_ips/203.0.113.9", b"").unwrap();
    }
    for (server, n) in [(&one, 1), (&two, 2)] {
        let o = m.s3cmd(&[
            &format!("--host=127.0.0.1:{}", server.port),
            &format!("--host-bucket=127.0.0.1:{}", server.port),
            "ls",
            "s3://www-example-com-multi-region/dbaas_ips/",
        ]);
        assert!(
            stdout(&o).contains("s3://www-example-com-multi-region/dbaas_ips/203.0.113.9"),
            "account {n}: {}{}",
            stdout(&o),
            stderr(&o)
        );
    }
}

/// The 2025 webserver's UpdateIPs: its two markers; one file per other webserver in
/// runtime/otherwebserverips (kept in step with the listing); with MULTIREGION:1 its public IP
/// under dbaas_ips/ in the multi-region bucket of every account.
#[test]
fn update_ips_on_a_2025_webserver_keeps_peers_and_the_multi_region_marker() {
    let server = S3Server::start_kind(S3Impl::Moto);
    server.make_bucket(BUCKET_2025);
    server.make_bucket("www-example-com-multi-region");
    let m = Machine2025::new("webserver", server.port, "s3cmd");
    let f = m.host.path("runtime/webserver_configuration_settings.dat");
    let mut t = std::fs::read_to_string(&f).unwrap();
    t.push_str("MULTIREGION:1\n");
    std::fs::write(&f, t).unwrap();
    for (p, ip) in [
        ("utilities/processing/GetIP.sh", "10.0.0.5"),
        ("utilities/processing/GetPublicIP.sh", "203.0.113.5"),
    ] {
        std::fs::create_dir_all(m.host.path(p).parent().unwrap()).unwrap();
        std::fs::write(m.host.path(p), format!("#!/bin/sh\necho {ip}\n")).unwrap();
        std::fs::set_permissions(m.host.path(p), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    m.install();
    // Two other webservers, published by the legacy wrapper.
    for ip in ["10.0.0.50", "10.0.0.6"] {
        m.legacy("PutToConfigDatastore", &[ip, "webserverips", "yes"]);
    }
    let peers = m.host.path("runtime/otherwebserverips");
    std::fs::create_dir_all(&peers).unwrap();
    std::fs::write(peers.join("10.0.0.9"), "").unwrap(); // gone from the listing
    let o = m.run("utilities/processing/UpdateIPs.sh", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&peers)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["10.0.0.50", "10.0.0.6"]);
    let l = m.legacy("ListFromConfigDatastore", &["webserver"]);
    assert_eq!(stdout(&l), "10.0.0.5\n10.0.0.50\n10.0.0.6\n203.0.113.5\n");
    let mr = m.s3cmd(&["ls", "s3://www-example-com-multi-region/dbaas_ips/"]);
    assert!(
        stdout(&mr).contains("s3://www-example-com-multi-region/dbaas_ips/203.0.113.5"),
        "{}{}",
        stdout(&mr),
        stderr(&mr)
    );
    // A reverse proxy publishes its own markers (and keeps no peer files).
    let rp = Machine2025::new("webserver", server.port, "s3cmd");
    for (p, ip) in [
        ("utilities/processing/GetIP.sh", "10.0.0.8"),
        ("utilities/processing/GetPublicIP.sh", "203.0.113.8"),
    ] {
        std::fs::create_dir_all(rp.host.path(p).parent().unwrap()).unwrap();
        std::fs::write(rp.host.path(p), format!("#!/bin/sh\necho {ip}\n")).unwrap();
        std::fs::set_permissions(rp.host.path(p), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    rp.install();
    let o = rp
        .cmd(rp.host.path("utilities/processing/UpdateIPs.sh"))
        .env("ADT_HOSTNAME", "rp-lon1-prod1-rp-1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&rp.legacy("ListFromConfigDatastore", &["reverseproxy"])),
        "10.0.0.8\n203.0.113.8\n"
    );
    assert!(!rp.host.path("runtime/otherwebserverips").exists());
    assert_eq!(
        stdout(&rp.legacy("ListFromConfigDatastore", &["webserverips/*"])),
        "10.0.0.5\n10.0.0.50\n10.0.0.6\n"
    );
}

/// The seed's path for ManuallyScale, `providerscripts/utilities/processing/ManuallyScale.sh`, is
/// installed on a 2022 autoscaler beside `providerscripts/utilities/ManuallyScale.sh`; both set
/// the profile, and uninstall takes both away.
#[test]
fn the_seed_s_manually_scale_path_is_installed_on_the_autoscaler() {
    let (_server, h) = installed_autoscaler("");
    let seed = "providerscripts/utilities/processing/ManuallyScale.sh";
    let launcher = std::fs::read_to_string(h.path(seed)).unwrap();
    assert!(launcher.contains(" ManuallyScale \"$@\""), "{launcher}");
    let o = h.exec(seed, &["3"]);
    assert_eq!(
        stdout(&o),
        "Number of webservers is now successfully set to 3\n",
        "{}",
        stderr(&o)
    );
    let o = h.exec("providerscripts/utilities/ManuallyScale.sh", &["4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = h.exec(seed, &["5"]);
    assert_eq!(
        stdout(&o),
        "Number of webservers is now successfully set to 5\n"
    );
    let out = Command::new(adt_bin())
        .args(["layout", "uninstall", "--home"])
        .arg(&h.home)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!h.path(seed).exists());
    // Not a webserver script.
    let ws = Host::new("webserver", free_port());
    ws.install();
    assert!(!ws.path(seed).exists());
}

/// The 2025 webserver's crontab depends on its host name: a webserver (`ws-…`) in front of the
/// authenticator gets its branch's lines (with the legacy spacing); an authenticator (`-auth-`)
/// gets the authenticator's branch of its type, then the common lines.
#[test]
fn initialise_cron_on_a_2025_webserver_follows_its_host_name() {
    let m = Machine2025::new("webserver", free_port(), "s3cmd");
    let f = m.host.path("runtime/webserver_configuration_settings.dat");
    let mut t = std::fs::read_to_string(&f).unwrap();
    t.push_str(
        "NOREVERSEPROXY:0\nNOAUTHENTICATORS:1\nAUTHENTICATORTYPE:firewall\nAPPLICATION:wordpress\n\
         WEBSERVERCHOICE:NGINX\nSYNCWEBROOTS:1\nPERSISTASSETSTODATASTORE:0\n",
    );
    std::fs::write(&f, t).unwrap();
    m.install();
    let tab = m.host.dir.path().join("crontab");
    let run = |host: &str| {
        m.cmd(m.host.path("cron/InitialiseCron.sh"))
            .env("ADT_CRONTAB_FILE", &tab)
            .env("ADT_HOSTNAME", host)
            .output()
            .unwrap()
    };
    let o = run("ws-lon1-prod1-1");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&tab).unwrap();
    let h = m.host.home.display().to_string();
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        format!("*/1 * * * * export HOME={h} && {h}/providerscripts/webserver/CheckWebserverIsUp.sh NGINX"),
        format!("*/1 * * * * export HOME={h} && /bin/sleep 20 &&{h}/security/AllowAuthenticatorIPAddress.sh"),
        format!("*/1 * * * * export HOME={h} && /bin/sleep 30 && {h}/providerscripts/datastore/webroot-sync/WebrootSyncingController.sh"),
        format!("@hourly export HOME=\"{h}\" && {h}/providerscripts/datastore/configwrapper/DeleteFromConfigDatastore.sh \"backuplock.*.file\""),
        format!("30 2 * * * export HOME={h} && {h}/cron/BackupFromCron.sh 'DAILY'"),
        format!("*/5 * * * * export HOME={h} &&  /bin/sleep 23 && {h}/security/MonitorFirewall.sh"),
    ] {
        assert!(lines.contains(&want.as_str()), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("EnsureReverseProxyWebserverIPs"), "{text}");
    assert!(!text.contains("ObtainBasicAuthCredentials"), "{text}");
    assert_eq!(lines.len(), 41, "{text}");
    // A second run changes nothing.
    assert!(run("ws-lon1-prod1-1").status.success());
    assert_eq!(std::fs::read_to_string(&tab).unwrap(), text);
    // A host that is neither webserver nor proxy gets only the common lines.
    let o = run("something-else");
    assert!(o.status.success());
    let other = std::fs::read_to_string(&tab).unwrap();
    assert!(!other.contains("CheckWebserverIsUp"), "{other}");
    assert!(other.contains("UpdateIPs.sh"));
    // An authenticator (`-auth-`, even when the name also starts with `ws-`): its own branch,
    // then the common lines, nothing of the webserver's or proxy's.
    let o = run("ws-lon1-prod1-auth-1");
    assert!(o.status.success(), "{}", stderr(&o));
    let auth = std::fs::read_to_string(&tab).unwrap();
    let lines: Vec<&str> = auth.lines().collect();
    let a = "providerscripts/webserver/configuration/authenticator";
    assert_eq!(lines[0], "MAILTO=''");
    assert_eq!(
        lines[1],
        format!("*/1 * * * * export HOME={h} && {h}/providerscripts/webserver/CheckWebserverIsUp.sh NGINX")
    );
    assert_eq!(
        lines[2],
        format!("*/1 * * * * export HOME={h} && {h}/{a}/firewall/AcceptIPAddresses.sh")
    );
    assert_eq!(
        lines[8],
        format!("*/1 * * * * export HOME={h} && {h}/{a}/firewall/GenerateAuthenticationEmails.sh")
    );
    assert_eq!(
        lines[13],
        format!("*/1 * * * * export HOME={h} && /bin/sleep 50 && {h}/{a}/firewall/GenerateAuthenticationEmails.sh")
    );
    assert_eq!(
        lines[14],
        r"*/1 * * * * /usr/bin/find /var/www/html/ip-address* -mmin +5 -type f -exec rm -fv {} \;"
    );
    assert_eq!(
        lines[15],
        format!("22 4 * * * export HOME={h} && {h}/utilities/software/UpdateSoftware.sh")
    );
    assert_eq!(
        lines[16],
        format!("45 4 * * * export HOME={h} && /bin/rm {h}/runtime/FIREWALL-ACTIVE")
    );
    assert_eq!(
        lines[17],
        format!("*/1 * * * * export HOME={h} && {h}/utilities/security/AuditSSHConnections.sh")
    );
    assert!(auth.contains(&format!(
        "22 4 * * *  export HOME={h} && {h}/utilities/software/UpdateSoftware.sh"
    )));
    for not in [
        "AllowAuthenticatorIPAddress",
        "BackupFromCron",
        "WebrootSyncingController",
        "GenerateBasicAuthConfig",
    ] {
        assert!(!auth.contains(not), "{not} in\n{auth}");
    }
    assert_eq!(lines.len(), 38, "{auth}");
    // The basic-auth type: its generator six times instead.
    let f2 = std::fs::read_to_string(&f)
        .unwrap()
        .replace("AUTHENTICATORTYPE:firewall", "AUTHENTICATORTYPE:basic-auth");
    std::fs::write(&f, f2).unwrap();
    assert!(run("auth-lon1-prod1-auth-1").status.success());
    let basic = std::fs::read_to_string(&tab).unwrap();
    assert_eq!(
        basic
            .matches("/basic-auth/GenerateBasicAuthConfig.sh")
            .count(),
        6,
        "{basic}"
    );
    assert!(
        !basic.contains("AcceptIPAddresses") && !basic.contains("/usr/bin/find"),
        "{basic}"
    );
    assert_eq!(basic.lines().count(), 38 - 13 + 6, "{basic}");
}
