//! The tar-based formats: the three decompressors (one small function each), the member
//! walk that every one of them shares, and the writer `alp build` uses.
//!
//! The walk reads the stream once, in order, with flat memory: member names come from the
//! header, a GNU long name or a PAX record, read here with a size cap; sparse members (GNU
//! and PAX 0.1/1.0) come out expanded, holes as zeros.

use super::{Flow, Kind, Member, Visitor, read_error};
use crate::error::Result;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const BUF: usize = 64 * 1024;
/// Largest GNU long name, long link or PAX header read. Real ones are a few hundred bytes.
const MAX_EXTENSION: u64 = 64 * 1024;
/// Zero padding after the tar end marker (GNU tar pads to 10 KiB records) is normal; a
/// stream that goes on for more than this after the end is a bomb or garbage.
const MAX_TRAILER: u64 = 1 << 20;
/// Sparse maps longer than this many chunks are refused (each costs 16 bytes of memory).
const MAX_SPARSE_CHUNKS: usize = 100_000;
/// A zstd frame may ask for a window this large (2^27, zstd's own default limit); a frame
/// asking for more is refused before anything is allocated.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Memory liblzma may use to decode one xz stream (`xz -9` needs 65 MiB).
const XZ_MEMLIMIT: u64 = 128 << 20;

pub fn gz<'a>(r: &'a mut dyn Read) -> Box<dyn Read + 'a> {
    Box::new(flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(BUF, r)))
}

/// A zstd stream's decoder; `checked`: skip the frames' own content checksums (the caller
/// checks a stronger digest of the whole archive).
pub fn zst<'a>(r: &'a mut dyn Read, checked: bool) -> io::Result<Box<dyn Read + 'a>> {
    let mut d = zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(BUF, r))?;
    d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
    d.set_parameter(zstd::zstd_safe::DParameter::ForceIgnoreChecksum(checked))?;
    Ok(Box::new(d))
}

pub fn xz<'a>(r: &'a mut dyn Read) -> io::Result<Box<dyn Read + 'a>> {
    let stream = liblzma::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, liblzma::stream::CONCATENATED)
        .map_err(io::Error::other)?;
    Ok(Box::new(liblzma::bufread::XzDecoder::new_stream(BufReader::with_capacity(BUF, r), stream)))
}

/// Hands every member of the decompressed tar stream to `visit`, then makes sure nothing
/// but padding follows the end marker (so checksums at the end of the compressed stream
/// are read and checked, and the caller's digest covers the whole file).
pub fn walk(decoded: Box<dyn Read + '_>, label: &str, visit: &mut dyn Visitor) -> Result<()> {
    let mut archive = ::tar::Archive::new(decoded);
    {
        let members = Members::new(&mut archive).map_err(|e| read_error(label, e))?;
        for m in members {
            let Raw { mut entry, path, link, sparse } = m.map_err(|e| read_error(label, e))?;
            let header = entry.header();
            let kind = kind(header.entry_type());
            let mode = header.mode().unwrap_or(0o644) & 0o7777;
            let mtime = header.mtime().unwrap_or(0);
            let flow = match sparse {
                Some(map) => {
                    let size = map.real_size;
                    let mut data = Sparse::new(&mut entry, map).map_err(|e| read_error(label, e))?;
                    visit.member(Member {
                        path,
                        link,
                        kind: Kind::File,
                        mode,
                        mtime,
                        size,
                        data: &mut data,
                        may_repeat: true,
                        whole: false,
                    })?
                }
                None => {
                    let size = entry.size();
                    visit.member(Member {
                        path,
                        link,
                        kind,
                        mode,
                        mtime,
                        size,
                        data: &mut entry,
                        may_repeat: true,
                        whole: false,
                    })?
                }
            };
            if flow == Flow::Stop {
                return Ok(());
            }
        }
    }
    let mut rest = archive.into_inner().take(MAX_TRAILER + 1);
    let n = io::copy(&mut rest, &mut io::sink()).map_err(|e| read_error(label, e))?;
    if n > MAX_TRAILER {
        return Err(super::malformed(label, "more than 1 MiB of data after the end of the tar archive"));
    }
    Ok(())
}

fn kind(t: ::tar::EntryType) -> Kind {
    use ::tar::EntryType as T;
    match t {
        T::Directory => Kind::Dir,
        T::Regular | T::Continuous => Kind::File,
        T::Symlink => Kind::Symlink,
        T::Link => Kind::HardLink,
        T::Char | T::Block => Kind::Device,
        T::Fifo => Kind::Fifo,
        other => Kind::Other(format!("{other:?}")),
    }
}

