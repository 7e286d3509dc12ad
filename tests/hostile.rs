//! Hostile archives (SPEC section 6): a corpus of attacks, each refused, or neutralised so
//! that it stays inside the root. On refusal the root, the database and everything outside
//! are byte for byte as before; memory stays flat. `tests/safety.rs` pins the basic path
//! cases; this file covers the wider corpus: headers written by hand (PAX, GNU long names,
//! ustar prefixes), links planted by earlier packages, compression attacks, huge archives.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// A tar writer that writes every header byte itself, so any lie an attacker can put in an
// archive is within reach.

const BLOCK: usize = 512;

fn put_octal(field: &mut [u8], v: u64) {
    let s = format!("{:0w$o}\0", v, w = field.len() - 1);
    field.copy_from_slice(s.as_bytes());
}

/// One ustar header block. `name`, `link` and `prefix` are cut to their fields' widths.
fn header(name: &[u8], kind: u8, size: u64, mode: u32, link: &[u8], prefix: &[u8]) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let put = |h: &mut [u8; BLOCK], at: usize, width: usize, bytes: &[u8]| {
        let n = bytes.len().min(width);
        h[at..at + n].copy_from_slice(&bytes[..n]);
    };
    put(&mut h, 0, 100, name);
    put_octal(&mut h[100..108], u64::from(mode));
    put_octal(&mut h[108..116], 1000);
    put_octal(&mut h[116..124], 1000);
    put_octal(&mut h[124..136], size);
    put_octal(&mut h[136..148], 1_700_000_000);
    h[156] = kind;
    put(&mut h, 157, 100, link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    put(&mut h, 345, 155, prefix);
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

/// One PAX record, `"<len> key=value\n"`, where `<len>` counts the whole record.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

#[derive(Default)]
struct Tar(Vec<u8>);

impl Tar {
    fn new() -> Tar {
        Tar::default()
    }

    fn entry(mut self, h: [u8; BLOCK], data: &[u8]) -> Tar {
        self.0.extend_from_slice(&h);
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().next_multiple_of(BLOCK), 0);
        self
    }

    fn file(self, name: &str, data: &[u8], mode: u32) -> Tar {
        self.entry(header(name.as_bytes(), b'0', data.len() as u64, mode, b"", b""), data)
    }

    fn dir(self, name: &str, mode: u32) -> Tar {
        self.entry(header(name.as_bytes(), b'5', 0, mode, b"", b""), b"")
    }

    fn symlink(self, name: &str, target: &str) -> Tar {
        self.entry(header(name.as_bytes(), b'2', 0, 0o777, target.as_bytes(), b""), b"")
    }

    fn hardlink(self, name: &str, target: &str) -> Tar {
        self.entry(header(name.as_bytes(), b'1', 0, 0o644, target.as_bytes(), b""), b"")
    }

    /// A member of any type flag, with no data.
    fn typed(self, name: &str, kind: u8) -> Tar {
        self.entry(header(name.as_bytes(), kind, 0, 0o644, b"", b""), b"")
    }

    /// A PAX extended header ('x') that applies to the next member.
    fn pax(self, records: &[(&str, &[u8])]) -> Tar {
        let data: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
        self.entry(header(b"PaxHeaders/x", b'x', data.len() as u64, 0o644, b"", b""), &data)
    }

    /// A GNU long name ('L') or long link ('K') entry for the next member.
    fn gnu_long(self, kind: u8, value: &[u8]) -> Tar {
        let mut data = value.to_vec();
        data.push(0);
        self.entry(header(b"././@LongLink", kind, data.len() as u64, 0o644, b"", b""), &data)
    }

    /// The tar stream with its end-of-archive marker.
    fn bytes(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&[0; 2 * BLOCK]);
        self.0
    }

    fn gz(self) -> Vec<u8> {
        gz(&self.bytes())
    }
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// One gzip member holding 16 MiB of zeros (about 16 KiB). gzip members concatenate into
/// one stream, so N copies decompress to N × 16 MiB: a bomb of any size, made in no time.
fn zeros_16m() -> &'static [u8] {
    static Z: OnceLock<Vec<u8>> = OnceLock::new();
    Z.get_or_init(|| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![0u8; 1 << 20];
        for _ in 0..16 {
            e.write_all(&block).unwrap();
        }
        e.finish().unwrap()
    })
}

// ---------------------------------------------------------------------------------------
// The sandbox: `top/root` has a package installed already (so there is a database to keep
// intact), `top/outside` stands for the rest of the machine, `top/repo` serves the attack.

struct Sandbox {
    top: TempDir,
    root: PathBuf,
    outside: PathBuf,
    repo: PathBuf,
    packages: BTreeMap<String, Vec<String>>,
}

