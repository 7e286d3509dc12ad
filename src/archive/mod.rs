//! Archive formats, in one place (SPEC section 3). A format is recognised by its first
//! bytes, never by a file name; its reader yields members, one at a time, to a `Visitor`
//! (the unpacker, the metadata reader, `index`); each writable format's writer sits beside
//! its reader. Nothing outside this module names a format: adding one is one `Format`
//! variant, one arm in `walk` (and in `Writer::new` when alp can make it).
//!
//! What this module does not do: decide whether a member's name or type is acceptable.
//! Members come out raw (names as bytes, modes as stored; only a DOS-made zip's code
//! page 437 names are turned into UTF-8, since that is what they say); the one path check in
//! `unpack::path` and the unpacker's rules apply to every format alike.

pub mod tar;
pub mod zip;

use crate::error::{self, Result};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Every format alp reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    TarGz,
    TarZst,
    TarXz,
    Zip,
    /// One file as it is (an upstream static binary); installed where the index's `files` says.
    Raw,
}

impl Format {
    /// The format whose magic bytes `head` starts with. Formats alp does not read, but
    /// that are certainly archives, are refused rather than installed as one raw file.
    pub fn sniff(head: &[u8]) -> std::result::Result<Format, &'static str> {
        const UNSUPPORTED: &[(&[u8], &str)] = &[
            (b"BZh", "bzip2"),
            (b"LZIP", "lzip"),
            (&[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], "7z"),
            (b"Rar!", "rar"),
            (&[0x04, 0x22, 0x4d, 0x18], "lz4"),
        ];
        Ok(match head {
            [0x1f, 0x8b, ..] => Format::TarGz,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Format::TarZst,
            [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Format::TarXz,
            [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Format::Zip,
            _ => {
                if let Some((_, name)) = UNSUPPORTED.iter().find(|(magic, _)| head.starts_with(magic)) {
                    return Err(name);
                }
                if head.len() >= 262 && &head[257..262] == b"ustar" {
                    return Err("uncompressed tar");
                }
                Format::Raw
            }
        })
    }

    /// What `alp build --format` calls it.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "zst" | "zstd" | "tar.zst" => Some(Format::TarZst),
            "gz" | "gzip" | "tar.gz" => Some(Format::TarGz),
            "xz" | "tar.xz" => Some(Format::TarXz),
            _ => None,
        }
    }

    /// The file name ending `alp build` gives it.
    pub fn extension(self) -> &'static str {
        match self {
            Format::TarGz => ".tar.gz",
            Format::TarZst => ".tar.zst",
            Format::TarXz => ".tar.xz",
            Format::Zip => ".zip",
            Format::Raw => "",
        }
    }

    /// Whether the whole archive must be at hand before the first member (a zip's list is
    /// at its end).
    fn needs_file(self) -> bool {
        self == Format::Zip
    }
}

/// How many leading bytes `sniff` looks at (a ustar header's magic is at 257).
const HEAD: usize = 512;

/// What a member is. Types alp never installs are still named, so the unpacker can say why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    HardLink,
    Device,
    Fifo,
    Other(String),
}

/// One member as its archive states it; nothing in it is checked yet.
pub struct Member<'a> {
    /// The name, byte for byte.
    pub path: PathBuf,
    /// A symlink's or hard link's target.
    pub link: Option<PathBuf>,
    pub kind: Kind,
    pub mode: u32,
    pub mtime: u64,
    /// The size the archive declares (0 when a raw stream's size is not known); `data`
    /// never yields more than this.
    pub size: u64,
    /// The member's content (empty for anything but a file).
    pub data: &'a mut dyn Read,
    /// Whether a later member of the same name replaces this one (tar, as `tar x` does);
    /// otherwise a name given twice is refused (zip, whose list is unordered).
    pub may_repeat: bool,
    /// Whether this member is the whole input (a raw file), with no name of its own.
    pub whole: bool,
}

/// Whether a visitor wants more members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Next,
    Stop,
}

