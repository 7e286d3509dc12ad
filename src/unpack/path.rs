//! Member names: where each one comes from (the header, a GNU long name or a PAX record,
//! read here with a size cap) and the one path-safety check that turns it into a
//! root-relative path of plain components, or refuses it. Nothing here touches the filesystem.

use crate::error::{self, Result};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Longest member name accepted (Linux PATH_MAX).
const MAX_PATH: usize = 4096;
/// Largest GNU long name, long link or PAX header read. Real ones are a few hundred bytes.
const MAX_EXTENSION: u64 = 64 * 1024;

/// One archive member, with its name and link target taken from the GNU long-name or PAX
/// header before it when there is one. Both are still unchecked: see `member_path`.
pub struct Member<'a, R: 'a + Read> {
    pub entry: tar::Entry<'a, R>,
    pub path: PathBuf,
    pub link: Option<PathBuf>,
}

/// The members of a tar stream, for the unpacker.
///
/// The tar crate reads a GNU long name or a PAX header whole into memory, whatever size its
/// header claims: a "name" of 1 GiB of zeros is 1 MiB of gzip and 1-2 GiB of RSS. So the
/// stream is walked raw and those headers are read here, refused above 64 KiB. A GNU long
/// name and a PAX path that disagree are refused rather than one of them picked (another
/// tool might pick the other); PAX global headers (`git archive` writes one holding the
/// commit id) describe no member and are skipped; PAX sparse files are refused.
pub struct Members<'a, R: 'a + Read> {
    entries: tar::Entries<'a, R>,
}

impl<'a, R: Read> Members<'a, R> {
    pub fn new(archive: &'a mut tar::Archive<R>) -> io::Result<Members<'a, R>> {
        Ok(Members { entries: archive.entries()?.raw(true) })
    }

    fn next_member(&mut self) -> io::Result<Option<Member<'a, R>>> {
        let (mut long_name, mut long_link, mut pax) = (None, None, None);
        let entry = loop {
            let Some(entry) = self.entries.next() else {
                if long_name.is_some() || long_link.is_some() || pax.is_some() {
                    return Err(invalid("the archive ends after a long-name or PAX header, before its member"));
                }
                return Ok(None);
            };
            let mut entry = entry?;
            let kind = entry.header().entry_type();
            // Like the tar crate (and so like `tar tvf`), only ustar and GNU headers carry
            // extensions; an old-style header typed 'x' is an ordinary (unsupported) member.
            let modern = entry.header().as_ustar().is_some() || entry.header().as_gnu().is_some();
            let slot = if !modern {
                break entry;
            } else if kind.is_gnu_longname() {
                &mut long_name
            } else if kind.is_gnu_longlink() {
                &mut long_link
            } else if kind.is_pax_local_extensions() {
                &mut pax
            } else if kind.is_pax_global_extensions() {
                read_extension(&mut entry)?;
                continue;
            } else {
                break entry;
            };
            if slot.is_some() {
                return Err(invalid("two long-name or PAX headers of one kind for one member"));
            }
            *slot = Some(read_extension(&mut entry)?);
        };
        let mut pax_path = None;
        let mut pax_link = None;
        for rec in tar::PaxExtensions::new(pax.as_deref().unwrap_or_default()) {
            let rec = rec.map_err(|_| invalid("a PAX header is malformed"))?;
            match rec.key_bytes() {
                b"path" => pax_path = Some(rec.value_bytes().to_vec()),
                b"linkpath" => pax_link = Some(rec.value_bytes().to_vec()),
                // The tar stream is walked raw, so a size that overrides the header's would
                // put every later header in the wrong place.
                b"size" if rec.value_bytes() != entry.size().to_string().as_bytes() => {
                    return Err(invalid("a PAX size record that differs from the header's size is not supported"));
                }
                k if k.starts_with(b"GNU.sparse.") => return Err(invalid("sparse files are not supported")),
                _ => {}
            }
        }
        let path = pick(long_name, pax_path, "name")?.unwrap_or_else(|| entry.path_bytes().into_owned());
        let link =
            pick(long_link, pax_link, "link target")?.or_else(|| entry.link_name_bytes().map(|l| l.into_owned()));
        Ok(Some(Member { entry, path: bytes_path(path), link: link.map(bytes_path) }))
    }
}

impl<'a, R: Read> Iterator for Members<'a, R> {
    type Item = io::Result<Member<'a, R>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_member().transpose()
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads a long-name or PAX header's data, refusing one larger than `MAX_EXTENSION`
/// before a byte of it is buffered.
fn read_extension(entry: &mut tar::Entry<impl Read>) -> io::Result<Vec<u8>> {
    let size = entry.size();
    if size > MAX_EXTENSION {
        return Err(invalid(&format!("a long-name or PAX header of {size} bytes (the limit is 64 KiB)")));
    }
    let mut data = Vec::with_capacity(size as usize);
    entry.read_to_end(&mut data)?;
    if data.len() as u64 != size {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "unexpected end of file"));
    }
    Ok(data)
}

/// A GNU long name (NUL-terminated) or a PAX value, whichever the archive gave; both only
/// when they agree.
fn pick(gnu: Option<Vec<u8>>, pax: Option<Vec<u8>>, what: &str) -> io::Result<Option<Vec<u8>>> {
    let gnu = gnu.map(|mut g| {
        while g.last() == Some(&0) {
            g.pop();
        }
        g
    });
    match (gnu, pax) {
        (Some(g), Some(p)) if g != p => Err(invalid(&format!("the GNU long {what} and the PAX {what} disagree"))),
        (g, p) => Ok(g.or(p)),
    }
}

