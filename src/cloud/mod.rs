//! Cloud providers behind one narrow interface: every call is a provider CLI command line
//! (doctl, linode-cli, exo, vultr, aws) run through [`Cli`], which tests replace with stand-in
//! executables on PATH (or, for linode-cli, run for real against a local API) and whose
//! command lines are checked against fixtures.
//!
//! Differences from legacy:
//! - Listings are complete. linode-cli lists are run with `--all-rows` (without it linode-cli
//!   prints the first page of 100 and drops the rest silently); vultr-cli's pages are followed
//!   through `meta.links.next` with `--cursor` ([`Cli::query_all`]); doctl fetches every page
//!   itself and exo lists everything. Legacy grepped the first page's table.
//! - A failed CLI run is one line ([`failure`]): the program, its subcommand, its exit status
//!   and the provider's whole reason (an API error's reason below its `Request failed: 400`
//!   line, an argument error's `error:` line rather than its usage, a traceback's exception),
//!   with token variables' values, secret option values and bearer tokens redacted. A missing
//!   or refused token says so and where the CLI reads it from. Legacy showed nothing.
//! - Every CLI run is bounded (`ADT_CLI_DEADLINE`, default 300 s); legacy waited forever.
//! - Creates are deterministic: linode-cli creates carry `--no-defaults`, so the operator's
//!   linode-cli defaults (`authorized_users`, …) never join a new server, record or firewall.

pub mod local;
pub mod provision;
pub mod servers;

pub use provision::{fleet_ssh, webserver_home};

use crate::config;
use crate::error::{Error, Result};
use crate::site::Site;
use local::LocalCloud;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use servers::{Server, ServerSpec};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The cloud host of a machine, from the legacy marker files in its home (`DROPLET`,
/// `EXOSCALE`, `LINODE`, `VULTR`, `AWS`) or the CLOUDHOST setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    DigitalOcean,
    Exoscale,
    Linode,
    Vultr,
    Aws,
}

impl Provider {
    pub fn detect(home: &Path, cloudhost_setting: Option<&str>) -> Option<Provider> {
        for (marker, p) in [
            ("DROPLET", Provider::DigitalOcean),
            ("EXOSCALE", Provider::Exoscale),
            ("LINODE", Provider::Linode),
            ("VULTR", Provider::Vultr),
            ("AWS", Provider::Aws),
        ] {
            if home.join(marker).exists() {
                return Some(p);
            }
        }
        match cloudhost_setting? {
            "digitalocean" => Some(Provider::DigitalOcean),
            "exoscale" => Some(Provider::Exoscale),
            "linode" => Some(Provider::Linode),
            "vultr" => Some(Provider::Vultr),
            "aws" => Some(Provider::Aws),
            _ => None,
        }
    }
}

/// Runs provider CLIs (found on PATH, then the legacy install locations) and keeps the command
/// lines it ran. With `dry_run`, commands that change something are recorded, not run.
#[derive(Default)]
pub struct Cli {
    pub dry_run: bool,
    pub ran: Vec<String>,
}

/// A provider CLI: PATH, then where the legacy installers put them.
fn find(prog: &str) -> Option<PathBuf> {
    crate::process::find_program(prog, &["/usr/local/bin", "/usr/bin", "/snap/bin"])
}

impl Cli {
    /// A read-only query: always runs.
    pub fn query(&mut self, prog: &str, args: &[&str]) -> Result<String> {
        self.exec(prog, args, true)
    }

    /// A change: recorded, and run unless this is a dry run.
    pub fn change(&mut self, prog: &str, args: &[&str]) -> Result<String> {
        self.exec(prog, args, !self.dry_run)
    }

