//! Zip: the central directory at the end of the file is the authoritative member list.
//! Every local header must agree with its central entry, and the local entries must tile
//! the file from its first byte to the central directory with nothing between, beside or
//! overlapping them: no member hidden from one reader and seen by another, no two members
//! sharing bytes (the overlapping-entry zip bomb). Data is stored or deflated; each
//! member's size and CRC-32 are checked as it is read.

use super::{Flow, Kind, Member, Visitor, malformed, read_error};
use crate::error::Result;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const LOCATOR_SIG: u32 = 0x0706_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
/// A central directory larger than this is refused (it is held in memory).
const MAX_CENTRAL: u64 = 64 << 20;
const MAX_ENTRIES: u64 = 2_000_000;
const MAX_LINK: u64 = 4096;

/// One central-directory entry.
struct Entry {
    name: Vec<u8>,
    flags: u16,
    method: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    offset: u64,
    kind: Kind,
    mode: u32,
    mtime: u64,
    /// Whether its name is in code page 437 (`name_text`).
    cp437: bool,
    /// Where its data starts and ends, once the local header is read.
    data: (u64, u64),
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn read_at(file: &File, at: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    file.read_exact_at(&mut buf, at)?;
    Ok(buf)
}

/// Reads the zip in `file` and hands each member to `visit`, in central-directory order.
pub fn walk(file: &File, label: &str, visit: &mut dyn Visitor) -> Result<()> {
    let len = file.metadata().map_err(|e| read_error(label, e))?.len();
    let bad = |why: &str| malformed(label, format!("zip: {why}"));
    let io = |e: io::Error| read_error(label, e);
    let (cd_offset, cd_size, count, cd_end) = end_of_central(file, len, label)?;
    if cd_size > MAX_CENTRAL || count > MAX_ENTRIES {
        return Err(bad("the central directory is too large"));
    }
    let cd = read_at(file, cd_offset, cd_size as usize).map_err(io)?;
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = 0usize;
    while at < cd.len() {
        let (entry, next) = central_entry(&cd, at).map_err(&bad)?;
        entries.push(entry);
        at = next;
    }
    if entries.len() as u64 != count || cd_offset + cd_size != cd_end {
        return Err(bad("the central directory's size or count disagrees with its end record"));
    }
    let mut names = HashSet::new();
    for e in &entries {
        let name = e.name.strip_suffix(b"/").unwrap_or(&e.name);
        if !names.insert(name.to_vec()) {
            return Err(bad(&format!("two entries are named '{}'", String::from_utf8_lossy(name))));
        }
    }
    check_layout(file, &mut entries, cd_offset, label)?;
    for e in &entries {
        let section = Section { file, pos: e.data.0, end: e.data.1 };
        let mut data: Box<dyn Read> = match e.method {
            0 => Box::new(section),
            8 => Box::new(flate2::bufread::DeflateDecoder::new(BufReader::with_capacity(64 * 1024, section))),
            m => return Err(bad(&format!("'{}' uses compression method {m}", String::from_utf8_lossy(&e.name)))),
        };
        let mut checked = Checked { inner: &mut data, left: e.usize, crc: flate2::Crc::new(), want: e.crc };
        let name = PathBuf::from(std::ffi::OsStr::from_bytes(&name_text(&e.name, e.cp437)));
        let mut link = None;
        if e.kind == Kind::Symlink {
            let (target, over) = super::read_capped(&mut checked, MAX_LINK).map_err(io)?;
            if over {
                return Err(bad("a symlink target is longer than 4096 bytes"));
            }
            link = Some(PathBuf::from(std::ffi::OsStr::from_bytes(&target)));
        }
        let size = if e.kind == Kind::File { e.usize } else { 0 };
        let mut empty = io::empty();
        let data: &mut dyn Read = if e.kind == Kind::File { &mut checked } else { &mut empty };
        let member = Member {
            path: name,
            link,
            kind: e.kind.clone(),
            mode: e.mode,
            mtime: e.mtime,
            size,
            data,
            may_repeat: false,
            whole: false,
        };
        if visit.member(member)? == Flow::Stop {
            return Ok(());
        }
    }
    Ok(())
}

/// (central directory offset, size, entry count, where the directory must end).
fn end_of_central(file: &File, len: u64, label: &str) -> Result<(u64, u64, u64, u64)> {
    let bad = |why: &str| malformed(label, format!("zip: {why}"));
    let tail_len = len.min(22 + 65535);
    let tail = read_at(file, len - tail_len, tail_len as usize).map_err(|e| read_error(label, e))?;
    // The end record is the last one whose comment runs exactly to the end of the file.
    let found = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(&tail, i) == EOCD_SIG && i + 22 + u16_at(&tail, i + 20) as usize == tail.len());
    let Some(i) = found else {
        return Err(bad("no end of central directory record (truncated, or data after the end)"));
    };
    let eocd = len - tail_len + i as u64;
    let e = &tail[i..];
    if u16_at(e, 4) != 0 || u16_at(e, 6) != 0 || u16_at(e, 8) != u16_at(e, 10) {
        return Err(bad("multi-volume archives are not supported"));
    }
    let (count, size, offset) = (u64::from(u16_at(e, 10)), u64::from(u32_at(e, 12)), u64::from(u32_at(e, 16)));
    if eocd >= 20 {
        let loc = read_at(file, eocd - 20, 20).map_err(|e| read_error(label, e))?;
        if u32_at(&loc, 0) == LOCATOR_SIG {
            let at = u64_at(&loc, 8);
            if at.checked_add(56).is_none_or(|end| end > eocd - 20) {
                return Err(bad("the zip64 end record lies outside the file"));
            }
            let r = read_at(file, at, 56).map_err(|e| read_error(label, e))?;
            if u32_at(&r, 0) != EOCD64_SIG || u32_at(&r, 16) != 0 || u32_at(&r, 20) != 0 {
                return Err(bad("a bad zip64 end record"));
            }
            let (count, size, offset) = (u64_at(&r, 32), u64_at(&r, 40), u64_at(&r, 48));
            return Ok((offset, size, count, at));
        }
    }
    Ok((offset, size, count, eocd))
}

