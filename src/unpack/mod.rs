//! Streaming an archive into staging (SPEC section 6): `archive` yields the members of
//! whatever format it is; each is checked, placed (`strip`, `prefix`, `files`) and written
//! beside its final path as `.alp-new.<name>`, in one pass with fixed buffers. Nothing
//! here renames into place; `Staged` is either committed by the transaction or discarded,
//! leaving the root as it was.

pub mod digests;
pub mod path;
pub mod writer;

pub mod place;

use crate::archive::{self, Flow, Input, Kind as MemberKind, Member, Opened, Visitor};
use crate::db::state::FileRec;
use crate::error::{self, Result};
use crate::fsutil::STAGING_PREFIX;
use crate::pathtext;
use crate::repo::index::Package;
use crate::verify::digest::hex;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// Size of every read and write buffer on the unpack path.
pub const BUF: usize = 64 * 1024;
/// `.ALP/package.json` larger than this is refused.
const MAX_META: u64 = 1 << 20;
const MAX_ENTRIES: u64 = 2_000_000;

/// Per-archive rules.
pub struct Options<'a> {
    pub allow_setuid: bool,
    /// Refuse once the members' sizes add up to more than this (gzip, zstd, xz and zip bombs).
    pub max_bytes: u64,
    /// The transaction's staging record: each directory is noted before anything is staged
    /// in it (`db::staging`).
    pub record: Option<&'a crate::db::staging::Record>,
    /// The archive's SHA-256 is checked against a signed index as it streams (`Opened::checked`).
    pub checked: bool,
    /// Take each file's digest from the archive's `.ALP/sha256` instead of hashing it: only
    /// when the signed index vouches for the list and the archive's own digest is checked
    /// against it (`digests`). A file the list leaves out refuses the archive.
    pub listed_digests: bool,
}

/// Which package owns which path, so two packages never claim one file.
pub struct Claims {
    /// Owners from the database.
    installed: HashMap<String, String>,
    /// Packages this transaction replaces or removes: their files are free to take.
    replacing: HashSet<String>,
    /// Paths claimed by packages staged in this transaction; not kept when it stages only
    /// one (an archive's clashes with itself are the unpacker's to find).
    planned: Option<Mutex<Planned>>,
}

/// Paths claimed in this transaction: by which package (an index into `packages`, so a
/// package of many files does not repeat its name for each) and whether as a directory.
#[derive(Default)]
struct Planned {
    packages: Vec<String>,
    paths: HashMap<String, (u32, bool)>,
}

impl Planned {
    fn id(&mut self, package: &str) -> u32 {
        match self.packages.iter().position(|p| p == package) {
            Some(i) => i as u32,
            None => {
                self.packages.push(package.to_string());
                (self.packages.len() - 1) as u32
            }
        }
    }
}

impl Claims {
    /// Claims for a transaction that stages `staging` packages.
    pub fn new(installed: HashMap<String, String>, replacing: HashSet<String>, staging: usize) -> Claims {
        let planned = (staging > 1).then(|| Mutex::new(Planned::default()));
        Claims { installed, replacing, planned }
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
        let Some(planned) = &self.planned else { return Ok(()) };
        let mut planned = planned.lock().unwrap_or_else(|p| p.into_inner());
        let me = planned.id(package);
        let Planned { packages, paths } = &mut *planned;
        let clash = |at: &str, other: u32, other_dir: bool| {
            let other = &packages[other as usize];
            let (file_pkg, dir_pkg) = if other_dir { (package, other.as_str()) } else { (other.as_str(), package) };
            error::conflict(format!(
                "{file_pkg} has a file at /{at} where {dir_pkg} has a directory; they cannot be installed together"
            ))
        };
        match paths.get(path) {
            Some(&(other, other_dir)) if other != me => {
                if !dir && !other_dir {
                    return Err(error::conflict(format!(
                        "{package} and {} both contain /{path}; they cannot be installed together",
                        packages[other as usize]
                    )));
                }
                if dir != other_dir {
                    return Err(clash(path, other, other_dir));
                }
            }
            _ => {}
        }
        // Nothing may sit below another package's file.
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            end += i;
            if let Some(&(other, false)) = paths.get(&path[..end])
                && other != me
            {
                return Err(clash(&path[..end], other, false));
            }
            end += 1;
        }
        paths.entry(path.to_string()).or_insert((me, dir));
        Ok(())
    }
}