/// One tar member with its name and link target taken from the GNU long-name or PAX
/// header before it when there is one (both still unchecked), and its sparse map.
pub struct Raw<'a, R: 'a + Read> {
    pub entry: ::tar::Entry<'a, R>,
    pub path: PathBuf,
    pub link: Option<PathBuf>,
    sparse: Option<SparseMap>,
}

/// The members of a tar stream.
///
/// The tar crate reads a GNU long name or a PAX header whole into memory, whatever size its
/// header claims: a "name" of 1 GiB of zeros is 1 MiB of gzip and 1-2 GiB of RSS. So the
/// stream is walked raw and those headers are read here, refused above 64 KiB. A GNU long
/// name and a PAX path that disagree are refused rather than one of them picked (another
/// tool might pick the other); PAX global headers (`git archive` writes one holding the
/// commit id) describe no member and are skipped.
pub struct Members<'a, R: 'a + Read> {
    entries: ::tar::Entries<'a, R>,
}

impl<'a, R: Read> Members<'a, R> {
    pub fn new(archive: &'a mut ::tar::Archive<R>) -> io::Result<Members<'a, R>> {
        Ok(Members { entries: archive.entries()?.raw(true) })
    }

    fn next_member(&mut self) -> io::Result<Option<Raw<'a, R>>> {
        let (mut long_name, mut long_link, mut pax) = (None, None, None);
        let mut entry = loop {
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
        let mut sparse = PaxSparse::default();
        for rec in ::tar::PaxExtensions::new(pax.as_deref().unwrap_or_default()) {
            let rec = rec.map_err(|_| invalid("a PAX header is malformed"))?;
            match rec.key_bytes() {
                b"path" => pax_path = Some(rec.value_bytes().to_vec()),
                b"linkpath" => pax_link = Some(rec.value_bytes().to_vec()),
                // The tar stream is walked raw, so a size that overrides the header's would
                // put every later header in the wrong place.
                b"size" if rec.value_bytes() != entry.size().to_string().as_bytes() => {
                    return Err(invalid("a PAX size record that differs from the header's size is not supported"));
                }
                k if k.starts_with(b"GNU.sparse.") => sparse.record(k, rec.value_bytes())?,
                _ => {}
            }
        }
        let sparse_name = sparse.name.take();
        let path = pick(long_name, pax_path, "name")?;
        let path = match (path, sparse_name) {
            (Some(_), Some(_)) => return Err(invalid("a sparse member names itself twice")),
            (p, s) => p.or(s).unwrap_or_else(|| entry.path_bytes().into_owned()),
        };
        let link =
            pick(long_link, pax_link, "link target")?.or_else(|| entry.link_name_bytes().map(|l| l.into_owned()));
        let sparse = if entry.header().entry_type().is_gnu_sparse() {
            Some(gnu_sparse_map(&entry)?)
        } else {
            sparse.map(&mut entry)?
        };
        Ok(Some(Raw { entry, path: bytes_path(path), link: link.map(bytes_path), sparse }))
    }
}

impl<'a, R: Read> Iterator for Members<'a, R> {
    type Item = io::Result<Raw<'a, R>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_member().transpose()
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads a long-name or PAX header's data, refusing one larger than `MAX_EXTENSION`
/// before a byte of it is buffered.
fn read_extension(entry: &mut ::tar::Entry<impl Read>) -> io::Result<Vec<u8>> {
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

// ---------------------------------------------------------------------------------------
// Sparse members.

/// Where a sparse file's stored chunks go: (offset, length) in the expanded file, in order.
struct SparseMap {
    chunks: Vec<(u64, u64)>,
    real_size: u64,
    /// PAX 1.0 keeps the map at the start of the member's data, padded to 512 bytes.
    map_in_data: bool,
}

/// The `GNU.sparse.*` records of a PAX header.
#[derive(Default)]
struct PaxSparse {
    major: Option<Vec<u8>>,
    real_size: Option<u64>,
    map: Option<Vec<u8>>,
    name: Option<Vec<u8>>,
    seen: bool,
}

impl PaxSparse {
    fn record(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.seen = true;
        let number = || {
            std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| invalid("a bad sparse record"))
        };
        match key {
            b"GNU.sparse.major" => self.major = Some(value.to_vec()),
            b"GNU.sparse.minor" => {}
            b"GNU.sparse.realsize" | b"GNU.sparse.size" => self.real_size = Some(number()?),
            b"GNU.sparse.map" => self.map = Some(value.to_vec()),
            b"GNU.sparse.name" => self.name = Some(value.to_vec()),
            // Format 0.0 repeats offset/numbytes records: too rare to be worth the code.
            _ => return Err(invalid("this kind of sparse file (PAX format 0.0) is not supported")),
        }
        Ok(())
    }

    fn map<R: Read>(self, _entry: &mut ::tar::Entry<R>) -> io::Result<Option<SparseMap>> {
        if !self.seen {
            return Ok(None);
        }
        let real_size = self.real_size.ok_or_else(|| invalid("a sparse member without its real size"))?;
        if self.major.as_deref() == Some(b"1") {
            return Ok(Some(SparseMap { chunks: Vec::new(), real_size, map_in_data: true }));
        }
        let map = self.map.ok_or_else(|| invalid("a sparse member without its map"))?;
        let numbers = std::str::from_utf8(&map)
            .ok()
            .and_then(|s| s.split(',').map(|n| n.parse::<u64>().ok()).collect::<Option<Vec<u64>>>())
            .filter(|v| v.len() % 2 == 0 && v.len() / 2 <= MAX_SPARSE_CHUNKS)
            .ok_or_else(|| invalid("a malformed sparse map"))?;
        let chunks = numbers.chunks(2).map(|c| (c[0], c[1])).collect();
        Ok(Some(SparseMap { chunks, real_size, map_in_data: false }))
    }
}

/// An old GNU sparse member ('S'): up to four chunks in its header. More chunks live in
/// extension headers that sit inside what the raw walk takes as data, so they are refused.
fn gnu_sparse_map<R: Read>(entry: &::tar::Entry<R>) -> io::Result<SparseMap> {
    let gnu = entry.header().as_gnu().ok_or_else(|| invalid("a sparse member without a GNU header"))?;
    if gnu.is_extended() {
        return Err(invalid(
            "a GNU sparse file with more than four chunks is not supported (repack with tar --format=posix)",
        ));
    }
    let mut chunks = Vec::new();
    for block in gnu.sparse.iter().filter(|b| !b.is_empty()) {
        chunks.push((block.offset()?, block.length()?));
    }
    Ok(SparseMap { chunks, real_size: gnu.real_size()?, map_in_data: false })
}

/// A sparse member's content, expanded: zeros in the holes, stored bytes in the chunks.
struct Sparse<'r> {
    stored: &'r mut dyn Read,
    chunks: std::vec::IntoIter<(u64, u64)>,
    /// The chunk being read: where it ends in the expanded file.
    chunk_end: u64,
    /// Where the next chunk starts (zeros up to there).
    next_start: u64,
    pos: u64,
    real_size: u64,
}

impl<'r> Sparse<'r> {
    fn new(stored: &'r mut dyn Read, mut map: SparseMap) -> io::Result<Sparse<'r>> {
        if map.map_in_data {
            map.chunks = read_data_map(stored)?;
        }
        let mut end = 0;
        for &(off, len) in &map.chunks {
            let chunk_end = off.checked_add(len).ok_or_else(|| invalid("a sparse chunk past 2^64"))?;
            if off < end || chunk_end > map.real_size {
                return Err(invalid("sparse chunks overlap or lie past the file's end"));
            }
            end = chunk_end;
        }
        let real_size = map.real_size;
        Ok(Sparse { stored, chunks: map.chunks.into_iter(), chunk_end: 0, next_start: 0, pos: 0, real_size }).map(
            |mut s| {
                s.advance();
                s
            },
        )
    }

    fn advance(&mut self) {
        match self.chunks.next() {
            Some((off, len)) => {
                self.next_start = off;
                self.chunk_end = off + len;
            }
            None => {
                self.next_start = self.real_size;
                self.chunk_end = self.real_size;
            }
        }
    }
}

/// PAX 1.0: the map is decimal numbers, one a line (count, then offset and length pairs),
/// at the start of the data, padded to a 512-byte boundary.
fn read_data_map(stored: &mut dyn Read) -> io::Result<Vec<(u64, u64)>> {
    let mut consumed = 0u64;
    let mut line = || -> io::Result<u64> {
        let mut digits = Vec::new();
        loop {
            let mut b = [0u8; 1];
            stored.read_exact(&mut b)?;
            consumed += 1;
            if b[0] == b'\n' {
                break;
            }
            if !b[0].is_ascii_digit() || digits.len() > 20 {
                return Err(invalid("a malformed sparse map"));
            }
            digits.push(b[0]);
        }
        std::str::from_utf8(&digits).ok().and_then(|s| s.parse().ok()).ok_or_else(|| invalid("a malformed sparse map"))
    };
    let count = line()? as usize;
    if count > MAX_SPARSE_CHUNKS {
        return Err(invalid("a sparse map with too many chunks"));
    }
    let mut chunks = Vec::with_capacity(count);
    for _ in 0..count {
        let off = line()?;
        let len = line()?;
        chunks.push((off, len));
    }
    let pad = consumed.next_multiple_of(512) - consumed;
    io::copy(&mut stored.take(pad), &mut io::sink())?;
    Ok(chunks)
}

impl Read for Sparse<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos >= self.real_size || buf.is_empty() {
                return Ok(0);
            }
            if self.pos < self.next_start {
                let n = (self.next_start - self.pos).min(buf.len() as u64) as usize;
                buf[..n].fill(0);
                self.pos += n as u64;
                return Ok(n);
            }
            if self.pos < self.chunk_end {
                let want = (self.chunk_end - self.pos).min(buf.len() as u64) as usize;
                let n = self.stored.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a sparse member ends early"));
                }
                self.pos += n as u64;
                return Ok(n);
            }
            self.advance();
        }
    }
}

