//! InitialiseCron on a moodle webserver: Moodle's own cron in `www-data`'s crontab, the legacy
//! line byte for byte, beside the root crontab; nothing for other applications or machines.

mod common;
use common::*;

fn run(machine: &'static str, app: &str) -> (Host, std::path::PathBuf) {
    let h = Host::new(machine, free_port());
    h.install();
    h.add_settings(&format!(
        "SERVERTIMEZONECONTINENT:Europe\nSERVERTIMEZONECITY:London\nWEBSERVERCHOICE:NGINX\nBUILDIDENTIFIER:demo1\nAPPLICATION:{app}\n"
    ));
    let dir = h.dir.path().join("crontabs");
    std::fs::create_dir_all(&dir).unwrap();
    let o = h
        .cmd(h.path(&format!("{U}InitialiseCron.sh")))
        .env("ADT_CRONTAB_FILE", dir.join("root"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("root").is_file());
    (h, dir)
}

#[test]
fn moodle_webserver_gets_the_www_data_crontab() {
    let (h, dir) = run("webserver", "moodle");
    let want = "*/1 * * * * /usr/bin/php /var/www/html/moodle/admin/cli/cron.php >/dev/null\n";
    assert_eq!(std::fs::read_to_string(dir.join("www-data")).unwrap(), want);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("www-data"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // A line of the operator's own stays; a second run changes nothing else.
    std::fs::write(dir.join("www-data"), format!("7 * * * * mine\n{want}")).unwrap();
    let o = h
        .cmd(h.path(&format!("{U}InitialiseCron.sh")))
        .env("ADT_CRONTAB_FILE", dir.join("root"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("www-data")).unwrap(),
        format!("{want}7 * * * * mine\n")
    );
}

#[test]
fn no_www_data_crontab_elsewhere() {
    for (machine, app) in [
        ("webserver", "wordpress"),
        ("database", "moodle"),
        ("autoscaler", "moodle"),
    ] {
        let (_h, dir) = run(machine, app);
        assert!(!dir.join("www-data").exists(), "{machine} {app}");
    }
}
