//! The `local` git provider: bare repositories `<dir>/<repo>.git` on this host (`file://`), or
//! on another host reached over SSH (`ssh://user@host[:port]/dir`, with the machine's own SSH
//! keys and `BatchMode`), for the tests and the demo. Creating a repository is `git init --bare`
//! (over SSH: the same command run remotely with the path quoted, through `GIT_SSH_COMMAND`
//! when set, as git's own SSH connections are), then `receive.unpackLimit 1`: a push is kept
//! as the pack it came in (indexed, not re-compressed object by object into loose files), as the
//! hosting services keep pushes. Without it a backup push of under 100 objects (every database
//! backup: six) was unpacked and each 10 MiB blob deflated again, half of the push's time.

use super::{Credentials, GitProvider};
use crate::error::{Error, Result};
use crate::process::Run;
use std::path::PathBuf;

pub enum Local {
    Dir(PathBuf),
    Ssh {
        /// `user@host`
        target: String,
        port: Option<u16>,
        dir: String,
    },
}

/// What a created repository is configured with: pushes kept as packs.
const KEEP_PACKS: (&str, &str) = ("receive.unpackLimit", "1");

/// Repository names the backups make: letters, digits, `-`, `_`, `.` (no `/`, no `..`).
fn check_name(repo: &str) -> Result<()> {
    let ok = !repo.is_empty()
        && !repo.starts_with('.')
        && repo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "repository name {repo:?} is not usable"
        )))
    }
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Local {
    /// `/dir` or `file:///dir` or `ssh://user@host[:port]/dir`.
    pub fn new(root: &str) -> Result<Local> {
        if let Some(rest) = root.strip_prefix("ssh://") {
            let (authority, dir) = rest.split_once('/').ok_or_else(|| {
                Error::Config(format!("local git root {root:?} names no directory"))
            })?;
            let (target, port) = match authority.rsplit_once(':') {
                Some((t, p)) => (
                    t.to_string(),
                    Some(p.parse().map_err(|_| {
                        Error::Config(format!("local git root {root:?}: bad port {p:?}"))
                    })?),
                ),
                None => (authority.to_string(), None),
            };
            return Ok(Local::Ssh {
                target,
                port,
                dir: format!("/{dir}"),
            });
        }
        let dir = root.strip_prefix("file://").unwrap_or(root);
        if !dir.starts_with('/') {
            return Err(Error::Config(format!(
                "the local git provider needs an absolute directory (APPLICATIONREPOSITORYOWNER or ADT_GIT_LOCAL_ROOT), not {root:?}"
            )));
        }
        Ok(Local::Dir(PathBuf::from(dir)))
    }

    fn ssh(&self, remote: &str) -> Result<crate::process::Output> {
        let Local::Ssh { target, port, .. } = self else {
            unreachable!()
        };
        // The ssh command git itself would use (`GIT_SSH_COMMAND`, e.g. `ssh -i KEY …`), so the
        // repository is created with the same key and options the push then uses.
        let mut run = match std::env::var("GIT_SSH_COMMAND")
            .ok()
            .filter(|c| !c.trim().is_empty())
        {
            Some(cmd) => Run::new("/bin/sh").args(["-c", &format!("{cmd} \"$@\""), "ssh"]),
            None => Run::new("ssh"),
        }
        .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]);
        if let Some(p) = port {
            run = run.args(["-p", &p.to_string()]);
        }
        run.arg(target)
            .arg(remote)
            .deadline(std::time::Duration::from_secs(60))
            .output()
    }
}

