//! The build machine's access list: `helperscripts/AllowLaptopIP.sh` (both generations: an
//! operator adds or removes an address, interactively, as legacy asked),
//! `providerscripts/security/firewall/TightenBuildMachineFirewall.sh` (2022) and
//! `security/firewall/AdjustBuildMachineFirewall.sh` (2025), every minute: apply the list when
//! it changed. The work is in `crate::firewall::buildmachine`.
//!
//! 2025: the bucket is `authip-adt-allowed-<spec>`, `<spec>` from the marker file
//! `/root/FIREWALL-BUCKET:<spec>` (`ADT_ROOT_DIR` overrides `/root`, for tests); the build is
//! `runtimedata/ACTIVE_BUILD_IDENTIFIER` and `BUILD_MACHINE_CLOUDHOST` under BUILD_HOME
//! (`/home/buildhome.dat`); the SSH port `runtimedata/BUILDMACHINEPORT:<port>`, else
//! SSH_PORT of the build environment; the tool FIREWALL: of `builddescriptors/buildstyles.dat`.
//! Not implemented yet for 2025: finding the build machine's IP when the marker is missing
//! (legacy asked GetBuildMachineIP.sh and whois), and the `AllowUsers <user>@<ip>` lines legacy
//! appended to sshd_config (the firewall alone decides here); `runtimedata/BUILDING_ON_LAPTOP`
//! is honoured (nothing is done).
//!
//! Differences from legacy: AllowLaptopIP refuses an address that is not one host address
//! (legacy stored whatever was typed) and does not print s3cmd's transfer lines;
//! TightenBuildMachineFirewall adds its own crontab line as legacy did (once; legacy tested
//! `crontab -l` but wrote the spool file).
//!
//! The native cloud firewall: TightenBuildMachineFirewall (2022) keeps the cloud's
//! `adt-build-machine` firewall as the list says, as legacy's sourced
//! `providerscripts/security/firewall/AdjustBuildMachineNativeFirewall.sh` did, before the event
//! is spent (a failure is retried the next minute); that script's path runs
//! [`adjust_build_machine_native_firewall`] for callers that source it. The rules and the
//! differences are in `crate::firewall::native`. The build machine is the server the cloud lists
//! with one of its own addresses (`hostname -I`, and BUILD_CLIENT_IP when the caller has it;
//! legacy asked ipinfo.io for its public address). Not done for 2025 (AdjustBuildMachineFirewall
//! never touched the native firewall; legacy 2025 set it up at build time).

