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

/// Record a rollout in the datastore (`scripts` empty: all of the type's; `None`: uninstalled).
pub fn record(
    store: &dyn Backend,
    machine: Machine,
    gen: &Generation,
    version: &str,
    sum: &str,
    scripts: Option<&[String]>,
) -> Result<()> {
    let scripts = match scripts {
        None => "none".to_string(),
        Some([]) => "all".to_string(),
        Some(s) => s.join(" "),
    };
    let text = format!(
        "version {version}\nsha256 {sum}\ngeneration {}\nscripts {scripts}\n",
        gen.name
    );
    store.put_bytes(&record_key(machine), text.as_bytes())
}

/// The recorded rollout of a machine type: `None` when there is none; `Some(None)` when it was
/// uninstalled; `Some(Some(scripts))` (empty: all) when installed.
pub fn recorded(store: &dyn Backend, machine: Machine) -> Result<Option<Option<Vec<String>>>> {
    match store.get_versioned(&record_key(machine))? {
        None => Ok(None),
        Some((bytes, _)) => {
            let text = String::from_utf8_lossy(&bytes);
            let scripts = text
                .lines()
                .find_map(|l| l.strip_prefix("scripts "))
                .unwrap_or("all")
                .trim();
            Ok(Some(match scripts {
                "none" => None,
                "all" | "" => Some(Vec::new()),
                s => Some(s.split_whitespace().map(str::to_string).collect()),
            }))
        }
    }
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
        assert_eq!(recorded(&store, Machine::Webserver).unwrap(), None);
        record(&store, Machine::Webserver, g, "adt 1", "ab", Some(&[])).unwrap();
        assert_eq!(
            recorded(&store, Machine::Webserver).unwrap(),
            Some(Some(vec![]))
        );
        let some = vec!["GetIP".to_string(), "UpdateIP".to_string()];
        record(&store, Machine::Webserver, g, "adt 1", "ab", Some(&some)).unwrap();
        assert_eq!(
            recorded(&store, Machine::Webserver).unwrap(),
            Some(Some(some))
        );
        record(&store, Machine::Webserver, g, "adt 1", "ab", None).unwrap();
        assert_eq!(recorded(&store, Machine::Webserver).unwrap(), Some(None));
    }
}
