//! `archive::tar::Members` (GNU long names and PAX headers read with a cap) on any tar
//! stream: never a panic, and where both it and the tar crate's own reader accept a stream,
//! they name the same members (so the raw walk is no parser differential).
#![no_main]

use alp::archive::tar::Members;
use alp::unpack::path::member_path;
use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::path::{Path, PathBuf};

fn trim(p: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let b = p.as_os_str().as_bytes();
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    PathBuf::from(std::ffi::OsStr::from_bytes(&b[..end]))
}

/// (path, link) of every member as the tar crate reads them; `None` if it refuses the stream
/// or it holds a PAX global header (which the tar crate returns as a member).
fn tar_crate_names(data: &[u8]) -> Option<Vec<(PathBuf, Option<PathBuf>)>> {
    let mut archive = tar::Archive::new(data);
    let mut out = Vec::new();
    for e in archive.entries().ok()? {
        let mut e = e.ok()?;
        if e.header().entry_type().is_pax_global_extensions() {
            return None;
        }
        let path = trim(&e.path().ok()?);
        let link = e.link_name().ok()?.map(|l| trim(&l));
        std::io::copy(&mut e, &mut std::io::sink()).ok()?;
        out.push((path, link));
    }
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let mut archive = tar::Archive::new(data);
    let Ok(members) = Members::new(&mut archive) else { return };
    let mut ours = Vec::new();
    let mut ok = true;
    for m in members {
        let Ok(mut m) = m else {
            ok = false;
            break;
        };
        let _ = member_path(&m.path, "fuzz");
        if let Some(l) = &m.link {
            let _ = member_path(l, "fuzz");
        }
        let mut buf = Vec::new();
        if m.entry.read_to_end(&mut buf).is_err() {
            ok = false;
            break;
        }
        ours.push((trim(&m.path), m.link.as_deref().map(trim)));
    }
    if ok && let Some(theirs) = tar_crate_names(data) {
        assert_eq!(ours, theirs, "Members and the tar crate disagree");
    }
});
