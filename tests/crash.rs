//! Nothing half-done, nothing left behind (issue 12): the real binary killed at every phase of
//! install, upgrade and remove, stopped by SIGINT/SIGTERM, paused and resumed, and run out of
//! disk space. After each, the next command finds the root exactly in the old state or the new
//! one: the same files with the same content and modes, the same database, the same world file,
//! no staging file anywhere, and `doctor` content.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Test-build failpoints, in the order a transaction reaches them.
const PHASES: &[&str] = &["staging", "before-journal", "after-journal", "mid-commit", "after-commit"];

/// What a root holds, for "exactly the old or the new state": every file outside alp's own
/// bookkeeping (path → content hash and mode), the installed packages and their file lists
/// (from `installed.json`, minus install times), and the world file.
#[derive(Debug, PartialEq, Clone)]
struct State {
    files: BTreeMap<String, (String, u32)>,
    packages: Vec<String>,
    world: String,
}

fn state(root: &Path) -> State {
    let mut files = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (String, u32)>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            if ["var/log", "var/cache", "var/lib/alp", "etc/alp/world"].iter().any(|s| rel.starts_with(s)) {
                continue;
            }
            // Where alp keeps its own files: made as needed, not part of any package.
            let bookkeeping = ["var", "var/lib", "etc", "etc/alp"].contains(&rel.as_str());
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                if !bookkeeping {
                    out.insert(format!("{rel}/"), (String::new(), m.permissions().mode() & 0o7777));
                }
                walk(base, &p, out);
            } else {
                use sha2::Digest;
                let bytes = std::fs::read(&p).unwrap_or_default();
                let sum = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
                out.insert(rel, (sum, m.permissions().mode() & 0o7777));
            }
        }
    }
    walk(root, root, &mut files);
    let db = std::fs::read_to_string(root.join("var/lib/alp/installed.json")).unwrap_or_default();
    // Each package's name, version and file list, without the install time.
    // Which of two packages staged side by side made a shared directory first is a race, so
    // the directory lists are left out too; the files are compared on disk above.
    let mut packages: Vec<String> = db
        .split("\"installed_at\":")
        .map(|chunk| chunk.split_once(',').map_or(chunk, |(_, rest)| rest))
        .map(|chunk| match (chunk.find("\"dirs\":["), chunk.find("],\"hooks\"")) {
            (Some(a), Some(b)) if a < b => format!("{}{}", &chunk[..a], &chunk[b + 1..]),
            _ => chunk.to_string(),
        })
        .map(|chunk| {
            chunk.split("\"length\":").next().unwrap_or("").to_string()
                + chunk.split("\"summary\":").nth(1).unwrap_or("")
        })
        .collect();
    packages.sort();
    let world = std::fs::read_to_string(root.join("etc/alp/world")).unwrap_or_default();
    State { files, packages, world }
}

/// What differs between two states, for a failure message.
fn differences(now: &State, want: &State) -> String {
    let mut out = String::new();
    for (k, v) in &now.files {
        if want.files.get(k) != Some(v) {
            out.push_str(&format!("  file {k}: {v:?} (the new state has {:?})\n", want.files.get(k)));
        }
    }
    for k in want.files.keys().filter(|k| !now.files.contains_key(*k)) {
        out.push_str(&format!("  file {k} is missing\n"));
    }
    if now.packages != want.packages {
        for (a, b) in now.packages.iter().zip(&want.packages).filter(|(a, b)| a != b) {
            let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
            let show = |s: &str| s.get(at.saturating_sub(60)..(at + 60).min(s.len())).unwrap_or("").to_string();
            out.push_str(&format!("  database: …{}… where the new state has …{}…\n", show(a), show(b)));
        }
    }
    if now.world != want.world {
        out.push_str(&format!("  world {:?}, the new state's {:?}\n", now.world, want.world));
    }
    out
}

/// Every `.alp-new.*` under `root`.
fn leftovers(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with(".alp-new.") {
                out.push(p.clone());
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&p, out);
            }
        }
    }
    walk(root, &mut out);
    out
}

/// A fresh ext4 on a loop file under `dir` (the root file system here punishes recently
/// freed inodes, and a real volume has a journal); `None` when this is not root or mounting
/// is not possible, and the test then runs in `dir` itself.
struct Ext4 {
    mount: PathBuf,
    mounted: bool,
}

