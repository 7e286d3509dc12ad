//! Where repositories live (SPEC section 14): parsed repository lines, mirrors tried in
//! order, one dead repository among several, and bad input that gets one clear error.

mod common;
use common::*;

const KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/keys/example.key");
const PUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/keys/example.pub");

/// A signed repository holding `pkgs`, each a package with no dependencies.
fn signed_repo(pkgs: &[&str]) -> TempDir {
    let repo = TempDir::new("repo");
    let list: Vec<Pkg> = pkgs.iter().map(|n| Pkg::new(n, "1.0")).collect();
    make_repo(repo.path(), &list);
    ok(std::process::Command::new(bin()).args(["--quiet", "index"]).arg(repo.path()).args(["--sign", KEY]));
    repo
}

/// A root that trusts the example key, with `lines` as its repositories file.
fn root_with(lines: &[String]) -> TempDir {
    let root = TempDir::new("root");
    std::fs::create_dir_all(root.join("etc/alp/keys")).unwrap();
    std::fs::copy(PUB, root.join("etc/alp/keys/example.pub")).unwrap();
    std::fs::write(root.join("etc/alp/repositories"), lines.join("\n") + "\n").unwrap();
    root
}

/// A loopback URL nothing listens on.
fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}/repo")
}

#[test]
fn an_unknown_scheme_is_one_clear_error() {
    let root = TempDir::new("root");
    let e = fails(alp(root.path()).args(["--repo", "ftp://example.org/repo", "list"]), 2);
    assert!(e.contains("unsupported repository scheme 'ftp://'"), "{e}");
}

#[test]
fn a_dead_mirror_fails_over_to_the_next_and_says_which_served() {
    let repo = signed_repo(&["hello"]);
    let server = Server::start(repo.path());
    let root = root_with(&[format!("{} {}", dead_url(), server.url())]);
    let o = run(alp(root.path()).env("ALP_RETRIES", "0").args(["install", "hello"]));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("trying the next mirror"), "{err}");
    assert!(
        stdout(&o).contains(&format!("served by mirror {}", server.url())) || err.contains("served by mirror"),
        "{err}"
    );
    assert!(root.join("usr/share/hello/VERSION").is_file());
}

#[test]
fn a_package_that_fails_on_one_mirror_comes_from_the_next() {
    let repo = signed_repo(&["hello"]);
    let (a, b) = (Server::start(repo.path()), Server::start(repo.path()));
    a.set("/hello-1.0.tar.zst", Behaviour::Status(503));
    let root = root_with(&[format!("{} {}", a.url(), b.url())]);
    ok(alp(root.path()).env("ALP_RETRIES", "0").args(["install", "hello"]));
    assert_eq!(b.hits("/hello-1.0.tar.zst"), 1);
    assert_eq!(b.hits("/index.json"), 0, "the first mirror served the index");
}

#[test]
fn one_dead_repository_among_several_is_a_warning() {
    let repo = signed_repo(&["hello"]);
    let server = Server::start(repo.path());
    let dead = dead_url();
    let root = root_with(&[server.url(), dead.clone()]);
    let o = run(alp(root.path()).env("ALP_RETRIES", "0").args(["list"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("hello"), "{}", stdout(&o));
    assert!(stderr(&o).contains(&dead) && stderr(&o).contains("going on without it"), "{}", stderr(&o));
    ok(alp(root.path()).env("ALP_RETRIES", "0").args(["install", "hello"]));
    let e = fails(alp(root.path()).env("ALP_RETRIES", "0").args(["install", "nosuch"]), 3);
    assert!(e.contains("could not be read") && e.contains(&dead), "{e}");
    // `update` refreshes what it can and says which one it could not.
    let o = run(alp(root.path()).env("ALP_RETRIES", "0").args(["update"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(&dead) && stderr(&o).contains("keeping its last index"), "{}", stderr(&o));
}

#[test]
fn all_repositories_dead_is_an_error() {
    let root = root_with(&[dead_url(), dead_url()]);
    fails(alp(root.path()).env("ALP_RETRIES", "0").args(["list"]), 4);
    fails(alp(root.path()).env("ALP_RETRIES", "0").args(["update"]), 4);
}

#[test]
fn an_index_failing_verification_is_never_a_warning() {
    let good = signed_repo(&["hello"]);
    let unsigned = TempDir::new("unsigned");
    make_repo(unsigned.path(), &[Pkg::new("other", "1.0")]);
    let (a, b) = (Server::start(good.path()), Server::start(unsigned.path()));
    let root = root_with(&[a.url(), b.url()]);
    let e = fails(alp(root.path()).args(["list"]), 5);
    assert!(e.contains(&b.url()), "{e}");
}

#[test]
fn tls_to_a_plain_http_server_asks_whether_it_is_an_http_url() {
    // What nginx says to a TLS ClientHello on a plain-HTTP port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            use std::io::{Read, Write};
            let _ = c.read(&mut [0u8; 4096]);
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let root = root_with(&[]);
    let url = format!("https://127.0.0.1:{port}/repo");
    let e = fails(alp(root.path()).env("ALP_RETRIES", "0").args(["--repo", &url, "list"]), 4);
    assert!(e.contains("is this an http:// URL?"), "{e}");
}

#[test]
fn credentials_in_a_repository_url_are_never_shown() {
    let root = TempDir::new("root");
    let url = format!("{}/private", dead_url().replace("http://", "http://ci:s3cr3t@"));
    let o = run(alp(root.path()).env("ALP_RETRIES", "0").args(["--json", "--repo", &url, "list"]));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("s3cr3t"), "{all}");
    assert!(all.contains("ci:***@"), "{all}");
}
