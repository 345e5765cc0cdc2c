//! Git repositories for the temporal backups: one narrow [`GitProvider`] interface over the
//! hosted providers the legacy scripts spoke to (GitHub, GitLab, Bitbucket; legacy
//! `providerscripts/git/{CreateRepository,DeleteRepository}.sh`) and a `local` provider (bare
//! repositories in a directory on this host, reached over `file://` or SSH) that the tests and
//! the demo push to for real; and the push itself ([`push_snapshot`]): one orphan commit
//! `Automated Backup` force-pushed to `master`, then verified by reading the remote's `master`
//! back ([`remote_head`]) and comparing commit ids (so the pushed tree is the one we wrote).
//!
//! Secrets: the token or password never appears on argv, in a remote URL, or in any file. The
//! API calls go through curl with its configuration (credentials, headers, body) on stdin; git
//! gets the credentials from `GIT_ASKPASS`, a script that holds no secret and prints the
//! `ADT_GIT_USERNAME` / `ADT_GIT_SECRET` it inherits through git's environment (readable only
//! by this user), with every configured credential helper switched off (`-c
//! credential.helper=`) so nothing is stored.
//!
//! Differences from legacy (`GitPushSourcecode.sh`, `GitPushDB.sh`): no delete-then-create (the
//! repository is created when missing and otherwise kept, so the last good snapshot stays until
//! a new one has replaced it); every API status is checked; GitLab speaks v4 (v3 is gone); the
//! remote URL carries no credentials (legacy wrote `https://user:password@…` into `.git/config`);
//! the pushed commit is verified by id rather than by a fresh clone and `diff -r`. The API base
//! URLs are knobs (`ADT_GITHUB_API`, `ADT_GITLAB_API`, `ADT_BITBUCKET_API`; git hosts
//! `ADT_GITHUB_GIT`, `ADT_GITLAB_GIT`, `ADT_BITBUCKET_GIT`) so tests point them at a local
//! recording server.

mod hosted;
mod local;

pub use hosted::{Hosted, HostedKind};
pub use local::Local;

use crate::error::{Error, Result};
use crate::process::Run;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The branch legacy backups live on, and the message of their one commit.
pub const BRANCH: &str = "master";
pub const MESSAGE: &str = "Automated Backup";

/// Credentials git needs for a remote (HTTPS basic auth), or none (file://, SSH keys).
#[derive(Clone, Default)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <secret>)", self.username)
    }
}

/// One git hosting provider: what a backup needs of it, and nothing more.
pub trait GitProvider {
    /// `github`, `gitlab`, `bitbucket`, `local`.
    fn name(&self) -> &'static str;
    /// Whether the repository exists (a definite answer; an unreachable API is an error).
    fn repo_exists(&self, repo: &str) -> Result<bool>;
    /// Create the private repository unless it exists. Never deletes anything.
    fn ensure_repo(&self, repo: &str) -> Result<()> {
        if self.repo_exists(repo)? {
            return Ok(());
        }
        self.create_repo(repo)
    }
    /// Create the private repository (an "already exists" answer counts as success).
    fn create_repo(&self, repo: &str) -> Result<()>;
    /// The URL git pushes to and clones from, without credentials.
    fn remote_url(&self, repo: &str) -> String;
    /// What git authenticates with, if anything.
    fn credentials(&self) -> Option<Credentials>;
}

/// The settings a provider is chosen and configured from (legacy
/// APPLICATIONREPOSITORYPROVIDER, …USERNAME, …PASSWORD, …OWNER, …TOKEN).
#[derive(Clone, Debug, Default)]
pub struct RepoSettings {
    pub provider: String,
    pub username: String,
    pub password: String,
    pub owner: String,
    pub token: String,
}