impl Ext4 {
    fn new(dir: &Path) -> Ext4 {
        let img = dir.join("fs.img");
        let mount = dir.join("fs");
        std::fs::create_dir_all(&mount).unwrap();
        let ok = |c: &mut Command| c.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        let mounted = unsafe_is_root()
            && ok(Command::new("truncate").args(["-s", "256M"]).arg(&img))
            && ok(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&img))
            && ok(Command::new("mount").args(["-o", "loop"]).arg(&img).arg(&mount));
        if !mounted {
            eprintln!("(not on a fresh ext4: cannot mount a loop file here)");
        }
        Ext4 { mount, mounted }
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(&self.mount).status();
        }
    }
}

fn unsafe_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The test repository: `app` 1.0 and 2.0 (300 files each; 2.0 drops a third, changes a
/// third, adds new ones) needing `lib`.
fn repo(dir: &Path) {
    let v1: Vec<(String, String, u32)> =
        (0..300).map(|i| (format!("usr/share/app/d{}/f{i}", i % 10), format!("one {i}\n").repeat(40), 0o644)).collect();
    let v2: Vec<(String, String, u32)> = (100..400)
        .map(|i| {
            let body = if i < 200 { format!("one {i}\n") } else { format!("two {i}\n") };
            (format!("usr/share/app/d{}/f{i}", i % 12), body.repeat(40), if i % 7 == 0 { 0o755 } else { 0o644 })
        })
        .collect();
    fn as_refs(v: &[(String, String, u32)]) -> Vec<(&str, &str, u32)> {
        v.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), *c)).collect()
    }
    let (r1, r2) = (as_refs(&v1), as_refs(&v2));
    make_repo(
        dir,
        &[
            Pkg { name: "lib", version: "1.0", depends: &[], files: &[("usr/lib/libx.so", "lib", 0o644)] },
            Pkg { name: "app", version: "1.0", depends: &["lib"], files: &r1 },
            Pkg { name: "app", version: "2.0", depends: &["lib"], files: &r2 },
        ],
    );
}

/// `alp --root ROOT --repo REPO --allow-untrusted ARGS`
fn alp_op(root: &Path, repo: &Path, args: &[&str]) -> Command {
    let mut c = alp(root);
    c.arg("--repo").arg(repo).arg("--allow-untrusted").args(args);
    c
}

fn copy_tree(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    assert!(Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap().success());
}

/// After an interrupted `op`, any command finishes or cleans up; then the root must be `old`
/// or `new` exactly, with nothing staged left and doctor content.
#[track_caller]
fn check_settled(root: &Path, repo: &Path, old: &State, new: &State, what: &str) -> bool {
    let o = run(&mut alp_op(root, repo, &["installed"]));
    assert!(o.status.success(), "{what}: 'installed' after the kill failed: {}", stderr(&o));
    let now = state(root);
    assert!(
        now == *old || now == *new,
        "{what}: the root is neither the old nor the new state:\n{}",
        differences(&now, new)
    );
    let left = leftovers(root);
    assert!(left.is_empty(), "{what}: staging files left: {left:?}");
    let d = run(&mut alp_op(root, repo, &["doctor"]));
    assert!(d.status.success(), "{what}: doctor: {}{}", stdout(&d), stderr(&d));
    now == *new
}

