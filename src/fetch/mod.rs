//! Getting bytes: repository sources (`source`, the one entry point), the HTTP/file client
//! and its policy, OCI registries, credentials, and the content-addressed cache.

pub mod auth;
pub mod cache;
pub mod client;
pub mod http;
pub mod netrc;
pub mod oci;
pub mod pipe;
pub mod source;
