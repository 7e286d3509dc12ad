//! `var/lib/alp/staging`: where a transaction stages, recorded before the first staged file
//! is written, so that whatever moment alp dies at (a kill before the journal exists, a full
//! disk, Ctrl-C), the next command or `alp fix` removes every staged file and every directory
//! it created. Without it, only the journal's list is known, and a kill while archives stream
//! in leaves thousands of `.alp-new.*` files behind.
//!
//! The record is made durable once, at its start (fsync). Each directory is appended with a
//! plain `write` before anything is staged in it: a killed process's writes are already in
//! the kernel, so only a power cut could lose a line, and then the staged data is lost too.
//! Lines: `s DIR` (staged in DIR) or `c DIR` (DIR created by this transaction).
//!
//! Once the journal takes over (the commit), the record is removed first: from then on the
//! journal rolls the transaction forward, and the record must not undo what it committed.

use crate::config::Paths;
use crate::error::{IoContext, Result};
use crate::fsutil::{self, STAGING_PREFIX};
use crate::pathtext;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::sync::Mutex;

/// An open record; every directory staged in goes through `staging_in` or `created`.
pub struct Record {
    file: Mutex<(File, HashSet<String>)>,
    path: std::path::PathBuf,
}

impl Record {
    /// Starts the record, durably, before anything is staged. The directories of the staged
    /// database and world file are its first lines.
    pub fn begin(paths: &Paths) -> Result<Record> {
        fsutil::ensure_dir(&paths.state())?;
        let path = paths.staging_record();
        let mut file = File::create(&path).at("creating", &path)?;
        file.write_all(b"s var/lib/alp\ns etc/alp\n").at("writing", &path)?;
        file.sync_all().at("syncing", &path)?;
        fsutil::sync_dir(&paths.state())?;
        let seen = ["var/lib/alp", "etc/alp"].iter().map(|d| format!("s {d}")).collect();
        Ok(Record { file: Mutex::new((file, seen)), path })
    }

    /// Notes that staged files go into `dir` (root-relative; "" is the root itself).
    pub fn staging_in(&self, dir: &str) -> Result<()> {
        self.note('s', dir)
    }

    /// Notes that this transaction created `dir`.
    pub fn created(&self, dir: &str) -> Result<()> {
        self.note('c', dir)
    }

    fn note(&self, tag: char, dir: &str) -> Result<()> {
        let line = format!("{tag} {dir}");
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let (file, seen) = &mut *guard;
        if seen.contains(&line) {
            return Ok(());
        }
        file.write_all(format!("{line}\n").as_bytes()).at("writing", &self.path)?;
        seen.insert(line);
        Ok(())
    }

    /// The transaction is over (committed to the journal, or cleaned up): the record goes.
    pub fn close(self) -> Result<()> {
        drop(self.file);
        fsutil::remove_if_exists(&self.path)
    }
}

/// After a transaction that died before its commit: removes every staged file in the
/// recorded directories and the directories it created (when empty), then the record.
/// Returns how many files and directories were removed, or `None` when there was no record.
pub fn clean_up(paths: &Paths) -> Result<Option<usize>> {
    let path = paths.staging_record();
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(crate::error::io_at("reading", &path, e)),
    };
    let mut removed = 0;
    let mut created: Vec<&str> = Vec::new();
    for line in text.lines() {
        let Some((tag, dir)) = line.split_once(' ') else { continue };
        // Only paths inside the root: a damaged line must not reach anywhere else.
        if dir.split('/').any(|c| c == "..") || dir.starts_with('/') {
            continue;
        }
        match tag {
            "s" => removed += remove_staged_in(&pathtext::under(&paths.root, dir)),
            "c" => created.push(dir),
            _ => {}
        }
    }
    // Deepest first, so parents empty out before their turn.
    created.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    for dir in created {
        let abs = pathtext::under(&paths.root, dir);
        removed += remove_staged_in(&abs);
        if fs::remove_dir(&abs).is_ok() {
            removed += 1;
        }
    }
    fsutil::remove_if_exists(&path)?;
    Ok(Some(removed))
}

/// Removes the `.alp-new.*` files in `dir`; returns how many.
fn remove_staged_in(dir: &std::path::Path) -> usize {
    staged_in(dir).into_iter().filter(|p| fs::remove_file(p).is_ok()).count()
}

/// The `.alp-new.*` entries of `dir` (files and symlinks, never directories).
pub fn staged_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().as_bytes().starts_with(STAGING_PREFIX.as_bytes()))
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// Temp files of alp's own atomic writes (kept indexes, the database, the world file, the
/// config) that a killed alp left. Under the root's lock, with any journal finished, every
/// one of them is stale.
pub fn own_leftovers(paths: &Paths) -> Vec<std::path::PathBuf> {
    let kept = fs::read_dir(paths.indexes()).into_iter().flatten().flatten().map(|e| e.path());
    [paths.state(), paths.etc(), paths.indexes()].into_iter().chain(kept).flat_map(|d| staged_in(&d)).collect()
}