/// Receives the members of an archive, in the archive's order.
pub trait Visitor {
    fn member(&mut self, m: Member<'_>) -> Result<Flow>;
}

impl<F: FnMut(Member<'_>) -> Result<Flow>> Visitor for F {
    fn member(&mut self, m: Member<'_>) -> Result<Flow> {
        self(m)
    }
}

/// Where an archive's bytes come from.
pub enum Input<'a> {
    /// A file at hand: a zip's central directory is read from it directly.
    File(&'a File),
    /// A stream read once, in order (a download through its digest). A zip, whose member
    /// list is at its end, is first copied to an unnamed temporary file in `spool`.
    Stream(&'a mut dyn Read, &'a Path),
}

/// What a reader knows of the archive besides its bytes.
pub struct Opened<'a> {
    /// How messages name it.
    pub label: &'a str,
    /// The name a raw file's one member gets (the asset's file name), for globs.
    pub raw_name: &'a str,
    /// Whether the caller checks the whole archive's SHA-256 against a signed index: then a
    /// format's own check of what it decoded (zstd's XXH64, 4 % of decoding) is redundant,
    /// as a damaged archive is refused at its end either way, before anything is committed.
    pub checked: bool,
}

/// Reads the archive in `input`, handing each member to `visit`, and returns its format.
/// A visitor's `Stop` ends the walk early (without reading the rest).
pub fn walk(input: Input<'_>, at: &Opened<'_>, visit: &mut dyn Visitor) -> Result<Format> {
    match input {
        Input::File(file) => {
            let mut head = Vec::with_capacity(HEAD);
            let r = file;
            r.take(HEAD as u64).read_to_end(&mut head).map_err(|e| read_error(at.label, e))?;
            let format = sniff(&head, at.label)?;
            if format.needs_file() {
                return dispatch_file(format, file, at, visit);
            }
            let mut r = file;
            let mut stream = (&head[..]).chain(&mut r);
            dispatch_stream(format, &mut stream, at, visit)
        }
        Input::Stream(source, spool) => {
            let mut head = Vec::with_capacity(HEAD);
            source.take(HEAD as u64).read_to_end(&mut head).map_err(|e| read_error(at.label, e))?;
            let format = sniff(&head, at.label)?;
            let mut stream = (&head[..]).chain(source);
            if format.needs_file() {
                let file = spool_to_file(&mut stream, spool, at.label)?;
                return dispatch_file(format, &file, at, visit);
            }
            dispatch_stream(format, &mut stream, at, visit)
        }
    }
}

fn sniff(head: &[u8], label: &str) -> Result<Format> {
    if head.is_empty() {
        return Err(error::bad_input(format!("{label}: the archive is empty")));
    }
    Format::sniff(head).map_err(|name| {
        error::bad_input(format!(
            "{label}: a {name} archive; alp reads .tar.zst, .tar.gz, .tar.xz, .zip or one raw file (repack it as one of those)"
        ))
    })
}

/// The formats read front to back: one arm each.
fn dispatch_stream(format: Format, r: &mut dyn Read, at: &Opened<'_>, visit: &mut dyn Visitor) -> Result<Format> {
    match format {
        Format::TarGz => tar::walk(tar::gz(r), at.label, visit)?,
        Format::TarZst => tar::walk(tar::zst(r, at.checked).map_err(|e| read_error(at.label, e))?, at.label, visit)?,
        Format::TarXz => tar::walk(tar::xz(r).map_err(|e| read_error(at.label, e))?, at.label, visit)?,
        Format::Raw => raw(r, at, visit)?,
        Format::Zip => unreachable_format(at.label)?,
    }
    Ok(format)
}

/// The formats that need the whole file: one arm each.
fn dispatch_file(format: Format, file: &File, at: &Opened<'_>, visit: &mut dyn Visitor) -> Result<Format> {
    match format {
        Format::Zip => zip::walk(file, at.label, visit)?,
        _ => unreachable_format(at.label)?,
    }
    Ok(format)
}

fn unreachable_format(label: &str) -> Result<()> {
    Err(error::bad_input(format!("{label}: internal error: format dispatched to the wrong reader")))
}

/// A raw file is one member holding every byte.
fn raw(r: &mut dyn Read, at: &Opened<'_>, visit: &mut dyn Visitor) -> Result<()> {
    let member = Member {
        path: PathBuf::from(at.raw_name),
        link: None,
        kind: Kind::File,
        mode: 0o755,
        mtime: 0,
        size: 0,
        data: r,
        may_repeat: false,
        whole: true,
    };
    visit.member(member).map(|_| ())
}

/// Copies a stream into an unnamed file in `dir` (gone when closed, whatever happens), so
/// a format that must seek can read it.
fn spool_to_file(r: &mut dyn Read, dir: &Path, label: &str) -> Result<File> {
    let mut file = unnamed_file(dir)?;
    io::copy(r, &mut file).map_err(|e| read_error(label, e))?;
    Ok(file)
}

