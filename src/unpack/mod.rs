//! Streaming an archive into staging (SPEC section 6): gzip → tar → each member checked
//! and written beside its final path as `.alp-new.<name>`, in one pass with fixed buffers.
//! Nothing here renames into place; `Staged` is either committed by the transaction or
//! discarded, leaving the root as it was.

pub mod path;
pub mod writer;

use crate::db::state::FileRec;
use crate::error::{self, Result};
use crate::fsutil::STAGING_PREFIX;
use crate::repo::index::Package;
use crate::verify::digest::hex;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// Size of every read and write buffer on the unpack path.
pub const BUF: usize = 64 * 1024;
/// `.ALP/package.json` larger than this is refused.
const MAX_META: u64 = 1 << 20;
const MAX_ENTRIES: u64 = 2_000_000;
/// Zero padding after the tar end marker (GNU tar pads to 10 KiB records) is normal; a
/// stream that goes on for more than this after the end is a bomb or garbage.
const MAX_TRAILER: u64 = 1 << 20;

/// Per-archive rules.
pub struct Options {
    pub allow_setuid: bool,
    /// Refuse once the members' sizes add up to more than this (gzip bombs).
    pub max_bytes: u64,
}

/// Which package owns which path, so two packages never claim one file.
pub struct Claims {
    /// Owners from the database.
    installed: HashMap<String, String>,
    /// Packages this transaction replaces or removes: their files are free to take.
    replacing: HashSet<String>,
    /// Paths claimed by packages staged in this transaction.
    planned: Mutex<HashMap<String, (String, bool)>>,
}

impl Claims {
    pub fn new(installed: HashMap<String, String>, replacing: HashSet<String>) -> Claims {
        Claims { installed, replacing, planned: Mutex::new(HashMap::new()) }
    }

    fn claim(&self, path: &str, package: &str) -> Result<()> {
        if let Some(owner) = self.installed.get(path)
            && owner != package
            && !self.replacing.contains(owner)
        {
            return Err(error::conflict(format!(
                "{package} would overwrite /{path}, which belongs to installed package {owner}"
            )));
        }
        self.claim_planned(path, package, false)
    }

    /// Records a directory the package needs, so no other package of this transaction may
    /// put a file there (the commit could not rename a file over a directory).
    fn claim_dir(&self, path: &str, package: &str) -> Result<()> {
        self.claim_planned(path, package, true)
    }

    fn claim_planned(&self, path: &str, package: &str, dir: bool) -> Result<()> {
        let mut planned = self.planned.lock().unwrap_or_else(|p| p.into_inner());
        let clash = |at: &str, other: &str, other_dir: bool| {
            let (file_pkg, dir_pkg) = if other_dir { (package, other) } else { (other, package) };
            error::conflict(format!(
                "{file_pkg} has a file at /{at} where {dir_pkg} has a directory; they cannot be installed together"
            ))
        };
        match planned.get(path) {
            Some((other, other_dir)) if other != package => {
                if !dir && !*other_dir {
                    return Err(error::conflict(format!(
                        "{package} and {other} both contain /{path}; they cannot be installed together"
                    )));
                }
                if dir != *other_dir {
                    return Err(clash(path, other, *other_dir));
                }
            }
            _ => {}
        }
        // Nothing may sit below another package's file.
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            end += i;
            if let Some((other, false)) = planned.get(&path[..end])
                && other != package
            {
                return Err(clash(&path[..end], other, false));
            }
            end += 1;
        }
        planned.entry(path.to_string()).or_insert((package.to_string(), dir));
        Ok(())
    }
}

/// A file written under its staging name, waiting for the commit.
#[derive(Debug)]
pub struct StagedFile {
    /// Root-relative staging path (`usr/bin/.alp-new.hello`).
    pub staged: String,
    pub rec: FileRec,
}

/// Everything one archive put in staging. Commit it or `discard` it.
#[derive(Debug, Default)]
pub struct Staged {
    pub package: String,
    pub files: Vec<StagedFile>,
    /// Hook scripts: (hook name, staged path, final path), root-relative.
    pub hooks: Vec<(String, String, String)>,
    /// `.ALP/package.json`, when the archive has one.
    pub meta: Option<Package>,
    /// Directories the archive names or implies, root-relative.
    pub dirs: Vec<String>,
    /// Directories this unpack created, so a discard removes them again.
    created: Vec<PathBuf>,
    pub size: u64,
}

