//! Baselines that can be published: a webroot copy and a database dump scrubbed by
//! construction, and a leak checker that refuses to publish when anything this machine knows
//! as a secret (or anything that looks like one) is still in the tree, archive or repository.
//!
//! Legacy: `providerscripts/git/CreateWebrootBaseline.sh`, `CreateDBBaseline.sh`,
//! `applicationscripts/CustomiseBackupByApplication.sh`, `providerscripts/utilities/
//! RemoveApplicationBranding.sh` (2022); `application/backupscripts/Create*Baseline.sh` (2025).
//!
//! - [`php`]: PHP configuration files parsed, every credential-like setting rewritten to its
//!   legacy placeholder (`XXXUSERNAMEXXX` …) or [`php::SECRET`]; `.env` files likewise.
//! - [`tree`]: the webroot copy: private directories, `.git`, session files, salt files and
//!   private key files left out, config files scrubbed, a report of what was altered.
//! - [`dump`]: the SQL dump (mysqldump `INSERT` or pg_dump `COPY`) rewritten per application:
//!   accounts replaced by one placeholder administrator, sessions and tokens dropped, secret
//!   options cleared.
//! - [`check`]: the leak checker behind `adt baseline check`.
//!
//! Differences from legacy (spec backups-baselines-modes §2.3, §6 "FIX"): see each file.

pub mod check;
pub mod deploy;
pub mod dump;
pub mod php;
pub mod publish;
pub mod tree;

/// The four applications the toolkit deploys (settings APPLICATIONIDENTIFIER 1 joomla,
/// 2 wordpress, 3 drupal, 4 moodle; 2025 APPLICATION names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Application {
    Joomla,
    WordPress,
    Drupal,
    Moodle,
}

impl Application {
    /// From APPLICATIONIDENTIFIER (`1`..`4`) or an application name.
    pub fn parse(s: &str) -> Option<Application> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1" | "joomla" => Some(Application::Joomla),
            "2" | "wordpress" => Some(Application::WordPress),
            "3" | "drupal" => Some(Application::Drupal),
            "4" | "moodle" => Some(Application::Moodle),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Application::Joomla => "joomla",
            Application::WordPress => "wordpress",
            Application::Drupal => "drupal",
            Application::Moodle => "moodle",
        }
    }

    pub const ALL: [Application; 4] = [
        Application::Joomla,
        Application::WordPress,
        Application::Drupal,
        Application::Moodle,
    ];
}
