//! The webroot sync tunnel between webservers: SyncToDatastoreTunnel publishes new and changed
//! files, SyncFromDatastoreTunnel brings them to another webserver's webroot.

mod common;
use common::*;

#[test]
fn webroot_changes_travel_through_the_tunnel() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let a = Host::new("webserver", server.port);
    let b = Host::new("webserver", server.port);
    a.install();
    b.install();
    a.add_settings("DIRECTORIESTOMOUNT:wp-content.uploads\n");
    let root_a = a.dir.path().join("www");
    let root_b = b.dir.path().join("www");
    std::fs::create_dir_all(root_a.join("wp-content/uploads")).unwrap();
    std::fs::create_dir_all(root_a.join("css")).unwrap();
    std::fs::write(root_a.join("index.php"), "v1").unwrap();
    std::fs::write(root_a.join("css/site.css"), "body{}").unwrap();
    let to = |h: &Host, root: &std::path::Path| {
        h.cmd(h.path(&format!("{W}SyncToDatastoreTunnel.sh")))
            .env("ADT_WEBROOT", root)
            .output()
            .unwrap()
    };
    let keys = |h: &Host| -> Vec<String> {
        let o = h.s3cmd(&["ls", "-r", &format!("s3://{BUCKET}/webrootsynctunnel/")]);
        stdout(&o)
            .lines()
            .map(|l| l.rsplit("  ").next().unwrap().to_string())
            .collect()
    };

    // No credentials yet: nothing happens at all.
    let o = to(&a, &root_a);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!a.path("runtime/checklist.chk").exists());

    let p = a.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &["credentials/shit", "credentials/shit"],
    );
    assert!(p.status.success());
    // First run records the checklist and uploads nothing.
    let o = to(&a, &root_a);
    assert!(o.status.success(), "{}", stderr(&o));
    let chk = std::fs::read_to_string(a.path("runtime/checklist.chk")).unwrap();
    assert!(
        chk.contains(&format!("  {}/index.php\n", root_a.display())),
        "{chk}"
    );
    assert!(keys(&a).is_empty());

    // Changes: one modified, one new, one in an excluded directory.
    std::fs::write(root_a.join("index.php"), "v2").unwrap();
    std::fs::write(root_a.join("css/new.css"), "p{}").unwrap();
    std::fs::write(root_a.join("wp-content/uploads/photo.jpg"), "jpg").unwrap();
    let o = to(&a, &root_a);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        keys(&a),
        [
            format!("s3://{BUCKET}/webrootsynctunnel/css/new.css"),
            format!("s3://{BUCKET}/webrootsynctunnel/index.php"),
        ]
    );
    let list = std::fs::read_to_string(a.path("runtime/newandmodfiles.dat")).unwrap();
    assert_eq!(list.lines().count(), 2);

    // Nothing changed since: nothing more is uploaded.
    let o = to(&a, &root_a);
    assert_eq!(stdout(&o), "");

    // The other webserver pulls them into its webroot; a second pull is a no-op.
    std::fs::create_dir_all(&root_b).unwrap();
    let from = |h: &Host| {
        h.cmd(h.path(&format!("{W}SyncFromDatastoreTunnel.sh")))
            .env("ADT_WEBROOT", &root_b)
            .output()
            .unwrap()
    };
    let o = from(&b);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(root_b.join("index.php")).unwrap(),
        "v2"
    );
    assert_eq!(
        std::fs::read_to_string(root_b.join("css/new.css")).unwrap(),
        "p{}"
    );
    assert!(!root_b.join("wp-content").exists());
    assert_eq!(stdout(&from(&b)), "");
}