impl Sandbox {
    fn new() -> Sandbox {
        let top = TempDir::new("hostile");
        let (root, outside, repo) = (top.join("root"), top.join("outside"), top.join("repo"));
        for d in [&root, &outside.join("dir"), &repo] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(outside.join("secret"), "untouched").unwrap();
        let mut sb = Sandbox { top, root, outside, repo, packages: BTreeMap::new() };
        let base = Tar::new()
            .file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644)
            .dir("opt/data/", 0o755)
            .file("opt/data/keep", b"keep", 0o644)
            .file("usr/share/base/README", b"base", 0o644);
        sb.add("base", base.gz(), &[]);
        ok(sb.alp().args(["install", "base"]));
        sb
    }

    /// Puts `archive` in the repository as package `name` 1 and rewrites the index.
    fn add(&mut self, name: &str, archive: Vec<u8>, deps: &[&str]) {
        let file = format!("{name}-1.tar.gz");
        std::fs::write(self.repo.join(&file), archive).unwrap();
        self.packages.insert(name.to_string(), deps.iter().map(|d| d.to_string()).collect());
        let entries: Vec<(String, String, Vec<&str>)> = self
            .packages
            .iter()
            .map(|(n, d)| (n.clone(), format!("{n}-1.tar.gz"), d.iter().map(String::as_str).collect()))
            .collect();
        let refs: Vec<(&str, &str, &str, &[&str])> =
            entries.iter().map(|(n, f, d)| (n.as_str(), "1", f.as_str(), d.as_slice())).collect();
        write_index(&self.repo, &refs);
    }

    fn alp(&self) -> Command {
        let mut c = alp(&self.root);
        c.args(["--repo", self.repo.to_str().unwrap(), "--allow-untrusted"]);
        c
    }

    /// An absolute path outside the root, as an attacker would spell it.
    fn outside(&self, rel: &str) -> String {
        self.outside.join(rel).to_string_lossy().into_owned()
    }

    /// The root (minus alp's own logs and lock), everything outside it, and the sandbox's
    /// top level: what a refused install must leave exactly as it was.
    fn everything(&self) -> Vec<(String, Vec<u8>)> {
        let mut all: Vec<(String, Vec<u8>)> = state_snapshot(&self.root);
        all.extend(snapshot(&self.outside).into_iter().map(|(p, d)| (format!("outside:{p}"), d)));
        let mut top: Vec<String> = std::fs::read_dir(self.top.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        all.push(("top".into(), top.join(",").into_bytes()));
        all
    }

    fn outside_untouched(&self) {
        let outside = snapshot(&self.outside);
        assert_eq!(outside, [("dir/".to_string(), vec![]), ("secret".to_string(), b"untouched".to_vec())]);
    }

    /// Installs `archive` as package `evil` and expects a refusal with `code` whose one error
    /// line contains `needle`, with nothing changed anywhere. Returns the error text.
    #[track_caller]
    fn refuses(&mut self, archive: Vec<u8>, code: i32, needle: &str) -> String {
        self.add("evil", archive, &[]);
        let before = self.everything();
        let err = fails(self.alp().args(["install", "evil"]), code);
        assert!(err.contains(needle), "expected '{needle}' in: {err}");
        assert!(err.lines().all(|l| l.len() < 1000), "an error line is too long: {err}");
        assert_eq!(self.everything(), before, "something changed after a refused install: {err}");
        err
    }

    /// Installs `archive` as package `name` and expects success; nothing may appear outside.
    #[track_caller]
    fn installs(&mut self, name: &str, archive: Vec<u8>) {
        self.add(name, archive, &[]);
        ok(self.alp().args(["install", name]));
        self.outside_untouched();
        assert!(!snapshot(&self.root).iter().any(|(p, _)| p.contains(".alp-new.")), "staging files left");
    }

    fn db(&self) -> String {
        std::fs::read_to_string(self.root.join("var/lib/alp/installed.json")).unwrap()
    }
}

/// Peak RSS above this is not "flat" for a debug build of alp (its baseline is a few MiB).
const FLAT_RSS_KIB: u64 = 32 * 1024;

// ---------------------------------------------------------------------------------------
// Paths that leave the root, in every spelling and through every header that sets a name.

#[test]
fn traversal_in_every_spelling_is_refused() {
    let mut sb = Sandbox::new();
    for name in ["./../outside/pwned", "usr/bin/../../../outside/pwned", "..", "usr/..", "../outside/"] {
        sb.refuses(Tar::new().file(name, b"x", 0o644).gz(), 6, "'..'");
    }
    sb.refuses(Tar::new().dir("../outside/newdir/", 0o755).gz(), 6, "'..'");
    sb.refuses(Tar::new().symlink("../outside/link", "/").gz(), 6, "'..'");
}

#[test]
fn absolute_paths_in_every_spelling_are_refused() {
    let mut sb = Sandbox::new();
    let target = sb.outside("pwned");
    for name in [target.clone(), format!("/{target}"), format!("/.{target}"), "/".into()] {
        sb.refuses(Tar::new().file(&name, b"x", 0o644).gz(), 6, "absolute path");
    }
    sb.refuses(Tar::new().dir(&sb.outside("newdir/"), 0o755).gz(), 6, "absolute path");
}

#[test]
fn pax_path_overrides_cannot_smuggle_an_escape() {
    let mut sb = Sandbox::new();
    // The ustar name is harmless; the PAX record replaces it.
    let t = Tar::new().pax(&[("path", b"../../outside/pwned")]).file("innocent", b"x", 0o644);
    sb.refuses(t.gz(), 6, "'..'");
    let abs = sb.outside("pwned");
    let t = Tar::new().pax(&[("path", abs.as_bytes())]).file("innocent", b"x", 0o644);
    sb.refuses(t.gz(), 6, "absolute path");
    // linkpath overrides the hard link target.
    let secret = sb.outside("secret");
    let t = Tar::new().pax(&[("linkpath", secret.as_bytes())]).hardlink("usr/pw", "usr/harmless");
    sb.refuses(t.gz(), 6, "absolute path");
    let t = Tar::new()
        .file("usr/harmless", b"x", 0o644)
        .pax(&[("linkpath", b"../outside/secret")])
        .hardlink("usr/pw", "usr/harmless");
    sb.refuses(t.gz(), 6, "'..'");
    // A PAX header that names a directory escape for a directory member.
    sb.refuses(Tar::new().pax(&[("path", b"../escape-dir")]).dir("fine/", 0o755).gz(), 6, "'..'");
}

