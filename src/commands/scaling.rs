//! ManuallyScale, DailyScaleup/DailyScaledown and AdjustScaling: the legacy prompts and messages
//! (typos and double spaces included), with a validated count and a lost-update-free write.
//!
//! Deliberate differences from the legacy scripts:
//! - the count must be a whole number of 2 or more (legacy `[ N -lt 2 ]` let `abc`, `2.5`, and
//!   empty through, freezing the autoscaler); a bad count is asked for again while input lasts,
//!   and at the end of input the command fails (status 1) with the profile unchanged;
//! - DailyScale* validate too (the legacy wrote any string);
//! - the edited profile is what gets uploaded (legacy ManuallyScale uploaded `./profile.cnf` from
//!   the caller's directory when there was one), and no `/tmp/profile.cnf` is shared;
//! - a missing profile is created (`SCALING_MODE=static`), where legacy ManuallyScale uploaded an
//!   empty object;
//! - AdjustScaling `on` really switches scaling back on (legacy refused before it could).

use super::{arg, parse_args, read_line, Ctx};
use crate::datastore::Backend;
use crate::error::{Error, Result};
use crate::layout::Scaling;
use crate::scaling::{
    default_profile, parse_count, read_setting, set_count, update_profile, PROFILE_KEY, SWITCH_KEY,
};
use std::io::{BufRead, Write};

