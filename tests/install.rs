//! Install, remove and upgrade through the real binary against a real HTTP server.

mod common;
use common::*;
use std::path::Path;

fn db(root: &Path) -> String {
    std::fs::read_to_string(root.join("var/lib/alp/installed.json")).unwrap_or_default()
}

fn chain_repo(repo: &Path) {
    make_repo(
        repo,
        &[
            Pkg {
                name: "libgreet",
                version: "1.0",
                depends: &[],
                files: &[("usr/lib/libgreet/greet.sh", "greet 1.0\n", 0o644)],
            },
            Pkg {
                name: "hello",
                version: "1.0",
                depends: &["libgreet>=1.0"],
                files: &[
                    ("usr/bin/hello", "#!/bin/sh\necho hello 1.0\n", 0o755),
                    ("usr/share/doc/hello/README", "old readme\n", 0o644),
                ],
            },
        ],
    );
}

#[test]
fn install_remove_round_trip_leaves_exactly_the_expected_files() {
    let repo = TempDir::new("repo");
    chain_repo(repo.path());
    let server = Server::start(repo.path());
    let root = TempDir::new("root");
    let before = state_snapshot(root.path());
    let out = run(alp(root.path()).args(["--repo", &server.url(), "--allow-untrusted", "install", "hello"]));
    assert!(out.status.success(), "{}", stderr(&out));
    // Dependencies first.
    let err = stderr(&out);
    assert!(err.find("installed libgreet").unwrap() < err.find("installed hello").unwrap(), "{err}");
    assert_eq!(std::fs::read_to_string(root.join("usr/bin/hello")).unwrap(), "#!/bin/sh\necho hello 1.0\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(root.join("usr/bin/hello")).unwrap().permissions().mode() & 0o777, 0o755);
    let d = db(root.path());
    assert!(d.contains("\"usr/bin/hello\"") && d.contains("\"libgreet\""), "{d}");
    assert_eq!(std::fs::read_to_string(root.join("etc/alp/world")).unwrap(), "hello\n");
    let files: Vec<String> = snapshot(root.path()).into_iter().map(|f| f.0).filter(|p| p.starts_with("usr")).collect();
    assert_eq!(
        files,
        [
            "usr/",
            "usr/bin/",
            "usr/bin/hello",
            "usr/lib/",
            "usr/lib/libgreet/",
            "usr/lib/libgreet/greet.sh",
            "usr/share/",
            "usr/share/doc/",
            "usr/share/doc/hello/",
            "usr/share/doc/hello/README"
        ]
    );
    // No staging names left behind.
    assert!(!snapshot(root.path()).iter().any(|f| f.0.contains(".alp-new.")));

    // libgreet is needed by hello: refused without --cascade.
    let err = fails(alp(root.path()).args(["remove", "libgreet"]), 7);
    assert!(err.contains("hello 1.0 depends on libgreet"), "{err}");
    ok(alp(root.path()).args(["remove", "hello", "libgreet"]));
    let after: Vec<String> =
        state_snapshot(root.path()).into_iter().map(|f| f.0).filter(|p| p.starts_with("usr")).collect();
    assert!(after.is_empty(), "left behind: {after:?}");
    assert!(!db(root.path()).contains("hello"));
    assert_eq!(std::fs::read_to_string(root.join("etc/alp/world")).unwrap(), "");
    drop(before);
}

#[test]
fn remove_cascade_takes_dependants_and_keeps_unowned_files() {
    let repo = TempDir::new("repo");
    chain_repo(repo.path());
    let root = TempDir::new("root");
    ok(alp(root.path()).args(["--repo", repo.path().to_str().unwrap(), "--allow-untrusted", "install", "hello"]));
    std::fs::write(root.join("usr/bin/mine"), "not alp's").unwrap();
    ok(alp(root.path()).args(["remove", "--cascade", "libgreet"]));
    assert!(!root.join("usr/bin/hello").exists());
    assert_eq!(std::fs::read_to_string(root.join("usr/bin/mine")).unwrap(), "not alp's");
}

#[test]
fn upgrade_replaces_files_and_removes_the_ones_dropped() {
    let repo = TempDir::new("repo");
    chain_repo(repo.path());
    let root = TempDir::new("root");
    let r = repo.path().to_str().unwrap();
    ok(alp(root.path()).args(["--repo", r, "--allow-untrusted", "install", "hello"]));
    make_repo(
        repo.path(),
        &[Pkg {
            name: "hello",
            version: "1.1",
            depends: &["libgreet>=1.0"],
            files: &[("usr/bin/hello", "#!/bin/sh\necho hello 1.1\n", 0o755), ("usr/share/hello/NEW", "new\n", 0o644)],
        }],
    );
    let sim = ok(alp(root.path()).args(["--repo", r, "--allow-untrusted", "--simulate", "upgrade"]));
    assert_eq!(sim.trim(), "upgrade hello 1.0 -> 1.1");
    assert_eq!(
        std::fs::read_to_string(root.join("usr/bin/hello")).unwrap(),
        "#!/bin/sh\necho hello 1.0\n",
        "simulate changed nothing"
    );
    ok(alp(root.path()).args(["--repo", r, "--allow-untrusted", "upgrade"]));
    assert_eq!(std::fs::read_to_string(root.join("usr/bin/hello")).unwrap(), "#!/bin/sh\necho hello 1.1\n");
    assert!(root.join("usr/share/hello/NEW").exists());
    assert!(!root.join("usr/share/doc/hello/README").exists(), "dropped file removed");
    assert!(!root.join("usr/share/doc/hello").exists(), "emptied directory removed");
    let d = db(root.path());
    assert!(d.contains("\"1.1\"") && !d.contains("usr/share/doc/hello/README"), "{d}");
    // Nothing newer: a no-op.
    let o = run(alp(root.path()).args(["--repo", r, "--allow-untrusted", "upgrade"]));
    assert!(o.status.success() && stderr(&o).contains("up to date"), "{}", stderr(&o));
}

#[test]
fn resolver_picks_the_highest_version_that_satisfies_every_constraint() {
    let repo = TempDir::new("repo");
    make_repo(
        repo.path(),
        &[
            Pkg::new("lib", "1.9"),
            Pkg::new("lib", "1.10"),
            Pkg::new("lib", "2.0-rc1"),
            Pkg::new("lib", "2.0"),
            Pkg { name: "app", version: "1.0", depends: &["lib>=1.2", "lib<2.0"], files: &[] },
        ],
    );
    let root = TempDir::new("root");
    let out = ok(alp(root.path()).args([
        "--repo",
        repo.path().to_str().unwrap(),
        "--allow-untrusted",
        "--simulate",
        "install",
        "app",
    ]));
    assert_eq!(out.lines().collect::<Vec<_>>(), ["install lib 2.0-rc1", "install app 1.0"]);
    let out = ok(alp(root.path()).args([
        "--repo",
        repo.path().to_str().unwrap(),
        "--allow-untrusted",
        "--simulate",
        "install",
        "lib",
    ]));
    assert_eq!(out.trim(), "install lib 2.0");
}

#[test]
fn resolver_errors_name_the_packages() {
    let repo = TempDir::new("repo");
    make_repo(
        repo.path(),
        &[
            Pkg::new("lib", "1.0"),
            Pkg { name: "a", version: "1.0", depends: &["lib>=2"], files: &[] },
            Pkg { name: "b", version: "1.0", depends: &["ghost"], files: &[] },
            Pkg { name: "c", version: "1.0", depends: &["d"], files: &[] },
            Pkg { name: "d", version: "1.0", depends: &["c"], files: &[] },
        ],
    );
    let root = TempDir::new("root");
    let r = repo.path().to_str().unwrap();
    let args = |p: &'static str| ["--repo", r, "--allow-untrusted", "install", p];
    let e = fails(alp(root.path()).args(args("a")), 3);
    assert!(e.contains("no version of lib satisfies lib>=2 (required by a 1.0); available: 1.0"), "{e}");
    let e = fails(alp(root.path()).args(args("b")), 3);
    assert!(e.contains("package 'ghost' (required by b 1.0) is not in any repository"), "{e}");
    let e = fails(alp(root.path()).args(args("c")), 3);
    assert!(
        e.contains("dependency cycle: c 1.0 -> d 1.0 -> c 1.0")
            || e.contains("dependency cycle: d 1.0 -> c 1.0 -> d 1.0"),
        "{e}"
    );
    let e = fails(alp(root.path()).args(args("nope")), 3);
    assert!(e.contains("'nope' is not in any repository"), "{e}");
    let e = fails(alp(root.path()).args(["--repo", r, "--allow-untrusted", "install", "lib>=3"]), 3);
    assert!(e.contains("no version of lib satisfies lib>=3 (requested)"), "{e}");
    assert!(!root.join("usr").exists());
}

#[test]
fn two_packages_owning_one_file_are_refused_before_anything_changes() {
    let repo = TempDir::new("repo");
    make_repo(
        repo.path(),
        &[
            Pkg { name: "one", version: "1", depends: &[], files: &[("usr/bin/tool", "one", 0o755)] },
            Pkg { name: "two", version: "1", depends: &[], files: &[("usr/bin/tool", "two", 0o755)] },
        ],
    );
    let root = TempDir::new("root");
    let r = repo.path().to_str().unwrap();
    let e = fails(alp(root.path()).args(["--repo", r, "--allow-untrusted", "install", "one", "two"]), 7);
    assert!(e.contains("both contain /usr/bin/tool"), "{e}");
    assert!(!root.join("usr/bin/tool").exists());
    ok(alp(root.path()).args(["--repo", r, "--allow-untrusted", "install", "one"]));
    let before = state_snapshot(root.path());
    let e = fails(alp(root.path()).args(["--repo", r, "--allow-untrusted", "install", "two"]), 7);
    assert!(e.contains("belongs to installed package one"), "{e}");
    assert_eq!(state_snapshot(root.path()), before);
}

#[test]
fn a_cached_package_installs_with_zero_requests() {
    let repo = TempDir::new("repo");
    chain_repo(repo.path());
    let server = Server::start(repo.path());
    let cache = TempDir::new("cache");
    let first = TempDir::new("root");
    let args = [
        "--repo",
        &server.url(),
        "--allow-untrusted",
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "install",
        "hello",
    ];
    ok(alp(first.path()).args(args));
    let archives = |s: &Server| s.hits("/hello-1.0.tar.zst") + s.hits("/libgreet-1.0.tar.zst");
    assert_eq!(archives(&server), 2);
    // A second root sharing the cache (as containers sharing a volume do): no archive requests.
    let second = TempDir::new("root");
    ok(alp(second.path()).args(args));
    assert_eq!(archives(&server), 2, "archives came from the cache");
    // With the index kept too, --offline makes no request at all.
    let third = TempDir::new("root");
    ok(alp(third.path()).args([
        "--repo",
        &server.url(),
        "--allow-untrusted",
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "update",
    ]));
    let before = server.total();
    ok(alp(third.path()).args([
        "--repo",
        &server.url(),
        "--allow-untrusted",
        "--offline",
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "install",
        "hello",
    ]));
    assert_eq!(server.total(), before);
    assert!(third.join("usr/bin/hello").exists());
}

#[test]
fn the_cache_stays_under_its_cap() {
    let repo = TempDir::new("repo");
    // Payloads that gzip to ~320 KiB each; a 1 MiB cap cannot hold all four.
    let blobs: Vec<String> = (0..4u64)
        .map(|i| {
            let mut x = i.wrapping_add(0x9e3779b97f4a7c15);
            (0..400_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'!' + (x % 90) as u8)
                })
                .collect()
        })
        .collect();
    let names = ["p0", "p1", "p2", "p3"];
    let files: Vec<[(&str, &str, u32); 1]> = blobs.iter().map(|b| [("usr/share/blob", b.as_str(), 0o644)]).collect();
    let pkgs: Vec<Pkg> =
        names.iter().zip(&files).map(|(n, f)| Pkg { name: n, version: "1", depends: &[], files: f }).collect();
    // Each in its own root path, so they don't conflict on usr/share/blob.
    make_repo(repo.path(), &pkgs);
    let server = Server::start(repo.path());
    let cache = TempDir::new("cache");
    for n in names {
        let root = TempDir::new("root");
        let mut cmd = alp(root.path());
        cmd.env("ALP_CACHE_SIZE", "1").args([
            "--repo",
            &server.url(),
            "--allow-untrusted",
            "--cache-dir",
            cache.path().to_str().unwrap(),
            "install",
            n,
        ]);
        ok(&mut cmd);
        let total: u64 =
            std::fs::read_dir(cache.join("sha256")).unwrap().flatten().map(|e| e.metadata().unwrap().len()).sum();
        assert!(total <= 1 << 20, "cache holds {total} bytes");
    }
    // Four archives of ~320 KiB each went through a 1 MiB cache: the oldest was evicted.
    let count = std::fs::read_dir(cache.join("sha256")).unwrap().count();
    assert!((1..4).contains(&count), "{count} entries");
}