#[test]
fn gnu_long_names_cannot_smuggle_an_escape() {
    let mut sb = Sandbox::new();
    let t = Tar::new().gnu_long(b'L', b"../../outside/pwned").file("innocent", b"x", 0o644);
    sb.refuses(t.gz(), 6, "'..'");
    let abs = sb.outside("pwned");
    sb.refuses(Tar::new().gnu_long(b'L', abs.as_bytes()).file("innocent", b"x", 0o644).gz(), 6, "absolute path");
    let t = Tar::new()
        .file("usr/harmless", b"x", 0o644)
        .gnu_long(b'K', b"../outside/secret")
        .hardlink("usr/pw", "usr/harmless");
    sb.refuses(t.gz(), 6, "'..'");
    // Two long names for one member is ambiguous: refused rather than guessed.
    let t = Tar::new().gnu_long(b'L', b"usr/a").gnu_long(b'L', b"../b").file("innocent", b"x", 0o644);
    sb.refuses(t.gz(), 6, "corrupt");
}

#[test]
fn ustar_prefix_cannot_smuggle_an_escape() {
    let mut sb = Sandbox::new();
    let h = header(b"pwned", b'0', 1, 0o644, b"", b"../../outside");
    sb.refuses(Tar::new().entry(h, b"x").gz(), 6, "'..'");
    let abs = sb.outside("");
    let h = header(b"pwned", b'0', 1, 0o644, b"", abs.trim_end_matches('/').as_bytes());
    sb.refuses(Tar::new().entry(h, b"x").gz(), 6, "absolute path");
}

#[test]
fn honest_long_names_are_honoured_not_ignored() {
    // The control for the three tests above: the override really is where the name comes from.
    let mut sb = Sandbox::new();
    let deep = format!("usr/share/{}/pax", "d".repeat(120));
    let t = Tar::new()
        .pax(&[("path", deep.as_bytes())])
        .file("ignored-pax", b"pax", 0o644)
        .gnu_long(b'L', format!("usr/share/{}/gnu", "g".repeat(120)).as_bytes())
        .file("ignored-gnu", b"gnu", 0o644)
        .entry(header(b"ustar", b'0', 5, 0o644, b"", b"usr/share/prefixed"), b"ustar");
    sb.installs("good", t.gz());
    assert_eq!(std::fs::read(sb.root.join(&deep)).unwrap(), b"pax");
    assert_eq!(std::fs::read(sb.root.join(format!("usr/share/{}/gnu", "g".repeat(120)))).unwrap(), b"gnu");
    assert_eq!(std::fs::read(sb.root.join("usr/share/prefixed/ustar")).unwrap(), b"ustar");
    assert!(!sb.root.join("ignored-pax").exists() && !sb.root.join("ignored-gnu").exists());
}

// ---------------------------------------------------------------------------------------
// Symlinks and hard links.

#[test]
fn nothing_is_written_through_a_symlink_from_the_same_archive() {
    let mut sb = Sandbox::new();
    let out = sb.outside("");
    // Relative escape, absolute directory, the filesystem root, and one that stays inside:
    // an archive never writes below a symlink it made, wherever the link points.
    for target in ["../../outside", out.as_str(), "/", "usr"] {
        sb.refuses(
            Tar::new().symlink("usr/lib", target).file("usr/lib/pwned", b"x", 0o644).gz(),
            6,
            "is a file or symlink",
        );
        sb.refuses(Tar::new().symlink("usr/lib", target).dir("usr/lib/sub/", 0o755).gz(), 6, "is a file or symlink");
    }
    let t = Tar::new().file("usr/a", b"x", 0o644).symlink("usr/lib", &out).hardlink("usr/lib/h", "usr/a");
    sb.refuses(t.gz(), 6, "is a file or symlink");
}

#[test]
fn a_symlink_to_an_absolute_directory_is_only_a_symlink() {
    let mut sb = Sandbox::new();
    // The link itself is legitimate (packages ship links to /etc/alternatives and the like)
    // and is installed as a link; nothing is created where it points.
    let out = sb.outside("dir");
    sb.installs("linker", Tar::new().symlink("usr/share/escape", &out).symlink("usr/share/rootlink", "/").gz());
    assert_eq!(std::fs::read_link(sb.root.join("usr/share/escape")).unwrap(), Path::new(&out));
    // A later package cannot write through either link.
    sb.refuses(Tar::new().file("usr/share/escape/pwned", b"x", 0o644).gz(), 6, "leads outside the root");
    sb.refuses(Tar::new().file("usr/share/rootlink/tmp/pwned", b"x", 0o644).gz(), 6, "leads outside the root");
    sb.refuses(Tar::new().dir("usr/share/escape/sub/", 0o755).gz(), 6, "leads outside the root");
}

#[test]
fn a_planted_symlink_at_the_final_path_is_replaced_not_followed() {
    let mut sb = Sandbox::new();
    std::fs::create_dir_all(sb.root.join("usr/bin")).unwrap();
    std::os::unix::fs::symlink(sb.outside("secret"), sb.root.join("usr/bin/tool")).unwrap();
    // Also a link planted at the staging name alp will use.
    std::os::unix::fs::symlink(sb.outside("secret"), sb.root.join("usr/bin/.alp-new.other")).unwrap();
    sb.installs("tool", Tar::new().file("usr/bin/tool", b"tool", 0o755).file("usr/bin/other", b"other", 0o755).gz());
    assert!(std::fs::symlink_metadata(sb.root.join("usr/bin/tool")).unwrap().is_file());
    assert_eq!(std::fs::read(sb.root.join("usr/bin/other")).unwrap(), b"other");
}

