//! The build machine's access list with real packets: a build machine namespace running
//! TightenBuildMachineFirewall with real iptables, laptops on a bridge, s3s-fs in the hub.
//! Addresses are added and removed with AllowLaptopIP (answers on stdin, as an operator types
//! them); a bad line opens nothing. Run as `flock /work/netns.lock cargo test --test access_netns`.

mod common;
mod netlab;
use common::*;
use netlab::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const NET: &str = "10.79.1";
// Both tests use the same addresses, each on a bridge of its own (the subnet lives only
// inside each test's namespaces).
const LIST: &str = "authip-acme1/authorised-ips.dat";
const EVENT: &str = "authip-acme1/FIREWALL-EVENT";

#[test]
fn iptables_addresses_are_added_and_removed_and_a_bad_line_opens_nothing() {
    access_list("iptables", "mdbi");
}

#[test]
fn ufw_addresses_are_added_and_removed_and_a_bad_line_opens_nothing() {
    access_list("ufw", "mdbu");
}

fn access_list(tool: &str, prefix: &str) {
    let Some(mut lab) = Lab::new(prefix, NET) else {
        return;
    };
    let bm_ns = lab.host("bm", 10);
    if tool == "ufw" {
        lab.private_ufw(&bm_ns);
    }
    let laptop = lab.host("lap", 20);
    let colleague = lab.host("col", 30);
    let stranger = lab.host("str", 40);
    let s3_root = tempfile::tempdir().unwrap();
    lab.start_s3(s3_root.path(), &bm_ns);
    let mut l = Command::new("ip");
    l.args([
        "netns", "exec", &bm_ns, "python3", "-c", LISTENER, "1035", "8080",
    ]);
    lab.spawn(&mut l);
    std::thread::sleep(std::time::Duration::from_millis(400));

    // The build machine: BUILD_HOME with launchers, its s3cfg pointing at the hub.
    let bm = Host::new("build", 9000);
    s3cfg(&bm.path(".s3cfg"), NET);
    bm.install();
    std::fs::create_dir_all(bm.path("buildconfiguration/linode/acme1")).unwrap();
    std::fs::create_dir_all(bm.path("runtimedata")).unwrap();
    std::fs::write(bm.path(&format!("runtimedata/LAPTOPIP:{NET}.20")), "").unwrap();
    // The cloud (CLOUDHOST linode): a recording linode-cli stand-in whose listings hold the
    // build machine's firewall and the build machine by its address in the namespace.
    let bin = bm.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cloud_log = bm.dir.path().join("linode-cli.log");
    stand_in(
        &bin,
        "linode-cli",
        &cloud_log,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/native"),
        &[
            (
                "'--json firewalls list --all-rows'",
                "bm-linode-firewalls.json",
            ),
            (
                "'--json firewalls devices-list 88 --all-rows'",
                "bm-linode-devices.json",
            ),
            ("'--json linodes list --all-rows'", "bm-linode-linodes.json"),
        ],
    );
    // The addresses of the native firewall's last rules update, and whether the build
    // machine (only) was attached.
    let native = || -> (Vec<String>, Vec<String>) {
        let log = std::fs::read_to_string(&cloud_log).unwrap_or_default();
        let _ = std::fs::remove_file(&cloud_log);
        let update = log
            .lines()
            .rfind(|l| l.contains("[rules-update]"))
            .unwrap_or_else(|| panic!("no rules update: {log}"));
        let mut ips: Vec<String> = update
            .split('"')
            .filter(|w| w.ends_with("/32"))
            .map(String::from)
            .collect();
        ips.sort();
        let attached = log
            .lines()
            .filter(|l| l.contains("[device-create]"))
            .map(String::from)
            .collect();
        (ips, attached)
    };

    let allow = |ip: &str, mode: &str| -> Output {
        let mut c = bm
            .cmd("ip")
            .args(["netns", "exec", &bm_ns])
            .arg(bm.path("helperscripts/AllowLaptopIP.sh"))
            .current_dir(bm.path("helperscripts"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("3\nacme1\n{ip}\n{mode}\n").as_bytes())
            .unwrap();
        c.wait_with_output().unwrap()
    };
    let tighten_run = || -> Output {
        bm.cmd("ip")
            .args(["netns", "exec", &bm_ns])
            .arg(bm.path("providerscripts/security/firewall/TightenBuildMachineFirewall.sh"))
            .args([
                "acme1",
                bm.home.to_str().unwrap(),
                "1035",
                "linode",
                "linode",
            ])
            .env("ADT_FIREWALL", tool)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("ADT_CRONTAB_FILE", bm.dir.path().join("crontab"))
            .output()
            .unwrap()
    };
    let tighten = || -> Output {
        let o = tighten_run();
        assert!(o.status.success(), "tighten: {}", stderr(&o));
        o
    };
    let file = |k: &str| std::fs::read_to_string(s3_root.path().join(k)).ok();
    let target = format!("{NET}.10");
    let reach = |from: &str| lab.can_connect(from, &target, 1035);

    // An operator allows a colleague's address.
    let o = allow(&format!("{NET}.30"), "1");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("Which Cloudhost are you using? 1) Digital Ocean"),
        "{out}"
    );
    assert!(
        out.contains("You have these builds to choose from: \nacme1\n"),
        "{out}"
    );
    assert!(
        out.contains("Couldn't find existing authorised ip addresses\n"),
        "{out}"
    );
    assert_eq!(file(LIST).as_deref(), Some(format!("{NET}.30\n").as_str()));
    assert!(file(EVENT).is_some());

    // The cloud refuses (its API down): the machine's firewall is applied, the event kept, so
    // the next minute tries again.
    let cli = bin.join("linode-cli");
    let working = std::fs::read(&cli).unwrap();
    std::fs::write(&cli, "#!/bin/sh\necho 'Request failed: 503' >&2\nexit 1\n").unwrap();
    let o = tighten_run();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("FIREWALL-EVENT is kept, so the next run tries again"),
        "{}",
        stderr(&o)
    );
    assert!(
        file(EVENT).is_some(),
        "the event is kept when the cloud fails"
    );
    std::fs::write(&cli, working).unwrap();

    // The next minute: the laptop the build ran from and the colleague get in; nobody else.
    let o = tighten();
    let tab = std::fs::read_to_string(bm.dir.path().join("crontab")).unwrap();
    assert_eq!(
        tab,
        format!(
            "*/1 * * * * {h}/providerscripts/security/firewall/TightenBuildMachineFirewall.sh acme1 {h} 1035 linode linode\n",
            h = bm.home.display()
        ),
        "the script's own crontab line"
    );
    assert!(file(EVENT).is_none(), "the event is spent");
    assert_eq!(
        file(LIST).as_deref(),
        Some(format!("{NET}.20\n{NET}.30\n").as_str()),
        "the laptop is on the list: {}",
        stderr(&o)
    );
    assert!(
        reach(&laptop) && reach(&colleague),
        "allowed addresses reach SSH"
    );
    assert!(!reach(&stranger), "a stranger reaches SSH");
    assert!(
        !lab.can_connect(&colleague, &target, 8080),
        "only the SSH port is opened"
    );
    // The cloud's firewall adt-build-machine says the same, and the build machine is in it.
    assert_eq!(
        native(),
        (
            vec![format!("{NET}.20/32"), format!("{NET}.30/32")],
            vec![
                "linode-cli [firewalls] [device-create] [--id] [901] [--type] [linode] [88]"
                    .to_string()
            ]
        )
    );

    // Removed: the colleague loses access (legacy never removed a rule).
    let o = allow(&format!("{NET}.30"), "2");
    assert!(o.status.success(), "{}", stderr(&o));
    tighten();
    assert!(!reach(&colleague), "a removed address still reaches SSH");
    assert!(reach(&laptop), "the laptop keeps access");
    assert_eq!(
        native().0,
        [format!("{NET}.20/32")],
        "removed from the cloud's firewall too"
    );

    // A bad address is refused by AllowLaptopIP and changes nothing.
    let before = file(LIST);
    let o = allow("10.79.1.0/24", "1");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is a network"), "{}", stderr(&o));
    assert_eq!(file(LIST), before);

    // Bad lines written straight into the list open nothing, and say so.
    let dir = s3_root.path().join("authip-acme1");
    std::fs::write(
        dir.join("authorised-ips.dat"),
        format!("{NET}.20\n0.0.0.0/0\n{NET}.0/24\n{NET}.40 please\nnot-an-ip\n0.0.0.0\n"),
    )
    .unwrap();
    std::fs::write(dir.join("FIREWALL-EVENT"), "").unwrap();
    let o = tighten();
    assert_eq!(
        stderr(&o).matches("opens nothing").count(),
        5,
        "{}",
        stderr(&o)
    );
    assert!(
        !reach(&stranger) && !reach(&colleague),
        "a bad line opened something"
    );
    assert!(reach(&laptop));
    assert_eq!(
        native().0,
        [format!("{NET}.20/32")],
        "a bad line opens nothing in the cloud's firewall"
    );

    assert_eq!(
        std::fs::read_to_string(bm.dir.path().join("crontab"))
            .unwrap()
            .lines()
            .count(),
        1,
        "the crontab line is added once"
    );
    // No event: nothing is read or changed.
    std::fs::write(
        dir.join("authorised-ips.dat"),
        format!("{NET}.20\n{NET}.40\n"),
    )
    .unwrap();
    tighten();
    assert!(!reach(&stranger), "applied without an event");
}