/// Parses the central entry at `at`; returns it and where the next one starts.
fn central_entry(cd: &[u8], at: usize) -> std::result::Result<(Entry, usize), &'static str> {
    let h = cd.get(at..at + 46).ok_or("a central directory entry is cut short")?;
    if u32_at(h, 0) != CENTRAL_SIG {
        return Err("a central directory entry has a bad signature");
    }
    let (name_len, extra_len, comment_len) = (u16_at(h, 28) as usize, u16_at(h, 30) as usize, u16_at(h, 32) as usize);
    let name = cd.get(at + 46..at + 46 + name_len).ok_or("a central directory entry is cut short")?.to_vec();
    let extra = cd.get(at + 46 + name_len..at + 46 + name_len + extra_len).ok_or("a central entry is cut short")?;
    let next = at + 46 + name_len + extra_len + comment_len;
    if next > cd.len() {
        return Err("a central directory entry is cut short");
    }
    let flags = u16_at(h, 8);
    if flags & 1 != 0 {
        return Err("encrypted entries are not supported");
    }
    let (mut usize, mut csize, mut offset) =
        (u64::from(u32_at(h, 24)), u64::from(u32_at(h, 20)), u64::from(u32_at(h, 42)));
    if u16_at(h, 34) != 0 && u16_at(h, 34) != 0xffff {
        return Err("multi-volume archives are not supported");
    }
    let mut mtime = dos_time(u16_at(h, 14), u16_at(h, 12));
    for (id, data) in extra_fields(extra)? {
        match id {
            0x0001 => {
                let mut d = data;
                let mut take = |field: &mut u64| -> std::result::Result<(), &'static str> {
                    if *field == 0xffff_ffff {
                        *field = u64_at(d.get(..8).ok_or("a zip64 field is cut short")?, 0);
                        d = &d[8..];
                    }
                    Ok(())
                };
                take(&mut usize)?;
                take(&mut csize)?;
                take(&mut offset)?;
            }
            0x5455 if data.len() >= 5 && data[0] & 1 != 0 => mtime = u64::from(u32_at(data, 1)),
            _ => {}
        }
    }
    let host = u16_at(h, 4) >> 8;
    let from_unix = host == 3;
    let attr = u32_at(h, 38) >> 16;
    let dir_name = name.last() == Some(&b'/');
    let (kind, mode) = if from_unix && attr != 0 {
        let kind = match attr & 0o170000 {
            0o040000 => Kind::Dir,
            0o100000 | 0 if dir_name => return Err("a file entry is named like a directory"),
            0o100000 | 0 => Kind::File,
            0o120000 => Kind::Symlink,
            0o020000 | 0o060000 => Kind::Device,
            0o010000 => Kind::Fifo,
            _ => Kind::Other("socket".into()),
        };
        (kind, attr & 0o7777)
    } else if dir_name {
        (Kind::Dir, 0o755)
    } else {
        (Kind::File, 0o644)
    };
    let entry = Entry {
        name,
        flags,
        method: u16_at(h, 10),
        crc: u32_at(h, 16),
        csize,
        usize,
        offset,
        kind,
        mode,
        mtime,
        cp437: flags & UTF8_FLAG == 0 && DOS_HOSTS.contains(&host),
        data: (0, 0),
    };
    Ok((entry, next))
}

