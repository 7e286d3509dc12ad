//! Checking what came in: digests and sizes on the stream, signatures on indexes.

pub mod digest;
pub mod sig;
