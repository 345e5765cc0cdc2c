//! The 2022 `providerscripts/server/*.sh` drop-ins: the positional contracts of CreateServer,
//! DestroyServer and the getters, on the cloud host chosen as legacy did (a marker file in the
//! home, else the cloudhost argument, else the CLOUDHOST setting; `local` is the local cloud).
//!
//! Output shapes follow the legacy scripts per cloud (one value per line, or `echo ${list}`'s
//! one space-joined line where the legacy script printed that). Like the legacy scripts, they
//! exit 0 even when the cloud could not be asked; the reason goes to stderr. Fixed: names
//! match as substrings of the server *name* (legacy grepped whole table rows, so a pattern
//! could match an IP or another column), IPs match exactly (legacy `grep 10.0.0.1` also
//! matched 10.0.0.10), and Exoscale's NumberOfServers counts `webserver*` (legacy: always 0).
//! CreateServer prints the create's answer and token only: what other CLI calls print as a side
//! effect (Linode's `ip-add` table) never reaches stdout; DestroyServer prints nothing. Servers
//! are found in the cloud's complete listing (every page).
//!
//! AWS (one value per line, as its `jq` pipelines printed): names are the `descriptiveName`
//! tag; instances without a public IP print nothing (legacy printed `null`); pending instances
//! count too (legacy: running only). GetServerIPAddressByPrivateIP prints the public IP (the
//! legacy AWS branch printed the second column, the private IP it was given, back). CreateServer
//! prints `aws ec2 run-instances`' JSON, then `SNAPPED` after a snapshot (AMI) build.

use super::{arg, finish, Ctx, Outcome};
use crate::cloud::servers::{Host, Server, ServerSpec};
use crate::cloud::Cloud;
use crate::error::{Error, Result};
use std::net::IpAddr;

fn host_of(cloud: &Cloud) -> Option<Host> {
    cloud.cli().map(|c| c.host)
}

/// The legacy pattern: trailing `*` dropped (as DigitalOcean's and Exoscale's scripts did),
/// then a substring of the name.
fn matches(name: &str, pattern: &str) -> bool {
    name.contains(pattern.trim_end_matches('*'))
}

/// `values` as the legacy script printed them: one per line, or one space-joined line.
fn print(values: &[String], one_line: bool) -> String {
    if one_line {
        format!("{}\n", values.join(" "))
    } else {
        values.iter().map(|v| format!("{v}\n")).collect()
    }
}

/// Ask the cloud for its servers and answer with `f` (exit 0 whatever happens, as legacy).
fn answer(
    ctx: &Ctx,
    cloudhost: &str,
    f: impl FnOnce(Option<Host>, Vec<Server>) -> String,
) -> Outcome {
    Outcome::from_legacy_result(
        ctx,
        Cloud::open_as(ctx, cloudhost).and_then(|cloud| Ok(f(host_of(&cloud), cloud.servers()?))),
    )
}

fn by_ip<'a>(servers: &'a [Server], ip: &str, private: bool) -> Option<&'a Server> {
    let ip: IpAddr = ip.parse().ok()?;
    servers.iter().find(|s| {
        if private {
            s.private == Some(ip)
        } else {
            s.public == Some(ip)
        }
    })
}

fn ip_strings(v: impl Iterator<Item = Option<IpAddr>>) -> Vec<String> {
    v.flatten().map(|ip| ip.to_string()).collect()
}

/// GetServerIPAddresses PATTERN CLOUDHOST / GetServerPrivateIPAddresses PATTERN CLOUDHOST.
fn ip_addresses(ctx: &Ctx, pattern: &str, cloudhost: &str, private: bool) -> Outcome {
    answer(ctx, cloudhost, |host, servers| {
        let ips = ip_strings(
            servers
                .iter()
                .filter(|s| matches(&s.name, pattern))
                .map(|s| if private { s.private } else { s.public }),
        );
        print(&ips, host == Some(Host::Exoscale))
    })
}

/// GetServerIPAddressByPrivateIP IP CLOUDHOST / GetServerPrivateIPAddressByIP IP CLOUDHOST:
/// nothing for an argument that is not an IPv4 address (as legacy).
fn ip_by_ip(ctx: &Ctx, ip: &str, cloudhost: &str, from_private: bool) -> Outcome {
    if ip.parse::<std::net::Ipv4Addr>().is_err() {
        return Outcome::ok("");
    }
    answer(ctx, cloudhost, |host, servers| {
        let found = by_ip(&servers, ip, from_private);
        let ips = ip_strings(
            found
                .map(|s| if from_private { s.public } else { s.private })
                .into_iter(),
        );
        print(
            &ips,
            matches!(host, Some(Host::DigitalOcean) | Some(Host::Exoscale)),
        )
    })
}

