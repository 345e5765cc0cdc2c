//! AWS's security groups (`aws ec2`): the toolkit group `AgileDeploymentToolkitSecurityGroup`
//! holds the desired inbound rules, added and revoked one by one by difference with what it
//! holds (legacy authorised every rule again every run and never revoked one); the group is
//! created in the fleet's VPC when missing, and the fleet's instances that are not in it are
//! put in it (their other groups kept). IPv4 CIDR rules are the reconciler's: those the model
//! cannot hold (port ranges, UDP, all traffic, such as the TCP 0-65535 from anywhere legacy
//! BuildAndDeployDBaaS opened) are revoked too; rules that name another group as their source
//! (legacy's webserver group pairs) are left as they are.
//! The managed database's group is an allow-list of the same kind ([`db_allow_list`]).

use super::{diff, net_of, NativeReport, NativeRule, Proto, Target};
use crate::cloud::servers::{
    aws_ensure_group, aws_groups, aws_groups_named, aws_instances, AwsIpPermission, AWS_GROUP,
};
use crate::cloud::Cli;
use crate::error::{Error, Result};
use crate::firewall::net::Net;
use std::collections::BTreeSet;

pub(super) fn reconcile(
    cli: &mut Cli,
    target: &Target,
    want: &BTreeSet<NativeRule>,
) -> Result<NativeReport> {
    let group = target.name_on_aws();
    let fleet: Vec<_> = aws_instances(cli)?
        .into_iter()
        .filter(|i| {
            target
                .members
                .takes(i.name(), i.instance_id.as_deref().unwrap_or(""))
        })
        .collect();
    let vpc = fleet
        .iter()
        .find_map(|i| i.vpc_id.clone())
        .unwrap_or_default();
    let groups = if group == AWS_GROUP {
        aws_groups(cli, &vpc)?
    } else {
        aws_groups_named(cli, &vpc, &[group])?
    };
    let description = if group == AWS_GROUP {
        "This is the security group for your agile deployment toolkit server machines"
    } else {
        "This is the security group for your agile deployment toolkit build machine"
    };
    let gid = aws_ensure_group(cli, &groups, group, &vpc, description)?;
    let perms: Vec<AwsIpPermission> = groups
        .into_iter()
        .find(|g| g.group_name.as_deref() == Some(group))
        .and_then(|g| g.ip_permissions)
        .unwrap_or_default();
    let mut rep = apply(cli, &gid, &rules_of(&perms), want)?;
    // What the model cannot hold (port ranges, other protocols, "all traffic", such as legacy
    // BuildAndDeployDBaaS's TCP 0-65535 from anywhere) is never desired: revoked.
    for perm in strays(&perms) {
        cli.change(
            "aws",
            &[
                "ec2",
                "revoke-security-group-ingress",
                "--group-id",
                &gid,
                "--ip-permissions",
                &perm,
                "--output",
                "json",
            ],
        )?;
        rep.removed += 1;
    }
    for i in fleet {
        let groups: Vec<String> = i
            .security_groups
            .iter()
            .flatten()
            .filter_map(|g| g.group_id.clone())
            .collect();
        if groups.contains(&gid) {
            continue;
        }
        let id = i.instance_id.clone().unwrap_or_default();
        let mut args = vec![
            "ec2",
            "modify-instance-attribute",
            "--instance-id",
            &id,
            "--groups",
        ];
        args.extend(groups.iter().map(String::as_str));
        args.push(&gid);
        cli.change("aws", &args)?;
    }
    Ok(rep)
}

impl Target<'_> {
    /// The security group: the fleet's is the toolkit group legacy named.
    fn name_on_aws(&self) -> &str {
        if self.name == super::FLEET.name {
            AWS_GROUP
        } else {
            self.name
        }
    }
}

/// The managed database's security group `group` admits exactly `ips` on TCP `port` (its
/// other rules are left alone): legacy AllowDBAccess/DenyDBAccess one IP at a time, as a
/// difference.
pub fn db_allow_list(cli: &mut Cli, group: &str, port: u16, ips: &[Net]) -> Result<NativeReport> {
    let v: crate::cloud::servers::AwsSecurityGroups = crate::cloud::json(
        &cli.query(
            "aws",
            &[
                "ec2",
                "describe-security-groups",
                "--group-ids",
                group,
                "--output",
                "json",
            ],
        )?,
        "aws ec2 describe-security-groups",
    )?;
    let g = v
        .security_groups
        .into_iter()
        .flatten()
        .next()
        .ok_or_else(|| Error::Config(format!("AWS lists no security group {group}")))?;
    let current: BTreeSet<NativeRule> = rules_of(&g.ip_permissions.unwrap_or_default())
        .into_iter()
        .filter(|r| r.proto == Proto::Tcp(port))
        .collect();
    let want: BTreeSet<NativeRule> = ips
        .iter()
        .filter(|n| n.is_v4())
        .map(|n| NativeRule {
            proto: Proto::Tcp(port),
            source: *n,
        })
        .collect();
    if want.is_empty() {
        return Err(Error::Config(
            "no fleet IPs: refusing to empty the database's allow-list".into(),
        ));
    }
    apply(cli, group, &current, &want)
}

