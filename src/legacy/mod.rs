//! The old Python tool's formats and sources, read so that everything it made keeps working:
//! README metadata lines, `.alp` JSON package files, `legacy+URL` projects, old certificates
//! and its `~/.alp` directory. Everything old is treated as untrusted input: its
//! "certificates" are shown, never believed, and its scripts run only as hooks.
//!
//! The old layout becomes a normal archive here (`compile`), so the rest of alp never sees
//! an old format: `legacy+URL` sources are built into one-package indexes, `compile DIR`
//! into `.tar.gz` files that install like any other.

pub mod alpfile;
pub mod base64;
pub mod cert;
pub mod compile;
pub mod local;
pub mod migrate;
pub mod readme;
pub mod source;
