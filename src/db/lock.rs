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
