//! Every format through the one seam, `archive::walk`: never a panic, and a stream and a
//! file of the same bytes give the same members and the same verdict (so the zip spool
//! and the direct file read cannot disagree).
//!
//! The first byte picks how the rest is wrapped: 0 as it is (any format by its magic, a zip
//! or a raw file), 1 zstd, 2 xz, 3 gzip (so the fuzzer works on the tar headers inside).
#![no_main]

use alp::archive::{Flow, Input, Member, Opened, walk};
use alp::unpack::path::member_path;
use libfuzzer_sys::fuzz_target;
use std::io::{Read, Seek, Write};

type Seen = Vec<(Vec<u8>, Option<Vec<u8>>, u64, bool)>;

fn members(input: Input<'_>) -> (Seen, bool) {
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
    let ok = walk(input, &Opened { label: "fuzz", raw_name: "raw" }, &mut visit).is_ok();
    (seen, ok)
}

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else { return };
    let bytes = match form % 4 {
        1 => zstd::stream::encode_all(rest, 1).unwrap(),
        2 => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 0);
            e.write_all(rest).unwrap();
            e.finish().unwrap()
        }
        3 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(rest).unwrap();
            e.finish().unwrap()
        }
        _ => rest.to_vec(),
    };
    let dir = std::env::temp_dir();
    let mut stream = &bytes[..];
    let from_stream = members(Input::Stream(&mut stream, &dir));
    let mut file = tempfile_in(&dir);
    file.write_all(&bytes).unwrap();
    file.rewind().unwrap();
    let from_file = members(Input::File(&file));
    assert_eq!(from_stream, from_file, "a stream and a file of the same bytes disagree");
});

/// An unnamed file (gone when closed).
fn tempfile_in(dir: &std::path::Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc_o_tmpfile()).open(dir).unwrap()
}

const fn libc_o_tmpfile() -> i32 {
    0o20000000 | 0o200000
}
