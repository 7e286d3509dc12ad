//! The one atomic-write helper and the staging-name rule, used by everything that writes state.

use crate::error::{IoContext, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefix of a staged file beside its final path (SPEC section 6).
pub const STAGING_PREFIX: &str = ".alp-new.";

/// `dir/.alp-new.<name>` for `dir/<name>`.
pub fn staging_path(target: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(STAGING_PREFIX);
    name.push(target.file_name().unwrap_or_default());
    target.with_file_name(name)
}

/// The same for a root-relative path as text (`usr/bin/hello` → `usr/bin/.alp-new.hello`).
pub fn staging_rel(rel: &str) -> String {
    match rel.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/{STAGING_PREFIX}{name}"),
        None => format!("{STAGING_PREFIX}{rel}"),
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one:
/// temp file beside it, fsync, rename, fsync the directory.
///
/// On any failure (a full disk, most often) the temp file is removed again: the directory is
/// left exactly as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = staging_path(path);
    let written = File::create(&tmp).at("creating", &tmp).and_then(|mut f| {
        f.write_all(bytes).at("writing", &tmp)?;
        f.sync_all().at("syncing", &tmp)
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path).at("renaming into place", path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // A bare file name's parent is the empty path: that is the current directory.
    sync_dir(path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")))
}

/// fsyncs a directory so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at("syncing directory", dir)
}

/// Creates the directories alp keeps its state in.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).at("creating directory", dir)
}

/// Removes a file, treating "already gone" as success.
pub fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(crate::error::io_at("removing", path, e)),
        _ => Ok(()),
    }
}
