//! One error type for the library. Every variant renders as one clear line for stderr, naming
//! what it failed on (the file, key, program or server); the kind decides the legacy exit
//! status where it matters (a missing object is not a broken store).
//!
//! Causes are kept: an I/O failure carries the `std::io::Error` as its
//! [`source`](std::error::Error::source), and [`Context::context`] puts what was being done in
//! front of any error without changing its kind (anyhow's `context`, for an error type whose
//! kinds callers match on).

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
    /// Local filesystem or system-tool trouble described in words.
    Io(String),
    /// Local filesystem trouble with its cause: what was being done to which path, and the
    /// operating system's error.
    File {
        context: String,
        source: std::io::Error,
    },
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
            Error::File { context, source } => write!(f, "file error: {context}: {source}"),
            Error::Conflict(m) => write!(f, "conflicting update: {m}"),
            Error::Remote(m) => write!(f, "cloud error: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::File { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    /// An I/O failure on `context` (a path, a program), keeping the cause.
    pub fn io(context: impl fmt::Display, e: std::io::Error) -> Error {
        Error::File {
            context: context.to_string(),
            source: e,
        }
    }

    /// The same error, its message prefixed with what was being done.
    pub fn context(self, c: impl fmt::Display) -> Error {
        match self {
            Error::Config(m) => Error::Config(format!("{c}: {m}")),
            Error::Usage(m) => Error::Usage(format!("{c}: {m}")),
            Error::NotFound(m) => Error::NotFound(format!("{c}: {m}")),
            Error::NoBucket(m) => Error::NoBucket(format!("{c}: {m}")),
            Error::Store(m) => Error::Store(format!("{c}: {m}")),
            Error::Io(m) => Error::Io(format!("{c}: {m}")),
            Error::File { context, source } => Error::File {
                context: format!("{c}: {context}"),
                source,
            },
            Error::Conflict(m) => Error::Conflict(format!("{c}: {m}")),
            Error::Remote(m) => Error::Remote(format!("{c}: {m}")),
        }
    }
}

/// `result.context("what was being done")`, as anyhow has it, keeping the error's kind.
pub trait Context<T> {
    fn context(self, c: impl fmt::Display) -> Result<T>;
    fn with_context<C: fmt::Display>(self, c: impl FnOnce() -> C) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context(self, c: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.context(c))
    }

    fn with_context<C: fmt::Display>(self, c: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| e.context(c()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn causes_and_context_are_kept() {
        let e = Error::io(
            "/etc/x",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(e.to_string(), "file error: /etc/x: permission denied");
        assert!(e.source().is_some());
        let e: Result<()> = Err(Error::Conflict("profile.cnf".into()));
        let e = e.context("scaling to 4").unwrap_err();
        assert!(matches!(e, Error::Conflict(_)), "the kind is kept");
        assert_eq!(
            e.to_string(),
            "conflicting update: scaling to 4: profile.cnf"
        );
    }
}
