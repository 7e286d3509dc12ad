//! The old tool's formats keep working: `.alp` files with `install-local`, the old source
//! layout with `compile`, `legacy+URL` repositories, and `migrate` from `~/.alp`.

mod common;

use common::{Pkg, Server, TempDir, alp, fails, make_repo, ok, run, stderr, stdout};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy").join(name)
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// Writes a `.alp` file the way the old tool's `compile` did (format 1.2).
fn write_alp(path: &Path, name: &str, version: &str, install: &str, remove: &str, main: Option<(&str, &str)>) {
    let main_fields = main.map_or(String::new(), |(n, body)| {
        format!(r#","main_file":"{}","main_file_name":"{n}""#, b64(body.as_bytes()))
    });
    let text = format!(
        r#"{{"format_version":"1.2","metadata":{{"name":"{name}","version":"{version}","dependencies":[]}},
        "files":{{"install_script":"{}","uninstall_script":"{}","readme":"name = {name}"{main_fields}}},
        "certificate":null,"compiled_at":"2026-11-26T19:20:55.877400","checksum":""}}"#,
        b64(install.as_bytes()),
        b64(remove.as_bytes()),
    );
    std::fs::write(path, text).unwrap();
}

/// Asserts success; returns stdout and stderr together (hook output may go to either).
#[track_caller]
fn ok_all(cmd: &mut std::process::Command) -> String {
    let o = run(cmd);
    assert!(o.status.success(), "alp failed ({:?}):\nstdout: {}\nstderr: {}", o.status.code(), stdout(&o), stderr(&o));
    stdout(&o) + &stderr(&o)
}

fn installed_json(root: &Path) -> String {
    std::fs::read_to_string(root.join("var/lib/alp/installed.json")).unwrap_or_default()
}

