//! Trust (SPEC section 7): minisign-signed repositories, `key generate` / `sign` / `verify`,
//! interop with the stock `minisign` tool, the `cert-*` commands, and old certificates
//! that are shown but never believed.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The old tool's files, as the rest of the suite finds them.
fn legacy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy")
}

/// An unencrypted key pair made by `alp key generate`; returns (secret, public, key id).
fn keypair(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let secret = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    let out = ok(Command::new(bin()).args(["--json", "key", "generate", "--unencrypted", "-s"]).arg(&secret));
    let id = json_field(&out, "key_id").expect("key generate --json prints key_id");
    assert!(secret.is_file() && public.is_file());
    (secret, public, id)
}

/// `alp index DIR --sign KEY` with extra `index` options.
fn sign_repo(repo: &Path, key: &Path, extra: &[&str]) {
    ok(Command::new(bin()).arg("--quiet").arg("index").arg(repo).args(extra).arg("--sign").arg(key));
}

/// A repository of `pkgs`, indexed and signed with `key`.
fn signed_repo(repo: &Path, pkgs: &[Pkg], key: &Path) {
    make_repo(repo, pkgs);
    sign_repo(repo, key, &[]);
    assert!(repo.join("index.json.minisig").is_file());
}

/// Copies a public key into ROOT/etc/alp/keys/.
fn trust(root: &Path, public: &Path) {
    let keys = root.join("etc/alp/keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::copy(public, keys.join(public.file_name().unwrap())).unwrap();
}

/// A string or number field of a flat JSON document, as text (enough for these checks).
fn json_field(doc: &str, key: &str) -> Option<String> {
    let v: miniserde::json::Value = miniserde::json::from_str(doc.trim()).ok()?;
    let miniserde::json::Value::Object(o) = v else { return None };
    match o.get(key)? {
        miniserde::json::Value::String(s) => Some(s.clone()),
        miniserde::json::Value::Bool(b) => Some(b.to_string()),
        miniserde::json::Value::Number(n) => Some(n.to_string()),
        miniserde::json::Value::Null => Some("null".into()),
        _ => None,
    }
}

/// The stock `minisign` tool, or `None` (with a notice) when it is not installed.
fn minisign() -> Option<&'static str> {
    match Command::new("minisign").arg("-v").output() {
        Ok(_) => Some("minisign"),
        Err(_) => {
            eprintln!(
                "NOTICE: skipping minisign interop: the `minisign` binary is not installed (apt-get install minisign)"
            );
            None
        }
    }
}

fn hello() -> Pkg<'static> {
    Pkg { name: "hello", version: "1.0.0", depends: &[], files: &[("usr/bin/hello", "#!/bin/sh\necho hi\n", 0o755)] }
}

#[test]
fn signed_repository_installs_over_http_with_its_key_trusted() {
    let t = TempDir::new("trust-ok");
    let (secret, public, id) = keypair(t.path(), "repo");
    let repo = t.join("repo");
    signed_repo(&repo, &[hello()], &secret);
    let server = Server::start(&repo);
    let root = t.join("root");
    trust(&root, &public);
    ok(alp(&root).arg("--repo").arg(server.url()).args(["install", "hello"]));
    assert!(root.join("usr/bin/hello").is_file());
    assert_eq!(server.hits("/index.json.minisig"), 1);
    let out = ok(alp(&root).args(["--json", "cert-info", "hello"]));
    assert_eq!(json_field(&out, "key_id"), Some(id));
    assert_eq!(json_field(&out, "valid").as_deref(), Some("true"));
}

