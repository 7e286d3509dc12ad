//! Every archive format (SPEC section 3), made by the real tools (`tar`, `zstd`, `xz`, `zip`)
//! and by `alp build`, installed by the real binary: recognised by content whatever the
//! file is called; upstream release assets placed with `strip` / `prefix` / `files`;
//! multi-arch indexes; and for each format the attacks that format allows, each refused
//! in one `alp: error:` line with nothing written.

mod common;
use common::*;
use sha2::Digest;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

#[track_caller]
fn sh(cmd: &mut Command) {
    let out = cmd.output().expect("running a tool");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A package tree in `dir`: `.ALP/package.json` (when `name` is given), an executable, a
/// data file and a relative symlink.
fn tree(dir: &Path, name: Option<&str>) {
    std::fs::create_dir_all(dir.join("usr/bin")).unwrap();
    std::fs::create_dir_all(dir.join("usr/share/doc")).unwrap();
    if let Some(name) = name {
        std::fs::create_dir_all(dir.join(".ALP")).unwrap();
        std::fs::write(dir.join(".ALP/package.json"), format!(r#"{{"name":"{name}","version":"1.0"}}"#)).unwrap();
    }
    std::fs::write(dir.join("usr/bin/tool"), "#!/bin/sh\necho tool\n").unwrap();
    std::fs::set_permissions(dir.join("usr/bin/tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("usr/share/doc/README"), "read me\n".repeat(100)).unwrap();
    std::os::unix::fs::symlink("tool", dir.join("usr/bin/tool-link")).unwrap();
}

/// Archives `src` (members `.ALP`, `usr`, in that order) as `out` with the named tool.
fn archive_with(tool: &str, src: &Path, out: &Path) {
    let members: Vec<&str> = [".ALP", "usr"].into_iter().filter(|m| src.join(m).exists()).collect();
    match tool {
        "zip" => sh(Command::new("zip").arg("-qry").arg(out).args(&members).current_dir(src)),
        flag => sh(Command::new("tar").arg(flag).arg("-cf").arg(out).arg("-C").arg(src).args(&members)),
    }
}

fn sha(path: &Path) -> (String, u64) {
    let bytes = std::fs::read(path).unwrap();
    (sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect(), bytes.len() as u64)
}

/// An index entry for `file` in `repo` with extra JSON fields (`"arch":"x86_64"`, …).
fn entry(repo: &Path, name: &str, version: &str, file: &str, extra: &str) -> String {
    let (sha, size) = sha(&repo.join(file));
    let extra = if extra.is_empty() { String::new() } else { format!(",{extra}") };
    format!(r#"{{"name":"{name}","version":"{version}","file":"{file}","sha256":"{sha}","size":{size}{extra}}}"#)
}

fn index(repo: &Path, entries: &[String]) {
    std::fs::write(
        repo.join("index.json"),
        format!(
            r#"{{"format":"alp-index-1","name":"t","serial":1,"generated":"2026-01-01T00:00:00Z","expires":null,"packages":[{}]}}"#,
            entries.join(",")
        ),
    )
    .unwrap();
}

fn alp_repo(root: &Path, repo: &Path) -> Command {
    let mut c = alp(root);
    c.args(["--repo", repo.to_str().unwrap(), "--allow-untrusted"]);
    c
}

#[track_caller]
fn assert_tree_installed(root: &Path) {
    assert_eq!(std::fs::read_to_string(root.join("usr/bin/tool")).unwrap(), "#!/bin/sh\necho tool\n");
    let mode = std::fs::metadata(root.join("usr/bin/tool")).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755);
    assert_eq!(std::fs::read_link(root.join("usr/bin/tool-link")).unwrap(), Path::new("tool"));
    assert_eq!(std::fs::read_to_string(root.join("usr/share/doc/README")).unwrap(), "read me\n".repeat(100));
    assert!(!root.join(".ALP").exists());
}

/// Package `name` made by each real tool, served under a name that says nothing of its format.
const TOOLS: &[(&str, &str)] = &[("--zstd", "z"), ("-z", "g"), ("-J", "x"), ("zip", "p")];

#[test]
fn archives_made_by_real_tools_install_from_a_repository_in_every_format() {
    let work = TempDir::new("fmt-src");
    let repo = TempDir::new("fmt-repo");
    let mut entries = Vec::new();
    for (flag, tag) in TOOLS {
        let name = format!("pkg{tag}");
        let src = work.join(&name);
        tree(&src, Some(&name));
        // The file name is deliberately uninformative: the format is read from the bytes.
        archive_with(flag, &src, &repo.join(&format!("{name}.bin")));
        entries.push(entry(repo.path(), &name, "1.0", &format!("{name}.bin"), ""));
    }
    index(repo.path(), &entries);
    for (_, tag) in TOOLS {
        let root = TempDir::new("fmt-root");
        ok(alp_repo(root.path(), repo.path()).args(["install", &format!("pkg{tag}")]));
        assert_tree_installed(root.path());
        let db = std::fs::read_to_string(root.join("var/lib/alp/installed.json")).unwrap();
        assert!(db.contains("usr/bin/tool-link") && db.contains("usr/share/doc/README"), "{db}");
        assert!(!snapshot(root.path()).iter().any(|(p, _)| p.contains(".alp-new.")), "staging left");
        ok(alp(root.path()).args(["remove", &format!("pkg{tag}")]));
        assert!(!root.join("usr/bin/tool").exists());
    }
}

#[test]
fn a_local_archive_in_any_format_installs_with_its_own_metadata() {
    let work = TempDir::new("fmt-local");
    for (flag, tag) in TOOLS {
        let name = format!("loc{tag}");
        let src = work.join(&name);
        tree(&src, Some(&name));
        let file = work.join(&format!("{name}.pkg"));
        archive_with(flag, &src, &file);
        let root = TempDir::new("fmt-local-root");
        ok(alp(root.path()).arg("install").arg(&file));
        assert_tree_installed(root.path());
        let db = std::fs::read_to_string(root.join("var/lib/alp/installed.json")).unwrap();
        assert!(db.contains(&format!("\"name\":\"{name}\"")), "{db}");
    }
}

#[test]
fn build_makes_zstd_by_default_and_each_format_is_byte_for_byte_reproducible() {
    let work = TempDir::new("fmt-build");
    let src = work.join("src");
    tree(&src, Some("repro"));
    let mut built = Vec::new();
    for (format, ext, check) in [
        (None, "tar.zst", ["zstd", "-tq"]),
        (Some("gz"), "tar.gz", ["gzip", "-t"]),
        (Some("xz"), "tar.xz", ["xz", "-t"]),
    ] {
        let mut outputs = Vec::new();
        for round in 0..2 {
            let out = work.join(&format!("out-{ext}-{round}"));
            let mut c = Command::new(bin());
            c.env("SOURCE_DATE_EPOCH", "1700000000").arg("build").arg(&src).arg("-o").arg(&out);
            if let Some(f) = format {
                c.args(["--format", f]);
            }
            ok(&mut c);
            let file = out.join(format!("repro-1.0.{ext}"));
            assert!(file.is_file(), "no {ext} from build");
            // Touching the tree between rounds changes nothing: times come from SOURCE_DATE_EPOCH.
            std::fs::write(src.join("usr/share/doc/README"), "read me\n".repeat(100)).unwrap();
            outputs.push(std::fs::read(&file).unwrap());
            built.push(file);
        }
        assert_eq!(outputs[0], outputs[1], "{ext} differs between two builds of one tree");
        sh(Command::new(check[0]).arg(check[1]).arg(built.last().unwrap()));
        // GNU tar reads it, with the metadata first and the time from SOURCE_DATE_EPOCH.
        let listing = Command::new("tar").arg("-tvf").arg(built.last().unwrap()).output().unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
        assert!(listing.lines().nth(1).unwrap_or("").ends_with(".ALP/package.json"), "{listing}");
        assert!(listing.contains("2023-11-14"), "{listing}");
    }
    for file in built.iter().step_by(2) {
        let root = TempDir::new("fmt-build-root");
        ok(alp(root.path()).arg("install").arg(file));
        assert_tree_installed(root.path());
    }
    let e = fails(Command::new(bin()).arg("build").arg(&src).args(["--format", "rar"]), 2);
    assert!(e.contains("zst"), "{e}");
}

#[test]
fn index_finds_archives_by_content_and_records_arch() {
    let repo = TempDir::new("fmt-index");
    let work = TempDir::new("fmt-index-src");
    for (arch, body) in [("x86_64", "amd"), ("aarch64", "arm")] {
        let src = work.join(arch);
        std::fs::create_dir_all(src.join(".ALP")).unwrap();
        std::fs::create_dir_all(src.join("usr/bin")).unwrap();
        std::fs::write(src.join(".ALP/package.json"), format!(r#"{{"name":"hello","version":"1.0","arch":"{arch}"}}"#))
            .unwrap();
        std::fs::write(src.join("usr/bin/hello"), body).unwrap();
        ok(Command::new(bin()).arg("build").arg(&src).arg("-o").arg(repo.path()));
    }
    std::fs::write(repo.join("README.txt"), "not a package").unwrap();
    ok(Command::new(bin()).arg("index").arg(repo.path()));
    let idx = std::fs::read_to_string(repo.join("index.json")).unwrap();
    assert!(idx.contains("hello-1.0-x86_64.tar.zst") && idx.contains("hello-1.0-aarch64.tar.zst"), "{idx}");
    assert!(idx.contains(r#""arch":"aarch64""#), "{idx}");
    // The resolver takes this binary's arch, or the one --arch names.
    let root = TempDir::new("fmt-arch-root");
    ok(alp_repo(root.path(), repo.path()).args(["install", "hello"]));
    let native = if std::env::consts::ARCH == "aarch64" { "arm" } else { "amd" };
    assert_eq!(std::fs::read_to_string(root.join("usr/bin/hello")).unwrap(), native);
    let root = TempDir::new("fmt-arch-root2");
    ok(alp_repo(root.path(), repo.path()).args(["--arch", "aarch64", "install", "hello"]));
    assert_eq!(std::fs::read_to_string(root.join("usr/bin/hello")).unwrap(), "arm");
}

#[test]
fn a_package_for_another_arch_only_says_so() {
    let repo = TempDir::new("fmt-arch-only");
    let src = TempDir::new("fmt-arch-only-src");
    let other = if std::env::consts::ARCH == "aarch64" { "x86_64" } else { "aarch64" };
    std::fs::create_dir_all(src.join(".ALP")).unwrap();
    std::fs::write(src.join(".ALP/package.json"), format!(r#"{{"name":"hello","version":"1.0","arch":"{other}"}}"#))
        .unwrap();
    std::fs::create_dir_all(src.join("usr")).unwrap();
    std::fs::write(src.join("usr/hello"), "x").unwrap();
    ok(Command::new(bin()).arg("build").arg(src.path()).arg("-o").arg(repo.path()));
    ok(Command::new(bin()).arg("index").arg(repo.path()));
    let root = TempDir::new("fmt-arch-only-root");
    let e = fails(alp_repo(root.path(), repo.path()).args(["install", "hello"]), 3);
    assert!(e.contains(&format!("hello 1.0 exists for {other} only")), "{e}");
    let e = fails(alp_repo(root.path(), repo.path()).args(["--arch", "sparc", "install", "hello"]), 2);
    assert!(e.contains("unknown arch 'sparc'"), "{e}");
    // An index naming an arch alp does not know is refused, naming the entry.
    let mut text = std::fs::read_to_string(repo.join("index.json")).unwrap();
    text = text.replace(&format!("\"arch\":\"{other}\""), "\"arch\":\"mips\"");
    std::fs::write(repo.join("index.json"), text).unwrap();
    let e = fails(alp_repo(root.path(), repo.path()).args(["install", "hello"]), 6);
    assert!(e.contains("unknown arch 'mips'"), "{e}");
}

/// A release tarball as projects publish them: everything under one top directory.
fn release_tree(work: &Path) -> PathBuf {
    let top = work.join("rg-14.1.1-x86_64-unknown-linux-musl");
    std::fs::create_dir_all(top.join("doc")).unwrap();
    std::fs::write(top.join("rg"), "\x7fELF fake ripgrep").unwrap();
    std::fs::set_permissions(top.join("rg"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(top.join("doc/rg.1"), ".TH RG 1").unwrap();
    std::fs::write(top.join("COPYING"), "MIT").unwrap();
    top
}

#[test]
fn upstream_assets_install_as_they_are_with_strip_prefix_and_files() {
    let work = TempDir::new("fmt-up");
    let assets = TempDir::new("fmt-up-assets");
    let top = release_tree(work.path());
    let top_name = top.file_name().unwrap().to_str().unwrap().to_string();
    sh(Command::new("tar").args(["-czf"]).arg(assets.join("rg.tar.gz")).arg("-C").arg(work.path()).arg(&top_name));
    sh(Command::new("zip").arg("-qr").arg(assets.join("rg.zip")).arg(&top_name).current_dir(work.path()));
    std::fs::write(assets.join("hello-linux-amd64"), "\x7fELF\x02\x01\x01 a static binary").unwrap();
    let repo = TempDir::new("fmt-up-repo");
    let add = |args: &[&str]| {
        ok(Command::new(bin()).arg("--quiet").arg("index").arg(repo.path()).args(args));
    };
    let url = |f: &str| assets.join(f).to_str().unwrap().to_string();
    add(&[
        "--add",
        &url("rg.tar.gz"),
        "--name",
        "rg",
        "--version",
        "14.1.1",
        "--arch",
        "x86_64",
        "--strip",
        "1",
        "--file",
        "rg=usr/local/bin/rg",
        "--file",
        "doc/*.1=usr/local/share/man/man1/",
    ]);
    add(&["--add", &url("rg.zip"), "--name", "rgzip", "--version", "14.1.1", "--strip", "1", "--prefix", "opt/rg"]);
    add(&[
        "--add",
        &url("hello-linux-amd64"),
        "--name",
        "hello",
        "--version",
        "2.0",
        "--file",
        "*=usr/local/bin/hello",
    ]);
    let idx = std::fs::read_to_string(repo.join("index.json")).unwrap();
    for want in
        [r#""strip":1"#, r#""prefix":"opt/rg""#, r#""dst":"usr/local/bin/rg""#, "rg.tar.gz", "hello-linux-amd64"]
    {
        assert!(idx.contains(want), "{want} not in {idx}");
    }
    let (sha, _) = sha(&assets.join("rg.tar.gz"));
    assert!(idx.contains(&sha), "{idx}");
    let root = TempDir::new("fmt-up-root");
    ok(alp_repo(root.path(), repo.path()).args(["install", "rg", "rgzip", "hello"]));
    assert_eq!(std::fs::read_to_string(root.join("usr/local/bin/rg")).unwrap(), "\x7fELF fake ripgrep");
    assert_eq!(std::fs::metadata(root.join("usr/local/bin/rg")).unwrap().permissions().mode() & 0o777, 0o755);
    assert_eq!(std::fs::read_to_string(root.join("usr/local/share/man/man1/rg.1")).unwrap(), ".TH RG 1");
    assert!(!root.join("COPYING").exists() && !root.join("usr/local/bin/COPYING").exists());
    assert_eq!(std::fs::read_to_string(root.join("opt/rg/rg")).unwrap(), "\x7fELF fake ripgrep");
    assert_eq!(std::fs::read_to_string(root.join("opt/rg/doc/rg.1")).unwrap(), ".TH RG 1");
    let hello = root.join("usr/local/bin/hello");
    assert_eq!(std::fs::read(&hello).unwrap(), b"\x7fELF\x02\x01\x01 a static binary");
    assert_eq!(std::fs::metadata(&hello).unwrap().permissions().mode() & 0o777, 0o755);
    // Re-indexing keeps the added entries.
    add(&[]);
    let again = std::fs::read_to_string(repo.join("index.json")).unwrap();
    assert!(again.contains("hello-linux-amd64") && again.contains(r#""prefix":"opt/rg""#), "{again}");
}

#[test]
fn placement_mistakes_are_refused_in_one_line_with_nothing_written() {
    let work = TempDir::new("fmt-place");
    let top = release_tree(work.path());
    let top_name = top.file_name().unwrap().to_str().unwrap().to_string();
    let repo = TempDir::new("fmt-place-repo");
    sh(Command::new("tar").args(["-czf"]).arg(repo.join("rg.tgz")).arg("-C").arg(work.path()).arg(&top_name));
    let cases: &[(&str, i32, &str)] = &[
        (r#""files":[{"src":"nothing*","dst":"usr/bin/x"}],"strip":1"#, 6, "matches nothing"),
        (r#""files":[{"src":"*","dst":"usr/bin/"}],"strip":1"#, 6, "matches more than one member"),
        (r#""files":[{"src":"rg","dst":"../../etc/rg"}],"strip":1"#, 6, "must be a relative path inside the root"),
        (r#""files":[{"src":"rg","dst":"/usr/bin/rg"}],"strip":1"#, 6, "must be a relative path inside the root"),
        (r#""strip":2"#, 6, "strip 2 leaves nothing of member"),
        (r#""prefix":"../up""#, 6, "must be a relative path inside the root"),
        (r#""files":[{"src":"rg","dst":"usr/bin/rg","mode":"9"}],"strip":1"#, 6, "not an octal mode"),
    ];
    for (extra, code, needle) in cases {
        index(repo.path(), &[entry(repo.path(), "rg", "1", "rg.tgz", extra)]);
        let root = TempDir::new("fmt-place-root");
        let e = fails(alp_repo(root.path(), repo.path()).args(["install", "rg"]), *code);
        assert!(e.contains(needle), "{extra}: expected '{needle}' in {e}");
        assert_eq!(e.lines().filter(|l| l.starts_with("alp: error:")).count(), 1, "{e}");
        let left: Vec<String> =
            snapshot(root.path()).into_iter().map(|f| f.0).filter(|p| !p.starts_with("var/")).collect();
        assert!(left.is_empty(), "{extra}: left {left:?}");
    }
    // A raw file needs exactly one `files` entry.
    std::fs::write(repo.join("bin"), "\x7fELF raw").unwrap();
    index(repo.path(), &[entry(repo.path(), "raw", "1", "bin", "")]);
    let root = TempDir::new("fmt-place-raw");
    let e = fails(alp_repo(root.path(), repo.path()).args(["install", "raw"]), 6);
    assert!(e.contains("exactly one 'files' entry"), "{e}");
    // `index --add` checks the placement against the asset before writing anything.
    let before = std::fs::read(repo.join("index.json")).unwrap();
    let e = fails(
        Command::new(bin())
            .arg("index")
            .arg(repo.path())
            .args(["--add", repo.join("rg.tgz").to_str().unwrap()])
            .args(["--name", "rg", "--version", "1", "--strip", "1", "--file", "nope=usr/bin/nope"]),
        6,
    );
    assert!(e.contains("matches nothing"), "{e}");
    assert_eq!(std::fs::read(repo.join("index.json")).unwrap(), before);
}

#[test]
fn sparse_files_from_gnu_tar_install_with_their_holes_as_zeros() {
    let work = TempDir::new("fmt-sparse");
    let src = work.join("src");
    std::fs::create_dir_all(src.join("usr/share")).unwrap();
    let f = src.join("usr/share/sparse");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::File::create(&f).unwrap();
        file.write_all(b"head").unwrap();
        file.seek(SeekFrom::Start(3 << 20)).unwrap();
        file.write_all(b"middle").unwrap();
        file.set_len(8 << 20).unwrap();
    }
    let want = std::fs::read(&f).unwrap();
    let repo = TempDir::new("fmt-sparse-repo");
    let mut entries = Vec::new();
    // GNU's own sparse format ('S' members) and the PAX 1.0 one (`--format=posix`).
    for (name, format) in [("sgnu", "--format=gnu"), ("spax", "--format=posix")] {
        let file = format!("{name}.tar.zst");
        sh(Command::new("tar")
            .args(["-S", format, "--zstd", "-cf"])
            .arg(repo.join(&file))
            .arg("-C")
            .arg(&src)
            .arg("usr"));
        entries.push(entry(repo.path(), name, "1", &file, ""));
    }
    index(repo.path(), &entries);
    for name in ["sgnu", "spax"] {
        let root = TempDir::new("fmt-sparse-root");
        ok(alp_repo(root.path(), repo.path()).args(["install", name]));
        let got = std::fs::read(root.join("usr/share/sparse")).unwrap();
        assert!(got == want, "{name}: {} bytes, expected {}", got.len(), want.len());
    }
}

/// `bytes` as a path (a Linux name is bytes, not necessarily UTF-8).
fn byte_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[test]
fn latin1_names_from_gnu_tar_install_byte_for_byte_and_are_found_again() {
    // As in real Debian orig tarballs and old sdists: names in Latin-1, not UTF-8.
    let work = TempDir::new("fmt-latin1");
    let src = work.join("src");
    tree(&src, Some("latin"));
    let doc = src.join("usr/share/doc");
    std::fs::write(doc.join(byte_path(b"caf\xe9")), "caf\u{e9} au lait\n").unwrap();
    std::fs::create_dir(doc.join(byte_path(b"r\xe9sum\xe9s"))).unwrap();
    std::fs::write(doc.join(byte_path(b"r\xe9sum\xe9s/na\xefve")), "x").unwrap();
    std::os::unix::fs::symlink(byte_path(b"caf\xe9"), doc.join("to-cafe")).unwrap();
    // A name that merely looks like an escape stays itself.
    std::fs::write(doc.join("unit\\x2dname"), "systemd").unwrap();
    let repo = TempDir::new("fmt-latin1-repo");
    let mut entries = Vec::new();
    for (flag, name) in [("--zstd", "latin"), ("-z", "latingz")] {
        std::fs::write(src.join(".ALP/package.json"), format!(r#"{{"name":"{name}","version":"1.0"}}"#)).unwrap();
        let file = format!("{name}.tar");
        archive_with(flag, &src, &repo.join(&file));
        entries.push(entry(repo.path(), name, "1.0", &file, ""));
    }
    // `alp build` stores the same names byte for byte, as GNU tar does.
    std::fs::write(src.join(".ALP/package.json"), r#"{"name":"latinalp","version":"1.0"}"#).unwrap();
    ok(Command::new(bin()).arg("build").arg(&src).arg("-o").arg(repo.path()));
    let listed = Command::new("tar")
        .args(["--quoting-style=literal", "-tf"])
        .arg(repo.join("latinalp-1.0.tar.zst"))
        .output()
        .unwrap();
    let want: &[u8] = b"usr/share/doc/caf\xe9\n";
    assert!(listed.stdout.windows(want.len()).any(|w| w == want), "{}", String::from_utf8_lossy(&listed.stdout));
    entries.push(entry(repo.path(), "latinalp", "1.0", "latinalp-1.0.tar.zst", ""));
    index(repo.path(), &entries);
    for name in ["latin", "latingz", "latinalp"] {
        let root = TempDir::new("fmt-latin1-root");
        ok(alp_repo(root.path(), repo.path()).args(["install", name]));
        assert_tree_installed(root.path());
        let cafe = root.join("usr/share/doc").join(byte_path(b"caf\xe9"));
        assert_eq!(std::fs::read_to_string(&cafe).unwrap(), "caf\u{e9} au lait\n");
        let naive = root.join("usr/share/doc").join(byte_path(b"r\xe9sum\xe9s/na\xefve"));
        assert_eq!(std::fs::read(&naive).unwrap(), b"x");
        assert_eq!(std::fs::read_link(root.join("usr/share/doc/to-cafe")).unwrap(), byte_path(b"caf\xe9"));
        assert_eq!(std::fs::read(root.join("usr/share/doc/unit\\x2dname")).unwrap(), b"systemd");
        // One escaping, in the database and in every listing.
        let db = std::fs::read_to_string(root.join("var/lib/alp/installed.json")).unwrap();
        assert!(db.contains(r#""usr/share/doc/caf\\xe9""#), "{db}");
        assert!(db.contains(r#""usr/share/doc/r\\xe9sum\\xe9s/na\\xefve""#), "{db}");
        assert!(db.contains(r#""link":"caf\\xe9""#), "{db}");
        assert!(db.contains(r#""usr/share/doc/unit\\x2dname""#), "{db}");
        let files = ok(alp(root.path()).args(["files", name]));
        let shown = format!("{}/usr/share/doc/caf\\xe9", root.path().display());
        assert!(files.lines().any(|l| l == shown), "{files}");
        assert!(files.contains("/usr/share/doc/to-cafe -> caf\\xe9"), "{files}");
        assert!(files.contains("/usr/share/doc/unit\\x2dname\n"), "{files}");
        let json = ok(alp(root.path()).args(["--json", "files", name]));
        assert!(json.contains(r#"caf\\xe9""#), "{json}");
        // `owner` takes the path as shown, or as the bytes themselves.
        let owner = ok(alp(root.path()).args(["owner", &shown]));
        assert!(owner.contains(&format!("is owned by {name}")), "{owner}");
        let owner = ok(alp(root.path()).arg("owner").arg(&cafe));
        assert!(owner.contains(&format!("{shown} is owned by {name}")), "{owner}");
        ok(alp(root.path()).arg("doctor"));
        // A changed file is found, and named as shown.
        std::fs::write(&cafe, "th\u{e9}").unwrap();
        let out = run(alp(root.path()).arg("doctor"));
        assert_ne!(out.status.code(), Some(0));
        assert!(stdout(&out).contains(&shown) || stderr(&out).contains(&shown), "{}", stdout(&out));
        ok(alp_repo(root.path(), repo.path()).args(["--yes", "fix"]));
        assert_eq!(std::fs::read_to_string(&cafe).unwrap(), "caf\u{e9} au lait\n");
        ok(alp(root.path()).arg("doctor"));
        ok(alp(root.path()).args(["remove", name]));
        assert!(!cafe.exists() && !naive.exists());
        assert!(!root.join("usr/share/doc").join(byte_path(b"r\xe9sum\xe9s")).exists());
        let left: Vec<String> = snapshot(root.path())
            .into_iter()
            .map(|f| f.0)
            .filter(|p| !p.starts_with("var/") && !p.starts_with("etc/"))
            .collect();
        assert!(left.is_empty(), "left {left:?}");
    }
}

#[test]
fn latin1_names_that_leave_the_root_are_still_refused() {
    let work = TempDir::new("fmt-latin1-bad");
    let inner = work.join("a/b");
    std::fs::create_dir_all(&inner).unwrap();
    let outside = work.join("a").join(byte_path(b"caf\xe9"));
    std::fs::write(&outside, "x").unwrap();
    let repo = TempDir::new("fmt-latin1-bad-repo");
    // GNU tar keeps `..` and a leading `/` with -P (--absolute-names).
    sh(Command::new("tar")
        .args(["-cPzf"])
        .arg(repo.join("dots.tgz"))
        .arg(byte_path(b"../caf\xe9"))
        .current_dir(&inner));
    sh(Command::new("tar").args(["-cPzf"]).arg(repo.join("abs.tgz")).arg(&outside));
    index(
        repo.path(),
        &[entry(repo.path(), "dots", "1", "dots.tgz", ""), entry(repo.path(), "abs", "1", "abs.tgz", "")],
    );
    for (name, needle) in [("dots", "'..'"), ("abs", "absolute path")] {
        let root = TempDir::new("fmt-latin1-bad-root");
        let e = fails(alp_repo(root.path(), repo.path()).args(["install", name]), 6);
        assert!(e.contains(needle) && e.contains("caf\\xe9"), "{name}: {e}");
        assert!(snapshot(root.path()).iter().all(|(p, _)| p.starts_with("var/")), "{name}: something written");
    }
    assert_eq!(std::fs::read(&outside).unwrap(), b"x");
}

#[test]
fn zip_names_without_the_utf8_flag_are_code_page_437_from_dos_and_bytes_from_unix() {
    let work = TempDir::new("fmt-cp437");
    let src = work.join("src");
    std::fs::create_dir_all(src.join("doc")).unwrap();
    std::fs::write(src.join("doc/cafX"), "dos").unwrap();
    std::fs::write(src.join("doc/latY"), "unix").unwrap();
    let repo = TempDir::new("fmt-cp437-repo");
    let file = repo.join("names.zip");
    sh(Command::new("zip").arg("-qrX").arg(&file).arg("doc").current_dir(&src));
    // Info-ZIP writes ASCII names without the UTF-8 flag; make them what old tools wrote:
    // `cafX` from a DOS host in code page 437 (0x82 is é), `latY` from Unix in Latin-1.
    let mut zip = std::fs::read(&file).unwrap();
    let find =
        |zip: &[u8], what: &[u8], from: usize| from + zip[from..].windows(what.len()).position(|w| w == what).unwrap();
    let central = find(&zip, b"PK\x01\x02", 0);
    for (name, byte) in [(&b"doc/cafX"[..], 0x82u8), (b"doc/latY", 0xe9)] {
        let mut at = 0;
        while let Some(i) = zip[at..].windows(name.len()).position(|w| w == name) {
            zip[at + i + name.len() - 1] = byte;
            at += i + name.len();
        }
    }
    // The central entry of `cafX`: its "made by" host byte becomes 0 (MS-DOS).
    let mut entry_at = central;
    loop {
        let name_len = usize::from(u16::from_le_bytes([zip[entry_at + 28], zip[entry_at + 29]]));
        if zip[entry_at + 46..entry_at + 46 + name_len] == b"doc/caf\x82"[..] {
            zip[entry_at + 5] = 0;
            break;
        }
        entry_at = find(&zip, b"PK\x01\x02", entry_at + 4);
    }
    std::fs::write(&file, zip).unwrap();
    index(repo.path(), &[entry(repo.path(), "names", "1", "names.zip", r#""prefix":"opt""#)]);
    let root = TempDir::new("fmt-cp437-root");
    ok(alp_repo(root.path(), repo.path()).args(["install", "names"]));
    assert_eq!(std::fs::read_to_string(root.join("opt/doc/caf\u{e9}")).unwrap(), "dos");
    assert_eq!(std::fs::read_to_string(root.join("opt/doc").join(byte_path(b"lat\xe9"))).unwrap(), "unix");
    let files = ok(alp(root.path()).args(["files", "names"]));
    assert!(files.contains("/opt/doc/caf\u{e9}\n") && files.contains("/opt/doc/lat\\xe9\n"), "{files}");
    ok(alp(root.path()).arg("doctor"));
    ok(alp(root.path()).args(["remove", "names"]));
    assert!(!root.join("opt/doc").exists());
}

#[test]
fn built_packages_list_their_file_digests_and_installs_take_them_from_the_list() {
    let work = TempDir::new("fmt-digests");
    let src = work.join("src");
    tree(&src, Some("dig"));
    // Any name survives the list, bytes that are not UTF-8 included.
    std::fs::write(src.join("usr/share/doc").join(byte_path(b"caf\xe9 au lait")), "two").unwrap();
    let repo = TempDir::new("fmt-digests-repo");
    ok(Command::new(bin()).arg("build").arg(&src).arg("-o").arg(repo.path()));
    let archive = repo.join("dig-1.0.tar.zst");
    // The last member is what `sha256sum -z` prints for every file, in archive order.
    let listing = Command::new("tar").args(["--quoting-style=literal", "-tf"]).arg(&archive).output().unwrap();
    assert!(String::from_utf8_lossy(&listing.stdout).ends_with(".ALP/sha256\n"));
    let list = Command::new("tar").arg("-xOf").arg(&archive).arg(".ALP/sha256").output().unwrap().stdout;
    let names = [b"usr/bin/tool".as_slice(), b"usr/share/doc/README", b"usr/share/doc/caf\xe9 au lait"];
    let mut want = Vec::new();
    for n in names {
        want.extend_from_slice(format!("{}  ", sha(&src.join(byte_path(n))).0).as_bytes());
        want.extend_from_slice(n);
        want.push(0);
    }
    assert_eq!(list, want);
    let mut sum = Command::new("sha256sum");
    sum.arg("-z").args(names.map(byte_path)).current_dir(&src);
    assert_eq!(sum.output().unwrap().stdout, want);
    ok(Command::new(bin()).arg("--quiet").arg("index").arg(repo.path()));
    let idx = std::fs::read_to_string(repo.join("index.json")).unwrap();
    assert!(idx.contains(r#""file_digests":true"#), "{idx}");
    let root = TempDir::new("fmt-digests-root");
    ok(alp_repo(root.path(), repo.path()).args(["install", "dig"]));
    assert_tree_installed(root.path());
    // The database holds each file's real digest, so doctor finds nothing and then a change.
    let db = std::fs::read_to_string(root.join("var/lib/alp/installed.json")).unwrap();
    for f in names {
        let (digest, _) = sha(&root.path().join(byte_path(f)));
        assert!(db.contains(&digest), "{digest} not in {db}");
    }
    ok(alp(root.path()).arg("doctor"));
    std::fs::write(root.join("usr/bin/tool"), "changed").unwrap();
    fails(alp(root.path()).arg("doctor"), 8);

    // A list that lies is refused by `alp index`, which is what vouches for it.
    let liar = TempDir::new("fmt-digests-liar");
    let lie_src = work.join("lie");
    tree(&lie_src, Some("liar"));
    let (good, _) = sha(&lie_src.join("usr/bin/tool"));
    let wrong = format!("{}  usr/bin/tool\0{good}  usr/share/doc/README\0", "0".repeat(64));
    std::fs::write(lie_src.join(".ALP/sha256"), wrong).unwrap();
    sh(Command::new("tar").arg("--zstd").arg("-cf").arg(liar.join("liar.tar.zst")).arg("-C").arg(&lie_src).args([
        ".ALP/package.json",
        "usr",
        ".ALP/sha256",
    ]));
    let err = fails(Command::new(bin()).arg("index").arg(liar.path()), 6);
    assert!(err.contains(".ALP/sha256 has the wrong SHA-256 for /usr/bin/tool"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // A list that is not the last word: members after it could replace what it vouches for.
    let (tool, _) = sha(&lie_src.join("usr/bin/tool"));
    std::fs::write(lie_src.join(".ALP/sha256"), format!("{tool}  usr/bin/tool\0")).unwrap();
    std::fs::remove_file(liar.join("liar.tar.zst")).unwrap();
    sh(Command::new("tar").arg("--zstd").arg("-cf").arg(liar.join("early.tar.zst")).arg("-C").arg(&lie_src).args([
        ".ALP/package.json",
        "usr/bin",
        ".ALP/sha256",
        "usr/share",
    ]));
    let err = fails(Command::new(bin()).arg("index").arg(liar.path()), 6);
    assert!(err.contains("or members follow it"), "{err}");
    index(liar.path(), &[entry(liar.path(), "liar", "1.0", "early.tar.zst", r#""file_digests":true"#)]);
    let root = TempDir::new("fmt-digests-root3");
    let err = fails(alp_repo(root.path(), liar.path()).args(["install", "liar"]), 6);
    assert!(err.contains("may not follow .ALP/sha256"), "{err}");

    // An index that claims a list the archive does not have: refused, nothing written.
    let plain = TempDir::new("fmt-digests-plain");
    archive_with("--zstd", &src, &plain.join("plain.tar"));
    index(plain.path(), &[entry(plain.path(), "dig", "1.0", "plain.tar", r#""file_digests":true"#)]);
    let root = TempDir::new("fmt-digests-root2");
    let err = fails(alp_repo(root.path(), plain.path()).args(["install", "dig"]), 6);
    assert!(err.contains("does not list /usr/"), "{err}");
    assert!(snapshot(root.path()).iter().all(|(p, _)| p.starts_with("var/") || p.starts_with("etc/")), "written");
}