/// Ask until a valid count arrives; None when input ends first.
fn valid_count(
    first: Option<String>,
    retry_msg: &str,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> std::result::Result<u32, String> {
    let mut answer = first;
    loop {
        let Some(a) = answer else {
            return Err("no number of webservers was given".into());
        };
        match parse_count(&a) {
            Ok(n) => return Ok(n),
            Err(why) => {
                let _ = writeln!(out, "{retry_msg}");
                let _ = out.flush();
                answer = read_line(input);
                if answer.is_none() {
                    return Err(why);
                }
            }
        }
    }
}

/// [`valid_count`], with the reason on stderr when no valid count came.
fn ask_count(
    ctx: &Ctx,
    first: Option<String>,
    retry_msg: &str,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Option<u32> {
    valid_count(first, retry_msg, input, out)
        .map_err(|why| {
            ctx.report(&Error::Usage(format!(
                "{why}; the scaling profile is unchanged"
            )))
        })
        .ok()
}

fn apply_count(store: &dyn Backend, ctx: &Ctx, n: u32) -> Result<String> {
    update_profile(store, &ctx.home, |cur| {
        Ok(match cur {
            Some(t) if !t.trim().is_empty() => set_count(t, n),
            _ => default_profile(&n.to_string()),
        })
    })
}

/// ManuallyScale.sh [N] (autoscaler).
fn manually_scale_with(ctx: &Ctx, arg: &str, input: &mut dyn BufRead, out: &mut dyn Write) -> i32 {
    let first = if arg.is_empty() {
        let _ = writeln!(
            out,
            "Please enter the number of webservers you want to scale to, 2 or more, as an integer"
        );
        let _ = out.flush();
        read_line(input)
    } else {
        Some(arg.to_string())
    };
    let Some(n) = ask_count(
        ctx,
        first,
        "Number of webservers has to be 2 or more. Please supply a different value",
        input,
        out,
    ) else {
        return 1;
    };
    let r = ctx.store().and_then(|s| {
        apply_count(s.as_ref(), ctx, n)?;
        s.get_bytes(PROFILE_KEY)
    });
    match r {
        Ok(b) => {
            let v = read_setting(&String::from_utf8_lossy(&b), "NO_WEBSERVERS");
            if !v.is_empty() {
                let _ = writeln!(out, "Number of webservers is now successfully set to {v}");
            }
            0
        }
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}

/// DailyScaleup.sh N / DailyScaledown.sh N (autoscaler cron).
fn daily_scale(ctx: &Ctx, up: bool, arg: &str) -> i32 {
    if arg.is_empty() {
        return 0;
    }
    let what = if up {
        format!("Running daily scale up. Scaling up to ..... {arg} servers")
    } else {
        format!("Running daily scaledown. Scaling down to ..... {arg} servers")
    };
    ctx.log("MonitoringLog.log", &what);
    let n = match parse_count(arg) {
        Ok(n) => n,
        Err(why) => {
            ctx.log(
                "MonitoringLog.log",
                &format!("refused: {why}; the scaling profile is unchanged"),
            );
            ctx.report(&Error::Usage(format!(
                "{why}; the scaling profile is unchanged"
            )));
            return 1;
        }
    };
    match ctx.store().and_then(|s| apply_count(s.as_ref(), ctx, n)) {
        Ok(_) => 0,
        Err(e) => {
            ctx.log("MonitoringLog.log", &format!("failed: {e}"));
            ctx.report(&e);
            1
        }
    }
}

/// Options of AdjustScaling beyond the legacy positional `on`/`off` (second argument).
#[derive(Default, Debug)]
pub struct AdjustOptions {
    pub cloudhost: Option<String>,
    pub build_identifier: Option<String>,
    pub url: Option<String>,
    pub count: Option<String>,
    pub switch: Option<String>,
    /// `--yes`: answer the 2025 acknowledgement and confirmations (Y).
    pub yes: bool,
}

impl AdjustOptions {
    /// `[ignored] [on|off]` plus `--cloudhost X --build-identifier X --url X --count N`.
    pub fn parse(args: &[String]) -> std::result::Result<AdjustOptions, String> {
        let mut o = AdjustOptions::default();
        let mut positional = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (a.as_str(), None),
            };
            let slot = match flag {
                "--cloudhost" => &mut o.cloudhost,
                "--build-identifier" => &mut o.build_identifier,
                "--url" => &mut o.url,
                "--count" => &mut o.count,
                "--yes" if inline.is_none() => {
                    o.yes = true;
                    continue;
                }
                f if f.starts_with("--") => return Err(format!("unknown option {f}")),
                _ => {
                    positional.push(a.clone());
                    continue;
                }
            };
            *slot = match inline.or_else(|| it.next().cloned()) {
                Some(v) => Some(v),
                None => return Err(format!("{flag} needs a value")),
            };
        }
        o.switch = positional.get(1).cloned();
        Ok(o)
    }
}

const CLOUDHOSTS: [&str; 5] = ["digitalocean", "exoscale", "linode", "vultr", "aws"];

/// helperscripts/AdjustScaling.sh (build machine), by the generation's scaling contract.
pub fn adjust_scaling_with(
    ctx: &Ctx,
    opts: &AdjustOptions,
    cwd: &std::path::Path,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> i32 {
    match ctx.gen.contract.scaling {
        Scaling::Profile2022 => adjust_scaling_2022(ctx, opts, cwd, input, out),
        Scaling::StaticScale2025 => adjust_scaling_2025(ctx, opts, cwd, input, out),
    }
}

const CLOUDHOSTS_2025: [&str; 4] = ["digitalocean", "exoscale", "linode", "vultr"];

/// The 2025 build machine's AdjustScaling (`helperscripts/AdjustScaling.sh`): the legacy
/// prompts and lines, reading BUILD_HOME from `/home/buildhome.dat` (`ADT_BUILDHOME_FILE`
/// overrides) and the active build's `runtimedata/<cloudhost>/<id>/build_environment`
/// (PRODUCTION, WEBSITE_URL, REGION) as legacy's GetVariableValue does, the server user from the
/// build's `credentials/SERVERUSER`; N webservers shared among the autoscalers the cloud lists
/// (`as-<REGION>-<id>`) as the `STATIC_SCALE:` marker in the build's config bucket, with a
/// local copy in `runtimedata/<cloudhost>/<id>/`. Flags answer the questions (`--cloudhost`,
/// `--build-identifier`, `--count`, `--yes` for the acknowledgement and confirmations).
///
/// Differences from legacy: N must be a whole number of 2 or more here too (legacy's loop let
/// nothing but integers through either; at the end of input ours fails, status 1); the marker
/// is written before the old ones are removed (see `crate::scaling::static_scale`); the line
/// "You are running … and you are asking me to build …" gives the number of autoscalers (legacy
/// printed an empty misspelt variable); a build without WEBSITE_URL or server user is one line
/// on stderr and status 1 (legacy went on with a bucket named from empty values).
fn adjust_scaling_2025(
    ctx: &Ctx,
    opts: &AdjustOptions,
    cwd: &std::path::Path,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> i32 {
    use crate::scaling::static_scale;
    macro_rules! say {
        ($($t:tt)*) => {{ let _ = writeln!(out, $($t)*); let _ = out.flush(); }};
    }
    if !cwd.join("AdjustScaling.sh").exists() {
        say!("Sorry, this script has to be run from the helperscripts subdirectory");
        return 0;
    }
    say!("Remember, scaling takes 5 minutes to come online after the completion of an initial build. If less than 5 minutes has passed, wait a bit, then adjust scaling");
    say!("Press <enter> to acknowledge");
    if !opts.yes {
        let _ = read_line(input);
    }
    let first = super::first_line;
    let build_home = super::build_home_2025();
    let rt = build_home.join("runtimedata");
    // GetVariableValue: the active build's build_environment, `NAME="value"`.
    let variable = |name: &str| super::build_variable_2025(&build_home, name);
    if variable("PRODUCTION") != "1" {
        say!("You are not in PRODUCTION mode, cannot set scaling parameters");
        return 0;
    }
    let mut ask = |prompt: &[&str], given: &Option<String>, out: &mut dyn Write| {
        super::ask(input, out, prompt, given)
    };
    let ch = ask(
        &["Which cloudhost service are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4) Vultr. Please Enter the number for your cloudhost"],
        &opts.cloudhost,
        out,
    )
    .unwrap_or_default();
    let cloudhost = match ch.trim() {
        "1" | "2" | "3" | "4" => CLOUDHOSTS_2025[ch.trim().parse::<usize>().unwrap() - 1],
        name => match CLOUDHOSTS_2025.iter().find(|c| **c == name) {
            Some(c) => c,
            None => {
                say!("Unrecognised  cloudhost. Exiting ....");
                return 0;
            }
        },
    };
    let write = |path: std::path::PathBuf, text: &str| -> Result<()> {
        crate::fsutil::write_atomic(&path, format!("{text}\n").as_bytes(), None)
    };
    if cloudhost != first(&rt.join("ACTIVE_CLOUDHOST")) {
        let yes = if opts.yes {
            "Y".to_string()
        } else {
            ask(
                &[
                    "Your chosen cloudhost provider is different to your active cloudhost provider on this build machine",
                    "Do you want to set your chosen cloudhost to be the active cloudhost provider (Y|y)",
                ],
                &None,
                out,
            )
            .unwrap_or_default()
        };
        if matches!(yes.as_str(), "Y" | "y") {
            if let Err(e) = write(rt.join("ACTIVE_CLOUDHOST"), cloudhost) {
                ctx.report(&e);
                return 1;
            }
        }
    }
    if opts.build_identifier.is_none() {
        say!("What is the build identifier you want to adjust scaling for?");
        say!("You have these builds to choose from: ");
        for b in super::build_choices(
            &build_home,
            cloudhost,
            crate::layout::BuildState::RuntimeData2025,
        ) {
            say!("{b}");
        }
    }
    let id = ask(
        &["Please enter the name of the build of the server you wish to connect with"],
        &opts.build_identifier,
        out,
    )
    .unwrap_or_default();
    let id = id.trim().to_string();
    if let Err(e) = write(rt.join("ACTIVE_BUILD_IDENTIFIER"), &id) {
        ctx.report(&e);
        return 1;
    }
    let build_dir = rt.join(cloudhost).join(&id);
    let server_user = first(&build_dir.join("credentials").join("SERVERUSER"));
    let url = variable("WEBSITE_URL");
    if url.is_empty() || server_user.is_empty() {
        ctx.report(&Error::Config(format!(
            "build {id:?} on {cloudhost} has no WEBSITE_URL in its build_environment or no \
             credentials/SERVERUSER; the scaling profile is unchanged"
        )));
        return 1;
    }
    let bucket = ctx.gen.config_bucket(&url, &server_user);
    let r: Result<i32> = (|| {
        let store = super::bounded(ctx.store_for_bucket(&bucket))?;
        let total = |store: &dyn Backend| -> Result<u32> {
            Ok(static_scale::markers(store)?
                .iter()
                .filter_map(|o| static_scale::counts(&o.key))
                .flatten()
                .sum())
        };
        say!(
            "Scaling value is currently set to {} webservers",
            total(store.as_ref())?
        );
        say!("Please enter the number of webservers that you want to scale to");
        let first_answer = opts.count.clone().or_else(|| read_line(input));
        let n = match valid_count(first_answer, "Sorry integers 2 or higher only", input, out) {
            Ok(n) => n,
            Err(why) => {
                ctx.report(&Error::Usage(format!(
                    "{why}; the scaling profile is unchanged"
                )));
                return Ok(1);
            }
        };
        say!("");
        say!("Your number of webservers is about to be set to {n}");
        say!("Enter 'Y' or 'y' to accept, anything else to abort");
        let ok = opts.yes || matches!(read_line(input).as_deref(), Some("Y" | "y"));
        if !ok {
            return Ok(0);
        }
        let region = variable("REGION");
        let site = url.split('.').nth(1).unwrap_or("");
        let pattern = format!("as-{region}-{id}");
        let autoscalers = crate::cloud::Cloud::named(&build_home, cloudhost, &region, site)?
            .servers()?
            .iter()
            .filter(|s| s.name.contains(&pattern))
            .count() as u32;
        if autoscalers == 0 {
            say!("There doesn't seem to be any autoscalers running it's pointless trying to set a scaling value");
            return Ok(0);
        }
        say!("You are running {autoscalers} and you are asking me to build {n} webservers");
        say!("Deleting existing Scaling Profile from datastore");
        let marker = static_scale::write(store.as_ref(), &build_dir, n, autoscalers)?;
        if static_scale::markers(store.as_ref())?
            .iter()
            .any(|o| o.key == marker)
        {
            say!("New Scaling Profile is present in the datastore : {marker}");
        }
        say!("");
        say!(
            "Your number of webservers has been successfully set to: {}",
            total(store.as_ref())?
        );
        say!("");
        Ok(0)
    })();
    match r {
        Ok(s) => s,
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}

/// The 2022 AdjustScaling: the profile `scalingprofile/profile.cnf` in the bucket named from the
/// URL asked for.
fn adjust_scaling_2022(
    ctx: &Ctx,
    opts: &AdjustOptions,
    cwd: &std::path::Path,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> i32 {
    macro_rules! say {
        ($($t:tt)*) => {{ let _ = writeln!(out, $($t)*); let _ = out.flush(); }};
    }
    if !cwd.join("AdjustScaling.sh").exists() {
        say!("Sorry, this script has to be run from the helperscripts subdirectory");
        return 0;
    }
    let cwd_s = cwd.to_string_lossy();
    let build_home = match cwd_s.find("/helper") {
        Some(i) => std::path::PathBuf::from(&cwd_s[..i]),
        None => cwd.to_path_buf(),
    };
    let mut ask = |prompt: &[&str], given: &Option<String>, out: &mut dyn Write| {
        super::ask(input, out, prompt, given)
    };
    let ch = ask(
        &["Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4) Vultr 5)AWS. Please Enter the number for your cloudhost"],
        &opts.cloudhost,
        out,
    )
    .unwrap_or_default();
    let cloudhost = match ch.trim() {
        "1" | "2" | "3" | "4" | "5" => CLOUDHOSTS[ch.trim().parse::<usize>().unwrap() - 1],
        name => match CLOUDHOSTS.iter().find(|c| **c == name) {
            Some(c) => c,
            None => {
                say!("Unrecognised  cloudhost. Exiting ....");
                return 0;
            }
        },
    };
    if opts.build_identifier.is_none() {
        say!("What is the build identifier you want to allow access for?");
        say!("You have these builds to choose from: ");
        for b in super::build_choices(
            &build_home,
            cloudhost,
            crate::layout::BuildState::BuildConfiguration2022,
        ) {
            say!("{b}");
        }
    }
    // The build identifier is asked for, as before, and (as before) not needed further.
    let _ = ask(
        &["Please enter the name of the build of the server you wish to connect with"],
        &opts.build_identifier,
        out,
    );
    let url = ask(
        &["OK, can you please tell me the FULL URL for the website you want to scale up/down is."],
        &opts.url,
        out,
    )
    .unwrap_or_default();
    let bucket = ctx.gen.config_bucket(url.trim(), "");
    let store = match ctx.store_for_bucket(&bucket) {
        Ok(s) => s,
        Err(e) => {
            ctx.report(&e);
            return 1;
        }
    };
    match store.bucket_exists() {
        Ok(true) => {}
        Ok(false) => {
            say!(
                "Can't find the configuration bucket in your datastore for website: {}",
                url.trim()
            );
            say!("I have to exit, run the script again using a URL with an existing configuration bucket");
            return 0;
        }
        Err(e) => {
            ctx.report(&e);
            return 1;
        }
    }
    let r: Result<i32> = (|| {
        let switch = opts.switch.as_deref().unwrap_or("");
        if switch == "on" {
            store.delete(SWITCH_KEY)?;
        } else if store.any_with_prefix(SWITCH_KEY)? {
            say!("Sorry, scaling is switched off at the moment. You can't switch it on using this script");
            return Ok(0);
        }
        if switch == "off" {
            let started = std::time::Instant::now();
            store.put_bytes(SWITCH_KEY, b"")?;
            say!(
                "upload: '{}' -> 's3://{bucket}/{SWITCH_KEY}' (0 bytes in {:.1} seconds, -1.00 B/s) [1 of 1]",
                ctx.tmp.join(SWITCH_KEY).display(),
                started.elapsed().as_secs_f64()
            );
            return Ok(0);
        }
        let current = match store.get_bytes(PROFILE_KEY) {
            Ok(b) => read_setting(&String::from_utf8_lossy(&b), "NO_WEBSERVERS"),
            Err(Error::NotFound(_)) => {
                say!("Warning, couldn't find profile file, will try and create a new one for you");
                String::new()
            }
            Err(e) => return Err(e),
        };
        let current = if current.is_empty() {
            "0".to_string()
        } else {
            current
        };
        let bar = "#".repeat(114);
        say!("{bar}");
        say!("Your number of webservers is currently set to: {current}");
        say!("What do you want to set your number of webservers to, please enter the number (2 or more) of webservers you want - as an integer");
        say!("{bar}");
        let first = opts.count.clone().or_else(|| read_line(input));
        let Some(n) = ask_count(
            ctx,
            first,
            "Number of webservers has to be 2 or more. Please input a different value",
            input,
            out,
        ) else {
            return Ok(1);
        };
        update_profile(store.as_ref(), &ctx.home, |cur| {
            Ok(match cur {
                Some(t) if !read_setting(t, "NO_WEBSERVERS").is_empty() => t
                    .lines()
                    .map(|l| match l.find("NO_WEBSERVER") {
                        Some(i) => format!("{}NO_WEBSERVERS={n}\n", &l[..i]),
                        None => format!("{l}\n"),
                    })
                    .collect(),
                _ => default_profile(&n.to_string()),
            })
        })?;
        let back = store.get_bytes(PROFILE_KEY)?;
        say!("");
        say!(
            "Your number of webservers has been successfully set to: {}",
            read_setting(&String::from_utf8_lossy(&back), "NO_WEBSERVERS")
        );
        say!("");
        Ok(0)
    })();
    match r {
        Ok(s) => s,
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}

/// The scaling profile, read or changed through the same lost-update-free write as the legacy
/// controls.
#[derive(clap::Parser)]
#[command(name = "adt scaling-profile")]
pub(super) enum ProfileCmd {
    /// Print the profile (the default).
    Show,
    /// Set the line `KEY=VALUE` (replacing the line that starts `KEY=`, else appending).
    Set { key: String, value: String },
}

fn profile_command(ctx: &Ctx, cmd: ProfileCmd, out: &mut dyn Write) -> i32 {
    let r: Result<String> = (|| {
        let store = ctx.store()?;
        match cmd {
            ProfileCmd::Show => store
                .get_bytes(PROFILE_KEY)
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            ProfileCmd::Set { key: k, value: v }
                if !k.is_empty() && !k.contains(['=', '\n']) && !v.contains('\n') =>
            {
                update_profile(store.as_ref(), &ctx.home, |cur| {
                    let cur = cur
                        .filter(|t| !t.trim().is_empty())
                        .unwrap_or("SCALING_MODE=static\n");
                    let mut found = false;
                    let mut new: String = cur
                        .lines()
                        .map(|l| {
                            if l.starts_with(&format!("{k}=")) {
                                found = true;
                                format!("{k}={v}\n")
                            } else {
                                format!("{l}\n")
                            }
                        })
                        .collect();
                    if !found {
                        new.push_str(&format!("{k}={v}\n"));
                    }
                    Ok(new)
                })?;
                Ok(String::new())
            }
            ProfileCmd::Set { .. } => Err(Error::Usage(
                "KEY must be non-empty without '=' or a newline, VALUE without a newline".into(),
            )),
        }
    })();
    match r {
        Ok(s) => {
            let _ = out.write_all(s.as_bytes());
            0
        }
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}

/// ManuallyScale.sh [N] (autoscaler): set the number of webservers in the scaling profile.
pub fn manually_scale(ctx: &Ctx, args: &[String]) -> i32 {
    let stdin = std::io::stdin();
    manually_scale_with(ctx, arg(args, 0), &mut stdin.lock(), &mut std::io::stdout())
}

/// DailyScaleup.sh N (autoscaler cron).
pub fn daily_scaleup(ctx: &Ctx, args: &[String]) -> i32 {
    daily_scale(ctx, true, arg(args, 0))
}

/// DailyScaledown.sh N (autoscaler cron).
pub fn daily_scaledown(ctx: &Ctx, args: &[String]) -> i32 {
    daily_scale(ctx, false, arg(args, 0))
}

/// helperscripts/AdjustScaling.sh [ignored] [on|off] [--cloudhost X] [--build-identifier X]
/// [--url URL] [--count N] (build machine). Prompts for whatever the flags do not give.
pub fn adjust_scaling(ctx: &Ctx, args: &[String]) -> i32 {
    let opts = match AdjustOptions::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("AdjustScaling.sh: {e}");
            return 2;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let stdin = std::io::stdin();
    adjust_scaling_with(ctx, &opts, &cwd, &mut stdin.lock(), &mut std::io::stdout())
}

/// adt scaling-profile show | set KEY VALUE: read or change the scaling profile safely.
pub fn scaling_profile(ctx: &Ctx, args: &[String]) -> i32 {
    let cmd = if args.is_empty() {
        ProfileCmd::Show
    } else {
        match parse_args("adt scaling-profile", args) {
            Ok(c) => c,
            Err(status) => return status,
        }
    };
    profile_command(ctx, cmd, &mut std::io::stdout())
}

/// The 2025 autoscaler's `utilities/processing/ScalingUpdateEvent.sh N`: share N webservers
/// among the running autoscalers (`as-<REGION>-<BUILDIDENTIFIER>` servers on the cloud) as the
/// `STATIC_SCALE:` marker (see `crate::scaling::static_scale`). As legacy: an empty N does
/// nothing, and a marker younger than 10 minutes (`ADT_STATIC_SCALE_MIN_AGE` seconds) is left
/// alone (status 0, silently); nothing is
/// printed. N must be a whole number of 2 or more (legacy took anything); a bad N, no running
/// autoscaler or a failure is one line on stderr and status 1, the profile unchanged.
pub fn scaling_update_event(ctx: &Ctx, args: &[String]) -> i32 {
    use crate::scaling::static_scale;
    let n = arg(args, 0);
    if n.is_empty() {
        return 0;
    }
    let r = (|| -> Result<()> {
        let n = parse_count(n).map_err(Error::Usage)?;
        let store = super::bounded(ctx.store())?;
        if let Some(m) = static_scale::markers(store.as_ref())?.first() {
            // A time ahead of ours (clock skew) is a marker written just now.
            let age = m.modified.map(|t| {
                std::time::SystemTime::now()
                    .duration_since(t)
                    .unwrap_or_default()
            });
            let min_age = crate::knobs::env_u64("ADT_STATIC_SCALE_MIN_AGE", 600);
            if age.is_some_and(|a| a <= std::time::Duration::from_secs(min_age)) {
                log::debug!("{} is younger than {min_age} s: left alone", m.key);
                return Ok(());
            }
        }
        let text = ctx.settings()?;
        let v = |k: &str| crate::config::value(&text, k).unwrap_or_default();
        let pattern = format!("as-{}-{}", v("REGION"), v("BUILDIDENTIFIER"));
        let cloud = crate::cloud::Cloud::open_as(ctx, &v("CLOUDHOST"))?;
        let autoscalers = cloud
            .servers()?
            .iter()
            .filter(|s| s.name.contains(&pattern))
            .count() as u32;
        let dir = ctx.home.join("runtime").join("scaling");
        static_scale::write(store.as_ref(), &dir, n, autoscalers).map(|_| ())
    })();
    match r {
        Ok(()) => 0,
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}
