//! adt-rs: the Agile Deployment Toolkit's shell scripts as one fast, safe program.
//!
//! Layers, each using only those below it (a test in `tests/architecture.rs` holds the code to
//! this order):
//!
//! 1. [`commands`]: the command layer, one file per legacy script family: argv positions,
//!    stdout bytes, legacy exit statuses, and the command registry. The binary (`bins/`) only
//!    dispatches into it.
//! 2. [`autoscaler`]: health, the lock, PerformScaling, DeadOrAlive; [`doctor`]: this machine's
//!    findings; [`authenticator`]: the 2025 authentication server's HTTP handler.
//! 3. [`cloud`], [`dns`], [`firewall`]: the cloud hosts' servers, DNS providers, firewalls;
//!    [`fleet`]: adt rolled out to the fleet over SSH.
//! 4. [`scaling`], [`ips`], [`cron`], [`backup`]: the scaling profile, published IPs, crontabs,
//!    temporal backups; [`baseline`]: baselines scrubbed by construction, the leak checker.
//! 5. [`site`]: the machine a command runs on (home, type, generation), as plain values.
//! 6. [`datastore`]: the config datastore (S3, local directory); [`mode`]: development or
//!    production and the other settings the toolkit branches on, as one typed view;
//!    [`database`]: the application database (engine, consistent streamed dumps, the backup
//!    archive, imports).
//! 7. [`config`], [`layout`], [`home`], [`git`]: settings files, the generations as data,
//!    machine types, git providers and pushes.
//! 8. Plumbing: [`process`] (child processes, SSH), [`sshmux`] (commands over a kept SSH
//!    connection without an `ssh` process), [`fsutil`] (atomic files, locks),
//!    [`logging`] (RUST_LOG diagnostics, the legacy log files), [`knobs`], [`error`].

pub mod authenticator;
pub mod autoscaler;
pub mod backup;
pub mod baseline;
pub mod cloud;
pub mod commands;
pub mod config;
pub mod cron;
pub mod database;
pub mod datastore;
pub mod dns;
pub mod doctor;
pub mod error;
pub mod firewall;
pub mod fleet;
pub mod fsutil;
pub mod git;
pub mod home;
pub mod ips;
pub mod knobs;
pub mod layout;
pub mod logging;
pub mod mode;
pub mod process;
pub mod scaling;
pub mod site;
pub mod sshmux;

pub use error::{Error, Result};
