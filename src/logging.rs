//! Logging, both kinds:
//!
//! - diagnostics on stderr through the `log` macros, switched on by `RUST_LOG` (`debug`,
//!   `adt=trace`, …) with env_logger ([`init`]); stdout stays reserved for what legacy callers
//!   parse, and nothing logged may carry a secret;
//! - the legacy log files under `${HOME}/logs/` ([`append`], [`append_scaling_event`]): lines
//!   `<$0> <date>: <text>` as the legacy scripts wrote them, `$0` being the script path the
//!   launcher was called as (given to [`init`]).

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

static SCRIPT: OnceLock<String> = OnceLock::new();

/// Start the diagnostics logger (`RUST_LOG`, default off) and remember the legacy script path
/// for log-file lines. Called once, by the front end.
pub fn init(script: &str) {
    let _ = SCRIPT.set(script.to_string());
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off"))
        .format(|buf, record| writeln!(buf, "adt[{}]: {}", record.level(), record.args()))
        .try_init();
}

/// The legacy `$0` for log-file lines (before [`init`]: `adt`).
pub fn script() -> &'static str {
    SCRIPT.get().map(String::as_str).unwrap_or("adt")
}

/// Append `<$0> <date>: <text>` to `<home>/logs/<file>`, as the legacy scripts log.
pub fn append(home: &Path, file: &str, text: &str) {
    append_dated(home, file, text, &date());
}

/// The scaling events log at its legacy path, `logs/scaling-events-<D>/ScalingEventsLog.log`,
/// D being `date`'s fields 1, 2, 3 and the last run together (`WedNov252026`). One `date`
/// serves the directory and the line.
pub fn append_scaling_event(home: &Path, text: &str) {
    let d = date();
    let f: Vec<&str> = d.split_whitespace().collect();
    let day: String = f.iter().take(3).copied().collect();
    let file = format!(
        "scaling-events-{day}{}/ScalingEventsLog.log",
        f.last().copied().unwrap_or("")
    );
    append_dated(home, &file, text, &d);
}

fn append_dated(home: &Path, file: &str, text: &str, date: &str) {
    let path = home.join("logs").join(file);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = writeln!(f, "{} {date}: {text}", script());
    }
}

/// `date`'s output (the machine's locale and zone), as legacy log lines carry it.
fn date() -> String {
    crate::process::Run::new("date")
        .output()
        .map(|o| o.stdout.trim_end().to_string())
        .unwrap_or_default()
}