#[test]
fn tampered_index_is_refused_and_root_and_database_untouched() {
    let t = TempDir::new("trust-tamper");
    let (secret, public, _) = keypair(t.path(), "repo");
    let repo = t.join("repo");
    signed_repo(&repo, &[hello(), Pkg::new("extra", "1.0")], &secret);
    let server = Server::start(&repo);
    let root = t.join("root");
    trust(&root, &public);
    ok(alp(&root).arg("--repo").arg(server.url()).args(["install", "hello"]));
    let before = state_snapshot(&root);
    // Still valid JSON, still a valid index: only the signature can tell.
    let index = std::fs::read_to_string(repo.join("index.json")).unwrap();
    let altered = index.replace("test package extra", "test package extra, now with more");
    assert_ne!(index, altered);
    server.set("/index.json", Behaviour::Body(altered.into_bytes()));
    let err = fails(alp(&root).arg("--repo").arg(server.url()).arg("update"), 5);
    assert!(err.contains("does not verify"), "{err}");
    assert_eq!(state_snapshot(&root), before, "a refused index changed the root or the database");

    // A fresh root that never saw the good index: install refuses, nothing is written.
    let fresh = t.join("fresh");
    trust(&fresh, &public);
    let files = |root: &Path| state_snapshot(root).into_iter().filter(|(p, _)| !p.ends_with('/')).collect::<Vec<_>>();
    let before = files(&fresh);
    let err = fails(alp(&fresh).arg("--repo").arg(server.url()).args(["install", "extra"]), 5);
    assert!(err.contains("altered"), "{err}");
    assert_eq!(files(&fresh), before);
    assert!(!fresh.join("var/lib/alp/installed.json").exists() && !fresh.join("usr").exists());
}

