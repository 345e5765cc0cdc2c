//! GitHub, GitLab and Bitbucket: the repository calls of legacy `CreateRepository.sh`, over
//! HTTPS with curl. Credentials, headers and the request body travel in curl's configuration on
//! stdin (legacy put `-u user:password` on argv). Each call has a deadline and its status is
//! checked: a repository is "there" on 200, "missing" on 404, anything else is an error.
//!
//! | provider | exists | create (when missing) | auth |
//! |---|---|---|---|
//! | github | `GET /repos/<owner>/<repo>` | `POST /user/repos` `{"name":"<repo>","private":true}` | basic, token (else password) |
//! | gitlab | `GET /projects/<owner>%2F<repo>` | `POST /projects` form `name=<repo>&visibility=private` | `PRIVATE-TOKEN` |
//! | bitbucket | `GET /repositories/<owner>/<repo>` | `POST /repositories/<username>/<repo>` `{"scm": "git", "is_private": true, "fork_policy": "no_public_forks"}` | basic |
//!
//! Differences from legacy: legacy sent `"private":"true"` and `"is_private": "true"` (strings
//! where the APIs document booleans) and never looked at the answer; GitLab's v3 API, which
//! legacy called, no longer exists (v4 here, with `visibility=private`, v4's spelling).

use super::{Credentials, GitProvider, RepoSettings};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostedKind {
    Github,
    Gitlab,
    Bitbucket,
}

pub struct Hosted {
    pub kind: HostedKind,
    /// API base URL (knob `ADT_<PROVIDER>_API`).
    pub api: String,
    /// Git host base URL (knob `ADT_<PROVIDER>_GIT`).
    pub git: String,
    pub username: String,
    pub owner: String,
    /// The token when set, else the password (legacy APPLICATIONREPOSITORYPASSWORD).
    pub secret: String,
}

fn knob(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// A string quoted for curl's configuration file syntax.
fn curl_quote(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    )
}

/// Percent-encoding of a path segment (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Hosted {
    pub fn new(kind: HostedKind, s: &RepoSettings) -> Hosted {
        let (api, git) = match kind {
            HostedKind::Github => (
                knob("ADT_GITHUB_API", "https://api.github.com"),
                knob("ADT_GITHUB_GIT", "https://github.com"),
            ),
            HostedKind::Gitlab => (
                knob("ADT_GITLAB_API", "https://gitlab.com/api/v4"),
                knob("ADT_GITLAB_GIT", "https://gitlab.com"),
            ),
            HostedKind::Bitbucket => (
                knob("ADT_BITBUCKET_API", "https://api.bitbucket.org/2.0"),
                knob("ADT_BITBUCKET_GIT", "https://bitbucket.org"),
            ),
        };
        let secret = if s.token.is_empty() || kind == HostedKind::Bitbucket {
            s.password.clone()
        } else {
            s.token.clone()
        };
        let owner = if s.owner.is_empty() {
            s.username.clone()
        } else {
            s.owner.clone()
        };
        Hosted {
            kind,
            api,
            git,
            username: s.username.clone(),
            owner,
            secret,
        }
    }

    /// One API call: its HTTP status and body. Credentials and body go on curl's stdin.
    fn call(&self, method: &str, path: &str, body: Option<(&str, &str)>) -> Result<(u16, String)> {
        let mut config = String::new();
        match self.kind {
            HostedKind::Gitlab => config.push_str(&format!(
                "header = {}\n",
                curl_quote(&format!("PRIVATE-TOKEN: {}", self.secret))
            )),
            _ => config.push_str(&format!(
                "user = {}\n",
                curl_quote(&format!("{}:{}", self.username, self.secret))
            )),
        }
        if self.kind == HostedKind::Github {
            config.push_str("header = \"Accept: application/vnd.github+json\"\n");
        }
        if let Some((content_type, data)) = body {
            config.push_str(&format!(
                "header = {}\n",
                curl_quote(&format!("Content-Type: {content_type}"))
            ));
            config.push_str(&format!("data-binary = {}\n", curl_quote(data)));
        }
        let url = format!("{}{path}", self.api);
        let secs = crate::knobs::env_u64("ADT_GIT_API_TIMEOUT", 30).max(1);
        let out = crate::process::Run::new("curl")
            .args(["-sS", "--max-time", &secs.to_string(), "-K", "-"])
            .args(["-X", method, "-w", "\n%{http_code}", &url])
            .stdin(config)
            .deadline(std::time::Duration::from_secs(secs + 5))
            .output()?;
        let what = format!("{} {method} {path}", self.name());
        if !out.success() {
            return Err(Error::Remote(format!(
                "{what}: {}",
                if out.timed_out {
                    "no answer in time".to_string()
                } else {
                    out.first_error_line().to_string()
                }
            )));
        }
        let (text, code) = out.stdout.rsplit_once('\n').unwrap_or(("", &out.stdout));
        let code: u16 = code
            .trim()
            .parse()
            .map_err(|_| Error::Remote(format!("{what}: no HTTP status in the answer")))?;
        Ok((code, text.to_string()))
    }

    fn status_error(&self, what: &str, code: u16, body: &str) -> Error {
        let line: String = body
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        Error::Remote(format!("{} {what}: HTTP {code} {line}", self.name()))
    }
}