    /// A listing, complete: every page of it, as the CLI printed each. linode-cli is given
    /// `--all-rows` on the command line by its callers; vultr-cli pages by cursor, so its
    /// `meta.links.next` is followed with `--cursor`; doctl fetches every page itself and exo
    /// lists everything, so those are one run.
    pub fn query_all(&mut self, prog: &str, args: &[&str]) -> Result<Vec<String>> {
        let first = self.query(prog, args)?;
        if prog != "vultr" {
            return Ok(vec![first]);
        }
        let mut pages = vec![first];
        let mut seen = std::collections::BTreeSet::new();
        loop {
            let what = format!("{prog} {}", subcommand(args));
            let meta: VultrPage = json(pages.last().map_or("", |p| p), &what)?;
            let next = meta
                .meta
                .and_then(|m| m.links)
                .and_then(|l| l.next)
                .unwrap_or_default();
            if next.is_empty() || !seen.insert(next.clone()) {
                return Ok(pages);
            }
            let mut more = args.to_vec();
            more.extend(["--cursor", &next]);
            pages.push(self.query(prog, &more)?);
        }
    }

    fn exec(&mut self, prog: &str, args: &[&str], really: bool) -> Result<String> {
        let line = std::iter::once(prog.to_string())
            .chain(args.iter().map(|a| shell_word(a)))
            .collect::<Vec<_>>()
            .join(" ");
        self.ran.push(line);
        if !really {
            return Ok(String::new());
        }
        let path = find(prog).ok_or_else(|| Error::Config(format!("{prog} is not installed")))?;
        // Bounded: a CLI that hangs on the network is killed (with its process group) and
        // reported as "did not finish in time" (`ADT_CLI_DEADLINE`, seconds, default 300).
        let out = crate::process::Run::new(path)
            .args(args)
            .deadline(std::time::Duration::from_secs(crate::knobs::env_u64(
                "ADT_CLI_DEADLINE",
                300,
            )))
            .output()?;
        if !out.success() {
            return Err(Error::Remote(failure(prog, args, &out)));
        }
        Ok(out.stdout)
    }
}

/// The paging part of a vultr-cli JSON listing.
#[derive(Deserialize)]
struct VultrPage {
    meta: Option<VultrMeta>,
}

#[derive(Deserialize)]
struct VultrMeta {
    links: Option<VultrLinks>,
}

#[derive(Deserialize)]
struct VultrLinks {
    next: Option<String>,
}

/// The subcommand of a CLI command line: its leading words, options and their values skipped
/// (`-O json compute instance list -z ZONE` is `compute instance list`), up to the first
/// argument that names something (an id, a domain) rather than an operation.
pub fn subcommand(args: &[&str]) -> String {
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a.starts_with('-') {
            if matches!(*a, "-O" | "-o" | "-z") {
                it.next();
            }
            continue;
        }
        // The first word may hold digits (`aws ec2 …`); later ones that do are names (`u-3`).
        let first_ok = words.is_empty()
            && a.starts_with(|c: char| c.is_ascii_lowercase())
            && a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if words.len() == 4
            || !(first_ok
                || a.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_'))
        {
            break;
        }
        words.push(*a);
    }
    words.join(" ")
}

