//! `archive` for one format, so each gets its own corpus and run: the input is a zip, as it is (seeded with real zips),
//! walked as a stream and as a file (see `archive_common.rs`).
#![no_main]

#[path = "archive_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::check(&common::wrap(common::Wrap::AsIs, data)));