/// A file written under its staging name, waiting for the commit.
#[derive(Debug)]
pub struct StagedFile {
    pub rec: FileRec,
}

impl StagedFile {
    /// Root-relative staging path (`usr/bin/.alp-new.hello`), derived rather than kept: a
    /// package of many files holds one path per file, not two.
    pub fn staged(&self) -> String {
        crate::fsutil::staging_rel(&self.rec.path)
    }
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
        self.created.iter().filter_map(|d| d.strip_prefix(root).ok()).map(|d| pathtext::show(d).into_owned()).collect()
    }

    /// Deletes every staged file and the directories this unpack created.
    pub fn discard(&mut self, root: &Path) {
        for f in self.files.drain(..) {
            let _ = fs::remove_file(pathtext::under(root, &f.staged()));
        }
        for (_, staged, _) in self.hooks.drain(..) {
            let _ = fs::remove_file(pathtext::under(root, &staged));
        }
        for dir in self.created.drain(..).rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Dir,
    File,
    Symlink,
}

/// What the archive put at one path so far.
#[derive(Clone, Copy)]
struct Seen {
    kind: Kind,
    /// Index in `staged.files` (files and symlinks).
    idx: u32,
    /// Bytes it holds (a file named again gives them back).
    size: u64,
    /// Whether the archive allows a later member to replace it.
    may_repeat: bool,
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
    opts: &'a Options<'a>,
    claims: &'a Claims,
    place: place::Placer<'a>,
    /// Members seen so far, by root-relative (placed) path.
    members: HashMap<Box<str>, Seen>,
    /// Directories known to exist as real directories under the root.
    ready_dirs: HashSet<String>,
    /// Directories this unpack created (so they were empty).
    fresh_dirs: HashSet<String>,
    /// Directories already noted in the staging record.
    staging_dirs: HashSet<String>,
    staged: Staged,
    /// Digests from `.ALP/sha256` (when `listed_digests`): (index in `staged.files`, digest).
    listed: Vec<(u32, writer::Digest)>,
    /// Whether `.ALP/sha256` has been read: nothing may follow it.
    list_read: bool,
    buf: Vec<u8>,
    /// Bytes the members declare, and bytes actually read from them.
    declared: u64,
    count: u64,
}

