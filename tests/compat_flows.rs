//! Legacy shell flows (compat/flows) driven through our launchers installed at the 2022 paths,
//! compared line for line with the same flows run against the reference model of the legacy
//! wrappers (compat/reference-2022: bash + s3cmd) on the same kind of real S3 server.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Transfer statistics are timing; everything else must match byte for byte.
fn normalize(text: &str, host: &Host) -> String {
    let re = regex_lite::Regex::new(r"\((\d+) bytes in [0-9.]+ seconds, -?[0-9.]+ [KMGT]?B/s\)")
        .unwrap();
    re.replace_all(text, "($1 bytes)")
        .replace(&host.dir.path().display().to_string(), "<DIR>")
}

fn run_flow(flow: &str, machine: &'static str, reference: bool) -> (String, String, Host) {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let host = Host::new(machine, server.port);
    host.install();
    let mut cmd = host.cmd("/bin/sh");
    cmd.arg(repo(&format!("compat/flows/{flow}")))
        .env("REF_MACHINE", machine)
        .current_dir(&host.home);
    if reference {
        cmd.env("WRAP", repo("compat/reference-2022"))
            .env("UTIL", repo("compat/reference-2022"));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "flow {flow} failed: {}", stderr(&out));
    (normalize(&stdout(&out), &host), stderr(&out), host)
}

#[test]
fn datastore_flow_matches_the_legacy_model() {
    let (ours, ours_err, _h1) = run_flow("datastore.sh", "webserver", false);
    let (legacy, _, _h2) = run_flow("datastore.sh", "webserver", true);
    // Real outcomes, asserted directly, so that two empty transcripts cannot pass.
    for want in [
        "peer 10.0.0.5\npeer 10.0.0.50\n",
        "words 2\n",
        "first 10.0.0.5\n",
        "dbprefix DBPREFIX:abc value abc\n",
        "no database yet\n",
        "installed\nno credentials yet\n",
        "prefix 1 dir 1 glob 1\n",
        "partial 1\n",
        "empty 0 absent 0\n",
        "db appdb user appuser pw-length 9\n",
        "credentials present\n",
        "profile NO_WEBSERVERS=3\n",
        "copy identical\n",
        "misc intmp.txt\nmisc relative.txt\n",
        "intmp from-tmp\n",
        "after [10.0.0.50]\n",
        "check-after 1\n",
        "upload: '<DIR>/tmp/webserverips/10.0.0.5' -> 's3://wwwexacom-config/webserverips/10.0.0.5' (0 bytes) [1 of 1]\n",
        "delete: 's3://wwwexacom-config/webserverips/10.0.0.5'\nrc 0\n",
    ] {
        assert!(ours.contains(want), "missing {want:?} in:\n{ours}\nstderr:\n{ours_err}");
    }
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
fn reader_flow_matches_the_legacy_model() {
    let (ours, _, h1) = run_flow("readers.sh", "database", false);
    let (legacy, _, _h2) = run_flow("readers.sh", "database", true);
    for want in [
        "url www.example.com\n",
        "os [20.04] missing [] empty []\n",
        "values [BUILDOS:ubuntu:20.04] rc 0\n",
        "stripped [ubuntu 20.04]\n",
        "rc 1\n",
        "production\n",
        "substring 1 regex 1 empty 0\n",
        "style 1 not 0 blank 1\n",
        "stored 192.0.2.7 port 2222\n",
        "SSHPORT:2222\n",
        "FLAGONLY\n",
    ] {
        assert!(ours.contains(want), "missing {want:?} in:\n{ours}");
    }
    assert_eq!(ours, legacy);
    // The settings file keeps its mode through StoreConfigValue.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(h1.path(".ssh/database_configuration_settings.dat"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

/// The same flow on the embedded local backend gives the same transcript as on S3 (same
/// semantics), apart from the backend's own description in nothing that callers parse.
#[test]
fn local_backend_has_the_same_semantics() {
    let (on_s3, _, _h) = run_flow("datastore.sh", "webserver", false);
    let dir = tempfile::tempdir().unwrap();
    let host = Host::new("webserver", free_port());
    host.install();
    std::fs::create_dir_all(host.path(".adt-rs")).unwrap();
    std::fs::write(
        host.path(".adt-rs/datastore"),
        format!("backend = local\nroot = {}\n", dir.path().display()),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join(BUCKET)).unwrap();
    let out = host
        .cmd("/bin/sh")
        .arg(repo("compat/flows/datastore.sh"))
        .current_dir(&host.home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(normalize(&stdout(&out), &host), on_s3);
    // The bucket directory holds the objects under their keys.
    assert!(dir
        .path()
        .join(BUCKET)
        .join("webserverips/10.0.0.50")
        .is_file());
    assert_eq!(
        std::fs::read(dir.path().join(BUCKET).join("credentials/shit")).unwrap(),
        b"appdb\ns3cr3t-pw\nappuser\n"
    );
}
