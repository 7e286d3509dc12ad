//! Output people expect: a progress bar only on a terminal, colour only on a terminal and
//! never with NO_COLOR, nothing extra with --quiet or under CI. Terminals here are real
//! pseudo-terminals made by `script`.

mod common;
use common::*;
use std::process::Command;

/// A package whose archive takes about a second to arrive.
fn slow_repo() -> (TempDir, Server) {
    let repo = TempDir::new("repo");
    let blob = noise(240_000);
    make_repo(
        repo.path(),
        &[Pkg { name: "big", version: "1", depends: &[], files: &[("usr/share/big", &blob, 0o644)] }],
    );
    let server = Server::start(repo.path());
    server.set("/big-1.tar.zst", Behaviour::Throttle(200_000));
    (repo, server)
}

/// Runs alp under a pseudo-terminal (`script`), returning everything the terminal showed.
fn on_a_terminal(root: &std::path::Path, env: &[(&str, &str)], args: &str) -> String {
    let cmd = format!("{} --root {} {args}", bin(), root.display());
    let mut c = Command::new("script");
    c.args(["-qefc", &cmd, "/dev/null"]).env_remove("CI").env_remove("NO_COLOR");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("script(1) from util-linux");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_progress_bar_shows_on_a_terminal_only() {
    let (_repo, server) = slow_repo();
    let root = TempDir::new("root");
    let args = format!("--repo {} --allow-untrusted install big", server.url());
    let shown = on_a_terminal(root.path(), &[], &args);
    assert!(shown.contains("ETA") && shown.contains("/s") && shown.contains(" / "), "no progress bar in: {shown:?}");
    assert!(root.join("usr/share/big").exists());

    // Not a terminal: no bar.
    let root = TempDir::new("root");
    let o = run(alp(root.path()).args(["--repo", &server.url(), "--allow-untrusted", "install", "big"]));
    assert!(o.status.success());
    assert!(!stderr(&o).contains("ETA"), "{}", stderr(&o));

    // A terminal, but CI is set, or --quiet: no bar.
    let root = TempDir::new("root");
    assert!(!on_a_terminal(root.path(), &[("CI", "true")], &args).contains("ETA"));
    let root = TempDir::new("root");
    assert!(!on_a_terminal(root.path(), &[], &format!("--quiet {args}")).contains("ETA"));
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let root = TempDir::new("root");
    let shown = on_a_terminal(root.path(), &[], "remove nothing-installed");
    assert!(shown.contains("\x1b[1;31malp: error:"), "{shown:?}");
    let plain = on_a_terminal(root.path(), &[("NO_COLOR", "1")], "remove nothing-installed");
    assert!(plain.contains("alp: error:") && !plain.contains('\x1b'), "{plain:?}");
    let plain = on_a_terminal(root.path(), &[], "--no-color remove nothing-installed");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let o = run(alp(root.path()).args(["remove", "nothing-installed"]));
    assert!(!stderr(&o).contains('\x1b'));
}

#[test]
fn json_is_one_document_on_stdout() {
    let repo = TempDir::new("repo");
    make_repo(repo.path(), &[Pkg::new("a", "1.0")]);
    let root = TempDir::new("root");
    let r = repo.path().to_str().unwrap();
    for args in [&["list"][..], &["search", "a"], &["info", "a"], &["installed"], &["--simulate", "install", "a"]] {
        let out = ok(alp(root.path()).args(["--repo", r, "--allow-untrusted", "--json"]).args(args));
        let v: miniserde::json::Value =
            miniserde::json::from_str(out.trim()).unwrap_or_else(|_| panic!("{args:?}: {out}"));
        assert!(matches!(v, miniserde::json::Value::Object(_)), "{args:?}");
        assert_eq!(out.trim().lines().count(), 1, "{args:?}: {out}");
    }
}

#[test]
fn exit_codes_follow_the_documented_table() {
    let repo = TempDir::new("repo");
    make_repo(repo.path(), &[Pkg { name: "a", version: "1.0", depends: &["missing"], files: &[] }]);
    let root = TempDir::new("root");
    let r = repo.path().to_str().unwrap();
    // 2 usage, 3 resolve, 4 network, 5 integrity, 6 bad input, 7 conflict: each also has its own test file.
    fails(alp(root.path()).args(["--frobnicate"]), 2);
    fails(alp(root.path()).args(["--repo", r, "--allow-untrusted", "install", "a"]), 3);
    fails(alp(root.path()).args(["--repo", "/no/such/repo", "--allow-untrusted", "install", "a"]), 4);
    fails(alp(root.path()).args(["--repo", r, "install", "a"]), 5);
    let bad = TempDir::new("bad");
    std::fs::write(bad.join("index.json"), "{not json").unwrap();
    fails(alp(root.path()).args(["--repo", bad.path().to_str().unwrap(), "--allow-untrusted", "list"]), 6);
}