#[test]
fn hard_links_that_leave_the_package_are_refused() {
    let mut sb = Sandbox::new();
    let secret = sb.outside("secret");
    sb.refuses(Tar::new().hardlink("usr/pw", &secret).gz(), 6, "absolute path");
    // etc/passwd exists in the root, but belongs to another package.
    sb.refuses(Tar::new().hardlink("usr/pw", "etc/passwd").gz(), 6, "not a file earlier in this package");
    // To a symlink, a directory, itself, or a file that only comes later.
    sb.refuses(Tar::new().symlink("usr/s", &secret).hardlink("usr/pw", "usr/s").gz(), 6, "not a file earlier");
    sb.refuses(Tar::new().dir("usr/d/", 0o755).hardlink("usr/pw", "usr/d").gz(), 6, "not a file earlier");
    sb.refuses(Tar::new().hardlink("usr/pw", "usr/pw").gz(), 6, "not a file earlier");
    sb.refuses(Tar::new().hardlink("usr/pw", "usr/later").file("usr/later", b"x", 0o644).gz(), 6, "not a file earlier");
    assert_eq!(std::os::unix::fs::MetadataExt::nlink(&std::fs::metadata(sb.outside.join("secret")).unwrap()), 1);
}

#[test]
fn a_directory_replaced_by_a_symlink_mid_archive_is_refused() {
    let mut sb = Sandbox::new();
    let out = sb.outside("dir");
    // Named directory, then a link with its name, then a write below it.
    let t = Tar::new().dir("usr/lib/", 0o755).file("usr/lib/a", b"a", 0o644).symlink("usr/lib", &out).file(
        "usr/lib/b",
        b"b",
        0o644,
    );
    sb.refuses(t.gz(), 6, "names it twice");
    // Implied directory (never named), then the link.
    let t = Tar::new().file("usr/lib/a", b"a", 0o644).symlink("usr/lib", &out).file("usr/lib/b", b"b", 0o644);
    sb.refuses(t.gz(), 6, "uses it as a directory too");
    // A directory already in the root (another package's) replaced by a link.
    sb.refuses(Tar::new().symlink("opt/data", &out).gz(), 6, "a directory with that name exists");
    // A directory, then a regular file with its name.
    sb.refuses(Tar::new().dir("usr/x/", 0o755).file("usr/x", b"x", 0o644).gz(), 6, "names it twice");
}

// ---------------------------------------------------------------------------------------
// Special files and modes.

#[test]
fn special_and_unknown_member_types_are_refused() {
    let mut sb = Sandbox::new();
    sb.refuses(Tar::new().file("usr/ok", b"x", 0o644).typed("dev/null", b'3').gz(), 6, "device nodes");
    sb.refuses(Tar::new().pax(&[("path", b"dev/sda")]).typed("innocent", b'4').gz(), 6, "device nodes");
    sb.refuses(Tar::new().typed("run/fifo", b'6').gz(), 6, "FIFOs");
    // GNU sparse, volume label, multi-volume continuation, and a made-up type.
    for kind in [b'S', b'V', b'M', b'Z'] {
        sb.refuses(Tar::new().typed("usr/odd", kind).gz(), 6, "evil 1: ");
    }
}

#[test]
fn setuid_setgid_and_foreign_owners_are_neutralised() {
    let mut sb = Sandbox::new();
    let t = Tar::new()
        .dir("usr/sgid/", 0o2775)
        .dir("usr/sticky/", 0o1777)
        .file("usr/bin/all", b"x", 0o7777)
        .file("usr/bin/suid", b"x", 0o4755)
        .hardlink("usr/bin/suid-link", "usr/bin/suid");
    sb.installs("modes", t.gz());
    let mode = |p: &str| std::fs::symlink_metadata(sb.root.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("usr/sgid"), 0o775);
    assert_eq!(mode("usr/sticky"), 0o1777);
    assert_eq!(mode("usr/bin/all"), 0o1777);
    assert_eq!(mode("usr/bin/suid"), 0o755);
    assert_eq!(mode("usr/bin/suid-link"), 0o755);
    // The archive says uid 1000; files belong to whoever runs alp.
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(sb.root.join("usr/bin/suid")).unwrap());
    assert_eq!(uid, std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&sb.root).unwrap()));
    // The database records the modes actually installed.
    let db = sb.db();
    assert!(!db.contains(&format!("\"mode\":{}", 0o4755)) && !db.contains(&format!("\"mode\":{}", 0o7777)), "{db}");
    assert!(db.contains(&format!("\"mode\":{}", 0o755)), "{db}");
}

// ---------------------------------------------------------------------------------------
// Compression attacks.