/// Unpacks the archive streamed from `source` (any format `archive` reads) into staging
/// under `root`, placed as `pkg` says. On error everything staged so far is already removed.
pub fn unpack(
    mut source: impl Read,
    root: &Path,
    pkg: &Package,
    label: &str,
    opts: &Options,
    claims: &Claims,
) -> Result<Staged> {
    let root_real = fs::canonicalize(root).map_err(|e| error::io_at("resolving the root", root, e))?;
    // A zip is read from a copy: its member list is at its end.
    let spool = [root.join("var/lib/alp"), root.to_path_buf()].into_iter().find(|d| d.is_dir()).unwrap_or_default();
    let raw_name = pkg.file.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or(&pkg.name).to_string();
    let shared = writer::Shared::new();
    std::thread::scope(|scope| {
        let mut writers = writer::Writers::spawn(scope, &shared, writer::count());
        let mut u = Unpacker {
            writers: &mut writers,
            links: Vec::new(),
            root,
            root_real,
            label,
            package: &pkg.name,
            opts,
            claims,
            place: place::Placer::new(&pkg.place, label),
            members: HashMap::new(),
            ready_dirs: HashSet::new(),
            fresh_dirs: HashSet::new(),
            staging_dirs: HashSet::new(),
            staged: Staged { package: pkg.name.clone(), ..Staged::default() },
            listed: Vec::new(),
            list_read: false,
            buf: Vec::new(),
            declared: 0,
            count: 0,
        };
        let opened = Opened { label, raw_name: &raw_name, checked: opts.checked };
        let result = archive::walk(Input::Stream(&mut source, &spool), &opened, &mut u).map(|_| ());
        let result = result.and_then(|()| u.place.finish());
        let mut staged = std::mem::take(&mut u.staged);
        let links = std::mem::take(&mut u.links);
        let listed = std::mem::take(&mut u.listed);
        let hashes = writers.finish();
        // A writer's failure (disk full, permissions) is the cause when there is one.
        let result = match (shared.take_error(), result) {
            (Some(_), Err(r)) if r.msg != WRITER_STOPPED => Err(r),
            (Some(e), _) => Err(e),
            (None, r) => r,
        };
        let result = result.and_then(|()| {
            // In the order written: a file named twice takes its last content's digest.
            let listed = listed.into_iter().map(|(idx, d)| (idx as usize, d));
            for (idx, sha256) in hashes.into_iter().chain(listed) {
                staged.files[idx].rec.sha256 = hex(&sha256);
            }
            make_links(root, &mut staged, &links)?;
            if opts.listed_digests {
                every_file_listed(&staged, label)?;
            }
            Ok(())
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

/// With `listed_digests`, every regular file must have had its digest in the list.
fn every_file_listed(staged: &Staged, label: &str) -> Result<()> {
    match staged.files.iter().find(|f| f.rec.link.is_none() && f.rec.sha256.is_empty()) {
        Some(f) => Err(error::bad_input(format!(
            "{label}: {} does not list /{}, though the index says it lists every file; refusing the archive",
            digests::MEMBER,
            f.rec.path
        ))),
        None => Ok(()),
    }
}

/// Marks "stopped because a writer failed"; replaced by the writer's own error.
const WRITER_STOPPED: &str = "a file writer failed";

/// Hard links, made once every file is written, to the staged file they name.
fn make_links(root: &Path, staged: &mut Staged, links: &[(usize, usize)]) -> Result<()> {
    for &(link, target) in links {
        let from = pathtext::under(root, &staged.files[target].staged());
        let to = pathtext::under(root, &staged.files[link].staged());
        let _ = fs::remove_file(&to);
        fs::hard_link(&from, &to).map_err(|e| error::io_at("creating hard link", &to, e))?;
        staged.files[link].rec.sha256 = staged.files[target].rec.sha256.clone();
    }
    Ok(())
}

impl Visitor for Unpacker<'_, '_> {
    fn member(&mut self, m: Member<'_>) -> Result<Flow> {
        self.count += 1;
        if self.count > MAX_ENTRIES {
            return Err(error::bad_input(format!("{}: more than {MAX_ENTRIES} members", self.label)));
        }
        let Member { path: raw, link, kind, mode, mtime, size, data, may_repeat, whole } = m;
        let rel = path::member_path(&raw, self.label)?;
        if rel.is_empty() {
            return Ok(Flow::Next);
        }
        if self.list_read {
            return Err(self.refuse(&rel, &format!("members may not follow {}", digests::MEMBER)));
        }
        self.add_declared(size)?;
        if self.place.keeps_metadata() && (rel == ".ALP" || rel.starts_with(".ALP/")) {
            self.metadata_member(&rel, &kind, size, data)?;
            return Ok(Flow::Next);
        }
        let is_dir = kind == MemberKind::Dir;
        let Some(placed) = self.place.place(&rel, is_dir, whole)? else { return Ok(Flow::Next) };
        let mode = placed.mode.unwrap_or(mode);
        let rel = placed.path;
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        if name.starts_with(STAGING_PREFIX) {
            return Err(self.refuse(&rel, "names starting with .alp-new. are reserved for staging"));
        }
        match kind {
            MemberKind::Dir => self.directory(&rel, mode)?,
            MemberKind::File => self.regular(&rel, mode, mtime, size, may_repeat, data)?,
            MemberKind::Symlink => {
                let target = link.ok_or_else(|| self.refuse(&rel, "symlink without a target"))?;
                self.symlink(&rel, &target, may_repeat)?
            }
            MemberKind::HardLink => {
                let target = link.ok_or_else(|| self.refuse(&rel, "hard link without a target"))?;
                let target = path::member_path(&target, self.label)?;
                let target = self.place.placed_target(&target);
                self.hard_link(&rel, &target)?
            }
            MemberKind::Device => return Err(self.refuse(&rel, "device nodes are not installed")),
            MemberKind::Fifo => return Err(self.refuse(&rel, "FIFOs are not installed")),
            MemberKind::Other(what) => return Err(self.refuse(&rel, &format!("unsupported member type {what}"))),
        }
        Ok(Flow::Next)
    }
}

impl Unpacker<'_, '_> {
    fn refuse(&self, member: &str, why: &str) -> error::Error {
        error::bad_input(format!("{}: refusing member '{member}': {why}", self.label))
    }

    fn read_error(&self, e: io::Error) -> error::Error {
        archive::read_error(self.label, e)
    }

    fn add_declared(&mut self, size: u64) -> Result<()> {
        self.declared = self.declared.saturating_add(size);
        if self.declared > self.opts.max_bytes {
            return Err(self.bomb());
        }
        Ok(())
    }

    fn bomb(&self) -> error::Error {
        error::bad_input(format!(
            "{}: unpacks to more than {} bytes (a decompression bomb?); refusing",
            self.label, self.opts.max_bytes
        ))
    }

    /// `.ALP/package.json` is read; `.ALP/install` and `.ALP/remove` are staged as hooks.
    fn metadata_member(&mut self, rel: &str, kind: &MemberKind, size: u64, data: &mut dyn Read) -> Result<()> {
        match rel {
            ".ALP/package.json" => {
                self.staged.meta = Some(package_json(data, size, self.label)?);
            }
            digests::MEMBER if self.opts.listed_digests => self.read_list(data)?,
            ".ALP/install" | ".ALP/remove" => {
                if *kind != MemberKind::File {
                    return Err(self.refuse(rel, "hooks must be regular files"));
                }
                let hook = &rel[5..];
                let dir = format!("var/lib/alp/scripts/{}", self.package);
                // The same checks as any directory: never through a symlink out of the root.
                self.ensure_dir(&dir, 0o755)?;
                self.note_staging_in(&dir)?;
                let staged = format!("{dir}/{STAGING_PREFIX}{hook}");
                let mut capped = Capped { inner: data, left: self.opts.max_bytes, read: 0 };
                self.write_file(&staged, 0o755, 0, &mut capped)?;
                self.staged.hooks.push((hook.to_string(), staged, format!("{dir}/{hook}")));
            }
            _ => {}
        }
        Ok(())
    }

    /// Takes the digests of the files already staged from `.ALP/sha256`.
    fn read_list(&mut self, data: &mut dyn Read) -> Result<()> {
        let label = self.label;
        let (members, listed) = (&self.members, &mut self.listed);
        digests::read(data, label, |name, digest| {
            let name = path::member_path(Path::new(std::ffi::OsStr::from_bytes(name)), label)?;
            match members.get(name.as_str()) {
                Some(&Seen { kind: Kind::File, idx, .. }) => {
                    listed.push((idx, digest));
                    Ok(())
                }
                _ => Err(error::bad_input(format!(
                    "{label}: {} lists /{name}, which is not a file before it; refusing the archive",
                    digests::MEMBER
                ))),
            }
        })?;
        self.list_read = true;
        Ok(())
    }

    /// Checks that `rel` may be added; returns the earlier member it replaces, if any.
    fn check_new_member(&mut self, rel: &str, kind: Kind, may_repeat: bool) -> Result<Option<Seen>> {
        // No member may sit below something this archive made a file or a symlink.
        let mut end = 0;
        while let Some(i) = rel[end..].find('/') {
            end += i;
            if let Some(seen) = self.members.get(&rel[..end])
                && seen.kind != Kind::Dir
            {
                return Err(self.refuse(rel, &format!("'{}' is a file or symlink in this archive", &rel[..end])));
            }
            end += 1;
        }
        match self.members.get(rel) {
            Some(seen) if seen.kind == Kind::Dir && kind == Kind::Dir => return Ok(None),
            // tar semantics: the later of two same-named members is the one extracted.
            Some(seen) if seen.kind == kind && kind != Kind::Dir && seen.may_repeat && may_repeat => {
                return Ok(Some(*seen));
            }
            Some(_) => return Err(self.refuse(rel, "the archive names it twice")),
            None => {}
        }
        if kind != Kind::Dir && self.ready_dirs.contains(rel) {
            return Err(self.refuse(rel, "the archive uses it as a directory too"));
        }
        Ok(None)
    }

    fn directory(&mut self, rel: &str, mode: u32) -> Result<()> {
        self.check_new_member(rel, Kind::Dir, false)?;
        self.members.insert(rel.into(), Seen { kind: Kind::Dir, idx: 0, size: 0, may_repeat: false });
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
        let abs = pathtext::under(self.root, rel);
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
            Err(_) => match self.note_created(rel).map(|()| fs::create_dir(&abs))? {
                Ok(()) => {
                    let _ = fs::set_permissions(&abs, fs::Permissions::from_mode(mode));
                    self.staged.created.push(abs);
                    self.fresh_dirs.insert(rel.to_string());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && abs.is_dir() => {}
                Err(e) => return Err(error::io_at("creating directory", &abs, e)),
            },
        }
        self.ready_dirs.insert(rel.to_string());
        self.staged.dirs.push(rel.to_string());
        Ok(())
    }

    /// Records, before the directory is made, that this transaction creates `rel`.
    fn note_created(&self, rel: &str) -> Result<()> {
        self.opts.record.map_or(Ok(()), |r| r.created(rel))
    }

    /// Records, before the first file is staged in it, that `dir` holds staged files.
    fn note_staging_in(&mut self, dir: &str) -> Result<()> {
        if !self.staging_dirs.contains(dir) && self.staging_dirs.insert(dir.to_string()) {
            if self.staging_dirs.len() == 3 {
                // Files are staged in two directories by now.
                crate::failpoint::hit("staging");
            }
            return self.opts.record.map_or(Ok(()), |r| r.staging_in(dir));
        }
        Ok(())
    }

    /// Prepares a non-directory member: claims it, makes its directory, checks its target slot.
    fn prepare(&mut self, rel: &str) -> Result<String> {
        self.claims.claim(rel, self.package)?;
        let dir = rel.rfind('/').map_or("", |i| &rel[..i]);
        if !dir.is_empty() {
            self.ensure_dir(dir, 0o755)?;
        }
        self.note_staging_in(dir)?;
        // A directory this unpack just made holds nothing but what we stage into it.
        if !self.fresh_dirs.contains(dir)
            && fs::symlink_metadata(pathtext::under(self.root, rel)).is_ok_and(|m| m.is_dir())
        {
            return Err(self.refuse(rel, "a directory with that name exists"));
        }
        Ok(crate::fsutil::staging_rel(rel))
    }

    fn regular(
        &mut self,
        rel: &str,
        mode: u32,
        mtime: u64,
        size: u64,
        may_repeat: bool,
        data: &mut dyn Read,
    ) -> Result<()> {
        let earlier = self.check_new_member(rel, Kind::File, may_repeat)?;
        let staged = self.prepare(rel)?;
        if self.writers.failed() {
            return Err(error::io_msg(WRITER_STOPPED));
        }
        let mode = if self.opts.allow_setuid { mode } else { mode & !0o6000 };
        let rec = FileRec { path: rel.to_string(), sha256: String::new(), mode, link: None };
        let idx = match earlier {
            Some(seen) => {
                // The same staging file and the same writer, so the later content lands last.
                self.staged.size -= seen.size;
                self.staged.files[seen.idx as usize].rec = rec;
                seen.idx as usize
            }
            None => {
                // Listed before the first byte, so a discard removes it whatever happens next.
                self.staged.files.push(StagedFile { rec });
                self.staged.files.len() - 1
            }
        };
        let abs = pathtext::under(self.root, &staged);
        let left = self.opts.max_bytes.saturating_sub(self.staged.size);
        let mut capped = Capped { inner: data, left, read: 0 };
        let header = writer::Header { idx, path: abs, mode, mtime, hash: !self.opts.listed_digests };
        let written = self.writers.file(header, size, &mut capped);
        let read = capped.read;
        self.staged.size += read;
        self.members.insert(rel.into(), Seen { kind: Kind::File, idx: idx as u32, size: read, may_repeat });
        written.map_err(|e| match e.kind() {
            _ if self.writers.failed() => error::io_msg(WRITER_STOPPED),
            io::ErrorKind::FileTooLarge => self.bomb(),
            _ => self.read_error(e),
        })
    }

    /// Writes one staged file with a fresh, exclusive create (never through a planted
    /// symlink), hashing as it goes. Returns the content's SHA-256.
    fn write_file(&mut self, staged: &str, mode: u32, mtime: u64, data: &mut dyn Read) -> Result<String> {
        let abs = pathtext::under(self.root, staged);
        let mut file = writer::create(&abs)?;
        let mut hasher = Sha256::new();
        // Only hooks come this way: most archives never need the buffer.
        self.buf.resize(BUF, 0);
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

    /// A symlink's target is made byte for byte and recorded as text (`pathtext`).
    fn symlink(&mut self, rel: &str, target: &Path, may_repeat: bool) -> Result<()> {
        let bytes = target.as_os_str().as_bytes();
        if bytes.is_empty() || bytes.len() > 4096 || bytes.contains(&0) {
            return Err(self.refuse(rel, "bad symlink target"));
        }
        let earlier = self.check_new_member(rel, Kind::Symlink, may_repeat)?;
        let staged = self.prepare(rel)?;
        let abs = pathtext::under(self.root, &staged);
        let _ = fs::remove_file(&abs);
        std::os::unix::fs::symlink(target, &abs).map_err(|e| error::io_at("creating symlink", &abs, e))?;
        let link = Some(pathtext::encode(bytes).into_owned());
        let rec = FileRec { path: rel.to_string(), sha256: String::new(), mode: 0o777, link };
        let idx = match earlier {
            Some(seen) => {
                self.staged.files[seen.idx as usize].rec = rec;
                seen.idx as usize
            }
            None => {
                self.staged.files.push(StagedFile { rec });
                self.staged.files.len() - 1
            }
        };
        self.members.insert(rel.into(), Seen { kind: Kind::Symlink, idx: idx as u32, size: 0, may_repeat });
        Ok(())
    }

    /// Hard links may only point at a regular file earlier in the same archive. The link is
    /// made after the writers finish, when its target is surely complete.
    fn hard_link(&mut self, rel: &str, target: &str) -> Result<()> {
        let Some(&Seen { kind: Kind::File, idx, .. }) = self.members.get(target) else {
            return Err(
                self.refuse(rel, &format!("hard link to '{target}', which is not a file earlier in this package"))
            );
        };
        self.check_new_member(rel, Kind::File, false)?;
        self.prepare(rel)?;
        let idx = idx as usize;
        let mut rec = self.staged.files[idx].rec.clone();
        rec.path = rel.to_string();
        let link = self.staged.files.len();
        self.members.insert(rel.into(), Seen { kind: Kind::File, idx: link as u32, size: 0, may_repeat: false });
        self.staged.files.push(StagedFile { rec });
        self.links.push((link, idx));
        Ok(())
    }
}

/// A member's data, cut off with an error once it passes the size cap (a raw file or a
/// stream has no size to check in advance).
struct Capped<'a> {
    inner: &'a mut dyn Read,
    left: u64,
    read: u64,
}

impl Read for Capped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.left {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, "over the size cap"));
        }
        Ok(n)
    }
}

/// Reads `.ALP/package.json` from a member: the one reader of archive metadata.
fn package_json(data: &mut dyn Read, size: u64, label: &str) -> Result<Package> {
    let what = format!("{label}: .ALP/package.json");
    if size > MAX_META {
        return Err(error::bad_input(format!("{what} is larger than 1 MiB")));
    }
    let (bytes, over) = archive::read_capped(data, MAX_META).map_err(|e| archive::read_error(label, e))?;
    if over {
        return Err(error::bad_input(format!("{what} is larger than 1 MiB")));
    }
    let text = String::from_utf8(bytes).map_err(|_| error::bad_input(format!("{what} is not UTF-8")))?;
    let v = crate::json::parse(&text, &what)?;
    Package::from_json(&v, &what, true)
}

/// What `install FILE` and `index` learn from an archive without unpacking it.
#[derive(Debug, Default)]
pub struct Scan {
    /// `.ALP/package.json`, when the archive has one.
    pub meta: Option<Package>,
    /// The total size of its regular files (only when the whole archive was read).
    pub installed_size: u64,
    pub format: Option<archive::Format>,
    /// The archive ends with `.ALP/sha256` and every digest in it is right (only when the
    /// whole archive was read).
    pub file_digests: bool,
}

/// Reads an archive at hand for its metadata. `whole`: read every member (to add up the
/// installed size, check the archive reads to its end, and check `.ALP/sha256` against the
/// files); otherwise stop at the first member outside `.ALP/` (`alp build` puts metadata first).
pub fn scan(file: &File, label: &str, raw_name: &str, whole: bool) -> Result<Scan> {
    let mut out = Scan::default();
    // Each regular file's digest, and the list's, by path (only for `whole`).
    let mut files: HashMap<String, [u8; 32]> = HashMap::new();
    let mut listed: Option<Vec<(String, [u8; 32])>> = None;
    let mut visit = |m: Member<'_>| -> Result<Flow> {
        let p = m.path.to_string_lossy();
        let p = p.trim_start_matches("./");
        if p == ".ALP/package.json" {
            out.meta = Some(package_json(m.data, m.size, label)?);
        } else if p == digests::MEMBER && whole {
            let mut list = Vec::new();
            digests::read(m.data, label, |name, digest| {
                let name = path::member_path(Path::new(std::ffi::OsStr::from_bytes(name)), label)?;
                list.push((name, digest));
                Ok(())
            })?;
            listed = Some(list);
        } else if !p.starts_with(".ALP") {
            if !whole {
                return Ok(Flow::Stop);
            }
            if listed.is_some() {
                listed = Some(Vec::new()); // a member after the list: it cannot be the last word
            }
            if m.kind == MemberKind::File {
                // Read through, so every checksum is checked and a raw file is measured.
                let mut hashing = crate::verify::digest::HashingReader::new(m.data, u64::MAX, None);
                let n = io::copy(&mut hashing, &mut io::sink()).map_err(|e| archive::read_error(label, e))?;
                out.installed_size += n;
                if let Ok(rel) = path::member_path(&m.path, label) {
                    files.insert(rel, hashing.digest());
                }
            }
        }
        Ok(Flow::Next)
    };
    out.format = Some(archive::walk(Input::File(file), &Opened { label, raw_name, checked: false }, &mut visit)?);
    if let Some(list) = listed {
        check_listed(&list, &files, label)?;
        out.file_digests = true;
    }
    Ok(out)
}

