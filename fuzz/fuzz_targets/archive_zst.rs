//! `archive` for one format, so each gets its own corpus and run: the input is a tar stream, zstd-compressed with the real encoder (the fuzzer works on the tar inside),
//! walked as a stream and as a file (see `archive_common.rs`).
#![no_main]

#[path = "archive_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::check(&common::wrap(common::Wrap::Zstd, data)));