#[test]
fn a_gzip_bomb_is_refused_at_its_header_with_flat_memory() {
    // One member that says it is 1 GiB of zeros; no installed_size in the index, so the cap
    // is the default (100 × the archive, at least 256 MiB). The header alone is refused.
    let mut archive = gz(&header(b"zeros", b'0', 1 << 30, 0o644, b"", b""));
    for _ in 0..64 {
        archive.extend_from_slice(zeros_16m());
    }
    archive.extend_from_slice(&gz(&[0; 2 * BLOCK]));
    let mut sb = Sandbox::new();
    sb.add("evil", archive, &[]);
    let before = sb.everything();
    let started = Instant::now();
    let repo = sb.repo.to_str().unwrap().to_string();
    let (out, rss) = alp_measured(&sb.root, &["--repo", &repo, "--allow-untrusted", "install", "evil"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("decompression bomb"), "{}", stderr(&out));
    assert_eq!(sb.everything(), before);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    eprintln!("gzip bomb (1 GiB member): refused in {took:?}, peak RSS {rss:?} KiB");
    if let Some(rss) = rss {
        assert!(rss < FLAT_RSS_KIB, "peak RSS {rss} KiB");
    }
}

#[test]
fn many_small_members_add_up_to_the_cap() {
    // 40 members of 1 MiB each against a declared installed size of 1000 bytes: the cap
    // (declared + 1/8 + 1 MiB) is crossed at the second member and the first is removed.
    let mut archive = Vec::new();
    for i in 0..40 {
        let name = format!("usr/share/z/{i}");
        archive.extend_from_slice(&gz(&header(name.as_bytes(), b'0', 1 << 20, 0o644, b"", b"")));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&[0; 1 << 20]).unwrap();
        archive.extend_from_slice(&e.finish().unwrap());
    }
    archive.extend_from_slice(&gz(&[0; 2 * BLOCK]));
    let mut sb = Sandbox::new();
    sb.add("evil", archive, &[]);
    refused_as_a_bomb(&mut sb);
}

#[test]
fn a_bomb_after_the_end_of_the_tar_stream_is_refused() {
    // A valid little tar, then 1 GiB of zeros after its end marker (1 MiB of gzip). Without
    // a cap the CRC check reads it all: 1.3 s here, and a minute for a 64 MiB archive.
    let mut archive = Tar::new().file("usr/share/ok", b"ok", 0o644).gz();
    for _ in 0..64 {
        archive.extend_from_slice(zeros_16m());
    }
    let mut sb = Sandbox::new();
    let started = Instant::now();
    sb.refuses(archive, 6, "after the end of the tar archive");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // Ordinary padding after the end marker (GNU tar pads to 10 KiB records) is fine.
    let mut padded = Tar::new().file("usr/share/ok", b"ok", 0o644).bytes();
    padded.resize(64 << 10, 0);
    sb.installs("padded", gz(&padded));
}