impl GitProvider for Hosted {
    fn name(&self) -> &'static str {
        match self.kind {
            HostedKind::Github => "github",
            HostedKind::Gitlab => "gitlab",
            HostedKind::Bitbucket => "bitbucket",
        }
    }

    fn repo_exists(&self, repo: &str) -> Result<bool> {
        let path = match self.kind {
            HostedKind::Github => format!("/repos/{}/{}", encode(&self.owner), encode(repo)),
            HostedKind::Gitlab => {
                format!("/projects/{}", encode(&format!("{}/{repo}", self.owner)))
            }
            HostedKind::Bitbucket => {
                format!("/repositories/{}/{}", encode(&self.owner), encode(repo))
            }
        };
        match self.call("GET", &path, None)? {
            (200, _) => Ok(true),
            (404, _) => Ok(false),
            (code, body) => Err(self.status_error(&format!("looking up {repo}"), code, &body)),
        }
    }

    fn create_repo(&self, repo: &str) -> Result<()> {
        let json = |v: serde_json::Value| v.to_string();
        let (path, body) = match self.kind {
            HostedKind::Github => (
                "/user/repos".to_string(),
                (
                    "application/json",
                    json(serde_json::json!({"name": repo, "private": true})),
                ),
            ),
            HostedKind::Gitlab => (
                "/projects".to_string(),
                (
                    "application/x-www-form-urlencoded",
                    format!("name={}&visibility=private", encode(repo)),
                ),
            ),
            HostedKind::Bitbucket => (
                format!("/repositories/{}/{}", encode(&self.username), encode(repo)),
                (
                    "application/json",
                    json(
                        serde_json::json!({"scm": "git", "is_private": true, "fork_policy": "no_public_forks"}),
                    ),
                ),
            ),
        };
        let (code, text) = self.call("POST", &path, Some((body.0, &body.1)))?;
        match code {
            200 | 201 => Ok(()),
            // Created meanwhile by another machine: that is what we wanted.
            400 | 409 | 422 if self.repo_exists(repo)? => Ok(()),
            _ => Err(self.status_error(&format!("creating {repo}"), code, &text)),
        }
    }

    fn remote_url(&self, repo: &str) -> String {
        format!("{}/{}/{repo}.git", self.git, self.owner)
    }

    fn credentials(&self) -> Option<Credentials> {
        Some(Credentials {
            username: match self.kind {
                HostedKind::Gitlab if self.username.is_empty() => "oauth2".into(),
                _ => self.username.clone(),
            },
            secret: self.secret.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded() {
        assert_eq!(encode("acme/www-example"), "acme%2Fwww-example");
        assert_eq!(curl_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn the_token_wins_over_the_password_except_on_bitbucket() {
        let s = RepoSettings {
            provider: "github".into(),
            username: "u".into(),
            password: "p".into(),
            owner: "".into(),
            token: "t".into(),
        };
        let g = Hosted::new(HostedKind::Github, &s);
        assert_eq!(g.secret, "t");
        assert_eq!(g.owner, "u");
        assert_eq!(g.remote_url("r"), format!("{}/u/r.git", g.git));
        assert!(!g.remote_url("r").contains('@'));
        assert_eq!(Hosted::new(HostedKind::Bitbucket, &s).secret, "p");
    }
}
