//! Rolling adt out to the fleet from the build machine: over SSH with the build key, push this
//! binary (its SHA-256 checked on the far side before it is installed), then run `adt layout
//! install` there with the same script subset; `uninstall` runs `adt layout uninstall` (every
//! legacy script back, byte for byte); `status` reads each machine's version and replaced paths.
//!
//! A rollout goes in waves: one canary machine first, then waves of `wave` machines at once, and
//! it stops at the first failure (no later wave starts; the machines not reached are named).
//!
//! The rollout is recorded in the datastore, `adt-fleet/<machine type>` (`version`, `sha256`,
//! `scripts`), so that the autoscaler installs the same version and subset on every webserver
//! it builds ([`install_on`] is the step it shares with the rollout).
//!
//! Differences from legacy: there was no such tool; operators copied the binary by hand.

use crate::datastore::Backend;
use crate::error::{Error, Result};
use crate::home::Machine;
use crate::layout::Generation;
use crate::process::{as_root, ssh_output, Run, SshTarget};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The datastore key that records a machine type's rollout.
pub fn record_key(machine: Machine) -> String {
    format!("adt-fleet/{}", machine.name())
}

/// Where adt goes on a fleet machine, and how to become root there.
#[derive(Clone, Debug)]
pub struct Remote {
    pub ssh: SshTarget,
    /// The toolkit home there (`None`: the first line of its /home/homedir.dat).
    pub home: Option<PathBuf>,
    /// The binary's path there.
    pub bin: PathBuf,
    /// SERVERUSER's password for `sudo -S` when SSH does not log in as root (on stdin only).
    pub password: String,
}

/// Single quotes for a remote shell.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Remote {
    fn home_expr(&self) -> String {
        match &self.home {
            Some(h) => q(&h.to_string_lossy()),
            None => "\"$(head -n 1 /home/homedir.dat)\"".to_string(),
        }
    }

    fn bin_q(&self) -> String {
        q(&self.bin.to_string_lossy())
    }

    /// Run `cmd` as root on `host`; its stdout, or an error naming the host and the first
    /// line of its stderr.
    fn root(&self, host: IpAddr, cmd: &str, extra: Duration) -> Result<String> {
        let input = format!("{}\n", self.password);
        let o = ssh_output(
            host,
            &self.ssh,
            &as_root(cmd),
            Some(input.as_bytes()),
            extra,
        )?;
        if o.success() {
            return Ok(o.stdout);
        }
        Err(Error::Remote(if o.timed_out {
            format!("{host}: did not finish in time")
        } else if o.code == Some(255) {
            format!("{host}: cannot connect over SSH: {}", o.first_error_line())
        } else {
            let why = o
                .stderr
                .lines()
                .chain(o.stdout.lines())
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_string();
            format!("{host}: {why}")
        }))
    }
}

/// The SHA-256 of a local file (coreutils' sha256sum).
pub fn sha256(path: &Path) -> Result<String> {
    let out = Run::new("sha256sum")
        .arg(path)
        .deadline(Duration::from_secs(60))
        .stdout_or(Error::Io)?;
    out.split_whitespace()
        .next()
        .filter(|h| h.len() == 64)
        .map(str::to_string)
        .ok_or_else(|| Error::Io(format!("sha256sum {}: no checksum", path.display())))
}

