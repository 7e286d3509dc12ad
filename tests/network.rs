//! Bad networks and bad bytes: each failure leaves the root and the database exactly as before.

mod common;
use common::*;
use std::time::Duration;

struct Setup {
    repo: TempDir,
    server: Server,
    root: TempDir,
}

fn setup() -> Setup {
    let repo = TempDir::new("repo");
    make_repo(
        repo.path(),
        &[
            Pkg { name: "base", version: "1.0", depends: &[], files: &[("usr/lib/base", "base", 0o644)] },
            Pkg {
                name: "tool",
                version: "1.0",
                depends: &["base"],
                files: &[("usr/bin/tool", "#!/bin/sh\necho tool\n", 0o755)],
            },
        ],
    );
    let server = Server::start(repo.path());
    let root = TempDir::new("root");
    // Something installed already, so "unchanged" covers a real database.
    ok(alp(root.path()).args(["--repo", &server.url(), "--allow-untrusted", "install", "base"]));
    Setup { repo, server, root }
}

fn install_tool(s: &Setup) -> std::process::Command {
    let mut c = alp(s.root.path());
    c.env("ALP_TIMEOUT", "2").args(["--repo", &s.server.url(), "--allow-untrusted", "install", "tool"]);
    c
}

#[track_caller]
fn assert_fails_cleanly(s: &Setup, code: i32, needle: &str) {
    let before = state_snapshot(s.root.path());
    let e = fails(&mut install_tool(s), code);
    assert!(e.contains(needle), "expected '{needle}' in: {e}");
    assert_eq!(state_snapshot(s.root.path()), before, "root or database changed");
}

#[test]
fn wrong_sha256_leaves_everything_as_before() {
    let s = setup();
    // Same size, different bytes.
    let mut bytes = std::fs::read(s.repo.join("tool-1.0.tar.zst")).unwrap();
    let n = bytes.len();
    bytes[n - 9] ^= 0xff;
    s.server.set("/tool-1.0.tar.zst", Behaviour::Body(bytes));
    let before = state_snapshot(s.root.path());
    let o = run(&mut install_tool(&s));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("tool 1.0"), "{}", stderr(&o));
    assert_eq!(state_snapshot(s.root.path()), before);
}

#[test]
fn truncated_body_leaves_everything_as_before() {
    let s = setup();
    s.server.set("/tool-1.0.tar.zst", Behaviour::Truncate(100));
    assert_fails_cleanly(&s, 4, "tool 1.0");
}

#[test]
fn not_found_leaves_everything_as_before() {
    let s = setup();
    s.server.set("/tool-1.0.tar.zst", Behaviour::Status(404));
    assert_fails_cleanly(&s, 4, "not found (HTTP 404)");
}

#[test]
fn server_errors_are_retried() {
    let s = setup();
    s.server.set("/tool-1.0.tar.zst", Behaviour::FailTimes(2, 500));
    ok(&mut install_tool(&s));
    assert_eq!(s.server.hits("/tool-1.0.tar.zst"), 3);
    assert!(s.root.join("usr/bin/tool").exists());
}

#[test]
fn persistent_server_errors_give_up_after_the_retries() {
    let s = setup();
    s.server.set("/tool-1.0.tar.zst", Behaviour::Status(503));
    assert_fails_cleanly(&s, 4, "HTTP 503 after 4 attempts");
}