impl RepoSettings {
    /// From a settings file's text.
    pub fn from_settings(text: &str) -> RepoSettings {
        let v = |k: &str| crate::config::value(text, k).unwrap_or_default();
        RepoSettings {
            provider: v("APPLICATIONREPOSITORYPROVIDER"),
            username: v("APPLICATIONREPOSITORYUSERNAME"),
            password: v("APPLICATIONREPOSITORYPASSWORD"),
            owner: v("APPLICATIONREPOSITORYOWNER"),
            token: v("APPLICATIONREPOSITORYTOKEN"),
        }
    }
}

/// The provider the settings name. `local`: OWNER is the directory of bare repositories
/// (`/srv/git`), or `ssh://user@host[:port]/dir` (`ADT_GIT_LOCAL_ROOT` overrides it).
pub fn provider(s: &RepoSettings) -> Result<Box<dyn GitProvider>> {
    match s.provider.as_str() {
        "github" => Ok(Box::new(Hosted::new(HostedKind::Github, s))),
        "gitlab" => Ok(Box::new(Hosted::new(HostedKind::Gitlab, s))),
        "bitbucket" => Ok(Box::new(Hosted::new(HostedKind::Bitbucket, s))),
        "local" => {
            let root = std::env::var("ADT_GIT_LOCAL_ROOT")
                .ok()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| s.owner.clone());
            Ok(Box::new(Local::new(&root)?))
        }
        "" => Err(Error::Config(
            "APPLICATIONREPOSITORYPROVIDER is not set".into(),
        )),
        other => Err(Error::Config(format!(
            "APPLICATIONREPOSITORYPROVIDER {other:?} is not one of github, gitlab, bitbucket, local"
        ))),
    }
}

/// How long one git network operation may take (`ADT_GIT_DEADLINE`, default 30 minutes: a
/// first push of a large webroot).
pub fn git_deadline() -> Duration {
    Duration::from_secs(crate::knobs::env_u64("ADT_GIT_DEADLINE", 1800).max(1))
}

/// The askpass helper: no secret in it, only a reader of the environment git passes down.
const ASKPASS: &str = "#!/bin/sh\n# adt: git asks for credentials; they come from this process's environment only.\ncase \"$1\" in\n  [Uu]sername*) printf '%s\\n' \"$ADT_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$ADT_GIT_SECRET\" ;;\nesac\n";

/// A git command with our fixed environment: no prompts, no credential helpers, no user or
/// system configuration (so no stored credentials and no surprises), a known identity.
pub fn git(state: &Path) -> Run {
    Run::new("git")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Agile Deployment Toolkit")
        .env("GIT_AUTHOR_EMAIL", "adt@localhost")
        .env("GIT_COMMITTER_NAME", "Agile Deployment Toolkit")
        .env("GIT_COMMITTER_EMAIL", "adt@localhost")
        .env("LC_ALL", "C")
        .dir(state)
        .args([
            "-c",
            "credential.helper=",
            "-c",
            "core.excludesFile=/dev/null",
        ])
}

/// `git` with the credentials (if any) available to it through the askpass helper in `state`.
pub fn git_with(state: &Path, creds: Option<&Credentials>) -> Result<Run> {
    let mut run = git(state);
    if let Some(c) = creds {
        let askpass = state.join("adt-askpass");
        if std::fs::read(&askpass).ok().as_deref() != Some(ASKPASS.as_bytes()) {
            crate::fsutil::write_atomic(&askpass, ASKPASS.as_bytes(), Some(0o700))?;
        }
        run = run
            .env("GIT_ASKPASS", &askpass)
            .env("SSH_ASKPASS", &askpass)
            .env("ADT_GIT_USERNAME", &c.username)
            .env("ADT_GIT_SECRET", &c.secret);
    }
    Ok(run)
}

/// Run a git command; its stdout, or an error with its first stderr line (`what` says what
/// was being done).
pub fn run_git(run: Run, what: &str) -> Result<String> {
    let o = run.output()?;
    if o.success() {
        return Ok(o.stdout);
    }
    Err(Error::Remote(if o.timed_out {
        format!("{what}: git did not finish in time")
    } else {
        let line = o
            .stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("hint:"))
            .unwrap_or("")
            .to_string();
        format!("{what}: {line}")
    }))
}

