//! `unpack::unpack` into a fresh root per input. Whatever the bytes: no panic, nothing
//! created beside the root, every staged file inside the root and not reached through a
//! symlink, and after an error (or a discard) no `.alp-new.` staging file left.
//!
//! The first byte picks the input's form: odd, the rest is a tar stream that is gzipped
//! here (so the fuzzer works on tar headers); even, the rest is the gzip stream itself.
//! Its second bit takes file digests from `.ALP/sha256` (`Options::listed_digests`).
#![no_main]

use alp::repo::index::Package;
use alp::unpack::{Claims, Options, unpack};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `<tmpfs>/alp-fuzz-unpack-<pid>/`, holding only `root/` between runs.
fn sandbox() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let dir = base.join(format!("alp-fuzz-unpack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// Every path under `dir`, not following symlinks.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        out.push(p.clone());
        if is_dir {
            walk(&p, out);
        }
    }
}

fn staging_left(root: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    walk(root, &mut all);
    all.into_iter().filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".alp-new."))).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else { return };
    let bytes = if form & 1 == 1 {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(rest).unwrap();
        e.finish().unwrap()
    } else {
        rest.to_vec()
    };
    let sandbox = sandbox();
    let root = sandbox.join("root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir(&root).unwrap();
    let root_real = std::fs::canonicalize(&root).unwrap();

    let claims = Claims::new(Default::default(), Default::default(), 1);
    let opts = Options { allow_setuid: false, max_bytes: 64 << 20, record: None, checked: false, listed_digests: form & 2 == 2 };
    let pkg = Package { name: "fuzz".into(), version: "1".into(), ..Package::default() };
    let result = unpack(&bytes[..], &root, &pkg, "fuzz 1", &opts, &claims);

    let beside: Vec<_> = std::fs::read_dir(sandbox).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(beside, ["root"], "something was created beside the root");
    match result {
        Err(_) => assert_eq!(staging_left(&root), Vec::<PathBuf>::new(), "staging files left after an error"),
        Ok(mut staged) => {
            for f in staged.files.iter().map(|f| f.staged()).chain(staged.hooks.iter().map(|h| h.1.clone())) {
                // Staged paths are text (`pathtext`): a name that is not UTF-8 is escaped.
                let abs = alp::pathtext::under(&root, &f);
                let parent = std::fs::canonicalize(abs.parent().unwrap()).expect("staged file's directory exists");
                assert!(parent.starts_with(&root_real), "{f} is staged outside the root ({})", parent.display());
                assert!(std::fs::symlink_metadata(&abs).is_ok(), "{f} was not staged");
            }
            staged.discard(&root);
            assert_eq!(staging_left(&root), Vec::<PathBuf>::new(), "staging files left after a discard");
        }
    }
});
