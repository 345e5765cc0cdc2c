//! The health sweep against real sshd and HTTPS servers (tests/support/sweeplab.py): alive,
//! dropped (unreachable), not ready, HTTP 500 and IPREMOVED servers, all checked at once, and
//! the strike log reaching DOWN on the third failed sweep past the grace period.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

struct Lab {
    ns: String,
    dir: tempfile::TempDir,
}

impl Lab {
    fn up() -> Option<Lab> {
        if Command::new("ip")
            .args(["netns", "add", "adthealthprobe"])
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
        {
            skip("cannot create network namespaces here");
            return None;
        }
        let _ = Command::new("ip")
            .args(["netns", "del", "adthealthprobe"])
            .status();
        if !Path::new("/usr/sbin/sshd").exists() {
            panic!("sshd is missing: apt-get install openssh-server (.ci/run does)");
        }
        let lab = Lab {
            ns: format!("adthl{}", std::process::id()),
            dir: tempfile::tempdir().unwrap(),
        };
        let s = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sweeplab.py"))
            .args(["up", &lab.ns])
            .arg(lab.dir.path())
            .args([
                "--dead",
                "127.0.0.3",
                "--notready",
                "127.0.0.5",
                "--http500",
                "127.0.0.4",
            ])
            .status()
            .unwrap();
        assert!(s.success(), "sweep lab did not start");
        Some(lab)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sweeplab.py"))
            .args(["down", &self.ns])
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn sweep_classifies_every_server_and_counts_strikes() {
    let Some(lab) = Lab::up() else { return };
    let h = Host::new("autoscaler", free_port());
    let s = h.path(".ssh/autoscaler_configuration_settings.dat");
    let t = std::fs::read_to_string(&s)
        .unwrap()
        .replace("SSHPORT:1035", "SSHPORT:2222")
        .replace("SERVERUSER:X1234X", "SERVERUSER:root");
    std::fs::write(&s, format!("{t}ALGORITHM:ed25519\n")).unwrap();
    let key = h.path(".ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY");
    std::fs::copy(lab.dir.path().join("key"), &key).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(h.path("runtime/WEBSERVER_READY"), "").unwrap();
    std::fs::write(h.path("runtime/IPREMOVED:127.0.0.6"), "").unwrap();
    let ips = [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
    ];
    let sweep = |extra: &[&str]| {
        h.cmd("ip")
            .args(["netns", "exec", &lab.ns])
            .arg(adt_bin())
            .args(["--adt-machine=autoscaler", "health-sweep", "--timeout", "2"])
            .args(extra)
            .args(ips)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            // Kept SSH connections, as on an autoscaler (the lab's teardown ends them).
            .env("ADT_SSH_PERSIST_SECS", "300")
            .env("RUST_LOG", "debug")
            .output()
            .unwrap()
    };
    let o = sweep(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "127.0.0.2 alive\n127.0.0.3 not alive: no WEBSERVER_READY over SSH\n127.0.0.4 not alive: HTTP 500\n\
         127.0.0.5 not alive: no WEBSERVER_READY over SSH\n127.0.0.6 not alive: removed (IPREMOVED)\n"
    );
    // The live servers' SSH connections are kept for the next sweep (no key exchange then);
    // the dropped server (127.0.0.3) has none.
    assert!(h.path("runtime/ssh-mux/127.0.0.2-2222").exists());
    assert!(!h.path("runtime/ssh-mux/127.0.0.3-2222").exists());
    // Strikes count only past the 30-minute grace after a build by this autoscaler.
    std::fs::create_dir_all(h.path("runtime/protectedfromtermination")).unwrap();
    for ip in ["127.0.0.2", "127.0.0.3"] {
        let f = h.path(&format!("runtime/protectedfromtermination/{ip}"));
        std::fs::write(&f, "").unwrap();
        assert!(Command::new("touch")
            .args(["-d", "40 minutes ago"])
            .arg(&f)
            .status()
            .unwrap()
            .success());
    }
    for round in 1..=3 {
        let o = sweep(&["--record"]);
        // Over the kept connections no `ssh` process is started (the dropped server has none).
        assert!(
            !stderr(&o).contains("run ssh"),
            "round {round}: {}",
            stderr(&o)
        );
        let down = stdout(&o).contains("127.0.0.3 DOWN");
        assert_eq!(down, round == 3, "round {round}: {}", stdout(&o));
        assert!(
            !stdout(&o).contains("127.0.0.4 DOWN"),
            "no protection file: never down"
        );
    }
    assert_eq!(
        std::fs::read_to_string(h.path("runtime/POTENTIALLY_DOWN.log")).unwrap(),
        ""
    );
}
