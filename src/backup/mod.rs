//! Temporal backups (spec §1): the pieces the webroot and the database backups share — the
//! period words ([`period`]), every name a backup is stored under ([`names`]), the fleet-wide
//! lock ([`lock`]), the super-safe datastore copy ([`safecopy`]) — and the webroot backup
//! itself ([`webroot`]); the database backup ([`database`]); the 2025 generation's
//! ([`webroot2025`], [`database2025`]).
//!
//! The safety rules, for both machine types: the previous good backup of a period is replaced
//! only once the new one is complete and verified (pushed commit read back from the remote;
//! uploaded archive checked before the rotation); any failure leaves it in place, exits
//! non-zero with one clear line on stderr and sends legacy's failure e-mail.

pub mod database;
pub mod database2025;
pub mod lock;
pub mod names;
pub mod period;
pub mod safecopy;
pub mod webroot;
pub mod webroot2025;

pub use period::Period;
