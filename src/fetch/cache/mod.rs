//! The download cache (SPEC section 13), shared by any number of alp processes in different
//! containers on one host (`ALP_CACHE_DIR`):
//!
//! - `sha256/<hex>`: archives, kept under `cache_size` MB, least recently used evicted first
//!   (use refreshes a file's mtime);
//! - `indexes/<16 hex of sha256(url)>/`: the last fetched index of each repository
//!   (`repo::shared` reads and writes it);
//! - `tmp/`: files being written, under random names, so no writer ever opens a name another
//!   process holds, whatever PID it has in its namespace; swept by age;
//! - `locks/`: one `flock` file per blob or index being fetched (`flight`).
//!
//! An entry appears only complete, verified and fsynced, by `rename` from `tmp/`. The cache
//! is untrusted storage: whoever reads an entry checks it (sha256 and size of an archive, the
//! signature of an index) as if it came off the network.

pub mod flight;

use crate::error::{IoContext, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A temp file untouched for this long belongs to a process that died (a live writer's file
/// changes at least every `timeout` seconds, and a stalled download is given up long before).
pub const STALE_TEMP: Duration = Duration::from_secs(3600);

pub struct Cache {
    dir: PathBuf,
}

/// A cache file being written while its bytes stream past; becomes visible on `commit`.
pub struct CacheWriter {
    tmp: PathBuf,
    dest: PathBuf,
    file: File,
}

/// One file in the cache, for sizes and eviction.
pub struct Entry {
    pub path: PathBuf,
    pub size: u64,
    pub used: SystemTime,
}

impl Cache {
    pub fn new(dir: &Path) -> Cache {
        Cache { dir: dir.to_path_buf() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the archive with this digest is (or would be) kept.
    pub fn blob(&self, sha256: &str) -> PathBuf {
        self.dir.join("sha256").join(sha256)
    }

    /// The shared copy of the index of the repository at `url`.
    pub fn index_dir(&self, url: &str) -> PathBuf {
        self.dir.join("indexes").join(&crate::verify::digest::sha256_hex(url.as_bytes())[..16])
    }

    /// The cached archive with this digest, if present; marks it recently used. An entry
    /// evicted after this returns stays readable through the returned handle.
    pub fn open(&self, sha256: &str) -> Option<File> {
        let path = self.blob(sha256);
        let f = File::open(&path).ok()?;
        let _ = File::options().write(true).open(&path).and_then(|w| w.set_modified(SystemTime::now()));
        Some(f)
    }

    pub fn remove(&self, sha256: &str) {
        let _ = fs::remove_file(self.blob(sha256));
    }

    pub fn contains(&self, sha256: &str) -> bool {
        self.blob(sha256).is_file()
    }

    /// Starts the archive entry for `sha256`. The caller checks the digest before `commit`.
    pub fn writer(&self, sha256: &str) -> Result<CacheWriter> {
        self.writer_to(self.blob(sha256))
    }

    /// Starts a file that `commit` renames to `dest` (a path inside the cache).
    pub fn writer_to(&self, dest: PathBuf) -> Result<CacheWriter> {
        let tmp_dir = self.dir.join("tmp");
        fs::create_dir_all(&tmp_dir).at("creating cache directory", &tmp_dir)?;
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).at("creating cache directory", parent)?;
        }
        let tmp = tmp_dir.join(format!("{}.part", crate::random::name()));
        // create_new: a name is never shared, so never truncated under another writer.
        let file = File::options().write(true).create_new(true).open(&tmp).at("creating", &tmp)?;
        Ok(CacheWriter { tmp, dest, file })
    }

    /// Every archive with its size and last use, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        let mut out = files_in(&self.dir.join("sha256"));
        out.sort_by_key(|e| e.used);
        out
    }

    /// Files in `tmp/`: downloads in progress, and leftovers of processes that died.
    pub fn temp_files(&self) -> Vec<Entry> {
        files_in(&self.dir.join("tmp"))
    }

    /// Temp files nobody has written to for `STALE_TEMP`.
    pub fn stale_temp_files(&self) -> Vec<Entry> {
        let now = SystemTime::now();
        self.temp_files()
            .into_iter()
            .filter(|e| now.duration_since(e.used).is_ok_and(|age| age >= STALE_TEMP))
            .collect()
    }

    /// Bytes the cache takes: archives and temp files.
    pub fn total_size(&self) -> u64 {
        self.entries().iter().chain(self.temp_files().iter()).map(|e| e.size).sum()
    }

    /// Sweeps stale temp files, then evicts least recently used archives until the cache
    /// holds at most `cap` bytes (temp files of live downloads count, but are never removed).
    /// Returns the number of bytes freed.
    pub fn trim(&self, cap: u64) -> u64 {
        let mut freed = self.sweep_temp_files();
        let mut total = self.total_size();
        for e in self.entries() {
            if total <= cap {
                break;
            }
            if fs::remove_file(&e.path).is_ok() {
                total -= e.size;
                freed += e.size;
            }
        }
        freed
    }

    /// Removes stale temp files; returns the bytes freed.
    pub fn sweep_temp_files(&self) -> u64 {
        self.stale_temp_files().into_iter().filter(|e| fs::remove_file(&e.path).is_ok()).map(|e| e.size).sum()
    }

    /// Removes every archive and stale temp file (not `tmp/` itself, which other processes
    /// may be writing in). A process reading an archive keeps its open handle; one about to
    /// open it finds it gone and downloads it. Returns bytes freed.
    pub fn clear(&self) -> u64 {
        self.trim(0)
    }
}

fn files_in(dir: &Path) -> Vec<Entry> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            m.is_file().then(|| Entry {
                path: e.path(),
                size: m.len(),
                used: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            })
        })
        .collect()
}

