//! GetIP's provider network priming, in adt: Exoscale's `dhclient`, Vultr's one-off private
//! interface set-up per OS (the legacy files byte for byte, under a stand-in system root), the
//! `runtime/NETCONFIGURED` marker; the system tools are stand-ins on PATH that record their
//! command lines. No legacy GetIP.sh is kept or run.

mod common;
use common::*;
use std::path::Path;

struct Case {
    h: Host,
    bin: std::path::PathBuf,
    root: std::path::PathBuf,
    log: std::path::PathBuf,
}

fn case(marker: &str, os: &str, version: &str) -> Case {
    let h = Host::new("webserver", free_port());
    h.install();
    std::fs::write(h.path(marker), "").unwrap();
    // The 2022 settings: BUILDOS and BUILDOSVERSION on lines of their own.
    let f = h.path(".ssh/webserver_configuration_settings.dat");
    let kept: String = std::fs::read_to_string(&f)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("BUILDOS:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&f, kept).unwrap();
    h.add_settings(&format!(
        "MYIP:10.7.0.5\nBUILDOS:{os}\nBUILDOSVERSION:{version}\n"
    ));
    let bin = h.dir.path().join("bin");
    let root = h.dir.path().join("root");
    std::fs::create_dir_all(&bin).unwrap();
    let log = h.dir.path().join("calls.log");
    for prog in ["dhclient", "ifup", "netplan"] {
        common::stand_in(&bin, prog, &log, Path::new("/nonexistent"), &[]);
    }
    // Interfaces as /sys/class/net shows them: lo, then two Ethernet ones.
    for (name, idx, ty, mac) in [
        ("lo", 1, 772, "00:00:00:00:00:00"),
        ("enp1s0", 2, 1, "56:00:04:aa:bb:01"),
        ("enp6s0", 3, 1, "5a:00:04:aa:bb:02"),
    ] {
        let d = root.join("sys/class/net").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("ifindex"), format!("{idx}\n")).unwrap();
        std::fs::write(d.join("type"), format!("{ty}\n")).unwrap();
        std::fs::write(d.join("address"), format!("{mac}\n")).unwrap();
    }
    Case { h, bin, root, log }
}

impl Case {
    fn get_ip(&self) -> Vec<String> {
        let _ = std::fs::remove_file(&self.log);
        let o = self
            .h
            .cmd_with(&self.bin, &format!("{U}GetIP.sh"))
            .env("ADT_SYSTEM_ROOT", &self.root)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "10.7.0.5\n");
        assert_eq!(stderr(&o), "");
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

#[test]
fn exoscale_asks_for_a_lease_every_time() {
    let c = case("EXOSCALE", "ubuntu", "22.04");
    assert_eq!(c.get_ip(), ["dhclient"]);
    assert_eq!(c.get_ip(), ["dhclient"]);
    assert!(!c.h.path("runtime/NETCONFIGURED").exists());
    assert!(!c.h.path(&format!("{U}GetIP.sh.adt-legacy")).exists());
}

#[test]
fn vultr_ubuntu_gets_its_netplan_once() {
    let c = case("VULTR", "ubuntu", "22.04");
    assert_eq!(c.get_ip(), ["netplan [apply]"]);
    assert_eq!(
        std::fs::read_to_string(c.root.join("etc/netplan/10-enp6s0.yaml")).unwrap(),
        "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    enp6s0:\n      match:\n        macaddress: 5a:00:04:aa:bb:02\n      mtu: 1200\n      dhcp4: no\n      addresses: [10.7.0.5/16]\n"
    );
    assert!(c.h.path("runtime/NETCONFIGURED").exists());
    assert!(c.get_ip().is_empty(), "configured once");
}

#[test]
fn vultr_debian_gets_its_interfaces_stanza_once() {
    for (version, iface) in [("10", "ens7"), ("11", "enp6s0")] {
        let c = case("VULTR", "debian", version);
        let etc = c.root.join("etc/network");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("interfaces"),
            "source /etc/network/interfaces.d/*\n",
        )
        .unwrap();
        assert_eq!(c.get_ip(), ["ifup [--all]"]);
        assert_eq!(
            std::fs::read_to_string(etc.join("interfaces")).unwrap(),
            format!("source /etc/network/interfaces.d/*\nauto {iface}\niface {iface} inet static\naddress 10.7.0.5\nnetmask 255.255.0.0\n            mtu 1450\n")
        );
        assert!(c.get_ip().is_empty());
    }
}

#[test]
fn other_clouds_prime_nothing() {
    for marker in ["DROPLET", "LINODE", "AWS"] {
        let c = case(marker, "ubuntu", "22.04");
        assert!(c.get_ip().is_empty(), "{marker}");
        assert!(!c.root.join("etc").exists());
    }
}