impl Staged {
    /// Root-relative directories this unpack created (the package owns them).
    pub fn created_dirs(&self, root: &Path) -> Vec<String> {
        self.created
            .iter()
            .filter_map(|d| d.strip_prefix(root).ok())
            .map(|d| d.to_string_lossy().into_owned())
            .collect()
    }

    /// Deletes every staged file and the directories this unpack created.
    pub fn discard(&mut self, root: &Path) {
        for f in self.files.drain(..) {
            let _ = fs::remove_file(root.join(&f.staged));
        }
        for (_, staged, _) in self.hooks.drain(..) {
            let _ = fs::remove_file(root.join(staged));
        }
        for dir in self.created.drain(..).rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Dir,
    File,
    Symlink,
}

/// One archive being unpacked into staging.
struct Unpacker<'a, 'w> {
    writers: &'a mut writer::Writers<'w>,
    /// Hard links to make once their targets are written: (link index, target index).
    links: Vec<(usize, usize)>,
    root: &'a Path,
    root_real: PathBuf,
    label: &'a str,
    package: &'a str,
    opts: &'a Options,
    claims: &'a Claims,
    /// Members seen so far (root-relative path → kind); `File` entries map to their index in `staged.files`.
    members: HashMap<String, (Kind, usize)>,
    /// Directories known to exist as real directories under the root.
    ready_dirs: HashSet<String>,
    /// Directories this unpack created (so they were empty).
    fresh_dirs: HashSet<String>,
    staged: Staged,
    buf: Vec<u8>,
    total: u64,
}

/// Unpacks a gzip'd tar from `source` into staging under `root`. On error everything
/// staged so far is already removed.
pub fn unpack(
    source: impl Read,
    root: &Path,
    package: &str,
    label: &str,
    opts: &Options,
    claims: &Claims,
) -> Result<Staged> {
    let root_real = fs::canonicalize(root).map_err(|e| error::io_at("resolving the root", root, e))?;
    let shared = writer::Shared::new();
    std::thread::scope(|scope| {
        let mut writers = writer::Writers::spawn(scope, &shared, writer::count());
        let mut u = Unpacker {
            writers: &mut writers,
            links: Vec::new(),
            root,
            root_real,
            label,
            package,
            opts,
            claims,
            members: HashMap::new(),
            ready_dirs: HashSet::new(),
            fresh_dirs: HashSet::new(),
            staged: Staged { package: package.to_string(), ..Staged::default() },
            buf: vec![0; BUF],
            total: 0,
        };
        let gz = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(BUF, source));
        let mut archive = tar::Archive::new(gz);
        let result = u.run(&mut archive);
        // Drain what follows the tar end marker (padding, the gzip trailer) so the gzip CRC
        // and the caller's digest cover the whole file.
        let result = result.and_then(|()| {
            let mut rest = archive.into_inner().take(MAX_TRAILER + 1);
            let n = std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| read_error(label, e))?;
            if n > MAX_TRAILER {
                return Err(error::bad_input(format!(
                    "{label}: more than 1 MiB of data after the end of the tar archive; refusing"
                )));
            }
            Ok(())
        });
        let mut staged = std::mem::take(&mut u.staged);
        let links = std::mem::take(&mut u.links);
        let hashes = writers.finish();
        // A writer's failure (disk full, permissions) is the cause when there is one.
        let result = match (shared.take_error(), result) {
            (Some(_), Err(r)) if r.msg != WRITER_STOPPED => Err(r),
            (Some(e), _) => Err(e),
            (None, r) => r,
        };
        let result = result.and_then(|()| {
            for (idx, sha256) in hashes {
                staged.files[idx].rec.sha256 = sha256;
            }
            make_links(root, &mut staged, &links)
        });
        match result {
            Ok(()) => Ok(staged),
            Err(e) => {
                staged.discard(root);
                Err(e)
            }
        }
    })
}

/// Marks "stopped because a writer failed"; replaced by the writer's own error.
const WRITER_STOPPED: &str = "a file writer failed";

fn read_error(label: &str, e: std::io::Error) -> error::Error {
    error::bad_input(format!("{label}: archive is corrupt or truncated ({})", error::plain_io(&e)))
}

