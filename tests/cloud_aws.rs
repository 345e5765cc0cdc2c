//! AWS through the real `aws` CLI (awscli, pinned in .ci/run) against moto's server on
//! 127.0.0.1, one per test: the provider drop-ins (CreateServer with the legacy settings,
//! the listings in their AWS shapes, DestroyServer), the security groups as the native
//! firewall, and the managed database's allow-list. The CLI reads its credentials, region and
//! endpoint from the machine's `~/.aws` files (never argv); tests/support/fakecloud.py, on
//! PATH as `aws`, records each command line and runs the real CLI with it.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// moto's server on a free port, stopped when dropped.
struct Moto {
    port: u16,
    child: Child,
}

impl Moto {
    fn start() -> Option<Moto> {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let m = Moto { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(m)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real aws CLI's script (beside the python that has awscli), not a pyenv shim.
fn real_aws() -> Option<PathBuf> {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sys, os, awscli; print(os.path.join(os.path.dirname(sys.executable), 'aws'))",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    (o.status.success() && p.is_file()).then_some(p)
}

struct Case {
    _s3: S3Server,
    _moto: Moto,
    h: Host,
    bin: PathBuf,
    aws: PathBuf,
}

fn case() -> Option<Case> {
    case_for("autoscaler")
}

fn case_for(machine: &'static str) -> Option<Case> {
    let (Some(aws), true) = (
        real_aws(),
        Command::new("moto_server").arg("--help").output().is_ok(),
    ) else {
        skip("the aws CLI (pip install awscli) and moto_server are needed");
        return None;
    };
    let moto = Moto::start()?;
    let s3 = S3Server::start();
    s3.make_bucket(BUCKET);
    let h = Host::new(machine, s3.port);
    h.install();
    std::fs::write(h.path("AWS"), "").unwrap();
    // The CLI's own configuration, where an operator's `aws configure` puts it.
    let dot = h.home.join(".aws");
    std::fs::create_dir_all(&dot).unwrap();
    std::fs::write(
        dot.join("config"),
        format!(
            "[default]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:{}\n",
            moto.port
        ),
    )
    .unwrap();
    std::fs::write(
        dot.join("credentials"),
        "[default]\naws_access_key_id = AKIAADTTEST\naws_secret_access_key = adtTestSecretKey0123456789\n",
    )
    .unwrap();
    let bin = h.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fakecloud.py");
    std::os::unix::fs::symlink(&script, bin.join("aws")).unwrap();
    Some(Case {
        _s3: s3,
        _moto: moto,
        h,
        bin,
        aws,
    })
}

impl Case {
    /// A launcher with the recording `aws` first on PATH.
    fn run(&self, script: &str, args: &[&str]) -> Output {
        self.h
            .cmd_with(&self.bin, script)
            .args(args)
            .env("FAKECLOUD_DIR", self.h.dir.path())
            .env("FAKECLOUD_REAL_AWS", &self.aws)
            .env("ADT_IP_POLL_SECS", "0")
            .output()
            .unwrap()
    }

    /// A snippet run by /bin/sh with the recording `aws` first on PATH (legacy sourced some
    /// scripts).
    fn shell(&self, snippet: &str) -> Output {
        self.h
            .cmd("/bin/sh")
            .arg("-c")
            .arg(snippet)
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("FAKECLOUD_DIR", self.h.dir.path())
            .env("FAKECLOUD_REAL_AWS", &self.aws)
            .output()
            .unwrap()
    }

    /// The real CLI, directly (the test's own view of moto).
    fn aws(&self, args: &[&str]) -> Value {
        let o = Command::new(&self.aws)
            .args(args)
            .args(["--output", "json"])
            .env("HOME", &self.h.home)
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .output()
            .unwrap();
        assert!(o.status.success(), "aws {args:?}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        if out.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&out).unwrap()
        }
    }

    /// The command lines run since the last call (arguments unbracketed).
    fn calls(&self) -> Vec<String> {
        let p = self.h.dir.path().join("calls.log");
        let s = std::fs::read_to_string(&p).unwrap_or_default();
        let _ = std::fs::remove_file(&p);
        // `prog [arg] [arg]…`: brackets inside arguments (`Tags=[{…}]`) are kept.
        s.lines()
            .map(|l| {
                let (prog, rest) = l.split_once(' ').unwrap_or((l, ""));
                let rest = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
                match rest {
                    Some(r) => format!("{prog} {}", r.split("] [").collect::<Vec<_>>().join(" ")),
                    None => prog.to_string(),
                }
            })
            .collect()
    }

    fn put(&self, keys: &[&str]) {
        for k in keys {
            let o = self.h.exec(&format!("{W}PutToConfigDatastore.sh"), &[k, k]);
            assert!(o.status.success(), "{}", stderr(&o));
        }
    }

    fn instances(&self) -> Vec<Value> {
        let v = self.aws(&[
            "ec2",
            "describe-instances",
            "--filters",
            "Name=instance-state-name,Values=pending,running",
        ]);
        v["Reservations"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["Instances"].as_array().unwrap().clone())
            .collect()
    }

    fn subnet(&self) -> (String, String) {
        let v = self.aws(&["ec2", "describe-subnets"]);
        let s = &v["Subnets"][0];
        (
            s["SubnetId"].as_str().unwrap().into(),
            s["VpcId"].as_str().unwrap().into(),
        )
    }

    fn image(&self) -> String {
        let v = self.aws(&["ec2", "describe-images", "--owners", "amazon"]);
        v["Images"][0]["ImageId"].as_str().unwrap().into()
    }

    /// A group's inbound CIDR rules as `proto port cidr` lines, sorted.
    fn rules(&self, gid: &str) -> Vec<String> {
        let v = self.aws(&["ec2", "describe-security-groups", "--group-ids", gid]);
        let mut out = Vec::new();
        for p in v["SecurityGroups"][0]["IpPermissions"].as_array().unwrap() {
            for r in p["IpRanges"].as_array().unwrap() {
                out.push(format!(
                    "{} {} {}",
                    p["IpProtocol"].as_str().unwrap(),
                    p["FromPort"],
                    r["CidrIp"].as_str().unwrap()
                ));
            }
        }
        out.sort();
        out
    }

    fn group_id(&self, name: &str) -> Option<String> {
        let v = self.aws(&[
            "ec2",
            "describe-security-groups",
            "--filters",
            &format!("Name=group-name,Values={name}"),
        ]);
        v["SecurityGroups"][0]["GroupId"].as_str().map(String::from)
    }
}

const SV: &str = "providerscripts/server/";

fn name_of(i: &Value) -> String {
    i["Tags"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["Key"] == "descriptiveName")
        .map(|t| t["Value"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn drop_ins_create_list_and_destroy_servers() {
    let Some(c) = case() else { return };
    let (subnet, vpc) = c.subnet();
    let ami = c.image();
    c.h.add_settings(&format!(
        "CLOUDHOST:aws\nSUBNETID:{subnet}\nOSTYPE:{ami}\nREGION:eu-west-1\nSIZE:t3.micro\nKEYID:adt-key\nBUILDIDENTIFIER:prod1\nALGORITHM:rsa\n"
    ));
    // A standard build: the run-instances answer, no token (as legacy on AWS).
    let o = c.run(
        &format!("{SV}CreateServer.sh"),
        &[
            &ami,
            "eu-west-1",
            "t3.micro",
            "webserver-ab12-example-prod1",
            "adt-key",
            "aws",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!(
            "CreateServer printed no run-instances JSON ({e}): {}",
            stdout(&o)
        )
    });
    let web_id = out["Instances"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_string();
    let sg = c.group_id("AgileDeploymentToolkitSecurityGroup").unwrap();
    let sg1 = c
        .group_id("AgileDeploymentToolkitWebserversSecurityGroup")
        .unwrap();
    let calls = c.calls();
    let desc = |g: &str| {
        format!("aws ec2 describe-security-groups --filters Name=group-name,Values=AgileDeploymentToolkitSecurityGroup,AgileDeploymentToolkitWebserversSecurityGroup Name=vpc-id,Values={vpc} --output json{g}")
    };
    assert_eq!(
        calls,
        [
            format!("aws ec2 describe-subnets --subnet-ids {subnet} --output json"),
            desc(""),
            format!("aws ec2 create-security-group --description This is the security group for your agile deployment toolkit --group-name AgileDeploymentToolkitSecurityGroup --vpc-id={vpc} --output json"),
            format!("aws ec2 create-security-group --description This is the security group for your agile deployment toolkit autoscaled webservers --group-name AgileDeploymentToolkitWebserversSecurityGroup --vpc-id={vpc} --output json"),
            format!("aws ec2 run-instances --image-id {ami} --count 1 --instance-type t3.micro --key-name adt-key --tag-specifications ResourceType=instance,Tags=[{{Key=descriptiveName,Value=webserver-ab12-example-prod1}}] --subnet-id {subnet} --security-group-ids {sg} {sg1} --instance-initiated-shutdown-behavior terminate --output json"),
        ]
    );
    // A snapshot build: the AMI is SNAPSHOTID, the token SNAPPED; the groups exist now.
    c.h.add_settings(&format!("SNAPSHOTID:{ami}\nSNAPAUTOSCALE:1\n"));
    let o = c.run(
        &format!("{SV}CreateServer.sh"),
        &[
            "ignored",
            "eu-west-1",
            "t3.micro",
            "webserver-cd34-example-prod1",
            "adt-key",
            "aws",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.ends_with("}\nSNAPPED\n"), "{text}");
    let calls = c.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(
        calls[2].contains(&format!("--image-id {ami} ")),
        "{calls:?}"
    );
    // Another machine of the fleet, made directly.
    c.aws(&[
        "ec2",
        "run-instances",
        "--image-id",
        &ami,
        "--count",
        "1",
        "--instance-type",
        "t3.micro",
        "--subnet-id",
        &subnet,
        "--tag-specifications",
        "ResourceType=instance,Tags=[{Key=descriptiveName,Value=autoscaler-ef56-example-prod1}]",
    ]);
    let all = c.instances();
    let by_name = |n: &str| all.iter().find(|i| name_of(i) == n).unwrap().clone();
    let w1 = by_name("webserver-ab12-example-prod1");
    let w2 = by_name("webserver-cd34-example-prod1");
    let a1 = by_name("autoscaler-ef56-example-prod1");
    assert_eq!(w1["InstanceId"], web_id);
    let s = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    let get = |script: &str, args: &[&str]| {
        let o = c.run(&format!("{SV}{script}.sh"), args);
        assert!(o.status.success(), "{script}: {}", stderr(&o));
        stdout(&o)
    };
    let lines = |v: &[&Value], k: &str| v.iter().map(|i| s(i, k) + "\n").collect::<String>();
    assert_eq!(
        get("GetServerIPAddresses", &["webserver", "aws"]),
        lines(&[&w1, &w2], "PublicIpAddress")
    );
    assert_eq!(
        get("GetServerPrivateIPAddresses", &["webserver", "aws"]),
        lines(&[&w1, &w2], "PrivateIpAddress")
    );
    assert_eq!(
        get("ListServerIDs", &["webserver", "aws"]),
        lines(&[&w1, &w2], "InstanceId")
    );
    assert_eq!(get("NumberOfServers", &["webserver", "aws"]), "2\n");
    assert_eq!(get("NumberOfServers", &["autoscaler", "aws"]), "1\n");
    assert_eq!(
        get(
            "GetServerIPAddressByPrivateIP",
            &[&s(&a1, "PrivateIpAddress"), "aws"]
        ),
        s(&a1, "PublicIpAddress") + "\n"
    );
    assert_eq!(
        get(
            "GetServerPrivateIPAddressByIP",
            &[&s(&w2, "PublicIpAddress"), "aws"]
        ),
        s(&w2, "PrivateIpAddress") + "\n"
    );
    assert_eq!(
        get("GetServerName", &[&s(&w2, "PublicIpAddress"), "aws"]),
        "webserver-cd34-example-prod1\n"
    );
    c.calls();
    // DestroyServer: stopped then terminated; its markers are gone; the others stay.
    let pub1 = s(&w1, "PublicIpAddress");
    let priv1 = s(&w1, "PrivateIpAddress");
    c.put(&[
        &format!("webserverips/{priv1}"),
        &format!("webserverpublicips/{pub1}"),
    ]);
    let o = c.run(&format!("{SV}DestroyServer.sh"), &[&pub1, "aws"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let calls = c.calls();
    assert_eq!(
        &calls[1..],
        [
            format!("aws ec2 stop-instances --instance-ids {web_id} --output json"),
            format!("aws ec2 terminate-instances --instance-ids {web_id} --output json"),
        ]
    );
    let left: Vec<String> = c.instances().iter().map(name_of).collect();
    assert_eq!(
        left,
        [
            "webserver-cd34-example-prod1",
            "autoscaler-ef56-example-prod1"
        ]
    );
    let l = c.h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&l), "");
    assert_eq!(get("NumberOfServers", &["webserver", "aws"]), "1\n");
    // A stop AWS refuses (the instance is already shutting itself down): terminated all the same.
    std::fs::write(
        c.h.dir.path().join("state.json"),
        r#"{"fail": [{"match": "stop-instances", "code": 254, "stderr": "\nAn error occurred (IncorrectInstanceState) when calling the StopInstances operation: The instance is not in a state from which it can be stopped.\n"}]}"#,
    )
    .unwrap();
    let w2_id = s(&w2, "InstanceId");
    c.calls();
    let o = c.run(
        &format!("{SV}DestroyServer.sh"),
        &[&s(&w2, "PublicIpAddress"), "aws"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        &c.calls()[1..],
        [
            format!("aws ec2 stop-instances --instance-ids {w2_id} --output json"),
            format!("aws ec2 terminate-instances --instance-ids {w2_id} --output json"),
        ]
    );
    assert_eq!(get("NumberOfServers", &["webserver", "aws"]), "0\n");
    std::fs::remove_file(c.h.dir.path().join("state.json")).unwrap();
    // No credentials: one clear line saying where the CLI reads them from, and no secret.
    std::fs::remove_file(c.h.home.join(".aws/credentials")).unwrap();
    let o = c.run(&format!("{SV}NumberOfServers.sh"), &["webserver", "aws"]);
    let e = stderr(&o);
    assert!(
        e.contains("aws ec2 describe-instances failed") && e.contains("aws configure"),
        "{e}"
    );
}

#[test]
fn security_groups_are_the_native_firewall() {
    let Some(c) = case() else { return };
    let (subnet, vpc) = c.subnet();
    let ami = c.image();
    c.h.add_settings("CLOUDHOST:aws\nBUILDCLIENTIP:192.0.2.10\nDNSCHOICE:digitalocean\n");
    c.put(&[
        "INSTALLEDSUCCESSFULLY",
        "webserverips/10.0.0.5",
        "webserverpublicips/203.0.113.5",
        "autoscalerip/10.0.0.9",
    ]);
    // A fleet machine in the default group only, and a machine that is not the fleet's.
    for name in ["database-ab12-example-prod1", "bastion"] {
        c.aws(&[
            "ec2",
            "run-instances",
            "--image-id",
            &ami,
            "--count",
            "1",
            "--instance-type",
            "t3.micro",
            "--subnet-id",
            &subnet,
            "--tag-specifications",
            &format!("ResourceType=instance,Tags=[{{Key=descriptiveName,Value={name}}}]"),
        ]);
    }
    const UNF: &str = "providerscripts/security/firewall/UpdateNativeFirewall.sh";
    let o = c.run(UNF, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sg = c.group_id("AgileDeploymentToolkitSecurityGroup").unwrap();
    let v = c.aws(&["ec2", "describe-security-groups", "--group-ids", &sg]);
    assert_eq!(v["SecurityGroups"][0]["VpcId"], vpc.as_str());
    let fleet = |ips: &[&str]| {
        let mut want = vec![
            "icmp -1 0.0.0.0/0".to_string(),
            "tcp 443 0.0.0.0/0".to_string(),
        ];
        for ip in ips {
            for p in [22, 1035, 2035] {
                want.push(format!("tcp {p} {ip}/32"));
            }
        }
        want.sort();
        want
    };
    assert_eq!(
        c.rules(&sg),
        fleet(&["10.0.0.5", "203.0.113.5", "10.0.0.9", "192.0.2.10"])
    );
    // The fleet's machine is in the group now (its default group kept); the other is not.
    for i in c.instances() {
        let groups: Vec<&str> = i["SecurityGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["GroupId"].as_str().unwrap())
            .collect();
        assert_eq!(
            groups.contains(&sg.as_str()),
            name_of(&i) != "bastion",
            "{groups:?}"
        );
    }
    c.calls();
    // Again: nothing to change, nothing changed.
    let o = c.run(UNF, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let changes: Vec<String> = c
        .calls()
        .into_iter()
        .filter(|l| !l.contains(" describe-"))
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    // A webserver gone from the lists and a stray rule: both revoked, one call each; a rule
    // naming another group as its source is left alone.
    c.h.exec(
        &format!("{W}DeleteFromConfigDatastore.sh"),
        &["webserverpublicips/203.0.113.5"],
    );
    c.aws(&[
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        &sg,
        "--protocol",
        "tcp",
        "--port",
        "8080",
        "--cidr",
        "198.51.100.7/32",
    ]);
    // Legacy BuildAndDeployDBaaS's TCP 0-65535 from anywhere: not the model's, revoked.
    c.aws(&[
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        &sg,
        "--ip-permissions",
        "IpProtocol=tcp,FromPort=0,ToPort=65535,IpRanges=[{CidrIp=0.0.0.0/0}]",
    ]);
    let sg1 = c.aws(&[
        "ec2",
        "create-security-group",
        "--description",
        "pairs",
        "--group-name",
        "pairs",
        &format!("--vpc-id={vpc}"),
    ])["GroupId"]
        .as_str()
        .unwrap()
        .to_string();
    c.aws(&[
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        &sg,
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--source-group",
        &sg1,
    ]);
    c.calls();
    let o = c.run(UNF, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut changes: Vec<String> = c
        .calls()
        .into_iter()
        .filter(|l| !l.contains(" describe-"))
        .collect();
    changes.sort();
    let revoke = |p: u16, ip: &str| {
        format!("aws ec2 revoke-security-group-ingress --group-id {sg} --protocol tcp --port {p} --cidr {ip}/32 --output json")
    };
    assert_eq!(
        changes,
        [
            format!("aws ec2 revoke-security-group-ingress --group-id {sg} --ip-permissions IpProtocol=tcp,FromPort=0,ToPort=65535,IpRanges=[{{CidrIp=0.0.0.0/0}}] --output json"),
            revoke(1035, "203.0.113.5"),
            revoke(2035, "203.0.113.5"),
            revoke(22, "203.0.113.5"),
            revoke(8080, "198.51.100.7"),
        ]
    );
    assert_eq!(c.rules(&sg), fleet(&["10.0.0.5", "10.0.0.9", "192.0.2.10"]));
    let v = c.aws(&["ec2", "describe-security-groups", "--group-ids", &sg]);
    let pairs = v["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["UserIdGroupPairs"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(pairs, 1, "the group-pair rule stays");
}

#[test]
fn managed_database_allow_list_is_its_security_group() {
    let Some(c) = case() else { return };
    let (_, vpc) = c.subnet();
    let db_sg = c.aws(&[
        "ec2",
        "create-security-group",
        "--description",
        "rds",
        "--group-name",
        "adt-rds",
        &format!("--vpc-id={vpc}"),
    ])["GroupId"]
        .as_str()
        .unwrap()
        .to_string();
    c.aws(&[
        "rds",
        "create-db-instance",
        "--db-instance-identifier",
        "adt-db",
        "--db-instance-class",
        "db.t3.micro",
        "--engine",
        "mysql",
        "--master-username",
        "admin",
        "--master-user-password",
        "Secret0123456",
        "--allocated-storage",
        "20",
        "--vpc-security-group-ids",
        &db_sg,
    ]);
    c.h.add_settings("CLOUDHOST:aws\nDATABASEDBaaSINSTALLATIONTYPE:MySQL:DBAAS:mysql:eu-west-1a:db.t3.micro:mydb:adt-db:20:admin:Secret0123456\n");
    c.put(&[
        "autoscalerpublicip/203.0.113.9",
        "webserverpublicips/203.0.113.5",
        "webserverips/10.0.0.5",
    ]);
    // An IP that left the fleet, and a rule on another port (not the allow-list's).
    for (port, ip) in [("2035", "198.51.100.7/32"), ("22", "192.0.2.1/32")] {
        c.aws(&[
            "ec2",
            "authorize-security-group-ingress",
            "--group-id",
            &db_sg,
            "--protocol",
            "tcp",
            "--port",
            port,
            "--cidr",
            ip,
        ]);
    }
    let tighten = || {
        let o =
            c.h.cmd("/bin/sh")
                .arg("-c")
                .arg(format!(
                    ". {}",
                    c.h.path("providerscripts/security/firewall/TightenDBaaSFirewall.sh")
                        .display()
                ))
                .env("PATH", format!("{}:/usr/bin:/bin", c.bin.display()))
                .env("FAKECLOUD_DIR", c.h.dir.path())
                .env("FAKECLOUD_REAL_AWS", &c.aws)
                .output()
                .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    };
    tighten();
    assert_eq!(
        c.rules(&db_sg),
        [
            "tcp 2035 203.0.113.5/32",
            "tcp 2035 203.0.113.9/32",
            "tcp 22 192.0.2.1/32"
        ]
    );
    let calls = c.calls();
    assert_eq!(
        calls[0],
        "aws rds describe-db-instances --db-instance-identifier adt-db --output json"
    );
    assert!(
        calls.iter().all(|l| !l.contains("Secret0123456")),
        "the database password stays off argv: {calls:?}"
    );
    // The group named in the settings (legacy DBaaSDBSECURITYGROUP) is used as it is.
    c.h.add_settings(&format!("DBaaSDBSECURITYGROUP:{db_sg}\n"));
    c.put(&["webserverpublicips/203.0.113.6"]);
    tighten();
    let calls = c.calls();
    assert_eq!(
        calls,
        [
            format!("aws ec2 describe-security-groups --group-ids {db_sg} --output json"),
            format!("aws ec2 authorize-security-group-ingress --group-id {db_sg} --protocol tcp --port 2035 --cidr 203.0.113.6/32 --output json"),
        ]
    );
}

/// PerformScaling on AWS: three webservers of this build (and one of another build, never
/// counted or touched), profile 2, one of them out of DNS: that one is destroyed.
#[test]
fn perform_scaling_scales_down_and_cleans_up_a_failed_build() {
    let Some(c) = case() else { return };
    let (subnet, _) = c.subnet();
    let ami = c.image();
    c.h.add_settings(
        "CLOUDHOST:aws\nDNSCHOICE:local\nBUILDIDENTIFIER:prod1\nREGION:eu-west-1\nNUMBERWS:2\n",
    );
    for name in [
        "webserver-ab12-example-prod1",
        "webserver-cd34-example-prod1",
        "webserver-ef56-example-prod1",
        "webserver-zz99-example-prod2",
    ] {
        c.aws(&[
            "ec2",
            "run-instances",
            "--image-id",
            &ami,
            "--count",
            "1",
            "--instance-type",
            "t3.micro",
            "--subnet-id",
            &subnet,
            "--tag-specifications",
            &format!("ResourceType=instance,Tags=[{{Key=descriptiveName,Value={name}}}]"),
        ]);
    }
    let all = c.instances();
    let ip = |n: &str, k: &str| {
        let i = all.iter().find(|i| name_of(i) == n).unwrap();
        (
            i[k].as_str().unwrap().to_string(),
            i["InstanceId"].as_str().unwrap().to_string(),
        )
    };
    // The managed database's own group (legacy DBaaSDBSECURITYGROUP), open to all three.
    let (_, vpc) = c.subnet();
    let db_sg = c.aws(&[
        "ec2",
        "create-security-group",
        "--description",
        "rds",
        "--group-name",
        "adt-rds",
        &format!("--vpc-id={vpc}"),
    ])["GroupId"]
        .as_str()
        .unwrap()
        .to_string();
    c.h.add_settings(&format!("DBaaSDBSECURITYGROUP:{db_sg}\n"));
    c.put(&["INSTALLEDSUCCESSFULLY"]);
    for n in ["ab12", "cd34", "ef56"] {
        let name = format!("webserver-{n}-example-prod1");
        c.put(&[
            &format!("webserverips/{}", ip(&name, "PrivateIpAddress").0),
            &format!("webserverpublicips/{}", ip(&name, "PublicIpAddress").0),
        ]);
    }
    assert!(c
        .h
        .exec("providerscripts/utilities/ManuallyScale.sh", &["2"])
        .status
        .success());
    let dns = c.h.path(".adt-rs/dns");
    std::fs::create_dir_all(&dns).unwrap();
    let (ab, _) = ip("webserver-ab12-example-prod1", "PublicIpAddress");
    for n in ["ab12", "cd34", "ef56"] {
        let (p, _) = ip(&format!("webserver-{n}-example-prod1"), "PublicIpAddress");
        c.aws(&[
            "ec2",
            "authorize-security-group-ingress",
            "--group-id",
            &db_sg,
            "--protocol",
            "tcp",
            "--port",
            "2035",
            "--cidr",
            &format!("{p}/32"),
        ]);
    }
    let (cd, _) = ip("webserver-cd34-example-prod1", "PublicIpAddress");
    let (ef, ef_id) = ip("webserver-ef56-example-prod1", "PublicIpAddress");
    let hosts = format!("{ab} www.example.com\n{cd} www.example.com\n");
    std::fs::write(dns.join("hosts"), &hosts).unwrap();
    // The fleet's health checks meet stand-ins that fail at once.
    for (name, script) in [
        ("ssh", "#!/bin/sh\nexit 255\n"),
        ("curl", "#!/bin/sh\nprintf 000\nexit 7\n"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(c.bin.join(name), script).unwrap();
        std::fs::set_permissions(c.bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = |args: &[&str]| {
        c.h.cmd_with(&c.bin, "autoscaler/PerformScaling.sh")
            .args(args)
            .env("FAKECLOUD_DIR", c.h.dir.path())
            .env("FAKECLOUD_REAL_AWS", &c.aws)
            .env("ADT_DNS_DRAIN_SECS", "0")
            .output()
            .unwrap()
    };
    let dry = run(&["--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(
        stdout(&dry).starts_with("wanted 2 have 3\n")
            && stdout(&dry).ends_with(&format!("destroy webserver-ef56-example-prod1 {ef}\n")),
        "{}",
        stdout(&dry)
    );
    c.calls();
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let changes: Vec<String> = c
        .calls()
        .into_iter()
        .filter(|l| !l.contains(" describe-"))
        .collect();
    assert_eq!(
        changes,
        [
            format!("aws ec2 stop-instances --instance-ids {ef_id} --output json"),
            format!("aws ec2 terminate-instances --instance-ids {ef_id} --output json"),
            format!("aws ec2 revoke-security-group-ingress --group-id {db_sg} --protocol tcp --port 2035 --cidr {ef}/32 --output json"),
        ]
    );
    let mut want = vec![format!("tcp 2035 {ab}/32"), format!("tcp 2035 {cd}/32")];
    want.sort();
    assert_eq!(c.rules(&db_sg), want, "the database admits the two left");
    let mut left: Vec<String> = c.instances().iter().map(name_of).collect();
    left.sort();
    assert_eq!(
        left,
        [
            "webserver-ab12-example-prod1",
            "webserver-cd34-example-prod1",
            "webserver-zz99-example-prod2"
        ]
    );
    assert_eq!(std::fs::read_to_string(dns.join("hosts")).unwrap(), hosts);
    // Profile 3: a snapshot build with the AWS settings; the new server never answers SSH
    // (moto's addresses lead nowhere), so the build fails and the server is terminated again.
    c.h.add_settings(&format!(
        "SIZE:t3.micro\nKEYID:adt-key\nSUBNETID:{subnet}\nSNAPSHOTID:{ami}\nSNAPAUTOSCALE:1\nALGORITHM:rsa\n"
    ));
    std::fs::write(
        c.h.path(".ssh/webserver_configuration_settings.dat"),
        "WEBSITEURL:www.example.com\n",
    )
    .unwrap();
    assert!(c
        .h
        .exec("providerscripts/utilities/ManuallyScale.sh", &["3"])
        .status
        .success());
    let o =
        c.h.cmd_with(&c.bin, "autoscaler/PerformScaling.sh")
            .env("FAKECLOUD_DIR", c.h.dir.path())
            .env("FAKECLOUD_REAL_AWS", &c.aws)
            .env("ADT_DNS_DRAIN_SECS", "0")
            .env("ADT_IP_POLL_SECS", "0")
            .env("ADT_BUILD_WAIT", "1")
            .output()
            .unwrap();
    let changes: Vec<String> = c
        .calls()
        .into_iter()
        .filter(|l| !l.contains(" describe-"))
        .collect();
    // The new server was let into the database's group, and out again with it.
    let (db, changes): (Vec<String>, Vec<String>) =
        changes.into_iter().partition(|l| l.contains(&db_sg));
    assert_eq!(db.len(), 2, "{db:?}");
    assert!(db[0].starts_with(&format!("aws ec2 authorize-security-group-ingress --group-id {db_sg} --protocol tcp --port 2035 --cidr ")), "{db:?}");
    assert!(db[1].starts_with(&format!("aws ec2 revoke-security-group-ingress --group-id {db_sg} --protocol tcp --port 2035 --cidr ")), "{db:?}");
    assert_eq!(c.rules(&db_sg), want);
    // The toolkit's security groups are made first (this VPC had none yet).
    assert_eq!(changes.len(), 5, "{changes:?}\n{}", stderr(&o));
    assert!(changes[..2]
        .iter()
        .all(|l| l.starts_with("aws ec2 create-security-group")));
    let changes = &changes[2..];
    assert!(changes[0].starts_with(&format!("aws ec2 run-instances --image-id {ami} --count 1 --instance-type t3.micro --key-name adt-key --tag-specifications ResourceType=instance,Tags=[{{Key=descriptiveName,Value=webserver-")), "{changes:?}");
    assert!(
        changes[1].starts_with("aws ec2 stop-instances"),
        "{changes:?}"
    );
    assert!(
        changes[2].starts_with("aws ec2 terminate-instances"),
        "{changes:?}"
    );
    assert_eq!(c.instances().len(), 3, "the failed build is gone");
    // A cloud-init build (no snapshot, `runtime/cloud-init/webserver.yaml`): the user data goes
    // by its file's name, never its text on argv; it reaches the instance.
    let f = c.h.path(".ssh/autoscaler_configuration_settings.dat");
    let kept: String = std::fs::read_to_string(&f)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("SNAPSHOTID:") && *l != "SNAPAUTOSCALE:1")
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&f, format!("{kept}OSTYPE:{ami}\n")).unwrap();
    let ud = c.h.path("runtime/cloud-init/webserver.yaml");
    std::fs::create_dir_all(ud.parent().unwrap()).unwrap();
    std::fs::write(&ud, "#cloud-config\npassword: S3cretUserData\n").unwrap();
    let o =
        c.h.cmd_with(&c.bin, "autoscaler/PerformScaling.sh")
            .env("FAKECLOUD_DIR", c.h.dir.path())
            .env("FAKECLOUD_REAL_AWS", &c.aws)
            .env("ADT_DNS_DRAIN_SECS", "0")
            .env("ADT_IP_POLL_SECS", "0")
            .env("ADT_BUILD_WAIT", "1")
            .output()
            .unwrap();
    let calls = c.calls();
    let run = calls
        .iter()
        .find(|l| l.contains("run-instances"))
        .unwrap_or_else(|| panic!("no build: {calls:?}\n{}", stderr(&o)));
    assert!(
        run.contains(&format!("--image-id {ami} "))
            && run.ends_with(&format!(
                "--user-data file://{} --output json",
                ud.display()
            )),
        "{run}"
    );
    assert!(calls.iter().all(|l| !l.contains("S3cretUserData")));
    let id = calls
        .iter()
        .find_map(|l| l.strip_prefix("aws ec2 terminate-instances --instance-ids "))
        .unwrap_or_else(|| panic!("not cleaned up: {calls:?}\n{}", stderr(&o)))
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let v = c.aws(&[
        "ec2",
        "describe-instance-attribute",
        "--instance-id",
        &id,
        "--attribute",
        "userData",
    ]);
    let b64 = v["UserData"]["Value"].as_str().unwrap_or("");
    let decoded = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            ch.stdin.take().unwrap().write_all(b64.as_bytes())?;
            ch.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&decoded.stdout),
        "#cloud-config\npassword: S3cretUserData\n"
    );
}

/// The build machine's own security group follows its access list (legacy
/// AdjustBuildMachineNativeFirewall.sh, sourced by TightenBuildMachineFirewall): the SSH port
/// from each listed address, added and revoked; a bad line opens nothing; the build machine
/// (found by its address) is put in the group, its other groups kept.
#[test]
fn the_build_machines_security_group_follows_the_access_list() {
    let Some(c) = case_for("build") else { return };
    const ADJ: &str = "providerscripts/security/firewall/AdjustBuildMachineNativeFirewall.sh";
    assert!(c.h.path(ADJ).is_file(), "the installer places {ADJ}");
    let (subnet, _vpc) = c.subnet();
    let ami = c.image();
    for name in ["adt-build-machine-host", "webserver-ab12-example-prod1"] {
        c.aws(&[
            "ec2",
            "run-instances",
            "--image-id",
            &ami,
            "--count",
            "1",
            "--instance-type",
            "t3.micro",
            "--subnet-id",
            &subnet,
            "--tag-specifications",
            &format!("ResourceType=instance,Tags=[{{Key=descriptiveName,Value={name}}}]"),
        ]);
    }
    let bm = c
        .instances()
        .into_iter()
        .find(|i| name_of(i) == "adt-build-machine-host")
        .unwrap();
    let bm_id = bm["InstanceId"].as_str().unwrap().to_string();
    let bm_ip = bm["PrivateIpAddress"].as_str().unwrap().to_string();
    let groups_of = |i: &Value| -> Vec<String> {
        i["SecurityGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["GroupId"].as_str().unwrap().to_string())
            .collect()
    };
    let before = groups_of(&bm);
    let adjust = |ips: &str| {
        c.shell(&format!(
            "CLOUDHOST=aws; SSH_PORT=1035; BUILD_CLIENT_IP={bm_ip}; ips='{ips}'; . {}; echo \"caller alive $SSH_PORT\"",
            c.h.path(ADJ).display()
        ))
    };
    let o = adjust("198.51.100.7 198.51.100.8 0.0.0.0/0 not-an-ip");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "caller alive 1035\n");
    let err = stderr(&o);
    assert!(
        err.contains("\"0.0.0.0/0\" is a network, not one address; it opens nothing"),
        "{err}"
    );
    assert!(err.contains("not-an-ip"), "{err}");
    let sg = c
        .group_id("adt-build-machine")
        .expect("the group is created");
    assert_eq!(
        c.rules(&sg),
        [
            "icmp -1 0.0.0.0/0",
            "tcp 1035 198.51.100.7/32",
            "tcp 1035 198.51.100.8/32"
        ]
    );
    // Only the build machine is in it, its other groups kept.
    for i in c.instances() {
        let groups = groups_of(&i);
        let is_bm = i["InstanceId"] == bm_id.as_str();
        assert_eq!(groups.contains(&sg), is_bm, "{groups:?}");
        if is_bm {
            assert!(
                before.iter().all(|g| groups.contains(g)),
                "{before:?} {groups:?}"
            );
        }
    }
    c.calls();
    // An address removed, another added: one revoke and one authorise, nothing else changed.
    let o = adjust("198.51.100.8:198.51.100.9");
    assert!(o.status.success(), "{}", stderr(&o));
    let changes: Vec<String> = c
        .calls()
        .into_iter()
        .filter(|l| !l.contains(" describe-"))
        .collect();
    assert_eq!(
        changes,
        [
            format!("aws ec2 authorize-security-group-ingress --group-id {sg} --protocol tcp --port 1035 --cidr 198.51.100.9/32 --output json"),
            format!("aws ec2 revoke-security-group-ingress --group-id {sg} --protocol tcp --port 1035 --cidr 198.51.100.7/32 --output json"),
        ]
    );
    assert_eq!(
        c.rules(&sg),
        [
            "icmp -1 0.0.0.0/0",
            "tcp 1035 198.51.100.8/32",
            "tcp 1035 198.51.100.9/32"
        ]
    );
    // A list with no good address changes nothing (the build machine is not shut off).
    let o = adjust("0.0.0.0/0");
    assert_eq!(stdout(&o), "caller alive 1035\n", "the caller goes on");
    assert!(
        stderr(&o).contains("holds no IPv4 address"),
        "{}",
        stderr(&o)
    );
    assert_eq!(c.rules(&sg).len(), 3);
    // Not found in the cloud's listing: said, nothing changed.
    let o = c.shell(&format!(
        "CLOUDHOST=aws; SSH_PORT=1035; BUILD_CLIENT_IP=192.0.2.99; ips=198.51.100.1; . {}",
        c.h.path(ADJ).display()
    ));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("lists no server with this build machine's addresses"),
        "{}",
        stderr(&o)
    );
    assert_eq!(c.rules(&sg).len(), 3);
}
