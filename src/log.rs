//! Diagnostics on stderr, enabled by `RUST_LOG` (any of `debug`, `trace`, `adt=debug`, ...).
//! stdout is reserved for what legacy callers parse. Nothing logged here may carry a secret.

use std::sync::OnceLock;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var("RUST_LOG")
            .map(|v| v.contains("debug") || v.contains("trace"))
            .unwrap_or(false)
    })
}

pub fn debug(msg: &str) {
    if enabled() {
        eprintln!("adt[debug]: {msg}");
    }
}
