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

use crate::process::Run;
use crate::site::Site;

/// Tell the operator, as legacy did: the machine's own `providerscripts/email/SendEmail.sh
/// SUBJECT BODY` (its SMTP settings are the legacy ones; adt does not replace it), bounded to
/// 60 s, its output discarded. Nothing happens where the script is missing. The subjects are
/// the legacy ones, which operators may filter on.
pub fn notify(site: &Site, subject: &str, body: &str) {
    let script = site.home.join("providerscripts/email/SendEmail.sh");
    if !script.is_file() {
        return;
    }
    let sent = Run::new("/bin/sh")
        .arg(&script)
        .args([subject, body])
        .env("HOME", &site.home)
        .deadline(std::time::Duration::from_secs(60))
        .output()
        .is_ok_and(|o| o.success());
    if !sent {
        site.log(
            "MonitoringLog.log",
            &format!("could not send the e-mail {subject:?}"),
        );
    }
}