/// A persistent git directory (bare: the work tree is given per call) under `dir`, created on
/// first use, with settings fit for large trees of mostly unchanged files.
pub fn open_state(dir: &Path) -> Result<PathBuf> {
    let git_dir = dir.join("git");
    if !git_dir.join("HEAD").is_file() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        let parent = dir.to_path_buf();
        run_git(
            git(&parent).args(["init", "--bare", "-q"]).arg(&git_dir),
            "cannot create the backup's git directory",
        )?;
        for (k, v) in [
            ("core.bare", "false"),
            ("core.autocrlf", "false"),
            ("core.fileMode", "true"),
            ("core.symlinks", "true"),
            ("core.checkStat", "default"),
            ("core.untrackedCache", "false"),
            ("gc.auto", "0"),
            ("pack.threads", "1"),
            ("core.compression", "1"),
        ] {
            run_git(
                git(&parent)
                    .arg("--git-dir")
                    .arg(&git_dir)
                    .args(["config", k, v]),
                "cannot configure the backup's git directory",
            )?;
        }
    }
    mark_shallow(&git_dir)?;
    Ok(git_dir)
}

/// Make the state directory a "shallow" repository whose one shallow commit is a marker that is
/// never pushed. Why: a push computes what to send as `new --not <remote's refs>`, and for an
/// orphan commit (no parent in common with the remote's) git marks nothing of the remote's
/// trees as already there, so every object would be sent again; in a shallow repository git
/// walks the remote's trees too (`--objects-edge-aggressive`), and sends only the new objects.
/// The marker is an empty commit of its own, so no pushed commit is ever shallow.
fn mark_shallow(git_dir: &Path) -> Result<()> {
    let file = git_dir.join("shallow");
    if file.is_file() {
        return Ok(());
    }
    let state = git_dir.parent().unwrap_or(git_dir);
    let with_dir = |r: Run| r.arg("--git-dir").arg(git_dir);
    let empty = run_git(
        with_dir(git(state)).args(["hash-object", "-t", "tree", "-w", "--stdin"]),
        "cannot prepare the backup's git directory",
    )?;
    let marker = run_git(
        with_dir(git(state)).args([
            "commit-tree",
            empty.trim(),
            "-m",
            "adt: shallow marker (lets pushes send only new objects; never pushed)",
        ]),
        "cannot prepare the backup's git directory",
    )?;
    crate::fsutil::write_atomic(
        &file,
        format!("{}\n", marker.trim()).as_bytes(),
        Some(0o644),
    )
}

/// What a push made: the commit and its tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    pub commit: String,
    pub tree: String,
}

/// Stage `work_tree` into the index of `git_dir` (only files whose stat changed are rehashed)
/// and write its tree; the tree id.
pub fn stage_tree(git_dir: &Path, work_tree: &Path) -> Result<String> {
    let base = |r: Run| {
        r.arg("--git-dir")
            .arg(git_dir)
            .arg("--work-tree")
            .arg(work_tree)
    };
    let state = git_dir.parent().unwrap_or(git_dir);
    run_git(
        base(git(state)).args(["add", "-A", "."]),
        "cannot stage the backup",
    )?;
    Ok(run_git(
        base(git(state)).arg("write-tree"),
        "cannot write the backup's tree",
    )?
    .trim()
    .to_string())
}

