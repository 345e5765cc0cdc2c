//! Baselines end to end, per application, with real MariaDB (WordPress, Joomla) and PostgreSQL
//! (Drupal, Moodle) servers and a minimal but faithful webroot and schema for each: secrets
//! are planted where spec §2.3 says legacy leaks them (config files, user tables, sessions,
//! option tables, private directories) plus a `.env`, a plugin option and an uploaded key file;
//! a baseline is made with `adt baseline scrub-tree` / `scrub-dump`, archived and split as
//! legacy does (`baseline/application-db-NN`) and pushed to local repositories over file://.
//!
//! Asserted: `adt baseline check` finds nothing in either pushed repository (and does find the
//! planted secrets in the unscrubbed webroot: the checker is not blind); a grep for every planted
//! value (plain and as the dump spells it) over a clone of the repositories, archives opened,
//! finds none; a fresh site is deployed from the baseline twice through the legacy paths
//! (`ConfigureDBAccessByApplication.sh` run by `/bin/sh` as cron does, `InstallApplicationDB.sh`
//! sourced by a `/bin/sh` caller as db.sh does; the kept legacy scripts are models of legacy's
//! steps, ours follow): no token is left in the webroot, its config copies or the database, the
//! two deployments share no salt, key or password, and the administrator's stored hash verifies
//! (tests/support/verify_hash.py, phpass/Drupal/SHA-512 crypt written independently) against the
//! password handed over in the config datastore. In the same run the legacy scrub (§2.2, modelled below)
//! is applied to the same site and its leaks counted; the figures are printed
//! (`planted / leaked by legacy / leaked by ours`) and go in the README.

mod common;
use common::db::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const IDENT: &str = "mybaseline";

/// The database tests of this file one at a time: two `mariadb-install-db` runs at once on
/// this machine sometimes fail, and the servers are heavy for a 2-core machine anyway.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A value unique to this run: `tag` plus a counter-derived tail.
fn uniq(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{tag}{:08x}{n:02}", t ^ (std::process::id() << 8))
}