/// Environment variables whose values are secrets the CLIs read (never shown in messages).
const SECRET_VARS: &[&str] = &[
    "LINODE_CLI_TOKEN",
    "DIGITALOCEAN_ACCESS_TOKEN",
    "DIGITALOCEAN_TOKEN",
    "VULTR_API_KEY",
    "EXOSCALE_API_KEY",
    "EXOSCALE_API_SECRET",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Options whose values are secrets on a command line we run.
const SECRET_OPTIONS: &[&str] = &["--root_pass", "--root-pass", "--password", "--api-key"];

/// A failed CLI run as one line: the program, its subcommand, its exit status and the reason
/// the provider gave, whole (an API error's reason below its status line, an argument error's
/// `error:` line rather than its usage, a traceback's exception rather than its first line),
/// with tokens and other secrets redacted. A missing or refused token says so.
pub fn failure(prog: &str, args: &[&str], out: &crate::process::Output) -> String {
    let status = match (out.timed_out, out.code) {
        (true, _) => "did not finish in time".to_string(),
        (false, Some(c)) => format!("exit {c}"),
        (false, None) => "killed by a signal".to_string(),
    };
    let sub = subcommand(args);
    let head = format!("{prog} {sub} failed ({status})");
    let mut reason = reason_of(&out.stderr);
    let lower = format!("{}\n{}", out.stderr, out.stdout).to_lowercase();
    let missing = [
        "personal access token:",
        "access token is required",
        "export your vultr api key",
        "no accounts",
        "no account",
        "unable to locate credentials",
    ]
    .iter()
    .any(|m| lower.contains(m));
    let refused = [
        "invalid token",
        "invalid api token",
        "invalid api key",
        "unable to authenticate",
        "unauthorized",
        "request failed: 401",
        ": 401 ",
        "\"status\":401",
        "authfailure",
        "invalidclienttokenid",
        "signaturedoesnotmatch",
    ]
    .iter()
    .any(|m| lower.contains(m));
    let how = match prog {
        "linode-cli" => "LINODE_CLI_TOKEN or `linode-cli configure`",
        "doctl" => "DIGITALOCEAN_ACCESS_TOKEN or `doctl auth init`",
        "vultr" => "VULTR_API_KEY or vultr-cli's config file",
        "exo" => "EXOSCALE_API_KEY/EXOSCALE_API_SECRET or `exo config`",
        "aws" => "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or `aws configure`",
        _ => "the CLI's configuration",
    };
    if missing {
        reason = format!("no API token is configured (set {how})");
    } else if refused {
        reason = format!("the API token was refused ({reason}; check {how})");
    }
    if reason.is_empty() {
        reason = out
            .stdout
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .trim()
            .to_string();
    }
    redact(&format!("{head}: {reason}"), args)
}

/// The meaningful part of a CLI's stderr, on one line.
fn reason_of(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim_end).collect();
    if let Some(t) = lines
        .iter()
        .position(|l| l.starts_with("Traceback (most recent call last)"))
    {
        // The exception: the last unindented line of the traceback.
        let exc = lines[t..]
            .iter()
            .rev()
            .find(|l| !l.is_empty() && !l.starts_with(' '))
            .copied()
            .unwrap_or("");
        let before: Vec<String> = lines[..t].iter().filter_map(|l| clean(l)).collect();
        return before
            .into_iter()
            .chain((!exc.is_empty()).then(|| exc.to_string()))
            .collect::<Vec<_>>()
            .join(": ");
    }
    // An argument error: its `error:` line says what was wrong, the usage above it does not.
    let has_error = lines
        .iter()
        .any(|l| l.contains(": error: ") || l.starts_with("error: "));
    let mut kept = Vec::new();
    let mut in_usage = false;
    for l in &lines {
        if l.starts_with("usage:") || l.starts_with("Usage:") {
            in_usage = has_error;
            if in_usage {
                continue;
            }
        } else if in_usage && (l.starts_with(' ') || l.is_empty()) {
            continue;
        } else {
            in_usage = false;
        }
        if let Some(c) = clean(l) {
            kept.push(c);
        }
    }
    kept.join(": ")
}

