//! Publishing mistakes that used to break live repositories (issue 12): a wrong password, an
//! index written without its signature, a new key over a signed repository, and `--simulate`
//! writing anyway. Checked with a real signed repository and the stock `minisign` tool.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// A repository signed with a password-protected key; returns (secret key, public key).
fn signed_repo(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (secret, public) = (dir.join("repo.key"), dir.join("repo.pub"));
    ok(Command::new(bin()).env("ALP_KEY_PASSWORD", "right").args(["key", "generate", "-s"]).arg(&secret));
    make_repo(&dir.join("repo"), &[Pkg::new("hello", "1.0")]);
    ok(Command::new(bin())
        .env("ALP_KEY_PASSWORD", "right")
        .arg("index")
        .arg(dir.join("repo"))
        .arg("--sign")
        .arg(&secret));
    (secret, public)
}

/// The stock minisign verifies `file` with `public` (true when minisign is not installed,
/// with a notice, so the alp-side checks still run).
fn minisign_verifies(file: &Path, public: &Path) -> bool {
    match Command::new("minisign").arg("-Vm").arg(file).arg("-p").arg(public).output() {
        Ok(o) => o.status.success(),
        Err(_) => {
            eprintln!("NOTICE: minisign is not installed; skipping its check");
            true
        }
    }
}

#[test]
fn a_wrong_password_changes_nothing() {
    let t = TempDir::new("pub-password");
    let (secret, public) = signed_repo(t.path());
    let repo = t.join("repo");
    let before = snapshot(&repo);
    let err = fails(
        Command::new(bin()).env("ALP_KEY_PASSWORD", "wrong").arg("index").arg(&repo).arg("--sign").arg(&secret),
        2,
    );
    assert!(err.to_lowercase().contains("password"), "{err}");
    assert_eq!(snapshot(&repo), before, "the repository changed");
    assert!(minisign_verifies(&repo.join("index.json"), &public));
}

#[test]
fn index_and_signature_are_replaced_together_and_verify() {
    let t = TempDir::new("pub-together");
    let (secret, public) = signed_repo(t.path());
    let repo = t.join("repo");
    make_repo(&t.join("more"), &[Pkg::new("world", "2.0")]);
    for e in std::fs::read_dir(t.join("more")).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("world") {
            std::fs::copy(e.path(), repo.join(e.file_name())).unwrap();
        }
    }
    ok(Command::new(bin()).env("ALP_KEY_PASSWORD", "right").arg("index").arg(&repo).arg("--sign").arg(&secret));
    assert!(std::fs::read_to_string(repo.join("index.json")).unwrap().contains("\"world\""));
    assert!(minisign_verifies(&repo.join("index.json"), &public), "minisign refused the new pair");
    let names: Vec<String> =
        std::fs::read_dir(&repo).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.starts_with(".alp-new.")), "{names:?}");
}

#[test]
fn indexing_a_signed_repository_without_sign_is_refused_unless_forced() {
    let t = TempDir::new("pub-stale");
    let (_secret, _public) = signed_repo(t.path());
    let repo = t.join("repo");
    let before = snapshot(&repo);
    let err = fails(Command::new(bin()).arg("index").arg(&repo), 2);
    assert!(err.contains("--sign") && err.contains("--force"), "{err}");
    assert_eq!(snapshot(&repo), before);
    let o = run(Command::new(bin()).arg("index").arg(&repo).arg("--force"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("removed the stale signature"), "{}", stderr(&o));
    assert!(!repo.join("index.json.minisig").exists());
}

#[test]
fn a_new_key_is_not_put_over_a_signed_repository_without_force() {
    let t = TempDir::new("pub-cert");
    let (_secret, public) = signed_repo(t.path());
    let repo = t.join("repo");
    let before = snapshot(&repo);
    let err = fails(
        Command::new(bin()).current_dir(t.path()).args(["cert-create", "--unencrypted", "-s", "new.key"]).arg(&repo),
        2,
    );
    assert!(err.contains("already signed") && err.contains("--force"), "{err}");
    assert_eq!(snapshot(&repo), before);
    assert!(!t.join("new.key").exists());
    assert!(minisign_verifies(&repo.join("index.json"), &public));
    // And `key generate` does not replace a key either.
    let err = fails(Command::new(bin()).args(["key", "generate", "--unencrypted", "-s"]).arg(t.join("repo.key")), 2);
    assert!(err.contains("--force"), "{err}");
}

#[test]
fn simulate_writes_nothing_for_any_command() {
    let t = TempDir::new("pub-simulate");
    let (secret, _public) = signed_repo(t.path());
    let repo = t.join("repo");
    let pkg_dir = t.join("pkg");
    std::fs::create_dir_all(pkg_dir.join(".ALP")).unwrap();
    std::fs::create_dir_all(pkg_dir.join("usr/bin")).unwrap();
    std::fs::write(pkg_dir.join(".ALP/package.json"), r#"{"name":"x","version":"1"}"#).unwrap();
    std::fs::write(pkg_dir.join("usr/bin/x"), "x").unwrap();
    let root = t.join("root");
    std::fs::create_dir_all(root.join("etc/alp/keys")).unwrap();
    std::fs::copy(t.join("repo.pub"), root.join("etc/alp/keys/repo.pub")).unwrap();
    let url = repo.to_str().unwrap().to_string();
    let key = secret.to_str().unwrap().to_string();
    let file = repo.join("index.json").to_str().unwrap().to_string();
    let out = t.join("out").to_str().unwrap().to_string();
    let lock = t.join("alp.lock").to_str().unwrap().to_string();
    let pkg = pkg_dir.to_str().unwrap().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["update"],
        vec!["install", "hello"],
        vec!["upgrade"],
        vec!["build", &pkg, "-o", &out],
        vec!["index", &url, "--sign", &key],
        vec!["sign", &file, "-s", &key],
        vec!["key", "generate", "--unencrypted", "-s", "/tmp/alp-simulate-never.key"],
        vec!["cert-create", "--unencrypted", "--force", "-s", "/tmp/alp-simulate-never.key"],
        vec!["lock", "hello", "-o", &lock],
        vec!["config", "set", "timeout", "9"],
        vec!["clean", "--all"],
        vec!["fix"],
    ];
    let before = snapshot(t.path());
    for args in commands {
        let o = run(alp(&root).env("ALP_KEY_PASSWORD", "right").arg("--repo").arg(&url).arg("--simulate").args(&args));
        assert!(o.status.success(), "--simulate {args:?} failed: {}", stderr(&o));
        assert_eq!(snapshot(t.path()), before, "--simulate {args:?} wrote something");
    }
    assert!(!Path::new("/tmp/alp-simulate-never.key").exists());
}
