//! Every format through the one seam, `archive::walk`: never a panic, and a stream and a
//! file of the same bytes give the same members and the same verdict (so the zip spool
//! and the direct file read cannot disagree).
//!
//! The first byte picks how the rest is wrapped: 0 as it is (any format by its magic, a zip
//! or a raw file), 1 zstd, 2 xz, 3 gzip (so the fuzzer works on the tar headers inside).
#![no_main]

#[path = "archive_common.rs"]
mod common;

use common::{Wrap, check, wrap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else { return };
    let how = match form % 4 {
        1 => Wrap::Zstd,
        2 => Wrap::Xz,
        3 => Wrap::Gzip,
        _ => Wrap::AsIs,
    };
    check(&wrap(how, rest));
});