#[test]
fn both_fixture_alp_files_install_and_remove_runs_alp_u_sh() {
    for file in ["greeter-1.2.0.alp", "greeter-1.2.0-certified.alp"] {
        let root = TempDir::new("legacy-root");
        let prefix = TempDir::new("legacy-prefix");
        let out =
            ok_all(alp(root.path()).env("ALP_TEST_PREFIX", prefix.path()).arg("install-local").arg(fixture(file)));
        assert!(out.contains("greeter installed"), "alp.sh did not run: {out}");
        let bin = prefix.join("bin/greeter");
        assert_eq!(std::fs::read_to_string(&bin).unwrap(), "#!/bin/sh\necho \"merhaba from greeter\"\n");
        assert_eq!(std::fs::metadata(&bin).unwrap().permissions().mode() & 0o777, 0o755);
        let listed = ok(alp(root.path()).args(["--json", "installed"]));
        assert!(listed.contains(r#""name":"greeter""#) && listed.contains(r#""version":"1.2.0""#), "{listed}");
        let kept = root.join("var/lib/alp/scripts/greeter/remove");
        assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(fixture("greeter-src/alp_u.sh")).unwrap());

        let out = ok_all(alp(root.path()).env("ALP_TEST_PREFIX", prefix.path()).args(["remove", "greeter"]));
        assert!(out.contains("greeter removed"), "alp_u.sh did not run: {out}");
        assert!(!bin.exists(), "alp_u.sh should have removed {}", bin.display());
        assert!(!root.join("var/lib/alp/scripts/greeter").exists(), "kept scripts should go with the package");
        assert!(!installed_json(root.path()).contains("greeter"));
    }
}

#[test]
fn old_certificates_are_shown_as_legacy_and_never_trusted() {
    let root = TempDir::new("legacy-cert");
    let prefix = TempDir::new("legacy-prefix");
    let o = run(alp(root.path())
        .env("ALP_TEST_PREFIX", prefix.path())
        .args(["--json", "install-local"])
        .arg(fixture("greeter-1.2.0-certified.alp")));
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("legacy 'custom' certificate naming Ayse Yilmaz") && err.contains("does not trust"), "{err}");
    let out = stdout(&o);
    let doc = out.lines().find(|l| l.starts_with('{')).expect("a JSON document");
    assert!(doc.contains(r#""trusted":false"#) && doc.contains(r#""type":"custom""#), "{doc}");
    // The uncertified one is just as unverified, and says so.
    let root2 = TempDir::new("legacy-cert");
    let o = run(alp(root2.path())
        .env("ALP_TEST_PREFIX", prefix.path())
        .arg("install-local")
        .arg(fixture("greeter-1.2.0.alp")));
    assert!(stderr(&o).contains("no signature"), "{}", stderr(&o));
}

#[test]
fn install_local_runs_alp_sh_directly_with_the_old_environment() {
    let root = TempDir::new("legacy-env");
    let prefix = TempDir::new("legacy-prefix");
    let work = TempDir::new("legacy-src");
    let file = work.join("demo-0.1.alp");
    let script = "#!/bin/sh\nenv | grep '^ALP_' | sort > \"$ALP_TEST_PREFIX/env.txt\"\necho \"$0\" > \"$ALP_TEST_PREFIX/argv0\"\n";
    write_alp(&file, "demo", "0.1", script, "#!/bin/sh\n", Some(("demo.txt", "hello")));
    ok(alp(root.path()).env("ALP_TEST_PREFIX", prefix.path()).arg("install-local").arg(&file));
    let env = std::fs::read_to_string(prefix.join("env.txt")).unwrap();
    let scripts = root.path().join("var/lib/alp/scripts/demo");
    for want in [
        format!("ALP_MAIN_FILE={}", scripts.join("main/demo.txt").display()),
        "ALP_MAIN_NAME=demo.txt".to_string(),
        format!("ALP_ROOT={}", root.path().display()),
        "ALP_PACKAGE=demo".to_string(),
        "ALP_VERSION=0.1".to_string(),
    ] {
        assert!(env.lines().any(|l| l == want), "missing {want} in:\n{env}");
    }
    // Run as itself, not through a shell wrapper: $0 is the kept script.
    assert_eq!(
        std::fs::read_to_string(prefix.join("argv0")).unwrap().trim(),
        scripts.join("alp.sh").display().to_string()
    );
    assert_eq!(std::fs::read_to_string(scripts.join("main/demo.txt")).unwrap(), "hello");
}

#[test]
fn install_local_kills_alp_sh_past_hook_timeout_and_records_nothing() {
    let root = TempDir::new("legacy-timeout");
    let work = TempDir::new("legacy-src");
    let file = work.join("slow-1.0.alp");
    write_alp(&file, "slow", "1.0", "#!/bin/sh\nexec sleep 30\n", "#!/bin/sh\n", None);
    let start = Instant::now();
    let err = fails(alp(root.path()).env("ALP_HOOK_TIMEOUT", "1").arg("install-local").arg(&file), 1);
    assert!(start.elapsed() < Duration::from_secs(15), "the timeout did not stop alp.sh");
    assert!(err.contains("hook_timeout") && err.contains("nothing was recorded"), "{err}");
    assert!(!installed_json(root.path()).contains("slow"));
    assert!(!root.join("var/lib/alp/scripts/slow").exists());
}

#[test]
fn a_failing_alp_sh_installs_nothing() {
    let root = TempDir::new("legacy-fail");
    let work = TempDir::new("legacy-src");
    let file = work.join("bad-1.0.alp");
    write_alp(&file, "bad", "1.0", "#!/bin/sh\necho broken >&2\nexit 3\n", "#!/bin/sh\n", None);
    let err = fails(alp(root.path()).arg("install-local").arg(&file), 1);
    assert!(err.contains("exit code 3"), "{err}");
    assert!(!installed_json(root.path()).contains("\"bad\""));
}

#[test]
fn reinstalling_needs_yes_and_runs_the_remove_script_first() {
    let root = TempDir::new("legacy-again");
    let prefix = TempDir::new("legacy-prefix");
    let work = TempDir::new("legacy-src");
    let file = work.join("twice-1.0.alp");
    let log = |what: &str| format!("#!/bin/sh\necho {what} >> \"$ALP_TEST_PREFIX/log\"\n");
    write_alp(&file, "twice", "1.0", &log("install"), &log("remove"), None);
    ok(alp(root.path()).env("ALP_TEST_PREFIX", prefix.path()).arg("install-local").arg(&file));
    let err = fails(alp(root.path()).env("ALP_TEST_PREFIX", prefix.path()).arg("install-local").arg(&file), 7);
    assert!(err.contains("already installed") && err.contains("--yes"), "{err}");
    ok(alp(root.path()).env("ALP_TEST_PREFIX", prefix.path()).args(["--yes", "install-local"]).arg(&file));
    assert_eq!(std::fs::read_to_string(prefix.join("log")).unwrap(), "install\nremove\ninstall\n");
}

#[test]
fn bad_alp_files_are_refused_with_the_reason() {
    let root = TempDir::new("legacy-bad");
    let work = TempDir::new("legacy-src");
    let future = work.join("future.alp");
    std::fs::write(&future, r#"{"format_version":"3.0","metadata":{"name":"x","version":"1"},"files":{}}"#).unwrap();
    assert!(fails(alp(root.path()).arg("install-local").arg(&future), 6).contains("format_version '3.0'"));
    let junk = work.join("junk.alp");
    std::fs::write(&junk, "not json at all").unwrap();
    assert!(fails(alp(root.path()).arg("install-local").arg(&junk), 6).contains("not valid JSON"));
    assert!(fails(alp(root.path()).arg("install-local").arg(work.join("missing.alp")), 1).contains("missing.alp"));
}

#[test]
fn install_local_of_a_normal_archive_is_a_normal_install() {
    let root = TempDir::new("legacy-targz");
    let repo = TempDir::new("legacy-repo");
    make_repo(repo.path(), &[Pkg::new("plain", "2.0")]);
    ok(alp(root.path()).arg("install-local").arg(repo.join("plain-2.0.tar.zst")));
    assert_eq!(std::fs::read_to_string(root.join("usr/share/plain/VERSION")).unwrap(), "2.0");
}

/// A copy of the fixture project (the fixture files are read-only).
fn copy_project(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(fixture("greeter-src")).unwrap().flatten() {
        let dest = to.join(e.file_name());
        std::fs::copy(e.path(), &dest).unwrap();
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() | 0o200;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

#[test]
fn compile_of_the_old_layout_gives_an_archive_that_installs() {
    let out = TempDir::new("legacy-out");
    let built = ok(common::alp(out.path()).arg("compile").arg(fixture("greeter-src")).arg("-o").arg(out.path()));
    let archive = out.join("greeter-1.2.0.tar.zst");
    assert!(archive.is_file(), "no archive: {built}");
    let root = TempDir::new("legacy-root");
    let prefix = TempDir::new("legacy-prefix");
    // check_dependencies would look for coreutils-lite in a repository; there is none here.
    ok(alp(root.path())
        .env("ALP_CHECK_DEPENDENCIES", "false")
        .env("ALP_TEST_PREFIX", prefix.path())
        .arg("install")
        .arg(&archive));
    assert_eq!(
        std::fs::read_to_string(root.join("usr/local/share/greeter/greeter.sh")).unwrap(),
        "#!/bin/sh\necho \"merhaba from greeter\"\n"
    );
    assert!(prefix.join("bin/greeter").is_file(), "the install hook (alp.sh) did not run with ALP_MAIN_FILE set");
    let info = ok(alp(root.path()).args(["--json", "info", "greeter"]));
    assert!(
        info.contains(r#""description":"Prints a friendly greeting""#) && info.contains("coreutils-lite"),
        "{info}"
    );
    let out = ok_all(alp(root.path()).env("ALP_TEST_PREFIX", prefix.path()).args(["remove", "greeter"]));
    assert!(out.contains("greeter removed"), "{out}");
    assert!(!prefix.join("bin/greeter").exists());
}

/// A repository with the dependency the fixture project names.
fn deps_repo() -> TempDir {
    let repo = TempDir::new("legacy-deps");
    make_repo(repo.path(), &[Pkg::new("coreutils-lite", "1.0")]);
    repo
}

#[test]
fn legacy_source_url_installs_from_a_local_server() {
    let served = TempDir::new("legacy-served");
    copy_project(&served.join("greeter"));
    let server = Server::start(served.path());
    let deps = deps_repo();
    let root = TempDir::new("legacy-root");
    let prefix = TempDir::new("legacy-prefix");
    let source = format!("legacy+{}/greeter", server.url());
    let alp_with = |args: &[&str]| {
        let mut c = alp(root.path());
        c.env("ALP_TEST_PREFIX", prefix.path())
            .arg("--allow-untrusted")
            .arg("--repo")
            .arg(&source)
            .arg("--repo")
            .arg(deps.path());
        c.args(args);
        c
    };
    let err = fails(alp(root.path()).arg("--repo").arg(&source).arg("update"), 5);
    assert!(err.contains("legacy source cannot be signed"), "{err}");
    let list = ok(&mut alp_with(&["--json", "list"]));
    assert!(list.contains(r#""name":"greeter""#) && list.contains(r#""version":"1.2.0""#), "{list}");
    ok(&mut alp_with(&["install", "greeter"]));
    assert!(installed_json(root.path()).contains("coreutils-lite"), "the dependency from the normal repository");
    assert!(prefix.join("bin/greeter").is_file());
    assert!(server.hits("/greeter/alp.sh") >= 1 && server.hits("/greeter/greeter.sh") >= 1);
    ok(&mut alp_with(&["remove", "greeter"]));
    assert!(!prefix.join("bin/greeter").exists());
}

#[test]
fn legacy_github_url_maps_through_legacy_raw_base() {
    // Only a master branch: main is tried first (404), then master, as the old tool did.
    let served = TempDir::new("legacy-served");
    copy_project(&served.join("ayse/greeter/master"));
    let server = Server::start(served.path());
    let deps = deps_repo();
    let root = TempDir::new("legacy-root");
    let prefix = TempDir::new("legacy-prefix");
    ok(alp(root.path()).args(["config", "set", "legacy_raw_base"]).arg(server.url()));
    std::fs::write(
        root.join("etc/alp/repositories"),
        format!("legacy+https://github.com/ayse/greeter\n{}\n", deps.path().display()),
    )
    .unwrap();
    ok(alp(root.path()).args(["--allow-untrusted", "update"]));
    assert_eq!(server.hits("/ayse/greeter/main/README.md"), 1);
    assert_eq!(server.hits("/ayse/greeter/master/README.md"), 1);
    ok(alp(root.path()).env("ALP_TEST_PREFIX", prefix.path()).args(["--allow-untrusted", "install", "greeter"]));
    assert!(prefix.join("bin/greeter").is_file());
    // A fresh kept index is used as is: no new requests within update_interval.
    let before = server.total();
    ok(alp(root.path()).args(["--allow-untrusted", "search", "greeting"]));
    assert_eq!(server.total(), before);
}

/// An old `~/.alp` as the fixture's tool left it after `install-local greeter-1.2.0.alp`.
fn old_home(config: &str) -> TempDir {
    let home = TempDir::new("legacy-home");
    let dir = home.join(".alp");
    std::fs::create_dir_all(dir.join("installed/greeter")).unwrap();
    std::fs::copy(fixture("old-installed.json"), dir.join("installed.json")).unwrap();
    std::fs::write(dir.join("config.json"), config).unwrap();
    let script = dir.join("installed/greeter/alp_u.sh");
    std::fs::copy(fixture("greeter-src/alp_u.sh"), &script).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    home
}

#[test]
fn migrate_brings_records_settings_and_the_kept_remove_script() {
    let home = old_home(
        r#"{"auto_update": true, "cache_size": 500, "keep_cache": false, "github_token": "x", "retries": "many"}"#,
    );
    let root = TempDir::new("legacy-root");
    let out = ok(alp(root.path()).arg("migrate").arg("--from").arg(home.join(".alp")));
    assert!(out.contains("greeter 1.2.0"), "{out}");
    assert!(out.contains("cache_size = 500") && out.contains("keep_cache = false"), "{out}");
    assert!(out.contains("'github_token': alp has no such setting"), "{out}");
    assert!(out.contains("'retries'") && out.contains("installed files"), "{out}");
    assert_eq!(ok(alp(root.path()).args(["config", "get", "cache_size"])).trim(), "500");
    let db = installed_json(root.path());
    assert!(db.contains(&format!("migrated:{}", home.join(".alp/installed.json").display())), "{db}");
    assert!(db.contains("coreutils-lite") && db.contains("Prints a friendly greeting"), "{db}");
    let listed = ok(alp(root.path()).arg("installed"));
    assert!(listed.contains("greeter") && listed.contains("2026-11-26"), "{listed}");

    // A second run changes nothing and says why.
    let again = ok(alp(root.path()).arg("migrate").arg("--from").arg(home.join(".alp")));
    assert!(again.contains("already installed here") && again.contains("already sets it"), "{again}");

    // The kept alp_u.sh is the remove hook.
    let prefix = TempDir::new("legacy-prefix");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    std::fs::write(prefix.join("bin/greeter"), "old").unwrap();
    let out = ok_all(alp(root.path()).env("ALP_TEST_PREFIX", prefix.path()).args(["remove", "greeter"]));
    assert!(out.contains("greeter removed") && !prefix.join("bin/greeter").exists(), "{out}");
}

#[test]
fn migrate_simulate_changes_nothing() {
    let home = old_home("{}");
    let root = TempDir::new("legacy-root");
    let out = ok(alp(root.path()).args(["--simulate", "migrate", "--from"]).arg(home.join(".alp")));
    assert!(out.contains("would bring") && out.contains("greeter 1.2.0"), "{out}");
    assert!(!root.join("var/lib/alp/installed.json").exists());
}

#[test]
fn migrate_needs_home_or_from() {
    let root = TempDir::new("legacy-root");
    let err = fails(alp(root.path()).env_remove("HOME").arg("migrate"), 2);
    assert!(err.contains("HOME is not set") && err.contains("--from"), "{err}");
    let nowhere = root.join("no-such-dir");
    assert!(fails(alp(root.path()).arg("migrate").arg("--from").arg(&nowhere), 1).contains("no-such-dir"));
}
