//! The build machine's access list (2022): `helperscripts/AllowLaptopIP.sh` (an operator adds or
//! removes an address, interactively, as legacy asked) and
//! `providerscripts/security/firewall/TightenBuildMachineFirewall.sh` (every minute: apply the
//! list when it changed). The work is in `crate::firewall::buildmachine`.
//!
//! Differences from legacy: AllowLaptopIP refuses an address that is not one host address
//! (legacy stored whatever was typed) and does not print s3cmd's transfer lines;
//! TightenBuildMachineFirewall does not add its own crontab line (legacy appended it to
//! root's crontab on every first run; not implemented yet: install the line with
//! `crontab -e` or the build scripts), and does not adjust the native cloud firewall (legacy
//! sourced AdjustBuildMachineNativeFirewall.sh; not implemented yet).

use super::{arg, out, Ctx};
use crate::error::{Error, Result};
use crate::firewall::buildmachine::{self, Tighten, EVENT_OBJECT, LIST_OBJECT};
use crate::firewall::reconcile::Options;
use std::io::BufRead;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
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
    let r = (|| -> Result<Option<Vec<String>>> {
        if id.is_empty() {
            return Err(Error::Usage("no BUILD_IDENTIFIER (argument 1)".into()));
        }
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
        let store = site.store_for_bucket(&buildmachine::bucket_2022(&id))?;
        store.bound_command();
        let t = Tighten {
            ssh_port: port,
            laptop_ip: laptop,
            prime_file: site.tmp.join("PRIME_FIREWALL"),
            opts: Options::default(),
        };
        let mut warnings = Vec::new();
        let r = buildmachine::tighten(&site, store.as_ref(), &t, &mut warnings);
        for w in &warnings {
            eprintln!("{}: {w}", ctx.prog);
        }
        Ok(r?.map(|rep| rep.lines))
    })();
    match r {
        Ok(Some(lines)) => {
            ctx.log("firewall/BUILD_MACHINE_FIREWALL.log", &lines.join("; "));
            0
        }
        Ok(None) => 0,
        Err(e) => {
            ctx.report_with(&e, "the firewall was left as it is");
            1
        }
    }
}

const CLOUDHOSTS: [&str; 5] = ["digitalocean", "exoscale", "linode", "vultr", "aws"];

/// AllowLaptopIP.sh (run from `helperscripts/`; answers on stdin, as legacy asked them).
pub fn allow_laptop_ip(ctx: &Ctx, _args: &[String]) -> i32 {
    let mut say = String::new();
    let flush = |s: &mut String| {
        out(s.as_bytes());
        s.clear();
    };
    if !std::path::Path::new("./AllowLaptopIP.sh").exists() {
        out(b"Sorry, this script has to be run from the helperscripts subdirectory\n");
        return 0;
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut next = || {
        lines
            .next()
            .and_then(|l| l.ok())
            .map(|l| l.trim().to_string())
    };
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
    let mut builds: Vec<String> =
        std::fs::read_dir(format!("{build_home}/buildconfiguration/{cloudhost}"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.contains("credentials"))
            .collect();
    builds.sort();
    for b in builds {
        say.push_str(&format!("{b}\n"));
    }
    say.push_str("Please enter the name of the build of the server you wish to connect with\n");
    flush(&mut say);
    let id = next().unwrap_or_default();
    say.push_str("Please enter the IP address you are modifying access for. You can find the ip address of your laptop using: www.whatsmyip.com\n");
    flush(&mut say);
    let ip = next().unwrap_or_default();
    say.push_str("Do you want to add or remove access for this ip address?\n1) Add  2) Remove\n");
    flush(&mut say);
    let mut mode = next().unwrap_or_default();
    while mode != "1" && mode != "2" {
        out(b"I don't recognise that input...\nPlease enter 1 or 2\n");
        match next() {
            Some(m) => mode = m,
            None => {
                ctx.report(&Error::Usage("no answer (stdin closed)".into()));
                return 1;
            }
        }
    }
    let r = (|| -> Result<()> {
        if id.is_empty() || id.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            return Err(Error::Usage(format!("{id:?} is not a build identifier")));
        }
        let net = buildmachine::parse_address(&ip).map_err(Error::Usage)?;
        let store = ctx.store_for_bucket(&buildmachine::bucket_2022(&id))?;
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
        let text = buildmachine::edit(&current, &net.addr.to_string(), mode == "1");
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