/// General-purpose flag bit 11: the name is UTF-8.
const UTF8_FLAG: u16 = 0x800;
/// "Made by" hosts whose names, without the UTF-8 flag, are in the DOS code page: MS-DOS
/// and OS/2 FAT, HPFS, NTFS (10 in the zip note, 11 in Info-ZIP's list) and VFAT. Names
/// from Unix hosts are the local bytes, kept as they are (as Info-ZIP's unzip does).
const DOS_HOSTS: [u16; 5] = [0, 6, 10, 11, 14];

/// Code page 437 above 0x7f, the zip format's legacy name encoding.
const CP437_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";

/// An entry's name as the bytes to create: UTF-8 as it is; a DOS-made name that is not
/// UTF-8 read as code page 437, so `caf\x82` becomes `café` as it was on the machine that
/// made it. Anything else stays bytes (escaped for display by `pathtext`).
fn name_text(name: &[u8], cp437: bool) -> std::borrow::Cow<'_, [u8]> {
    if !cp437 || std::str::from_utf8(name).is_ok() {
        return std::borrow::Cow::Borrowed(name);
    }
    let high: Vec<char> = CP437_HIGH.chars().collect();
    let text: String =
        name.iter().map(|&b| if b < 0x80 { char::from(b) } else { high[usize::from(b - 0x80)] }).collect();
    std::borrow::Cow::Owned(text.into_bytes())
}

/// `(id, data)` of each extra field.
fn extra_fields(mut extra: &[u8]) -> std::result::Result<Vec<(u16, &[u8])>, &'static str> {
    let mut out = Vec::new();
    while extra.len() >= 4 {
        let (id, len) = (u16_at(extra, 0), u16_at(extra, 2) as usize);
        let data = extra.get(4..4 + len).ok_or("an extra field is cut short")?;
        out.push((id, data));
        extra = &extra[4 + len..];
    }
    Ok(out)
}

/// MS-DOS date and time (local time, taken as UTC) to Unix seconds.
fn dos_time(date: u16, time: u16) -> u64 {
    let (y, m, d) = (1980 + i64::from(date >> 9), i64::from((date >> 5) & 15), i64::from(date & 31));
    if !(1..=12).contains(&m) || d == 0 {
        return 0;
    }
    let days = crate::timefmt::days_from_civil(y, m, d);
    let secs =
        days * 86_400 + i64::from(time >> 11) * 3600 + i64::from((time >> 5) & 63) * 60 + i64::from(time & 31) * 2;
    secs.max(0) as u64
}