use super::{arg, out, Ctx};
use crate::datastore::accounts::root_dir;
use crate::error::{Error, Result};
use crate::firewall::buildmachine::{self, Tighten, EVENT_OBJECT, LIST_OBJECT};
use crate::firewall::reconcile::Options;
use std::io::BufRead;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// As legacy: the script puts its own line in root's crontab when no line names it
/// (`/var/spool/cron/crontabs/root`, installed with `crontab`; `ADT_CRONTAB_FILE` names another
/// file, not installed).
fn install_cron_line(line: &str) -> Result<()> {
    use crate::cron::{read_target, write_target, Target};
    let target = Target::File {
        path: std::env::var_os("ADT_CRONTAB_FILE")
            .map(Into::into)
            .unwrap_or_else(|| "/var/spool/cron/crontabs/root".into()),
        install: std::env::var_os("ADT_CRONTAB_FILE").is_none(),
    };
    let text = read_target(&target)?;
    if text.contains("TightenBuildMachineFirewall") {
        return Ok(());
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(line);
    new.push('\n');
    write_target(&target, &new)
}

/// TightenBuildMachineFirewall.sh [BUILD_IDENTIFIER] [BUILD_HOME] [SSH_PORT] [DATASTORE_CHOICE] [CLOUDHOST]
pub fn tighten_build_machine_firewall(ctx: &Ctx, args: &[String]) -> i32 {
    let pick = |i: usize, var: &str| match arg(args, i) {
        "" => env(var),
        a => a.to_string(),
    };
    let id = pick(0, "BUILD_IDENTIFIER");
    let build_home = pick(1, "BUILD_HOME");
    let ssh_port = pick(2, "SSH_PORT");
    let datastore_choice = pick(3, "DATASTORE_CHOICE");
    let cloudhost = pick(4, "CLOUDHOST");
    let r = (|| -> Result<Option<Vec<String>>> {
        if id.is_empty() {
            return Err(Error::Usage("no BUILD_IDENTIFIER (argument 1)".into()));
        }
        install_cron_line(&format!(
            "*/1 * * * * {build_home}/providerscripts/security/firewall/TightenBuildMachineFirewall.sh {id} {build_home} {ssh_port} {datastore_choice} {cloudhost}"
        ))?;
        let port: u16 = ssh_port.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
            Error::Usage(format!("SSH_PORT {ssh_port:?} is not a port (argument 3)"))
        })?;
        let mut site = ctx.site.clone();
        if !build_home.is_empty() {
            site.home = build_home.into();
        }
        let mut laptop = env("LAPTOP_IP");
        if laptop.is_empty() {
            laptop = std::fs::read_dir(site.home.join("runtimedata"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .strip_prefix("LAPTOPIP:")
                        .map(str::to_string)
                })
                .next()
                .unwrap_or_default();
        }
        let bucket = buildmachine::bucket_2022(&id);
        let native = match cloudhost.as_str() {
            "" => None,
            c => Some(native_for(c, &env("REGION"))?),
        };
        let t = Tighten {
            native,
            ssh_port: port,
            laptop_ip: laptop,
            prime_files: vec![site.tmp.join("PRIME_FIREWALL")],
            list_copy: site.home.join(LIST_OBJECT),
            opts: Options::default(),
        };
        tighten(ctx, &site, &bucket, &t)
    })();
    match r {
        Ok(Some(lines)) => {
            ctx.log("firewall/BUILD_MACHINE_FIREWALL.log", &lines.join("; "));
            0
        }
        Ok(None) => 0,
        Err(e) => {
            ctx.report_with(&e, "FIREWALL-EVENT is kept, so the next run tries again");
            1
        }
    }
}

/// The cloud `cloudhost` (legacy's CLOUDHOST value) and this machine's addresses, for its native
/// firewall.
fn native_for(cloudhost: &str, zone: &str) -> Result<buildmachine::Native> {
    use crate::cloud::servers::Host;
    let host = match cloudhost {
        "digitalocean" => Host::DigitalOcean,
        "exoscale" => Host::Exoscale,
        "linode" => Host::Linode,
        "vultr" => Host::Vultr,
        "aws" => Host::Aws,
        c => {
            return Err(Error::Usage(format!(
                "CLOUDHOST {c:?} is not one of {}",
                CLOUDHOSTS.join(", ")
            )))
        }
    };
    let mut own: Vec<std::net::IpAddr> = crate::ips::host_addresses()
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    if let Ok(a) = env("BUILD_CLIENT_IP").trim().parse() {
        own.push(a);
    }
    Ok(buildmachine::Native {
        host,
        zone: zone.to_string(),
        own,
    })
}

/// AdjustBuildMachineNativeFirewall.sh (2022 build machine; sourced): the cloud CLOUDHOST's
/// `adt-build-machine` firewall admits SSH_PORT from the addresses of the caller's `ips`
/// (space- or colon-separated, as TightenBuildMachineFirewall left it), else of
/// `BUILD_HOME/authorised-ips.dat`; an address that is not one host opens nothing.
pub fn adjust_build_machine_native_firewall(ctx: &Ctx, _args: &[String]) -> i32 {
    let r = (|| -> Result<Vec<String>> {
        let port = env("SSH_PORT");
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| Error::Usage(format!("SSH_PORT {port:?} is not a port")))?;
        let native = native_for(&env("CLOUDHOST"), &env("REGION"))?;
        let mut text: String = env("ips")
            .split(|c: char| c == ':' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(|w| format!("{w}\n"))
            .collect();
        if text.is_empty() {
            let home = match env("BUILD_HOME") {
                h if h.is_empty() => ctx.site.home.clone(),
                h => h.into(),
            };
            let f = home.join(LIST_OBJECT);
            text = std::fs::read_to_string(&f).map_err(|e| Error::io(f.display(), e))?;
        }
        let (nets, bad) = buildmachine::parse_list(&text);
        for b in bad {
            eprintln!("{}: {b}", ctx.prog);
        }
        native.apply(&nets, port, false)
    })();
    match r {
        Ok(lines) => {
            ctx.log("firewall/BUILD_MACHINE_FIREWALL.log", &lines.join("; "));
            0
        }
        Err(e) => {
            ctx.report_with(&e, "the native firewall was left as it is");
            1
        }
    }
}