/// Hard links, made once every file is written, to the staged file they name.
fn make_links(root: &Path, staged: &mut Staged, links: &[(usize, usize)]) -> Result<()> {
    for &(link, target) in links {
        let from = root.join(&staged.files[target].staged);
        let to = root.join(&staged.files[link].staged);
        let _ = fs::remove_file(&to);
        fs::hard_link(&from, &to).map_err(|e| error::io_at("creating hard link", &to, e))?;
        staged.files[link].rec.sha256 = staged.files[target].rec.sha256.clone();
    }
    Ok(())
}

impl Unpacker<'_, '_> {
    fn refuse(&self, member: &str, why: &str) -> error::Error {
        error::bad_input(format!("{}: refusing member '{member}': {why}", self.label))
    }

    fn read_error(&self, e: std::io::Error) -> error::Error {
        read_error(self.label, e)
    }

    fn run<R: Read>(&mut self, archive: &mut tar::Archive<R>) -> Result<()> {
        let members = path::Members::new(archive).map_err(|e| self.read_error(e))?;
        let mut count = 0u64;
        for member in members {
            let path::Member { mut entry, path: raw, link } = member.map_err(|e| self.read_error(e))?;
            count += 1;
            if count > MAX_ENTRIES {
                return Err(error::bad_input(format!("{}: more than {MAX_ENTRIES} members", self.label)));
            }
            let rel = path::member_path(&raw, self.label)?;
            if rel.is_empty() {
                continue;
            }
            self.total = self.total.saturating_add(entry.size());
            if self.total > self.opts.max_bytes {
                return Err(error::bad_input(format!(
                    "{}: unpacks to more than {} bytes (a gzip bomb?); refusing",
                    self.label, self.opts.max_bytes
                )));
            }
            if rel == ".ALP" || rel.starts_with(".ALP/") {
                self.metadata_member(&rel, &mut entry)?;
                continue;
            }
            let name = rel.rsplit('/').next().unwrap_or(&rel);
            if name.starts_with(STAGING_PREFIX) {
                return Err(self.refuse(&rel, "names starting with .alp-new. are reserved for staging"));
            }
            let header = entry.header();
            let mode = header.mode().unwrap_or(0o644) & 0o7777;
            let mtime = header.mtime().unwrap_or(0);
            match header.entry_type() {
                tar::EntryType::Directory => self.directory(&rel, mode)?,
                tar::EntryType::Regular | tar::EntryType::Continuous => self.regular(&rel, mode, mtime, &mut entry)?,
                tar::EntryType::Symlink => {
                    let target = link.ok_or_else(|| self.refuse(&rel, "symlink without a target"))?;
                    let target =
                        target.to_str().ok_or_else(|| self.refuse(&rel, "symlink target is not UTF-8"))?.to_string();
                    self.symlink(&rel, &target)?
                }
                tar::EntryType::Link => {
                    let target = link.ok_or_else(|| self.refuse(&rel, "hard link without a target"))?;
                    let target = path::member_path(&target, self.label)?;
                    self.hard_link(&rel, &target)?
                }
                tar::EntryType::Char | tar::EntryType::Block => {
                    return Err(self.refuse(&rel, "device nodes are not installed"));
                }
                tar::EntryType::Fifo => return Err(self.refuse(&rel, "FIFOs are not installed")),
                other => return Err(self.refuse(&rel, &format!("unsupported member type {other:?}"))),
            }
        }
        Ok(())
    }

    /// `.ALP/package.json` is read; `.ALP/install` and `.ALP/remove` are staged as hooks.
    fn metadata_member(&mut self, rel: &str, entry: &mut tar::Entry<impl Read>) -> Result<()> {
        match rel {
            ".ALP/package.json" => {
                if entry.size() > MAX_META {
                    return Err(self.refuse(rel, "package.json is larger than 1 MiB"));
                }
                let mut text = String::new();
                entry.read_to_string(&mut text).map_err(|e| self.read_error(e))?;
                let v = crate::json::parse(&text, &format!("{}: .ALP/package.json", self.label))?;
                self.staged.meta = Some(Package::from_json(&v, &format!("{}: .ALP/package.json", self.label), true)?);
            }
            ".ALP/install" | ".ALP/remove" => {
                if entry.header().entry_type() != tar::EntryType::Regular {
                    return Err(self.refuse(rel, "hooks must be regular files"));
                }
                let hook = &rel[5..];
                let dir = format!("var/lib/alp/scripts/{}", self.package);
                // The same checks as any directory: never through a symlink out of the root.
                self.ensure_dir(&dir, 0o755)?;
                let staged = format!("{dir}/{STAGING_PREFIX}{hook}");
                self.write_file(&staged, 0o755, 0, entry)?;
                self.staged.hooks.push((hook.to_string(), staged, format!("{dir}/{hook}")));
            }
            _ => {}
        }
        Ok(())
    }

