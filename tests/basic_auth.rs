//! The `basic-auth` authentication server type on a 2025 webserver: the published credentials
//! merged into the webserver's `.htpasswd` on a real S3 server.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn published_credentials_are_merged_into_htpasswd() {
    let server = S3Server::start();
    let bucket = "www-example-com-basic-auth-credentials";
    server.make_bucket(bucket);
    let h = Host::new("webserver", server.port);
    std::fs::write(
        h.path("runtime/webserver_configuration_settings.dat"),
        "WEBSITEURL:www.example.com\nWEBSERVERCHOICE:NGINX\nSERVERUSER:X9fKqwer\nAUTHENTICATORTYPE:basic-auth\n",
    )
    .unwrap();
    let o = Command::new(adt_bin())
        .args([
            "layout",
            "install",
            "--generation",
            "2025",
            "--machine",
            "webserver",
            "--home",
        ])
        .arg(&h.home)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let store = adt::datastore::open(
        &adt::datastore::Selection::S3 {
            s3cfg: h.path(".s3cfg"),
        },
        bucket,
    )
    .unwrap();
    store
        .put_bytes(
            "basic-auth-credentials/basic-auth.dat.10.0.0.3",
            b"ann:$apr1$n3w$hash\nbob:$apr1$b0b$hash\nbroken\n",
        )
        .unwrap();
    let htpasswd = h.dir.path().join("htpasswd");
    std::fs::write(&htpasswd, "ann:$apr1$old$hash\ncarol:$apr1$c$hash\n").unwrap();
    let run = || {
        h.cmd(h.path("security/ObtainBasicAuthCredentials.sh"))
            .env("S3CMD_CONFIG", h.path(".s3cfg"))
            .env("ADT_HTPASSWD", &htpasswd)
            .output()
            .unwrap()
    };
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("not user:hash"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&htpasswd).unwrap(),
        "ann:$apr1$n3w$hash\nbob:$apr1$b0b$hash\ncarol:$apr1$c$hash\n"
    );
    let mode = std::fs::metadata(&htpasswd).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Again: nothing changes.
    let before = std::fs::metadata(&htpasswd).unwrap().modified().unwrap();
    assert!(run().status.success());
    assert_eq!(
        std::fs::metadata(&htpasswd).unwrap().modified().unwrap(),
        before
    );
}
