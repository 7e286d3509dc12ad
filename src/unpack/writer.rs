//! Writing staged files on worker threads. The archive is read in order on one thread; each
//! regular file's bytes go, in 64 KiB blocks, to one of a few writers that create the staging
//! file, hash it and set its mode and time. Creating files is mostly kernel time, so spreading
//! it over the cores is what makes archives of many small files fast. Blocks are recycled and
//! the queues are short, so memory stays flat.

use crate::error::{self, Result};
use sha2::{Digest as _, Sha256};
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, UNIX_EPOCH};

/// SPEC section 6: fixed 64 KiB buffers.
const BLOCK: usize = 64 * 1024;
/// Blocks per writer in the shared pool: what bounds memory (and how far the reader runs
/// ahead: this many small files per writer, whose creation is what takes the time).
const BLOCKS: usize = 4;
/// Files up to this size are "small" to `Writers::pick`.
const SMALL: u64 = BLOCK as u64;
/// Jobs queued per writer. Jobs without a block are tiny, so the queues can be long enough for
/// the reader to run ahead over many small files and keep every writer busy.
const DEPTH: usize = 64;

enum Job {
    Open(Header),
    /// A block and how many of its bytes are data. Blocks keep their full length as they
    /// circulate, so handing one out never zeroes it again (64 KiB per small file adds up).
    Data(Vec<u8>, usize),
    Close,
    /// A file that fits in one block: open, data and close in one hand-over. Most files of a
    /// package are small, and every hand-over may wake a sleeping writer (a futex call and
    /// two context switches), so this is a third of them.
    Whole(Header, Vec<u8>, usize),
}

/// What a writer needs to create one staging file.
pub struct Header {
    /// The file's index in the unpacker's list (what its digest is returned with).
    pub idx: usize,
    pub path: PathBuf,
    pub mode: u32,
    pub mtime: u64,
    /// Whether to hash the content (not when the package lists its digests).
    pub hash: bool,
}

/// A file's SHA-256, kept as bytes until the archive is read (as text it would take three
/// times the memory while the decoder's window is still held).
pub type Digest = [u8; 32];

/// State the writers share with the reading thread.
pub struct Shared {
    failed: AtomicBool,
    error: Mutex<Option<error::Error>>,
}

impl Shared {
    pub fn new() -> Shared {
        Shared { failed: AtomicBool::new(false), error: Mutex::new(None) }
    }

    fn fail(&self, e: error::Error) {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
        self.failed.store(true, Ordering::SeqCst);
    }

    /// The first error a writer hit, if any.
    pub fn take_error(&self) -> Option<error::Error> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Default for Shared {
    fn default() -> Self {
        Shared::new()
    }
}

/// The reading thread's handle on the writers.
pub struct Writers<'scope> {
    queues: Vec<SyncSender<Job>>,
    handles: Vec<ScopedJoinHandle<'scope, Vec<(usize, Digest)>>>,
    recycled: Receiver<Vec<u8>>,
    give_back: SyncSender<Vec<u8>>,
    next: usize,
    /// Which writer each file went to, so a file named again goes to the same one (and its
    /// later content lands last).
    assigned: Vec<u8>,
    shared: &'scope Shared,
}