/// GetServerName IP CLOUDHOST.
fn server_name(ctx: &Ctx, ip: &str, cloudhost: &str) -> Outcome {
    if ip.parse::<std::net::Ipv4Addr>().is_err() {
        return Outcome::ok("");
    }
    answer(ctx, cloudhost, |_, servers| {
        let s = by_ip(&servers, ip, false).or_else(|| by_ip(&servers, ip, true));
        print(
            &s.map(|s| s.name.clone()).into_iter().collect::<Vec<_>>(),
            false,
        )
    })
}

/// ListServerIDs PATTERN CLOUDHOST.
fn server_ids(ctx: &Ctx, pattern: &str, cloudhost: &str) -> Outcome {
    answer(ctx, cloudhost, |host, servers| {
        let ids: Vec<String> = servers
            .into_iter()
            .filter(|s| matches(&s.name, pattern))
            .map(|s| s.id)
            .collect();
        print(&ids, host == Some(Host::DigitalOcean))
    })
}

/// NumberOfServers PATTERN CLOUDHOST: a count.
fn count_servers(ctx: &Ctx, pattern: &str, cloudhost: &str) -> Outcome {
    answer(ctx, cloudhost, |_, servers| {
        let n = servers.iter().filter(|s| matches(&s.name, pattern)).count();
        format!("{n}\n")
    })
}

/// DestroyServer PUBLIC_IP CLOUDHOST [PRIVATE_IP]: the server's datastore markers
/// (`webserverips/<private>`, `webserverpublicips/<public>`, `bootedwebserverips/<private>`)
/// are deleted before and after the cloud's delete; `runtime/FIREWALL-REFRESH` is touched.
/// Prints nothing (legacy sent everything to `logs/firewall/`).
fn destroy(ctx: &Ctx, ip: &str, cloudhost: &str, private: &str) -> Outcome {
    if ip.parse::<std::net::Ipv4Addr>().is_err() {
        return Outcome::ok("");
    }
    Outcome::from_legacy_result(
        ctx,
        (|| {
            let cloud = Cloud::open_as(ctx, cloudhost)?;
            let servers = cloud.servers()?;
            let server = by_ip(&servers, ip, false).cloned();
            let private = match (private.is_empty(), &server) {
                (false, _) => private.to_string(),
                (true, Some(s)) => s.private.map(|p| p.to_string()).unwrap_or_default(),
                (true, None) => String::new(),
            };
            let store = ctx.store()?;
            let forget = |store: &dyn crate::datastore::Backend| -> Result<()> {
                if !private.is_empty() {
                    store.delete(&format!("webserverips/{private}"))?;
                    store.delete(&format!("bootedwebserverips/{private}"))?;
                }
                store.delete(&format!("webserverpublicips/{ip}"))
            };
            forget(store.as_ref())?;
            let Some(server) = server else {
                return Err(Error::Remote(format!(
                    "the cloud lists no server with the IP {ip}"
                )));
            };
            cloud.destroy_server(&server)?;
            forget(store.as_ref())?;
            let rt = ctx.home.join("runtime");
            let _ = std::fs::create_dir_all(&rt);
            let _ = std::fs::write(rt.join("FIREWALL-REFRESH"), "");
            ctx.log(
                "MonitoringLog.log",
                &format!("Destroyed server {} ({ip})", server.name),
            );
            Ok(String::new())
        })(),
    )
}