#[test]
fn an_oversized_long_name_or_pax_header_is_refused_with_flat_memory() {
    // The tar crate reads a long name or a PAX header whole into memory, whatever its size:
    // 512 MiB of zeros (512 KiB of gzip) took 1.06 GiB of RSS as a long name and 565 MiB as
    // a PAX header (which was then installed).
    let mut sb = Sandbox::new();
    let repo = sb.repo.to_str().unwrap().to_string();
    for (name, kind) in [(&b"././@LongLink"[..], b'L'), (b"././@LongLink", b'K'), (b"PaxHeaders/x", b'x')] {
        let mut archive = gz(&header(name, kind, 512 << 20, 0o644, b"", b""));
        for _ in 0..32 {
            archive.extend_from_slice(zeros_16m());
        }
        archive.extend_from_slice(&Tar::new().file("innocent", b"x", 0o644).gz());
        sb.add("evil", archive.clone(), &[]);
        let before = sb.everything();
        let (out, rss) = alp_measured(&sb.root, &["--repo", &repo, "--allow-untrusted", "install", "evil"]);
        assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
        assert!(stderr(&out).contains("limit is 64 KiB"), "{}", stderr(&out));
        assert_eq!(sb.everything(), before);
        eprintln!("512 MiB '{}' header: peak RSS {rss:?} KiB", kind as char);
        assert!(rss.is_none_or(|r| r < FLAT_RSS_KIB), "peak RSS {rss:?} KiB");
        // `install FILE` reads the metadata from the archive's head first: same cap there.
        let local = sb.top.join("evil-local.tar.gz");
        std::fs::write(&local, &archive).unwrap();
        let (out, rss) = alp_measured(&sb.root, &["--allow-untrusted", "install", local.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
        assert!(rss.is_none_or(|r| r < FLAT_RSS_KIB), "peak RSS {rss:?} KiB");
        std::fs::remove_file(local).unwrap();
    }
}

#[test]
fn a_git_archive_tarball_with_a_pax_global_header_installs() {
    // `git archive` (and so GitHub's release tarballs) starts with a PAX global header
    // holding the commit id: it describes no member and must not make the archive unusable.
    let mut sb = Sandbox::new();
    let comment = pax_record("comment", b"0123456789abcdef0123456789abcdef01234567");
    let t = Tar::new()
        .entry(header(b"pax_global_header", b'g', comment.len() as u64, 0o666, b"", b""), &comment)
        .dir("proj-1.0/", 0o755)
        .file("proj-1.0/README", b"readme", 0o644);
    sb.installs("proj", t.gz());
    assert_eq!(std::fs::read(sb.root.join("proj-1.0/README")).unwrap(), b"readme");
    assert!(!sb.root.join("pax_global_header").exists());
}

#[test]
fn a_hook_is_not_written_through_a_symlink_planted_by_another_package() {
    // Hooks are staged in var/lib/alp/scripts/<name>/. A package may ship a symlink there
    // (it is just a path in the root); the next package's hook must not follow it out.
    let mut sb = Sandbox::new();
    let out = sb.outside("dir");
    sb.installs("planter", Tar::new().symlink("var/lib/alp/scripts/victim", &out).gz());
    let t = Tar::new().file(".ALP/install", b"#!/bin/sh\ntrue\n", 0o755).file("usr/share/victim", b"v", 0o644);
    sb.add("victim", t.gz(), &[]);
    let before = sb.everything();
    let err = fails(sb.alp().args(["install", "victim"]), 6);
    assert!(err.contains("leads outside the root"), "{err}");
    assert_eq!(sb.everything(), before);
}

#[test]
fn truncated_archives_are_refused_at_every_cut() {
    let mut sb = Sandbox::new();
    let whole = Tar::new().file("usr/share/a", &[7; 3000], 0o644).file("usr/share/b", b"b", 0o644).gz();
    sb.refuses(Vec::new(), 6, "the archive is empty");
    // One byte is not yet gzip's two-byte magic: not an archive, and no `files` entry.
    sb.refuses(whole[..1].to_vec(), 6, "not an archive alp reads");
    for cut in [2, 10, 20, 100, whole.len() / 2, whole.len() - 8, whole.len() - 4, whole.len() - 1] {
        sb.refuses(whole[..cut].to_vec(), 6, "corrupt or truncated");
    }
}

#[test]
fn a_bad_crc_is_refused_after_staging_and_leaves_nothing() {
    let mut sb = Sandbox::new();
    let whole = Tar::new().file("usr/share/a", &[7; 3000], 0o644).gz();
    let n = whole.len();
    // CRC32 and ISIZE in the gzip trailer; a flipped bit in the deflate data.
    for at in [n - 8, n - 5, n - 4, n - 1, n / 2] {
        let mut bad = whole.clone();
        bad[at] ^= 0x01;
        sb.refuses(bad, 6, "corrupt");
    }
}

#[test]
fn trailing_garbage_after_the_gzip_stream_is_refused() {
    let mut sb = Sandbox::new();
    let whole = Tar::new().file("usr/share/a", b"a", 0o644).gz();
    for tail in [&b"GARBAGE"[..], &[0x1f, 0x8b, 0x08], &b"\n"[..], &[0u8; 512]] {
        let mut bad = whole.clone();
        bad.extend_from_slice(tail);
        sb.refuses(bad, 6, "corrupt");
    }
    // A second, valid gzip member is part of the stream, not garbage.
    let mut two = whole.clone();
    two.extend_from_slice(&gz(b""));
    sb.installs("two", two);
}

// ---------------------------------------------------------------------------------------
// Size and count extremes.

#[test]
fn a_ten_thousand_byte_name_is_refused_in_one_short_line() {
    let mut sb = Sandbox::new();
    let long = format!("usr/{}", "a/".repeat(4998));
    assert_eq!(long.len(), 10_000);
    sb.refuses(Tar::new().gnu_long(b'L', long.as_bytes()).file("innocent", b"x", 0o644).gz(), 6, "longer than 4096");
    sb.refuses(Tar::new().pax(&[("path", long.as_bytes())]).file("innocent", b"x", 0o644).gz(), 6, "longer than 4096");
    let t = Tar::new().gnu_long(b'K', long.as_bytes()).symlink("usr/l", "x");
    sb.refuses(t.gz(), 6, "bad symlink target");
    let one = format!("usr/{}", "c".repeat(300));
    sb.refuses(Tar::new().gnu_long(b'L', one.as_bytes()).file("innocent", b"x", 0o644).gz(), 6, "longer than 255");
}

#[test]
fn names_with_control_characters_are_refused_and_shown_escaped() {
    // An escape sequence in a name would redraw the terminal of whoever reads the error or
    // the file list; a carriage return would hide part of a log line.
    let mut sb = Sandbox::new();
    for name in ["usr/\x1b[2J\x1b[Hevil", "usr/a\rb", "usr/tab\there", "usr/\x7f"] {
        let e = sb.refuses(Tar::new().file(name, b"x", 0o644).gz(), 6, "control character");
        let line = e.lines().find(|l| l.starts_with("alp: error:")).unwrap();
        assert!(!line.contains(|c: char| c.is_control()), "raw control character in: {line:?}");
    }
}

#[test]
fn a_name_too_long_for_the_filesystem_fails_cleanly() {
    // Under 4096 bytes and every component under 255, but the root's own path pushes it
    // past PATH_MAX: the filesystem refuses, and what was created is removed again.
    let mut sb = Sandbox::new();
    let name = vec!["d".repeat(254); 16].join("/") + "/f";
    assert!(name.len() < 4096);
    sb.add("evil", Tar::new().gnu_long(b'L', name.as_bytes()).file("x", b"x", 0o644).gz(), &[]);
    let before = sb.everything();
    let o = run(sb.alp().args(["install", "evil"]));
    assert!(!o.status.success() && !stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert_eq!(sb.everything(), before, "{}", stderr(&o));
}

#[test]
fn a_member_named_twice_in_any_spelling_installs_its_last_content() {
    // As `tar x` does: the later member is the one on disk, and the database agrees with it.
    let mut sb = Sandbox::new();
    for (i, (a, b)) in [("usr/x", "./usr/x"), ("usr/x", "usr//x"), ("usr/x", "usr/./x")].into_iter().enumerate() {
        let name = format!("twice{i}");
        sb.installs(&name, Tar::new().file(a, b"first", 0o600).file(b, b"second", 0o644).gz());
        assert_eq!(std::fs::read(sb.root.join("usr/x")).unwrap(), b"second");
        let mode = std::fs::metadata(sb.root.join("usr/x")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        ok(sb.alp().args(["remove", &name]));
    }
    // A big first copy and a small second: the file is exactly the second.
    sb.installs("shrinks", Tar::new().file("usr/y", &[7; 300_000], 0o644).file("usr/y", b"small", 0o644).gz());
    assert_eq!(std::fs::read(sb.root.join("usr/y")).unwrap(), b"small");
    let db = sb.db();
    assert_eq!(db.matches("\"usr/y\"").count(), 1, "{db}");
    // The recorded digest is the second content's (sha256 of "small").
    assert!(db.contains("81db8ebbbbc69c6c6ad4a6aa92b76e0c08af547da236b9e2c9dbe1d8285a8130"), "{db}");
    sb.installs("relink", Tar::new().symlink("usr/l", "a").symlink("usr/l", "b").gz());
    assert_eq!(std::fs::read_link(sb.root.join("usr/l")).unwrap(), Path::new("b"));
    // Two members of different kinds at one path stay refused, as does a hard link over a file.
    sb.refuses(Tar::new().symlink("usr/z", "y").file("usr/z", b"2", 0o644).gz(), 6, "names it twice");
    sb.refuses(
        Tar::new().file("usr/z", b"1", 0o644).file("usr/w", b"1", 0o644).hardlink("usr/z", "usr/w").gz(),
        6,
        "names it twice",
    );
    // A directory named twice is fine.
    sb.installs("dirs", Tar::new().dir("usr/d/", 0o755).dir("./usr/d", 0o755).file("usr/d/f", b"f", 0o644).gz());
}

/// Installs an archive of `n` one-byte files; returns the wall time and the peak RSS.
fn install_many_files(n: usize) -> (Duration, Option<u64>) {
    let mut t = Tar::new();
    for i in 0..n {
        t = t.entry(header(format!("usr/share/many/{}/{i}", i / 1000).as_bytes(), b'0', 1, 0o644, b"", b""), b"x");
    }
    let mut sb = Sandbox::new();
    sb.add("many", t.gz(), &[]);
    let repo = sb.repo.to_str().unwrap().to_string();
    let started = Instant::now();
    let (out, rss) = alp_measured(&sb.root, &["--repo", &repo, "--allow-untrusted", "install", "many"]);
    let took = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    eprintln!("{n} files: installed in {took:?}, peak RSS {rss:?} KiB");
    let last = format!("usr/share/many/{}/{}", (n - 1) / 1000, n - 1);
    assert_eq!(std::fs::read(sb.root.join(last)).unwrap(), b"x");
    sb.outside_untouched();
    (took, rss)
}

#[test]
fn three_thousand_tiny_files_install_with_memory_linear_in_the_file_list() {
    // Memory here grows with the number of files (the staged list and the database record
    // every path and digest: about 1 KiB a file), never with their bytes.
    let (_, rss) = install_many_files(3_000);
    assert!(rss.is_none_or(|r| r < FLAT_RSS_KIB), "peak RSS {rss:?} KiB");
}

/// 100k files take longer than this suite's budget on a slow disk (GNU tar itself needs 7 s
/// here): `cargo test --release --test hostile -- --ignored hundred --nocapture`.
#[test]
#[ignore = "slow: a measurement, run on demand"]
fn a_hundred_thousand_tiny_files_install() {
    let (_, rss) = install_many_files(100_000);
    assert!(rss.is_none_or(|r| r < 256 * 1024), "peak RSS {rss:?} KiB");
}

/// Two packages of one transaction: one has a file (or a symlink) where the other has a
/// directory. Each alone is fine; together the commit could not rename the file over the
/// directory, so the claims refuse it as a conflict (exit 7) before anything is committed.
#[test]
fn a_file_where_another_package_has_a_directory_is_a_conflict() {
    let cases = [
        (Tar::new().file("usr/share/x", b"file", 0o644), Tar::new().file("usr/share/x/y", b"nested", 0o644)),
        (Tar::new().file("usr/share/x", b"file", 0o644), Tar::new().dir("usr/share/x/", 0o755)),
        (Tar::new().symlink("usr/share/x", "elsewhere"), Tar::new().file("usr/share/x/y", b"nested", 0o644)),
    ];
    for (a, b) in cases {
        let mut sb = Sandbox::new();
        sb.add("pa", a.gz(), &[]);
        sb.add("pb", b.gz(), &[]);
        let before = sb.everything();
        let err = fails(sb.alp().args(["install", "pa", "pb"]), 7);
        assert!(err.contains("where") && err.contains("has a directory"), "{err}");
        assert_eq!(sb.everything(), before);
        // Not wedged: the next command works.
        ok(sb.alp().args(["install", "pa"]));
    }
}

// ---------------------------------------------------------------------------------------
// The other formats: zip (made by `zip`, then edited byte for byte), zstd and xz (made by
// `zstd` and `xz`). Each attack is refused in one line with nothing written.

/// Runs a tool that must succeed.
#[track_caller]
fn tool(cmd: &mut Command) {
    let out = cmd.output().expect("running a tool");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A zip made by `zip -y` of `files` (path, content; content `->x` makes a symlink to x).
fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let dir = TempDir::new("zip-src");
    for (name, data) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        match data.strip_prefix(b"->") {
            Some(target) => std::os::unix::fs::symlink(std::str::from_utf8(target).unwrap(), &p).unwrap(),
            None => std::fs::write(&p, data).unwrap(),
        }
    }
    let out = dir.join("out.zip");
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    tool(Command::new("zip").arg("-qy").arg(&out).args(&names).current_dir(dir.path()));
    std::fs::read(out).unwrap()
}

/// Replaces the first `count` occurrences of `from` by `to` (same length): a local header's
/// name comes before the central directory's copy of it.
fn patch(mut bytes: Vec<u8>, from: &[u8], to: &[u8], count: usize) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut done = 0;
    let mut i = 0;
    while done < count && i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            done += 1;
        }
        i += 1;
    }
    assert_eq!(done, count, "patched {done} of {count}");
    bytes
}