/// One line of a CLI's error output as text: table borders and the `field | reason` header of
/// linode-cli's error table dropped, its cells joined; a JSON list of API errors as `field:
/// reason`; a vultr-style `{"error": …}` as its message.
fn clean(line: &str) -> Option<String> {
    let t = line.trim();
    if t.is_empty() || t == "errors" {
        return None;
    }
    if t.chars()
        .all(|c| "─━│┃┌┐└┘├┤┬┴┼═║╔╗╚╝╠╣╦╩╬+-=| ".contains(c))
    {
        return None;
    }
    if t.starts_with('[') || t.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(t) {
            let items = match &v {
                serde_json::Value::Array(a) => a.clone(),
                _ => vec![v.clone()],
            };
            let msgs: Vec<String> = items
                .iter()
                .filter_map(|e| {
                    let r = e
                        .get("reason")
                        .or_else(|| e.get("error"))
                        .or_else(|| e.get("message"))?
                        .as_str()?;
                    Some(match e.get("field").and_then(|f| f.as_str()) {
                        Some(f) if !f.is_empty() => format!("{f}: {r}"),
                        _ => r.to_string(),
                    })
                })
                .collect();
            if !msgs.is_empty() {
                return Some(msgs.join("; "));
            }
        }
    }
    if t.contains('│') || t.contains('┃') {
        let cells: Vec<&str> = t
            .split(['│', '┃'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if cells.is_empty() || cells == ["field", "reason"] {
            return None;
        }
        return Some(cells.join(": "));
    }
    Some(t.to_string())
}

/// `text` with the secrets we know of replaced by `<redacted>`: the CLIs' token variables'
/// values, secret option values on the command line, and bearer tokens; cut to 600 characters.
fn redact(text: &str, args: &[&str]) -> String {
    let mut secrets: Vec<String> = SECRET_VARS
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .collect();
    for w in args.windows(2) {
        if SECRET_OPTIONS.contains(&w[0]) {
            secrets.push(w[1].to_string());
        }
    }
    for a in args {
        for o in SECRET_OPTIONS {
            if let Some(v) = a.strip_prefix(&format!("{o}=")) {
                secrets.push(v.to_string());
            }
        }
    }
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s.as_str(), "<redacted>");
    }
    let mut words: Vec<String> = Vec::new();
    let mut after_bearer = false;
    for w in out.split(' ') {
        if after_bearer && !w.is_empty() {
            words.push("<redacted>".into());
        } else {
            words.push(w.to_string());
        }
        after_bearer = w.eq_ignore_ascii_case("bearer");
    }
    let out = words.join(" ");
    if out.chars().count() > 600 {
        out.chars().take(600).collect::<String>() + "…"
    } else {
        out
    }
}

/// A word as a shell would need it quoted (for the recorded command lines).
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:,=@%+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `n` random ASCII letters and digits from /dev/urandom (server names, one-off passwords).
pub fn random_alnum(n: usize) -> String {
    use std::io::Read;
    let mut out = String::new();
    let Ok(mut f) = std::fs::File::open("/dev/urandom") else {
        return out;
    };
    let mut b = [0u8; 64];
    while out.len() < n && f.read_exact(&mut b).is_ok() {
        out.extend(
            b.iter()
                .map(|x| *x as char)
                .filter(|c| c.is_ascii_alphanumeric())
                .take(n - out.len()),
        );
    }
    out
}

/// Parse a CLI's JSON answer into the shape the caller reads (fields it does not read are
/// ignored).
pub fn json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Remote(format!("{what}: unexpected answer: {e}")))
}

/// An id as the provider CLIs print them: a number (DigitalOcean's droplets, Linode's linodes,
/// firewalls and domains, Vultr's OS and firewall rules), a string (Exoscale's and Vultr's DNS
/// records), or null or missing. Shown as the number, the string itself, or `null`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Id {
    Num(serde_json::Number),
    Str(String),
    #[default]
    Null,
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Num(n) => n.fmt(f),
            Id::Str(s) => f.write_str(s),
            Id::Null => f.write_str("null"),
        }
    }
}

// ---------- the cloud a machine is on ----------

/// The cloud the autoscaler and the provider scripts work on: the `local` cloud, or a cloud
/// host's CLI.
pub enum Cloud {
    Local(LocalCloud),
    /// A cloud host's CLI, and the site name (second label of WEBSITEURL).
    Cli(std::sync::Mutex<servers::CliCloud>, String),
}

