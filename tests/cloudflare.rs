//! The Cloudflare range refresh: a valid list replaces the built-in one; anything invalid or
//! unreachable keeps the previous list. Served from a local HTTP server on 127.0.0.1.

mod common;
use common::*;
use std::process::{Command, Stdio};

struct Http(std::process::Child, u16, tempfile::TempDir);

impl Http {
    fn start() -> Http {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let c = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_port(port);
        Http(c, port, dir)
    }
    fn url(&self, f: &str) -> String {
        format!("http://127.0.0.1:{}/{f}", self.1)
    }
    fn put(&self, f: &str, body: &str) {
        std::fs::write(self.2.path().join(f), body).unwrap();
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn refresh_validates_and_keeps_the_old_list_on_error() {
    let h = Host::new("webserver", free_port());
    let http = Http::start();
    let show = || {
        stdout(
            &h.cmd(adt_bin())
                .args(["--adt-machine=webserver", "cloudflare-ranges", "show"])
                .output()
                .unwrap(),
        )
    };
    let builtin = show();
    assert_eq!(builtin.lines().count(), 22);
    assert!(builtin.starts_with("173.245.48.0/20\n"));
    http.put("v4", "173.245.48.0/20\n103.21.244.0/22\n");
    http.put("v6", "2400:cb00::/32\n");
    let refresh = |v4: &str, v6: &str| {
        h.cmd(adt_bin())
            .args([
                "--adt-machine=webserver",
                "cloudflare-ranges",
                "refresh",
                &http.url(v4),
                &http.url(v6),
            ])
            .output()
            .unwrap()
    };
    let o = refresh("v4", "v6");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(show(), "173.245.48.0/20\n103.21.244.0/22\n2400:cb00::/32\n");
    // A page that is not a list, a list with 0.0.0.0/0, a missing page: refused, list kept.
    http.put("html", "<html>Attention Required!</html>\n");
    http.put("wide", "173.245.48.0/20\n0.0.0.0/0\n");
    for (v4, v6) in [
        ("html", "v6"),
        ("wide", "v6"),
        ("missing", "v6"),
        ("v4", "empty"),
    ] {
        if v6 == "empty" {
            http.put("empty", "");
        }
        let o = refresh(v4, v6);
        assert_eq!(o.status.code(), Some(1), "{v4} {v6}");
        assert!(
            stderr(&o).contains("the previous list is kept"),
            "{}",
            stderr(&o)
        );
        assert_eq!(show(), "173.245.48.0/20\n103.21.244.0/22\n2400:cb00::/32\n");
    }
}