/// The tree of regular files (mode 100644) at `files`' paths in the tree (`a/b` nests), without
/// an index or a work tree: the blobs written by two `git hash-object -w` at once (the files
/// shared between them by size), the trees by `git mktree`. For a few large files (a backup
/// archive and its parts) this takes half the time of `git add` (which hashes one file after
/// another).
pub fn tree_of_files(git_dir: &Path, files: &[(String, PathBuf)]) -> Result<String> {
    use std::collections::BTreeMap;
    let state = git_dir.parent().unwrap_or(git_dir);
    for (name, _) in files {
        if name.is_empty()
            || name.contains(['\n', '\t', '\0'])
            || name
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(Error::Config(format!(
                "{name:?} cannot be a path in a tree"
            )));
        }
    }
    // Two groups of about the same size, largest files first.
    let mut order: Vec<(u64, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, (_, p))| {
            std::fs::metadata(p)
                .map(|m| (m.len(), i))
                .map_err(|e| Error::io(p.display(), e))
        })
        .collect::<Result<_>>()?;
    order.sort_by(|a, b| b.cmp(a));
    let mut groups: [(u64, Vec<usize>); 2] = Default::default();
    for (size, i) in order {
        let g = if groups[0].0 <= groups[1].0 { 0 } else { 1 };
        groups[g].0 += size;
        groups[g].1.push(i);
    }
    let hash = |idx: &[usize]| -> Result<Vec<(usize, String)>> {
        if idx.is_empty() {
            return Ok(Vec::new());
        }
        let mut run = git(state)
            .arg("--git-dir")
            .arg(git_dir)
            .args(["hash-object", "-w", "--"]);
        for &i in idx {
            run = run.arg(&files[i].1);
        }
        let out = run_git(run, "cannot store the backup's files")?;
        let ids: Vec<String> = out.lines().map(str::to_string).collect();
        if ids.len() != idx.len() {
            return Err(Error::Remote(format!(
                "git hash-object gave {} ids for {} files",
                ids.len(),
                idx.len()
            )));
        }
        Ok(idx.iter().copied().zip(ids).collect())
    };
    let (a, b) = std::thread::scope(|s| {
        let other = s.spawn(|| hash(&groups[1].1));
        let mine = hash(&groups[0].1);
        (
            mine,
            other
                .join()
                .unwrap_or_else(|_| Err(Error::Io("hashing files panicked".into()))),
        )
    });
    // Directory -> its entries (name -> blob id, or a subdirectory).
    #[derive(Default)]
    struct Dir {
        files: BTreeMap<String, String>,
        dirs: BTreeMap<String, Dir>,
    }
    let mut root = Dir::default();
    for (i, id) in a?.into_iter().chain(b?) {
        let mut parts: Vec<&str> = files[i].0.split('/').collect();
        let leaf = parts.pop().unwrap_or_default();
        let mut d = &mut root;
        for p in parts {
            d = d.dirs.entry(p.to_string()).or_default();
        }
        d.files.insert(leaf.to_string(), id);
    }
    fn mktree(git_dir: &Path, state: &Path, d: &Dir) -> Result<String> {
        let mut listing = String::new();
        for (name, sub) in &d.dirs {
            let id = mktree(git_dir, state, sub)?;
            listing.push_str(&format!("040000 tree {id}\t{name}\n"));
        }
        for (name, id) in &d.files {
            listing.push_str(&format!("100644 blob {id}\t{name}\n"));
        }
        Ok(run_git(
            git(state)
                .arg("--git-dir")
                .arg(git_dir)
                .arg("mktree")
                .stdin(listing),
            "cannot write the backup's tree",
        )?
        .trim()
        .to_string())
    }
    mktree(git_dir, state, &root)
}

/// Make the orphan commit `Automated Backup` of `tree` (no parent: one commit, as legacy), and
/// keep it under `refs/adt/<name>` so later pushes to a remote that has it send only new
/// objects.
pub fn commit_orphan(git_dir: &Path, tree: &str, keep_as: &str) -> Result<String> {
    let state = git_dir.parent().unwrap_or(git_dir);
    let commit = run_git(
        git(state)
            .arg("--git-dir")
            .arg(git_dir)
            .args(["commit-tree", tree, "-m", MESSAGE]),
        "cannot commit the backup",
    )?
    .trim()
    .to_string();
    run_git(
        git(state).arg("--git-dir").arg(git_dir).args([
            "update-ref",
            &format!("refs/adt/{keep_as}"),
            &commit,
        ]),
        "cannot record the backup's commit",
    )?;
    Ok(commit)
}