fn unnamed_file(dir: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmpfile =
        std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_TMPFILE).mode(0o600).open(dir);
    if let Ok(f) = tmpfile {
        return Ok(f);
    }
    // No O_TMPFILE on this filesystem: a fresh name, unlinked at once.
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = dir.join(format!("{}spool-{}-{n}", crate::fsutil::STAGING_PREFIX, std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| error::io_at("creating a temporary file", &path, e))?;
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

/// A read failure in an archive: corrupt, truncated, or not what it claims to be.
pub fn read_error(label: &str, e: io::Error) -> error::Error {
    error::bad_input(format!("{label}: archive is corrupt or truncated ({})", error::plain_io(&e)))
}

/// Refuses a structural problem the reader found.
pub fn malformed(label: &str, why: impl std::fmt::Display) -> error::Error {
    error::bad_input(format!("{label}: {why}; refusing the archive"))
}

/// Reads at most `cap` bytes of `data` and says whether there was more.
pub fn read_capped(data: &mut dyn Read, cap: u64) -> io::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    data.take(cap + 1).read_to_end(&mut out)?;
    let over = out.len() as u64 > cap;
    out.truncate(cap as usize);
    Ok((out, over))
}

/// An archive being written by `alp build`: members in the order given, owned by root,
/// with the times given, so the same tree always makes the same bytes.
pub struct Writer {
    inner: tar::Writer,
}

impl Writer {
    /// Starts an archive of `format` in `file`. Only the tar-based formats can be written.
    pub fn new(format: Format, file: File) -> Result<Writer> {
        let inner = match format {
            Format::TarGz => tar::Writer::gz(file),
            Format::TarZst => tar::Writer::zst(file).map_err(|e| error::io_msg(format!("starting zstd: {e}")))?,
            Format::TarXz => tar::Writer::xz(file).map_err(|e| error::io_msg(format!("starting xz: {e}")))?,
            Format::Zip | Format::Raw => {
                return Err(error::usage("alp builds .tar.zst, .tar.gz or .tar.xz (--format zst, gz or xz)"));
            }
        };
        Ok(Writer { inner })
    }

    /// Member names are bytes, as the file system's are (UTF-8 or not).
    pub fn dir(&mut self, path: impl AsRef<Path>, mode: u32, mtime: u64) -> io::Result<()> {
        self.inner.dir(path.as_ref(), mode, mtime)
    }

    pub fn file(
        &mut self,
        path: impl AsRef<Path>,
        mode: u32,
        mtime: u64,
        size: u64,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        self.inner.file(path.as_ref(), mode, mtime, size, data)
    }

    pub fn symlink(&mut self, path: impl AsRef<Path>, target: &Path, mtime: u64) -> io::Result<()> {
        self.inner.symlink(path.as_ref(), target, mtime)
    }

    /// Ends the archive and flushes it; returns the file, not yet synced.
    pub fn finish(self) -> io::Result<File> {
        self.inner.finish()
    }
}

/// Writes an archive of `format` to `out` atomically: `fill` adds the members to a
/// staging file beside it, which is synced and renamed into place only when all went well.
pub fn write_to(out: &Path, format: Format, fill: impl FnOnce(&mut Writer) -> Result<()>) -> Result<()> {
    use crate::error::IoContext;
    let tmp = crate::fsutil::staging_path(out);
    let result = (|| {
        let file = File::create(&tmp).at("creating", &tmp)?;
        let mut w = Writer::new(format, file)?;
        fill(&mut w)?;
        w.finish().at("finishing", &tmp)?.sync_all().at("syncing", &tmp)?;
        std::fs::rename(&tmp, out).at("renaming into place", out)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `SOURCE_DATE_EPOCH`, read in this one place: the mtime every built member gets (0 when
/// unset), so builds are reproducible.
pub fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_their_first_bytes() {
        assert_eq!(Format::sniff(&[0x1f, 0x8b, 8, 0]), Ok(Format::TarGz));
        assert_eq!(Format::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Ok(Format::TarZst));
        assert_eq!(Format::sniff(b"\xfd7zXZ\0\0"), Ok(Format::TarXz));
        assert_eq!(Format::sniff(b"PK\x03\x04"), Ok(Format::Zip));
        assert_eq!(Format::sniff(b"\x7fELF\x02\x01"), Ok(Format::Raw));
        assert_eq!(Format::sniff(b"BZh91AY"), Err("bzip2"));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(Format::sniff(&tar), Err("uncompressed tar"));
    }
}
