//! Path safety (SPEC section 6): hostile archives are refused with nothing written outside
//! the root and the root and database as they were.

mod common;
use common::*;
use std::path::Path;
use tar::EntryType;

/// Serves `archive` as package `evil` from a local repository and tries to install it.
fn try_install(archive: Vec<u8>, extra: &[&str]) -> (TempDir, TempDir, std::process::Output) {
    let repo = TempDir::new("repo");
    std::fs::write(repo.join("evil-1.tar.gz"), archive).unwrap();
    write_index(repo.path(), &[("evil", "1", "evil-1.tar.gz", &[])]);
    let root = TempDir::new("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let mut cmd = alp(root.path());
    cmd.args(["--repo", repo.path().to_str().unwrap(), "--allow-untrusted"]).args(extra).args(["install", "evil"]);
    let out = run(&mut cmd);
    (repo, root, out)
}

#[track_caller]
fn refused(archive: Vec<u8>, needle: &str) -> TempDir {
    let outside = std::env::temp_dir().join("alp-safety-outside");
    let before_outside = std::fs::read_dir(std::env::temp_dir()).unwrap().count();
    let (_repo, root, out) = try_install(archive, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(6), "stderr: {err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(!err.contains("panicked"));
    assert!(!root.join("var/lib/alp/installed.json").exists(), "database written");
    let leftovers: Vec<String> =
        snapshot(root.path()).into_iter().map(|f| f.0).filter(|p| !p.starts_with("var/") && p != "etc/").collect();
    assert!(leftovers.is_empty(), "left in root: {leftovers:?}");
    assert!(!outside.exists());
    let _ = before_outside;
    root
}

#[test]
fn parent_directory_escapes_are_refused() {
    refused(RawTar::new().file("usr/../../alp-safety-outside", b"x", 0o644).finish(), "'..'");
    refused(RawTar::new().file("ok/file", b"x", 0o644).file("../alp-safety-outside", b"x", 0o644).finish(), "'..'");
}

#[test]
fn absolute_paths_are_refused() {
    refused(RawTar::new().file("/tmp/alp-safety-outside", b"x", 0o644).finish(), "absolute path");
}

#[test]
fn writing_through_a_symlink_in_the_archive_is_refused() {
    let t = RawTar::new()
        .link(EntryType::Symlink, "escape", "/tmp")
        .file("escape/alp-safety-outside", b"x", 0o644)
        .finish();
    refused(t, "is a file or symlink in this archive");
}

#[test]
fn writing_through_an_existing_symlink_that_leaves_the_root_is_refused() {
    let repo = TempDir::new("repo");
    let t = RawTar::new().file("etc/cron.d/evil", b"x", 0o644).finish();
    std::fs::write(repo.join("evil-1.tar.gz"), t).unwrap();
    write_index(repo.path(), &[("evil", "1", "evil-1.tar.gz", &[])]);
    let root = TempDir::new("root");
    let outside = TempDir::new("outside");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("etc/cron.d")).unwrap();
    let e = fails(
        alp(root.path()).args(["--repo", repo.path().to_str().unwrap(), "--allow-untrusted", "install", "evil"]),
        6,
    );
    assert!(e.contains("leads outside the root"), "{e}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing written outside");
}

#[test]
fn a_symlink_inside_the_root_may_be_followed() {
    // Merged-/usr layouts: lib -> usr/lib is a symlink that stays inside the root.
    let repo = TempDir::new("repo");
    let t = RawTar::new().file("lib/libx.so", b"x", 0o644).finish();
    std::fs::write(repo.join("evil-1.tar.gz"), t).unwrap();
    write_index(repo.path(), &[("evil", "1", "evil-1.tar.gz", &[])]);
    let root = TempDir::new("root");
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
    ok(alp(root.path()).args(["--repo", repo.path().to_str().unwrap(), "--allow-untrusted", "install", "evil"]));
    assert!(root.join("usr/lib/libx.so").is_file());
}

#[test]
fn hard_links_outside_the_package_are_refused() {
    refused(
        RawTar::new().link(EntryType::Link, "usr/passwd", "etc/passwd").finish(),
        "not a file earlier in this package",
    );
    refused(RawTar::new().link(EntryType::Link, "usr/passwd", "../../etc/passwd").finish(), "'..'");
}

#[test]
fn hard_links_within_the_package_work() {
    let t = RawTar::new().file("usr/bin/a", b"same", 0o755).link(EntryType::Link, "usr/bin/b", "usr/bin/a").finish();
    let (_repo, root, out) = try_install(t, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(root.join("usr/bin/b")).unwrap(), b"same");
}

#[test]
fn device_nodes_and_fifos_are_refused() {
    refused(RawTar::new().special(EntryType::Char, "dev/null2").finish(), "device nodes");
    refused(RawTar::new().special(EntryType::Block, "dev/sda9").finish(), "device nodes");
    refused(RawTar::new().special(EntryType::Fifo, "run/pipe").finish(), "FIFOs");
}

#[test]
fn setuid_and_setgid_are_stripped_unless_allowed() {
    use std::os::unix::fs::PermissionsExt;
    let t = || RawTar::new().file("usr/bin/su2", b"x", 0o6755).finish();
    let (_repo, root, out) = try_install(t(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::metadata(root.join("usr/bin/su2")).unwrap().permissions().mode() & 0o7777, 0o755);
    let (_repo, root, out) = try_install(t(), &["--allow-setuid"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::metadata(root.join("usr/bin/su2")).unwrap().permissions().mode() & 0o7777, 0o6755);
}

#[test]
fn a_gzip_bomb_is_stopped_at_the_size_cap() {
    // 64 MiB of zeros compresses to about 64 KiB; the index declares 1 KB unpacked, so the
    // cap (declared size + 1/8 + 1 MiB) stops the stream long before the end.
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut h = tar::Header::new_gnu();
    h.set_size(64 << 20);
    h.set_mode(0o644);
    h.set_entry_type(EntryType::Regular);
    b.append_data(&mut h, "zeros", std::io::Read::take(std::io::repeat(0), 64 << 20)).unwrap();
    let bytes = b.into_inner().unwrap().finish().unwrap();
    let repo = TempDir::new("repo");
    std::fs::write(repo.join("evil-1.tar.gz"), bytes).unwrap();
    write_index(repo.path(), &[("evil", "1", "evil-1.tar.gz", &[])]);
    let index = std::fs::read_to_string(repo.join("index.json")).unwrap();
    std::fs::write(repo.join("index.json"), index.replace("\"depends\"", "\"installed_size\":1000,\"depends\""))
        .unwrap();
    let root = TempDir::new("root");
    let e = fails(
        alp(root.path()).args(["--repo", repo.path().to_str().unwrap(), "--allow-untrusted", "install", "evil"]),
        6,
    );
    assert!(e.contains("decompression bomb"), "{e}");
    assert!(!root.join("zeros").exists() && !root.join(".alp-new.zeros").exists());
}

#[test]
fn reserved_names_are_refused() {
    refused(RawTar::new().file("usr/.alp-new.x", b"x", 0o644).finish(), "reserved for staging");
}

#[test]
fn garbage_and_truncated_archives_are_refused() {
    // Bytes that are no archive are a raw file, which the index would have to place.
    refused(b"this is not gzip at all".to_vec(), "not an archive alp reads");
    let mut t = RawTar::new().file("usr/x", &[7u8; 100_000], 0o644).finish();
    t.truncate(t.len() / 2);
    refused(t, "corrupt or truncated");
}

#[allow(dead_code)]
fn unused(_: &Path) {}