/// Copy `local_bin` to `host` and install it at the remote path: through a private temporary
/// file whose SHA-256 must match before it replaces anything; then run it (`--version`).
/// Returns the version it printed.
pub fn push_binary(host: IpAddr, r: &Remote, local_bin: &Path, sum: &str) -> Result<String> {
    let bytes = std::fs::read(local_bin).map_err(|e| Error::io(local_bin.display(), e))?;
    // Named per target host: a rollout's wave pushes to several machines at once.
    let tmp = format!(".adt-push.{host}.tmp");
    let o = ssh_output(
        host,
        &r.ssh,
        &format!("umask 077 && cat > {tmp}"),
        Some(&bytes),
        Duration::from_secs(120),
    )?;
    if !o.success() {
        return Err(Error::Remote(format!(
            "{host}: cannot copy the binary: {}",
            o.first_error_line()
        )));
    }
    let dest = r.bin_q();
    let install = format!(
        "f=\"$(getent passwd \"${{SUDO_USER:-$(id -un)}}\" | cut -d: -f6)/{tmp}\"; \
         s=$(sha256sum \"$f\" | cut -d' ' -f1); \
         if [ \"$s\" != {sum} ]; then rm -f \"$f\"; echo \"checksum mismatch: $s, expected {sum}\" >&2; exit 1; fi; \
         mkdir -p \"$(dirname {dest})\" && install -m 755 \"$f\" {dest}.adt-new && mv -f {dest}.adt-new {dest}; \
         st=$?; rm -f \"$f\"; [ $st = 0 ] && {dest} --version",
    );
    let out = r.root(
        host,
        &format!("sh -c {}", q(&install)),
        Duration::from_secs(30),
    )?;
    Ok(out.trim().to_string())
}

/// Push the binary and replace `scripts` (all of the machine type's when empty) on `host`.
/// Returns what `layout install` printed, summarised.
pub fn install_on(
    host: IpAddr,
    r: &Remote,
    local_bin: &Path,
    sum: &str,
    machine: Machine,
    gen: &Generation,
    scripts: &[String],
) -> Result<String> {
    let version = push_binary(host, r, local_bin, sum)?;
    let names: Vec<String> = scripts.iter().map(|s| q(s)).collect();
    let cmd = format!(
        "{bin} layout install --home {home} --machine {m} --generation {g} --bin {bin} {names}",
        bin = r.bin_q(),
        home = r.home_expr(),
        m = machine.name(),
        g = gen.name,
        names = names.join(" ")
    );
    let out = r.root(host, &cmd, Duration::from_secs(60))?;
    let installed = out.lines().filter(|l| l.starts_with("installed ")).count();
    let kept = out
        .lines()
        .filter(|l| l.starts_with("kept legacy "))
        .count();
    Ok(format!(
        "{version}: {installed} launchers, {kept} legacy scripts kept beside them"
    ))
}

/// Put every legacy script back on `host` (all, or `scripts`).
pub fn uninstall_on(host: IpAddr, r: &Remote, scripts: &[String]) -> Result<String> {
    let names: Vec<String> = scripts.iter().map(|s| q(s)).collect();
    let cmd = format!(
        "{bin} layout uninstall --home {home} {names}",
        bin = r.bin_q(),
        home = r.home_expr(),
        names = names.join(" ")
    );
    let out = r.root(host, &cmd, Duration::from_secs(60))?;
    let restored = out.lines().filter(|l| l.starts_with("restored ")).count();
    let removed = out.lines().filter(|l| l.starts_with("removed ")).count();
    Ok(format!(
        "{restored} legacy scripts restored, {removed} launchers removed"
    ))
}

/// A machine's version and replaced paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// `adt X.Y.Z`, or `None` when the binary is not there.
    pub version: Option<String>,
    /// The replaced legacy paths (relative to its home).
    pub replaced: Vec<String>,
}

pub fn status_on(host: IpAddr, r: &Remote) -> Result<Status> {
    let cmd = format!(
        "h={home}; if [ -x {bin} ]; then {bin} --version; {bin} layout status --home \"$h\"; else echo none; fi",
        bin = r.bin_q(),
        home = r.home_expr(),
    );
    let out = r.root(host, &format!("sh -c {}", q(&cmd)), Duration::from_secs(30))?;
    let mut lines = out.lines();
    let version = lines.next().filter(|v| *v != "none").map(str::to_string);
    let home_prefix = r
        .home
        .as_ref()
        .map(|h| format!("{}/", h.display()))
        .unwrap_or_default();
    let replaced = lines
        .filter_map(|l| l.strip_prefix("replaced "))
        .filter_map(|l| l.split(' ').next())
        .map(|p| {
            p.strip_prefix(home_prefix.as_str())
                .unwrap_or(p)
                .to_string()
        })
        .collect();
    Ok(Status { version, replaced })
}

/// What happened on one machine.
#[derive(Debug)]
pub struct Step {
    pub host: IpAddr,
    pub result: Result<String>,
}

