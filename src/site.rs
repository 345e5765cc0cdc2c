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

    /// The config bucket of this machine's website.
    pub fn bucket(&self) -> Result<String> {
        let text = self.settings()?;
        let url = crate::config::value(&text, "WEBSITEURL")
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
        let sel = datastore::selection(&self.home, &self.gen.s3cfg_path(&self.home))?;
        log::debug!("datastore {sel:?}, bucket {bucket}");
        datastore::open(&sel, bucket)
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