impl GitProvider for Local {
    fn name(&self) -> &'static str {
        "local"
    }

    fn repo_exists(&self, repo: &str) -> Result<bool> {
        check_name(repo)?;
        match self {
            Local::Dir(d) => Ok(d.join(format!("{repo}.git")).join("HEAD").is_file()),
            Local::Ssh { dir, .. } => {
                let o = self.ssh(&format!(
                    "test -f {}",
                    sh_quote(&format!("{dir}/{repo}.git/HEAD"))
                ))?;
                match o.code {
                    Some(0) => Ok(true),
                    Some(1) => Ok(false),
                    _ => Err(Error::Remote(format!(
                        "local git over SSH: {}",
                        o.first_error_line()
                    ))),
                }
            }
        }
    }

    fn create_repo(&self, repo: &str) -> Result<()> {
        check_name(repo)?;
        match self {
            Local::Dir(d) => {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
                let bare = d.join(format!("{repo}.git"));
                super::run_git(
                    super::git(d).args(["init", "--bare", "-q"]).arg(&bare),
                    &format!("cannot create repository {repo}"),
                )?;
                super::run_git(
                    super::git(d).arg("--git-dir").arg(&bare).args([
                        "config",
                        KEEP_PACKS.0,
                        KEEP_PACKS.1,
                    ]),
                    &format!("cannot configure repository {repo}"),
                )
                .map(|_| ())
            }
            Local::Ssh { dir, .. } => {
                let bare = sh_quote(&format!("{dir}/{repo}.git"));
                let o = self.ssh(&format!(
                    "git init --bare -q {bare} && git --git-dir {bare} config {} {}",
                    KEEP_PACKS.0, KEEP_PACKS.1
                ))?;
                if o.success() {
                    Ok(())
                } else {
                    Err(Error::Remote(format!(
                        "cannot create repository {repo} over SSH: {}",
                        o.first_error_line()
                    )))
                }
            }
        }
    }

    fn remote_url(&self, repo: &str) -> String {
        match self {
            Local::Dir(d) => format!("file://{}/{repo}.git", d.display()),
            Local::Ssh { target, port, dir } => match port {
                Some(p) => format!("ssh://{target}:{p}{dir}/{repo}.git"),
                None => format!("ssh://{target}{dir}/{repo}.git"),
            },
        }
    }

    fn credentials(&self) -> Option<Credentials> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_parsed() {
        let l = Local::new("ssh://git@10.0.0.2:2222/srv/git").unwrap();
        assert_eq!(l.remote_url("r"), "ssh://git@10.0.0.2:2222/srv/git/r.git");
        assert_eq!(
            Local::new("/srv/git").unwrap().remote_url("r"),
            "file:///srv/git/r.git"
        );
        assert!(Local::new("relative").is_err());
        assert!(check_name("a/../b").is_err());
        assert!(check_name("www-example-webroot-sourcecode-daily-acme1").is_ok());
    }

    #[test]
    fn a_repository_is_created_once() {
        let d = tempfile::tempdir().unwrap();
        let l = Local::new(&d.path().display().to_string()).unwrap();
        assert!(!l.repo_exists("r").unwrap());
        l.ensure_repo("r").unwrap();
        assert!(l.repo_exists("r").unwrap());
        l.ensure_repo("r").unwrap();
    }

    #[test]
    fn a_small_push_is_kept_as_a_pack() {
        let d = tempfile::tempdir().unwrap();
        let l = Local::new(&d.path().join("remotes").display().to_string()).unwrap();
        l.ensure_repo("r").unwrap();
        let work = d.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(work.join("f"), b"one blob").unwrap();
        let git = |args: &[&str]| {
            let o = super::super::git(&work).args(args).output().unwrap();
            assert!(o.success(), "{args:?}: {}", o.first_error_line());
        };
        git(&["init", "-q"]);
        git(&["add", "f"]);
        git(&["commit", "-q", "-m", "x"]);
        git(&["push", "-q", &l.remote_url("r"), "HEAD:refs/heads/master"]);
        let objects = d.path().join("remotes/r.git/objects");
        let loose: Vec<String> = std::fs::read_dir(&objects)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.len() == 2)
            .collect();
        assert!(loose.is_empty(), "loose objects in the remote: {loose:?}");
        let packs = std::fs::read_dir(objects.join("pack")).unwrap().count();
        assert!(packs >= 2, "no pack kept");
    }
}