/// CreateServer OS REGION SIZE NAME KEY CLOUDHOST [USER] [PASSWORD]: the cloud's create
/// command line, then the legacy build token: DigitalOcean prints the CLI's answer then
/// `STANDARD` or `SNAPPED`; Exoscale prints the token first; Linode and Vultr print `SNAPPED`
/// after a snapshot build and no token otherwise. A snapshot build is SNAPAUTOSCALE:1 with a
/// SNAPSHOTID (legacy DigitalOcean's check had a typo that ignored SNAPSHOTID); on AWS, OS is
/// the AMI and the subnet is SUBNETID. Linode's root
/// password is PASSWORD, or a random one (legacy: a default written in the script).
fn create(ctx: &Ctx, args: &[String]) -> Outcome {
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    Outcome::from_legacy_result(
        ctx,
        (|| {
            let cloud = Cloud::open_as(ctx, a(5))?;
            let Some(host) = host_of(&cloud) else {
                if let Cloud::Local(c) = &cloud {
                    c.create(a(3))?;
                }
                return Ok("STANDARD\n".into());
            };
            let mut spec = ServerSpec::from_settings_unchecked(ctx, host, a(3))?;
            if !spec.snapshot {
                spec.image = match host {
                    Host::Linode if !a(0).contains('/') => {
                        format!("linode/{}", a(0).to_lowercase().replace(' ', ""))
                    }
                    Host::Exoscale => a(0).lines().next().unwrap_or("").trim().to_string(),
                    _ => a(0).to_string(),
                };
            }
            spec.region = a(1).into();
            spec.size = a(2).into();
            if !a(4).is_empty() {
                spec.key_id = a(4).into();
            }
            if !a(7).is_empty() {
                spec.root_password = a(7).into();
            }
            // The legacy caller does its own bootstrap over SSH: no user data.
            spec.user_data = None;
            spec.check(host)?;
            let token = if spec.snapshot { "SNAPPED" } else { "STANDARD" };
            let out = cloud.cli().expect("a CLI cloud").create(&spec)?;
            let out = if out.is_empty() || out.ends_with('\n') {
                out
            } else {
                out + "\n"
            };
            Ok(match host {
                Host::DigitalOcean => format!("{out}{token}\n"),
                Host::Exoscale => format!("{token}\n{out}"),
                Host::Linode | Host::Vultr | Host::Aws if spec.snapshot => {
                    format!("{out}SNAPPED\n")
                }
                Host::Linode | Host::Vultr | Host::Aws => out,
            })
        })(),
    )
}

/// CreateServer.sh OS REGION SIZE NAME KEY CLOUDHOST [USER] [PASSWORD]
pub fn create_server(ctx: &Ctx, args: &[String]) -> i32 {
    finish(create(ctx, args))
}

/// DestroyServer.sh IP CLOUDHOST [PRIVATE_IP]
pub fn destroy_server(ctx: &Ctx, args: &[String]) -> i32 {
    finish(destroy(ctx, arg(args, 0), arg(args, 1), arg(args, 2)))
}

/// GetServerIPAddresses.sh PATTERN CLOUDHOST
pub fn get_server_ip_addresses(ctx: &Ctx, args: &[String]) -> i32 {
    finish(ip_addresses(ctx, arg(args, 0), arg(args, 1), false))
}

/// GetServerPrivateIPAddresses.sh PATTERN CLOUDHOST
pub fn get_server_private_ip_addresses(ctx: &Ctx, args: &[String]) -> i32 {
    finish(ip_addresses(ctx, arg(args, 0), arg(args, 1), true))
}

/// GetServerIPAddressByPrivateIP.sh IP CLOUDHOST
pub fn get_server_ip_address_by_private_ip(ctx: &Ctx, args: &[String]) -> i32 {
    finish(ip_by_ip(ctx, arg(args, 0), arg(args, 1), true))
}

/// GetServerPrivateIPAddressByIP.sh IP CLOUDHOST
pub fn get_server_private_ip_address_by_ip(ctx: &Ctx, args: &[String]) -> i32 {
    finish(ip_by_ip(ctx, arg(args, 0), arg(args, 1), false))
}

/// GetServerName.sh IP CLOUDHOST
pub fn get_server_name(ctx: &Ctx, args: &[String]) -> i32 {
    finish(server_name(ctx, arg(args, 0), arg(args, 1)))
}

/// ListServerIDs.sh PATTERN CLOUDHOST
pub fn list_server_ids(ctx: &Ctx, args: &[String]) -> i32 {
    finish(server_ids(ctx, arg(args, 0), arg(args, 1)))
}

/// NumberOfServers.sh PATTERN CLOUDHOST
pub fn number_of_servers(ctx: &Ctx, args: &[String]) -> i32 {
    finish(count_servers(ctx, arg(args, 0), arg(args, 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_patterns() {
        assert!(matches("webserver-ab12-example-prod1", "webserver"));
        assert!(matches("webserver-ab12-example-prod1", "webserver*"));
        assert!(matches("webserver-ab12-example-prod1", "webserver-ab12"));
        assert!(!matches("0-autoscaler-x-example-prod1", "webserver"));
        assert!(matches("0-autoscaler-x-example-prod1", "autoscaler"));
        assert_eq!(print(&["a".into(), "b".into()], true), "a b\n");
        assert_eq!(print(&["a".into(), "b".into()], false), "a\nb\n");
        assert_eq!(print(&[], true), "\n");
        assert_eq!(print(&[], false), "");
    }
}
