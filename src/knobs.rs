//! Tuning knobs from the environment (`ADT_BUILD_WAIT`, `ADT_S3_ATTEMPTS`, …): a value that is
//! missing or not a number leaves the default.

/// A whole number from the environment, else `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Seconds (fractions allowed) from the environment, else `default`.
pub fn env_secs_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
        .unwrap_or(default)
}
