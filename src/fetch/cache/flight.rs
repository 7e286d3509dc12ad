//! Single flight: of many processes that need the same blob or index at once, one fetches it
//! and the others wait, then read the cache. The turn is an `flock` on `locks/<key>`, which the
//! kernel drops when its holder dies, so a crashed fetcher never wedges the others; a waiter
//! that has waited longer than a live fetch could take goes ahead on its own (the holder is
//! stalled: stopped, or stuck in retries), which is safe because writers never share a name.

use super::Cache;
use crate::error::{IoContext, Result};
use std::fs::{self, File, TryLockError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The right to fetch `key` into the cache; released on drop.
pub struct Flight {
    _file: File,
}

/// What taking a turn gave.
pub enum Turn {
    /// Ours. Look in the cache first (whoever held the turn before may have filled it), else
    /// fetch, publish, then drop the `Flight`.
    Mine(Flight),
    /// Another process has it (only from `try_take`).
    Busy,
    /// Another process has held it longer than a live fetch could take: fetch without it.
    Stalled,
}

/// Only the first wait of a process says so: one line, not one per package.
static SAID: AtomicBool = AtomicBool::new(false);

fn open(cache: &Cache, key: &str) -> Result<File> {
    let dir = cache.dir().join("locks");
    fs::create_dir_all(&dir).at("creating cache directory", &dir)?;
    let path = dir.join(key);
    File::options().create(true).truncate(false).write(true).open(&path).at("opening the cache lock", &path)
}

/// Takes the turn for `key` if it is free, without waiting.
pub fn try_take(cache: &Cache, key: &str) -> Result<Turn> {
    let file = open(cache, key)?;
    match file.try_lock() {
        Ok(()) => Ok(Turn::Mine(Flight { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(Turn::Busy),
        Err(TryLockError::Error(e)) => Err(crate::error::io_msg(format!("locking the cache for {key}: {e}"))),
    }
}

/// Takes the turn for `key`, waiting while another process holds it, at most `stall`.
/// `what` names the thing for the one line printed while waiting.
pub fn take(cache: &Cache, key: &str, what: &str, stall: Duration, quiet: bool) -> Result<Turn> {
    let file = open(cache, key)?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Turn::Mine(Flight { _file: file })),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(crate::error::io_msg(format!("locking the cache for {key}: {e}")));
            }
        }
        if start.elapsed() >= stall {
            crate::ui::warn(&format!(
                "another alp has been fetching {what} for {} s; fetching it here too",
                stall.as_secs()
            ));
            return Ok(Turn::Stalled);
        }
        if !quiet && !SAID.swap(true, Ordering::Relaxed) {
            eprintln!("alp: another alp is fetching {what} into the shared cache; waiting for it");
        }
        crate::interrupt::sleep(pause)?;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