impl Cloud {
    pub fn open(ctx: &Site) -> Result<Cloud> {
        Cloud::open_as(ctx, "")
    }

    /// The cloud named `cloudhost` (the provider scripts' argument; empty: the CLOUDHOST
    /// setting). As legacy, a marker file in the home (`DROPLET`, `LINODE`…) wins.
    pub fn open_as(ctx: &Site, cloudhost: &str) -> Result<Cloud> {
        let text = ctx.settings()?;
        let v = |k: &str| config::value(&text, k).unwrap_or_default();
        let site = v("WEBSITEURL").split('.').nth(1).unwrap_or("").to_string();
        let setting = v("CLOUDHOST");
        let cloudhost = if cloudhost.is_empty() {
            setting.as_str()
        } else {
            cloudhost
        };
        match cloudhost {
            "local" => Ok(Cloud::Local(LocalCloud {
                state: std::env::var_os("ADT_LOCAL_CLOUD")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| ctx.home.join(".adt-rs").join("localcloud")),
                server_home: webserver_home(ctx),
                ssh_port: v("SSHPORT").parse().map_err(|_| {
                    Error::Config(format!(
                        "SSHPORT is not a port in {}",
                        ctx.settings_path().display()
                    ))
                })?,
                authorized_key: ctx.home.join(".ssh").join(format!(
                    "id_{}_AGILE_DEPLOYMENT_BUILD_KEY.pub",
                    v("ALGORITHM")
                )),
            })),
            c => Cloud::named(&ctx.home, c, &v("REGION"), &site),
        }
    }

    /// A cloud host's CLI by name, without a machine's settings (the build machine, which
    /// keeps them per build): `region` the zone, `site` the second label of the website's URL.
    /// As legacy, a marker file in `home` (`DROPLET`, `LINODE`…) wins.
    pub fn named(home: &Path, cloudhost: &str, region: &str, site: &str) -> Result<Cloud> {
        use servers::{CliCloud, Host};
        let host = match Provider::detect(home, Some(cloudhost)) {
            Some(Provider::DigitalOcean) => Host::DigitalOcean,
            Some(Provider::Exoscale) => Host::Exoscale,
            Some(Provider::Linode) => Host::Linode,
            Some(Provider::Vultr) => Host::Vultr,
            Some(Provider::Aws) => Host::Aws,
            _ => {
                return Err(Error::Config(format!(
                    "server operations on cloud host {cloudhost:?} are not implemented by adt"
                )))
            }
        };
        let cli = CliCloud {
            host,
            cli: Cli::default(),
            zone: region.to_string(),
        };
        Ok(Cloud::Cli(std::sync::Mutex::new(cli), site.to_string()))
    }

    /// Every server the cloud lists (the local cloud's: public = private).
    pub fn servers(&self) -> Result<Vec<Server>> {
        match self {
            Cloud::Local(c) => Ok(c
                .list_servers()?
                .into_iter()
                .map(|s| Server {
                    id: s.name.clone(),
                    name: s.name,
                    public: Some(s.ip),
                    private: Some(s.ip),
                    created: s.created,
                })
                .collect()),
            Cloud::Cli(c, _) => lock(c).list(),
        }
    }

    /// Destroy a server as listed by [`Cloud::servers`].
    pub fn destroy_server(&self, s: &Server) -> Result<()> {
        match self {
            Cloud::Local(c) => c.destroy(&s.name),
            Cloud::Cli(c, _) => lock(c).destroy(s),
        }
    }

    /// The cloud host's CLI driver (None on the local cloud).
    pub fn cli(&self) -> Option<std::sync::MutexGuard<'_, servers::CliCloud>> {
        match self {
            Cloud::Local(_) => None,
            Cloud::Cli(c, _) => Some(lock(c)),
        }
    }

    /// This build's webservers (legacy names ending in the build identifier), with a public IP.
    pub fn our_webservers(&self, build_id: &str) -> Result<Vec<Server>> {
        Ok(self
            .servers()?
            .into_iter()
            .filter(|s| self.is_our_webserver(s, build_id) && s.public.is_some())
            .collect())
    }

    /// Whether a listed server is one of this build's webservers (by its legacy name).
    pub fn is_our_webserver(&self, s: &Server, build_id: &str) -> bool {
        match self {
            Cloud::Local(_) => {
                s.name.starts_with("webserver-") && s.name.ends_with(&format!("-{build_id}"))
            }
            Cloud::Cli(_, site) => servers::is_our_webserver(&s.name, site, build_id),
        }
    }

    /// This build's webservers: (name, public ip).
    pub fn webservers(&self, build_id: &str) -> Result<Vec<(String, IpAddr)>> {
        Ok(self
            .our_webservers(build_id)?
            .into_iter()
            .filter_map(|s| Some((s.name, s.public?)))
            .collect())
    }
    /// Create a webserver (on a cloud host, as `spec` says); returns it with its IPs.
    pub fn create(&self, name: &str, spec: Option<&ServerSpec>) -> Result<Server> {
        match (self, spec) {
            (Cloud::Local(c), _) => {
                let ip = c.create(name)?;
                Ok(Server {
                    id: name.into(),
                    name: name.into(),
                    public: Some(ip),
                    private: Some(ip),
                    created: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()
                        .map(|d| d.as_secs()),
                })
            }
            (Cloud::Cli(c, _), Some(spec)) => servers::create_and_wait(c, spec),
            (Cloud::Cli(..), None) => {
                Err(Error::Config(format!("no server specification for {name}")))
            }
        }
    }

    /// A cloud host's server specification for a new webserver (None on the local cloud).
    pub fn spec(&self, ctx: &Site, name: &str) -> Result<Option<ServerSpec>> {
        match self {
            Cloud::Local(_) => Ok(None),
            Cloud::Cli(c, _) => {
                let host = lock(c).host;
                ServerSpec::from_settings(ctx, host, name).map(Some)
            }
        }
    }

    pub fn destroy(&self, name: &str) -> Result<()> {
        match self {
            Cloud::Local(c) => c.destroy(name),
            Cloud::Cli(c, _) => {
                let mut c = lock(c);
                let server = c
                    .list()?
                    .into_iter()
                    .find(|s| s.name == name)
                    .ok_or_else(|| Error::Remote(format!("the cloud lists no server {name}")))?;
                c.destroy(&server)
            }
        }
    }
}

