//! `adt fleet` on the local cloud: three webservers are network namespaces running a real sshd
//! (src/cloud/local.rs); the build machine is a namespace of its own on the same hub and reaches
//! them over SSH with the fleet key. Each webserver gets a private toolkit tree (a directory
//! bind-mounted at one path inside its sshd's mount namespace), laid out with legacy scripts.
//!
//! Checked: a canary that fails stops the rollout before any other machine is touched; a
//! rollout to all three; `status` shows each machine's version and replaced paths; a command
//! runs through a launcher over SSH; uninstall restores every legacy file byte for byte, with
//! its mode. Run as `flock /work/netns.lock cargo test --test fleet` (fixed namespace names).

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BM_NS: &str = "adtship-bm";

struct World {
    cloud: adt::cloud::local::LocalCloud,
    _state: tempfile::TempDir,
}

impl Drop for World {
    fn drop(&mut self) {
        self.cloud.teardown();
        let _ = Command::new("ip").args(["netns", "del", BM_NS]).output();
    }
}

/// Every file under `dir`: path, bytes, mode.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.clone(),
                    std::fs::read(&p).unwrap(),
                    m.permissions().mode(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A webserver's legacy tree: every 2022 webserver script, each with bytes of its own.
fn legacy_tree(home: &Path, n: usize) {
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(
        home.join(".ssh/webserver_configuration_settings.dat"),
        format!("WEBSITEURL:{WEBSITE}\nSERVERUSER:root\nSSHPORT:2222\n"),
    )
    .unwrap();
    for (i, s) in adt::layout::G2022
        .scripts_for(adt::home::Machine::Webserver)
        .enumerate()
    {
        let p = home.join(s.path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            format!(
                "#!/bin/bash\n# legacy {} on ws{n}\necho legacy\n",
                s.command
            ),
        )
        .unwrap();
        let mode = if i % 3 == 0 { 0o700 } else { 0o755 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn fleet(bm: &Host, store: &Path, key: &Path, mount: &Path, args: &[&str]) -> Output {
    let mut c = bm.cmd("ip");
    c.args(["netns", "exec", BM_NS])
        .arg(adt_bin())
        .arg("fleet")
        .args(args)
        .args([
            "--machine",
            "webserver",
            "--url",
            WEBSITE,
            "--user",
            "root",
            "--port",
            "2222",
            "--key",
        ])
        .arg(key)
        .arg("--remote-home")
        .arg(mount.join("home"))
        .arg("--remote-bin")
        .arg(mount.join("bin/adt"))
        .args(["--wave", "2"])
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("ADT_DATASTORE", format!("local:{}", store.display()));
    c.output().unwrap()
}

/// Run `f` on a thread inside the build machine's network namespace (the ssh it starts runs
/// there too), with the fleet's SSH settings.
fn in_build_ns<T: Send + 'static>(
    key: &Path,
    f: impl FnOnce(adt::process::SshTarget) -> adt::Result<T> + Send + 'static,
) -> Result<T, String> {
    let key = key.to_path_buf();
    std::thread::spawn(move || {
        let ns = std::fs::File::open(format!("/run/netns/{BM_NS}")).unwrap();
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f(adt::process::SshTarget {
            user: "root".into(),
            port: 2222,
            key,
            timeout: std::time::Duration::from_secs(10),
            mux: None,
            kex_first: None,
            known_hosts: None,
        })
        .map_err(|e| e.to_string())
    })
    .join()
    .unwrap()
}

#[test]
fn canary_waves_status_and_a_byte_for_byte_uninstall_on_three_webservers() {
    if !nix::unistd::Uid::effective().is_root()
        || !Command::new("ip")
            .args(["netns", "add", "adtship-probe"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    {
        return skip("cannot create network namespaces here (root and iproute2 needed)");
    }
    let _ = Command::new("ip")
        .args(["netns", "del", "adtship-probe"])
        .status();
    // Leftovers of an interrupted run.
    let _ = Command::new("ip").args(["netns", "del", BM_NS]).output();
    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("fleet");
    assert!(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap()
        .success());
    let state = tempfile::tempdir().unwrap();
    let w = World {
        cloud: adt::cloud::local::LocalCloud {
            state: state.path().join("cloud"),
            server_home: state.path().join("srvhome"),
            ssh_port: 2222,
            authorized_key: key.with_extension("pub"),
        },
        _state: tempfile::tempdir().unwrap(),
    };
    // The webservers, each with a private tree at `mount` inside its sshd's mount namespace.
    let mount = state.path().join("srv");
    std::fs::create_dir_all(&mount).unwrap();
    let mut servers = Vec::new();
    for n in 1..=3 {
        let name = format!("ws{n}");
        let ip = w.cloud.create(&name).unwrap();
        let own = state.path().join(format!("own{n}"));
        legacy_tree(&own.join("home"), n);
        std::fs::create_dir_all(own.join("bin")).unwrap();
        std::fs::write(
            own.join("homedir.dat"),
            format!("{}\n", mount.join("home").display()),
        )
        .unwrap();
        let pid = std::fs::read_to_string(w.cloud.state.join("data").join(&name).join("sshd.pid"))
            .unwrap();
        let o = Command::new("nsenter")
            .args(["-t", pid.trim(), "-m", "mount", "--bind"])
            .arg(&own)
            .arg(&mount)
            .output()
            .unwrap();
        assert!(o.status.success(), "bind mount: {}", stderr(&o));
        servers.push((ip, own));
    }
    // The build machine: its own namespace on the hub; the datastore lists the webservers.
    adt::cloud::local::LocalCloud::attach(BM_NS, 5).unwrap();
    let store = state.path().join("store");
    let bucket = store.join(BUCKET).join("webserverpublicips");
    std::fs::create_dir_all(&bucket).unwrap();
    for (ip, _) in &servers {
        std::fs::write(bucket.join(ip.to_string()), "").unwrap();
    }
    let bm = Host::new("build", 0);
    let before: Vec<_> = servers
        .iter()
        .map(|(_, own)| tree(&own.join("home")))
        .collect();

    // 1. The canary fails (a stray GetIP.sh.adt-legacy makes layout install refuse): nothing
    //    else is touched.
    let (canary_ip, canary) = &servers[0];
    let stray = canary
        .join("home")
        .join("providerscripts/utilities/GetIP.sh.adt-legacy");
    std::fs::write(&stray, "stray\n").unwrap();
    let o = fleet(&bm, &store, &key, &mount, &["install"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}{}", stderr(&o));
    assert!(
        text.starts_with(&format!("{canary_ip:<15} canary FAILED")),
        "{text}"
    );
    assert!(text.contains("refusing to overwrite"), "{text}");
    assert!(
        text.contains(&format!("not reached: {} {}", servers[1].0, servers[2].0)),
        "{text}"
    );
    // The canary refused before changing anything: its tree is as it was (the stray aside).
    let canary_now: Vec<_> = tree(&canary.join("home"))
        .into_iter()
        .filter(|(p, _, _)| *p != stray)
        .collect();
    assert!(canary_now == before[0], "the canary was half installed");
    for (i, (_, own)) in servers.iter().enumerate().skip(1) {
        assert!(
            tree(&own.join("home")) == before[i],
            "ws{} was touched",
            i + 1
        );
        assert!(!own.join("bin/adt").exists(), "ws{} got the binary", i + 1);
    }
    assert!(!store.join(BUCKET).join("adt-fleet/webserver").exists());

    // 1b. A binary whose checksum does not match on arrival replaces nothing.
    let (ip2, own2) = (servers[1].0, servers[1].1.clone());
    let bin2 = mount.join("bin/adt");
    let pushed = in_build_ns(&key, move |ssh| {
        let r = adt::fleet::Remote {
            ssh,
            home: None,
            bin: bin2,
            password: String::new(),
        };
        adt::fleet::push_binary(ip2, &r, &adt_bin(), &"0".repeat(64))
    });
    let e = pushed.unwrap_err();
    assert!(e.contains("checksum mismatch"), "{e}");
    assert!(!own2.join("bin/adt").exists());

    // 2. With the canary fixed, all three: the binary arrives checksum-verified, launchers in
    //    place, the rollout recorded for the autoscaler.
    std::fs::remove_file(&stray).unwrap();
    let o = fleet(&bm, &store, &key, &mount, &["install"]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert_eq!(text.lines().count(), 3, "{text}");
    let version = format!("adt {}", env!("CARGO_PKG_VERSION"));
    for (ip, own) in &servers {
        assert!(text.contains(&format!("{ip:<15}")), "{text}");
        assert_eq!(
            std::fs::read(own.join("bin/adt")).unwrap(),
            std::fs::read(adt_bin()).unwrap()
        );
    }
    assert!(text.contains(&format!("ok      {version}: ")), "{text}");
    let record = std::fs::read_to_string(store.join(BUCKET).join("adt-fleet/webserver")).unwrap();
    assert!(
        record.contains(&format!("version {version}\n")) && record.contains("scripts all\n"),
        "{record}"
    );

    // 2b. The autoscaler builds a fourth webserver: it follows the record (the same binary and
    //     scripts), through the call PerformScaling makes once the new machine is healthy.
    let ip4 = w.cloud.create("ws4").unwrap();
    let own4 = state.path().join("own4");
    legacy_tree(&own4.join("home"), 4);
    std::fs::create_dir_all(own4.join("bin")).unwrap();
    let pid = std::fs::read_to_string(w.cloud.state.join("data/ws4/sshd.pid")).unwrap();
    let o = Command::new("nsenter")
        .args(["-t", pid.trim(), "-m", "mount", "--bind"])
        .arg(&own4)
        .arg(&mount)
        .output()
        .unwrap();
    assert!(o.status.success(), "bind mount: {}", stderr(&o));
    let before4 = tree(&own4.join("home"));
    let store2 = store.clone();
    let done = in_build_ns(&key, move |ssh| {
        let local = adt::datastore::local::LocalStore::new(&store2, BUCKET);
        adt::fleet::install_as_recorded(&local, &ssh, "", ip4, &adt_bin())
    });
    let done = done.unwrap().expect("a rollout to follow");
    assert!(done.starts_with(&version), "{done}");
    assert_eq!(
        std::fs::read(own4.join("bin/adt")).unwrap(),
        std::fs::read(adt_bin()).unwrap()
    );
    for s in adt::layout::G2022.scripts_for(adt::home::Machine::Webserver) {
        assert!(
            adt::layout::install::is_launcher(&own4.join("home").join(s.path)),
            "ws4 still runs the legacy {}",
            s.path
        );
    }
    w.cloud.destroy("ws4").unwrap();
    assert!(tree(&own4.join("home")) != before4);

    // 3. Status: version and replaced paths per machine.
    let o = fleet(&bm, &store, &key, &mount, &["status"]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    let n = adt::layout::G2022
        .scripts_for(adt::home::Machine::Webserver)
        .count();
    for (ip, _) in &servers {
        let l = text
            .lines()
            .find(|l| l.starts_with(&ip.to_string()))
            .unwrap();
        assert!(
            l.contains(&version) && l.contains(&format!("{n} replaced: ")),
            "{l}"
        );
        assert!(l.contains("ExtractConfigValue"), "{l}");
    }

    // 4. A command through a launcher on a webserver, over SSH as legacy callers run it.
    let launcher = mount
        .join("home")
        .join("providerscripts/utilities/ExtractConfigValue.sh");
    let o = bm
        .cmd("ip")
        .args(["netns", "exec", BM_NS, "ssh", "-p", "2222", "-i"])
        .arg(&key)
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
        ])
        .arg(format!("root@{}", servers[1].0))
        .arg(format!(
            "ADT_HOMEDIR_FILE={} {} WEBSITEURL",
            mount.join("homedir.dat").display(),
            launcher.display()
        ))
        .output()
        .unwrap();
    assert_eq!(stdout(&o), format!("{WEBSITE}\n"), "{}", stderr(&o));

    // 5. Uninstall: every legacy file back, byte for byte, with its mode.
    let o = fleet(&bm, &store, &key, &mount, &["uninstall"]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(
        text.contains(&format!("{n} legacy scripts restored, 0 launchers removed")),
        "{text}"
    );
    for (i, (_, own)) in servers.iter().enumerate() {
        let after = tree(&own.join("home"));
        assert!(
            after == before[i],
            "ws{}: {:?}",
            i + 1,
            after.iter().map(|x| &x.0).collect::<Vec<_>>()
        );
    }
    let record = std::fs::read_to_string(store.join(BUCKET).join("adt-fleet/webserver")).unwrap();
    assert!(record.contains("scripts none\n"), "{record}");
}