/// 2025: the bucket `authip-adt-allowed-<ip-with-dashes>` from the FIREWALL-BUCKET marker,
/// AllowLaptopIP's 2025 questions, AdjustBuildMachineFirewall with the tool buildstyles.dat names.
#[test]
fn the_2025_build_machine_list() {
    let Some(mut lab) = Lab::new("mdb5", NET) else {
        return;
    };
    let bm_ns = lab.host("bm", 10);
    let laptop = lab.host("lap", 20);
    let colleague = lab.host("col", 30);
    let stranger = lab.host("str", 40);
    let s3_root = tempfile::tempdir().unwrap();
    lab.start_s3(s3_root.path(), &bm_ns);
    let mut l = Command::new("ip");
    l.args(["netns", "exec", &bm_ns, "python3", "-c", LISTENER, "1035"]);
    lab.spawn(&mut l);
    std::thread::sleep(std::time::Duration::from_millis(400));

    let bm = Host::new("build", 9000);
    s3cfg(&bm.path(".s3cfg"), NET);
    let rt = bm.path("runtimedata");
    std::fs::create_dir_all(rt.join("linode/acme1")).unwrap();
    for (f, v) in [
        ("ACTIVE_BUILD_IDENTIFIER", "acme1\n"),
        ("ACTIVE_CLOUDHOST", "linode\n"),
        ("BUILD_MACHINE_CLOUDHOST", "linode\n"),
        ("BUILDMACHINEPORT:1035", ""),
    ] {
        std::fs::write(rt.join(f), v).unwrap();
    }
    std::fs::write(rt.join(format!("LAPTOPIP:{NET}.20")), "").unwrap();
    std::fs::create_dir_all(bm.path("builddescriptors")).unwrap();
    std::fs::write(
        bm.path("builddescriptors/buildstyles.dat"),
        "FIREWALL:iptables\n",
    )
    .unwrap();
    let root = bm.dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("FIREWALL-BUCKET:10-79-1-10"), "").unwrap();
    let buildhome = bm.dir.path().join("buildhome.dat");
    std::fs::write(&buildhome, format!("{}\n", bm.home.display())).unwrap();
    let o = Command::new(adt_bin())
        .args([
            "layout",
            "install",
            "--generation",
            "2025",
            "--machine",
            "build",
            "--home",
        ])
        .arg(&bm.home)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let env = |c: &mut Command| {
        c.env("ADT_BUILDHOME_FILE", &buildhome)
            .env("ADT_ROOT_DIR", &root)
            .env("S3CMD_CONFIG", bm.path(".s3cfg"));
    };
    let allow = |ip: &str, mode: &str| -> Output {
        let mut c = bm.cmd("ip");
        c.args(["netns", "exec", &bm_ns])
            .arg(bm.path("helperscripts/AllowLaptopIP.sh"))
            .current_dir(bm.path("helperscripts"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        env(&mut c);
        let mut c = c.spawn().unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("acme1\n3\n{ip}\n{mode}\n").as_bytes())
            .unwrap();
        c.wait_with_output().unwrap()
    };
    let adjust = || {
        let mut c = bm.cmd("ip");
        c.args(["netns", "exec", &bm_ns])
            .arg(bm.path("security/firewall/AdjustBuildMachineFirewall.sh"));
        env(&mut c);
        let o = c.output().unwrap();
        assert!(o.status.success(), "adjust: {}", stderr(&o));
    };
    let target = format!("{NET}.10");
    let reach = |from: &str| lab.can_connect(from, &target, 1035);
    let bucket = s3_root.path().join("authip-adt-allowed-10-79-1-10");

    let o = allow(&format!("{NET}.30"), "1");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("Please enter the name of the build of the server you wish to connect with\nWhich datastore provider are you using?"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read_to_string(bucket.join("authorised-ips.dat")).unwrap(),
        format!("{NET}.30\n")
    );
    adjust();
    assert!(!bucket.join("FIREWALL-EVENT").exists());
    assert!(reach(&laptop) && reach(&colleague));
    assert!(!reach(&stranger));
    assert!(allow(&format!("{NET}.30"), "2").status.success());
    adjust();
    assert!(!reach(&colleague) && reach(&laptop));
    assert_eq!(
        std::fs::read_to_string(rt.join("linode/acme1/ips/authorised-ips.dat")).unwrap(),
        format!("{NET}.20\n")
    );
}
