//! The HTTP client's response reader (`fetch::client`) on any bytes a server could send:
//! status line, headers, chunked / Content-Length / until-close bodies. An answer or an
//! error, never a panic, and never more body than the bytes given.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((status, len)) = alp::fetch::client::read_whole_response(data) {
        assert!((100..1000).contains(&status));
        assert!(len <= data.len() as u64);
    }
});
