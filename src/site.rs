//! The machine a command runs on, as plain values: the toolkit home, the machine type, the
//! generation, and the directories legacy scripts hard-code. Domain modules take a `&Site`;
//! only the command layer (`crate::commands`) knows argv, stdout and exit statuses.

use crate::datastore::{self, Backend};
use crate::error::{Error, Result};
use crate::home::{self, HomeOrigin, Machine};
use crate::layout::{Generation, G2022};
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct Site {
    pub home: PathBuf,
    pub machine: Machine,
    pub gen: &'static Generation,
    /// The directory legacy scripts hard-code as `/tmp` (`ADT_TMP` overrides, for tests).
    pub tmp: PathBuf,
    /// Where `home` came from (homedir.dat, or the `$HOME` fallback and why).
    pub home_origin: HomeOrigin,
}

impl Site {
    /// The site from the environment (`/home/homedir.dat`, `ADT_MACHINE`, `ADT_TMP`). Without
    /// a machine type, it is detected from the settings files present.
    pub fn from_env(machine: Option<Machine>, gen: Option<&'static Generation>) -> Site {
        let (home, home_origin) = home::toolkit_home_and_origin();
        let gen = gen.unwrap_or(&G2022);
        let machine = machine
            .or_else(|| {
                std::env::var("ADT_MACHINE")
                    .ok()
                    .and_then(|m| Machine::parse(&m))
            })
            .or_else(|| Machine::detect(&home.join(gen.settings_dir)))
            .unwrap_or(Machine::Webserver);
        Site {
            home,
            machine,
            gen,
            tmp: std::env::var_os("ADT_TMP")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/tmp")),
            home_origin,
        }
    }

    pub fn settings_path(&self) -> PathBuf {
        self.settings_path_of(self.machine)
    }

    /// The settings file of a machine type, where this generation keeps it.
    pub fn settings_path_of(&self, m: Machine) -> PathBuf {
        m.settings_file(&self.home.join(self.gen.settings_dir))
    }

    pub fn buildstyles_path(&self) -> PathBuf {
        self.home
            .join(self.gen.settings_dir)
            .join("buildstyles.dat")
    }