impl CacheWriter {
    pub fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.file.write_all(buf).at("writing", &self.tmp)
    }

    /// The temp file, for a caller that removes it on interruption.
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Makes the entry visible under its name: fsynced first, so it never appears partial,
    /// even after a crash. Replacing an existing entry is harmless: both hold the same bytes,
    /// and a reader of the old one keeps its handle.
    pub fn commit(self) -> Result<()> {
        if let Err(e) = self.file.sync_all() {
            let _ = fs::remove_file(&self.tmp);
            return Err(crate::error::io_at("syncing", &self.tmp, e));
        }
        drop(self.file);
        fs::rename(&self.tmp, &self.dest).map_err(|e| {
            let _ = fs::remove_file(&self.tmp);
            crate::error::io_at("adding to the cache", &self.dest, e)
        })
    }

    pub fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_cache() -> (PathBuf, Cache) {
        let dir = std::env::temp_dir().join(format!("alp-cache-unit-{}", crate::random::name()));
        (dir.clone(), Cache::new(&dir))
    }

    #[test]
    fn writers_never_share_a_temp_file_and_publish_whole() {
        let (dir, cache) = temp_cache();
        let mut a = cache.writer("ab").unwrap();
        let mut b = cache.writer("ab").unwrap();
        assert_ne!(a.temp_path(), b.temp_path());
        a.write_all(b"hello").unwrap();
        b.write_all(b"hello").unwrap();
        assert!(!cache.contains("ab"));
        a.commit().unwrap();
        b.commit().unwrap();
        assert_eq!(fs::read(cache.blob("ab")).unwrap(), b"hello");
        assert!(cache.temp_files().is_empty());
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn trim_sweeps_only_stale_temp_files_and_keeps_the_directory() {
        let (dir, cache) = temp_cache();
        let live = cache.writer("cd").unwrap();
        let dead = cache.writer("ef").unwrap();
        let old = SystemTime::now() - STALE_TEMP - Duration::from_secs(5);
        File::options().write(true).open(dead.temp_path()).unwrap().set_modified(old).unwrap();
        assert_eq!(cache.stale_temp_files().len(), 1);
        cache.clear();
        assert!(live.temp_path().exists());
        assert!(!dead.temp_path().exists());
        let _ = fs::remove_dir_all(dir);
    }
}
