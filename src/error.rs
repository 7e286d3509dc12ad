//! The one error type: a kind that maps to a documented exit code, and a sentence for the user.

use std::fmt;
use std::io;
use std::path::Path;

/// What class of failure this is. Each maps to an exit code documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Local I/O, permissions, anything not classified below.
    Io,
    /// Bad command line, bad config key or value.
    Usage,
    /// Nothing to install matches: missing package, version conflict, cycle.
    Resolve,
    /// A repository or download could not be fetched.
    Network,
    /// A checksum, size, signature, expiry or serial check failed.
    Integrity,
    /// An archive or index is malformed or unsafe.
    BadInput,
    /// Two packages would own one file, or a removal would break a dependant.
    Conflict,
    /// `doctor` found problems.
    Problems,
    /// SIGINT, SIGTERM or SIGHUP stopped a change (exit 128 + the signal, from its `Cause`).
    Interrupted,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Io,
        Kind::Usage,
        Kind::Resolve,
        Kind::Network,
        Kind::Integrity,
        Kind::BadInput,
        Kind::Conflict,
        Kind::Problems,
    ];

    /// The README's exit-code table says the same (a test holds them together).
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::Io => "local I/O (the message names the file)",
            Kind::Usage => "usage: bad flag, bad request syntax, unknown config key or wrong type",
            Kind::Resolve => {
                "no such package (not in any repository, or not installed where it must be), version conflict, dependency cycle"
            }
            Kind::Network => "network: repository or download unreachable, HTTP error, timeout",
            Kind::Integrity => {
                "integrity/trust: sha256 or size mismatch, bad or missing signature, expired index, rollback"
            }
            Kind::BadInput => "bad input: malformed or unsafe archive, malformed index",
            Kind::Conflict => "conflict: two packages own a file, or a removal would break a dependant",
            Kind::Problems => {
                "problems remain: `doctor` or `fix` found them, or an install hook failed (the package is marked; `alp fix` runs it again)"
            }
            Kind::Interrupted => {
                "a change was stopped by signal N (130 for Ctrl-C, 143 for SIGTERM): `alp: interrupted; nothing was changed`"
            }
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Io => 1,
            Kind::Usage => 2,
            Kind::Resolve => 3,
            Kind::Network => 4,
            Kind::Integrity => 5,
            Kind::BadInput => 6,
            Kind::Conflict => 7,
            Kind::Problems => 8,
            Kind::Interrupted => 130,
        }
    }
}

/// What happened, where callers need to decide on it: "was it a 404?" is a field, never a
/// search through the message (which is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cause {
    #[default]
    Other,
    /// The thing asked for does not exist: HTTP 404/410, or no such local file.
    NotFound,
    /// The other end could not be reached or did not answer usefully: connection refused or
    /// reset, a timeout, HTTP 5xx. The kind of failure a mirror or a cached copy can cover.
    Unreachable,
    /// This signal asked alp to stop.
    Signal(i32),
    /// The server wants credentials, or refused the ones sent (HTTP 401, 403, or a token
    /// service that said no). Another mirror will not help; the user has to.
    Unauthorized,
    /// A repository line or URL names a scheme alp does not speak (`ftp://`).
    Unsupported,
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub msg: String,
    pub cause: Cause,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: Kind, msg: impl Into<String>) -> Error {
        Error { kind, msg: msg.into(), cause: Cause::Other }
    }

    pub fn because(self, cause: Cause) -> Error {
        Error { cause, ..self }
    }

    /// Adds what we were doing in front of the message: "installing hello: …".
    /// A stop request keeps its own words: it is about the whole command, not the step.
    pub fn context(self, what: impl fmt::Display) -> Error {
        if self.kind == Kind::Interrupted {
            return self;
        }
        Error { msg: format!("{what}: {}", self.msg), ..self }
    }
}

impl Error {
    /// The exit code for this error: the kind's, or 128 + N for a stop by signal N.
    pub fn exit_code(&self) -> i32 {
        match self.cause {
            Cause::Signal(sig) => 128 + sig,
            _ => self.kind.exit_code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

pub fn usage(msg: impl Into<String>) -> Error {
    Error::new(Kind::Usage, msg)
}
pub fn resolve(msg: impl Into<String>) -> Error {
    Error::new(Kind::Resolve, msg)
}
pub fn network(msg: impl Into<String>) -> Error {
    Error::new(Kind::Network, msg)
}
pub fn integrity(msg: impl Into<String>) -> Error {
    Error::new(Kind::Integrity, msg)
}
pub fn bad_input(msg: impl Into<String>) -> Error {
    Error::new(Kind::BadInput, msg)
}
pub fn conflict(msg: impl Into<String>) -> Error {
    Error::new(Kind::Conflict, msg)
}
pub fn io_msg(msg: impl Into<String>) -> Error {
    Error::new(Kind::Io, msg)
}

/// An I/O error that names the path it failed on, as every file error here must.
pub fn io_at(what: &str, path: &Path, e: io::Error) -> Error {
    Error::new(Kind::Io, format!("{what} {}: {}", crate::pathtext::show(path), plain_io(&e)))
}

/// `io::Error`'s Display without the "(os error N)" noise.
pub fn plain_io(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Extension to attach a path to `io::Result`s: `fs::read(p).at("reading", p)?`.
pub trait IoContext<T> {
    fn at(self, what: &str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, what: &str, path: &Path) -> Result<T> {
        self.map_err(|e| io_at(what, path, e))
    }
}