// ---------------------------------------------------------------------------------------
// The writer.

/// A compressor that can be finished, giving the file back.
trait Encode: Write {
    fn done(self: Box<Self>) -> io::Result<File>;
}

fn unbuffer(w: BufWriter<File>) -> io::Result<File> {
    w.into_inner().map_err(|e| e.into_error())
}

impl Encode for flate2::write::GzEncoder<BufWriter<File>> {
    fn done(self: Box<Self>) -> io::Result<File> {
        unbuffer(self.finish()?)
    }
}

impl Encode for zstd::stream::write::Encoder<'static, BufWriter<File>> {
    fn done(self: Box<Self>) -> io::Result<File> {
        unbuffer(self.finish()?)
    }
}

impl Encode for liblzma::write::XzEncoder<BufWriter<File>> {
    fn done(self: Box<Self>) -> io::Result<File> {
        unbuffer(self.finish()?)
    }
}

/// zstd level for `alp build`: slow to make once, fast to read everywhere. The static builds
/// carry only the block compressors this level uses (btultra2, on btultra's code) and `fast`
/// (.cargo/config.toml): there a level whose strategy was left out would fall back to `fast`.
const ZSTD_LEVEL: i32 = 19;
/// A 2 MiB window: what decoding needs in memory, whatever level made the archive.
const ZSTD_BUILD_WINDOW_LOG: u32 = 21;