/// `data` compressed by the command-line tool `name` (`zstd`, `xz`).
fn compress_with(name: &str, data: &[u8]) -> Vec<u8> {
    let dir = TempDir::new("compress");
    let input = dir.join("in");
    std::fs::write(&input, data).unwrap();
    tool(Command::new(name).arg("-q").arg("-k").arg(&input));
    let ext = if name == "zstd" { "zst" } else { "xz" };
    std::fs::read(dir.join(&format!("in.{ext}"))).unwrap()
}

#[test]
fn zip_slip_and_absolute_names_are_refused() {
    let mut sb = Sandbox::new();
    let z = zip_of(&[("aa/evil", b"x")]);
    sb.refuses(patch(z.clone(), b"aa/evil", b"../evil", 2), 6, "'..'");
    sb.refuses(patch(z, b"aa/evil", b"/a/evil", 2), 6, "absolute path");
}

#[test]
fn nothing_is_written_through_a_symlink_from_the_same_zip() {
    let mut sb = Sandbox::new();
    let outside = sb.outside("dir");
    let link = format!("->{outside}");
    let z = zip_of(&[("usr/d", link.as_bytes()), ("usr/e/x", b"pwned")]);
    sb.refuses(patch(z, b"usr/e/x", b"usr/d/x", 2), 6, "is a file or symlink in this archive");
    sb.outside_untouched();
    // A zip's own symlinks install as symlinks, pointing where they point.
    sb.installs("zlinks", zip_of(&[("usr/share/zl/target", b"t"), ("usr/share/zl/link", b"->target")]));
    assert_eq!(std::fs::read_link(sb.root.join("usr/share/zl/link")).unwrap(), Path::new("target"));
}

