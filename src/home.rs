//! Where the toolkit lives on a machine, and which kind of machine this is.
//!
//! Legacy scripts set `HOME` from the first line of `/home/homedir.dat` whatever `HOME` was.
//! `ADT_HOMEDIR_FILE` names another file (tests); when the file is absent, `$HOME` is used.

use std::path::PathBuf;

pub const HOMEDIR_FILE: &str = "/home/homedir.dat";

/// The toolkit's home directory, resolved the way legacy scripts do.
pub fn toolkit_home() -> PathBuf {
    let file = std::env::var_os("ADT_HOMEDIR_FILE").unwrap_or_else(|| HOMEDIR_FILE.into());
    if let Ok(text) = std::fs::read_to_string(&file) {
        if let Some(line) = text.lines().next() {
            let line = line.trim();
            if !line.is_empty() {
                return PathBuf::from(line);
            }
        }
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
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