/// The commit id a remote's `refs/heads/<branch>` points at, `None` when it has no such branch.
pub fn remote_head(
    git_dir: &Path,
    url: &str,
    creds: Option<&Credentials>,
    branch: &str,
) -> Result<Option<String>> {
    let state = git_dir.parent().unwrap_or(git_dir);
    let out = run_git(
        git_with(state, creds)?
            .arg("--git-dir")
            .arg(git_dir)
            .args(["ls-remote", url, &format!("refs/heads/{branch}")])
            .deadline(Duration::from_secs(120)),
        &format!("cannot read {}", show_url(url)),
    )?;
    Ok(out
        .lines()
        .find_map(|l| l.split_whitespace().next().map(str::to_string)))
}

/// Force-push `commit` to the remote's `master`, then read the remote's `master` back: the push
/// counts only when the remote now names exactly this commit (hence this tree).
pub fn push_verified(
    git_dir: &Path,
    url: &str,
    creds: Option<&Credentials>,
    commit: &str,
) -> Result<()> {
    push_verified_to(git_dir, url, creds, commit, BRANCH)
}

/// [`push_verified`] to another branch (2025 baselines live on `main`).
pub fn push_verified_to(
    git_dir: &Path,
    url: &str,
    creds: Option<&Credentials>,
    commit: &str,
    branch: &str,
) -> Result<()> {
    let state = git_dir.parent().unwrap_or(git_dir);
    // No delta search: the pushed commit is an orphan, so the remote's versions of the changed
    // files are not offered as delta bases, and the search found nothing. Measured on the
    // 20,000-file benchmark webroot after 201 files changed: the same 3.8 MB pack with
    // `pack.window=10` as with 0, in 0.40 s instead of 0.11 s; on a first push (every object
    // new) it cost ten times the push.
    let window = "pack.window=0";
    run_git(
        git_with(state, creds)?
            .arg("--git-dir")
            .arg(git_dir)
            .args(["-c", window, "push", "-q", "--force", url])
            .arg(format!("{commit}:refs/heads/{branch}"))
            .deadline(git_deadline()),
        &format!("push to {} refused or failed", show_url(url)),
    )?;
    match remote_head(git_dir, url, creds, branch)? {
        Some(c) if c == commit => Ok(()),
        Some(c) => Err(Error::Remote(format!(
            "{} names commit {c} after the push of {commit}",
            show_url(url)
        ))),
        None => Err(Error::Remote(format!(
            "{} has no {branch} after the push",
            show_url(url)
        ))),
    }
}

/// Stage, commit and push a work tree as a period's snapshot; verified ([`push_verified`]).
pub fn push_snapshot(
    git_dir: &Path,
    work_tree: &Path,
    url: &str,
    creds: Option<&Credentials>,
    keep_as: &str,
) -> Result<Pushed> {
    let tree = stage_tree(git_dir, work_tree)?;
    let commit = commit_orphan(git_dir, &tree, keep_as)?;
    push_verified(git_dir, url, creds, &commit)?;
    Ok(Pushed { commit, tree })
}

/// [`push_snapshot`] to another branch.
pub fn push_snapshot_to(
    git_dir: &Path,
    work_tree: &Path,
    url: &str,
    creds: Option<&Credentials>,
    keep_as: &str,
    branch: &str,
) -> Result<Pushed> {
    let tree = stage_tree(git_dir, work_tree)?;
    let commit = commit_orphan(git_dir, &tree, keep_as)?;
    push_verified_to(git_dir, url, creds, &commit, branch)?;
    Ok(Pushed { commit, tree })
}

/// Clone a remote's `master` into `dest` (a restore, or a check), credentials as for a push.
pub fn clone(url: &str, creds: Option<&Credentials>, dest: &Path, scratch: &Path) -> Result<()> {
    run_git(
        git_with(scratch, creds)?
            .args(["clone", "-q", "--branch", BRANCH, url])
            .arg(dest)
            .deadline(git_deadline()),
        &format!("cannot clone {}", show_url(url)),
    )
    .map(|_| ())
}