pub struct Writer {
    builder: ::tar::Builder<Box<dyn Encode>>,
}

impl Writer {
    fn with(encoder: Box<dyn Encode>) -> Writer {
        let mut builder = ::tar::Builder::new(encoder);
        builder.follow_symlinks(false);
        Writer { builder }
    }

    pub fn gz(file: File) -> Writer {
        // flate2 writes a zero mtime and no name in the gzip header: nothing varies.
        let out = BufWriter::with_capacity(BUF, file);
        Writer::with(Box::new(flate2::write::GzEncoder::new(out, flate2::Compression::best())))
    }

    pub fn zst(file: File) -> io::Result<Writer> {
        let mut e = zstd::stream::write::Encoder::new(BufWriter::with_capacity(BUF, file), ZSTD_LEVEL)?;
        e.window_log(ZSTD_BUILD_WINDOW_LOG)?;
        e.include_checksum(true)?;
        Ok(Writer::with(Box::new(e)))
    }

    pub fn xz(file: File) -> io::Result<Writer> {
        let stream =
            liblzma::stream::Stream::new_easy_encoder(6, liblzma::stream::Check::Crc64).map_err(io::Error::other)?;
        Ok(Writer::with(Box::new(liblzma::write::XzEncoder::new_stream(BufWriter::with_capacity(BUF, file), stream))))
    }

