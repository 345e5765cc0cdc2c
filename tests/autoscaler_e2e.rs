//! The autoscaler end to end on the local cloud: servers are network namespaces running a real
//! sshd and HTTPS server; the datastore is a real s3s-fs in a namespace on the same hub; DNS is a
//! real dnsmasq queried with dig. Two autoscalers (two HOMEs, two namespaces) share them.

mod common;
use common::fleet::*;
use common::*;
use std::path::Path;
use std::process::{Child, Command, Output};

fn autoscaler_home(n: u8, key: &Path) -> Host {
    fleet_home(
        "autoscaler",
        &format!("CLOUDHOST:local\nDNSCHOICE:local\nBUILDIDENTIFIER:e2e\nALGORITHM:ed25519\nNUMBERWS:2\nMYIP:10.78.0.{}\n", 9 + n),
        Some(key),
    )
}

fn run_in(h: &Host, ns: &str, w: &World, script: &str, args: &[&str]) -> Output {
    w.run_in(h, ns, script, args)
}

fn start_in(h: &Host, ns: &str, w: &World, script: &str, args: &[&str]) -> Child {
    w.start_in(h, ns, script, args)
}

#[test]
fn scale_heal_and_shrink_on_the_local_cloud() {
    let Some(mut w) = World::start("adte2e") else {
        return;
    };
    // Two autoscalers, one fleet key.
    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("fleet");
    assert!(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap()
        .success());
    let as1 = autoscaler_home(1, &key);
    let as2 = autoscaler_home(2, &key);
    for (n, ns) in [(10u8, "adte2e-as1"), (11, "adte2e-as2")] {
        w.attach(ns, n);
    }
    let put = run_in(
        &as1,
        "adte2e-as1",
        &w,
        &format!("{W}PutToConfigDatastore.sh"),
        &["INSTALLEDSUCCESSFULLY"],
    );
    assert!(put.status.success(), "{}", stderr(&put));
    let ms = run_in(
        &as1,
        "adte2e-as1",
        &w,
        "providerscripts/utilities/ManuallyScale.sh",
        &["3"],
    );
    assert_eq!(
        stdout(&ms),
        "Number of webservers is now successfully set to 3\n",
        "{}",
        stderr(&ms)
    );

    let dry = run_in(
        &as1,
        "adte2e-as1",
        &w,
        "autoscaler/PerformScaling.sh",
        &["--dry-run"],
    );
    assert_eq!(
        stdout(&dry),
        "wanted 3 have 0\nbuild 3\n",
        "{}",
        stderr(&dry)
    );

    // Two autoscalers at once: the lock object lets one build; no double build.
    let a = start_in(&as1, "adte2e-as1", &w, "cron/AutoscaleFromCron.sh", &[]);
    let b = start_in(&as2, "adte2e-as2", &w, "cron/AutoscaleFromCron.sh", &[]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let logs = || {
        [&as1, &as2]
            .iter()
            .map(|h| {
                // logs/scaling-events-<date>/ScalingEventsLog.log, as legacy.
                std::fs::read_dir(h.path("logs"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with("scaling-events-")
                    })
                    .map(|e| {
                        std::fs::read_to_string(e.path().join("ScalingEventsLog.log"))
                            .unwrap_or_default()
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    assert!(
        a.status.success() && b.status.success(),
        "{} / {}\n{}",
        stderr(&a),
        stderr(&b),
        logs()
    );
    w.assert_dns_matches_cloud(3);
    // A second run changes nothing.
    let again = run_in(
        &as2,
        "adte2e-as2",
        &w,
        "autoscaler/PerformScaling.sh",
        &["--dry-run"],
    );
    assert_eq!(stdout(&again), "wanted 3 have 3\n");

    // Which autoscaler built them keeps their bookkeeping.
    let builder = if as1
        .path("runtime/protectedfromtermination")
        .read_dir()
        .map(|d| d.count())
        .unwrap_or(0)
        == 3
    {
        &as1
    } else {
        &as2
    };
    let builder_ns = if std::ptr::eq(builder, &as1) {
        "adte2e-as1"
    } else {
        "adte2e-as2"
    };
    assert_eq!(
        builder
            .path("runtime/protectedfromtermination")
            .read_dir()
            .unwrap()
            .count(),
        3
    );

    // A webserver's web service stops: strikes after the grace period, then it is taken out.
    let (victim, victim_ip) = w.servers()[1].clone();
    w.cloud().stop_web(&victim).unwrap();
    let prot = builder.path(&format!("runtime/protectedfromtermination/{victim_ip}"));
    assert!(Command::new("touch")
        .args(["-d", "40 minutes ago"])
        .arg(&prot)
        .status()
        .unwrap()
        .success());
    for round in 1..=3 {
        let o = run_in(builder, builder_ns, &w, "cron/DeadOrAliveFromCron.sh", &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let downs = stdout(&run_in(
            builder,
            builder_ns,
            &w,
            "autoscaler/GetDNSIPs.sh",
            &[],
        ));
        assert_eq!(
            downs.contains(&victim_ip.to_string()),
            round < 3,
            "round {round}: {downs}"
        );
    }
    assert!(!w.servers().iter().any(|(n, _)| *n == victim), "destroyed");
    w.assert_shut_down_then_destroyed(&victim);
    w.assert_dns_matches_cloud(2);
    // The next scaling run replaces it.
    let o = run_in(&as1, "adte2e-as1", &w, "cron/AutoscaleFromCron.sh", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    w.assert_dns_matches_cloud(3);

    // Scale down to 2: one out of DNS and destroyed.
    let ms = run_in(
        &as2,
        "adte2e-as2",
        &w,
        "providerscripts/utilities/ManuallyScale.sh",
        &["2"],
    );
    assert!(ms.status.success());
    let dry = run_in(
        &as2,
        "adte2e-as2",
        &w,
        "autoscaler/PerformScaling.sh",
        &["--dry-run"],
    );
    assert!(
        stdout(&dry).starts_with("wanted 2 have 3\ndestroy webserver-"),
        "{}",
        stdout(&dry)
    );
    let before = w.servers();
    let o = run_in(&as2, "adte2e-as2", &w, "autoscaler/PerformScaling.sh", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    w.assert_dns_matches_cloud(2);
    let after = w.servers();
    let gone: Vec<_> = before.iter().filter(|s| !after.contains(s)).collect();
    assert_eq!(gone.len(), 1, "{before:?} -> {after:?}");
    w.assert_shut_down_then_destroyed(&gone[0].0);
    // A record for a machine that is not one of our webservers is purged; ours stay.
    let add = run_in(
        &as1,
        "adte2e-as1",
        &w,
        "autoscaler/AddIPToDNS.sh",
        &["10.78.0.240"],
    );
    assert!(add.status.success(), "{}", stderr(&add));
    assert_eq!(w.dig().len(), 3);
    let p = run_in(
        &as1,
        "adte2e-as1",
        &w,
        "autoscaler/PurgeDetachedIPs.sh",
        &[],
    );
    assert_eq!(
        stdout(&p),
        "removed detached 10.78.0.240 from DNS\n",
        "{}",
        stderr(&p)
    );
    w.assert_dns_matches_cloud(2);
    // The datastore's webserver markers follow the fleet.
    let l = run_in(
        &as1,
        "adte2e-as1",
        &w,
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    let mut listed: Vec<String> = stdout(&l).lines().map(str::to_string).collect();
    listed.sort();
    let mut ips: Vec<String> = w.servers().iter().map(|(_, ip)| ip.to_string()).collect();
    ips.sort();
    assert_eq!(listed, ips);
}