fn bytes_path(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
}

/// Normalises `raw` (`./usr/bin/x` → `usr/bin/x`) or refuses it: absolute paths, `..`,
/// non-UTF-8, empty names and over-long names never reach the filesystem.
pub fn member_path(raw: &Path, archive: &str) -> Result<String> {
    let shown = raw.to_string_lossy();
    let refuse = |why: &str| error::bad_input(format!("{archive}: refusing member '{}': {why}", truncate(&shown)));
    if raw.as_os_str().len() > MAX_PATH {
        return Err(refuse("name is longer than 4096 bytes"));
    }
    let mut out = String::new();
    for c in raw.components() {
        match c {
            Component::Normal(part) => {
                let part = part.to_str().ok_or_else(|| refuse("name is not UTF-8"))?;
                if part.len() > 255 {
                    return Err(refuse("a path component is longer than 255 bytes"));
                }
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(part);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("it contains '..'")),
            Component::RootDir | Component::Prefix(_) => return Err(refuse("it is an absolute path")),
        }
    }
    if out.contains(|c: char| c.is_ascii_control()) {
        return Err(refuse("name contains a control character"));
    }
    Ok(out)
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

    fn header(kind: tar::EntryType, name: &str, size: u64) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_path(name).unwrap();
        h.set_cksum();
        h.as_bytes().to_vec()
    }

    fn names(tar: Vec<u8>) -> io::Result<Vec<(PathBuf, Option<PathBuf>)>> {
        let mut archive = tar::Archive::new(io::Cursor::new(tar));
        Members::new(&mut archive)?.map(|m| m.map(|m| (m.path, m.link))).collect()
    }

    fn with_data(mut h: Vec<u8>, data: &[u8]) -> Vec<u8> {
        h.extend_from_slice(data);
        h.resize(h.len().next_multiple_of(512), 0);
        h
    }

    #[test]
    fn an_oversized_long_name_is_refused_before_it_is_read() {
        // Only the header is there: the claimed gigabyte is never asked for.
        let e = names(header(tar::EntryType::GNULongName, "././@LongLink", 1 << 30)).unwrap_err();
        assert!(e.to_string().contains("limit is 64 KiB"), "{e}");
        let e = names(header(tar::EntryType::XHeader, "PaxHeaders/x", 1 << 30)).unwrap_err();
        assert!(e.to_string().contains("limit is 64 KiB"), "{e}");
    }

    /// One PAX record; its length prefix counts itself.
    fn rec(key: &str, value: &str) -> String {
        let body = key.len() + value.len() + 3;
        let len = (1..).map(|d| body + d).find(|n| n.to_string().len() + body == *n).unwrap();
        format!("{len} {key}={value}\n")
    }

    fn pax(kind: tar::EntryType, records: &str) -> Vec<u8> {
        with_data(header(kind, "PaxHeaders/x", records.len() as u64), records.as_bytes())
    }

    #[test]
    fn long_names_pax_records_and_global_headers() {
        let mut t = with_data(header(tar::EntryType::GNULongName, "././@LongLink", 6), b"gnu/a\0");
        t.extend(header(tar::EntryType::Regular, "short", 0));
        t.extend(pax(tar::EntryType::XGlobalHeader, &rec("comment", "0123abcd")));
        t.extend(pax(tar::EntryType::XHeader, &(rec("path", "p/b") + &rec("size", "0") + &rec("mtime", "1.5"))));
        t.extend(header(tar::EntryType::Regular, "short", 0));
        t.extend(pax(tar::EntryType::XHeader, &rec("linkpath", "t")));
        t.extend(header(tar::EntryType::Symlink, "l", 0));
        t.extend([0; 1024]);
        let got = names(t).unwrap();
        let want = [("gnu/a", None), ("p/b", None), ("l", Some(PathBuf::from("t")))];
        assert_eq!(got, want.map(|(p, l)| (PathBuf::from(p), l)));
    }

    #[test]
    fn an_old_style_header_typed_x_is_a_member_not_a_pax_header() {
        // Found by the `members` fuzz target: the tar crate reads this as a member named
        // by its header, and so must we (no parser differential).
        let mut h = tar::Header::new_old();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_path("x").unwrap();
        h.set_size(12);
        h.set_cksum();
        let mut t = with_data(h.as_bytes().to_vec(), b"12 path=p/b\n");
        t.extend(header(tar::EntryType::Regular, "short", 0));
        let got = names(t).unwrap();
        assert_eq!(got, [(PathBuf::from("x"), None), (PathBuf::from("short"), None)]);
    }

    #[test]
    fn ambiguous_or_dangling_headers_are_refused() {
        let mut t = with_data(header(tar::EntryType::GNULongName, "././@LongLink", 2), b"a\0");
        t.extend(pax(tar::EntryType::XHeader, &rec("path", "b")));
        t.extend(header(tar::EntryType::Regular, "short", 0));
        assert!(names(t).unwrap_err().to_string().contains("disagree"));
        let t = with_data(header(tar::EntryType::GNULongName, "././@LongLink", 2), b"a\0");
        assert!(names(t).unwrap_err().to_string().contains("before its member"));
        let mut t = pax(tar::EntryType::XHeader, &rec("size", "99"));
        t.extend(header(tar::EntryType::Regular, "short", 0));
        assert!(names(t).unwrap_err().to_string().contains("size"));
    }
}