#[test]
fn unsigned_index_is_refused_unless_untrusted_is_allowed_loudly() {
    let t = TempDir::new("trust-unsigned");
    let repo = t.join("repo");
    make_repo(&repo, &[hello()]);
    let root = t.join("root");
    let err = fails(alp(&root).arg("--repo").arg(&repo).args(["install", "hello"]), 5);
    assert!(err.contains("not signed") && err.contains("--allow-untrusted"), "{err}");
    assert!(!root.join("usr/bin/hello").exists());
    assert!(!root.join("var/lib/alp/installed.json").exists());

    let o = run(alp(&root).arg("--repo").arg(&repo).args(["--allow-untrusted", "install", "hello"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("alp: warning:") && stderr(&o).contains("UNVERIFIED"), "{}", stderr(&o));
    assert!(root.join("usr/bin/hello").is_file());

    // verify_packages=false is the same way out, and just as loud.
    let root2 = t.join("root2");
    std::fs::create_dir_all(root2.join("etc/alp")).unwrap();
    std::fs::write(root2.join("etc/alp/config.json"), r#"{"verify_packages": false}"#).unwrap();
    let o = run(alp(&root2).arg("--repo").arg(&repo).args(["install", "hello"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("UNVERIFIED"), "{}", stderr(&o));
}

#[test]
fn index_signed_by_another_key_is_refused() {
    let t = TempDir::new("trust-other");
    let (_, trusted_pub, trusted_id) = keypair(t.path(), "trusted");
    let (other_secret, _, other_id) = keypair(t.path(), "other");
    let repo = t.join("repo");
    signed_repo(&repo, &[hello()], &other_secret);
    let root = t.join("root");
    trust(&root, &trusted_pub);
    let err = fails(alp(&root).arg("--repo").arg(&repo).args(["install", "hello"]), 5);
    assert!(err.contains(&other_id) && err.contains("not trusted") && err.contains(&trusted_id), "{err}");
    assert!(!root.join("usr/bin/hello").exists());
}

#[test]
fn with_two_trusted_keys_the_signature_key_id_selects_one() {
    let t = TempDir::new("trust-two");
    let (_, a_pub, _) = keypair(t.path(), "a");
    let (b_secret, b_pub, b_id) = keypair(t.path(), "b");
    let repo = t.join("repo");
    signed_repo(&repo, &[hello()], &b_secret);
    let root = t.join("root");
    trust(&root, &a_pub);
    trust(&root, &b_pub);
    ok(alp(&root).arg("--repo").arg(&repo).args(["install", "hello"]));
    let out = ok(alp(&root).args(["--json", "cert-info", "hello"]));
    assert_eq!(json_field(&out, "key_id"), Some(b_id));
    assert!(json_field(&out, "trusted_key").unwrap().ends_with("etc/alp/keys/b.pub"), "{out}");
}

#[test]
fn expired_index_is_refused() {
    let t = TempDir::new("trust-expired");
    let (secret, public, _) = keypair(t.path(), "repo");
    let repo = t.join("repo");
    make_repo(&repo, &[hello()]);
    sign_repo(&repo, &secret, &["--expires-days", "0"]);
    let root = t.join("root");
    trust(&root, &public);
    let err = fails(alp(&root).arg("--repo").arg(&repo).args(["install", "hello"]), 5);
    assert!(err.contains("expired"), "{err}");
    assert!(!root.join("usr/bin/hello").exists());
}

#[test]
fn lower_serial_is_refused_after_a_higher_one_was_seen() {
    let t = TempDir::new("trust-rollback");
    let (secret, public, _) = keypair(t.path(), "repo");
    let repo = t.join("repo");
    make_repo(&repo, &[hello()]);
    sign_repo(&repo, &secret, &["--serial", "5"]);
    let server = Server::start(&repo);
    let root = t.join("root");
    trust(&root, &public);
    ok(alp(&root).arg("--repo").arg(server.url()).arg("update"));
    // An old, correctly signed index replayed by a mirror: the signature verifies, the serial does not.
    sign_repo(&repo, &secret, &["--serial", "3"]);
    let err = fails(alp(&root).arg("--repo").arg(server.url()).arg("update"), 5);
    assert!(err.contains("serial 3") && err.contains("rollback"), "{err}");
}

#[test]
fn alp_keys_and_signatures_verify_with_stock_minisign() {
    let Some(minisign) = minisign() else { return };
    let t = TempDir::new("trust-to-minisign");
    let secret = t.join("alp.key");
    let public = t.join("alp.pub");
    // A password-protected key, the default: minisign must read it too.
    ok(Command::new(bin()).env("ALP_KEY_PASSWORD", "correct horse").args(["key", "generate", "-s"]).arg(&secret));
    let file = t.join("data.txt");
    std::fs::write(&file, "payload\n").unwrap();
    ok(Command::new(bin()).env("ALP_KEY_PASSWORD", "correct horse").arg("sign").arg(&file).arg("-s").arg(&secret));
    let o = Command::new(minisign).arg("-Vm").arg(&file).arg("-p").arg(&public).output().unwrap();
    assert!(o.status.success(), "minisign -V refused alp's signature: {}", String::from_utf8_lossy(&o.stderr));
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(said.contains("file:data.txt"), "{said}");

    // minisign signs with alp's encrypted secret key (password on stdin), alp verifies.
    let other = t.join("other.txt");
    std::fs::write(&other, "more\n").unwrap();
    let mut child = Command::new(minisign)
        .arg("-S")
        .arg("-s")
        .arg(&secret)
        .arg("-m")
        .arg(&other)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"correct horse\n").unwrap();
    assert!(child.wait().unwrap().success(), "minisign -S could not use alp's secret key");
    ok(Command::new(bin()).arg("verify").arg(&other).arg("-p").arg(&public));
}

#[test]
fn minisign_keys_and_signatures_verify_with_alp_and_sign_a_repository() {
    let Some(minisign) = minisign() else { return };
    let t = TempDir::new("trust-from-minisign");
    let (secret, public) = (t.join("m.key"), t.join("m.pub"));
    let o = Command::new(minisign).args(["-G", "-W", "-p"]).arg(&public).arg("-s").arg(&secret).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let repo = t.join("repo");
    make_repo(&repo, &[hello()]);
    let o = Command::new(minisign)
        .arg("-S")
        .arg("-s")
        .arg(&secret)
        .arg("-m")
        .arg(repo.join("index.json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let out = ok(Command::new(bin()).arg("verify").arg(repo.join("index.json")).arg("-p").arg(&public));
    let id =
        std::fs::read_to_string(&public).unwrap().lines().next().unwrap().split(' ').next_back().unwrap().to_string();
    assert!(out.contains(&id), "alp verify should name key {id}: {out}");

    // As a repository key: `update` and `install` accept minisign's signature.
    let server = Server::start(&repo);
    let root = t.join("root");
    trust(&root, &public);
    ok(alp(&root).arg("--repo").arg(server.url()).arg("update"));
    ok(alp(&root).arg("--repo").arg(server.url()).args(["install", "hello"]));

    // alp signs with minisign's unencrypted secret key; minisign verifies.
    let file = t.join("f");
    std::fs::write(&file, "x").unwrap();
    ok(Command::new(bin()).arg("sign").arg(&file).arg("-s").arg(&secret));
    let o = Command::new(minisign).arg("-Vm").arg(&file).arg("-p").arg(&public).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn key_generate_never_prompts_without_a_terminal_and_never_overwrites() {
    let t = TempDir::new("trust-keygen");
    let secret = t.join("k.key");
    let err = fails(Command::new(bin()).args(["key", "generate", "-s"]).arg(&secret).stdin(Stdio::null()), 2);
    assert!(err.contains("ALP_KEY_PASSWORD") && err.contains("--unencrypted"), "{err}");
    assert!(!secret.exists() && !t.join("k.pub").exists());

    ok(Command::new(bin()).args(["key", "generate", "--unencrypted", "-s"]).arg(&secret));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
    let first = std::fs::read(&secret).unwrap();
    let err = fails(Command::new(bin()).args(["key", "generate", "--unencrypted", "-s"]).arg(&secret), 2);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&secret).unwrap(), first);
    ok(Command::new(bin()).args(["key", "generate", "--unencrypted", "--force", "-s"]).arg(&secret));
    assert_ne!(std::fs::read(&secret).unwrap(), first);
}

#[test]
fn verify_names_the_key_and_exits_5_on_a_tampered_file() {
    let t = TempDir::new("trust-verify");
    let (secret, public, id) = keypair(t.path(), "signer");
    let root = t.join("root");
    trust(&root, &public);
    let file = t.join("release.tar.gz");
    std::fs::write(&file, vec![7u8; 200_000]).unwrap();
    ok(Command::new(bin()).arg("sign").arg(&file).arg("-s").arg(&secret));
    let sig = std::fs::read_to_string(t.join("release.tar.gz.minisig")).unwrap();
    assert!(sig.contains("trusted comment: timestamp:") && sig.contains("file:release.tar.gz"), "{sig}");

    let out = ok(alp(&root).arg("verify").arg(&file));
    assert!(out.contains(&id), "{out}");
    let out = ok(alp(&root).arg("--json").arg("verify").arg(&file));
    assert_eq!(json_field(&out, "key_id"), Some(id.clone()));
    assert_eq!(json_field(&out, "valid").as_deref(), Some("true"));

    std::fs::write(&file, vec![8u8; 200_000]).unwrap();
    let o = run(alp(&root).arg("--json").arg("verify").arg(&file));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(json_field(&stdout(&o), "valid").as_deref(), Some("false"));
    fails(alp(&root).arg("verify").arg(&file), 5);
    // No signature at all, and a key that did not sign it.
    let err = fails(alp(&root).arg("verify").arg(&secret), 5);
    assert!(err.contains("not signed"), "{err}");
    let (_, other_pub, _) = keypair(t.path(), "other");
    std::fs::write(&file, vec![7u8; 200_000]).unwrap();
    fails(Command::new(bin()).arg("verify").arg(&file).arg("-p").arg(&other_pub), 5);
}

#[test]
fn cert_info_says_who_signed_and_whether_it_verifies_now() {
    let t = TempDir::new("trust-certinfo");
    let (secret, public, id) = keypair(t.path(), "repo");
    let repo = t.join("repo");
    signed_repo(&repo, &[hello()], &secret);
    let root = t.join("root");
    trust(&root, &public);
    ok(alp(&root).arg("--repo").arg(&repo).args(["install", "hello"]));
    let out = ok(alp(&root).args(["cert-info", "hello"]));
    assert!(out.contains(&id) && out.contains("repo.pub"), "{out}");

    // The key is no longer trusted: the kept index no longer verifies, and cert-info says so.
    std::fs::remove_file(root.join("etc/alp/keys/repo.pub")).unwrap();
    let o = run(alp(&root).args(["--json", "cert-info", "hello"]));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(json_field(&stdout(&o), "valid").as_deref(), Some("false"));
    assert_eq!(json_field(&stdout(&o), "key_id"), Some(id));

    fails(alp(&root).args(["cert-info", "nosuch"]), 3);
}

#[test]
fn removing_a_key_revokes_the_indexes_it_signed_at_once() {
    let t = TempDir::new("trust-revoke");
    let (secret, public, id) = keypair(t.path(), "repo");
    let repo = t.join("repo");
    signed_repo(&repo, &[hello(), Pkg::new("extra", "1.0")], &secret);
    let server = Server::start(&repo);
    let root = t.join("root");
    trust(&root, &public);
    ok(alp(&root).arg("--repo").arg(server.url()).args(["install", "hello"]));
    std::fs::remove_file(root.join("etc/alp/keys/repo.pub")).unwrap();
    // The kept index is fresh (no refetch), yet it is no longer trusted.
    let err = fails(alp(&root).arg("--repo").arg(server.url()).args(["install", "extra"]), 5);
    assert!(err.contains(&id), "{err}");
    assert!(!root.join("usr/share/extra").exists());
}

#[test]
fn cert_scan_reports_validity_key_id_serial_and_expiry() {
    let t = TempDir::new("trust-certscan");
    let (secret, public, id) = keypair(t.path(), "repo");
    let repo = t.join("repo");
    make_repo(&repo, &[hello()]);
    sign_repo(&repo, &secret, &["--serial", "42", "--expires-days", "30"]);
    let server = Server::start(&repo);
    let root = t.join("root");
    trust(&root, &public);
    let out = ok(alp(&root).args(["--json", "cert-scan"]).arg(server.url()));
    assert_eq!(json_field(&out, "valid").as_deref(), Some("true"), "{out}");
    assert_eq!(json_field(&out, "key_id"), Some(id.clone()));
    assert_eq!(json_field(&out, "serial").as_deref(), Some("42"));
    assert_eq!(json_field(&out, "expired").as_deref(), Some("false"));
    assert!(json_field(&out, "expires").is_some_and(|e| e.ends_with('Z')), "{out}");
    let human = ok(alp(&root).arg("cert-scan").arg(server.url()));
    assert!(human.contains(&id) && human.contains("42"), "{human}");

    // Altered on the way: reported, non-zero.
    let index = std::fs::read_to_string(repo.join("index.json")).unwrap();
    server.set("/index.json", Behaviour::Body(index.replace("\"serial\":42", "\"serial\":43").into_bytes()));
    let o = run(alp(&root).args(["--json", "cert-scan"]).arg(server.url()));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(json_field(&stdout(&o), "valid").as_deref(), Some("false"));
    server.clear("/index.json");

    // Unsigned: reported, non-zero.
    server.set("/index.json.minisig", Behaviour::Status(404));
    let err = fails(alp(&root).arg("cert-scan").arg(server.url()), 5);
    assert!(err.contains("not signed"), "{err}");
}

#[test]
fn cert_create_makes_a_key_pair_and_signs_the_repository_index() {
    let t = TempDir::new("trust-certcreate");
    let repo = t.join("repo");
    make_repo(&repo, &[hello()]);
    let secret = t.join("keys/maintainer.key");
    ok(Command::new(bin()).args(["cert-create", "--unencrypted", "-s"]).arg(&secret).arg(&repo));
    let public = t.join("keys/maintainer.pub");
    assert!(public.is_file() && repo.join("index.json.minisig").is_file());
    ok(Command::new(bin()).arg("verify").arg(repo.join("index.json")).arg("-p").arg(&public));
    // A directory without an index: nothing is made.
    let empty = t.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let other = t.join("keys/other.key");
    fails(Command::new(bin()).args(["cert-create", "--unencrypted", "-s"]).arg(&other).arg(&empty), 2);
    assert!(!other.exists());
}

#[test]
fn legacy_certificates_are_shown_as_unverifiable_never_trusted() {
    let t = TempDir::new("trust-legacy");
    let root = t.join("root");
    for file in ["greeter-src/cerf.alpc", "greeter-1.2.0-certified.alp"] {
        let o = run(alp(&root).arg("cert-info").arg(legacy().join(file)));
        assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("UNVERIFIABLE") && out.contains("self-consistent"), "{out}");
        assert!(out.contains("trusted:") && !out.contains("trusted:         yes"), "{out}");
        let o = run(alp(&root).arg("--json").arg("cert-info").arg(legacy().join(file)));
        assert_eq!(json_field(&stdout(&o), "trusted").as_deref(), Some("false"));
        assert_eq!(json_field(&stdout(&o), "verifiable").as_deref(), Some("false"));
    }
    // An edited certificate no longer matches the old formula: reported as altered.
    let text = std::fs::read_to_string(legacy().join("greeter-src/cerf.alpc")).unwrap();
    let forged = t.join("cerf.alpc");
    std::fs::write(&forged, text.replace("\"normal\"", "\"official\"")).unwrap();
    let o = run(alp(&root).arg("cert-info").arg(&forged));
    assert_eq!(o.status.code(), Some(5));
    assert!(stdout(&o).contains("altered"), "{}", stdout(&o));
    // A package file without a certificate says so.
    let o = run(alp(&root).arg("cert-info").arg(legacy().join("greeter-1.2.0.alp")));
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("no certificate"), "{}", stderr(&o));
}

#[test]
fn the_example_repository_is_signed_by_the_bundled_demo_key() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let t = TempDir::new("trust-example");
    let root = t.join("root");
    trust(&root, &examples.join("keys/example.pub"));
    ok(alp(&root).arg("--repo").arg(examples.join("repo")).args(["install", "hello"]));
}
