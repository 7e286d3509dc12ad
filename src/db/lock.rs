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

/// Finishes (a journal) or cleans up (a staging record, temp files) a change a killed alp
/// left, for a command that only reads: only if the lock is free this instant, since a running
/// alp is itself finishing its change. A pending journal means the database and the files
/// disagree, so one that cannot be finished is an error; leftovers of a change that never
/// committed are only untidy, and stay for the next command that can take the lock.
pub fn settle(paths: &Paths) -> Result<()> {
    let journal = paths.journal().exists();
    let root = paths.root.display();
    let pending = || {
        crate::error::io_msg(format!(
            "an interrupted change is pending in {root}; run 'alp fix' (as a user who may write there)"
        ))
    };
    let file = match File::options().create(true).truncate(false).write(true).open(paths.lock()) {
        Ok(f) => f,
        Err(_) if journal => return Err(pending()),
        Err(_) => return Ok(()),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) if journal => {
            return Err(crate::error::io_msg(format!(
                "another alp is changing {root} right now; try again when it is done"
            )));
        }
        Err(TryLockError::Error(_)) if journal => return Err(pending()),
        Err(_) => return Ok(()),
    }
    crate::db::journal::recover(paths).map_err(|e| e.context("finishing an interrupted change"))?;
    Ok(())
}
