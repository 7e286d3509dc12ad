//! The body shared by `archive` and the per-format `archive_*` targets (not a target itself):
//! wrap the input as a format, then walk it as a stream and as a file; the two must agree.

#![allow(dead_code)]

use alp::archive::{Flow, Input, Member, Opened, walk};
use alp::unpack::path::member_path;
use std::io::{Seek, Write};

pub type Seen = Vec<(Vec<u8>, Option<Vec<u8>>, u64, bool)>;

pub fn members(input: Input<'_>) -> (Seen, bool) {
    use std::os::unix::ffi::OsStrExt;
    let mut seen = Seen::new();
    let mut visit = |m: Member<'_>| {
        let _ = member_path(&m.path, "fuzz");
        let mut n = 0u64;
        let mut buf = [0u8; 4096];
        // Read at most 16 MiB of any member: the caps are the unpacker's business.
        while n < 16 << 20 {
            match m.data.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => n += k as u64,
                Err(e) => return Err(alp::archive::read_error("fuzz", e)),
            }
        }
        let link = m.link.as_ref().map(|l| l.as_os_str().as_bytes().to_vec());
        seen.push((m.path.as_os_str().as_bytes().to_vec(), link, n, m.whole));
        Ok(Flow::Next)
    };
    let ok = walk(input, &Opened { label: "fuzz", raw_name: "raw", checked: false }, &mut visit).is_ok();
    (seen, ok)
}

/// An unnamed file (gone when closed).
pub fn tempfile_in(dir: &std::path::Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc_o_tmpfile()).open(dir).unwrap()
}

const fn libc_o_tmpfile() -> i32 {
    0o20000000 | 0o200000
}

/// How the fuzzer's bytes are wrapped before `walk` sees them.
#[derive(Clone, Copy)]
pub enum Wrap {
    /// As they are (a zip, a raw file, or anything by its magic).
    AsIs,
    Zstd,
    Xz,
    Gzip,
}

/// `rest` wrapped with the real encoders.
pub fn wrap(how: Wrap, rest: &[u8]) -> Vec<u8> {
    match how {
        Wrap::Zstd => zstd::stream::encode_all(rest, 1).unwrap(),
        Wrap::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 0);
            e.write_all(rest).unwrap();
            e.finish().unwrap()
        }
        Wrap::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(rest).unwrap();
            e.finish().unwrap()
        }
        Wrap::AsIs => rest.to_vec(),
    }
}

/// Walk `bytes` as a stream and as a file: never a panic, and the same members and verdict.
pub fn check(bytes: &[u8]) {
    let dir = std::env::temp_dir();
    let mut stream = bytes;
    let from_stream = members(Input::Stream(&mut stream, &dir));
    let mut file = tempfile_in(&dir);
    file.write_all(bytes).unwrap();
    file.rewind().unwrap();
    let from_file = members(Input::File(&file));
    assert_eq!(from_stream, from_file, "a stream and a file of the same bytes disagree");
}