/// Tighten the build machine's firewall as `t` says, with the lists in `bucket` (one deadline
/// for the command's calls); warnings go to stderr. `Some(lines)` when it ran.
fn tighten(
    ctx: &Ctx,
    site: &crate::site::Site,
    bucket: &str,
    t: &Tighten,
) -> Result<Option<Vec<String>>> {
    let store = site.store_for_bucket(bucket)?;
    store.bound_command();
    let mut warnings = Vec::new();
    let r = buildmachine::tighten(site, store.as_ref(), t, &mut warnings);
    for w in &warnings {
        eprintln!("{}: {w}", ctx.prog);
    }
    Ok(r?.map(|rep| rep.lines))
}

/// Legacy's "1) Add  2) Remove" question, asked again until the answer is 1 or 2; `None`
/// (reported) when the input ends first.
fn add_or_remove(ctx: &Ctx, next: &mut dyn FnMut() -> Option<String>) -> Option<String> {
    out(b"Do you want to add or remove access for this ip address?\n1) Add  2) Remove\n");
    let mut mode = next().unwrap_or_default();
    while mode != "1" && mode != "2" {
        out(b"I don't recognise that input...\nPlease enter 1 or 2\n");
        match next() {
            Some(m) => mode = m,
            None => {
                ctx.report(&Error::Usage("no answer (stdin closed)".into()));
                return None;
            }
        }
    }
    Some(mode)
}

/// The answers on stdin, one a line, trimmed; None at the end (stdin stays locked meanwhile).
fn answers() -> impl FnMut() -> Option<String> {
    let mut lines = std::io::stdin().lock().lines();
    move || {
        lines
            .next()
            .and_then(|l| l.ok())
            .map(|l| l.trim().to_string())
    }
}

fn marker(dir: &std::path::Path, prefix: &str) -> Option<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_prefix(prefix)
                .map(str::to_string)
        })
        .collect();
    v.sort();
    v.pop()
}