fn hex32(seed: &str) -> String {
    let mut h: u64 = 1469598103934665603;
    let mut out = String::new();
    for round in 0..2u64 {
        for b in seed.bytes() {
            h = (h ^ b as u64 ^ round).wrapping_mul(1099511628211);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

fn put(root: &Path, rel: &str, body: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn run(cmd: &mut Command) -> std::process::Output {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    run(Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t"))
}

/// The site: its application, the live webroot, the toolkit home, the planted secrets.
struct Site {
    app: &'static str,
    kind: DbKind,
    root: tempfile::TempDir,
    planted: Vec<(&'static str, String)>,
    db_user: String,
    db_pass: String,
}

impl Site {
    fn web(&self) -> PathBuf {
        self.root.path().join("www/html")
    }
    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }
    fn plant(&mut self, what: &'static str, v: &str) -> String {
        assert!(self.planted.iter().all(|(_, x)| x != v));
        self.planted.push((what, v.to_string()));
        v.to_string()
    }
    /// `adt` with this machine's home, webroot and HOME.
    fn adt(&self) -> Command {
        let mut c = Command::new(common::adt_bin());
        c.env("ADT_HOMEDIR_FILE", self.root.path().join("homedir.dat"))
            .env("HOME", self.home())
            .env("ADT_WEBROOT", self.web())
            .env("ADT_MACHINE", "webserver")
            .env_remove("S3CMD_CONFIG");
        c
    }
}

/// The machine's own secrets (settings, s3cmd, SSH key, DB credentials) and the site's DB user.
fn machine(app: &'static str, kind: DbKind, server: &DbServer) -> Site {
    let root = tempfile::tempdir().unwrap();
    let mut s = Site {
        app,
        kind,
        root,
        planted: vec![],
        db_user: format!("u{app}usr1u"),
        db_pass: String::new(),
    };
    // A DBaaS-like password with `/`, `+` and `[` (legacy's sed fails whole on it) for two
    // of the four sites; the others use the test servers' password full of shell characters.
    s.db_pass = if matches!(app, "wordpress" | "drupal") {
        s.plant("database password", &format!("{}/a+B[9=", uniq("Db")))
    } else {
        s.plant(
            "database password",
            &format!("{}{APP_PASSWORD}", uniq("Db")),
        )
    };
    let home = s.home();
    std::fs::write(
        s.root.path().join("homedir.dat"),
        format!("{}\n", home.display()),
    )
    .unwrap();
    // Held by the machine only (not placed in the site): the checker must know it anyway.
    let dns = uniq("dnskey");
    let email = s.plant("e-mail password (settings)", &uniq("mailpw"));
    put(
        &home,
        ".ssh/webserver_configuration_settings.dat",
        &format!(
            "WEBSITEURL:www.example.com\nAPPLICATIONIDENTIFIER:{}\nDNSSECURITYKEY:{dns}\nEMAILUSERNAME:mailer@example.com\nEMAILPASSWORD:{email}\nSERVERUSER:{}\n",
            match app {
                "joomla" => 1,
                "wordpress" => 2,
                "drupal" => 3,
                _ => 4,
            },
            uniq("su")
        ),
    );
    let ak = format!("AKIA{}", &hex32(&uniq("a")).to_uppercase()[..16]);
    let sk = uniq("s3secret/");
    put(
        &home,
        ".s3cfg",
        &format!("[default]\naccess_key = {ak}\nsecret_key = {sk}\nhost_base = s3.example.com\n"),
    );
    let keybody = uniq("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW");
    put(
        &home,
        ".ssh/id_rsa",
        &format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{keybody}\n-----END OPENSSH PRIVATE KEY-----\n"
        ),
    );
    put(
        &home,
        "credentials/shit",
        &format!("{APP_DB}\n{}\n{}\n", s.db_pass, s.db_user),
    );
    // The site's own database user, as a deployment creates it.
    let q = s.db_pass.replace('\'', "''");
    match kind {
        DbKind::Maria => {
            server.sql(
                "mysql",
                &format!(
                    "CREATE USER '{u}'@'localhost' IDENTIFIED BY '{q}'; GRANT ALL ON `{APP_DB}`.* TO '{u}'@'localhost'; CREATE USER '{u}'@'%' IDENTIFIED BY '{q}'; GRANT ALL ON `{APP_DB}`.* TO '{u}'@'%';",
                    u = s.db_user
                ),
            );
        }
        DbKind::Postgres => {
            server.sql(
                "postgres",
                &format!("CREATE ROLE {} LOGIN PASSWORD '{q}';", s.db_user),
            );
            server.sql(
                APP_DB,
                &format!("GRANT ALL ON SCHEMA public TO {};", s.db_user),
            );
        }
    }
    // Things of the webroot every application may have: a `.env`, an uploaded key, a `.git`
    // with a credential URL.
    let web = s.web();
    let stripe = s.plant(".env secret", &format!("sk_live_{}", uniq("")));
    put(
        &web,
        ".env",
        &format!("APP_ENV=production\nSTRIPE_SECRET={stripe}\n"),
    );
    let up = s.plant(
        "uploaded private key",
        &uniq("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
    );
    put(
        &web,
        "uploads-dir/2024/05/deploy_key.pem",
        &format!("-----BEGIN PRIVATE KEY-----\n{up}\n-----END PRIVATE KEY-----\n"),
    );
    let gt = s.plant("git credential URL", &format!("ghp_{}", uniq("")));
    put(
        &web,
        ".git/config",
        &format!("[remote \"origin\"]\n\turl = https://me:{gt}@github.com/me/site.git\n"),
    );
    put(&web, "index.php", "<?php require __DIR__ . '/app.php';\n");
    let _ = (ak, sk, keybody);
    s
}

/// Fill the database and write the application's files, planting its secrets.
fn application(s: &mut Site, server: &DbServer) {
    let web = s.web();
    let email = s
        .planted
        .iter()
        .find(|p| p.0.starts_with("e-mail"))
        .unwrap()
        .1
        .clone();
    let (dbu, dbp) = (s.db_user.clone(), s.db_pass.clone());
    let php_pw = dbp.replace('\\', "\\\\").replace('\'', "\\'");
    let sql_q = |v: &str| v.replace('\\', "\\\\").replace('\'', "''");
    let sql = match s.app {
        "wordpress" => {
            let auth = s.plant("WordPress AUTH_KEY", &format!("{}/[x\\y", uniq("ak")));
            let nonce = s.plant("WordPress NONCE_SALT", &uniq("ns"));
            put(
                &web,
                "wp-config.php",
                &format!(
                    "<?php\ndefine( 'DB_NAME', '{APP_DB}' );\ndefine( 'DB_USER', '{dbu}' );\ndefine( 'DB_PASSWORD', '{php_pw}' );\ndefine( 'DB_HOST', '127.0.0.1:{}' );\ndefine('AUTH_KEY', '{}');\ndefine('NONCE_SALT', '{nonce}');\n$table_prefix = 'wp_';\nrequire_once ABSPATH . 'wp-settings.php';\n",
                    server.port,
                    auth.replace('\\', "\\\\")
                ),
            );
            put(
                &web,
                "wp-config-sample.php",
                "<?php\ndefine( 'DB_NAME', 'database_name_here' );\n",
            );
            let sess = s.plant("WordPress upload session file", &uniq("sessval"));
            put(
                &web,
                "wp-content/uploads/sess_7f3a",
                &format!("token|s:20:\"{sess}\";"),
            );
            let h1 = s.plant(
                "WordPress admin hash",
                &format!("$P$B{}", &hex32("h1")[..30].replace('0', ".")),
            );
            let h2 = s.plant(
                "WordPress user hash",
                &format!("$P$B{}", &hex32("h2")[..30].replace('1', "/")),
            );
            let tok = s.plant("WordPress session token", &hex32(&uniq("tok")));
            let smtp = s.plant("WordPress SMTP plugin password", &uniq("smtpplug"));
            let api = s.plant("WordPress plugin API key", &uniq("apikey"));
            let ser = format!(
                "a:1:{{s:4:\"mail\";a:2:{{s:4:\"host\";s:6:\"smtp.x\";s:4:\"pass\";s:{}:\"{smtp}\";}}}}",
                smtp.len()
            );
            let toks = format!("a:1:{{s:32:\"{tok}\";a:1:{{s:10:\"expiration\";i:1;}}}}");
            format!(
                "CREATE TABLE wp_users (ID bigint(20) unsigned NOT NULL AUTO_INCREMENT, user_login varchar(60) NOT NULL DEFAULT '', user_pass varchar(255) NOT NULL DEFAULT '', user_nicename varchar(50) NOT NULL DEFAULT '', user_email varchar(100) NOT NULL DEFAULT '', user_url varchar(100) NOT NULL DEFAULT '', user_registered datetime NOT NULL DEFAULT '2000-01-01 00:00:00', user_activation_key varchar(255) NOT NULL DEFAULT '', user_status int(11) NOT NULL DEFAULT 0, display_name varchar(250) NOT NULL DEFAULT '', PRIMARY KEY (ID));
                 CREATE TABLE wp_usermeta (umeta_id bigint(20) unsigned NOT NULL AUTO_INCREMENT, user_id bigint(20) unsigned NOT NULL DEFAULT 0, meta_key varchar(255) DEFAULT NULL, meta_value longtext, PRIMARY KEY (umeta_id));
                 CREATE TABLE wp_options (option_id bigint(20) unsigned NOT NULL AUTO_INCREMENT, option_name varchar(191) NOT NULL DEFAULT '', option_value longtext NOT NULL, autoload varchar(20) NOT NULL DEFAULT 'yes', PRIMARY KEY (option_id), UNIQUE KEY option_name (option_name));
                 CREATE TABLE wp_posts (ID bigint(20) unsigned NOT NULL AUTO_INCREMENT, post_author bigint(20) unsigned NOT NULL DEFAULT 0, post_title text NOT NULL, post_content longtext NOT NULL, PRIMARY KEY (ID));
                 INSERT INTO wp_users VALUES (1,'siteowner','{h1}','siteowner','owner@real.org','','2024-01-01 00:00:00','',0,'Owner'),(2,'bob','{h2}','bob','bob@real.org','','2024-01-01 00:00:00','',0,'Bob');
                 INSERT INTO wp_usermeta VALUES (1,1,'wp_capabilities','a:1:{{s:13:\"administrator\";b:1;}}'),(2,1,'session_tokens','{}');
                 INSERT INTO wp_options VALUES (1,'siteurl','https://www.example.com','yes'),(2,'mailserver_pass','{}','yes'),(3,'wp_mail_smtp','{}','yes'),(4,'myplugin_settings','{{\"api_key\":\"{api}\",\"colour\":\"red\"}}','yes'),(5,'admin_email','owner@real.org','yes'),(6,'widget_text','a:1:{{s:4:\"text\";s:34:\"Visit https://www.example.com now!\";}}','yes');
                 INSERT INTO wp_posts VALUES (1,1,'Hello','It''s a post with https://www.example.com links');",
                sql_q(&toks),
                sql_q(&email),
                sql_q(&ser)
            )
        }
        "joomla" => {
            let secret = s.plant("Joomla $secret", &uniq("jsec"));
            let redis = s.plant("Joomla $redis_server_auth", &uniq("redis"));
            let proxy = s.plant("Joomla $proxy_pass", &uniq("proxy"));
            put(
                &web,
                "configuration.php",
                &format!(
                    "<?php\nclass JConfig {{\n\tpublic $dbtype = 'mysqli';\n\tpublic $host = '127.0.0.1:{}';\n\tpublic $user = '{dbu}';\n\tpublic $password = '{php_pw}';\n\tpublic $db = '{APP_DB}';\n\tpublic $dbprefix = 'jos_';\n\tpublic $secret = '{secret}';\n\tpublic $mailer = 'smtp';\n\tpublic $mailfrom = 'owner@real.org';\n\tpublic $smtpauth = true;\n\tpublic $smtpuser = 'mailer@example.com';\n\tpublic $smtppass = '{email}';\n\tpublic $redis_server_auth = '{redis}';\n\tpublic $proxy_user = '';\n\tpublic $proxy_pass = '{proxy}';\n}}\n",
                    server.port
                ),
            );
            let wm = s.plant("Joomla toolkit webmaster md5 hash", &hex32(&uniq("wm")));
            let h2 = s.plant(
                "Joomla user bcrypt hash",
                &format!("$2y$10${}", &(hex32("j1") + &hex32("j2"))[..53]),
            );
            let sess = s.plant("Joomla session data", &uniq("jsess"));
            let key = s.plant("Joomla remember-me token", &uniq("jkey"));
            let api = s.plant("Joomla plugin API key", &uniq("japi"));
            format!(
                "CREATE TABLE jos_users (id int(11) NOT NULL AUTO_INCREMENT, name varchar(400) NOT NULL DEFAULT '', username varchar(150) NOT NULL DEFAULT '', email varchar(100) NOT NULL DEFAULT '', password varchar(100) NOT NULL DEFAULT '', block tinyint(4) NOT NULL DEFAULT 0, sendEmail tinyint(4) DEFAULT 0, registerDate datetime NOT NULL, lastvisitDate datetime DEFAULT NULL, activation varchar(100) NOT NULL DEFAULT '', params mediumtext NOT NULL, PRIMARY KEY (id));
                 CREATE TABLE jos_user_usergroup_map (user_id int(10) unsigned NOT NULL DEFAULT 0, group_id int(10) unsigned NOT NULL DEFAULT 0, PRIMARY KEY (user_id, group_id));
                 CREATE TABLE jos_session (session_id varbinary(192) NOT NULL, client_id tinyint(3) unsigned DEFAULT NULL, guest tinyint(3) unsigned DEFAULT 1, time int(11) NOT NULL DEFAULT 0, data mediumtext, userid int(11) DEFAULT 0, username varchar(150) DEFAULT '', PRIMARY KEY (session_id));
                 CREATE TABLE jos_user_keys (id int(10) unsigned NOT NULL AUTO_INCREMENT, user_id varchar(150) NOT NULL, token varchar(255) NOT NULL, series varchar(191) NOT NULL, time varchar(200) NOT NULL, uastring varchar(255) NOT NULL, PRIMARY KEY (id));
                 CREATE TABLE jos_extensions (extension_id int(11) NOT NULL AUTO_INCREMENT, name varchar(100) NOT NULL, params text NOT NULL, PRIMARY KEY (extension_id));
                 INSERT INTO jos_users VALUES (577,'Super User','b1-webmaster','webmaster@example.com','{wm}',0,1,'2024-01-01 00:00:00',NULL,'','{{}}'),(578,'Bob','bob','bob@real.org','{h2}',0,0,'2024-01-01 00:00:00',NULL,'','{{}}');
                 INSERT INTO jos_user_usergroup_map VALUES (577,8),(578,2);
                 INSERT INTO jos_session VALUES ('abc123',0,0,1,'joomla|s:10:\"{sess}\";',577,'b1-webmaster');
                 INSERT INTO jos_user_keys VALUES (1,'bob','{key}','series1','1','ua');
                 INSERT INTO jos_extensions VALUES (1,'plg_system_mailchimp','{{\"apikey\":\"{api}\",\"list\":\"x\"}}'),(2,'com_content','{{\"show_title\":\"1\"}}');"
            )
        }
        "drupal" => {
            let salt = s.plant("Drupal hash_salt", &uniq("hashsalt-"));
            put(
                &web,
                "sites/default/settings.php",
                &format!(
                    "<?php\n$databases['default']['default'] = [\n  'database' => '{APP_DB}',\n  'username' => '{dbu}',\n  'password' => '{php_pw}',\n  'host' => '127.0.0.1',\n  'port' => '{}',\n  'driver' => 'pgsql',\n  'prefix' => '',\n];\n$settings['hash_salt'] = '{salt}';\n$settings['file_private_path'] = '/var/www/html/private.drupal';\n",
                    server.port
                ),
            );
            put(
                &web,
                "sites/default/default.settings.php",
                "<?php\n$settings['hash_salt'] = '';\n",
            );
            put(&web, "salt", &salt);
            let private = s.plant("Drupal private file", &uniq("privfile"));
            put(&web, "private.drupal/invoices/a.txt", &private);
            let h1 = s.plant(
                "Drupal admin hash",
                &format!("$S$E{}", &(hex32("d1") + &hex32("d2"))[..51]),
            );
            let h2 = s.plant(
                "Drupal user hash",
                &format!("$S$E{}", &(hex32("d3") + &hex32("d4"))[..51]),
            );
            let sid = s.plant("Drupal session id", &uniq("dsid"));
            let pk = s.plant("Drupal system.private_key", &uniq("privkey"));
            let ck = s.plant("Drupal system.cron_key", &uniq("cronkey"));
            let smtp_ser = format!("a:2:{{s:11:\"smtp_server\";s:6:\"smtp.x\";s:13:\"smtp_password\";s:{}:\"{email}\";}}", email.len());
            let pk_ser = format!("s:{}:\"{pk}\";", pk.len());
            let ck_ser = format!("s:{}:\"{ck}\";", ck.len());
            format!(
                "SET ROLE {dbu};
                 CREATE TABLE users (uid integer NOT NULL PRIMARY KEY, uuid varchar(128) NOT NULL, langcode varchar(12) NOT NULL);
                 CREATE TABLE users_field_data (uid integer NOT NULL, langcode varchar(12) NOT NULL, name varchar(60) NOT NULL, pass varchar(255), mail varchar(254), init varchar(254), status smallint, PRIMARY KEY (uid, langcode));
                 CREATE TABLE user__roles (bundle varchar(128) NOT NULL DEFAULT '', entity_id integer NOT NULL, roles_target_id varchar(255) NOT NULL);
                 CREATE TABLE sessions (uid integer NOT NULL, sid varchar(128) NOT NULL PRIMARY KEY, hostname varchar(128) NOT NULL DEFAULT '', timestamp bigint NOT NULL DEFAULT 0, session bytea);
                 CREATE TABLE key_value (collection varchar(128) NOT NULL DEFAULT '', name varchar(128) NOT NULL DEFAULT '', value bytea NOT NULL, PRIMARY KEY (collection, name));
                 CREATE TABLE config (collection varchar(255) NOT NULL DEFAULT '', name varchar(255) NOT NULL DEFAULT '', data bytea, PRIMARY KEY (collection, name));
                 INSERT INTO users VALUES (0,'u0','en'),(1,'u1','en'),(2,'u2','en');
                 INSERT INTO users_field_data VALUES (0,'en','',NULL,NULL,NULL,0),(1,'en','siteowner','{h1}','owner@real.org','owner@real.org',1),(2,'en','bob','{h2}','bob@real.org','bob@real.org',1);
                 INSERT INTO user__roles VALUES ('user',1,'administrator'),('user',2,'editor');
                 INSERT INTO sessions VALUES (1,'{sid}','10.0.0.1',1,'x'::bytea);
                 INSERT INTO key_value VALUES ('state','system.private_key',convert_to('{pk_ser}','UTF8')),('state','system.cron_key',convert_to('{ck_ser}','UTF8')),('state','system.cron_last',convert_to('i:1;','UTF8'));
                 INSERT INTO config VALUES ('','smtp.settings',convert_to('{}','UTF8')),('','system.site',convert_to('a:1:{{s:4:\"name\";s:4:\"Site\";}}','UTF8'));",
                sql_q(&smtp_ser)
            )
        }
        _ => {
            let main = s.plant("Moodle passwordsaltmain", &uniq("saltmain#"));
            let alt = s.plant("Moodle passwordsaltalt1", &uniq("saltalt"));
            put(
                &web,
                "config.php",
                &format!(
                    "<?php  // Moodle configuration file\nunset($CFG);\nglobal $CFG;\n$CFG = new stdClass();\n$CFG->dbtype    = 'pgsql';\n$CFG->dbhost    = '127.0.0.1';\n$CFG->dbname    = '{APP_DB}';\n$CFG->dbuser    = '{dbu}';\n$CFG->dbpass    = '{php_pw}';\n$CFG->prefix    = 'mdl_';\n$CFG->dboptions = array('dbport' => '{}');\n$CFG->wwwroot   = 'https://www.example.com';\n$CFG->dataroot  = '/var/www/moodledata';\n$CFG->passwordsaltmain = '{main}';\n$CFG->passwordsaltalt1 = '{alt}';\nrequire_once(__DIR__ . '/lib/setup.php');\n",
                    server.port
                ),
            );
            // moodledata lives outside the webroot (/var/www/moodledata): the copy never sees it.
            put(
                &s.root.path().join("www"),
                "moodledata/sessions/sess_x",
                "outside",
            );
            let wm = s.plant(
                "Moodle toolkit webmaster hash",
                &format!("$2y$10${}", &(hex32("m1") + &hex32("m2"))[..53]),
            );
            let h2 = s.plant(
                "Moodle user hash",
                &format!("$2y$10${}", &(hex32("m3") + &hex32("m4"))[..53]),
            );
            let usec = s.plant("Moodle user secret", &uniq("usec"));
            let sid = s.plant("Moodle session id", &uniq("msid"));
            let api = s.plant("Moodle plugin API key", &uniq("mapi"));
            let tok = s.plant("Moodle web service token", &hex32(&uniq("wst")));
            format!(
                "SET ROLE {dbu};
                 CREATE TABLE mdl_user (id bigserial PRIMARY KEY, auth varchar(20) NOT NULL DEFAULT 'manual', username varchar(100) NOT NULL DEFAULT '', password varchar(255) NOT NULL DEFAULT '', email varchar(100) NOT NULL DEFAULT '', firstname varchar(100) NOT NULL DEFAULT '', lastname varchar(100) NOT NULL DEFAULT '', secret varchar(15) NOT NULL DEFAULT '', lastip varchar(45) NOT NULL DEFAULT '');
                 CREATE TABLE mdl_sessions (id bigserial PRIMARY KEY, sid varchar(128) NOT NULL DEFAULT '', userid bigint NOT NULL);
                 CREATE TABLE mdl_config (id bigserial PRIMARY KEY, name varchar(255) NOT NULL DEFAULT '', value text NOT NULL);
                 CREATE TABLE mdl_config_plugins (id bigserial PRIMARY KEY, plugin varchar(100) NOT NULL DEFAULT 'core', name varchar(100) NOT NULL DEFAULT '', value text NOT NULL);
                 CREATE TABLE mdl_external_tokens (id bigserial PRIMARY KEY, token varchar(128) NOT NULL DEFAULT '', userid bigint NOT NULL);
                 INSERT INTO mdl_user (id, auth, username, password, email, firstname, lastname, secret, lastip) VALUES (1,'manual','guest','$2y$10$guestguestguestguestguestguestguestguestguestguestgue','root@localhost','Guest','user','',''),(2,'manual','b1-webmaster','{wm}','webmaster@example.com','Web','Master','',''),(3,'manual','student','{h2}','s@real.org','Stu','Dent','{}','10.1.2.3');
                 INSERT INTO mdl_sessions (sid, userid) VALUES ('{sid}',2);
                 INSERT INTO mdl_config (name, value) VALUES ('wwwroot','https://www.example.com'),('smtppass','{}'),('siteadmins','2');
                 INSERT INTO mdl_config_plugins (plugin, name, value) VALUES ('tool_recaptcha','apikey','{api}'),('mod_forum','maxbytes','0');
                 INSERT INTO mdl_external_tokens (token, userid) VALUES ('{tok}',2);",
                &usec[..usec.len().min(15)],
                sql_q(&email)
            )
        }
    };
    // Moodle's user secret column is 15 characters: the planted value is what the table holds.
    if s.app == "moodle" {
        let p = s
            .planted
            .iter_mut()
            .find(|p| p.0 == "Moodle user secret")
            .unwrap();
        p.1.truncate(15);
    }
    server.sql(APP_DB, &sql);
}

fn dump(server: &DbServer, out: &Path) {
    let mut bytes = dump_of(server, APP_DB);
    bytes.extend_from_slice(b"zzzz\n");
    std::fs::write(out, bytes).unwrap();
}

/// A plain dump of database `db`, as the administrator.
fn dump_of(server: &DbServer, db: &str) -> Vec<u8> {
    let o = match server.kind {
        DbKind::Maria => run(Command::new("mariadb-dump")
            .args([
                "--no-defaults",
                "-uroot",
                "--single-transaction",
                "--skip-lock-tables",
            ])
            .arg(format!("--socket={}", server.socket().display()))
            .arg(db)),
        DbKind::Postgres => run(Command::new(
            common::db::postgres_bindir().unwrap().join("pg_dump"),
        )
        .arg("-h")
        .arg(server.socket())
        .args(["-p", &server.port.to_string(), "-U", "postgres", db])),
    };
    o.stdout
}

/// How the planted value may be spelled in a file: plain, mysqldump-escaped, COPY-escaped,
/// bytea hex.
fn spellings(v: &str) -> Vec<Vec<u8>> {
    let mysql = v
        .replace('\\', "\\\\")
        .replace('\'', "\\'")
        .replace('"', "\\\"");
    let copy = v.replace('\\', "\\\\");
    let hex: String = v.bytes().map(|b| format!("{b:02x}")).collect();
    vec![v.into(), mysql.into(), copy.into(), hex.into()]
}

fn files_of(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.file_name().unwrap() == ".git" {
            continue;
        }
        if p.is_dir() {
            files_of(&p, out);
        } else if p.is_file() {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

/// Every file of a tree, with `baseline/application-db-NN` parts joined and untarred.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    files_of(dir, &mut out);
    let parts_dir = dir.join("baseline");
    if parts_dir.is_dir() {
        let mut parts: Vec<PathBuf> = std::fs::read_dir(&parts_dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        parts.sort();
        let mut all = Vec::new();
        for p in &parts {
            all.extend(std::fs::read(p).unwrap());
        }
        let x = dir.join("../expanded");
        std::fs::create_dir_all(&x).unwrap();
        std::fs::write(x.join("joined.tar.gz"), all).unwrap();
        run(Command::new("tar")
            .arg("-xzf")
            .arg(x.join("joined.tar.gz"))
            .arg("-C")
            .arg(&x));
        files_of(&x, &mut out);
    }
    out
}

fn leaked(planted: &[(&'static str, String)], files: &[(PathBuf, Vec<u8>)]) -> Vec<&'static str> {
    planted
        .iter()
        .filter(|(_, v)| {
            spellings(v).iter().any(|s| {
                files
                    .iter()
                    .any(|(_, b)| b.windows(s.len()).any(|w| w == s.as_slice()))
            })
        })
        .map(|(what, _)| *what)
        .collect()
}

/// The legacy scrub of spec §2.2, modelled: the 2022 webroot copy (no top-level dot files,
/// `.git` removed), the per-application step, the one-sed-per-file placeholder scrub that
/// fails whole on an empty or special value, and the DB baseline's branding/user scrub.
fn legacy(s: &Site, port: u16, dumpfile: &Path, out: &Path) {
    let web = s.web();
    let copy = out.join("webroot");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&web).unwrap().flatten() {
        if !e.file_name().to_string_lossy().starts_with('.') {
            run(Command::new("cp").arg("-a").arg(e.path()).arg(&copy));
        }
    }
    run(Command::new("find")
        .arg(&copy)
        .args(["-name", ".git", "-prune", "-exec", "rm", "-rf", "{}", "+"]));
    if s.app == "joomla" {
        let c = copy.join("configuration.php");
        let text = std::fs::read_to_string(&c).unwrap();
        let mut o = String::new();
        for l in text.lines() {
            let hit = ["$host", "$user", "$password", "$db ", "$secret "]
                .iter()
                .find(|k| l.contains(*k));
            match hit {
                Some(k) => o.push_str(&format!("public {} = 'xxxxxx';\n", k.trim())),
                None => {
                    o.push_str(l);
                    o.push('\n');
                }
            }
        }
        std::fs::write(copy.join("configuration.php.default"), o).unwrap();
        std::fs::remove_file(c).unwrap();
    }
    // sed -i "s/$user/XXXUSERNAMEXXX/g;s/$password/…/g;…" per file: any empty value, `/`, `[`, `\`
    // or newline and the whole command fails, the file unchanged.
    let pairs = [
        (s.db_user.clone(), "XXXUSERNAMEXXX"),
        (s.db_pass.clone(), "XXXPASSWORDXXX"),
        (APP_DB.to_string(), "XXXDATABASEXXX"),
        (port.to_string(), "XXXDBPORTXXX"),
        ("127.0.0.1".to_string(), "XXXDBHOSTXXX"),
    ];
    let sed_fails = pairs
        .iter()
        .any(|(v, _)| v.is_empty() || v.contains(['/', '[', '\\', '\n']));
    if !sed_fails {
        let mut files = Vec::new();
        files_of(&copy, &mut files);
        for (p, b) in files {
            let mut t = String::from_utf8_lossy(&b).into_owned();
            for (v, tok) in &pairs {
                t = t.replace(v.as_str(), tok);
            }
            std::fs::write(p, t).unwrap();
        }
    }
    // DB baseline: branding and the DB user only; no row altered.
    let d = std::fs::read_to_string(dumpfile)
        .unwrap()
        .replace(&s.db_user, "XXXXXXXXXX");
    std::fs::write(out.join("applicationDB.sql"), d).unwrap();
}

/// Make our baseline: scrubbed webroot and dump, archived and split, pushed to two bare
/// repositories (file://) with the legacy names.
fn ours(s: &Site, dumpfile: &Path, repos: &Path) -> (PathBuf, PathBuf) {
    let work = s.root.path().join("work");
    let wr = work.join(format!("{IDENT}-webroot"));
    let o = run(s
        .adt()
        .args(["baseline", "scrub-tree", "--application", s.app])
        .arg(s.web())
        .arg(&wr));
    let report = String::from_utf8_lossy(&o.stdout);
    for p in &s.planted {
        assert!(
            !report.contains(&p.1),
            "the report printed a secret ({})",
            p.0
        );
    }
    let dbw = work.join(format!("{IDENT}-db"));
    std::fs::create_dir_all(dbw.join("baseline")).unwrap();
    let scrubbed = work.join("applicationDB.sql");
    run(s
        .adt()
        .args([
            "baseline",
            "scrub-dump",
            "--db-user",
            &s.db_user,
            "--db-name",
            APP_DB,
            s.app,
        ])
        .arg(dumpfile)
        .arg(&scrubbed));
    run(Command::new("tar")
        .arg("-czf")
        .arg(work.join("db.tar.gz"))
        .arg("-C")
        .arg(&work)
        .arg("applicationDB.sql"));
    run(Command::new("split")
        .args(["-b", "10M", "-d"])
        .arg(work.join("db.tar.gz"))
        .arg(dbw.join("baseline/application-db-")));
    put(
        &dbw,
        ".gitattributes",
        "*db* filter=lfs diff=lfs merge=lfs -text\n*.tar.gz filter=lfs diff=lfs merge=lfs -text\n",
    );
    let mut out = Vec::new();
    for (dir, name) in [
        (&wr, format!("{IDENT}-webroot-sourcecode-baseline")),
        (&dbw, format!("{IDENT}-db-baseline")),
    ] {
        let bare = repos.join(format!("{name}.git"));
        run(Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(&bare));
        git(dir, &["init", "-q", "-b", "master"]);
        // LFS is not used in the test (no LFS server on file://): plain blobs, same tree.
        std::fs::remove_file(dir.join(".gitattributes")).ok();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "Baseline Baby"]);
        git(
            dir,
            &[
                "push",
                "-q",
                &format!("file://{}", bare.display()),
                "master",
            ],
        );
        out.push(bare);
    }
    (out[0].clone(), out[1].clone())
}

struct Figures {
    planted: usize,
    legacy: usize,
    ours: usize,
}

fn scenario(app: &'static str, kind: DbKind) -> Figures {
    let server = DbServer::start(kind);
    let mut s = machine(app, kind, &server);
    application(&mut s, &server);
    let dumpfile = s.root.path().join("live-dump.sql");
    dump(&server, &dumpfile);
    // Every planted secret is really in the site (the dump or the webroot).
    let mut live = Vec::new();
    files_of(&s.web(), &mut live);
    live.push((dumpfile.clone(), std::fs::read(&dumpfile).unwrap()));
    for p in [s.web().join(".git/config"), s.web().join(".env")] {
        live.push((p.clone(), std::fs::read(&p).unwrap()));
    }
    let present = leaked(&s.planted, &live);
    let missing: Vec<_> = s
        .planted
        .iter()
        .filter(|p| {
            !present.contains(&p.0) && !p.0.ends_with("(settings)") && p.0 != "database password"
        })
        .collect();
    assert!(
        missing.is_empty(),
        "planted but not in the site: {:?}",
        missing.iter().map(|p| p.0).collect::<Vec<_>>()
    );

    // The checker is not blind: the live webroot is refused.
    let o = s
        .adt()
        .args(["baseline", "check"])
        .arg(s.web())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let found = String::from_utf8_lossy(&o.stdout).into_owned();
    for p in &s.planted {
        assert!(!found.contains(&p.1), "checker printed a secret ({})", p.0);
    }
    assert!(
        found.contains("private key block") && found.contains(".env:"),
        "{found}"
    );

    // Ours.
    let repos = s.root.path().join("repos");
    let (wrepo, drepo) = ours(&s, &dumpfile, &repos);
    for r in [&wrepo, &drepo] {
        let o = s
            .adt()
            .args(["baseline", "check"])
            .arg(format!("file://{}", r.display()))
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{app}: the checker refuses our baseline {}:\n{}{}",
            r.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let clones = s.root.path().join("clones");
    let mut pushed = Vec::new();
    for (r, n) in [(&wrepo, "w"), (&drepo, "d")] {
        let dest = clones.join(n).join("tree");
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        run(Command::new("git")
            .args(["clone", "-q"])
            .arg(format!("file://{}", r.display()))
            .arg(&dest));
        pushed.extend(contents(&dest));
    }
    let ours_leaks = leaked(&s.planted, &pushed);
    assert!(
        ours_leaks.is_empty(),
        "{app}: our baseline leaks {ours_leaks:?}"
    );

    // Legacy, same site.
    let lout = s.root.path().join("legacy");
    legacy(&s, server.port, &dumpfile, &lout);
    let mut lfiles = Vec::new();
    files_of(&lout, &mut lfiles);
    let legacy_leaks = leaked(&s.planted, &lfiles);
    eprintln!("{app}: legacy leaks {legacy_leaks:?}");

    // Deploy a fresh site from our baseline, the legacy way, with NEW credentials.
    deploy(&s, &server, &clones);

    Figures {
        planted: s.planted.len(),
        legacy: legacy_leaks.len(),
        ours: ours_leaks.len(),
    }
}

/// The config file of the application in a webroot, as our baseline holds it, and where the
/// legacy step (modelled in [`deploy_webserver`]) puts its working copy under `runtime/`.
fn config_paths(app: &str) -> (&'static str, &'static str) {
    match app {
        "wordpress" => ("wp-config.php", "runtime/wordpress_config.php"),
        "joomla" => (
            "configuration.php.default",
            "runtime/joomla_configuration.php",
        ),
        "drupal" => ("sites/default/settings.php", "runtime/drupal_settings.php"),
        _ => ("config.php", "runtime/moodle_config.php"),
    }
}

/// Every run of 48 `[A-Za-z0-9]` in `text` (the values our deploy step fills in).
fn filled_values(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == adt::baseline::deploy::SECRET_LEN)
        .map(String::from)
        .collect()
}

/// Deploy a fresh site from our baseline through the legacy paths, twice, with NEW
/// credentials each time, and show: no token is left in the webroot, its config copies or the
/// database; the two deployments share no salt, key or administrator password; the
/// administrator's stored hash verifies (tests/support/verify_hash.py, independent of adt-rs)
/// against the password handed over in the config datastore.
fn deploy(s: &Site, server: &DbServer, clones: &Path) {
    let mut salts = Vec::new();
    let mut passwords = Vec::new();
    for d in 1..=2 {
        let (ndb, nuser, npass) = (
            format!("nfresh{d}db{}n", &s.app[..3]),
            format!("ufresh{}{d}u", &s.app[..3]),
            format!("N3w/pa[ss\\w0rd&'x{d}"),
        );
        let s3 = common::S3Server::start();
        s3.make_bucket(common::BUCKET);
        salts.push(deploy_webserver(
            s,
            server,
            clones,
            &s3,
            (&ndb, &nuser, &npass),
        ));
        passwords.push(deploy_database(
            s,
            server,
            clones,
            &s3,
            d,
            (&ndb, &nuser, &npass),
        ));
    }
    assert!(
        salts[0].is_disjoint(&salts[1]),
        "{}: two deployments share a salt or key",
        s.app
    );
    assert_ne!(passwords[0], passwords[1]);
}

/// The webserver: the webroot as legacy's InstallApplication leaves it (the baseline cloned),
/// then `ConfigureDBAccessByApplication.sh` run by `/bin/sh` as cron runs it, twice. The kept
/// legacy script is a model of legacy's step: the application's config file copied to its
/// `runtime/` working copy (and, for WordPress and Joomla, to the live file legacy writes).
/// Returns the values filled in.
fn deploy_webserver(
    s: &Site,
    server: &DbServer,
    clones: &Path,
    s3: &common::S3Server,
    (ndb, nuser, npass): (&str, &str, &str),
) -> std::collections::BTreeSet<String> {
    let host = common::Host::new("webserver", s3.port);
    host.install();
    host.add_settings(&format!(
        "BUILDARCHIVECHOICE:baseline\nAPPLICATION:{}\nBUILDIDENTIFIER:acme1\n",
        s.app
    ));
    let web = host.dir.path().join("www/html");
    std::fs::create_dir_all(&web).unwrap();
    run(Command::new("cp")
        .arg("-a")
        .arg(clones.join("w/tree/."))
        .arg(&web));
    std::fs::remove_dir_all(web.join(".git")).unwrap();
    let (cfg, runtime) = config_paths(s.app);
    let live = match s.app {
        "wordpress" => "cp \"$HOME/runtime/wordpress_config.php\" \"$W/../wp-config.php\"\n",
        "joomla" => "cp \"$HOME/runtime/joomla_configuration.php\" \"$W/configuration.php\"\n",
        _ => "",
    };
    let legacy = host.path(
        "providerscripts/application/configuration/ConfigureDBAccessByApplication.sh.adt-legacy",
    );
    std::fs::write(
        &legacy,
        format!(
            "#!/bin/sh\n# Model of legacy's step (the real one also sets the DB values).\n\
             W='{}'\ncp \"$W/{cfg}\" \"$HOME/{runtime}\"\n{live}\
             touch \"$HOME/runtime/APPLICATION_DB_CONFIGURED\"\necho legacy ran >> \"$HOME/legacy.log\"\n",
            web.display()
        ),
    )
    .unwrap();
    let before = std::fs::read_to_string(web.join(cfg)).unwrap();
    assert!(
        before.contains("XXXSECRETXXX"),
        "{}: no token in {cfg}",
        s.app
    );
    let cron = || {
        let o = host
            .cmd("/bin/sh")
            .arg(host.path(
                "providerscripts/application/configuration/ConfigureDBAccessByApplication.sh",
            ))
            .env("ADT_WEBROOT", &web)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", common::stderr(&o));
        common::stdout(&o)
    };
    let said = cron();
    assert!(said.contains("secrets set"), "{said}");
    let mut files = vec![web.join(cfg), host.path(runtime)];
    match s.app {
        "wordpress" => files.push(web.join("../wp-config.php")),
        "joomla" => files.push(web.join("configuration.php")),
        _ => {}
    }
    // One value per setting: the working copy and the live file equal the webroot's file.
    let text = std::fs::read_to_string(&files[0]).unwrap();
    for f in &files[1..] {
        assert_eq!(std::fs::read_to_string(f).unwrap(), text, "{}", f.display());
    }
    let values = filled_values(&text);
    assert_eq!(
        values.len(),
        before.matches("XXXSECRETXXX").count(),
        "{}: each secret its own value\n{text}",
        s.app
    );
    // Nothing left anywhere (the .env's secret too), nor the seed readable by others.
    for root in [
        &web,
        &host.home.join("runtime"),
        &host.dir.path().join("www"),
    ] {
        let o = Command::new("grep")
            .args(["-rl", "XXXSECRETXXX"])
            .arg(root)
            .output()
            .unwrap();
        assert_eq!(common::stdout(&o), "", "{}: tokens left", s.app);
    }
    let env = std::fs::read_to_string(web.join(".env")).unwrap();
    assert!(!filled_values(&env).is_empty(), "{env}");
    use std::os::unix::fs::PermissionsExt;
    let seed = host.path("runtime/.adt-baseline-seed");
    assert_eq!(
        std::fs::metadata(&seed).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The next cron run: legacy's step again, nothing left to fill, the walk stops.
    assert_eq!(cron(), "");
    assert!(host.path("runtime/ADT_BASELINE_SECRETS_FILLED").exists());
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), text);
    assert_eq!(
        std::fs::read_to_string(host.path("legacy.log")).unwrap(),
        "legacy ran\nlegacy ran\n"
    );
    // Legacy's PerformPostProcessing: the database placeholders, literally.
    let php_pw = npass.replace('\\', "\\\\").replace('\'', "\\'");
    let text = text
        .replace("XXXUSERNAMEXXX", nuser)
        .replace("XXXPASSWORDXXX", &php_pw)
        .replace("XXXDATABASEXXX", ndb)
        .replace("XXXDBHOSTXXX", "127.0.0.1")
        .replace("XXXDBPORTXXX", &server.port.to_string());
    assert!(!text.contains("XXX"), "{text}");
    let mut all = values;
    all.extend(filled_values(&env));
    all
}

/// The database: `applicationdb/InstallApplicationDB.sh` sourced by a `/bin/sh` caller as db.sh
/// sources it. The kept legacy script is a model of legacy's restore (parts joined, untarred,
/// `XXXXXXXXXX` and the DB name replaced, imported by the new user). Returns the password
/// handed over.
fn deploy_database(
    s: &Site,
    server: &DbServer,
    clones: &Path,
    s3: &common::S3Server,
    d: u32,
    (ndb, nuser, npass): (&str, &str, &str),
) -> String {
    let host = common::Host::new("database", s3.port);
    host.install();
    let settings = host.path(".ssh/database_configuration_settings.dat");
    let text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("DBPORT:2035", &format!("DBPORT:{}", server.port));
    std::fs::write(&settings, text).unwrap();
    host.add_settings(&format!(
        "DATABASEINSTALLATIONTYPE:{}\nMYIP:127.0.0.1\nBUILDARCHIVECHOICE:baseline\n\
         APPLICATIONIDENTIFIER:{}\nBUILDIDENTIFIER:Acme{d}\n",
        s.kind.setting(),
        match s.app {
            "joomla" => 1,
            "wordpress" => 2,
            "drupal" => 3,
            _ => 4,
        }
    ));
    let creds = host.dir.path().join("shit");
    std::fs::write(&creds, format!("{ndb}\n{npass}\n{nuser}\n")).unwrap();
    let o = host.s3cmd(&[
        "put",
        creds.to_str().unwrap(),
        &format!("s3://{}/credentials/shit", common::BUCKET),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    // The new database and user, as the DB machine's build makes them.
    let q = npass.replace('\'', "''");
    let secret = host.dir.path().join("client-secret");
    let client = match s.kind {
        DbKind::Maria => {
            server.sql(
                "mysql",
                &format!(
                    "CREATE DATABASE `{ndb}`; CREATE USER '{nuser}'@'%' IDENTIFIED BY '{0}'; \
                     CREATE USER '{nuser}'@'localhost' IDENTIFIED BY '{0}'; \
                     GRANT ALL ON `{ndb}`.* TO '{nuser}'@'%'; GRANT ALL ON `{ndb}`.* TO '{nuser}'@'localhost';",
                    q.replace('\\', "\\\\")
                ),
            );
            std::fs::write(
                &secret,
                format!(
                    "[client]\nuser={nuser}\npassword=\"{}\"\nsocket={}\n",
                    npass.replace('\\', "\\\\").replace('"', "\\\""),
                    server.socket().display()
                ),
            )
            .unwrap();
            format!("mariadb --defaults-file='{}' {ndb}", secret.display())
        }
        DbKind::Postgres => {
            server.sql(
                "postgres",
                &format!("CREATE ROLE {nuser} LOGIN PASSWORD '{q}'; CREATE DATABASE {ndb} OWNER {nuser};"),
            );
            std::fs::write(
                &secret,
                format!(
                    "*:*:*:{nuser}:{}\n",
                    npass.replace('\\', "\\\\").replace(':', "\\:")
                ),
            )
            .unwrap();
            std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
            format!(
                "PGPASSFILE='{}' psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p {} -U {nuser} -d {ndb}",
                secret.display(),
                server.port
            )
        }
    };
    let installer = host.dir.path().join("installer");
    std::fs::create_dir_all(&installer).unwrap();
    std::fs::write(
        host.path("applicationdb/InstallApplicationDB.sh.adt-legacy"),
        format!(
            "# Model of legacy's restore (sourced).\ncd '{inst}' && cp -r '{repo}/baseline' . && \
             cat baseline/application-db-?? > db.tar.gz && tar xzf db.tar.gz && \
             sed -e 's/XXXXXXXXXX/{nuser}/g' -e 's/XXXDATABASEXXX/{ndb}/g' -e 's/^zzzz$//' applicationDB.sql > import.sql && \
             {client} < import.sql && echo imported > '{inst}/done'\ncd /\n",
            inst = installer.display(),
            repo = clones.join("d/tree").display(),
        ),
    )
    .unwrap();
    let o = host
        .cmd("/bin/sh")
        .arg("-c")
        .arg(". \"$HOME/applicationdb/InstallApplicationDB.sh\"; echo caller-goes-on")
        .output()
        .unwrap();
    let out = common::stdout(&o);
    assert!(o.status.success(), "{out}{}", common::stderr(&o));
    assert!(installer.join("done").exists(), "legacy's step ran");
    let login = format!("acme{d}-webmaster");
    assert!(
        out.contains(&format!(
            "The baseline's administrator is {login}; its password is in the config datastore at credentials/baselineadmin\n"
        )) && out.ends_with("caller-goes-on\n"),
        "{out}"
    );
    assert!(!out.contains(npass));
    // The hand-over.
    let got = host.dir.path().join("baselineadmin");
    let o = host.s3cmd(&[
        "get",
        &format!("s3://{}/credentials/baselineadmin", common::BUCKET),
        got.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let handed = std::fs::read_to_string(&got).unwrap();
    let (hlogin, password) = handed.trim_end().split_once('\n').unwrap();
    assert_eq!(hlogin, login);
    assert!(password.len() >= 20);
    // The stored admin, read back as the new user sees it.
    let q = match s.app {
        "wordpress" => "SELECT user_login, user_pass FROM wp_users",
        "joomla" => "SELECT username, password FROM jos_users",
        "drupal" => "SELECT name, pass FROM users_field_data WHERE uid = 1",
        _ => "SELECT username, password FROM mdl_user WHERE username <> 'guest'",
    };
    let rows = server.sql(ndb, q);
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (slogin, hash) = rows[0].split_once('\t').unwrap();
    assert_eq!(slogin, login);
    let scheme = match s.app {
        "wordpress" | "joomla" => "$P$B",
        "drupal" => "$S$E",
        _ => "$6$",
    };
    assert!(hash.starts_with(scheme), "{}: {hash}", s.app);
    let verify = |pw: &str| {
        let mut c = Command::new("python3");
        c.args(["-W", "ignore"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/verify_hash.py"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{pw}\n{hash}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap().status.code()
    };
    assert_eq!(verify(password), Some(0), "{}: the hash verifies", s.app);
    assert_eq!(verify("not the password"), Some(1));
    // No token left in the database; running again changes nothing.
    let dumped = String::from_utf8(dump_of(server, ndb)).unwrap();
    for tok in ["XXXADMINUSERXXX", "XXXADMINPASSWORDHASHXXX", "XXXSECRETXXX"] {
        assert!(
            !dumped.contains(tok),
            "{}: {tok} left in the database",
            s.app
        );
    }
    assert!(dumped.contains(hash));
    password.to_string()
}

#[test]
fn four_applications_published_without_a_secret() {
    let _one = serial();
    for kind in [DbKind::Maria, DbKind::Postgres] {
        if !available(kind) {
            common::skip(&format!("{kind:?} server binaries missing"));
            return;
        }
    }
    let mut total = Figures {
        planted: 0,
        legacy: 0,
        ours: 0,
    };
    let mut lines = Vec::new();
    for (app, kind) in [
        ("wordpress", DbKind::Maria),
        ("joomla", DbKind::Maria),
        ("drupal", DbKind::Postgres),
        ("moodle", DbKind::Postgres),
    ] {
        let f = scenario(app, kind);
        lines.push(format!("{app}: {} / {} / {}", f.planted, f.legacy, f.ours));
        total.planted += f.planted;
        total.legacy += f.legacy;
        total.ours += f.ours;
    }
    eprintln!(
        "planted / leaked by legacy / leaked by ours\n{}\ntotal: {} / {} / {}",
        lines.join("\n"),
        total.planted,
        total.legacy,
        total.ours
    );
    assert!(total.planted >= 20);
    assert_eq!(total.ours, 0);
    assert!(
        total.legacy * 2 > total.planted,
        "the legacy model leaks most of them"
    );
}

/// The drop-ins: `CreateWebrootBaseline.sh` (webserver) and `CreateDBBaseline.sh` (database)
/// against a real MariaDB and a local git provider: they publish scrubbed, branded baselines
/// under the legacy names, leave no work tree behind, and refuse to push when the checker
/// finds a secret of this machine in the webroot.
#[test]
fn drop_ins_publish_only_what_the_checker_passes() {
    let _one = serial();
    if !available(DbKind::Maria) {
        common::skip("MariaDB server binaries missing");
        return;
    }
    let server = DbServer::maria();
    let mut s = machine("wordpress", DbKind::Maria, &server);
    application(&mut s, &server);
    put(
        &s.web(),
        "wp-content/themes/t/footer.php",
        "<a href=\"https://www.example.com/\">My Site</a>\n",
    );
    // Drupal-style composer tree outside the webroot: published as vendor.drupal (legacy name).
    put(
        &s.root.path().join("www"),
        "vendor/autoload.php",
        "<?php // autoload\n",
    );
    let gitroot = s.root.path().join("gitroot");
    std::fs::create_dir_all(&gitroot).unwrap();
    let store = s.root.path().join("store");
    let settings = s.home().join(".ssh/webserver_configuration_settings.dat");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(&format!(
        "WEBSITEDISPLAYNAME:My_Site\nAPPLICATIONREPOSITORYPROVIDER:local\nAPPLICATIONREPOSITORYOWNER:{}\nDATABASEINSTALLATIONTYPE:Maria\nDBPORT:{}\nMYIP:127.0.0.1\n",
        gitroot.display(),
        server.port
    ));
    std::fs::write(&settings, &text).unwrap();
    std::fs::write(
        s.home().join(".ssh/database_configuration_settings.dat"),
        &text,
    )
    .unwrap();
    put(
        &store,
        "wwwexacom-config/credentials/shit",
        &format!("{APP_DB}\n{}\n{}\n", s.db_pass, s.db_user),
    );
    let adt = |machine: &str, cmd: &str| {
        let mut c = s.adt();
        c.env("ADT_MACHINE", machine)
            .env("ADT_DATASTORE", format!("local:{}", store.display()))
            .args([cmd, IDENT])
            .stdin(std::process::Stdio::null());
        c.output().unwrap()
    };

    // Webroot.
    let o = adt("webserver", "CreateWebrootBaseline");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let wrepo = gitroot.join(format!("{IDENT}-webroot-sourcecode-baseline.git"));
    assert!(wrepo.is_dir(), "no {}", wrepo.display());
    assert!(
        !s.home().join("backups").join(IDENT).exists(),
        "the work tree stays on disk"
    );
    let clones = s.root.path().join("dropin-clones");
    let wt = clones.join("w/tree");
    std::fs::create_dir_all(wt.parent().unwrap()).unwrap();
    run(Command::new("git")
        .args(["clone", "-q"])
        .arg(format!("file://{}", wrepo.display()))
        .arg(&wt));
    let footer = std::fs::read_to_string(wt.join("wp-content/themes/t/footer.php")).unwrap();
    assert_eq!(
        footer,
        "<a href=\"https://applicationdomain.tld/\">The GreatApplication</a>\n"
    );
    assert!(std::fs::read_to_string(wt.join("wp-config.php"))
        .unwrap()
        .contains("'XXXPASSWORDXXX'"));
    assert!(wt.join("vendor.drupal/autoload.php").is_file());
    assert!(
        !s.web().join("vendor.drupal").exists(),
        "the live webroot was touched"
    );
    let files = contents(&wt);
    assert!(
        leaked(&s.planted, &files).is_empty(),
        "{:?}",
        leaked(&s.planted, &files)
    );
    let head = |repo: &Path| String::from_utf8(git(repo, &["rev-parse", "master"]).stdout).unwrap();
    let before = head(&wrepo);

    // A secret only the machine knows (the DNS key), dropped into the webroot: refused.
    let settings_text = std::fs::read_to_string(&settings).unwrap();
    let dns = settings_text
        .lines()
        .find_map(|l| l.strip_prefix("DNSSECURITYKEY:"))
        .unwrap()
        .to_string();
    put(
        &s.web(),
        "wp-content/notes.txt",
        &format!("remember: {dns}\n"),
    );
    let o = adt("webserver", "CreateWebrootBaseline");
    assert_eq!(o.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        shown.contains("wp-content/notes.txt:1: settings value DNSSECURITYKEY (plain)"),
        "{shown}"
    );
    assert!(!shown.contains(&dns) && !String::from_utf8_lossy(&o.stderr).contains(&dns));
    assert_eq!(head(&wrepo), before, "a refused baseline was pushed");
    std::fs::remove_file(s.web().join("wp-content/notes.txt")).unwrap();

    // Database.
    let o = adt("database", "CreateDBBaseline");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let drepo = gitroot.join(format!("{IDENT}-db-baseline.git"));
    let dt = clones.join("d/tree");
    std::fs::create_dir_all(dt.parent().unwrap()).unwrap();
    run(Command::new("git")
        .args(["clone", "-q"])
        .arg(format!("file://{}", drepo.display()))
        .arg(&dt));
    assert!(dt.join("baseline/application-db-00").is_file());
    assert!(std::fs::read_to_string(dt.join(".gitattributes"))
        .unwrap()
        .contains("*db* filter=lfs"));
    let files = contents(&dt);
    assert!(
        leaked(&s.planted, &files).is_empty(),
        "{:?}",
        leaked(&s.planted, &files)
    );
    let sql = std::fs::read_to_string(clones.join("d/expanded/applicationDB.sql")).unwrap();
    assert!(sql.contains("XXXADMINUSERXXX") && sql.contains("https://www.applicationdomain.tld"));
    // Branding inside a PHP-serialized option keeps its length right (legacy's sed did not).
    assert!(
        sql.contains("s:44:\\\"Visit https://www.applicationdomain.tld now!\\\";"),
        "{}",
        sql.lines()
            .find(|l| l.contains("widget_text"))
            .unwrap_or("")
    );
    assert!(sql.contains("CREATE TABLE `zzzz`"), "the legacy sentinel");
    assert!(!sql.contains(&s.db_user) && !sql.contains(APP_DB));
    assert!(!s
        .home()
        .join("backups")
        .join(format!("{IDENT}-db"))
        .exists());
}

/// A legacy-style DB baseline whose parts are in git LFS (pushed over file://): the checker
/// fetches the LFS content and finds the secret in it; a pointer it cannot fetch is a finding.
#[test]
fn the_checker_reads_lfs_content() {
    if Command::new("git-lfs").arg("version").output().is_err() {
        common::skip("git-lfs missing");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let secret = uniq("lfs-secret-");
    let bare = t.path().join("x-db-baseline.git");
    run(Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&bare));
    let w = t.path().join("w");
    std::fs::create_dir_all(w.join("baseline")).unwrap();
    std::fs::write(
        w.join("baseline/application-db-00"),
        format!("INSERT '{secret}';\n"),
    )
    .unwrap();
    std::fs::write(
        w.join(".gitattributes"),
        "*db* filter=lfs diff=lfs merge=lfs -text\n",
    )
    .unwrap();
    git(&w, &["init", "-q", "-b", "master"]);
    git(&w, &["lfs", "install", "--local"]);
    git(&w, &["add", "-A"]);
    git(&w, &["commit", "-q", "-m", "Baseline baby"]);
    git(
        &w,
        &[
            "push",
            "-q",
            &format!("file://{}", bare.display()),
            "master",
        ],
    );
    // The blob in the repository is a pointer.
    let blob = git(&bare, &["show", "master:baseline/application-db-00"]).stdout;
    assert!(blob.starts_with(b"version https://git-lfs"));
    let settings = t.path().join("s.dat");
    std::fs::write(&settings, format!("EMAILPASSWORD:{secret}\n")).unwrap();
    let o = Command::new(common::adt_bin())
        .args(["baseline", "check", "--no-machine", "--settings"])
        .arg(&settings)
        .arg(format!("file://{}", bare.display()))
        .env("HOME", t.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("baseline/application-db-00:1: settings value EMAILPASSWORD (plain)"),
        "{out}"
    );
    assert!(!out.contains("not fetched"), "{out}");
}

/// `adt baseline check ARCHIVE` with this machine's own secrets (no extra flags): the s3cmd
/// secret key found URL-encoded, the SSH private key's body, a settings token in base64, in a
/// tar.gz; each named by kind and place, none printed.
#[test]
fn the_checker_knows_the_machine_secrets() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let s3secret = format!("{}/x+y=z", uniq("s3sk"));
    let keyline = uniq("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ");
    let token = uniq("dotoken");
    put(
        &home,
        ".s3cfg",
        &format!("[default]\naccess_key = AKIAEXAMPLEEXAMPLE00\nsecret_key = {s3secret}\n"),
    );
    put(
        &home,
        ".ssh/id_rsa",
        &format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{keyline}\n-----END OPENSSH PRIVATE KEY-----\n"
        ),
    );
    put(
        &home,
        ".ssh/webserver_configuration_settings.dat",
        &format!("WEBSITEURL:www.example.com\nDNSSECURITYKEY:{token}\n"),
    );
    std::fs::write(
        t.path().join("homedir.dat"),
        format!("{}\n", home.display()),
    )
    .unwrap();
    let tree = t.path().join("tree");
    let enc: String = s3secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    put(&tree, "site/a.txt", &format!("x\nurl=https://h/?k={enc}\n"));
    put(&tree, "site/b.txt", &format!("{keyline}\n"));
    let b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("token={token}"))
    };
    put(&tree, "site/c.txt", &format!("\n\n{b64}\n"));
    let archive = t.path().join("baseline.tar.gz");
    run(Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&tree)
        .arg("site"));
    let o = Command::new(common::adt_bin())
        .args(["baseline", "check"])
        .arg(&archive)
        .env("ADT_HOMEDIR_FILE", t.path().join("homedir.dat"))
        .env("HOME", &home)
        .env("ADT_WEBROOT", t.path().join("none"))
        .env("ADT_MACHINE", "webserver")
        .env(
            "ADT_DATASTORE",
            format!("local:{}", t.path().join("store").display()),
        )
        .env_remove("S3CMD_CONFIG")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let a = archive.display().to_string();
    for want in [
        format!("{a}!site/a.txt:2: s3cmd secret_key (url-encoded)"),
        format!("{a}!site/b.txt:1: SSH private key id_rsa (plain)"),
        format!("{a}!site/c.txt:3: settings value DNSSECURITYKEY (base64)"),
    ] {
        assert!(out.contains(&want), "missing {want:?} in\n{out}");
    }
    for secret in [&s3secret, &keyline, &token] {
        assert!(!out.contains(secret.as_str()));
    }
}

/// The 2025 drop-ins (`application/backupscripts/CreateWebrootBaseline.sh`, `CreateDBBaseline.sh`,
/// launchers of the 2025 layout run by `/bin/sh`): the same scrub and checker, on the 2025 names
/// the generation table gives — branch `main`, the plain dump `applicationDB.sql` at the root
/// (no parts, no LFS), the database credentials from the settings (DBNAME, DBPASSWORD,
/// DBUSERNAME), the top-level EXCLUDE_FROM_BACKUP entries of `runtime/application.dat` left out;
/// then a 2025 deployment from them through `application/db/InstallApplicationDB.sh` and
/// `application/InstallApplication.sh` (both executed, as 2025's db.sh and ws.sh do).
#[test]
fn baselines_2025_on_main_with_the_plain_dump() {
    let _one = serial();
    if !available(DbKind::Maria) {
        common::skip("MariaDB server binaries missing");
        return;
    }
    let server = DbServer::maria();
    let mut s = machine("wordpress", DbKind::Maria, &server);
    application(&mut s, &server);
    put(&s.web(), "logs/error.log", "a log line\n");
    put(&s.web(), ".htaccess", "Options -Indexes\n");
    let home = s.home();
    let gitroot = s.root.path().join("gitroot");
    std::fs::create_dir_all(&gitroot).unwrap();
    let store = s.root.path().join("store");
    let mut text =
        std::fs::read_to_string(home.join(".ssh/webserver_configuration_settings.dat")).unwrap();
    text.push_str(&format!(
        "WEBSITEDISPLAYNAME:My_Site\nAPPLICATIONREPOSITORYPROVIDER:local\nAPPLICATIONREPOSITORYOWNER:{}\n\
         DATABASEINSTALLATIONTYPE:Maria\nDBPORT:{}\nDBNAME:{APP_DB}\nDBUSERNAME:{}\nDBPASSWORD:{}\n",
        gitroot.display(),
        server.port,
        s.db_user,
        s.db_pass
    ));
    for m in ["webserver", "database"] {
        put(
            &home,
            &format!("runtime/{m}_configuration_settings.dat"),
            &text,
        );
    }
    std::fs::remove_dir_all(home.join(".ssh")).ok();
    put(
        &home,
        "runtime/application.dat",
        "EXCLUDE_FROM_BACKUP:logs:tmp:cache:wp-config.php\n",
    );
    // 2025's GetIP (nmcli in the VPC range): here the database is local.
    put(
        &home,
        "utilities/processing/GetIP.sh",
        "#!/bin/sh\necho 127.0.0.1\n",
    );
    std::fs::set_permissions(
        home.join("utilities/processing/GetIP.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for (m, script) in [
        ("webserver", "CreateWebrootBaseline"),
        ("database", "CreateDBBaseline"),
    ] {
        put(
            &home,
            &format!("application/backupscripts/{script}.sh"),
            "#!/bin/sh\necho legacy\n",
        );
        run(Command::new(common::adt_bin())
            .args(["layout", "install", "--home"])
            .arg(&home)
            .args(["--machine", m, "--generation", "2025", script]));
    }
    let drop_in = |script: &str| {
        let o = Command::new("/bin/sh")
            .arg(home.join(format!("application/backupscripts/{script}.sh")))
            .arg(IDENT)
            .env("ADT_HOMEDIR_FILE", s.root.path().join("homedir.dat"))
            .env("HOME", &home)
            .env("ADT_WEBROOT", s.web())
            .env("ADT_DATASTORE", format!("local:{}", store.display()))
            .env_remove("S3CMD_CONFIG")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{script}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    drop_in("CreateWebrootBaseline");
    drop_in("CreateDBBaseline");
    let clones = s.root.path().join("clones-2025");
    let mut all = Vec::new();
    for (name, n) in [
        (format!("{IDENT}-webroot-sourcecode-baseline"), "w"),
        (format!("{IDENT}-db-baseline"), "d"),
    ] {
        let bare = gitroot.join(format!("{name}.git"));
        let branches = String::from_utf8(git(&bare, &["branch", "--list"]).stdout).unwrap();
        assert_eq!(branches.trim_start_matches(['*', ' ']), "main\n", "{name}");
        let dest = clones.join(n);
        run(Command::new("git")
            .args(["clone", "-q", "--branch", "main"])
            .arg(format!("file://{}", bare.display()))
            .arg(&dest));
        all.extend(contents(&dest));
    }
    let w = clones.join("w");
    assert!(!w.join("wp-config.php").exists(), "EXCLUDE_FROM_BACKUP");
    assert!(!w.join("logs").exists(), "EXCLUDE_FROM_BACKUP");
    assert!(w.join(".htaccess").is_file() && w.join("index.php").is_file());
    let d = clones.join("d");
    assert!(!d.join("baseline").exists() && !d.join(".gitattributes").exists());
    let sql = std::fs::read_to_string(d.join("applicationDB.sql")).unwrap();
    assert!(
        sql.contains("XXXADMINPASSWORDHASHXXX"),
        "the placeholder admin"
    );
    assert!(sql.contains("zzzz"), "the sentinel");
    let leaks = leaked(&s.planted, &all);
    assert!(leaks.is_empty(), "the 2025 baselines leak {leaks:?}");
    deploy_2025_database(&s, &server, &home, &store, &d.join("applicationDB.sql"));
    deploy_2025_webserver(
        &s,
        &home,
        &store,
        &gitroot.join(format!("{IDENT}-webroot-sourcecode-baseline.git")),
    );
}

/// A 2025 deployment of that kind of baseline: `application/db/InstallApplicationDB.sh`, which
/// 2025's db.sh executes, runs the kept legacy script (here a model: the root `applicationDB.sql`
/// imported by the new user) and then gives the placeholder administrator its password; the
/// hash verifies against the password handed over in the 2025 config bucket.
fn deploy_2025_database(s: &Site, server: &DbServer, home: &Path, store: &Path, sql: &Path) {
    let (ndb, nuser, npass) = ("nfresh25db", "ufresh25u", "N3w25/pa[ss");
    server.sql(
        "mysql",
        &format!(
            "CREATE DATABASE `{ndb}`; CREATE USER '{nuser}'@'%' IDENTIFIED BY '{npass}'; \
             CREATE USER '{nuser}'@'localhost' IDENTIFIED BY '{npass}'; \
             GRANT ALL ON `{ndb}`.* TO '{nuser}'@'%'; GRANT ALL ON `{ndb}`.* TO '{nuser}'@'localhost';"
        ),
    );
    let settings = home.join("runtime/database_configuration_settings.dat");
    let text: String = std::fs::read_to_string(&settings)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("DB"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        &settings,
        format!(
            "{text}DBPORT:{}\nDBNAME:{ndb}\nDBUSERNAME:{nuser}\nDBPASSWORD:{npass}\n\
             BUILDARCHIVECHOICE:baseline\nBUILDIDENTIFIER:Acme25\n",
            server.port
        ),
    )
    .unwrap();
    // The 2025 config bucket (`<url with dashes>-config-<first 4 of SERVERUSER>`), which the
    // build machine makes.
    let user = text
        .lines()
        .find_map(|l| l.strip_prefix("SERVERUSER:"))
        .unwrap()
        .to_lowercase();
    std::fs::create_dir_all(store.join(format!("www-example-com-config-{}", &user[..4]))).unwrap();
    let cnf = s.root.path().join("deploy25.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[client]\nuser={nuser}\npassword=\"{npass}\"\nsocket={}\n",
            server.socket().display()
        ),
    )
    .unwrap();
    put(
        home,
        "application/db/InstallApplicationDB.sh",
        "#!/bin/sh\necho legacy\n",
    );
    run(Command::new(common::adt_bin())
        .args(["layout", "install", "--home"])
        .arg(home)
        .args([
            "--machine",
            "database",
            "--generation",
            "2025",
            "InstallApplicationDB",
        ]));
    std::fs::write(
        home.join("application/db/InstallApplicationDB.sh.adt-legacy"),
        format!(
            "#!/bin/sh\n# Model of 2025's restore (executed).\n\
             sed -e '/sql_require_primary_key/d' -e 's/XXXDATABASEXXX/{ndb}/g' -e 's/XXXXXXXXXX/{nuser}/g' '{}' | mariadb --defaults-file='{}' {ndb}\n",
            sql.display(),
            cnf.display()
        ),
    )
    .unwrap();
    let o = Command::new("/bin/sh")
        .arg(home.join("application/db/InstallApplicationDB.sh"))
        .env("ADT_HOMEDIR_FILE", s.root.path().join("homedir.dat"))
        .env("HOME", home)
        .env("ADT_DATASTORE", format!("local:{}", store.display()))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("The baseline's administrator is acme25-webmaster"),
        "{out}"
    );
    let handed = Command::new("find")
        .arg(store)
        .args(["-path", "*/credentials/baselineadmin"])
        .output()
        .unwrap();
    let handed = String::from_utf8(handed.stdout).unwrap();
    let handed = std::fs::read_to_string(handed.trim()).unwrap();
    let (login, password) = handed.trim_end().split_once('\n').unwrap();
    assert_eq!(login, "acme25-webmaster");
    let row = server.sql(ndb, "SELECT user_login, user_pass FROM wp_users");
    let (slogin, hash) = row.trim_end().split_once('\t').unwrap();
    assert_eq!(slogin, login);
    let mut child = Command::new("python3")
        .args(["-W", "ignore"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/verify_hash.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n{hash}\n").as_bytes())
        .unwrap();
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(0));
    let dumped = String::from_utf8(dump_of(server, ndb)).unwrap();
    assert!(!dumped.contains("XXXADMIN"));
}

/// A 2025 webserver deployed from that webroot baseline: `application/InstallApplication.sh`,
/// which 2025's ws.sh executes, runs the kept legacy script (a model: the baseline cloned into
/// the webroot), then the baseline's `XXXSECRETXXX` get fresh values.
fn deploy_2025_webserver(s: &Site, home: &Path, store: &Path, repo: &Path) {
    let web = s.root.path().join("www25/html");
    let settings = home.join("runtime/webserver_configuration_settings.dat");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str("BUILDARCHIVECHOICE:baseline\n");
    std::fs::write(&settings, text).unwrap();
    put(
        home,
        "application/InstallApplication.sh",
        "#!/bin/sh\necho legacy\n",
    );
    run(Command::new(common::adt_bin())
        .args(["layout", "install", "--home"])
        .arg(home)
        .args([
            "--machine",
            "webserver",
            "--generation",
            "2025",
            "InstallApplication",
        ]));
    std::fs::write(
        home.join("application/InstallApplication.sh.adt-legacy"),
        format!(
            "#!/bin/sh\n# Model of 2025's install of a baseline (executed).\n\
             git clone -q --branch main 'file://{}' '{}' && rm -rf '{}/.git'\n",
            repo.display(),
            web.display(),
            web.display()
        ),
    )
    .unwrap();
    let o = Command::new("/bin/sh")
        .arg(home.join("application/InstallApplication.sh"))
        .env("ADT_HOMEDIR_FILE", s.root.path().join("homedir.dat"))
        .env("HOME", home)
        .env("ADT_WEBROOT", &web)
        .env("ADT_DATASTORE", format!("local:{}", store.display()))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains(".env: 1 secrets set"), "{out}");
    let env = std::fs::read_to_string(web.join(".env")).unwrap();
    assert_eq!(filled_values(&env).len(), 1, "{env}");
    let o = Command::new("grep")
        .args(["-rl", "XXXSECRETXXX"])
        .arg(&web)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "");
}
