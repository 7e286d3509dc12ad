//! The one path-safety check: it turns a member's name, from any archive format, into a
//! root-relative path of plain components, or refuses it. Nothing here touches the filesystem.

use crate::error::{self, Result};
use crate::pathtext;
use std::borrow::Cow;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// Longest member name accepted (Linux PATH_MAX).
const MAX_PATH: usize = 4096;

/// Normalises `raw` (`./usr/bin/x` → `usr/bin/x`) or refuses it: absolute paths, `..`,
/// control characters, empty names and over-long names never reach the filesystem. The
/// checks are on the name's bytes; the result is the name as alp records and shows it
/// (`pathtext`: bytes that are not UTF-8 escaped), which `pathtext::under` turns back
/// into the same bytes on disk.
pub fn member_path(raw: &Path, archive: &str) -> Result<String> {
    let refuse =
        |why: &str| error::bad_input(format!("{archive}: refusing member '{}': {why}", truncate(&pathtext::show(raw))));
    if raw.as_os_str().len() > MAX_PATH {
        return Err(refuse("name is longer than 4096 bytes"));
    }
    let mut out: Vec<u8> = Vec::with_capacity(raw.as_os_str().len());
    for c in raw.components() {
        match c {
            Component::Normal(part) => {
                let part = part.as_bytes();
                if part.len() > 255 {
                    return Err(refuse("a path component is longer than 255 bytes"));
                }
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(part);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("it contains '..'")),
            Component::RootDir | Component::Prefix(_) => return Err(refuse("it is an absolute path")),
        }
    }
    if out.iter().any(u8::is_ascii_control) {
        return Err(refuse("name contains a control character"));
    }
    if let Cow::Owned(text) = pathtext::encode(&out) {
        return Ok(text);
    }
    // Valid UTF-8 without a backslash: the bytes are the text.
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// The name as an error message shows it: control characters escaped (a hostile name must
/// not move the cursor or hide in a log), cut after 120 bytes.
fn truncate(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.len() >= 120 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_pass_and_normalise() {
        assert_eq!(member_path(Path::new("./usr/bin/x"), "a").unwrap(), "usr/bin/x");
        assert_eq!(member_path(Path::new("usr//share/./doc/"), "a").unwrap(), "usr/share/doc");
    }

    #[test]
    fn names_that_are_not_utf8_pass_escaped_and_are_checked_as_bytes() {
        use std::ffi::OsStr;
        let p = |b: &[u8]| member_path(Path::new(OsStr::from_bytes(b)), "a");
        assert_eq!(p(b"./usr/share/caf\xe9").unwrap(), "usr/share/caf\\xe9");
        assert_eq!(p(b"./usr/share/caf\xe9/\xff").unwrap(), "usr/share/caf\\xe9/\\xff");
        assert_eq!(p(b"lib/systemd/x\\x2dy.slice").unwrap(), "lib/systemd/x\\x2dy.slice");
        for bad in [&b"\xe9/../../x"[..], b"/caf\xe9", b"caf\xe9/..", b"caf\xe9\x1b[2J"] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        let e = p(b"/caf\xe9").unwrap_err();
        assert!(e.msg.contains("/caf\\xe9"), "{}", e.msg);
    }

    #[test]
    fn escapes_are_refused() {
        for bad in ["../etc/passwd", "/etc/passwd", "usr/../../x", "a/../b"] {
            assert!(member_path(Path::new(bad), "a").is_err(), "{bad}");
        }
        let long = "a/".repeat(3000);
        for bad in ["a\u{1b}[2Jb", "a\rb", "a\0b", "x\u{7f}"] {
            let e = member_path(Path::new(bad), "a").unwrap_err();
            assert!(e.msg.contains("control character") && !e.msg.contains(|c: char| c.is_control()), "{}", e.msg);
        }
        assert!(member_path(Path::new(&long), "a").is_err());
        assert!(member_path(Path::new(&"x".repeat(300)), "a").is_err());
    }
}
