//! The content-addressed download cache: `<cache>/sha256/<hex>`, kept under `cache_size`
//! MB by evicting the least recently used archive first (use refreshes a file's mtime).
//!
//! One cache directory may be shared by many containers (`ALP_CACHE_DIR`): entries are
//! written to a private temp name and renamed in, so readers never see a partial file.

use crate::error::{IoContext, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub struct Cache {
    dir: PathBuf,
}

/// A cache entry being written while its bytes stream past; becomes visible on `commit`.
pub struct CacheWriter {
    tmp: PathBuf,
    dest: PathBuf,
    file: File,
}

impl Cache {
    pub fn new(dir: &Path) -> Cache {
        Cache { dir: dir.to_path_buf() }
    }

    fn entry(&self, sha256: &str) -> PathBuf {
        self.dir.join("sha256").join(sha256)
    }

    /// The cached archive with this digest, if present; marks it recently used.
    pub fn open(&self, sha256: &str) -> Option<File> {
        let path = self.entry(sha256);
        let f = File::open(&path).ok()?;
        let _ = File::options().write(true).open(&path).and_then(|w| w.set_modified(SystemTime::now()));
        Some(f)
    }

    pub fn remove(&self, sha256: &str) {
        let _ = fs::remove_file(self.entry(sha256));
    }

    pub fn contains(&self, sha256: &str) -> bool {
        self.entry(sha256).is_file()
    }

    /// Starts a new entry. The caller checks the digest before calling `commit`.
    pub fn writer(&self, sha256: &str) -> Result<CacheWriter> {
        let tmp_dir = self.dir.join("tmp");
        fs::create_dir_all(&tmp_dir).at("creating cache directory", &tmp_dir)?;
        fs::create_dir_all(self.dir.join("sha256")).at("creating cache directory", &self.dir)?;
        let tmp = tmp_dir.join(format!("{sha256}.{}.{:?}", std::process::id(), std::thread::current().id()));
        let file = File::create(&tmp).at("creating", &tmp)?;
        Ok(CacheWriter { tmp, dest: self.entry(sha256), file })
    }

    /// Every entry with its size and last use, oldest first.
    pub fn entries(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let mut out: Vec<_> = fs::read_dir(self.dir.join("sha256"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                m.is_file().then(|| (e.path(), m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
            })
            .collect();
        out.sort_by_key(|e| e.2);
        out
    }

    pub fn total_size(&self) -> u64 {
        self.entries().iter().map(|e| e.1).sum()
    }

    /// Evicts least recently used entries until the cache holds at most `cap` bytes.
    /// Returns the number of bytes freed.
    pub fn trim(&self, cap: u64) -> u64 {
        let entries = self.entries();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        let mut freed = 0;
        for (path, size, _) in entries {
            if total <= cap {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= size;
                freed += size;
            }
        }
        freed
    }

    /// Removes every entry and stale temp file. Returns bytes freed.
    pub fn clear(&self) -> u64 {
        let freed = self.trim(0);
        let _ = fs::remove_dir_all(self.dir.join("tmp"));
        freed
    }
}

impl CacheWriter {
    pub fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.file.write_all(buf).at("writing", &self.tmp)
    }

    /// Makes the entry visible under its digest.
    pub fn commit(self) -> Result<()> {
        drop(self.file);
        fs::rename(&self.tmp, &self.dest).at("adding to the cache", &self.dest)
    }

    pub fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.tmp);
    }
}