    fn check_new_member(&mut self, rel: &str, kind: Kind) -> Result<()> {
        // No member may sit below something this archive made a file or a symlink.
        let mut end = 0;
        while let Some(i) = rel[end..].find('/') {
            end += i;
            if let Some((k, _)) = self.members.get(&rel[..end])
                && *k != Kind::Dir
            {
                return Err(self.refuse(rel, &format!("'{}' is a file or symlink in this archive", &rel[..end])));
            }
            end += 1;
        }
        match self.members.get(rel) {
            Some((Kind::Dir, _)) if kind == Kind::Dir => return Ok(()),
            Some(_) => return Err(self.refuse(rel, "the archive names it twice")),
            None => {}
        }
        if kind != Kind::Dir && self.ready_dirs.contains(rel) {
            return Err(self.refuse(rel, "the archive uses it as a directory too"));
        }
        Ok(())
    }

    fn directory(&mut self, rel: &str, mode: u32) -> Result<()> {
        self.check_new_member(rel, Kind::Dir)?;
        self.members.insert(rel.to_string(), (Kind::Dir, 0));
        self.ensure_dir(rel, mode & 0o1777)
    }

    /// Makes `rel` exist as a real directory under the root, creating what is missing and
    /// refusing to pass through a symlink that leaves the root or a non-directory.
    fn ensure_dir(&mut self, rel: &str, mode: u32) -> Result<()> {
        if self.ready_dirs.contains(rel) {
            return Ok(());
        }
        if let Some(parent) = rel.rfind('/').map(|i| &rel[..i]) {
            self.ensure_dir(parent, 0o755)?;
        }
        // Claimed before it exists: packages unpack side by side, and another package's file
        // at this path must meet the claim (a conflict), never the directory already made.
        self.claims.claim_dir(rel, self.package)?;
        let abs = self.root.join(rel);
        match fs::symlink_metadata(&abs) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                let real = fs::canonicalize(&abs).ok();
                let inside = real.as_ref().is_some_and(|r| r.starts_with(&self.root_real) && r.is_dir());
                if !inside {
                    return Err(
                        self.refuse(rel, "it is a symlink that leads outside the root; nothing is written through it")
                    );
                }
            }
            Ok(_) => return Err(self.refuse(rel, "a file with that name exists where a directory is needed")),
            Err(_) => match fs::create_dir(&abs) {
                Ok(()) => {
                    let _ = fs::set_permissions(&abs, fs::Permissions::from_mode(mode));
                    self.staged.created.push(abs);
                    self.fresh_dirs.insert(rel.to_string());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && abs.is_dir() => {}
                Err(e) => return Err(error::io_at("creating directory", &abs, e)),
            },
        }
        self.ready_dirs.insert(rel.to_string());
        self.staged.dirs.push(rel.to_string());
        Ok(())
    }

    /// Prepares a non-directory member: claims it, makes its directory, checks its target slot.
    fn prepare(&mut self, rel: &str, kind: Kind) -> Result<String> {
        self.check_new_member(rel, kind)?;
        self.claims.claim(rel, self.package)?;
        let (dir, name) = match rel.rfind('/') {
            Some(i) => (&rel[..i], &rel[i + 1..]),
            None => ("", rel),
        };
        if !dir.is_empty() {
            self.ensure_dir(dir, 0o755)?;
        }
        // A directory this unpack just made holds nothing but what we stage into it.
        if !self.fresh_dirs.contains(dir) && fs::symlink_metadata(self.root.join(rel)).is_ok_and(|m| m.is_dir()) {
            return Err(self.refuse(rel, "a directory with that name exists"));
        }
        Ok(if dir.is_empty() { format!("{STAGING_PREFIX}{name}") } else { format!("{dir}/{STAGING_PREFIX}{name}") })
    }

    fn regular(&mut self, rel: &str, mode: u32, mtime: u64, entry: &mut tar::Entry<impl Read>) -> Result<()> {
        let staged = self.prepare(rel, Kind::File)?;
        if self.writers.failed() {
            return Err(error::io_msg(WRITER_STOPPED));
        }
        let mode = if self.opts.allow_setuid { mode } else { mode & !0o6000 };
        let idx = self.staged.files.len();
        self.staged.size += entry.size();
        self.members.insert(rel.to_string(), (Kind::File, idx));
        // Listed before the first byte, so a discard removes it whatever happens next.
        let abs = self.root.join(&staged);
        self.staged.files.push(StagedFile {
            staged,
            rec: FileRec { path: rel.to_string(), sha256: String::new(), mode, link: None },
        });
        let written = self.writers.file(idx, abs, entry.size(), mode, mtime, entry);
        written.map_err(|e| if self.writers.failed() { error::io_msg(WRITER_STOPPED) } else { self.read_error(e) })
    }

    /// Writes one staged file with a fresh, exclusive create (never through a planted
    /// symlink), hashing as it goes. Returns the content's SHA-256.
    fn write_file(&mut self, staged: &str, mode: u32, mtime: u64, data: &mut impl Read) -> Result<String> {
        let abs = self.root.join(staged);
        let mut file = writer::create(&abs)?;
        let mut hasher = Sha256::new();
        let result = (|| -> Result<()> {
            loop {
                let n = data.read(&mut self.buf).map_err(|e| self.read_error(e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&self.buf[..n]);
                file.write_all(&self.buf[..n]).map_err(|e| error::io_at("writing", &abs, e))?;
            }
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(|e| error::io_at("setting mode of", &abs, e))?;
            if mtime > 0 {
                let _ = file.set_modified(UNIX_EPOCH + Duration::from_secs(mtime));
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&abs);
            return Err(e);
        }
        Ok(hex(&hasher.finalize()))
    }

    fn symlink(&mut self, rel: &str, target: &str) -> Result<()> {
        if target.is_empty() || target.len() > 4096 || target.contains('\0') {
            return Err(self.refuse(rel, "bad symlink target"));
        }
        let staged = self.prepare(rel, Kind::Symlink)?;
        let abs = self.root.join(&staged);
        let _ = fs::remove_file(&abs);
        std::os::unix::fs::symlink(target, &abs).map_err(|e| error::io_at("creating symlink", &abs, e))?;
        self.members.insert(rel.to_string(), (Kind::Symlink, 0));
        let rec = FileRec { path: rel.to_string(), sha256: String::new(), mode: 0o777, link: Some(target.to_string()) };
        self.staged.files.push(StagedFile { staged, rec });
        Ok(())
    }

    /// Hard links may only point at a regular file earlier in the same archive. The link is
    /// made after the writers finish, when its target is surely complete.
    fn hard_link(&mut self, rel: &str, target: &str) -> Result<()> {
        let Some(&(Kind::File, idx)) = self.members.get(target) else {
            return Err(
                self.refuse(rel, &format!("hard link to '{target}', which is not a file earlier in this package"))
            );
        };
        let staged = self.prepare(rel, Kind::File)?;
        let mut rec = self.staged.files[idx].rec.clone();
        rec.path = rel.to_string();
        let link = self.staged.files.len();
        self.members.insert(rel.to_string(), (Kind::File, link));
        self.staged.files.push(StagedFile { staged, rec });
        self.links.push((link, idx));
        Ok(())
    }
}

/// Reads only `.ALP/package.json` from the head of a local archive (for `install FILE`,
/// which must resolve dependencies before it unpacks).
pub fn read_metadata(file: File, label: &str) -> Result<Option<Package>> {
    let gz = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(BUF, file));
    let mut archive = tar::Archive::new(gz);
    let bad =
        |e: std::io::Error| error::bad_input(format!("{label}: not a gzip'd tar archive ({})", error::plain_io(&e)));
    for member in path::Members::new(&mut archive).map_err(bad)? {
        let path::Member { mut entry, path, .. } = member.map_err(bad)?;
        let p = path.to_string_lossy().trim_start_matches("./").to_string();
        if p == ".ALP/package.json" {
            if entry.size() > MAX_META {
                return Err(error::bad_input(format!("{label}: .ALP/package.json is larger than 1 MiB")));
            }
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(bad)?;
            let v = crate::json::parse(&text, &format!("{label}: .ALP/package.json"))?;
            return Package::from_json(&v, &format!("{label}: .ALP/package.json"), true).map(Some);
        }
        if !p.starts_with(".ALP") {
            break;
        }
    }
    Ok(None)
}
