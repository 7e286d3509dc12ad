//! Getting bytes: the HTTP/file client and the content-addressed cache.

pub mod cache;
pub mod client;
pub mod http;
pub mod pipe;
