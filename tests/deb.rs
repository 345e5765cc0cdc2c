//! The Debian package, for real: `scripts/build-deb` builds it (dev profile, for speed), its
//! contents are checked, `dpkg -i` installs it on this machine, a toolkit HOME is laid out with
//! the packaged binary and a command runs through a launcher; removal is refused while the
//! launchers run /usr/bin/adt and names the HOME; then it is purged. Root only, and only where
//! no `adt` package is installed already (the machine is left as it was: a guard purges the
//! package even when the test fails).

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn dpkg_installed(pkg: &str) -> bool {
    let o = run(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]));
    String::from_utf8_lossy(&o.stdout).contains("install ok installed")
}

/// Purges the package when dropped, whatever happened.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        if dpkg_installed("adt") || Path::new("/usr/bin/adt").exists() {
            let _ = Command::new("dpkg")
                .args(["--purge", "adt"])
                .env("ADT_FORCE_REMOVE", "1")
                .output();
        }
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_package_installs_runs_refuses_removal_while_in_use_and_purges() {
    if !nix::unistd::Uid::effective().is_root() {
        return skip("the package test needs root (dpkg -i)");
    }
    if Command::new("cargo-deb").arg("--version").output().is_err()
        && !Path::new(&format!(
            "{}/.cargo/bin/cargo-deb",
            std::env::var("HOME").unwrap_or_default()
        ))
        .exists()
    {
        return skip("cargo-deb is not installed (cargo install --locked cargo-deb@3.8.0)");
    }
    if dpkg_installed("adt")
        || Path::new("/usr/bin/adt").exists()
        || Path::new("/var/lib/adt").exists()
    {
        return skip(
            "an adt package (or /usr/bin/adt, /var/lib/adt) is here already; not touching it",
        );
    }
    let out = tempfile::tempdir().unwrap();
    let o = run(
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-deb"))
            .arg(out.path())
            .env("ADT_DEB_PROFILE", "dev"),
    );
    assert!(o.status.success(), "build-deb: {}", stderr(&o));
    let deb = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a .deb");

    // Its contents: the binary, a man page for adt and for each subcommand, completions, the guide.
    let listing = stdout(&run(Command::new("dpkg-deb").arg("-c").arg(&deb)));
    for want in [
        "./usr/bin/adt",
        "./usr/share/man/man1/adt.1.gz",
        "./usr/share/man/man1/adt-doctor.1.gz",
        "./usr/share/man/man1/adt-fleet.1.gz",
        "./usr/share/man/man1/adt-layout-install.1.gz",
        "./usr/share/man/man1/adt-PutToConfigDatastore.1.gz",
        "./usr/share/bash-completion/completions/adt",
        "./usr/share/zsh/vendor-completions/_adt",
        "./usr/share/fish/vendor_completions.d/adt.fish",
        "./usr/share/doc/adt/MIGRATION.md",
    ] {
        assert!(
            listing.contains(want),
            "{want} missing from the package:\n{listing}"
        );
    }
    for c in adt::commands::REGISTRY {
        let page = format!("./usr/share/man/man1/adt-{}.1.gz", c.name);
        assert!(listing.contains(&page), "no man page for {}", c.name);
    }

    let _purge = Purge;
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("webserver", server.port);
    let before = snapshot(&h.home);
    let o = run(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(o.status.success(), "dpkg -i: {}", stderr(&o));
    assert!(
        snapshot(&h.home) == before,
        "installing the package changed a toolkit HOME"
    );
    let o = run(Command::new("/usr/bin/adt").arg("--version"));
    assert_eq!(stdout(&o), format!("adt {}\n", env!("CARGO_PKG_VERSION")));
    assert!(Path::new("/var/lib/adt").is_dir());

    // A HOME with the packaged binary behind its launchers; a command through a launcher.
    let o = run(Command::new("/usr/bin/adt")
        .args(["layout", "install", "--home"])
        .arg(&h.home)
        .args(["--machine", "webserver"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let registry = std::fs::read_to_string("/var/lib/adt/homes").unwrap();
    assert!(
        registry.lines().any(|l| Path::new(l) == h.home),
        "{registry}"
    );
    let o = h.exec(&format!("{U}ExtractConfigValue.sh"), &["WEBSITEURL"]);
    assert_eq!(stdout(&o), format!("{WEBSITE}\n"), "{}", stderr(&o));
    std::fs::write(h.tmp.join("note"), "hello\n").unwrap();
    let o = h.exec(&format!("{W}PutToConfigDatastore.sh"), &["note"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read(&server.root.path().join(BUCKET).join("note")).unwrap(),
        b"hello\n"
    );

    // Removal refused while the launchers run /usr/bin/adt, naming the HOME.
    let o = run(Command::new("dpkg").args(["-r", "adt"]));
    assert!(
        !o.status.success(),
        "dpkg -r went through with launchers in place"
    );
    let err = stderr(&o) + &stdout(&o);
    assert!(err.contains(&h.home.display().to_string()), "{err}");
    assert!(err.contains("adt layout uninstall --home"), "{err}");
    assert!(Path::new("/usr/bin/adt").exists());

    // Forced, it goes; reinstalled, the launchers work again.
    let o = run(Command::new("dpkg")
        .args(["-r", "adt"])
        .env("ADT_FORCE_REMOVE", "1"));
    assert!(o.status.success(), "forced removal: {}", stderr(&o));
    assert!(!Path::new("/usr/bin/adt").exists());
    let o = run(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = h.exec(&format!("{U}ExtractConfigValue.sh"), &["WEBSITEURL"]);
    assert_eq!(stdout(&o), format!("{WEBSITE}\n"));

    // Uninstalled, the package purges cleanly, and the HOME is as before the launchers.
    let o = run(Command::new("/usr/bin/adt")
        .args(["layout", "uninstall", "--home"])
        .arg(&h.home));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(Command::new("dpkg").args(["--purge", "adt"]));
    assert!(o.status.success(), "purge: {}", stderr(&o));
    assert!(!Path::new("/usr/bin/adt").exists());
    assert!(!Path::new("/var/lib/adt").exists());
    assert!(!dpkg_installed("adt"));
    let after: Vec<_> = snapshot(&h.home)
        .into_iter()
        // What the commands themselves wrote (the Put's APP_CONFIG_UPDATED marker).
        .filter(|(p, _)| {
            !p.starts_with(h.home.join(".adt-rs")) && !p.starts_with(h.home.join("runtime"))
        })
        .collect();
    assert!(
        after == before,
        "uninstall left the HOME changed: {:?}",
        after.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
}