#[test]
fn kills_at_every_phase_leave_the_old_state_or_the_new_one() {
    let work = TempDir::new("crash");
    let fs = Ext4::new(work.path());
    let base = fs.mount.clone();
    let repo_dir = base.join("repo");
    repo(&repo_dir);
    // Starting roots: empty (install), app 1.0 pinned below 2 ... (upgrade, remove).
    let empty = base.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let with_app = base.join("with-app");
    copy_tree(&empty, &with_app);
    ok(&mut alp_op(&with_app, &repo_dir, &["install", "app<2"]));
    // The upgrade needs the pin lifted: a request without bounds replaces it in the world file.
    let ops: [(&str, &Path, Vec<&str>); 3] = [
        ("install", &empty, vec!["install", "app<2"]),
        ("upgrade", &with_app, vec!["install", "app>=2"]),
        ("remove", &with_app, vec!["remove", "app", "lib"]),
    ];
    let trial = base.join("trial");
    for (name, start, args) in &ops {
        let old = state(start);
        copy_tree(start, &trial);
        let t = Instant::now();
        ok(&mut alp_op(&trial, &repo_dir, args));
        let took = t.elapsed();
        let new = state(&trial);
        assert_ne!(old, new, "{name} changed nothing");
        let (mut olds, mut news) = (0, 0);
        // Every failpoint, then SIGKILLs at spread-out moments of a run (50 in all per op).
        let mut points: Vec<(Option<&str>, Duration)> = PHASES.iter().map(|p| (Some(*p), Duration::ZERO)).collect();
        let span = took.as_micros() as u64 + 20_000;
        points.extend((0..45u64).map(|i| (None, Duration::from_micros(span * i / 45 + (i * 7919) % 1000))));
        for (phase, delay) in points {
            copy_tree(start, &trial);
            let mut cmd = alp_op(&trial, &repo_dir, args);
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            if let Some(p) = phase {
                cmd.env("ALP_TEST_FAILPOINT", p);
            }
            let mut child = cmd.spawn().unwrap();
            if phase.is_none() {
                std::thread::sleep(delay);
                let _ = child.kill();
            }
            let _ = child.wait();
            let what = format!("{name}, killed {}", phase.map_or(format!("after {delay:?}"), |p| format!("at {p}")));
            if check_settled(&trial, &repo_dir, &old, &new, &what) {
                news += 1;
            } else {
                olds += 1;
            }
        }
        eprintln!("{name}: {olds} kills left the old state, {news} the new one");
        assert!(olds > 0 && news > 0, "{name}: the kills did not land on both sides of the commit");
    }
}

#[test]
fn the_world_file_is_committed_with_the_files() {
    let work = TempDir::new("crash-world");
    let repo_dir = work.join("repo");
    repo(&repo_dir);
    let root = work.join("root");
    // Killed right after the journal is durable: recovery must bring the pin with the files.
    let o = run(alp_op(&root, &repo_dir, &["install", "app<2"]).env("ALP_TEST_FAILPOINT", "after-journal"));
    assert!(!o.status.success());
    ok(&mut alp_op(&root, &repo_dir, &["installed"]));
    assert_eq!(std::fs::read_to_string(root.join("etc/alp/world")).unwrap(), "app<2\n");
    // …so the next upgrade keeps to it.
    ok(&mut alp_op(&root, &repo_dir, &["upgrade"]));
    assert!(ok(&mut alp_op(&root, &repo_dir, &["installed"])).contains("1.0"));
    // A remove killed the same way takes the request away with the package.
    let o = run(alp_op(&root, &repo_dir, &["remove", "app"]).env("ALP_TEST_FAILPOINT", "after-journal"));
    assert!(!o.status.success());
    ok(&mut alp_op(&root, &repo_dir, &["installed"]));
    assert_eq!(std::fs::read_to_string(root.join("etc/alp/world")).unwrap(), "");
}

/// A root, a repository served over HTTP at `rate` bytes a second, and the install command.
fn slow_install(tag: &str, rate: usize) -> (TempDir, Server, Command) {
    let work = TempDir::new(tag);
    let repo_dir = work.join("repo");
    let big: String = (0..200_000u32).map(|i| format!("{:x}", i.wrapping_mul(2_654_435_761))).collect();
    make_repo(&repo_dir, &[Pkg { name: "big", version: "1", depends: &[], files: &[("usr/share/big", &big, 0o644)] }]);
    let server = Server::start(&repo_dir);
    let archive = std::fs::read_dir(&repo_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("big-1"))
        .unwrap();
    server.set(&format!("/{archive}"), Behaviour::Throttle(rate));
    let mut cmd = alp(&work.join("root"));
    cmd.args(["--repo", &server.url(), "--allow-untrusted", "install", "big"]);
    (work, server, cmd)
}

