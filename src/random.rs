//! Random numbers from the kernel, for names no other process can pick (cache temp files) and
//! for retry jitter. Never for keys: those come from the signing crate.

/// A random `u64` from `getrandom(2)`. Falls back to the clock and the address of a stack
/// value only if the syscall is refused (a seccomp filter), which still differs per process.
pub fn u64() -> u64 {
    let mut buf = [0u8; 8];
    // SAFETY: `buf` is a valid, writable 8-byte buffer for the duration of the call.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n == buf.len() as isize {
        return u64::from_ne_bytes(buf);
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let local = 0u8;
    nanos ^ (&local as *const u8 as u64).rotate_left(32) ^ u64::from(std::process::id()).rotate_left(17)
}

/// 32 random hex digits (128 bits): a name no other writer, in any namespace or host
/// sharing the directory, will choose.
pub fn name() -> String {
    format!("{:016x}{:016x}", u64(), u64())
}

/// A uniform random value in `0..=max`.
pub fn below_or_eq(max: u64) -> u64 {
    if max == u64::MAX { u64() } else { u64() % (max + 1) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_differ_and_are_hex() {
        let (a, b) = (super::name(), super::name());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!((0..100).all(|_| super::below_or_eq(3) <= 3));
    }
}
