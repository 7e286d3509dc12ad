//! `var/lib/alp/lock`: one mutating alp at a time per root. Waits (saying so) rather than failing.

use crate::config::Paths;
use crate::error::{IoContext, Result};
use crate::fsutil;
use std::fs::{File, TryLockError};

/// Held for the life of a mutating command; the kernel drops it if alp dies.
pub struct Lock {
    _file: File,
}

pub fn acquire(paths: &Paths, quiet: bool) -> Result<Lock> {
    fsutil::ensure_dir(&paths.state())?;
    let path = paths.lock();
    let file = File::options().create(true).truncate(false).write(true).open(&path).at("opening the lock", &path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            if !quiet {
                eprintln!("alp: waiting for another alp to finish (lock {})", path.display());
            }
            file.lock().at("waiting for the lock", &path)?;
        }
        Err(TryLockError::Error(e)) => return Err(crate::error::io_at("taking the lock", &path, e)),
    }
    Ok(Lock { _file: file })
}

/// Finishes (a journal) or cleans up (a staging record) a change a killed alp left, for a
/// command that only reads: only if the lock is free this instant, since a running alp is
/// itself finishing its change.
pub fn settle(paths: &Paths) -> Result<()> {
    let path = paths.lock();
    let pending = || {
        crate::error::io_msg(format!(
            "an interrupted change is pending in {}; run 'alp fix' (as a user who may write there)",
            paths.root.display()
        ))
    };
    let Ok(file) = File::options().create(true).truncate(false).write(true).open(&path) else {
        return Err(pending());
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(crate::error::io_msg(format!(
                "another alp is changing {} right now; try again when it is done",
                paths.root.display()
            )));
        }
        Err(TryLockError::Error(_)) => return Err(pending()),
    }
    crate::db::journal::recover(paths).map_err(|e| e.context("finishing an interrupted change"))?;
    Ok(())
}