/// A mutex's guard, also after a panic in another holder.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_alnum_gives_what_is_asked() {
        for n in [0, 4, 28, 200] {
            let r = super::random_alnum(n);
            assert_eq!(r.len(), n);
            assert!(r.chars().all(|c| c.is_ascii_alphanumeric()), "{r}");
        }
        assert_ne!(super::random_alnum(28), super::random_alnum(28));
    }

    fn out(code: i32, stdout: &str, stderr: &str) -> crate::process::Output {
        crate::process::Output {
            code: Some(code),
            stdout: stdout.into(),
            stderr: stderr.into(),
            timed_out: false,
        }
    }

    #[test]
    fn failures_carry_the_subcommand_the_status_and_the_whole_reason() {
        use super::failure;
        // linode-cli's API error (table output): the reason is below the status line.
        let table = "Request failed: 400\nerrors                                  \n┌───────┬──────────────────────────────┐\n│ field │ reason                       │\n├───────┼──────────────────────────────┤\n│       │ Linode busy; try again later │\n└───────┴──────────────────────────────┘\n";
        assert_eq!(
            failure("linode-cli", &["linodes", "shutdown", "73"], &out(2, "", table)),
            "linode-cli linodes shutdown failed (exit 2): Request failed: 400: Linode busy; try again later"
        );
        // The same with --json: a JSON list of errors, with a field.
        let j =
            "Request failed: 400\n[{\"field\": \"region\", \"reason\": \"region is not valid\"}]\n";
        assert_eq!(
            failure("linode-cli", &["--json", "linodes", "create", "--root_pass", "Secret#99", "--region", "x"], &out(2, "", j)),
            "linode-cli linodes create failed (exit 2): Request failed: 400: region: region is not valid"
        );
        // An argument error: the error line, not the usage.
        let usage = "usage: linode-cli linodes ip-add [-h] [--address address] [--public public]\n                                 [--type type]\n                                 linodeId\nlinode-cli linodes ip-add: error: unrecognized arguments: --bogus\n";
        assert_eq!(
            failure("linode-cli", &["linodes", "ip-add", "1", "--bogus"], &out(2, "", usage)),
            "linode-cli linodes ip-add failed (exit 2): linode-cli linodes ip-add: error: unrecognized arguments: --bogus"
        );
        // No token: linode-cli prompts on stdout and dies reading stdin.
        let tb = "Traceback (most recent call last):\n  File \"x\", line 5, in <module>\n    token = input(\"Personal Access Token: \")\nEOFError: EOF when reading a line\n";
        let e = failure(
            "linode-cli",
            &["--json", "linodes", "list", "--all-rows"],
            &out(1, "Welcome to the Linode CLI.\nPersonal Access Token: ", tb),
        );
        assert_eq!(e, "linode-cli linodes list failed (exit 1): no API token is configured (set LINODE_CLI_TOKEN or `linode-cli configure`)");
        // A refused token, in one line.
        let e = failure(
            "linode-cli",
            &["--json", "domains", "list"],
            &out(
                2,
                "",
                "Request failed: 401\n[{\"field\": \"\", \"reason\": \"Invalid Token\"}]\n",
            ),
        );
        assert_eq!(e, "linode-cli domains list failed (exit 2): the API token was refused (Request failed: 401: Invalid Token; check LINODE_CLI_TOKEN or `linode-cli configure`)");
        assert!(!e.contains('\n'));
        // Options and their values are skipped; ids end the subcommand.
        assert_eq!(
            super::subcommand(&["-O", "json", "compute", "instance", "list", "-z", "ch-gva-2"]),
            "compute instance list"
        );
        assert_eq!(
            super::subcommand(&[
                "compute",
                "domain",
                "records",
                "list",
                "example.com",
                "-o",
                "json"
            ]),
            "compute domain records list"
        );
        assert_eq!(
            super::subcommand(&["instance", "delete", "u-3"]),
            "instance delete"
        );
        assert_eq!(
            super::subcommand(&[
                "ec2",
                "describe-instances",
                "--filters",
                "Name=x",
                "--output",
                "json"
            ]),
            "ec2 describe-instances"
        );
        // Secrets on the command line and bearer tokens never show.
        let e = failure(
            "doctl",
            &["compute", "droplet", "create", "--password", "hunter22"],
            &out(
                1,
                "",
                "Error: bad password hunter22 (Authorization: Bearer abc123)\n",
            ),
        );
        assert_eq!(e, "doctl compute droplet create failed (exit 1): Error: bad password <redacted> (Authorization: Bearer <redacted>");
    }

    #[test]
    fn ids_are_numbers_strings_or_null() {
        #[derive(serde::Deserialize)]
        struct Row {
            #[serde(default)]
            id: super::Id,
        }
        for (text, want) in [
            (r#"{"id": 501}"#, "501"),
            (r#"{"id": -3}"#, "-3"),
            (r#"{"id": "u-3"}"#, "u-3"),
            (r#"{"id": null}"#, "null"),
            (r#"{}"#, "null"),
        ] {
            let r: Row = super::json(text, "test").unwrap();
            assert_eq!(r.id.to_string(), want, "{text}");
        }
        let e = super::json::<Row>("[", "doctl x")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("doctl x: unexpected answer: "), "{e}");
    }
}