#[test]
fn a_zip_whose_local_headers_disagree_with_its_central_directory_is_refused() {
    let mut sb = Sandbox::new();
    let z = zip_of(&[("usr/a1", b"one"), ("usr/a2", b"two")]);
    // The same name twice in the list.
    sb.refuses(patch(z.clone(), b"usr/a2", b"usr/a1", 2), 6, "two entries are named");
    // Only the local header renamed: a streaming reader would install another file.
    sb.refuses(patch(z.clone(), b"usr/a1", b"usr/b1", 1), 6, "local header gives another name");
    // The second central entry pointed at the first local header: overlapping entries.
    let second = z.windows(4).enumerate().filter(|(_, w)| *w == b"PK\x01\x02").nth(1).unwrap().0;
    let mut overlap = z.clone();
    overlap[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
    sb.refuses(overlap, 6, "overlaps the entry before it");
    // A changed byte of stored content fails its CRC-32.
    sb.refuses(patch(z, b"two", b"tw0", 1), 6, "CRC-32");
}

#[test]
fn truncated_zip_zstd_and_xz_archives_are_refused() {
    let mut sb = Sandbox::new();
    let tar = Tar::new().file("usr/share/a", &[7; 3000], 0o644).file("usr/share/b", b"b", 0o644).bytes();
    let z = zip_of(&[("usr/share/a", &[7; 3000][..]), ("usr/share/b", b"b")]);
    for cut in [4, z.len() / 2, z.len() - 1] {
        sb.refuses(z[..cut].to_vec(), 6, "refusing the archive");
    }
    for name in ["zstd", "xz"] {
        let whole = compress_with(name, &tar);
        for cut in [6, whole.len() / 2, whole.len() - 1] {
            sb.refuses(whole[..cut].to_vec(), 6, "corrupt or truncated");
        }
    }
}

/// The index claims 1000 bytes installed for `evil`; installing it must stop at the size
/// cap as a decompression bomb, with nothing written.
#[track_caller]
fn refused_as_a_bomb(sb: &mut Sandbox) {
    let index = std::fs::read_to_string(sb.repo.join("index.json")).unwrap();
    let index = index.replace("\"file\":\"evil-1.tar.gz\"", "\"installed_size\":1000,\"file\":\"evil-1.tar.gz\"");
    std::fs::write(sb.repo.join("index.json"), index).unwrap();
    let before = sb.everything();
    let err = fails(sb.alp().args(["install", "evil"]), 6);
    assert!(err.contains("decompression bomb"), "{err}");
    assert_eq!(sb.everything(), before);
}

#[test]
fn zstd_xz_and_zip_bombs_stop_at_the_size_cap() {
    let mut sb = Sandbox::new();
    let zeros = vec![0u8; 64 << 20];
    let tar = Tar::new().file("usr/share/zeros", &zeros, 0o644).bytes();
    let bombs = [compress_with("zstd", &tar), compress_with("xz", &tar), zip_of(&[("usr/share/zeros", &zeros)])];
    for bomb in bombs {
        assert!(bomb.len() < 1 << 20, "the bomb is {} bytes", bomb.len());
        sb.add("evil", bomb, &[]);
        refused_as_a_bomb(&mut sb);
    }
}
