//! Firewalling as a reconciler: compute the complete desired rule set of this machine (pure,
//! [`model`]), read the firewall's current state once, apply exactly the difference.
//!
//! Appliers: [`iptables`] (own chain, one atomic batch) and [`ufw`]. Safety: the desired set is
//! computed only from complete, validated inputs; any failure to read the datastore leaves the
//! current rules as they are; no datastore entry can produce an allow-from-anywhere rule (only
//! the model's fixed web-port rules have no source); rules protecting the build machine's SSH
//! access are never deleted.

pub mod auth;
pub mod buildmachine;
pub mod cloudflare;
pub mod dbaas;
pub mod ipset;
pub mod iptables;
pub mod model;
pub mod native;
pub mod net;
pub mod ports2025;
pub mod reconcile;
pub mod ufw;

use crate::error::{Error, Result};
use net::Net;
use std::path::PathBuf;

/// One rule: accept TCP to `port` from `source` (None: from anywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    pub source: Option<Net>,
    pub port: u16,
}

impl Rule {
    pub fn from(net: Net, port: u16) -> Rule {
        Rule {
            source: Some(net),
            port,
        }
    }
    pub fn anywhere(port: u16) -> Rule {
        Rule { source: None, port }
    }
    pub fn family(&self) -> Option<Family> {
        self.source
            .map(|n| if n.is_v4() { Family::V4 } else { Family::V6 })
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(n) => write!(f, "tcp/{} from {n}", self.port),
            None => write!(f, "tcp/{} from anywhere", self.port),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// What a reconcile changes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Structural lines (chain creation, base rules) before the rules.
    pub setup: Vec<String>,
    pub add: Vec<Rule>,
    pub delete: Vec<Rule>,
    /// Lines in our chain that are not rules of ours, to remove verbatim.
    pub delete_raw: Vec<String>,
    /// Structural lines after the rules (the jump from INPUT: last, once the chain is complete).
    pub setup_after: Vec<String>,
    /// Set the incoming policy to deny.
    pub policy: bool,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.setup.is_empty()
            && self.add.is_empty()
            && self.delete.is_empty()
            && self.delete_raw.is_empty()
            && self.setup_after.is_empty()
            && !self.policy
    }
}

/// Runs the firewall tools; counts invocations (the benchmark reports them); in dry-run mode
/// runs only the read-only ones.
#[derive(Default)]
pub struct Runner {
    pub invocations: usize,
}

/// Find a system tool: PATH first (stand-ins in tests), then the sbin directories cron's bare
/// PATH lacks.
pub fn which(prog: &str) -> Option<PathBuf> {
    crate::process::find_program(prog, &["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
}

impl Runner {
    pub fn run(&mut self, prog: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let path = which(prog).ok_or_else(|| Error::Config(format!("{prog} is not installed")))?;
        self.invocations += 1;
        let mut run = crate::process::Run::new(&path).args(args);
        if let Some(input) = stdin {
            run = run.stdin(input);
        }
        let out = run.output()?;
        if !out.success() {
            return Err(Error::Io(format!(
                "{prog} {} failed: {}",
                args.join(" "),
                out.first_error_line()
            )));
        }
        Ok(out.stdout)
    }
}