/// A group's IPv4 CIDR rules as native rules (TCP single ports and ICMP; others ignored).
fn rules_of(perms: &[AwsIpPermission]) -> BTreeSet<NativeRule> {
    let mut out = BTreeSet::new();
    for p in perms {
        let proto = match (p.ip_protocol.as_deref(), p.from_port, p.to_port) {
            (Some("tcp" | "6"), Some(f), Some(t)) if f == t => match u16::try_from(f) {
                Ok(port) => Proto::Tcp(port),
                Err(_) => continue,
            },
            (Some("icmp" | "1"), Some(-1), _) => Proto::Icmp,
            _ => continue,
        };
        for r in p.ip_ranges.iter().flatten() {
            if let Some(source) = r.cidr_ip.as_deref().and_then(net_of) {
                out.insert(NativeRule { proto, source });
            }
        }
    }
    out
}

/// A group's IPv4 CIDR rules that are not single TCP ports or ICMP, each as the CLI's
/// `--ip-permissions` shorthand that names it.
fn strays(perms: &[AwsIpPermission]) -> Vec<String> {
    let mut out = Vec::new();
    for p in perms {
        let proto = p.ip_protocol.as_deref().unwrap_or("");
        let modelled = match (proto, p.from_port, p.to_port) {
            ("tcp" | "6", Some(f), Some(t)) => f == t && u16::try_from(f).is_ok(),
            ("icmp" | "1", Some(-1), _) => true,
            _ => false,
        };
        if modelled {
            continue;
        }
        let ports = match (proto, p.from_port, p.to_port) {
            ("-1", _, _) | (_, None, _) | (_, _, None) => String::new(),
            (_, Some(f), Some(t)) => format!(",FromPort={f},ToPort={t}"),
        };
        for r in p.ip_ranges.iter().flatten() {
            if let Some(c) = &r.cidr_ip {
                out.push(format!(
                    "IpProtocol={proto}{ports},IpRanges=[{{CidrIp={c}}}]"
                ));
            }
        }
    }
    out
}

/// Authorise what `want` lacks and revoke what it does not hold, one rule a call (the legacy
/// command lines: `--protocol tcp --port P --cidr C`, ICMP as `--ip-permissions`).
fn apply(
    cli: &mut Cli,
    gid: &str,
    current: &BTreeSet<NativeRule>,
    want: &BTreeSet<NativeRule>,
) -> Result<NativeReport> {
    let (add, del) = diff(current, want);
    for (verb, rules) in [
        ("authorize-security-group-ingress", &add),
        ("revoke-security-group-ingress", &del),
    ] {
        for r in rules {
            let cidr = format!("{}/{}", r.source.addr, r.source.len);
            let (port, perm);
            let mut args = vec!["ec2", verb, "--group-id", gid];
            match r.proto {
                Proto::Tcp(p) => {
                    port = p.to_string();
                    args.extend(["--protocol", "tcp", "--port", &port, "--cidr", &cidr]);
                }
                Proto::Icmp => {
                    perm = format!(
                        "IpProtocol=icmp,FromPort=-1,ToPort=-1,IpRanges=[{{CidrIp={cidr}}}]"
                    );
                    args.extend(["--ip-permissions", &perm]);
                }
            }
            args.extend(["--output", "json"]);
            cli.change("aws", &args)?;
        }
    }
    Ok(NativeReport {
        added: add.len(),
        removed: del.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_rules_are_read_and_others_ignored() {
        let perms: Vec<AwsIpPermission> = crate::cloud::json(
            r#"[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.0.2.10/32"}, {"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "tcp", "FromPort": 1035, "ToPort": 1035, "UserIdGroupPairs": [{"GroupId": "sg-1"}], "IpRanges": []},
                {"IpProtocol": "-1"}]"#,
            "aws",
        )
        .unwrap();
        let got: Vec<String> = rules_of(&perms)
            .iter()
            .map(|r| format!("{:?} {}/{}", r.proto, r.source.addr, r.source.len))
            .collect();
        assert_eq!(
            got,
            [
                "Tcp(22) 0.0.0.0/0",
                "Tcp(22) 192.0.2.10/32",
                "Icmp 0.0.0.0/0"
            ]
        );
    }

    #[test]
    fn what_the_model_cannot_hold_is_named_for_revoking() {
        let perms: Vec<AwsIpPermission> = crate::cloud::json(
            r#"[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.0.2.10/32"}]},
                {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
                {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "tcp", "FromPort": 1035, "ToPort": 1035, "UserIdGroupPairs": [{"GroupId": "sg-1"}], "IpRanges": []}]"#,
            "aws",
        )
        .unwrap();
        assert_eq!(
            strays(&perms),
            [
                "IpProtocol=tcp,FromPort=0,ToPort=65535,IpRanges=[{CidrIp=0.0.0.0/0}]",
                "IpProtocol=-1,IpRanges=[{CidrIp=10.0.0.0/8}]",
                "IpProtocol=udp,FromPort=53,ToPort=53,IpRanges=[{CidrIp=0.0.0.0/0}]"
            ]
        );
    }
}
