//! What every command needs: the toolkit home, the machine type, the generation, and a
//! datastore opened on demand; plus the conventions for output and errors.

use crate::datastore::{self, Backend};
use crate::error::{Error, Result};
use crate::home::{self, Machine};
use crate::layout::{Generation, G2022};
use std::io::Write;
use std::path::PathBuf;

pub struct Ctx {
    pub home: PathBuf,
    pub machine: Machine,
    pub gen: &'static Generation,
    /// The directory legacy scripts hard-code as `/tmp` (`ADT_TMP` overrides, for tests).
    pub tmp: PathBuf,
    /// The program name used in error messages (the legacy script name).
    pub prog: String,
    /// The path the legacy script was invoked as (`$0`, passed by the launcher), for log lines.
    pub argv0: Option<String>,
}

impl Ctx {
    /// Build the context from the launcher's fixed options (machine, generation) and the
    /// environment. Without a machine type, it is detected from the settings files present.
    pub fn new(prog: &str, machine: Option<Machine>, gen: Option<&'static Generation>) -> Ctx {
        let home = home::toolkit_home();
        let gen = gen.unwrap_or(&G2022);
        let machine = machine
            .or_else(|| {
                std::env::var("ADT_MACHINE")
                    .ok()
                    .and_then(|m| Machine::parse(&m))
            })
            .or_else(|| Machine::detect(&home.join(gen.settings_dir)))
            .unwrap_or(Machine::Webserver);
        Ctx {
            home,
            machine,
            gen,
            tmp: std::env::var_os("ADT_TMP")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/tmp")),
            prog: prog.to_string(),
            argv0: None,
        }
    }

    /// `$0` of the legacy script: the launcher's path, else the command name.
    pub fn argv0(&self) -> String {
        self.argv0.clone().unwrap_or_else(|| self.prog.clone())
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
        crate::config::read_settings(&self.settings_path())
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
        crate::log::debug(&format!("datastore {sel:?}, bucket {bucket}"));
        datastore::open(&sel, bucket)
    }

    /// A cron job's exclusive lock on `runtime/<name>` (the legacy lock file names), held until
    /// the returned file is dropped; `Ok(None)` when another run holds it.
    pub fn try_runtime_lock(&self, name: &str) -> Result<Option<std::fs::File>> {
        let dir = self.home.join("runtime");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let f = crate::fsutil::open_lock_file(&dir.join(name))?;
        Ok(f.try_lock().is_ok().then_some(f))
    }

    /// One clear line on stderr.
    pub fn report(&self, e: &Error) {
        eprintln!("{}: {e}", self.prog);
    }
}

/// A number from the environment (tuning knobs such as `ADT_BUILD_WAIT`), else `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Write to stdout, ignoring a closed pipe (`| head -1`).
pub fn out(bytes: &[u8]) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(bytes);
    let _ = o.flush();
}

/// What a legacy command produced: its stdout and exit status (errors already on stderr).
pub struct Outcome {
    pub stdout: String,
    pub status: i32,
}

impl Outcome {
    /// A command's result as legacy callers see it: its stdout on success; on failure one
    /// clear line on stderr and status 1.
    pub fn from_result<S: Into<String>>(ctx: &Ctx, r: Result<S>) -> Outcome {
        match r {
            Ok(s) => Outcome::ok(s),
            Err(e) => {
                ctx.report(&e);
                Outcome {
                    stdout: String::new(),
                    status: 1,
                }
            }
        }
    }

    /// For scripts whose legacy version exits 0 whatever happens (the provider scripts): an
    /// error goes to stderr, stdout stays empty, the status is 0.
    pub fn from_legacy_result(ctx: &Ctx, r: Result<String>) -> Outcome {
        let mut o = Outcome::from_result(ctx, r);
        o.status = 0;
        o
    }

    pub fn ok(stdout: impl Into<String>) -> Outcome {
        Outcome {
            stdout: stdout.into(),
            status: 0,
        }
    }
}
