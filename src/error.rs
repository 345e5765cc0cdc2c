//! One error type for the library. Every variant renders as one clear line for stderr.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// A settings file, credentials file or key the command needs is missing or unusable.
    Config(String),
    /// Bad input from the caller (argument syntax, unsafe key, ...).
    Usage(String),
    /// The object (or prefix) does not exist in the datastore.
    NotFound(String),
    /// The bucket itself does not exist.
    NoBucket(String),
    /// The store could not be reached or answered with an error after retries.
    Store(String),
    /// Local filesystem trouble.
    Io(String),
    /// A conditional write lost against another writer.
    Conflict(String),
    /// A cloud host, DNS provider or server (CLI, API or SSH) failed or answered unexpectedly.
    Remote(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) => write!(f, "configuration error: {m}"),
            Error::Usage(m) => write!(f, "usage error: {m}"),
            Error::NotFound(m) => write!(f, "not found in datastore: {m}"),
            Error::NoBucket(m) => write!(f, "datastore bucket does not exist: {m}"),
            Error::Store(m) => write!(f, "datastore error: {m}"),
            Error::Io(m) => write!(f, "file error: {m}"),
            Error::Conflict(m) => write!(f, "conflicting update: {m}"),
            Error::Remote(m) => write!(f, "cloud error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn io(context: impl fmt::Display, e: std::io::Error) -> Error {
        Error::Io(format!("{context}: {e}"))
    }
}