/// The rollout's order: the canary alone, then waves of `wave` machines.
pub fn waves(hosts: &[IpAddr], wave: usize) -> Vec<Vec<IpAddr>> {
    let mut out = Vec::new();
    if let Some((first, rest)) = hosts.split_first() {
        out.push(vec![*first]);
        for w in rest.chunks(wave.max(1)) {
            out.push(w.to_vec());
        }
    }
    out
}

/// Run `step` on every host, wave by wave (the machines of a wave at once), stopping after the
/// first wave with a failure. Returns what was done and the machines never reached.
pub fn rollout<F>(hosts: &[IpAddr], wave: usize, step: F) -> (Vec<Step>, Vec<IpAddr>)
where
    F: Fn(IpAddr) -> Result<String> + Sync,
{
    let plan = waves(hosts, wave);
    let mut done = Vec::new();
    let mut iter = plan.into_iter();
    for w in iter.by_ref() {
        let results: Vec<Step> = std::thread::scope(|s| {
            let handles: Vec<_> = w
                .iter()
                .map(|&host| {
                    let step = &step;
                    s.spawn(move || Step {
                        host,
                        result: step(host),
                    })
                })
                .collect();
            handles
                .into_iter()
                .zip(&w)
                .map(|(h, &host)| {
                    h.join().unwrap_or_else(|_| Step {
                        host,
                        result: Err(Error::Io("the step panicked".into())),
                    })
                })
                .collect()
        });
        let failed = results.iter().any(|s| s.result.is_err());
        done.extend(results);
        if failed {
            break;
        }
    }
    let skipped = iter.flatten().collect();
    (done, skipped)
}

/// Record a rollout in the datastore (`scripts` empty: all of the type's; `None`: uninstalled),
/// with where the binary and the home are on the machines.
pub fn record(
    store: &dyn Backend,
    machine: Machine,
    gen: &Generation,
    version: &str,
    sum: &str,
    scripts: Option<&[String]>,
    r: &Remote,
) -> Result<()> {
    let scripts = match scripts {
        None => "none".to_string(),
        Some([]) => "all".to_string(),
        Some(s) => s.join(" "),
    };
    let home = r
        .home
        .as_ref()
        .map(|h| h.display().to_string())
        .unwrap_or_else(|| "-".into());
    let text = format!(
        "version {version}\nsha256 {sum}\ngeneration {}\nscripts {scripts}\nbin {}\nhome {home}\n",
        gen.name,
        r.bin.display()
    );
    store.put_bytes(&record_key(machine), text.as_bytes())
}

/// A machine type's recorded rollout.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `None`: uninstalled; `Some(empty)`: every script of the type.
    pub scripts: Option<Vec<String>>,
    pub version: String,
    pub generation: &'static Generation,
    pub bin: PathBuf,
    /// `None`: the first line of the machine's /home/homedir.dat.
    pub home: Option<PathBuf>,
}

/// The recorded rollout of a machine type, if any.
pub fn recorded(store: &dyn Backend, machine: Machine) -> Result<Option<Recorded>> {
    let Some((bytes, _)) = store.get_versioned(&record_key(machine))? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix(' '))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let scripts = match field("scripts").as_str() {
        "none" => None,
        "all" | "" => Some(Vec::new()),
        s => Some(s.split_whitespace().map(str::to_string).collect()),
    };
    let bin = match field("bin") {
        b if b.is_empty() => PathBuf::from("/usr/local/bin/adt"),
        b => PathBuf::from(b),
    };
    let home = match field("home") {
        h if h.is_empty() || h == "-" => None,
        h => Some(PathBuf::from(h)),
    };
    Ok(Some(Recorded {
        scripts,
        version: field("version"),
        generation: Generation::by_name(&field("generation")).unwrap_or(&crate::layout::G2022),
        bin,
        home,
    }))
}

