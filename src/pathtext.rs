//! File names as text, losslessly: the one escaping alp uses wherever a path becomes text
//! (the database, the journal, output, messages) and its inverse wherever text becomes a
//! path again. Linux names are bytes; most are UTF-8 and pass through unchanged.
//!
//! The escaping: a byte that is not part of valid UTF-8 is written `\xNN` (two lowercase
//! hex digits; such a byte is always 0x80 or above). A backslash is written `\\` only where
//! it would otherwise read as the start of an escape: before another backslash, before an
//! escaped byte, or before `x` and two lowercase hex digits of 80 to ff. Every other
//! backslash stays as it is, so names recorded before this escaping existed (a systemd unit
//! such as `dev-disk-by\x2duuid.swap`) read back the same, and show as they are on disk.
//! `/` is never part of an escape, so the text splits into components at `/` exactly as
//! the bytes do.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `bytes` as text; borrowed when nothing needed escaping.
pub fn encode(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes)
        && !s.contains('\\')
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let escapes_follow = !chunk.invalid().is_empty();
        for (i, c) in valid.char_indices() {
            out.push(c);
            if c == '\\' {
                let rest = &valid[i + 1..];
                let at_end = rest.is_empty();
                if rest.starts_with('\\') || escaped_byte(rest.as_bytes()).is_some() || (at_end && escapes_follow) {
                    out.push('\\');
                }
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    Cow::Owned(out)
}

/// The bytes `text` stands for; borrowed when it holds no escape.
pub fn decode(text: &str) -> Cow<'_, [u8]> {
    if !text.contains('\\') {
        return Cow::Borrowed(text.as_bytes());
    }
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
            if let Some(byte) = escaped_byte(&b[i + 1..]) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// The byte of an escape whose text after the backslash starts `rest` (`xe9…` → 0xe9).
fn escaped_byte(rest: &[u8]) -> Option<u8> {
    let hex = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    match rest {
        [b'x', hi, lo, ..] => {
            let byte = hex(*hi)? << 4 | hex(*lo)?;
            (byte >= 0x80).then_some(byte)
        }
        _ => None,
    }
}

/// A path as alp shows it (and as `decode` reads it back).
pub fn show(path: &Path) -> Cow<'_, str> {
    encode(path.as_os_str().as_bytes())
}

/// The path `text` stands for.
pub fn to_path(text: &str) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(&decode(text)))
}

/// `root/rel` on disk, for a root-relative path as alp records it.
pub fn under(root: &Path, rel: &str) -> PathBuf {
    root.join(OsStr::from_bytes(&decode(rel)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_names_are_unchanged_and_bytes_are_escaped() {
        assert!(matches!(encode(b"usr/share/caf\xc3\xa9"), Cow::Borrowed("usr/share/caf\u{e9}")));
        assert_eq!(encode(b"caf\xe9"), "caf\\xe9");
        assert_eq!(encode(b"dev-disk-by\\x2duuid.swap"), "dev-disk-by\\x2duuid.swap");
        assert_eq!(encode(b"a\\b"), "a\\b");
        assert_eq!(encode(b"a\\\\b"), "a\\\\\\b");
        assert_eq!(encode(b"lit\\xe9"), "lit\\\\xe9");
        assert_eq!(encode(b"a\\\xff"), "a\\\\\\xff");
        assert_eq!(&*decode("caf\\xe9"), b"caf\xe9");
        assert_eq!(&*decode("dev-disk-by\\x2duuid.swap"), b"dev-disk-by\\x2duuid.swap");
        assert_eq!(under(Path::new("/r"), "caf\\xe9").as_os_str().as_bytes(), b"/r/caf\xe9");
    }

    #[test]
    fn every_byte_string_round_trips() {
        // Every string of up to five bytes over an alphabet that makes escapes collide.
        let alphabet: &[u8] = b"\\x8e9/a\x80\xe9\xc3\xa9";
        let mut strings: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..5 {
            let longer: Vec<Vec<u8>> = strings
                .iter()
                .filter(|s| s.len() == strings.last().map_or(0, Vec::len))
                .flat_map(|s| alphabet.iter().map(move |&c| [s.as_slice(), &[c]].concat()))
                .collect();
            strings.extend(longer);
        }
        for s in &strings {
            let text = encode(s);
            assert_eq!(&*decode(&text), s.as_slice(), "{s:?} -> {text:?}");
            // Components split the same way in bytes and in text.
            let parts: Vec<Cow<str>> = s.split(|&b| b == b'/').map(encode).collect();
            assert_eq!(parts.join("/"), text, "{s:?}");
        }
    }
}
