//! The layout installer: launchers at the legacy paths, legacy scripts kept beside them and
//! restored on uninstall; launchers work executed, as `/bin/sh path.sh`, and with cron's PATH.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn install_use_uninstall_restores_the_legacy_scripts() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let host = Host::new("webserver", server.port);
    // A legacy tree: every script the installer will replace, plus one it must not touch.
    let legacy: Vec<(String, String)> = [
        format!("{W}PutToConfigDatastore.sh"),
        format!("{W}ListFromConfigDatastore.sh"),
        format!("{U}ExtractConfigValue.sh"),
        format!("{U}SomethingElse.sh"),
    ]
    .into_iter()
    .map(|p| {
        let body = format!("#!/bin/sh\n# legacy {p}\necho legacy\n");
        std::fs::create_dir_all(host.path(&p).parent().unwrap()).unwrap();
        std::fs::write(host.path(&p), &body).unwrap();
        std::fs::set_permissions(host.path(&p), std::fs::Permissions::from_mode(0o750)).unwrap();
        (p, body)
    })
    .collect();

    host.install();
    for (p, body) in &legacy[..3] {
        let kept = host.path(&format!("{p}.adt-legacy"));
        assert_eq!(
            std::fs::read_to_string(&kept).unwrap(),
            *body,
            "{p} kept beside"
        );
        let launcher = std::fs::read_to_string(host.path(p)).unwrap();
        assert!(
            launcher.starts_with("#!/bin/sh\n# adt-rs launcher"),
            "{launcher}"
        );
        assert_eq!(mode(&host.path(p)), 0o755);
    }
    assert_eq!(
        std::fs::read_to_string(host.path(&legacy[3].0)).unwrap(),
        legacy[3].1
    );
    // Scripts the webserver had no legacy copy of are installed too.
    assert!(host.path(&format!("{W}GetDBCredential.sh")).is_file());
    // Not a webserver script: not installed.
    assert!(!host
        .path(&format!("{U}StoreConfigValueWebserver.sh"))
        .exists());

    // Use: executed, and through /bin/sh, with cron's bare PATH (the binary is not on it).
    let put = host.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &["webserverips/10.1.1.1", "webserverips/10.1.1.1"],
    );
    assert!(put.status.success(), "{}", stderr(&put));
    let ls = host.sh(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&ls), "10.1.1.1\n", "{}", stderr(&ls));
    let v = host.exec(&format!("{U}ExtractConfigValue.sh"), &["SSHPORT"]);
    assert_eq!(stdout(&v), "1035\n");

    // A second install is idempotent: backups untouched, launchers rewritten.
    host.install();
    assert_eq!(
        std::fs::read_to_string(host.path(&format!("{}.adt-legacy", legacy[0].0))).unwrap(),
        legacy[0].1
    );

    // Uninstall: legacy scripts back, byte for byte and mode for mode; launchers gone.
    let out = Command::new(adt_bin())
        .args(["layout", "uninstall", "--home"])
        .arg(&host.home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for (p, body) in &legacy {
        assert_eq!(std::fs::read_to_string(host.path(p)).unwrap(), *body);
        assert_eq!(mode(&host.path(p)), 0o750);
        assert!(!host.path(&format!("{p}.adt-legacy")).exists());
    }
    assert!(!host.path(&format!("{W}GetDBCredential.sh")).exists());
    let again = host.sh(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&again), "legacy\n");
}

