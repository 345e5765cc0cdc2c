//! The hosted git providers against a local recording stand-in of their APIs
//! (tests/support/gitapi.py): the requests (method, path, credentials, content type, body) are
//! held against tests/fixtures/git/requests.expected; every status is checked; nothing is ever
//! deleted. And the credentials reach git only through the askpass helper: a real push over
//! HTTP to a credential-checking git server is out of reach here, so the helper itself is run
//! the way git runs it.

use adt::git::{self, RepoSettings};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Api {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Api {
    fn start() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/gitapi.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .spawn()
            .expect("python3");
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(dir.path().join("port")) {
                break p.trim().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "gitapi.py did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Api { dir, child, port }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default()
    }

    fn state(&self, json: &str) {
        std::fs::write(self.dir.path().join("state.json"), json).unwrap();
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn settings(provider: &str) -> RepoSettings {
    RepoSettings {
        provider: provider.into(),
        username: "acmeuser".into(),
        password: "pa\"ss word".into(),
        owner: "acmeorg".into(),
        token: "tok-123".into(),
    }
}

#[test]
fn hosted_providers_create_when_missing_check_statuses_and_never_delete() {
    let api = Api::start();
    let base = format!("http://127.0.0.1:{}", api.port);
    for k in ["ADT_GITHUB_API", "ADT_GITLAB_API", "ADT_BITBUCKET_API"] {
        std::env::set_var(k, &base);
    }
    let repo = "www-example-webroot-sourcecode-daily-acme1";
    for name in ["github", "gitlab", "bitbucket"] {
        let p = git::provider(&settings(name)).unwrap();
        assert_eq!(p.name(), name);
        p.ensure_repo(repo).unwrap(); // missing: looked up, created
        api.state(&format!(
            r#"{{"repos": ["acmeorg/{repo}", "acmeuser/{repo}", "tokenuser/{repo}"]}}"#
        ));
        p.ensure_repo(repo).unwrap(); // there: looked up only
                                      // Created by another machine between our look-up and our create: fine.
        p.create_repo(repo).unwrap();
        api.state(r#"{"repos": []}"#);
        assert!(!p.remote_url(repo).contains("tok-123") && !p.remote_url(repo).contains('@'));
    }
    // A failing API is an error naming the provider and the status, never "success".
    api.state(&format!(
        r#"{{"repos": [], "fail": {{"GET /repos/acmeorg/{repo}": 500}}}}"#
    ));
    let e = git::provider(&settings("github"))
        .unwrap()
        .ensure_repo(repo)
        .unwrap_err()
        .to_string();
    assert!(e.contains("github") && e.contains("HTTP 500"), "{e}");
    let log = api.log().replace(&base, "");
    assert!(!log.contains("DELETE"), "nothing is deleted:\n{log}");
    let expected_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/git/requests.expected");
    let expected = std::fs::read_to_string(&expected_file).unwrap();
    assert_eq!(
        log,
        expected,
        "requests differ from {}",
        expected_file.display()
    );
}

#[test]
fn the_askpass_helper_gives_git_the_credentials_from_the_environment_only() {
    let d = tempfile::tempdir().unwrap();
    let creds = git::Credentials {
        username: "acmeuser".into(),
        secret: "s3cr3t".into(),
    };
    // Build the command git would run; the helper is written to the state directory.
    let _ = git::git_with(d.path(), Some(&creds)).unwrap();
    let helper = d.path().join("adt-askpass");
    let text = std::fs::read_to_string(&helper).unwrap();
    assert!(!text.contains("s3cr3t") && !text.contains("acmeuser"));
    let ask = |prompt: &str| {
        let o = Command::new(&helper)
            .arg(prompt)
            .env("ADT_GIT_USERNAME", "acmeuser")
            .env("ADT_GIT_SECRET", "s3cr3t")
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(ask("Username for 'https://github.com': "), "acmeuser\n");
    assert_eq!(
        ask("Password for 'https://acmeuser@github.com': "),
        "s3cr3t\n"
    );
    // Nothing under the state directory holds the secret.
    for e in std::fs::read_dir(d.path()).unwrap() {
        let b = std::fs::read(e.unwrap().path()).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&b).contains("s3cr3t"));
    }
}

/// The `local` provider over SSH: a real sshd on 127.0.0.1 (a free port, its own host key and
/// authorized key), the repository created remotely, a snapshot pushed and verified, a clone
/// read back. The key reaches both our ssh call and git's through `GIT_SSH_COMMAND`.
#[test]
fn the_local_provider_pushes_over_ssh() {
    use std::os::unix::fs::PermissionsExt;
    if !Path::new("/usr/sbin/sshd").exists() {
        panic!("sshd is missing: apt-get install openssh-server (.ci/run does)");
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    for (key, kind) in [("hostkey", "ed25519"), ("userkey", "ed25519")] {
        let o = Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-f"])
            .arg(p.join(key))
            .output()
            .unwrap();
        assert!(o.status.success());
    }
    std::fs::copy(p.join("userkey.pub"), p.join("authorized_keys")).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    std::fs::write(
        p.join("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/hostkey\nAuthorizedKeysFile {d}/authorized_keys\n\
             PermitRootLogin yes\nPasswordAuthentication no\nUsePAM no\nUseDNS no\nStrictModes no\n\
             PidFile {d}/sshd.pid\n",
            d = p.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/sshd").ok();
    let mut sshd = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(p.join("sshd_config"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(&mut sshd);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "sshd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::env::set_var(
        "GIT_SSH_COMMAND",
        format!(
            "ssh -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            p.join("userkey").display()
        ),
    );
    let repos = p.join("repos");
    std::fs::create_dir_all(&repos).unwrap();
    let provider = git::provider(&RepoSettings {
        provider: "local".into(),
        owner: format!("ssh://{user}@127.0.0.1:{port}{}", repos.display()),
        ..Default::default()
    })
    .unwrap();
    let repo = "www-example-webroot-sourcecode-daily-acme1";
    provider.ensure_repo(repo).unwrap();
    assert!(
        repos.join(format!("{repo}.git/HEAD")).is_file(),
        "created over SSH"
    );
    let tree = p.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("index.php"), "<?php\n").unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let git_dir = git::open_state(&p.join("state")).unwrap();
    let url = provider.remote_url(repo);
    assert!(url.starts_with("ssh://"), "{url}");
    let pushed = git::push_snapshot(&git_dir, &tree, &url, None, "daily").unwrap();
    let head = git::remote_head(&git_dir, &url, None, "master").unwrap();
    assert_eq!(head.as_deref(), Some(pushed.commit.as_str()));
    let clone = p.join("clone");
    git::clone(&url, None, &clone, p).unwrap();
    assert_eq!(std::fs::read(clone.join("index.php")).unwrap(), b"<?php\n");
    std::env::remove_var("GIT_SSH_COMMAND");
}