#[test]
fn sigint_and_sigterm_during_a_download_stop_at_once_and_leave_nothing() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let (work, _server, mut cmd) = slow_install("crash-int", 100_000);
        let root = work.join("root");
        let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // Until the download has begun: some of it is staged and in the cache's tmp/.
        let started = Instant::now();
        while std::fs::read_dir(root.join("var/cache/alp/tmp")).map_or(0, |d| d.count()) == 0 {
            assert!(started.elapsed() < Duration::from_secs(20), "the download never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        let sent = Instant::now();
        let o = child.wait_with_output().unwrap();
        assert!(sent.elapsed() < Duration::from_secs(2), "took {:?} to stop", sent.elapsed());
        assert_eq!(o.status.code(), Some(code), "{}", stderr(&o));
        assert!(stderr(&o).contains("alp: interrupted; nothing was changed"), "{}", stderr(&o));
        assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
        assert_eq!(std::fs::read_dir(root.join("var/cache/alp/tmp")).unwrap().count(), 0, "partial download kept");
        assert!(!root.join("usr/share/big").exists());
        assert!(!root.join("var/lib/alp/staging").exists());
        ok(alp(&root).arg("doctor"));
    }
}

#[test]
fn a_download_paused_and_resumed_every_few_milliseconds_still_installs() {
    let (work, _server, mut cmd) = slow_install("crash-stop", 2_000_000);
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id() as i32;
    let status = loop {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        std::thread::sleep(Duration::from_millis(3));
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGCONT) };
        std::thread::sleep(Duration::from_millis(4));
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(work.join("root/usr/share/big").is_file());
}

#[test]
fn a_full_disk_at_any_point_leaves_the_root_as_before() {
    if !unsafe_is_root() {
        eprintln!("(skipped: mounting a tmpfs needs root)");
        return;
    }
    let work = TempDir::new("crash-full");
    let repo_dir = work.join("repo");
    repo(&repo_dir);
    let mnt = work.join("tmpfs");
    std::fs::create_dir_all(&mnt).unwrap();
    assert!(
        Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(&mnt).status().unwrap().success()
    );
    let root = mnt.join("root");
    let cache = work.join("cache");
    let filler = mnt.join("filler");
    let run_install = |root: &Path| run(alp_op(root, &repo_dir, &["install", "app<2"]).env("ALP_CACHE_DIR", &cache));
    // The space an install needs, then a sweep of free space around it.
    ok(alp_op(&root, &repo_dir, &["install", "lib"]).env("ALP_CACHE_DIR", &cache));
    let before = state(&root);
    let free = || {
        let out = Command::new("df").args(["-B1", "--output=avail"]).arg(&mnt).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse::<u64>().unwrap()
    };
    let start_free = free();
    let probe = run_install(&root);
    assert!(probe.status.success(), "{}", stderr(&probe));
    let needed = start_free - free();
    ok(alp_op(&root, &repo_dir, &["remove", "app"]).env("ALP_CACHE_DIR", &cache));
    assert_eq!(state(&root), before);
    let (mut failed, mut fitted) = (0, 0);
    for step in 0..24u64 {
        let leave = needed * step / 16; // 0 … 1.5x what it needs
        let fill = free().saturating_sub(leave);
        std::fs::write(&filler, vec![0u8; fill as usize]).unwrap_or_default();
        let o = run_install(&root);
        let _ = std::fs::remove_file(&filler);
        if o.status.success() {
            fitted += 1;
            ok(alp_op(&root, &repo_dir, &["remove", "app"]).env("ALP_CACHE_DIR", &cache));
        } else {
            failed += 1;
            let err = stderr(&o);
            assert!(err.lines().any(|l| l.starts_with("alp: error: ")) && !err.contains("panicked"), "{err}");
            ok(alp_op(&root, &repo_dir, &["installed"]).env("ALP_CACHE_DIR", &cache));
        }
        assert_eq!(state(&root), before, "with {leave} bytes free of the {needed} needed");
        assert!(leftovers(&root).is_empty(), "with {leave} bytes free: {:?}", leftovers(&root));
    }
    // And once there is room, the install goes through.
    ok(alp_op(&root, &repo_dir, &["install", "app<2"]).env("ALP_CACHE_DIR", &cache));
    let _ = Command::new("umount").arg(&mnt).status();
    assert!(failed > 0 && fitted > 0, "the sweep missed a side: {failed} failed, {fitted} fitted");
}