#[test]
fn a_named_subset_can_be_replaced_and_rolled_back() {
    let host = Host::new("autoscaler", free_port());
    let p = format!("{W}CheckConfigDatastore.sh");
    std::fs::create_dir_all(host.path(W)).unwrap();
    std::fs::write(host.path(&p), "#!/bin/sh\necho legacy-check\n").unwrap();
    let out = Command::new(adt_bin())
        .args(["layout", "install", "--home"])
        .arg(&host.home)
        .args([
            "--machine",
            "autoscaler",
            "ExtractConfigValue",
            "CheckConfigDatastore.sh",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(host.path(&format!("{U}ExtractConfigValue.sh")).is_file());
    assert!(!host.path(&format!("{W}PutToConfigDatastore.sh")).exists());
    assert!(std::fs::read_to_string(host.path(&p))
        .unwrap()
        .contains("adt-rs launcher"));
    // A script the machine type never had is refused, nothing written.
    let bad = Command::new(adt_bin())
        .args(["layout", "install", "--home"])
        .arg(&host.home)
        .args(["--machine", "autoscaler", "GetDBCredential"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("not one of the autoscaler scripts"),
        "{}",
        stderr(&bad)
    );
    let out = Command::new(adt_bin())
        .args(["layout", "uninstall", "--home"])
        .arg(&host.home)
        .arg("CheckConfigDatastore")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(host.path(&p)).unwrap(),
        "#!/bin/sh\necho legacy-check\n"
    );
    // The other launcher stays until it is named or everything is uninstalled.
    assert!(
        std::fs::read_to_string(host.path(&format!("{U}ExtractConfigValue.sh")))
            .unwrap()
            .contains("adt-rs launcher")
    );
}

#[test]
fn the_binary_answers_to_script_names_and_subcommands() {
    let host = Host::new("webserver", free_port());
    // Multicall by argv[0]: a link named like the legacy script.
    let link = host.dir.path().join("ExtractConfigValue.sh");
    std::os::unix::fs::symlink(adt_bin(), &link).unwrap();
    let a = host.cmd(&link).arg("WEBSITEURL").output().unwrap();
    assert_eq!(stdout(&a), "www.example.com\n");
    let b = host
        .cmd(adt_bin())
        .args(["ExtractConfigValue", "WEBSITEURL"])
        .output()
        .unwrap();
    assert_eq!(stdout(&b), "www.example.com\n");
    let help = host.cmd(adt_bin()).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(stdout(&help).contains("PutToConfigDatastore"));
    let unknown = host.cmd(adt_bin()).arg("NoSuchScript").output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown command"));
}

/// The repository's legacy trees are what `adt layout render` writes (kept in sync).
#[test]
fn repository_launcher_tree_is_current() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(adt_bin())
        .args(["layout", "render"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for line in stdout(&out).lines() {
        let written = Path::new(line.strip_prefix("wrote ").unwrap());
        let rel = written.strip_prefix(dir.path()).unwrap();
        let committed = std::fs::read_to_string(root.join(rel))
            .unwrap_or_else(|_| panic!("{} missing: run `adt layout render .`", rel.display()));
        assert_eq!(
            committed,
            std::fs::read_to_string(written).unwrap(),
            "{} is stale",
            rel.display()
        );
        assert_eq!(
            mode(&root.join(rel)) & 0o111,
            0o111,
            "{} not executable",
            rel.display()
        );
        n += 1;
    }
    assert!(n >= 16, "only {n} launchers rendered");
}

/// The repository's launchers find a built binary relative to the checkout, with no PATH.
#[test]
fn repository_launchers_run_from_the_checkout() {
    let host = Host::new("webserver", free_port());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = host
        .cmd("/bin/sh")
        .arg(root.join(format!("{U}ExtractConfigValue.sh")))
        .arg("SSHPORT")
        .env("ADT_BIN", adt_bin())
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "1035\n", "{}", stderr(&out));
    let missing = host
        .cmd("/bin/sh")
        .arg(root.join(format!("{U}ExtractConfigValue.sh")))
        .arg("SSHPORT")
        .env("ADT_BIN", "/nonexistent/adt")
        .current_dir("/")
        .output()
        .unwrap();
    // Falls back to the checkout's target/ build (present while tests run).
    assert_eq!(stdout(&missing), "1035\n", "{}", stderr(&missing));
}

/// compat/map-<generation>.tsv is the installer's own table.
#[test]
fn compat_maps_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for gen in ["2022", "2025"] {
        let out = Command::new(adt_bin())
            .args(["layout", "map", "--generation", gen])
            .output()
            .unwrap();
        assert!(out.status.success());
        let committed =
            std::fs::read_to_string(root.join(format!("compat/map-{gen}.tsv"))).unwrap();
        assert_eq!(
            committed,
            stdout(&out),
            "compat/map-{gen}.tsv is stale: adt layout map --generation {gen}"
        );
        assert!(committed.lines().count() > 4);
    }
}

/// The newer generation is a profile: settings under runtime/, readers under utilities/config/,
/// everything after the first colon, StoreConfigValue a no-op without a settings file.
#[test]
fn generation_2025_readers_through_launchers() {
    let host = Host::new("webserver", free_port());
    std::fs::write(
        host.path("runtime/webserver_configuration_settings.dat"),
        "WEBSITEURL:www.example.com\nBUILDOS:ubuntu:24.04\nSSHPORT:1035\n",
    )
    .unwrap();
    std::fs::write(host.path("runtime/buildstyles.dat"), "NGINX:source\n").unwrap();
    let out = Command::new(adt_bin())
        .args([
            "layout",
            "install",
            "--generation",
            "2025",
            "--machine",
            "webserver",
            "--home",
        ])
        .arg(&host.home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = host.exec("utilities/config/ExtractConfigValue.sh", &["BUILDOS"]);
    assert_eq!(stdout(&v), "ubuntu:24.04\n");
    let c = host.exec("utilities/config/CheckBuildStyle.sh", &["NGINX:source"]);
    assert_eq!(stdout(&c), "1\n");
    let s = host.exec("utilities/config/StoreConfigValue.sh", &["SSHPORT", "2222"]);
    assert!(s.status.success());
    let v = host.exec("utilities/config/ExtractConfigValue.sh", &["SSHPORT"]);
    assert_eq!(stdout(&v), "2222\n");
    // No settings file: nothing is created.
    std::fs::remove_file(host.path("runtime/webserver_configuration_settings.dat")).unwrap();
    let s = host.exec("utilities/config/StoreConfigValue.sh", &["SSHPORT", "2"]);
    assert!(s.status.success());
    assert!(!host
        .path("runtime/webserver_configuration_settings.dat")
        .exists());
    // The 2022 tree was not touched.
    assert!(!host.path(&format!("{U}ExtractConfigValue.sh")).exists());
}