    fn header(kind: ::tar::EntryType, size: u64, mode: u32, mtime: u64) -> ::tar::Header {
        let mut h = ::tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    pub fn dir(&mut self, path: &Path, mode: u32, mtime: u64) -> io::Result<()> {
        let mut h = Writer::header(::tar::EntryType::Directory, 0, mode, mtime);
        self.builder.append_data(&mut h, path, io::empty())
    }

    pub fn file(&mut self, path: &Path, mode: u32, mtime: u64, size: u64, data: &mut dyn Read) -> io::Result<()> {
        let mut h = Writer::header(::tar::EntryType::Regular, size, mode, mtime);
        self.builder.append_data(&mut h, path, data.take(size))
    }

    pub fn symlink(&mut self, path: &Path, target: &Path, mtime: u64) -> io::Result<()> {
        let mut h = Writer::header(::tar::EntryType::Symlink, 0, 0o777, mtime);
        self.builder.append_link(&mut h, path, target)
    }

    pub fn finish(self) -> io::Result<File> {
        self.builder.into_inner()?.done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: ::tar::EntryType, name: &str, size: u64) -> Vec<u8> {
        let mut h = ::tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_path(name).unwrap();
        h.set_cksum();
        h.as_bytes().to_vec()
    }

    fn names(tar: Vec<u8>) -> io::Result<Vec<(PathBuf, Option<PathBuf>)>> {
        let mut archive = ::tar::Archive::new(io::Cursor::new(tar));
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
        let e = names(header(::tar::EntryType::GNULongName, "././@LongLink", 1 << 30)).unwrap_err();
        assert!(e.to_string().contains("limit is 64 KiB"), "{e}");
        let e = names(header(::tar::EntryType::XHeader, "PaxHeaders/x", 1 << 30)).unwrap_err();
        assert!(e.to_string().contains("limit is 64 KiB"), "{e}");
    }

    /// One PAX record; its length prefix counts itself.
    fn rec(key: &str, value: &str) -> String {
        let body = key.len() + value.len() + 3;
        let len = (1..).map(|d| body + d).find(|n| n.to_string().len() + body == *n).unwrap();
        format!("{len} {key}={value}\n")
    }

    fn pax(kind: ::tar::EntryType, records: &str) -> Vec<u8> {
        with_data(header(kind, "PaxHeaders/x", records.len() as u64), records.as_bytes())
    }

    #[test]
    fn long_names_pax_records_and_global_headers() {
        let mut t = with_data(header(::tar::EntryType::GNULongName, "././@LongLink", 6), b"gnu/a\0");
        t.extend(header(::tar::EntryType::Regular, "short", 0));
        t.extend(pax(::tar::EntryType::XGlobalHeader, &rec("comment", "0123abcd")));
        t.extend(pax(::tar::EntryType::XHeader, &(rec("path", "p/b") + &rec("size", "0") + &rec("mtime", "1.5"))));
        t.extend(header(::tar::EntryType::Regular, "short", 0));
        t.extend(pax(::tar::EntryType::XHeader, &rec("linkpath", "t")));
        t.extend(header(::tar::EntryType::Symlink, "l", 0));
        t.extend([0; 1024]);
        let got = names(t).unwrap();
        let want = [("gnu/a", None), ("p/b", None), ("l", Some(PathBuf::from("t")))];
        assert_eq!(got, want.map(|(p, l)| (PathBuf::from(p), l)));
    }

    #[test]
    fn an_old_style_header_typed_x_is_a_member_not_a_pax_header() {
        // Found by the `members` fuzz target: the tar crate reads this as a member named
        // by its header, and so must we (no parser differential).
        let mut h = ::tar::Header::new_old();
        h.set_entry_type(::tar::EntryType::XHeader);
        h.set_path("x").unwrap();
        h.set_size(12);
        h.set_cksum();
        let mut t = with_data(h.as_bytes().to_vec(), b"12 path=p/b\n");
        t.extend(header(::tar::EntryType::Regular, "short", 0));
        let got = names(t).unwrap();
        assert_eq!(got, [(PathBuf::from("x"), None), (PathBuf::from("short"), None)]);
    }

    #[test]
    fn ambiguous_or_dangling_headers_are_refused() {
        let mut t = with_data(header(::tar::EntryType::GNULongName, "././@LongLink", 2), b"a\0");
        t.extend(pax(::tar::EntryType::XHeader, &rec("path", "b")));
        t.extend(header(::tar::EntryType::Regular, "short", 0));
        assert!(names(t).unwrap_err().to_string().contains("disagree"));
        let t = with_data(header(::tar::EntryType::GNULongName, "././@LongLink", 2), b"a\0");
        assert!(names(t).unwrap_err().to_string().contains("before its member"));
        let mut t = pax(::tar::EntryType::XHeader, &rec("size", "99"));
        t.extend(header(::tar::EntryType::Regular, "short", 0));
        assert!(names(t).unwrap_err().to_string().contains("size"));
    }
}
