//! A reader on its own thread, so downloading and hashing overlap with inflating and
//! writing files: the two halves of an install each get a core. Buffers are recycled, so
//! memory stays at a few fixed 64 KiB blocks whatever the archive's size.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

const BLOCK: usize = 64 * 1024;
/// Blocks in flight between the threads (reading and hashing run well ahead of decoding,
/// so two are enough to keep the decoder fed).
const DEPTH: usize = 2;

/// The consuming end: reads what the producer thread read.
pub struct PipeReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
}

/// Starts reading `src` on a thread of `scope`. Joining the handle gives `src` back once
/// the reader reached its end, failed, or the `PipeReader` was dropped.
pub fn spawn<'scope, R: Read + Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    mut src: R,
) -> (PipeReader, ScopedJoinHandle<'scope, R>) {
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(DEPTH);
    // A fixed set of blocks circulates between the threads: nothing is allocated per block.
    let (recycle, reuse) = sync_channel::<Vec<u8>>(DEPTH + 2);
    for _ in 0..DEPTH + 2 {
        let _ = recycle.try_send(vec![0; BLOCK]);
    }
    let handle = scope.spawn(move || {
        // Waits for the reader to hand a block back; ends once the reader is gone.
        while let Ok(mut buf) = reuse.recv() {
            buf.resize(BLOCK, 0);
            let (n, failed) = fill(&mut src, &mut buf);
            if n > 0 {
                buf.truncate(n);
                if tx.send(Ok(buf)).is_err() {
                    break;
                }
            }
            match failed {
                Some(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
                None if n == 0 => {
                    let _ = tx.send(Ok(Vec::new()));
                    break;
                }
                None => {}
            }
        }
        src
    });
    (PipeReader { rx, recycle, cur: Vec::new(), pos: 0, done: false }, handle)
}

/// Reads until `buf` is full or the source ends, so blocks travel full. Returns the bytes
/// read and the error that stopped it, if any (sent after those bytes).
pub fn fill(src: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(block)) if block.is_empty() => self.done = true,
                Ok(Ok(block)) => {
                    let old = std::mem::replace(&mut self.cur, block);
                    let _ = self.recycle.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the reading thread stopped"));
                }
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_every_byte_in_order() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let out = std::thread::scope(|s| {
            let (mut r, h) = spawn(s, &data[..]);
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            h.join().unwrap();
            out
        });
        assert_eq!(out, data);
    }

    #[test]
    fn errors_come_through_after_the_data() {
        struct Fails(usize);
        impl Read for Fails {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "stalled"));
                }
                let n = buf.len().min(self.0);
                self.0 -= n;
                Ok(n)
            }
        }
        std::thread::scope(|s| {
            let (mut r, h) = spawn(s, Fails(100_000));
            let mut out = Vec::new();
            let e = r.read_to_end(&mut out).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            assert_eq!(out.len(), 100_000);
            h.join().unwrap();
        });
    }
}