fn first_line(path: &std::path::Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

fn build_home_2025() -> Result<std::path::PathBuf> {
    let f = std::env::var_os("ADT_BUILDHOME_FILE").unwrap_or_else(|| "/home/buildhome.dat".into());
    let h = first_line(std::path::Path::new(&f));
    if h.is_empty() {
        return Err(Error::Config(format!(
            "{} does not name BUILD_HOME",
            std::path::Path::new(&f).display()
        )));
    }
    Ok(h.into())
}

/// AdjustBuildMachineFirewall.sh (2025 build machine, every minute).
pub fn adjust_build_machine_firewall(ctx: &Ctx, _args: &[String]) -> i32 {
    let r = (|| -> Result<Option<Vec<String>>> {
        let home = build_home_2025()?;
        let rt = home.join("runtimedata");
        if rt.join("BUILDING_ON_LAPTOP").exists() {
            return Ok(None);
        }
        let spec = marker(&root_dir(), "FIREWALL-BUCKET:").ok_or_else(|| {
            Error::Config(format!(
                "not implemented yet: finding the build machine's IP; no {}/FIREWALL-BUCKET:<ip-with-dashes> marker",
                root_dir().display()
            ))
        })?;
        let id = first_line(&rt.join("ACTIVE_BUILD_IDENTIFIER"));
        let cloudhost = first_line(&rt.join("BUILD_MACHINE_CLOUDHOST"));
        let build_dir = rt.join(&cloudhost).join(&id);
        let port = match marker(&rt, "BUILDMACHINEPORT:") {
            Some(p) => p,
            None => std::fs::read_to_string(build_dir.join("build_environment"))
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("SSH_PORT="))
                .map(|v| v.replace('"', ""))
                .unwrap_or_default(),
        };
        let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
            Error::Config(format!(
                "the build machine's SSH port {port:?} is not a port"
            ))
        })?;
        let styles = std::fs::read_to_string(home.join("builddescriptors/buildstyles.dat"))
            .unwrap_or_default();
        let tool = match crate::config::value(&styles, "FIREWALL").as_deref() {
            Some("iptables") => Some(crate::firewall::reconcile::Tool::Iptables),
            Some("ufw") => Some(crate::firewall::reconcile::Tool::Ufw),
            _ => None,
        };
        let mut site = ctx.site.clone();
        site.home = home.clone();
        let bucket = buildmachine::bucket_2025(&spec);
        let t = Tighten {
            native: None,
            ssh_port: port,
            laptop_ip: marker(&rt, "LAPTOPIP:").unwrap_or_default(),
            prime_files: vec![
                build_dir.join("FIREWALL-EVENT"),
                build_dir.join("PRIME_FIREWALL"),
            ],
            opts: Options {
                dry_run: false,
                tool,
            },
            list_copy: build_dir.join("ips").join(LIST_OBJECT),
        };
        tighten(ctx, &site, &bucket, &t)
    })();
    match r {
        Ok(_) => 0,
        Err(e) => {
            ctx.report_with(&e, "the firewall was left as it is");
            1
        }
    }
}

const CLOUDHOSTS: [&str; 5] = ["digitalocean", "exoscale", "linode", "vultr", "aws"];

/// AllowLaptopIP.sh (run from `helperscripts/`; answers on stdin, as legacy asked them).
pub fn allow_laptop_ip(ctx: &Ctx, _args: &[String]) -> i32 {
    if ctx.gen.name == "2025" {
        return allow_laptop_ip_2025(ctx);
    }
    let mut say = String::new();
    let flush = |s: &mut String| {
        out(s.as_bytes());
        s.clear();
    };
    if !std::path::Path::new("./AllowLaptopIP.sh").exists() {
        out(b"Sorry, this script has to be run from the helperscripts subdirectory\n");
        return 0;
    }
    let mut next = answers();
    say.push_str("Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4) Vultr 5)AWS. Please Enter the number for your cloudhost\n");
    flush(&mut say);
    let cloudhost = match next().unwrap_or_default().parse::<usize>() {
        Ok(n @ 1..=5) => CLOUDHOSTS[n - 1],
        _ => {
            out(b"Unrecognised  cloudhost. Exiting ....\n");
            return 0;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let cwd = cwd.to_string_lossy();
    let build_home = match cwd.find("/helper") {
        Some(i) => cwd[..i].to_string(),
        None => cwd.to_string(),
    };
    say.push_str("What is the build identifier you want to allow access for?\nYou have these builds to choose from: \n");
    // `{build_home}/` keeps an empty build home (working directory `/helper…`) meaning `/`.
    for b in super::build_choices(
        std::path::Path::new(&format!("{build_home}/")),
        cloudhost,
        crate::layout::BuildState::BuildConfiguration2022,
    ) {
        say.push_str(&format!("{b}\n"));
    }
    say.push_str("Please enter the name of the build of the server you wish to connect with\n");
    flush(&mut say);
    let id = next().unwrap_or_default();
    say.push_str("Please enter the IP address you are modifying access for. You can find the ip address of your laptop using: www.whatsmyip.com\n");
    flush(&mut say);
    let ip = next().unwrap_or_default();
    let Some(mode) = add_or_remove(ctx, &mut next) else {
        return 1;
    };
    finish_edit(
        ctx,
        &buildmachine::bucket_2022(&id),
        &id,
        &ip,
        mode == "1",
        None,
    )
}

/// Check the answers, then add or remove the address in the bucket's list and put the event.
fn finish_edit(
    ctx: &Ctx,
    bucket: &str,
    id: &str,
    ip: &str,
    add: bool,
    local_copy: Option<std::path::PathBuf>,
) -> i32 {
    let r = (|| -> Result<()> {
        if id.is_empty() || id.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            return Err(Error::Usage(format!("{id:?} is not a build identifier")));
        }
        let net = buildmachine::parse_address(ip).map_err(Error::Usage)?;
        let store = ctx.store_for_bucket(bucket)?;
        store.bound_command();
        let current = match store.get_bytes(LIST_OBJECT) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(Error::NotFound(_)) | Err(Error::NoBucket(_)) => {
                out(b"Couldn't find existing authorised ip addresses\n");
                if !store.bucket_exists()? {
                    store.create_bucket()?;
                }
                String::new()
            }
            Err(e) => return Err(e),
        };
        let text = buildmachine::edit(&current, &net.addr.to_string(), add);
        if let Some(p) = local_copy {
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
            }
            crate::fsutil::write_atomic(&p, text.as_bytes(), Some(0o644))?;
        }
        store.put_bytes(LIST_OBJECT, text.as_bytes())?;
        store.put_bytes(EVENT_OBJECT, b"")?;
        Ok(())
    })();
    match r {
        Ok(()) => 0,
        Err(e) => {
            ctx.report_with(&e, "the access list was left as it is");
            1
        }
    }
}