/// `alp index` vouches for an archive's `.ALP/sha256` only when it names every regular file
/// once, with its digest, and nothing else.
fn check_listed(list: &[(String, [u8; 32])], files: &HashMap<String, [u8; 32]>, label: &str) -> Result<()> {
    let wrong =
        |why: String| error::bad_input(format!("{label}: {} {why}; rebuild it with alp build", digests::MEMBER));
    let mut seen = HashSet::new();
    for (name, digest) in list {
        match files.get(name) {
            None => return Err(wrong(format!("lists /{name}, which is not a regular file of the archive"))),
            Some(d) if d != digest => return Err(wrong(format!("has the wrong SHA-256 for /{name}"))),
            Some(_) if !seen.insert(name.as_str()) => return Err(wrong(format!("lists /{name} twice"))),
            Some(_) => {}
        }
    }
    if let Some(missing) = files.keys().find(|f| !seen.contains(f.as_str())) {
        return Err(wrong(format!("does not list /{missing} (or members follow it)")));
    }
    Ok(())
}

/// Checks, without writing anything, that an archive's members place as `place` says
/// (every name passes the path check, every `files` entry matches exactly one member);
/// returns the installed size.
pub fn check_placement(file: &File, label: &str, raw_name: &str, place: &crate::repo::index::Placement) -> Result<u64> {
    let mut placer = place::Placer::new(place, label);
    let mut total = 0u64;
    let mut visit = |m: Member<'_>| -> Result<Flow> {
        let rel = path::member_path(&m.path, label)?;
        if rel.is_empty() {
            return Ok(Flow::Next);
        }
        let placed = placer.place(&rel, m.kind == MemberKind::Dir, m.whole)?;
        if placed.is_some() && m.kind == MemberKind::File {
            total += io::copy(m.data, &mut io::sink()).map_err(|e| archive::read_error(label, e))?;
        }
        Ok(Flow::Next)
    };
    archive::walk(Input::File(file), &Opened { label, raw_name, checked: false }, &mut visit)?;
    placer.finish()?;
    Ok(total)
}

/// Reads only `.ALP/package.json` from the head of a local archive (for `install FILE`,
/// which must resolve dependencies before it unpacks).
pub fn read_metadata(file: File, label: &str) -> Result<Option<Package>> {
    Ok(scan(&file, label, "", false)?.meta)
}
