//! `alp self-update` against a real HTTP server: a signed release manifest, a copy of the
//! alp binary standing in for the installed one (`ALP_SELF_PATH`), and releases that are
//! newer, older, the same, tampered with or badly signed.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The triple the binary under test was built for (build.rs sets it for every crate target),
/// which is the key self-update looks up in the manifest.
const TARGET_TRIPLE: &str = env!("ALP_TARGET");
const CURRENT: &str = env!("CARGO_PKG_VERSION");

/// A release server, a root that trusts its key, and an installed copy of alp to update.
struct Setup {
    t: TempDir,
    server: Server,
    /// The signing key pair (secret key path, public key text).
    secret: PathBuf,
    /// The file self-update replaces.
    exe: PathBuf,
    original: Vec<u8>,
}

impl Setup {
    fn new() -> Setup {
        let t = TempDir::new("selfupdate");
        for d in ["srv", "root/etc/alp/keys", "install", "keys"] {
            std::fs::create_dir_all(t.join(d)).unwrap();
        }
        let (secret, public) = make_key(&t.join("keys"), "release");
        std::fs::copy(&public, t.join("root/etc/alp/keys/release.pub")).unwrap();
        let exe = t.join("install/alp");
        std::fs::copy(bin(), &exe).unwrap();
        let original = std::fs::read(&exe).unwrap();
        let server = Server::start(&t.join("srv"));
        Setup { t, server, secret, exe, original }
    }

    /// Publishes `bytes` as release `version` for this target (served at /alp-VERSION,
    /// named relative to the manifest) and signs the manifest.
    fn publish(&self, version: &str, bytes: &[u8]) {
        let name = format!("alp-{version}");
        std::fs::write(self.t.join("srv").join(&name), bytes).unwrap();
        self.write_manifest(version, &name, &sha256(bytes), bytes.len());
        sign(&self.secret, &self.t.join("srv/release.json"));
    }

    fn write_manifest(&self, version: &str, url: &str, sha: &str, size: usize) {
        let manifest = format!(
            r#"{{"format":"alp-release-1","version":"{version}","targets":{{"{TARGET_TRIPLE}":{{"url":"{url}","sha256":"{sha}","size":{size}}},"riscv64-unknown-linux-musl":{{"url":"x","sha256":"{sha}","size":1}}}}}}"#
        );
        std::fs::write(self.t.join("srv/release.json"), manifest).unwrap();
    }

    fn url(&self) -> String {
        format!("{}/release.json", self.server.url())
    }

    /// `alp self-update --url URL` replacing the copy at `self.exe`.
    fn update(&self) -> Command {
        let mut c = alp(&self.t.join("root"));
        c.env("ALP_SELF_PATH", &self.exe).env("ALP_RETRIES", "0").args(["self-update", "--url", &self.url()]);
        c
    }