/// The 2025 AllowLaptopIP.sh: the bucket from the FIREWALL-BUCKET marker, the build chosen
/// first, then the datastore provider.
fn allow_laptop_ip_2025(ctx: &Ctx) -> i32 {
    let Some(spec) = marker(&root_dir(), "FIREWALL-BUCKET:") else {
        out(b"You can't run this script until you have performed at least one deployment of your web property\n\
When you make your first deployment this will tell me the access and secret keys that I need to access your datastore\n\
Without access to your datastore, this mecahnism won't work\n");
        return 0;
    };
    if !std::path::Path::new("./AllowLaptopIP.sh").exists() {
        out(b"Sorry, this script has to be run from the helperscripts subdirectory\n");
        return 0;
    }
    let home = match build_home_2025() {
        Ok(h) => h,
        Err(e) => {
            ctx.report(&e);
            return 1;
        }
    };
    let rt = home.join("runtimedata");
    let mut next = answers();
    out(b"Please enter the name of the build of the server you wish to connect with\n");
    let id = next().unwrap_or_default();
    let _ = std::fs::create_dir_all(&rt);
    let _ = crate::fsutil::write_atomic(
        &rt.join("ACTIVE_BUILD_IDENTIFIER"),
        format!("{id}\n").as_bytes(),
        None,
    );
    out(b"Which datastore provider are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4) Vultr. Please Enter the number for your cloudhost\n");
    let provider = match next().unwrap_or_default().parse::<usize>() {
        Ok(n @ 1..=4) => CLOUDHOSTS[n - 1],
        _ => {
            out(b"Unrecognised  cloudhost. Exiting ....\n");
            return 0;
        }
    };
    if provider != first_line(&rt.join("ACTIVE_CLOUDHOST")) {
        out(b"Your chosen cloudhost provider is different to your active cloudhost provider on this build machine\n\
Do you want to set your chosen cloudhost to be the active cloudhost provider (Y|y)\n");
        if matches!(next().as_deref(), Some("Y") | Some("y")) {
            let _ = crate::fsutil::write_atomic(
                &rt.join("ACTIVE_CLOUDHOST"),
                format!("{provider}\n").as_bytes(),
                None,
            );
        }
    }
    out(b"Please enter the IP address of your laptop that you are modifying access for. You can find the ip address of your laptop using: www.whatsmyip.com\n");
    let ip = next().unwrap_or_default();
    let Some(mode) = add_or_remove(ctx, &mut next) else {
        return 1;
    };
    let copy = rt.join(provider).join(&id).join("ips").join(LIST_OBJECT);
    finish_edit(
        ctx,
        &buildmachine::bucket_2025(&spec),
        &id,
        &ip,
        mode == "1",
        Some(copy),
    )
}
