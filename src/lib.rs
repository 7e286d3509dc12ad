//! alp as a library: the modules behind the binary, exposed so fuzz targets and
//! benchmarks can drive the parsers and the unpacker directly.

pub mod archive;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod ctx;
pub mod db;
pub mod error;
pub mod failpoint;
pub mod fetch;
pub mod fsutil;
pub mod hooks;
pub mod init;
pub mod interrupt;
pub mod json;
pub mod legacy;
pub mod lockfile;
pub mod log;
pub mod pathtext;
pub mod progress;
pub mod random;
pub mod repo;
pub mod resolve;
pub mod sbom;
pub mod suggest;
pub mod timefmt;
pub mod txn;
pub mod ui;
pub mod unpack;
pub mod verify;
pub mod version;
pub mod world;