impl<'scope> Writers<'scope> {
    pub fn spawn(scope: &'scope Scope<'scope, '_>, shared: &'scope Shared, count: usize) -> Writers<'scope> {
        // A fixed set of blocks circulates: none is allocated or freed per file.
        let blocks = count * BLOCKS;
        let (give_back, recycled) = sync_channel::<Vec<u8>>(blocks);
        for _ in 0..blocks {
            let _ = give_back.try_send(vec![0; BLOCK]);
        }
        let mut queues = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..count {
            let (tx, rx) = sync_channel::<Job>(DEPTH);
            let give_back = give_back.clone();
            handles.push(scope.spawn(move || write_jobs(rx, shared, give_back)));
            queues.push(tx);
        }
        Writers { queues, handles, recycled, give_back, next: 0, assigned: Vec::new(), shared }
    }

    /// Whether a writer has failed (the reader should stop).
    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::SeqCst)
    }

    /// Streams `data` (`size` bytes, as declared) into a new staging file as `header` says,
    /// on one writer. A read error is returned as is; a writer's own failure shows up in
    /// `failed()` / `Shared::take_error`.
    pub fn file(&mut self, header: Header, size: u64, mut data: &mut dyn Read) -> io::Result<()> {
        let idx = header.idx;
        let which = match self.assigned.get(idx) {
            Some(&w) => w as usize,
            None => {
                let w = self.pick(&header.path, size);
                self.assigned.resize(idx + 1, 0);
                self.assigned[idx] = w as u8;
                w
            }
        };
        let queue = &self.queues[which];
        let gone = || io::Error::other("a file writer stopped");
        let mut block = self.recycled.recv().map_err(|_| gone())?;
        let (n, failed) = crate::fetch::pipe::fill(&mut data, &mut block);
        // `fill` stops short of a full block only at the end of the data.
        if failed.is_none() && n < BLOCK {
            return queue.send(Job::Whole(header, block, n)).map_err(|_| gone());
        }
        queue.send(Job::Open(header)).map_err(|_| gone())?;
        let mut first = Some((block, n, failed));
        let result = loop {
            let (block, n, failed) = match first.take() {
                Some(f) => f,
                None => {
                    let mut block = self.recycled.recv().map_err(|_| gone())?;
                    let (n, failed) = crate::fetch::pipe::fill(&mut data, &mut block);
                    (block, n, failed)
                }
            };
            if n == 0 {
                self.put_back(block);
            } else {
                queue.send(Job::Data(block, n)).map_err(|_| gone())?;
            }
            match failed {
                Some(e) => break Err(e),
                // `fill` stops short of a full block only at the end of the data.
                None if n < BLOCK => break Ok(()),
                None => {}
            }
        };
        // Closed even after a read error, so the writer is ready for the next file (the
        // staging file is removed with the rest on discard).
        queue.send(Job::Close).map_err(|_| gone())?;
        result
    }

    /// Which writer gets a file. Small files go by directory: creating files in one
    /// directory takes that directory's lock, so two writers in the same directory mostly
    /// wait on each other, while in different directories they create in parallel. Big files
    /// take turns, so their bytes (writing and hashing) are spread evenly.
    fn pick(&mut self, path: &Path, size: u64) -> usize {
        let n = self.queues.len();
        if size <= SMALL {
            let mut h = std::hash::DefaultHasher::new();
            path.parent().hash(&mut h);
            (h.finish() % n as u64) as usize
        } else {
            self.next = (self.next + 1) % n;
            self.next
        }
    }

    fn put_back(&self, block: Vec<u8>) {
        let _ = self.give_back.try_send(block);
    }

    /// Waits for every file to be written; returns (index, SHA-256) for each one hashed.
    pub fn finish(self) -> Vec<(usize, Digest)> {
        drop(self.queues);
        let mut out = Vec::new();
        for h in self.handles {
            out.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        out
    }
}

/// One open staging file.
struct Open {
    idx: usize,
    path: PathBuf,
    mode: u32,
    mtime: u64,
    file: File,
    hasher: Option<Sha256>,
}

fn write_jobs(rx: Receiver<Job>, shared: &Shared, give_back: SyncSender<Vec<u8>>) -> Vec<(usize, Digest)> {
    let mut done = Vec::new();
    let mut current: Option<Open> = None;
    for job in rx {
        match job {
            Job::Open(header) => current = open(header, shared),
            Job::Data(block, len) => {
                write(&mut current, &block[..len], shared);
                let _ = give_back.try_send(block);
            }
            Job::Close => close(current.take(), shared, &mut done),
            Job::Whole(header, block, len) => {
                let mut whole = open(header, shared);
                write(&mut whole, &block[..len], shared);
                let _ = give_back.try_send(block);
                close(whole, shared, &mut done);
            }
        }
    }
    done
}

/// Creates a staging file (nothing once a writer has failed).
fn open(h: Header, shared: &Shared) -> Option<Open> {
    if shared.failed.load(Ordering::SeqCst) {
        return None;
    }
    match create(&h.path) {
        Ok(file) => {
            let hasher = h.hash.then(Sha256::new);
            Some(Open { idx: h.idx, path: h.path, mode: h.mode, mtime: h.mtime, file, hasher })
        }
        Err(e) => {
            shared.fail(e);
            None
        }
    }
}

fn write(current: &mut Option<Open>, data: &[u8], shared: &Shared) {
    let Some(open) = current else { return };
    if let Some(h) = &mut open.hasher {
        h.update(data);
    }
    if let Err(e) = open.file.write_all(data) {
        shared.fail(error::io_at("writing", &open.path, e));
        *current = None;
    }
}

fn close(current: Option<Open>, shared: &Shared, done: &mut Vec<(usize, Digest)>) {
    let Some(open) = current else { return };
    match finish_file(&open) {
        Ok(()) => done.extend(open.hasher.map(|h| (open.idx, h.finalize().into()))),
        Err(e) => shared.fail(e),
    }
}

/// A fresh, exclusive create that never follows a planted symlink; a stale staging file
/// from an interrupted run is replaced.
pub fn create(path: &std::path::Path) -> Result<File> {
    let open = || OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(path);
    match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let _ = fs::remove_file(path);
            open()
        }
        other => other,
    }
    .map_err(|e| error::io_at("creating", path, e))
}

fn finish_file(open: &Open) -> Result<()> {
    // The create used 0600; files keep exactly the archive's mode (setuid already stripped).
    open.file
        .set_permissions(fs::Permissions::from_mode(open.mode))
        .map_err(|e| error::io_at("setting mode of", &open.path, e))?;
    if open.mtime > 0 {
        let _ = open.file.set_modified(UNIX_EPOCH + Duration::from_secs(open.mtime));
    }
    Ok(())
}

/// How many writers: one per core, at least two, at most four. Creating files in different
/// directories runs in parallel in the kernel (in one directory it does not, hence `pick`);
/// writers also take hashing off the reading thread.
pub fn count() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4))
}
