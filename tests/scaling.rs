//! Scaling controls through installed launchers on a real S3 server: ManuallyScale,
//! DailyScaleup/down, AdjustScaling (prompts and flags), bad counts, and concurrent writers.

mod common;
use common::*;
use std::io::Write;
use std::process::Stdio;

fn profile(h: &Host) -> Option<String> {
    let o = h.s3cmd(&[
        "--force",
        "get",
        &format!("s3://{BUCKET}/scalingprofile/profile.cnf"),
        "-",
    ]);
    o.status.success().then(|| stdout(&o))
}

fn run_with_input(
    h: &Host,
    script: &str,
    args: &[&str],
    input: &str,
    cwd: Option<&std::path::Path>,
) -> std::process::Output {
    let mut c = h.cmd(h.path(script));
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const MS: &str = "providerscripts/utilities/ManuallyScale.sh";

fn autoscaler() -> (S3Server, Host) {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("autoscaler", server.port);
    h.install();
    (server, h)
}

#[test]
fn manually_scale_sets_the_profile_and_confirms() {
    let (_s, h) = autoscaler();
    let o = h.exec(MS, &["5"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Number of webservers is now successfully set to 5\n"
    );
    assert_eq!(
        profile(&h).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=5\n"
    );
    // Only the count line changes; other lines are kept.
    h.s3cmd(&[
        "put",
        "-",
        &format!("s3://{BUCKET}/scalingprofile/profile.cnf"),
    ]);
    let f = h.dir.path().join("p");
    std::fs::write(&f, "SCALING_MODE=static\nNO_WEBSERVERS=3\nEXTRA=1\n").unwrap();
    assert!(h
        .s3cmd(&[
            "put",
            f.to_str().unwrap(),
            &format!("s3://{BUCKET}/scalingprofile/profile.cnf")
        ])
        .status
        .success());
    let o = h.sh(MS, &["2"]);
    assert_eq!(
        stdout(&o),
        "Number of webservers is now successfully set to 2\n"
    );
    assert_eq!(
        profile(&h).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=2\nEXTRA=1\n"
    );
    // The operator's stale ./profile.cnf (left by PerformScaling in cron's cwd) is not uploaded.
    std::fs::write(
        h.dir.path().join("profile.cnf"),
        "SCALING_MODE=static\nNO_WEBSERVERS=9\n",
    )
    .unwrap();
    let o = h.exec(MS, &["6"]);
    assert_eq!(
        stdout(&o),
        "Number of webservers is now successfully set to 6\n"
    );
    assert_eq!(
        profile(&h).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=6\nEXTRA=1\n"
    );
}

#[test]
fn bad_counts_change_nothing() {
    let (_s, h) = autoscaler();
    assert!(h.exec(MS, &["4"]).status.success());
    let before = profile(&h).unwrap();
    let etag = stdout(&h.s3cmd(&["info", &format!("s3://{BUCKET}/scalingprofile/profile.cnf")]));
    for bad in ["1", "abc", "-3", "2.5", "0", " "] {
        let o = run_with_input(&h, MS, &[bad], "", None);
        assert_eq!(o.status.code(), Some(1), "{bad:?}");
        assert_eq!(
            stdout(&o),
            "Number of webservers has to be 2 or more. Please supply a different value\n",
            "{bad:?}"
        );
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains("the scaling profile is unchanged"), "{e}");
    }
    // Empty answer to the prompt, then end of input.
    let o = run_with_input(&h, MS, &[], "\n", None);
    assert_eq!(o.status.code(), Some(1));
    let o = run_with_input(&h, MS, &[], "", None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no number of webservers was given"));
    assert_eq!(profile(&h).unwrap(), before);
    let etag_after =
        stdout(&h.s3cmd(&["info", &format!("s3://{BUCKET}/scalingprofile/profile.cnf")]));
    let md5 = |t: &str| t.lines().find(|l| l.contains("MD5")).map(str::to_string);
    assert_eq!(md5(&etag), md5(&etag_after));
    // Daily scale with garbage: refused, logged, unchanged.
    let o = h.exec("providerscripts/utilities/DailyScaleup.sh", &["abc"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(profile(&h).unwrap(), before);
}

#[test]
fn interactive_reasking() {
    let (_s, h) = autoscaler();
    let o = run_with_input(&h, MS, &[], "1\nabc\n2.5\n-3\n\n7\n", None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let again = "Number of webservers has to be 2 or more. Please supply a different value\n";
    assert_eq!(
        stdout(&o),
        format!(
            "Please enter the number of webservers you want to scale to, 2 or more, as an integer\n{}Number of webservers is now successfully set to 7\n",
            again.repeat(5)
        )
    );
    assert_eq!(
        profile(&h).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=7\n"
    );
}

#[test]
fn daily_scaling_from_cron() {
    let (_s, h) = autoscaler();
    let up = h.exec("providerscripts/utilities/DailyScaleup.sh", &["3"]);
    assert!(up.status.success(), "{}", stderr(&up));
    assert_eq!(
        profile(&h).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=3\n"
    );
    let down = h.exec("providerscripts/utilities/DailyScaledown.sh", &["2"]);
    assert!(down.status.success());
    assert_eq!(
        profile(&h).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=2\n"
    );
    let none = h.exec("providerscripts/utilities/DailyScaledown.sh", &[]);
    assert_eq!(
        (none.status.code(), stdout(&none)),
        (Some(0), String::new())
    );
    let log = std::fs::read_to_string(h.path("logs/MonitoringLog.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    let p_up = h
        .path("providerscripts/utilities/DailyScaleup.sh")
        .display()
        .to_string();
    assert!(lines[0].starts_with(&format!("{p_up} ")), "{log}");
    assert!(
        lines[0].ends_with(": Running daily scale up. Scaling up to ..... 3 servers"),
        "{log}"
    );
    assert!(
        lines[1].ends_with(": Running daily scaledown. Scaling down to ..... 2 servers"),
        "{log}"
    );
}

fn build_machine(port: u16) -> Host {
    let b = Host::new("build", port);
    b.install();
    std::fs::create_dir_all(b.path("buildconfiguration/digitalocean")).unwrap();
    std::fs::write(b.path("buildconfiguration/digitalocean/mybuild"), "").unwrap();
    std::fs::write(
        b.path("buildconfiguration/digitalocean/mybuild-credentials"),
        "",
    )
    .unwrap();
    b
}

#[test]
fn adjust_scaling_prompts_flags_and_switch() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let b = build_machine(server.port);
    let hs = b.path("helperscripts");
    let a = "helperscripts/AdjustScaling.sh";
    // Not from helperscripts/: refused.
    let o = run_with_input(&b, a, &[], "", Some(b.dir.path()));
    assert_eq!(
        stdout(&o),
        "Sorry, this script has to be run from the helperscripts subdirectory\n"
    );
    // Interactive, no profile yet.
    let o = run_with_input(&b, a, &[], "1\nmybuild\nwww.example.com\n1\n4\n", Some(&hs));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bar = "#".repeat(114);
    assert_eq!(
        stdout(&o),
        format!(
            "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4) Vultr 5)AWS. Please Enter the number for your cloudhost\n\
             What is the build identifier you want to allow access for?\nYou have these builds to choose from: \nmybuild\n\
             Please enter the name of the build of the server you wish to connect with\n\
             OK, can you please tell me the FULL URL for the website you want to scale up/down is.\n\
             Warning, couldn't find profile file, will try and create a new one for you\n\
             {bar}\nYour number of webservers is currently set to: 0\n\
             What do you want to set your number of webservers to, please enter the number (2 or more) of webservers you want - as an integer\n\
             {bar}\nNumber of webservers has to be 2 or more. Please input a different value\n\
             \nYour number of webservers has been successfully set to: 4\n\n"
        )
    );
    assert_eq!(
        profile(&b).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=4\n"
    );
    // Non-interactive flags, no prompts answered.
    let o = run_with_input(
        &b,
        a,
        &[
            "x",
            "",
            "--cloudhost",
            "digitalocean",
            "--build-identifier",
            "mybuild",
            "--url",
            "www.example.com",
            "--count",
            "6",
        ],
        "",
        Some(&hs),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("Your number of webservers is currently set to: 4\n"));
    assert_eq!(
        profile(&b).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=6\n"
    );
    // A bad count non-interactively fails and changes nothing.
    let o = run_with_input(
        &b,
        a,
        &[
            "--cloudhost=1",
            "--build-identifier=mybuild",
            "--url=www.example.com",
            "--count=1",
        ],
        "",
        Some(&hs),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        profile(&b).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=6\n"
    );
    // Unknown bucket and unknown cloudhost.
    let o = run_with_input(
        &b,
        a,
        &[
            "--cloudhost=3",
            "--build-identifier=x",
            "--url=www.other.org",
        ],
        "",
        Some(&hs),
    );
    assert_eq!(
        stdout(&o),
        "Can't find the configuration bucket in your datastore for website: www.other.org\n\
         I have to exit, run the script again using a URL with an existing configuration bucket\n"
    );
    let o = run_with_input(&b, a, &["--cloudhost=9"], "", Some(&hs));
    assert_eq!(stdout(&o), "Unrecognised  cloudhost. Exiting ....\n");
    // off: the marker appears and scaling is refused; on: it goes away and scaling works again.
    let flags = [
        "--cloudhost=1",
        "--build-identifier=mybuild",
        "--url=www.example.com",
    ];
    let mut off = vec!["ignored", "off"];
    off.extend(flags);
    let o = run_with_input(&b, a, &off, "", Some(&hs));
    assert!(stdout(&o).starts_with("upload: '"), "{}", stdout(&o));
    assert!(stdout(&o).contains(&format!("-> 's3://{BUCKET}/SWITCHOFFSCALING' (0 bytes in ")));
    assert!(
        stdout(&b.s3cmd(&["ls", &format!("s3://{BUCKET}/SWITCHOFFSCALING")]))
            .contains("SWITCHOFFSCALING")
    );
    let mut set = flags.to_vec();
    set.extend(["--count", "3"]);
    let o = run_with_input(&b, a, &set, "", Some(&hs));
    assert_eq!(
        stdout(&o),
        "Sorry, scaling is switched off at the moment. You can't switch it on using this script\n"
    );
    assert_eq!(
        profile(&b).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=6\n"
    );
    let mut on = vec!["ignored", "on"];
    on.extend(set.iter().copied());
    let o = run_with_input(&b, a, &on, "", Some(&hs));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&b.s3cmd(&["ls", &format!("s3://{BUCKET}/SWITCHOFFSCALING")])),
        ""
    );
    assert_eq!(
        profile(&b).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=3\n"
    );
}

/// Many writers at once, each making its own change; every change must be in the result.
fn concurrent_writers(homes: &[&Host], per_home: usize) -> (usize, String) {
    let mut children = Vec::new();
    for (hi, h) in homes.iter().enumerate() {
        for i in 0..per_home {
            let c = h
                .cmd(adt_bin())
                .args([
                    "--adt-machine=autoscaler",
                    "scaling-profile",
                    "set",
                    &format!("W{hi}_{i}"),
                    &i.to_string(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            children.push(c);
        }
        // A legacy-style control racing the writers.
        children.push(
            h.cmd(h.path(MS))
                .arg("5")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "writer failed: {}", stderr(&o));
    }
    let p = profile(homes[0]).unwrap();
    let applied = (0..homes.len())
        .flat_map(|hi| (0..per_home).map(move |i| format!("W{hi}_{i}={i}")))
        .filter(|line| p.lines().any(|l| l == line))
        .count();
    (applied, p)
}

#[test]
fn concurrent_writers_on_one_machine_lose_nothing() {
    let (_s, h) = autoscaler();
    assert!(h.exec(MS, &["3"]).status.success());
    let (applied, p) = concurrent_writers(&[&h], 24);
    assert_eq!(applied, 24, "lost updates; profile:\n{p}");
    assert!(p.contains("NO_WEBSERVERS=5\n"), "{p}");
    assert!(p.starts_with("SCALING_MODE=static\n"), "{p}");
}

/// Two autoscalers (separate machines, separate local locks) meet only in the store: the
/// conditional write must keep every change. On the local backend conditional writes are
/// atomic; s3s-fs checks the condition before it writes (not atomically), see scaling/mod.rs.
#[test]
fn concurrent_writers_on_two_machines_lose_nothing_with_atomic_conditional_writes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(BUCKET)).unwrap();
    let hosts: Vec<Host> = (0..2)
        .map(|_| Host::new("autoscaler", free_port()))
        .collect();
    for h in &hosts {
        h.install();
        std::fs::create_dir_all(h.path(".adt-rs")).unwrap();
        std::fs::write(
            h.path(".adt-rs/datastore"),
            format!("backend = local\nroot = {}\n", dir.path().display()),
        )
        .unwrap();
    }
    let out = hosts[0].exec(MS, &["3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut children = Vec::new();
    for (hi, h) in hosts.iter().enumerate() {
        for i in 0..12 {
            children.push(
                h.cmd(adt_bin())
                    .args([
                        "--adt-machine=autoscaler",
                        "scaling-profile",
                        "set",
                        &format!("W{hi}_{i}"),
                        "1",
                    ])
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            );
        }
    }
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let p = std::fs::read_to_string(dir.path().join(BUCKET).join("scalingprofile/profile.cnf"))
        .unwrap();
    let applied = p
        .lines()
        .filter(|l| l.starts_with('W') && l.ends_with("=1"))
        .count();
    assert_eq!(applied, 24, "{p}");
}

/// Before trusting conditional writes the profile's safe write checks, once, that the bucket
/// enforces them, and remembers the verdict per endpoint and bucket. This server does (both
/// s3s-fs and moto refuse a stale If-Match and If-None-Match on an existing key).
#[test]
fn conditional_writes_are_probed_once_and_found_enforced() {
    let (s, h) = autoscaler();
    let o = h.exec(MS, &["4"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "no warning where conditions are enforced");
    let cache = h.path(".adt-rs/conditional-writes");
    let text = std::fs::read_to_string(&cache).unwrap();
    let line = format!(" enforced s3://{BUCKET} at http://127.0.0.1:{}\n", s.port);
    assert!(text.ends_with(&line) && text.lines().count() == 1, "{text}");
    // The probe cleaned up after itself: no object, no "directory" left.
    let store = adt::datastore::open(
        &adt::datastore::Selection::S3 {
            s3cfg: h.path(".s3cfg"),
        },
        BUCKET,
    )
    .unwrap();
    let all = store.list("", true).unwrap();
    assert_eq!(all.prefixes, ["scalingprofile/"], "{all:?}");
    assert!(all.objects.is_empty(), "{all:?}");
    // Within the day the verdict is reused: the file is not rewritten.
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(&cache).unwrap().ino();
    assert!(h.exec(MS, &["5"]).status.success());
    assert_eq!(std::fs::metadata(&cache).unwrap().ino(), inode);
    // The probe itself, asked directly, agrees.
    assert_eq!(
        adt::datastore::conditional::probe(store.as_ref()).unwrap(),
        adt::datastore::conditional::CondWrites::Enforced
    );
    assert_eq!(store.list("adt-locks/", false).unwrap().objects, []);
}

/// An `If-Match` write whose object has gone (deleted since it was read) lost against another
/// writer: a conflict to re-read after, not a missing object. AWS and moto answer 404 there,
/// s3s-fs 412; both must read the same.
#[test]
fn a_conditional_write_on_a_missing_object_is_a_conflict() {
    use adt::datastore::{Precondition, Version};
    let (_s, h) = autoscaler();
    let store = adt::datastore::open(
        &adt::datastore::Selection::S3 {
            s3cfg: h.path(".s3cfg"),
        },
        BUCKET,
    )
    .unwrap();
    store.put_bytes("x/profile", b"one").unwrap();
    let (_, v) = store.get_versioned("x/profile").unwrap().unwrap();
    store.delete("x/profile").unwrap();
    let r = store.put_conditional("x/profile", b"two", &Precondition::IfMatch(v));
    assert!(matches!(r, Err(adt::Error::Conflict(_))), "{r:?}");
    let r = store.put_conditional(
        "x/never",
        b"two",
        &Precondition::IfMatch(Version("\"0123456789abcdef0123456789abcdef\"".into())),
    );
    assert!(matches!(r, Err(adt::Error::Conflict(_))), "{r:?}");
    assert_eq!(store.list("x/", false).unwrap().objects, []);
}

/// The 2025 build machine's AdjustScaling (`helperscripts/AdjustScaling.sh`, installed by
/// `adt layout install --generation 2025 --machine build`): the legacy prompts, the chosen
/// build's environment and server user, N shared among the autoscalers the cloud lists as the
/// `STATIC_SCALE:` marker in that build's config bucket (one marker left, a local copy in the
/// build's runtimedata), PRODUCTION required, an abort changes nothing, flags answer.
#[test]
fn adjust_scaling_on_the_2025_build_machine() {
    let server = S3Server::start();
    let bucket = "www-example-com-config-x9fk";
    server.make_bucket(bucket);
    let common::build2025::Build2025 { bm, buildhome } = common::build2025::Build2025::new(
        server.port,
        &[
            ("linode/other", "PRODUCTION=\"1\"\n", None),
            (
                "digitalocean/prod1",
                "WEBSITE_URL=\"www.example.com\"\nPRODUCTION=\"1\"\nREGION=\"lon1\"\n",
                Some("X9fKqwer"),
            ),
        ],
        ("linode", "other"),
    );
    let rt = bm.home.join("runtimedata");
    // The cloud: two autoscalers of this build, others that are not.
    let bin = bm.dir.path().join("bin");
    let fixtures = bm.dir.path().join("fixtures");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&fixtures).unwrap();
    std::fs::write(
        fixtures.join("do.json"),
        r#"[{"id": 1, "name": "as-lon1-prod1-1", "networks": {"v4": []}},
            {"id": 2, "name": "as-lon1-prod1-2", "networks": {"v4": []}},
            {"id": 3, "name": "ws-lon1-prod1-1", "networks": {"v4": []}},
            {"id": 4, "name": "as-lon1-prod2-1", "networks": {"v4": []}}]"#,
    )
    .unwrap();
    stand_in(
        &bin,
        "doctl",
        &bm.dir.path().join("calls.log"),
        &fixtures,
        &[("'compute droplet list -o json'", "do.json")],
    );
    let store = adt::datastore::open(
        &adt::datastore::Selection::S3 {
            s3cfg: bm.path(".s3cfg"),
        },
        bucket,
    )
    .unwrap();
    store.put_bytes("STATIC_SCALE:2:2", b"").unwrap();
    let markers = || -> Vec<String> {
        store
            .list("", false)
            .unwrap()
            .objects
            .into_iter()
            .map(|o| o.key)
            .collect()
    };
    let hs = bm.path("helperscripts");
    let run = |args: &[&str], input: &str, cwd: &std::path::Path| {
        let mut c = bm.cmd_with(&bin, "helperscripts/AdjustScaling.sh");
        c.args(args)
            .env("ADT_BUILDHOME_FILE", &buildhome)
            .env("S3CMD_CONFIG", bm.path(".s3cfg"))
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // Not from helperscripts/: refused.
    let o = run(&[], "", bm.dir.path());
    assert_eq!(
        stdout(&o),
        "Sorry, this script has to be run from the helperscripts subdirectory\n"
    );
    let remember = "Remember, scaling takes 5 minutes to come online after the completion of an initial build. If less than 5 minutes has passed, wait a bit, then adjust scaling\n\
                    Press <enter> to acknowledge\n";
    // Interactive: another active cloudhost (made active), two bad counts, accepted.
    let o = run(&[], "\n1\nY\nprod1\n1\nabc\n5\nY\n", &hs);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "{remember}Which cloudhost service are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4) Vultr. Please Enter the number for your cloudhost\n\
             Your chosen cloudhost provider is different to your active cloudhost provider on this build machine\n\
             Do you want to set your chosen cloudhost to be the active cloudhost provider (Y|y)\n\
             What is the build identifier you want to adjust scaling for?\n\
             You have these builds to choose from: \nprod1\n\
             Please enter the name of the build of the server you wish to connect with\n\
             Scaling value is currently set to 4 webservers\n\
             Please enter the number of webservers that you want to scale to\n\
             Sorry integers 2 or higher only\nSorry integers 2 or higher only\n\
             \nYour number of webservers is about to be set to 5\n\
             Enter 'Y' or 'y' to accept, anything else to abort\n\
             You are running 2 and you are asking me to build 5 webservers\n\
             Deleting existing Scaling Profile from datastore\n\
             New Scaling Profile is present in the datastore : STATIC_SCALE:3:2\n\
             \nYour number of webservers has been successfully set to: 5\n\n"
        )
    );
    assert_eq!(markers(), ["STATIC_SCALE:3:2"]);
    assert_eq!(
        std::fs::read_to_string(rt.join("ACTIVE_CLOUDHOST")).unwrap(),
        "digitalocean\n"
    );
    assert_eq!(
        std::fs::read_to_string(rt.join("ACTIVE_BUILD_IDENTIFIER")).unwrap(),
        "prod1\n"
    );
    assert!(rt.join("digitalocean/prod1/STATIC_SCALE:3:2").is_file());
    // An abort at the confirmation changes nothing.
    let o = run(&[], "\n1\nprod1\n7\nn\n", &hs);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).ends_with("Enter 'Y' or 'y' to accept, anything else to abort\n"));
    assert_eq!(markers(), ["STATIC_SCALE:3:2"]);
    // Flags answer every question.
    let o = run(
        &[
            "--cloudhost",
            "digitalocean",
            "--build-identifier",
            "prod1",
            "--count",
            "4",
            "--yes",
        ],
        "",
        &hs,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(markers(), ["STATIC_SCALE:2:2"]);
    let local: Vec<String> = std::fs::read_dir(rt.join("digitalocean/prod1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("STATIC_SCALE"))
        .collect();
    assert_eq!(local, ["STATIC_SCALE:2:2"]);
    // A count that is not 2 or more, given as a flag: status 1, unchanged.
    let o = run(
        &[
            "--cloudhost=1",
            "--build-identifier=prod1",
            "--count=1",
            "--yes",
        ],
        "",
        &hs,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(markers(), ["STATIC_SCALE:2:2"]);
    // Not in production (the active build's PRODUCTION): refused before any question.
    std::fs::write(
        rt.join("digitalocean/prod1/build_environment"),
        "WEBSITE_URL=\"www.example.com\"\nPRODUCTION=\"0\"\nREGION=\"lon1\"\n",
    )
    .unwrap();
    let o = run(&["--yes"], "", &hs);
    assert_eq!(
        stdout(&o),
        format!("{remember}You are not in PRODUCTION mode, cannot set scaling parameters\n")
    );
    assert_eq!(markers(), ["STATIC_SCALE:2:2"]);
}
