//! The autoscaler, in files named after the legacy scripts: the health sweep ([`health`], as
//! DeadOrAlive.sh defined health), the lock between autoscalers ([`lock`]), PerformScaling
//! ([`perform_scaling`]), and DeadOrAlive with PurgeDetachedIPs and MonitorForSlowBuilds
//! ([`dead_or_alive`]); reconciliation from the cloud's own list ([`reconcile`]); on the `local`
//! cloud or on DigitalOcean, Exoscale, Linode and Vultr.

pub mod dead_or_alive;
pub mod health;
pub mod lock;
pub mod perform_scaling;
pub mod reconcile;

use crate::site::Site;

/// Tell the operator, as legacy did ([`Site::notify`]: the machine's own
/// `providerscripts/email/SendEmail.sh SUBJECT BODY`).
pub fn notify(site: &Site, subject: &str, body: &str) {
    site.notify(subject, body);
}