#[test]
fn a_stalled_server_times_out() {
    let s = setup();
    s.server.set("/tool-1.0.tar.zst", Behaviour::Stall(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    let before = state_snapshot(s.root.path());
    let mut c = install_tool(&s);
    c.env("ALP_RETRIES", "0");
    let e = fails(&mut c, 4);
    assert!(e.contains("timed out"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    assert_eq!(state_snapshot(s.root.path()), before);
}

#[test]
fn a_body_larger_than_declared_is_refused() {
    let s = setup();
    let mut bytes = std::fs::read(s.repo.join("tool-1.0.tar.zst")).unwrap();
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    s.server.set("/tool-1.0.tar.zst", Behaviour::Body(bytes));
    assert_fails_cleanly(&s, 5, "tool 1.0");
}

#[test]
fn an_unreachable_repository_is_an_error_naming_it() {
    let root = TempDir::new("root");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/repo");
    let e =
        fails(alp(root.path()).env("ALP_RETRIES", "0").args(["--repo", &url, "--allow-untrusted", "install", "x"]), 4);
    assert!(e.contains(&format!("repository {url}")), "{e}");
    let e = fails(alp(root.path()).env("ALP_RETRIES", "0").args(["--repo", &url, "--allow-untrusted", "list"]), 4);
    assert!(e.contains(&format!("repository {url}")), "{e}");
}

#[test]
fn update_uses_etags_and_keeps_the_index() {
    let s = setup();
    let hits = s.server.hits("/index.json");
    let out = ok(alp(s.root.path()).args(["--repo", &s.server.url(), "--allow-untrusted", "update"]));
    assert!(out.is_empty());
    let o = run(alp(s.root.path()).args(["--repo", &s.server.url(), "--allow-untrusted", "update"]));
    assert!(stderr(&o).contains("up to date"), "{}", stderr(&o));
    assert_eq!(s.server.hits("/index.json"), hits + 2);
    // A redirect from https to http is refused; a redirect loop ends.
    s.server.set("/index.json", Behaviour::Redirect("/index.json".into()));
    let e = fails(alp(s.root.path()).args(["--repo", &s.server.url(), "--allow-untrusted", "update"]), 4);
    assert!(e.contains("redirect"), "{e}");
}

#[test]
fn chunked_responses_install() {
    let s = setup();
    s.server.set("/tool-1.0.tar.zst", Behaviour::Chunked(100));
    ok(&mut install_tool(&s));
    assert!(s.root.join("usr/bin/tool").exists());
}

#[test]
fn requests_go_through_the_proxy_unless_no_proxy_names_the_host() {
    let s = setup();
    let proxy = ForwardProxy::start();
    let with_credentials = format!("http://alice:s3cret@127.0.0.1:{}", proxy.port);
    ok(install_tool(&s).env("HTTP_PROXY", &with_credentials));
    assert!(s.root.join("usr/bin/tool").exists());
    let seen = proxy.seen();
    let want = format!("GET {}/tool-1.0.tar.zst HTTP/1.1", s.server.url());
    assert!(seen.iter().any(|(line, _)| *line == want), "{seen:?}");
    // "alice:s3cret" in base64, as curl sends it.
    assert!(seen.iter().all(|(_, auth)| auth.as_deref() == Some("Basic YWxpY2U6czNjcmV0")), "{seen:?}");

    // NO_PROXY naming the host: straight to the server.
    let root = TempDir::new("root");
    let before = proxy.seen().len();
    ok(alp(root.path()).env("http_proxy", proxy.url()).env("NO_PROXY", "localhost,127.0.0.1").args([
        "--repo",
        &s.server.url(),
        "--allow-untrusted",
        "install",
        "tool",
    ]));
    assert_eq!(proxy.seen().len(), before, "the proxy was used despite NO_PROXY");

    // A proxy that is down is a network error naming the URL, and changes nothing.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let root = TempDir::new("root");
    let e = fails(
        alp(root.path()).env("ALP_RETRIES", "0").env("HTTP_PROXY", format!("127.0.0.1:{dead}")).args([
            "--repo",
            &s.server.url(),
            "--allow-untrusted",
            "install",
            "tool",
        ]),
        4,
    );
    assert!(e.contains(&s.server.url()), "{e}");
}

#[test]
fn a_big_index_on_a_slow_link_gets_time_for_its_length() {
    // 800 kB at ~400 kB/s takes about 2 s, twice ALP_TIMEOUT: the deadline grows with the
    // Content-Length (at 256 KiB/s), so the download finishes.
    let repo = TempDir::new("repo");
    let padding = "x".repeat(800_000);
    let zeros = "0".repeat(64);
    std::fs::write(
        repo.join("index.json"),
        format!(
            r#"{{"format":"alp-index-1","name":"t","serial":1,"generated":"2026-01-01T00:00:00Z","expires":null,"packages":[{{"name":"pad","version":"1","file":"pad-1.tar.gz","sha256":"{zeros}","size":1,"description":"{padding}"}}]}}"#
        ),
    )
    .unwrap();
    let server = Server::start(repo.path());
    server.set("/index.json", Behaviour::Throttle(400_000));
    let root = TempDir::new("root");
    ok(alp(root.path()).env("ALP_TIMEOUT", "1").env("ALP_RETRIES", "0").args([
        "--repo",
        &server.url(),
        "--allow-untrusted",
        "update",
    ]));
}

/// Many hosts whose mirror answers 503 all at once must not come back in waves: each wait is
/// drawn between zero and the backoff step (full jitter), so the retries of eight processes
/// that failed together spread out instead of landing in three tight clusters.
#[test]
fn retries_of_many_processes_are_spread_by_jitter() {
    let s = setup();
    s.server.set("/index.json", Behaviour::Status(503));
    let earlier = s.server.hits("/index.json") as usize;
    let fresh: Vec<TempDir> = (0..8).map(|_| TempDir::new("jroot")).collect();
    let children: Vec<_> = fresh
        .iter()
        .map(|root| {
            alp(root.path())
                .env("ALP_RETRIES", "3")
                .args(["--repo", &s.server.url(), "--allow-untrusted", "update"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        assert!(stderr(&o).contains("HTTP 503 after 4 attempts"), "{}", stderr(&o));
    }
    let times = s.server.times("/index.json").split_off(earlier);
    assert_eq!(times.len(), 32, "8 processes x 4 attempts");
    let first = *times.iter().min().unwrap();
    // The 24 retries in 50 ms buckets: in lockstep they would fill about three.
    let buckets: std::collections::HashSet<u128> =
        times.iter().map(|t| t.duration_since(first).as_millis() / 50).filter(|b| *b > 1).collect();
    assert!(buckets.len() >= 10, "retries in lockstep: buckets {buckets:?}");
}

/// A 503 with `Retry-After: 2` is obeyed: the next attempt comes two seconds later, not after
/// the first backoff step (at most half a second).
#[test]
fn retry_after_is_honoured() {
    let s = setup();
    s.server.set("/index.json", Behaviour::RetryAfter(1, 2));
    let earlier = s.server.hits("/index.json") as usize;
    let fresh = TempDir::new("raroot");
    ok(alp(fresh.path()).args(["--repo", &s.server.url(), "--allow-untrusted", "update"]));
    let times = s.server.times("/index.json").split_off(earlier);
    assert_eq!(times.len(), 2, "{times:?}");
    let gap = times[1].duration_since(times[0]);
    assert!(gap >= Duration::from_millis(1950) && gap < Duration::from_secs(4), "second attempt after {gap:?}");
}

/// 4 KiB of flipped bytes in the middle of a full-length body: the bytes arrived, so it is
/// an integrity failure naming both digests (exit 5), never "the download ended early".
#[test]
fn corruption_in_the_middle_of_a_full_body_is_an_integrity_error() {
    let s = setup();
    let mut bytes = std::fs::read(s.repo.join("tool-1.0.tar.zst")).unwrap();
    let mid = bytes.len() / 2;
    let end = (mid + 4096).min(bytes.len());
    bytes[mid.saturating_sub(2048)..end].iter_mut().for_each(|b| *b ^= 0x5a);
    s.server.set("/tool-1.0.tar.zst", Behaviour::Body(bytes));
    let e = fails(&mut install_tool(&s), 5);
    assert!(e.contains("sha256 is") && e.contains("expected"), "{e}");
    assert!(!e.contains("ended early") && !e.contains("connection closed"), "{e}");
}