/// A URL for messages: any `user:password@` part cut out.
pub fn show_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(a)) if a > s => format!("{}{}", &url[..s + 3], &url[a + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_of_files_is_the_tree_git_add_makes() {
        let d = tempfile::tempdir().unwrap();
        let work = d.path().join("work");
        std::fs::create_dir_all(work.join("daily/deeper")).unwrap();
        let mut files = Vec::new();
        for (name, len) in [
            (".gitattributes", 10usize),
            ("example-DB-backup.tar.gz", 3_000_000),
            ("daily/example-db-00", 2_000_000),
            ("daily/example-db-01", 1_000_000),
            ("daily/deeper/x", 0),
        ] {
            let body: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            std::fs::write(work.join(name), body).unwrap();
            files.push((name.to_string(), work.join(name)));
        }
        let state = d.path().join("state");
        let git_dir = open_state(&state).unwrap();
        let ours = tree_of_files(&git_dir, &files).unwrap();
        let theirs = stage_tree(&git_dir, &work).unwrap();
        assert_eq!(ours, theirs);
        // The blobs are in the object store: the tree lists back with their names.
        let listed = run_git(
            git(&state).arg("--git-dir").arg(&git_dir).args([
                "ls-tree",
                "-r",
                "--name-only",
                &ours,
            ]),
            "ls-tree",
        )
        .unwrap();
        assert_eq!(listed.lines().count(), 5, "{listed}");
        assert!(tree_of_files(&git_dir, &[("../x".into(), work.join("daily/deeper/x"))]).is_err());
    }

    #[test]
    fn urls_in_messages_lose_their_credentials() {
        assert_eq!(
            show_url("https://u:p@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(show_url("file:///srv/git/r.git"), "file:///srv/git/r.git");
    }

    #[test]
    fn credentials_never_print_their_secret() {
        let c = Credentials {
            username: "me".into(),
            secret: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn a_snapshot_is_one_orphan_commit_and_a_second_push_sends_only_new_objects() {
        let d = tempfile::tempdir().unwrap();
        let remote = d.path().join("r.git");
        run_git(
            git(d.path()).args(["init", "--bare", "-q"]).arg(&remote),
            "init",
        )
        .unwrap();
        run_git(
            git(d.path()).arg("--git-dir").arg(&remote).args([
                "config",
                "receive.unpackLimit",
                "1",
            ]),
            "config",
        )
        .unwrap();
        let url = format!("file://{}", remote.display());
        let tree = d.path().join("tree");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        std::fs::write(tree.join("a.txt"), "a").unwrap();
        std::fs::write(tree.join("sub/b.txt"), "b").unwrap();
        let git_dir = open_state(&d.path().join("state")).unwrap();
        let first = push_snapshot(&git_dir, &tree, &url, None, "daily").unwrap();
        std::fs::write(tree.join("a.txt"), "changed").unwrap();
        let second = push_snapshot(&git_dir, &tree, &url, None, "daily").unwrap();
        assert_ne!(first.commit, second.commit);
        let log = run_git(
            git(d.path()).arg("--git-dir").arg(&remote).args([
                "log",
                "--format=%s%x09%P",
                "master",
            ]),
            "log",
        )
        .unwrap();
        assert_eq!(log, "Automated Backup\t\n", "one commit, no parent");
        // The remote keeps every push as a pack: the second push's pack holds only what the
        // remote lacked (the changed blob, the new root tree, the commit), not the whole tree.
        let in_pack = || {
            let o = run_git(
                git(d.path())
                    .arg("--git-dir")
                    .arg(&remote)
                    .args(["count-objects", "-v"]),
                "count",
            )
            .unwrap();
            o.lines()
                .find_map(|l| l.strip_prefix("in-pack: "))
                .unwrap()
                .parse::<u32>()
                .unwrap()
        };
        assert_eq!(in_pack(), 5 + 3, "objects sent: first 5, then 3");
    }
}
