//! adt-rs: the Agile Deployment Toolkit's shell scripts as one fast, safe program.
//!
//! The binary (`bins/`) is a multicall front end: each legacy script path gets a launcher that
//! runs `adt <Command>`; the logic lives here, in modules named after the domain.

pub mod autoscaler;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod cron;
pub mod datastore;
pub mod dns;
pub mod error;
pub mod firewall;
pub mod fsutil;
pub mod home;
pub mod ips;
pub mod layout;
pub mod log;
pub mod scaling;

pub use error::{Error, Result};
