//! `.ALP/sha256`: the SHA-256 of every regular file of a package, the last member of what
//! `alp build` makes, in the form `sha256sum -z` prints (`<hex>  <name>\0`, so any name,
//! newlines included, reads back as it was).
//!
//! Why: the database keeps each installed file's digest (for `doctor` and `fix`). Hashing
//! every byte again at install time is a fifth of an install's CPU, and a fleet of containers
//! starting at once on a shared host is CPU bound. When the signed index says an archive
//! carries this list (`alp index` checks every digest in it before it says so), and the
//! archive's own SHA-256 matches the index, the list is as trustworthy as the bytes, and the
//! unpacker takes the digests from it instead of computing them; like dpkg's md5sums or
//! apk's per-file checksums, they say what the package's files are.

use crate::error::{self, Result};
use std::io::{self, Read};

/// The member's name inside the archive.
pub const MEMBER: &str = ".ALP/sha256";
/// The longest record read: a digest, two separators and a name of up to 64 KiB.
const MAX_RECORD: usize = 64 + 2 + (64 << 10) + 1;

/// The list `alp build` writes, one record per regular file in archive order.
#[derive(Default)]
pub struct List {
    text: Vec<u8>,
}

impl List {
    pub fn add(&mut self, name: &[u8], digest: &[u8; 32]) {
        self.text.extend_from_slice(crate::verify::digest::hex(digest).as_bytes());
        self.text.extend_from_slice(b"  ");
        self.text.extend_from_slice(name);
        self.text.push(0);
    }

    pub fn bytes(&self) -> &[u8] {
        &self.text
    }
}

/// Reads a list from `data`, handing each (name, digest) to `each`, in order.
pub fn read(data: &mut dyn Read, label: &str, mut each: impl FnMut(&[u8], [u8; 32]) -> Result<()>) -> Result<()> {
    let bad = |why: &str| error::bad_input(format!("{label}: {MEMBER}: {why}; refusing the archive"));
    let mut r = io::BufReader::new(data);
    let mut record = Vec::new();
    loop {
        record.clear();
        let n = io::BufRead::read_until(&mut (&mut r).take(MAX_RECORD as u64), 0, &mut record)
            .map_err(|e| crate::archive::read_error(label, e))?;
        if n == 0 {
            return Ok(());
        }
        let Some(body) = record.strip_suffix(&[0]) else {
            return Err(bad(if n >= MAX_RECORD {
                "a record is too long"
            } else {
                "the last record is not ended by NUL"
            }));
        };
        let (hex, rest) = body.split_at_checked(64).ok_or_else(|| bad("a record is too short"))?;
        let name =
            rest.strip_prefix(b"  ").or_else(|| rest.strip_prefix(b" *")).ok_or_else(|| bad("a record has no name"))?;
        let digest = parse_hex(hex).ok_or_else(|| bad("a digest is not 64 hex digits"))?;
        if name.is_empty() {
            return Err(bad("a record has an empty name"));
        }
        each(name, digest)?;
    }
}

fn parse_hex(hex: &[u8]) -> Option<[u8; 32]> {
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_reads_back_with_any_name() {
        let mut list = List::default();
        list.add(b"usr/bin/a", &[1; 32]);
        list.add(b"odd\nname \xe9", &[0xab; 32]);
        let mut got = Vec::new();
        read(&mut list.bytes(), "t", |n, d| {
            got.push((n.to_vec(), d));
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![(b"usr/bin/a".to_vec(), [1; 32]), (b"odd\nname \xe9".to_vec(), [0xab; 32])]);
    }

    #[test]
    fn malformed_lists_are_refused() {
        let ok = |_: &[u8], _: [u8; 32]| Ok(());
        let digest = "ab".repeat(32);
        for bad in [
            format!("{digest}  a"),
            format!("{}  a\0", "zz".repeat(32)),
            format!("{digest}a\0"),
            format!("{digest}  \0"),
            "abc\0".to_string(),
        ] {
            assert!(read(&mut bad.as_bytes(), "t", ok).is_err(), "{bad:?}");
        }
        let long = format!("{digest}  {}\0", "x".repeat(70_000));
        assert!(read(&mut long.as_bytes(), "t", ok).unwrap_err().msg.contains("too long"));
    }
}
