//! Housekeeping commands (`stats`, `doctor`, `clean`, `config`) and the log file.

mod common;

use common::{Pkg, Server, TempDir, alp, fails, make_repo, ok, run, stdout};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A root with `hello` installed from a repository served over HTTP (so the cache fills).
struct Setup {
    root: TempDir,
    _repo: TempDir,
    server: Server,
}

fn installed_hello() -> Setup {
    let repo = TempDir::new("admin-repo");
    make_repo(
        repo.path(),
        &[
            Pkg {
                files: &[
                    ("usr/bin/hello", "#!/bin/sh\necho hello\n", 0o755),
                    ("usr/share/hello/README", "hi\n", 0o644),
                ],
                ..Pkg::new("hello", "1.0")
            },
            Pkg::new("other", "2.0"),
        ],
    );
    let server = Server::start(repo.path());
    let root = TempDir::new("admin-root");
    std::fs::create_dir_all(root.join("etc/alp")).unwrap();
    std::fs::write(root.join("etc/alp/repositories"), format!("{}\n", server.url())).unwrap();
    ok(alp(root.path()).args(["--allow-untrusted", "install", "hello"]));
    Setup { root, _repo: repo, server }
}

fn json_number(doc: &str, key: &str) -> u64 {
    let at = doc.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} in {doc}")) + key.len() + 3;
    doc[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

#[test]
fn stats_counts_packages_disk_cache_and_last_update() {
    let s = installed_hello();
    let doc = ok(alp(s.root.path()).args(["--json", "stats"]));
    assert_eq!(json_number(&doc, "available"), 2, "{doc}");
    assert_eq!(json_number(&doc, "installed"), 1, "{doc}");
    assert_eq!(json_number(&doc, "disk_used"), 24, "{doc}");
    assert_eq!(json_number(&doc, "archives"), 1, "{doc}");
    assert!(json_number(&doc, "size") > 0, "{doc}");
    assert_eq!(json_number(&doc, "cap"), 1000 << 20, "{doc}");
    assert!(doc.contains(r#""last_update":"20"#), "{doc}");
    let human = ok(alp(s.root.path()).arg("stats"));
    for want in ["Available packages:  2", "Installed packages:  1", "Disk used:", "Cache:", "Last update:"] {
        assert!(human.contains(want), "missing '{want}' in:\n{human}");
    }
    // Read-only: stats never goes to the network.
    let hits = s.server.total();
    ok(alp(s.root.path()).arg("stats"));
    assert_eq!(s.server.total(), hits);
}

#[test]
fn doctor_is_quiet_and_zero_on_a_healthy_root() {
    let s = installed_hello();
    let doc = ok(alp(s.root.path()).args(["--json", "doctor"]));
    assert_eq!(doc.trim(), r#"{"ok":true,"problems":[]}"#);
    ok(alp(s.root.path()).arg("doctor"));
}

/// Runs `doctor`, expects exit 8, and returns (human stdout, JSON stdout).
fn doctor_fails(root: &Path) -> (String, String) {
    let o = run(alp(root).arg("doctor"));
    assert_eq!(o.status.code(), Some(8), "{}", common::stderr(&o));
    assert!(common::stderr(&o).contains("alp: error: doctor found"), "{}", common::stderr(&o));
    let j = run(alp(root).args(["--json", "doctor"]));
    assert_eq!(j.status.code(), Some(8));
    (stdout(&o), stdout(&j))
}

#[test]
fn doctor_reports_a_broken_config_that_stops_other_commands() {
    let s = installed_hello();
    std::fs::write(s.root.join("etc/alp/config.json"), r#"{"timeout": "soon"}"#).unwrap();
    let err = fails(alp(s.root.path()).arg("installed"), 2);
    assert!(err.contains("config.json"), "{err}");
    let (human, json) = doctor_fails(s.root.path());
    assert!(human.contains("config.json: ") && human.contains("timeout"), "{human}");
    assert!(json.contains(r#""check":"config""#), "{json}");
    // The fix doctor names works: `config set` puts a wrong value right.
    fails(alp(s.root.path()).args(["config", "get", "timeout"]), 2);
    ok(alp(s.root.path()).args(["config", "set", "timeout", "20"]));
    assert_eq!(ok(alp(s.root.path()).args(["config", "get", "timeout"])).trim(), "20");
    ok(alp(s.root.path()).arg("installed"));
    ok(alp(s.root.path()).arg("doctor"));
    // A file that is not JSON at all: `config set` cannot read it either, and doctor says so.
    std::fs::write(s.root.join("etc/alp/config.json"), "{not json").unwrap();
    let (human, _) = doctor_fails(s.root.path());
    assert!(human.contains("fix: correct or remove "), "{human}");
}

#[test]
fn doctor_finds_a_modified_file() {
    let s = installed_hello();
    std::fs::write(s.root.join("usr/share/hello/README"), "tampered\n").unwrap();
    let (human, json) = doctor_fails(s.root.path());
    assert!(human.contains("usr/share/hello/README [hello]: its content changed"), "{human}");
    assert!(human.contains("fix: alp fix (puts the files back: alp install --reinstall hello)"), "{human}");
    assert!(json.contains(r#""check":"modified""#) && json.contains(r#""package":"hello""#), "{json}");
}

#[test]
fn doctor_finds_a_deleted_file() {
    let s = installed_hello();
    std::fs::remove_file(s.root.join("usr/bin/hello")).unwrap();
    let (human, json) = doctor_fails(s.root.path());
    assert!(human.contains("usr/bin/hello [hello]: the file is gone"), "{human}");
    assert!(json.contains(r#""check":"missing""#), "{json}");
}

#[test]
fn doctor_finds_a_leftover_staging_file() {
    let s = installed_hello();
    let leftover = s.root.join("usr/bin/.alp-new.hello");
    std::fs::write(&leftover, "half written").unwrap();
    let (human, json) = doctor_fails(s.root.path());
    assert!(human.contains(&format!("fix: alp fix (removes it; or rm -f {})", leftover.display())), "{human}");
    assert!(json.contains(r#""check":"staging""#), "{json}");
    std::fs::remove_file(&leftover).unwrap();
    ok(alp(s.root.path()).arg("doctor"));
}

#[test]
fn doctor_finds_mode_changes_missing_dependencies_and_an_unfinished_journal() {
    let s = installed_hello();
    let bin = s.root.join("usr/bin/hello");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (human, _) = doctor_fails(s.root.path());
    assert!(
        human.contains("mode is 777, installed as 755")
            && human.contains(&format!("fix: alp fix (or chmod 755 {})", bin.display())),
        "{human}"
    );
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy/greeter-1.2.0.alp");
    let prefix = TempDir::new("admin-prefix");
    ok(alp(s.root.path()).env("ALP_TEST_PREFIX", prefix.path()).arg("install-local").arg(fixture));
    let (human, _) = doctor_fails(s.root.path());
    assert!(
        human.contains("[greeter]: needs coreutils-lite, which is not installed")
            && human.contains("fix: alp install 'coreutils-lite'"),
        "{human}"
    );
    ok(alp(s.root.path()).env("ALP_TEST_PREFIX", prefix.path()).args(["remove", "greeter"]));

    // An unfinished commit is finished by any command that can take the lock, doctor too.
    std::fs::write(s.root.join("var/lib/alp/journal"), r#"{"renames":[],"removes":[],"rmdirs":[]}"#).unwrap();
    ok(alp(s.root.path()).arg("doctor"));
    assert!(!s.root.join("var/lib/alp/journal").exists());
}

#[test]
fn doctor_reports_a_cache_over_its_cap_and_clean_fixes_it() {
    let s = installed_hello();
    ok(alp(s.root.path()).args(["config", "set", "cache_size", "0"]));
    let (human, json) = doctor_fails(s.root.path());
    assert!(human.contains("over its cap") && human.contains("fix: alp fix (or alp clean)"), "{human}");
    assert!(json.contains(r#""check":"cache""#), "{json}");
    let doc = ok(alp(s.root.path()).args(["--json", "clean"]));
    assert_eq!(json_number(&doc, "archives"), 1, "{doc}");
    ok(alp(s.root.path()).arg("doctor"));
}

#[test]
fn clean_empties_the_cache_and_all_drops_kept_indexes() {
    let s = installed_hello();
    let cache = s.root.join("var/cache/alp/sha256");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
    let out = ok(alp(s.root.path()).args(["--simulate", "clean", "--all"]));
    assert!(out.contains("would remove 1 archives") && out.contains("would remove 1 kept indexes"), "{out}");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1, "--simulate changed the cache");
    ok(alp(s.root.path()).arg("clean"));
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
    assert!(s.root.join("var/lib/alp/indexes").read_dir().unwrap().next().is_some(), "plain clean keeps the indexes");
    let doc = ok(alp(s.root.path()).args(["--json", "clean", "--all"]));
    assert_eq!(json_number(&doc, "indexes_removed"), 1, "{doc}");
    assert!(!s.root.join("var/lib/alp/indexes").exists());
    // The installed package is untouched, and the next command fetches the index again.
    assert!(s.root.join("usr/bin/hello").is_file());
    ok(alp(s.root.path()).args(["--allow-untrusted", "search", "hello"]));
}

#[test]
fn config_shows_gets_and_sets_with_type_checks() {
    let root = TempDir::new("admin-config");
    let shown = ok(alp(root.path()).arg("config"));
    for key in ["auto_update", "cache_size", "hook_timeout", "legacy_raw_base", "keep_cache"] {
        assert!(shown.lines().any(|l| l.starts_with(key)), "{key} missing from:\n{shown}");
    }
    assert!(shown.contains("download cache cap in MB"), "meanings are shown: {shown}");
    assert_eq!(ok(alp(root.path()).args(["config", "get", "cache_size"])).trim(), "1000");

    ok(alp(root.path()).args(["config", "set", "cache_size", "250"]));
    ok(alp(root.path()).args(["config", "set", "auto_update", "false"]));
    ok(alp(root.path()).args(["config", "set", "legacy_raw_base", "http://127.0.0.1:1"]));
    assert_eq!(ok(alp(root.path()).args(["config", "get", "cache_size"])).trim(), "250");
    let file = std::fs::read_to_string(root.join("etc/alp/config.json")).unwrap();
    assert!(file.contains(r#""cache_size":250"#) && file.contains(r#""auto_update":false"#), "{file}");
    let doc = ok(alp(root.path()).args(["--json", "config"]));
    assert!(doc.contains(r#"{"default":1000,"key":"cache_size","meaning":"download cache cap in MB","source":"config.json","type":"int","value":250}"#), "{doc}");
    assert_eq!(
        ok(alp(root.path()).args(["--json", "config", "get", "auto_update"])).trim(),
        r#"{"key":"auto_update","value":false}"#
    );
    // The environment wins over the file.
    let env = ok(alp(root.path()).env("ALP_CACHE_SIZE", "7").args(["config", "get", "cache_size"]));
    assert_eq!(env.trim(), "7");

    let err = fails(alp(root.path()).args(["config", "set", "cache_size", "lots"]), 2);
    assert!(err.contains("cache_size takes a whole number, not 'lots'"), "{err}");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    let err = fails(alp(root.path()).args(["config", "set", "auto_update", "maybe"]), 2);
    assert!(err.contains("auto_update takes true or false"), "{err}");
    let err = fails(alp(root.path()).args(["config", "set", "colour", "red"]), 2);
    assert!(err.contains("unknown config key 'colour'") && err.contains("cache_size"), "{err}");
    fails(alp(root.path()).args(["config", "get", "colour"]), 2);
    fails(alp(root.path()).args(["config", "get"]), 2);
    fails(alp(root.path()).args(["config", "frob"]), 2);
    let after = std::fs::read_to_string(root.join("etc/alp/config.json")).unwrap();
    assert_eq!(after, file, "a refused set must not touch config.json");
}

/// `alp.log` lines: `<RFC 3339 UTC> <LEVEL> [pid] message`.
fn check_log_line(line: &str) {
    let mut parts = line.splitn(3, ' ');
    let (stamp, level) = (parts.next().unwrap(), parts.next().unwrap_or(""));
    let b = stamp.as_bytes();
    assert!(
        b.len() == 20
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'Z',
        "bad timestamp in log line: {line}"
    );
    assert!(["INFO", "WARN", "ERROR"].contains(&level), "bad level in log line: {line}");
}

fn log_files(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("var/log/alp"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn log_has_timestamps_and_levels_and_many_runs_share_one_file() {
    let root = TempDir::new("admin-log");
    for i in 0..12 {
        ok(alp(root.path()).args(["config", "set", "retries"]).arg((i % 4).to_string()));
    }
    fails(alp(root.path()).args(["config", "set", "retries", "x"]), 2);
    assert_eq!(log_files(root.path()), ["alp.log"], "one file for every run");
    let text = std::fs::read_to_string(root.join("var/log/alp/alp.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 13, "{text}");
    lines.iter().for_each(|l| check_log_line(l));
    assert!(lines[0].contains("INFO") && lines[0].contains("config: set retries = 0"), "{text}");
    assert!(lines[12].contains("ERROR") && lines[12].contains("retries takes a whole number"), "{text}");
}

#[test]
fn a_failing_command_that_never_read_the_settings_still_rotates_at_log_size() {
    let root = TempDir::new("admin-rotate-init");
    let log = root.join("var/log/alp/alp.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, "filler\n".repeat(17 * 1024 / 7)).unwrap();
    let err = fails(alp(root.path()).env("ALP_LOG_SIZE", "16").args(["init", "--packages", "bad!!name"]), 2);
    assert!(err.contains("bad!!name"), "{err}");
    assert_eq!(log_files(root.path()), ["alp.log", "alp.log.1"]);
    let fresh = std::fs::read_to_string(&log).unwrap();
    assert!(fresh.contains("ERROR") && fresh.contains("bad!!name"), "{fresh}");
}

#[test]
fn log_rotates_past_log_size_and_keeps_three_old_files() {
    let root = TempDir::new("admin-rotate");
    let log = root.join("var/log/alp/alp.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let run_once = |n: usize| {
        // ALP_LOG_SIZE is in KB (16 is the floor); fill the log past it, then log one line.
        std::fs::write(&log, format!("filler {n}\n").repeat(17 * 1024 / 9)).unwrap();
        let mut c: Command = alp(root.path());
        c.env("ALP_LOG_SIZE", "16").args(["config", "set", "timeout"]).arg((10 + n).to_string());
        ok(&mut c);
    };
    run_once(1);
    assert_eq!(log_files(root.path()), ["alp.log", "alp.log.1"]);
    let fresh = std::fs::read_to_string(&log).unwrap();
    assert_eq!(fresh.lines().count(), 1, "{fresh}");
    check_log_line(fresh.lines().next().unwrap());
    assert!(std::fs::read_to_string(root.join("var/log/alp/alp.log.1")).unwrap().starts_with("filler 1"));
    for n in 2..=6 {
        run_once(n);
    }
    assert_eq!(log_files(root.path()), ["alp.log", "alp.log.1", "alp.log.2", "alp.log.3"]);
    assert!(std::fs::read_to_string(root.join("var/log/alp/alp.log.1")).unwrap().starts_with("filler 6"));
    assert!(std::fs::read_to_string(root.join("var/log/alp/alp.log.3")).unwrap().starts_with("filler 4"));
}

/// An install hook that fails marks the package (`installed`, `info`, `doctor`: exit 8), and
/// `alp fix` runs it again once what it needed is there.
#[test]
fn a_failed_install_hook_is_marked_and_fix_runs_it_again() {
    let repo = TempDir::new("admin-hook-repo");
    let hook =
        "#!/bin/sh\ntest -e \"$ALP_ROOT/ready\" || { echo not ready >&2; exit 3; }\ntouch \"$ALP_ROOT/hook-ran\"\n";
    make_repo(
        repo.path(),
        &[Pkg { files: &[(".ALP/install", hook, 0o755), ("usr/share/h/x", "x", 0o644)], ..Pkg::new("h", "1.0") }],
    );
    let root = TempDir::new("admin-hook-root");
    let url = repo.path().to_str().unwrap().to_string();
    let o = run(alp(root.path()).args(["--repo", &url, "--allow-untrusted", "install", "h"]));
    assert_eq!(o.status.code(), Some(8), "{}", common::stderr(&o));
    assert!(common::stderr(&o).contains("'alp fix' runs the hook again"), "{}", common::stderr(&o));
    assert!(root.join("usr/share/h/x").is_file(), "the files stay installed");
    assert!(ok(alp(root.path()).arg("installed")).contains("[install hook failed]"));
    let info = ok(alp(root.path()).args(["--repo", &url, "--allow-untrusted", "info", "h"]));
    assert!(info.contains("Hook failed:"), "{info}");
    let (human, json) = doctor_fails(root.path());
    assert!(human.contains("its install hook failed") && human.contains("runs the install hook of h again"), "{human}");
    assert!(json.contains(r#""check":"hook failed""#), "{json}");
    // Still not ready: fix tries, fails, and says so.
    let o = run(alp(root.path()).args(["--repo", &url, "--allow-untrusted", "fix"]));
    assert_eq!(o.status.code(), Some(8), "{}", common::stderr(&o));
    std::fs::write(root.join("ready"), "").unwrap();
    ok(alp(root.path()).args(["--repo", &url, "--allow-untrusted", "fix"]));
    assert!(root.join("hook-ran").exists());
    assert!(!ok(alp(root.path()).arg("installed")).contains("hook failed"));
    ok(alp(root.path()).arg("doctor"));
}

/// `alp fix` puts a modified file back through the normal transaction, removes staging
/// leftovers and partial downloads, and doctor is content afterwards.
#[test]
fn fix_applies_what_doctor_finds() {
    let s = installed_hello();
    std::fs::write(s.root.join("usr/share/hello/README"), "tampered\n").unwrap();
    std::fs::write(s.root.join("usr/bin/.alp-new.hello"), "half written").unwrap();
    let tmp = s.root.join("var/cache/alp/tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let partial = tmp.join("0123456789abcdef0123456789abcdef.part");
    std::fs::write(&partial, vec![0u8; 4096]).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    std::fs::File::options().write(true).open(&partial).unwrap().set_modified(old).unwrap();
    let (human, _) = doctor_fails(s.root.path());
    assert!(human.contains("partial download"), "{human}");
    ok(alp(s.root.path()).args(["--allow-untrusted", "fix"]));
    assert_eq!(std::fs::read_to_string(s.root.join("usr/share/hello/README")).unwrap(), "hi\n");
    assert!(!s.root.join("usr/bin/.alp-new.hello").exists() && !partial.exists());
    ok(alp(s.root.path()).arg("doctor"));
}

/// A read-only command never shows a half-committed root: it finishes the commit when the
/// lock is free, and says what to do when another alp holds it.
#[test]
fn read_only_commands_finish_a_pending_commit_or_say_why_not() {
    let s = installed_hello();
    let journal = s.root.join("var/lib/alp/journal");
    std::fs::write(&journal, r#"{"renames":[],"removes":[],"rmdirs":[]}"#).unwrap();
    let lock = std::fs::File::options().write(true).open(s.root.join("var/lib/alp/lock")).unwrap();
    lock.lock().unwrap();
    let err = fails(alp(s.root.path()).arg("installed"), 1);
    assert!(err.contains("another alp is changing"), "{err}");
    drop(lock);
    assert!(ok(alp(s.root.path()).arg("installed")).contains("hello"));
    assert!(!journal.exists());
}

/// The kept SBOM follows the database: doctor tells a stale one, fix rewrites it, the `sbom`
/// setting turns it off, and legacy packages are in it, marked.
#[test]
fn the_kept_sbom_follows_the_database() {
    let s = installed_hello();
    let sbom = s.root.join("var/lib/alp/sbom.cdx.json");
    let text = std::fs::read_to_string(&sbom).unwrap();
    assert!(text.contains(r#""name":"hello""#) && text.contains("\"specVersion\":\"1.5\""), "{text}");
    // After a commit interrupted at any point and recovered, it still matches (doctor checks).
    let o =
        run(alp(s.root.path()).args(["--allow-untrusted", "install", "other"]).env("ALP_TEST_FAILPOINT", "mid-commit"));
    assert!(!o.status.success());
    ok(alp(s.root.path()).arg("installed"));
    assert!(std::fs::read_to_string(&sbom).unwrap().contains(r#""name":"other""#));
    ok(alp(s.root.path()).arg("doctor"));
    std::fs::write(&sbom, r#"{"serialNumber":"urn:uuid:00000000-0000-5000-8000-000000000000"}"#).unwrap();
    let (human, _) = doctor_fails(s.root.path());
    assert!(human.contains("does not describe the installed packages"), "{human}");
    ok(alp(s.root.path()).arg("fix"));
    ok(alp(s.root.path()).arg("doctor"));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy/greeter-1.2.0.alp");
    let prefix = TempDir::new("admin-sbom-prefix");
    ok(alp(s.root.path()).env("ALP_TEST_PREFIX", prefix.path()).arg("install-local").arg(&fixture));
    let text = std::fs::read_to_string(&sbom).unwrap();
    assert!(text.contains(r#""name":"greeter""#) && text.contains("alp:legacy"), "{text}");
    // Turned off: no file is written, and doctor does not ask for one.
    ok(alp(s.root.path()).args(["config", "set", "sbom", "false"]));
    std::fs::remove_file(&sbom).unwrap();
    ok(alp(s.root.path()).env("ALP_TEST_PREFIX", prefix.path()).args(["remove", "greeter"]));
    assert!(!sbom.exists());
    ok(alp(s.root.path()).arg("doctor"));
}