/// What the autoscaler does for every webserver it builds: if adt was rolled out to the
/// webservers (`adt-fleet/webserver`), install this binary and the recorded script subset on
/// the new machine `host` too, so it never runs the legacy scripts the others no longer do.
/// `Ok(None)` when there is no rollout to follow. `me` is the binary to push (the autoscaler's
/// own).
pub fn install_as_recorded(
    store: &dyn Backend,
    ssh: &SshTarget,
    password: &str,
    host: IpAddr,
    me: &Path,
) -> Result<Option<String>> {
    let Some(rec) = recorded(store, Machine::Webserver)? else {
        return Ok(None);
    };
    let Some(scripts) = rec.scripts else {
        return Ok(None);
    };
    let mine = format!("adt {}", env!("CARGO_PKG_VERSION"));
    if rec.version != mine {
        log::warn!(
            "the webservers were given {}; this autoscaler runs {mine}, which the new one gets",
            rec.version
        );
    }
    let r = Remote {
        ssh: ssh.clone(),
        home: rec.home,
        bin: rec.bin,
        password: password.to_string(),
    };
    let sum = sha256(me)?;
    install_on(
        host,
        &r,
        me,
        &sum,
        Machine::Webserver,
        rec.generation,
        &scripts,
    )
    .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        format!("10.0.0.{n}").parse().unwrap()
    }

    #[test]
    fn a_canary_then_waves() {
        let hosts: Vec<IpAddr> = (1..=6).map(ip).collect();
        let w = waves(&hosts, 2);
        assert_eq!(
            w,
            vec![
                vec![ip(1)],
                vec![ip(2), ip(3)],
                vec![ip(4), ip(5)],
                vec![ip(6)]
            ]
        );
        assert!(waves(&[], 3).is_empty());
    }

    #[test]
    fn the_first_failure_stops_the_rollout() {
        let hosts: Vec<IpAddr> = (1..=5).map(ip).collect();
        let ran = std::sync::Mutex::new(Vec::new());
        let (done, skipped) = rollout(&hosts, 2, |h| {
            ran.lock().unwrap().push(h);
            if h == ip(2) {
                Err(Error::Remote("no".into()))
            } else {
                Ok("fine".into())
            }
        });
        assert_eq!(done.len(), 3, "the canary and the whole second wave ran");
        assert_eq!(skipped, vec![ip(4), ip(5)]);
        // A failing canary stops everything else.
        let (done, skipped) = rollout(&hosts, 2, |h| {
            if h == ip(1) {
                Err(Error::Remote("no".into()))
            } else {
                Ok("fine".into())
            }
        });
        assert_eq!(done.len(), 1);
        assert_eq!(skipped.len(), 4);
    }

    #[test]
    fn the_record_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        let store = crate::datastore::local::LocalStore::new(dir.path(), "b");
        let g = &crate::layout::G2022;
        let mut r = Remote {
            ssh: SshTarget {
                user: "root".into(),
                port: 22,
                key: "/k".into(),
                timeout: Duration::from_secs(1),
                mux: None,
                kex_first: None,
                known_hosts: None,
            },
            home: None,
            bin: "/usr/local/bin/adt".into(),
            password: String::new(),
        };
        let scripts = |s: &dyn Backend| recorded(s, Machine::Webserver).unwrap().map(|r| r.scripts);
        assert_eq!(scripts(&store), None);
        record(&store, Machine::Webserver, g, "adt 1", "ab", Some(&[]), &r).unwrap();
        assert_eq!(scripts(&store), Some(Some(vec![])));
        let rec = recorded(&store, Machine::Webserver).unwrap().unwrap();
        assert_eq!(
            (rec.version.as_str(), rec.home, rec.bin),
            ("adt 1", None, r.bin.clone())
        );
        let some = vec!["GetIP".to_string(), "UpdateIP".to_string()];
        r.home = Some("/home/X1234X".into());
        record(
            &store,
            Machine::Webserver,
            g,
            "adt 1",
            "ab",
            Some(&some),
            &r,
        )
        .unwrap();
        assert_eq!(scripts(&store), Some(Some(some)));
        let rec = recorded(&store, Machine::Webserver).unwrap().unwrap();
        assert_eq!(rec.home, r.home);
        record(&store, Machine::Webserver, g, "adt 1", "ab", None, &r).unwrap();
        assert_eq!(scripts(&store), Some(None));
    }
}