#[test]
fn concurrent_installs_serialise_on_the_lock_and_both_succeed() {
    let repo = TempDir::new("repo");
    chain_repo(repo.path());
    make_repo(repo.path(), &[Pkg::new("other", "1.0")]);
    let server = Server::start(repo.path());
    // The archive request of the first install stalls a moment, so the second waits on the lock.
    server.set("/libgreet-1.0.tar.zst", Behaviour::FailTimes(1, 503));
    let root = TempDir::new("root");
    let spawn = |pkg: &str| {
        alp(root.path())
            .args(["--repo", &server.url(), "--allow-untrusted", "install", pkg])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn("hello");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let b = spawn("other");
    let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(oa.status.success(), "{}", String::from_utf8_lossy(&oa.stderr));
    assert!(ob.status.success(), "{}", String::from_utf8_lossy(&ob.stderr));
    let d = db(root.path());
    assert!(d.contains("\"hello\"") && d.contains("\"other\"") && d.contains("\"libgreet\""), "{d}");
    let world = std::fs::read_to_string(root.join("etc/alp/world")).unwrap();
    assert_eq!(world, "hello\nother\n");
}

#[test]
fn a_commit_interrupted_at_a_failpoint_is_completed_by_the_next_command() {
    for point in ["after-journal", "mid-commit"] {
        let repo = TempDir::new("repo");
        chain_repo(repo.path());
        let root = TempDir::new("root");
        let r = repo.path().to_str().unwrap();
        let o = run(alp(root.path()).env("ALP_TEST_FAILPOINT", point).args([
            "--repo",
            r,
            "--allow-untrusted",
            "install",
            "hello",
        ]));
        assert!(!o.status.success(), "{point}: the failpoint aborts");
        assert!(root.join("var/lib/alp/journal").exists(), "{point}: journal left behind");
        // Any next command that takes the lock finishes the commit.
        ok(alp(root.path()).args(["--repo", r, "--allow-untrusted", "install", "hello"]));
        assert!(!root.join("var/lib/alp/journal").exists());
        assert_eq!(std::fs::read_to_string(root.join("usr/bin/hello")).unwrap(), "#!/bin/sh\necho hello 1.0\n");
        assert!(db(root.path()).contains("usr/bin/hello"));
        assert!(!snapshot(root.path()).iter().any(|f| f.0.contains(".alp-new.")), "{point}: no staging files left");
    }
}

#[test]
fn a_big_commit_interrupted_midway_is_completed_by_the_next_command() {
    // Enough files that the renames are split over several threads.
    let names: Vec<(String, String)> =
        (0..400).map(|i| (format!("usr/share/many/d{}/f{i}", i % 20), format!("file {i}\n"))).collect();
    let files: Vec<(&str, &str, u32)> = names.iter().map(|(p, c)| (p.as_str(), c.as_str(), 0o644)).collect();
    let repo = TempDir::new("repo");
    make_repo(repo.path(), &[Pkg { name: "many", version: "1.0", depends: &[], files: &files }]);
    let root = TempDir::new("root");
    let r = repo.path().to_str().unwrap();
    let args = ["--repo", r, "--allow-untrusted", "install", "many"];
    let o = run(alp(root.path()).env("ALP_TEST_FAILPOINT", "mid-commit").args(args));
    assert!(!o.status.success(), "the failpoint aborts");
    assert!(root.join("var/lib/alp/journal").exists());
    // Any next command that takes the lock finishes the commit.
    ok(alp(root.path()).args(args));
    assert!(!root.join("var/lib/alp/journal").exists());
    for (path, content) in &names {
        assert_eq!(&std::fs::read_to_string(root.join(path)).unwrap(), content, "{path}");
    }
    assert!(!snapshot(root.path()).iter().any(|f| f.0.contains(".alp-new.")), "no staging files left");
    assert!(db(root.path()).contains("usr/share/many/d19/f399"));
}

#[test]
fn a_local_archive_installs_with_its_own_metadata() {
    let repo = TempDir::new("repo");
    make_repo(
        repo.path(),
        &[Pkg { name: "solo", version: "2.1", depends: &[], files: &[("opt/solo/run", "x", 0o755)] }],
    );
    let root = TempDir::new("root");
    let archive = repo.join("solo-2.1.tar.zst");
    ok(alp(root.path()).arg("install").arg(&archive));
    assert!(root.join("opt/solo/run").exists());
    let d = db(root.path());
    assert!(d.contains("\"solo\"") && d.contains("local:"), "{d}");
    let installed = ok(alp(root.path()).args(["--json", "installed"]));
    assert!(installed.contains("\"name\":\"solo\"") && installed.contains("\"version\":\"2.1\""), "{installed}");
}

#[test]
fn queries_list_search_info() {
    let repo = TempDir::new("repo");
    chain_repo(repo.path());
    let root = TempDir::new("root");
    let r = repo.path().to_str().unwrap();
    let list = ok(alp(root.path()).args(["--repo", r, "--allow-untrusted", "list"]));
    assert!(list.contains("hello") && list.contains("libgreet"), "{list}");
    let found = ok(alp(root.path()).args(["--repo", r, "--allow-untrusted", "--json", "search", "HELLO"]));
    assert!(
        found.starts_with("{\"packages\":[")
            && found.contains("\"name\":\"hello\"")
            && !found.contains("\"name\":\"libgreet\""),
        "{found}"
    );
    let info = ok(alp(root.path()).args(["--repo", r, "--allow-untrusted", "info", "hello"]));
    assert!(info.contains("libgreet>=1.0 (not installed)"), "{info}");
    fails(alp(root.path()).args(["--repo", r, "--allow-untrusted", "info", "ghost"]), 3);
}

#[test]
fn bad_flags_and_missing_repositories_are_one_clear_line() {
    let root = TempDir::new("root");
    let e = fails(alp(root.path()).args(["install", "--bogus"]), 2);
    assert!(e.contains("--bogus"), "{e}");
    let e = fails(alp(root.path()).args(["install", "x"]), 2);
    assert!(e.contains("no repositories configured"), "{e}");
    let e = fails(alp(root.path()).args(["--repo", "/nonexistent/repo", "install", "x"]), 4);
    assert!(e.contains("repository /nonexistent/repo"), "{e}");
    let v = ok(std::process::Command::new(bin()).arg("--version"));
    assert!(v.starts_with("alp ") && v.contains("linux"), "{v}");
}
