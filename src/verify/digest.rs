//! SHA-256 and size checks on a stream as it passes, with an optional copy into the cache.

use crate::error::{self, Result};
use crate::fetch::cache::CacheWriter;
use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Hashes and counts every byte read through it, refuses to read past `limit`, and
/// copies the bytes into a cache entry when one is attached.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    limit: u64,
    tee: Option<CacheWriter>,
    tee_error: Option<error::Error>,
    /// The first failure of the underlying reader (network, size), for a precise error.
    source_error: Option<error::Error>,
    /// Bytes read are added here for the progress bar.
    progress: Option<Arc<AtomicU64>>,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R, limit: u64, tee: Option<CacheWriter>) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
            limit,
            tee,
            tee_error: None,
            source_error: None,
            progress: None,
        }
    }

    /// Adds every byte read to `counter` (the progress bar's).
    pub fn with_progress(mut self, counter: Arc<AtomicU64>) -> Self {
        self.progress = Some(counter);
        self
    }

    /// Reads what is left (the archive's trailing padding), then checks digest and size.
    /// On success the cache entry, if any, is committed; on failure it is discarded.
    pub fn finish(&mut self, what: &str, sha256: Option<&str>, size: Option<u64>) -> Result<String> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    let e = match self.source_error.take() {
                        Some(src) if src.kind == error::Kind::Integrity => src.context(what),
                        _ => read_error(what, e),
                    };
                    return Err(self.fail(e));
                }
            }
        }
        if let Some(e) = self.tee_error.take() {
            return Err(self.fail(e));
        }
        let digest = hex(&self.hasher.clone().finalize());
        if let Some(want) = size
            && want != self.count
        {
            let e = error::integrity(format!("{what}: size is {} bytes, expected {want}", self.count));
            return Err(self.fail(e));
        }
        if let Some(want) = sha256
            && !want.eq_ignore_ascii_case(&digest)
        {
            let e = error::integrity(format!("{what}: sha256 is {digest}, expected {want}"));
            return Err(self.fail(e));
        }
        if let Some(tee) = self.tee.take() {
            tee.commit()?;
        }
        Ok(digest)
    }

    /// Gives up: the cache entry is discarded.
    pub fn fail(&mut self, e: error::Error) -> error::Error {
        if let Some(tee) = self.tee.take() {
            tee.discard();
        }
        e
    }

    /// Why the source stopped, when it was the source (not the archive) that failed.
    pub fn source_error(&mut self) -> Option<error::Error> {
        self.source_error.take()
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The SHA-256 of what has been read so far (`alp build` lists each file's as it adds it).
    pub fn digest(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Err(e) = crate::interrupt::check() {
            self.source_error = Some(e);
            // Not `Interrupted`: readers retry that kind; this one must end the stream.
            return Err(io::Error::other("interrupted"));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                let msg = error::plain_io(&e);
                self.source_error = Some(match crate::interrupt::check() {
                    Err(stop) => stop,
                    Ok(()) => read_error("download", io::Error::new(e.kind(), msg.clone())),
                });
                return Err(io::Error::new(e.kind(), msg));
            }
        };
        self.count += n as u64;
        if self.count > self.limit {
            let msg = format!("the download is larger than the {} bytes the index declares", self.limit);
            self.source_error = Some(error::integrity(msg.clone()));
            return Err(io::Error::other(msg));
        }
        self.hasher.update(&buf[..n]);
        if let Some(p) = &self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        if let Some(tee) = &mut self.tee
            && let Err(e) = tee.write_all(&buf[..n])
        {
            self.tee_error = Some(e);
            if let Some(t) = self.tee.take() {
                t.discard();
            }
        }
        Ok(n)
    }
}

/// Turns a read failure on a download into a network error naming what was read.
pub fn read_error(what: &str, e: io::Error) -> error::Error {
    let msg = error::plain_io(&e);
    let e = if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) {
        error::network(format!("{what}: timed out while reading"))
    } else {
        error::network(format!("{what}: {msg}"))
    };
    e.because(error::Cause::Unreachable)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.extend_from_slice(&[DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]]);
    }
    // Only ASCII digits and letters went in.
    String::from_utf8(s).unwrap_or_default()
}

/// SHA-256 of a byte slice, as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &std::path::Path) -> io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}