    /// The binary directory holds exactly `names` (no staged file left behind).
    #[track_caller]
    fn assert_dir_holds(&self, names: &[&str]) {
        let mut found: Vec<String> = std::fs::read_dir(self.t.join("install"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        assert_eq!(found, names, "files beside the binary");
    }

    #[track_caller]
    fn assert_untouched(&self) {
        assert!(std::fs::read(&self.exe).unwrap() == self.original, "the installed binary changed");
        self.assert_dir_holds(&["alp"]);
    }
}

/// A "newer release": a small executable that says which release it is. Small on purpose:
/// the debug build's HTTP client reads bodies byte by byte, and a 40 MB debug alp per case
/// would make these tests take minutes without testing anything more.
fn release_bytes(tag: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho alp-test-release {tag}\n").into_bytes()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn minisign_available() -> bool {
    Command::new("minisign").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// An unencrypted key pair `DIR/NAME.key` + `DIR/NAME.pub`: made by the stock `minisign -G -W`
/// when it is installed (the tool a release manager would use), else by `alp key generate`.
fn make_key(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (sk, pk) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.pub")));
    if minisign_available() {
        let o = Command::new("minisign")
            .args(["-G", "-W", "-f", "-p"])
            .arg(&pk)
            .arg("-s")
            .arg(&sk)
            .stdin(Stdio::null())
            .output();
        assert!(o.unwrap().status.success(), "minisign -G failed");
    } else {
        eprintln!("note: minisign is not installed; signing with alp's own 'key generate' and 'sign'");
        ok(Command::new(bin()).args(["--quiet", "key", "generate", "--unencrypted", "-s"]).arg(&sk).arg("-p").arg(&pk));
    }
    (sk, pk)
}

/// Writes `FILE.minisig`, with the same tool that made the key.
fn sign(secret: &Path, file: &Path) {
    if minisign_available() {
        let o =
            Command::new("minisign").args(["-S", "-s"]).arg(secret).arg("-m").arg(file).stdin(Stdio::null()).output();
        assert!(o.unwrap().status.success(), "minisign -S failed");
    } else {
        ok(Command::new(bin()).args(["--quiet", "sign", "-s"]).arg(secret).arg(file));
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn update_replaces_the_binary_and_keeps_one_backup() {
    let s = Setup::new();
    let first = release_bytes("99.0.0");
    s.publish("99.0.0", &first);
    let out = ok(s.update().arg("--json"));
    assert!(out.contains(r#""updated":true"#) && out.contains(r#""release":"99.0.0""#), "{out}");
    assert!(std::fs::read(&s.exe).unwrap() == first, "the binary was not replaced");
    assert!(std::fs::read(s.t.join("install/alp.old")).unwrap() == s.original, "the backup is not the old binary");
    assert_eq!(mode(&s.exe), 0o755);
    s.assert_dir_holds(&["alp", "alp.old"]);
    // The new file is in place and runs.
    let v = Command::new(&s.exe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&v.stdout), "alp-test-release 99.0.0\n");

    // A second update keeps one backup: the binary it replaced, not the first one.
    let second = release_bytes("99.1.0");
    s.publish("99.1.0", &second);
    ok(&mut s.update());
    assert!(std::fs::read(&s.exe).unwrap() == second);
    assert!(std::fs::read(s.t.join("install/alp.old")).unwrap() == first, "the older backup was not replaced");
    s.assert_dir_holds(&["alp", "alp.old"]);
}

#[test]
fn tampered_binary_is_refused_and_the_binary_stays_byte_identical() {
    let s = Setup::new();
    let good = release_bytes("99.0.0");
    s.publish("99.0.0", &good);
    let mut flipped = good.clone();
    flipped[12] ^= 0x01;
    let mut longer = good.clone();
    longer.extend_from_slice(b"trailing payload");
    for (case, body) in [("one byte flipped", flipped), ("bytes appended", longer)] {
        s.server.set("/alp-99.0.0", Behaviour::Body(body));
        let err = fails(&mut s.update(), 5);
        assert!(err.contains("sha256") || err.contains("larger than"), "{case}: {err}");
        s.assert_untouched();
    }
    // Cut short mid-stream: a network or size error, and still nothing changed.
    s.server.set("/alp-99.0.0", Behaviour::Truncate(good.len() / 3));
    let o = run(&mut s.update());
    assert!(!o.status.success(), "a truncated download was accepted");
    assert!(stderr(&o).contains("alp: error:") && !stderr(&o).contains("panicked"), "{}", stderr(&o));
    s.assert_untouched();
}

#[test]
fn bad_signature_is_refused_before_anything_is_downloaded() {
    let s = Setup::new();
    s.publish("99.0.0", &release_bytes("99.0.0"));
    let signed = std::fs::read_to_string(s.t.join("srv/release.json")).unwrap();

    // The manifest altered after signing (pointing at another binary).
    std::fs::write(s.t.join("srv/release.json"), signed.replace("alp-99.0.0", "alp-evil")).unwrap();
    let err = fails(&mut s.update(), 5);
    assert!(err.contains("does not verify"), "{err}");
    s.assert_untouched();

    // Properly signed, but by a key the root does not trust.
    std::fs::write(s.t.join("srv/release.json"), &signed).unwrap();
    let (other, _) = make_key(&s.t.join("keys"), "stranger");
    sign(&other, &s.t.join("srv/release.json"));
    let err = fails(&mut s.update(), 5);
    assert!(err.contains("not trusted"), "{err}");
    s.assert_untouched();

    // No signature at all.
    std::fs::remove_file(s.t.join("srv/release.json.minisig")).unwrap();
    let err = fails(&mut s.update(), 5);
    assert!(err.contains("not signed"), "{err}");
    s.assert_untouched();

    // Signed by the right key, but the root trusts no key: --allow-untrusted does not help.
    sign(&s.secret, &s.t.join("srv/release.json"));
    std::fs::remove_file(s.t.join("root/etc/alp/keys/release.pub")).unwrap();
    let err = fails(s.update().arg("--allow-untrusted"), 5);
    assert!(err.contains("no keys are trusted"), "{err}");
    s.assert_untouched();

    assert_eq!(s.server.hits("/alp-99.0.0"), 0, "a binary was downloaded from an unverified manifest");
}

#[test]
fn downgrade_is_refused_without_force_and_installed_with_it() {
    let s = Setup::new();
    let old = release_bytes("0.0.1");
    s.publish("0.0.1", &old);
    let err = fails(&mut s.update(), 5);
    assert!(err.contains("refusing to downgrade") && err.contains("--force"), "{err}");
    s.assert_untouched();
    assert_eq!(s.server.hits("/alp-0.0.1"), 0);

    ok(s.update().arg("--force"));
    assert!(std::fs::read(&s.exe).unwrap() == old);
    assert!(std::fs::read(s.t.join("install/alp.old")).unwrap() == s.original);
}

#[test]
fn same_version_is_a_no_op() {
    let s = Setup::new();
    s.publish(CURRENT, &release_bytes(CURRENT));
    // The manifest URL from config (release_url) rather than --url.
    let mut cmd = alp(&s.t.join("root"));
    cmd.env("ALP_SELF_PATH", &s.exe).env("ALP_RELEASE_URL", s.url()).args(["--json", "self-update"]);
    let o = run(&mut cmd);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("is the newest release"), "{}", stderr(&o));
    assert!(stdout(&o).contains(r#""updated":false"#), "{}", stdout(&o));
    assert_eq!(s.server.hits(&format!("/alp-{CURRENT}")), 0, "nothing should be downloaded");
    s.assert_untouched();
}

#[test]
fn release_without_this_target_names_what_it_offers() {
    let s = Setup::new();
    s.publish("99.0.0", &release_bytes("99.0.0"));
    let text = std::fs::read_to_string(s.t.join("srv/release.json")).unwrap();
    std::fs::write(s.t.join("srv/release.json"), text.replace(TARGET_TRIPLE, "mips-unknown-linux-musl")).unwrap();
    sign(&s.secret, &s.t.join("srv/release.json"));
    let err = fails(&mut s.update(), 3);
    assert!(err.contains(TARGET_TRIPLE) && err.contains("mips-unknown-linux-musl"), "{err}");
    s.assert_untouched();
}

#[test]
fn release_made_by_make_release_sh_is_what_self_update_reads() {
    let s = Setup::new();
    let new = release_bytes("99.2.0");
    let file = s.t.join("keys/alp-new");
    std::fs::write(&file, &new).unwrap();
    let dist = s.t.join("srv");
    let o = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/make-release.sh"))
        .arg("-k")
        .arg(&s.secret)
        .arg("-o")
        .arg(&dist)
        .args(["-V", "99.2.0"])
        .arg(format!("{TARGET_TRIPLE}={}", file.display()))
        .env("ALP_BIN", bin())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "make-release.sh failed: {}", stderr(&o));
    let assets = dist.join("download/v99.2.0");
    let sums = std::fs::read_to_string(assets.join("SHA256SUMS")).unwrap();
    assert!(sums.contains(&format!("{}  alp-{TARGET_TRIPLE}\n", sha256(&new))), "{sums}");
    assert!(assets.join("install.sh").is_file() && assets.join("release.json.minisig").is_file());

    // Through GitHub's "latest" path, as the default release_url reads it.
    let mut cmd = alp(&s.t.join("root"));
    cmd.env("ALP_SELF_PATH", &s.exe).args(["self-update", "--url"]);
    ok(cmd.arg(format!("{}/latest/download/release.json", s.server.url())));
    assert!(std::fs::read(&s.exe).unwrap() == new);
}

#[test]
fn a_running_alp_replaces_its_own_file() {
    let s = Setup::new();
    let new = release_bytes("99.0.0");
    s.publish("99.0.0", &new);
    // The copy runs self-update itself, with no ALP_SELF_PATH: it finds its own file.
    let mut cmd = Command::new(&s.exe);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("ALP_")) {
        cmd.env_remove(k);
    }
    ok(cmd.arg("--root").arg(s.t.join("root")).args(["self-update", "--url", &s.url()]));
    assert!(std::fs::read(&s.exe).unwrap() == new, "the running binary's file was not replaced");
    assert!(std::fs::read(s.t.join("install/alp.old")).unwrap() == s.original);
}