/// Reads every local header, checks it against its central entry, and checks that the
/// entries (with their data descriptors) tile the file from 0 to the central directory.
fn check_layout(file: &File, entries: &mut [Entry], cd_offset: u64, label: &str) -> Result<()> {
    let bad =
        |name: &[u8], why: &str| malformed(label, format!("zip: entry '{}': {why}", String::from_utf8_lossy(name)));
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries[i].offset);
    let mut expect = 0u64;
    for &i in &order {
        let e = &mut entries[i];
        if e.offset != expect {
            let why = if e.offset < expect { "overlaps the entry before it" } else { "has unlisted data before it" };
            return Err(bad(&e.name, why));
        }
        let h = read_at(file, e.offset, 30).map_err(|err| read_error(label, err))?;
        if u32_at(&h, 0) != LOCAL_SIG {
            return Err(bad(&e.name, "its local header is missing"));
        }
        let (name_len, extra_len) = (u16_at(&h, 26) as usize, u16_at(&h, 28) as usize);
        let tail = read_at(file, e.offset + 30, name_len + extra_len).map_err(|err| read_error(label, err))?;
        if tail[..name_len] != e.name[..] {
            return Err(bad(&e.name, "its local header gives another name"));
        }
        let flags = u16_at(&h, 6);
        if u16_at(&h, 8) != e.method || (flags ^ e.flags) & 0b1001 != 0 {
            return Err(bad(&e.name, "its local header disagrees with the central directory"));
        }
        let (mut lu, mut lc) = (u64::from(u32_at(&h, 22)), u64::from(u32_at(&h, 18)));
        let mut zip64 = false;
        for (id, data) in extra_fields(&tail[name_len..]).map_err(|why| bad(&e.name, why))? {
            if id == 0x0001 && data.len() >= 16 {
                zip64 = true;
                if lu == 0xffff_ffff {
                    lu = u64_at(data, 0);
                }
                if lc == 0xffff_ffff {
                    lc = u64_at(data, 8);
                }
            }
        }
        let described_later = flags & 0b1000 != 0;
        if !described_later && (u32_at(&h, 14) != e.crc || lu != e.usize || lc != e.csize) {
            return Err(bad(&e.name, "its local header gives another size or CRC"));
        }
        if e.method == 0 && e.csize != e.usize {
            return Err(bad(&e.name, "a stored entry whose sizes differ"));
        }
        let start = e.offset + 30 + (name_len + extra_len) as u64;
        let end = start.checked_add(e.csize).filter(|&end| end <= cd_offset);
        let Some(end) = end else { return Err(bad(&e.name, "its data runs into the central directory")) };
        e.data = (start, end);
        expect = end;
        if described_later {
            expect += descriptor(file, e, end, zip64).map_err(|why| bad(&e.name, why))?;
        }
    }
    if expect != cd_offset {
        return Err(malformed(label, "zip: data between the last entry and the central directory"));
    }
    Ok(())
}

/// Checks the data descriptor after an entry's data; returns its length.
fn descriptor(file: &File, e: &Entry, at: u64, zip64: bool) -> std::result::Result<u64, &'static str> {
    let b = read_at(file, at, 24).or_else(|_| read_at(file, at, 16)).map_err(|_| "its data descriptor is cut short")?;
    let skip = if u32_at(&b, 0) == DESCRIPTOR_SIG { 4 } else { 0 };
    let (crc, c, u, len) = if zip64 {
        let need = skip + 20;
        if b.len() < need {
            return Err("its data descriptor is cut short");
        }
        (u32_at(&b, skip), u64_at(&b, skip + 4), u64_at(&b, skip + 12), need)
    } else {
        (u32_at(&b, skip), u64::from(u32_at(&b, skip + 4)), u64::from(u32_at(&b, skip + 8)), skip + 12)
    };
    if crc != e.crc || c != e.csize || u != e.usize {
        return Err("its data descriptor disagrees with the central directory");
    }
    Ok(len as u64)
}

/// A byte range of the file, read with positioned reads.
struct Section<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (self.end - self.pos).min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the zip file is shorter than its entries"));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// An entry's content: exactly its declared size, and the CRC-32 it declares.
struct Checked<'a> {
    inner: &'a mut dyn Read,
    left: u64,
    crc: flate2::Crc,
    want: u32,
}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut extra = [0u8; 1];
            if self.inner.read(&mut extra)? != 0 {
                return Err(invalid("an entry holds more data than its declared size"));
            }
            if self.crc.sum() != self.want {
                return Err(invalid("CRC-32 mismatch"));
            }
            return Ok(0);
        }
        let want = self.left.min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "an entry holds less data than its declared size",
            ));
        }
        self.crc.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}