    /// The webroot the sync tunnel mirrors (`ADT_WEBROOT` overrides `/var/www/html`, for tests).
    pub fn webroot(&self) -> PathBuf {
        std::env::var_os("ADT_WEBROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/www/html"))
    }

    pub fn settings(&self) -> Result<String> {
        self.read_file(&self.settings_path())
    }

    /// A settings-like file under HOME. When it is missing and HOME itself came from the
    /// `$HOME` fallback, the error says so (the likelier fault is the missing homedir.dat).
    pub fn read_file(&self, path: &std::path::Path) -> Result<String> {
        crate::config::read_settings(path).map_err(|e| match (&self.home_origin, e) {
            (HomeOrigin::Fallback(note), Error::Config(m)) if !path.exists() => {
                Error::Config(format!("{m} ({note})"))
            }
            (_, e) => e,
        })
    }

    /// This machine's [`crate::mode::Mode`], read from its settings once: what branches on
    /// development or production, the archive choice, the database type and the backup switches.
    pub fn mode(&self) -> Result<crate::mode::Mode> {
        Ok(crate::mode::Mode::from_settings(
            self.machine,
            &self.settings()?,
        ))
    }

    /// The config bucket of this machine's website.
    pub fn bucket(&self) -> Result<String> {
        self.bucket_preferring(None)
    }

    /// The config bucket, named from the setting `url_key` when it is set (2025's Get reads
    /// WEBSITEURLORIGINAL first), else from WEBSITEURL.
    pub fn bucket_preferring(&self, url_key: Option<&str>) -> Result<String> {
        let text = self.settings()?;
        let url = url_key
            .and_then(|k| crate::config::value(&text, k))
            .filter(|u| !u.is_empty())
            .or_else(|| crate::config::value(&text, "WEBSITEURL"))
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                Error::Config(format!(
                    "WEBSITEURL is not set in {}",
                    self.settings_path().display()
                ))
            })?;
        let user = crate::config::value(&text, "SERVERUSER").unwrap_or_default();
        Ok(self.gen.config_bucket(&url, &user))
    }

    /// Open the datastore for this machine's config bucket.
    pub fn store(&self) -> Result<Box<dyn Backend>> {
        let bucket = self.bucket()?;
        self.store_for_bucket(&bucket)
    }

    pub fn store_for_bucket(&self, bucket: &str) -> Result<Box<dyn Backend>> {
        let sel = datastore::selection_or(&self.home, self.account_selection(1))?;
        log::debug!("datastore {sel:?}, bucket {bucket}");
        datastore::open(&sel, bucket)
    }

    /// The S3 store of account `n` (1-based) as this generation's machines describe it: 2022's
    /// one s3cmd file, or 2025's numbered file of the tool named in buildstyles.dat.
    /// `S3CMD_CONFIG` replaces account 1's s3cmd file.
    pub fn account_selection(&self, n: usize) -> datastore::Selection {
        use crate::layout::Credentials;
        match self.gen.contract.credentials {
            Credentials::S3cmdFile => datastore::Selection::S3 {
                s3cfg: self.gen.s3cfg_path(&self.home),
            },
            Credentials::ToolAccounts => {
                let styles = std::fs::read_to_string(self.buildstyles_path()).unwrap_or_default();
                let tool = datastore::accounts::Tool::from_buildstyles(&styles);
                match std::env::var_os("S3CMD_CONFIG") {
                    Some(p) if n == 1 && tool == datastore::accounts::Tool::S3cmd => {
                        datastore::Selection::S3 { s3cfg: p.into() }
                    }
                    _ => datastore::Selection::Account {
                        tool,
                        config: tool.config_path(&datastore::accounts::root_dir(), n),
                    },
                }
            }
        }
    }

    /// How many S3 accounts this machine has (2025: one per `|`-separated S3ACCESSKEY; 2022: one).
    pub fn account_count(&self) -> usize {
        match self.gen.contract.credentials {
            crate::layout::Credentials::S3cmdFile => 1,
            crate::layout::Credentials::ToolAccounts => {
                let key = self
                    .settings()
                    .ok()
                    .and_then(|t| crate::config::value(&t, "S3ACCESSKEY"))
                    .unwrap_or_default();
                datastore::accounts::account_count(&key)
            }
        }
    }

    /// `bucket` in every S3 account of this machine (account 1 first), for the writes legacy
    /// makes to all of them.
    pub fn stores_in_every_account(&self, bucket: &str) -> Result<Vec<Box<dyn Backend>>> {
        (1..=self.account_count())
            .map(|n| {
                let sel = datastore::selection_or(&self.home, self.account_selection(n))?;
                datastore::open(&sel, bucket)
            })
            .collect()
    }

    /// A cron job's exclusive lock on `runtime/<name>` (the legacy lock file names), held until
    /// the returned lock is dropped; `Ok(None)` when another run holds it.
    pub fn try_runtime_lock(&self, name: &str) -> Result<Option<crate::fsutil::Lock>> {
        let dir = self.home.join("runtime");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        crate::fsutil::Lock::try_exclusive(&dir.join(name))
    }

    /// Append a legacy log line (`<$0> <date>: <text>`) to `${HOME}/logs/<file>`.
    pub fn log(&self, file: &str, text: &str) {
        crate::logging::append(&self.home, file, text);
    }

    /// Tell the operator, as legacy did: the machine's own `providerscripts/email/SendEmail.sh
    /// SUBJECT BODY` (its SMTP settings are the legacy ones; adt does not replace it), bounded to
    /// 60 s, its output discarded. Nothing happens where the script is missing. The subjects are
    /// the legacy ones, which operators may filter on.
    pub fn notify(&self, subject: &str, body: &str) {
        let script = self.home.join("providerscripts/email/SendEmail.sh");
        if !script.is_file() {
            return;
        }
        let sent = crate::process::Run::new("/bin/sh")
            .arg(&script)
            .args([subject, body])
            .env("HOME", &self.home)
            .deadline(std::time::Duration::from_secs(60))
            .output()
            .is_ok_and(|o| o.success());
        if !sent {
            self.log(
                "MonitoringLog.log",
                &format!("could not send the e-mail {subject:?}"),
            );
        }
    }

    /// Append to the scaling events log at its legacy, dated path.
    pub fn scaling_log(&self, text: &str) {
        crate::logging::append_scaling_event(&self.home, text);
    }
}
