//! Ctrl-C, `docker stop` and a closed terminal while alp changes a root (SPEC section 6,
//! issue 12): SIGINT, SIGTERM and SIGHUP are caught, not fatal, so that the change stops at
//! the next check, removes what it staged and its partial download, and says
//! "interrupted; nothing was changed" — or, once the commit has begun, finishes it first.
//!
//! The handler only stores the signal's number. Blocking waits notice it: a socket read wakes
//! at least every `client::POLL` to look, lock and retry waits sleep in short slices, and
//! the download and unpack loops look at every block.

use crate::error::{self, Result};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// From now on SIGINT, SIGTERM and SIGHUP are requests to stop, not death.
pub fn catch() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `action` is zeroed (empty mask; no SA_RESTART, so blocking calls return
        // EINTR) and points at a handler that only stores to an atomic, which is
        // async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = remember as extern "C" fn(libc::c_int) as usize;
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// The signal that asked alp to stop, if one did.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// `Err` once a stop was requested: the error every long loop returns then.
pub fn check() -> Result<()> {
    match requested() {
        None => Ok(()),
        Some(sig) => Err(stopped(sig)),
    }
}

/// The error of a stop request: exit code 128 + the signal's number (130 for Ctrl-C).
pub fn stopped(sig: i32) -> error::Error {
    error::Error::new(error::Kind::Interrupted, "interrupted; nothing was changed").because(error::Cause::Signal(sig))
}

/// Sleeps `d`, waking early (with the stop error) when a stop is requested.
pub fn sleep(d: Duration) -> Result<()> {
    let end = Instant::now() + d;
    loop {
        check()?;
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}
