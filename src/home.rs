//! Where the toolkit lives on a machine, and which kind of machine this is.
//!
//! Legacy scripts set `HOME` from the first line of `/home/homedir.dat` whatever `HOME` was.
//! `ADT_HOMEDIR_FILE` names another file (tests); when the file is absent, `$HOME` is used.
//!
//! Differences from legacy: the fallback is kept, but remembered ([`HomeOrigin`]), so that
//! when a file under that HOME is then missing, the message says HOME came from `$HOME`
//! because homedir.dat was missing or empty (legacy scripts just failed on the file).

use std::path::PathBuf;

pub const HOMEDIR_FILE: &str = "/home/homedir.dat";

/// Where the toolkit home came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HomeOrigin {
    /// The first line of the homedir file, as legacy scripts read it.
    HomedirFile,
    /// `$HOME` (or `/root`), because the homedir file was missing, empty or unreadable: the
    /// reason, naming the file.
    Fallback(String),
}

/// The toolkit's home directory, resolved the way legacy scripts do.
pub fn toolkit_home() -> PathBuf {
    toolkit_home_and_origin().0
}

/// The toolkit's home directory and where it came from.
pub fn toolkit_home_and_origin() -> (PathBuf, HomeOrigin) {
    let file = std::env::var_os("ADT_HOMEDIR_FILE").unwrap_or_else(|| HOMEDIR_FILE.into());
    let shown = PathBuf::from(&file).display().to_string();
    let why = match std::fs::read_to_string(&file) {
        Ok(text) => match text.lines().next().map(str::trim) {
            Some(line) if !line.is_empty() => {
                return (PathBuf::from(line), HomeOrigin::HomedirFile);
            }
            _ => format!("{shown} is empty"),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!("{shown} is missing"),
        Err(e) => format!("{shown} cannot be read ({e})"),
    };
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    let from = if std::env::var_os("HOME").is_some() {
        "$HOME"
    } else {
        "the default /root"
    };
    let note = format!("HOME is {} from {from} because {why}", home.display());
    (home, HomeOrigin::Fallback(note))
}

/// The machine types of an ADT fleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    Autoscaler,
    Webserver,
    Database,
    /// The build machine ("build client" in 2022), which keeps its scripts under `BUILD_HOME`.
    Build,
}

impl Machine {
    pub const ALL: [Machine; 4] = [
        Machine::Autoscaler,
        Machine::Webserver,
        Machine::Database,
        Machine::Build,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Machine::Autoscaler => "autoscaler",
            Machine::Webserver => "webserver",
            Machine::Database => "database",
            Machine::Build => "build",
        }
    }

    pub fn parse(s: &str) -> Option<Machine> {
        match s {
            "autoscaler" | "as" => Some(Machine::Autoscaler),
            "webserver" | "ws" => Some(Machine::Webserver),
            "database" | "db" => Some(Machine::Database),
            "build" | "buildmachine" | "build-machine" | "buildclient" | "build-client" | "bc" => {
                Some(Machine::Build)
            }
            _ => None,
        }
    }

    /// The settings file this machine type's readers use, in `dir` (`.ssh` in 2022).
    pub fn settings_file(self, dir: &std::path::Path) -> PathBuf {
        dir.join(format!("{}_configuration_settings.dat", self.name()))
    }

    /// Guess the machine type from the settings files present in `dir`. An autoscaler also keeps
    /// a webserver settings file (for the webservers it builds), so it is tried first.
    pub fn detect(dir: &std::path::Path) -> Option<Machine> {
        [Machine::Autoscaler, Machine::Database, Machine::Webserver]
            .into_iter()
            .find(|m| m.settings_file(dir).is_file())
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`; `ADT_HOSTNAME` replaces it, for
/// tests). 2025 scripts choose by it (`ws-…` webserver, `…-rp-…` reverse proxy, `…-auth-…`
/// authenticator).
pub fn hostname() -> String {
    std::env::var("ADT_HOSTNAME").unwrap_or_else(|_| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap_or_default()
            .trim()
            .to_string()
    })
}
