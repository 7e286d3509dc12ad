//! The first hour of a demanding user (issue 16), through the real binary: command-line
//! conventions, close-match suggestions, exit codes as the README documents them, the
//! apk-style queries, honest output, `--json` shapes, exact messages, completions, the man
//! page, and the docs' own commands.

mod common;
use common::*;
use miniserde::json::{self, Value};
use std::process::Command;

/// A repository with foo 1.0.0 and 1.1.0 (foo 1.1.0 needs lib), lib, and an unrelated bar.
fn repo() -> TempDir {
    let repo = TempDir::new("repo");
    make_repo(
        repo.path(),
        &[
            Pkg::new("foo", "1.0.0"),
            Pkg { name: "foo", version: "1.1.0", depends: &["lib"], files: &[] },
            Pkg::new("lib", "2.0"),
            Pkg::new("bar", "3.0"),
        ],
    );
    repo
}

fn alp_r(root: &std::path::Path, repo: &TempDir) -> Command {
    let mut c = alp(root);
    c.args(["--repo", repo.path().to_str().unwrap(), "--allow-untrusted"]);
    c
}

fn parse(out: &str) -> Value {
    json::from_str(out.trim()).unwrap_or_else(|_| panic!("not one JSON document: {out}"))
}

#[test]
fn missing_arguments_are_named_and_key_lists_its_actions() {
    let root = TempDir::new("root");
    let err = fails(alp(root.path()).arg("search"), 2);
    assert!(err.contains("missing TERM"), "{err}");
    let err = fails(alp(root.path()).arg("key"), 2);
    assert!(err.contains("missing ACTION") && err.contains("generate"), "{err}");
    assert!(!err.contains("Required positional"), "{err}");
}

#[test]
fn help_and_version_work_anywhere_with_one_grouped_help() {
    let root = TempDir::new("root");
    let plain = ok(Command::new(bin()).arg("help"));
    assert!(plain.contains("Packages:") && plain.contains("--dry-run"), "{plain}");
    assert_eq!(ok(alp(root.path()).arg("help")), plain);
    assert_eq!(ok(Command::new(bin()).arg("-h")), plain);
    assert_eq!(ok(alp(root.path()).arg("--help")), plain);
    assert!(ok(alp(root.path()).arg("--version")).starts_with("alp "));
    assert!(ok(alp(root.path()).args(["install", "--version"])).starts_with("alp "));
    let install = ok(alp(root.path()).args(["install", "-h"]));
    assert!(install.contains("Examples:") && install.contains("alp install jq"), "{install}");
    assert!(install.contains("Global Options:") && install.contains("--allow-setuid"), "{install}");
    assert_eq!(ok(alp(root.path()).args(["help", "install"])), install);
    let search = ok(alp(root.path()).args(["search", "--help"]));
    assert!(search.contains("--json") && !search.contains("--allow-setuid"), "{search}");
}

#[test]
fn global_flags_anywhere_combined_and_dry_run_aliases() {
    let repo = repo();
    let root = TempDir::new("root");
    let r = repo.path().to_str().unwrap();
    for dry in ["-n", "--dry-run", "--simulate"] {
        let out = ok(alp(root.path()).args(["install", "bar", dry, "--repo", r, "--allow-untrusted"]));
        assert_eq!(out.trim(), "install bar 3.0", "{dry}");
        assert!(!root.join("usr/share/bar").exists());
    }
    let o = run(alp(root.path()).args(["install", "bar", "-qy", "--repo", r, "--allow-untrusted"]));
    assert!(o.status.success() && !stderr(&o).contains("installed bar"), "{}", stderr(&o));
    assert!(root.join("usr/share/bar/VERSION").exists());
    let o = run(alp_r(root.path(), &repo).args(["-v", "install", "foo"]));
    let err = stderr(&o);
    assert!(o.status.success() && err.contains("fetching") && err.contains("took"), "{err}");
}

#[test]
fn close_matches_are_suggested_and_names_match_in_any_case() {
    let repo = repo();
    let root = TempDir::new("root");
    let err = fails(alp(root.path()).arg("instal"), 2);
    assert!(err.contains("did you mean install?"), "{err}");
    let err = fails(alp(root.path()).args(["install", "--jsn", "x"]), 2);
    assert!(err.contains("did you mean --json?"), "{err}");
    let err = fails(alp_r(root.path(), &repo).args(["install", "fooo"]), 3);
    assert!(err.contains("did you mean foo?"), "{err}");
    ok(alp_r(root.path(), &repo).args(["install", "BAR"]));
    assert!(ok(alp(root.path()).arg("installed")).contains("bar"));
    ok(alp(root.path()).args(["remove", "Bar"]));
    // name@V is name=V.
    ok(alp_r(root.path(), &repo).args(["install", "foo@1.0.0"]));
    assert!(ok(alp(root.path()).arg("installed")).contains("1.0.0"));
}

/// The README's table, code → meaning.
fn readme_exit_codes() -> Vec<(i32, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme.split("## Exit codes").nth(1).expect("README has an exit-code section");
    table
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() >= 3).then(|| cells[1].parse().ok().map(|c| (c, cells[2].to_string())))?
        })
        .collect()
}

#[test]
fn exit_codes_are_the_readme_table_and_the_same_case_gets_the_same_code() {
    let table = readme_exit_codes();
    assert_eq!(table.iter().map(|r| r.0).collect::<Vec<_>>(), (0..=8).collect::<Vec<_>>());
    // The binary's own account (man page) says what the README says.
    let man = ok(Command::new(bin()).arg("man")).replace("\\-", "-").replace("\\e", "\\");
    for (code, meaning) in &table[1..] {
        assert!(man.contains(&format!(".B {code}\n{meaning}")), "man page disagrees on {code}: {meaning}");
    }
    let repo = repo();
    let root = TempDir::new("root");
    // No such package: the same code whether installing, removing, upgrading or asking.
    fails(alp_r(root.path(), &repo).args(["install", "nosuch"]), 3);
    fails(alp(root.path()).args(["remove", "nosuch"]), 3);
    fails(alp_r(root.path(), &repo).args(["upgrade", "nosuch"]), 3);
    fails(alp(root.path()).args(["files", "nosuch"]), 3);
    fails(alp(root.path()).args(["why", "nosuch"]), 3);
    fails(alp(root.path()).args(["search"]), 2);
    let hook = TempDir::new("hookroot");
    std::fs::write(hook.join("x"), "").unwrap();
    fails(alp(&hook.join("x")).arg("installed"), 2);
}

#[test]
fn files_owner_why_outdated_and_reinstall() {
    let repo = repo();
    let root = TempDir::new("root");
    ok(alp_r(root.path(), &repo).args(["install", "foo=1.0.0", "bar"]));
    let files = ok(alp(root.path()).args(["files", "foo"]));
    let path = root.join("usr/share/foo/VERSION");
    assert_eq!(files.trim(), path.display().to_string());
    let owner = ok(alp(root.path()).args(["owner", path.to_str().unwrap()]));
    assert!(owner.contains("owned by foo 1.0.0"), "{owner}");
    assert!(ok(alp(root.path()).args(["owner", "/usr/share/foo/VERSION"])).contains("foo 1.0.0"));
    fails(alp(root.path()).args(["owner", "/etc/passwd"]), 3);

    // foo=1.0.0 in the world file holds foo back; outdated and upgrade say so.
    let out = run(alp_r(root.path(), &repo).arg("outdated"));
    assert!(stderr(&out).contains("'foo=1.0.0'") && stderr(&out).contains("holds it back"), "{}", stderr(&out));
    let up = run(alp_r(root.path(), &repo).arg("upgrade"));
    let err = stderr(&up);
    assert!(up.status.success() && err.contains("holds it back") && err.contains("fetched"), "{err}");
    ok(alp_r(root.path(), &repo).args(["install", "foo>=1.0"]));
    let out = ok(alp_r(root.path(), &repo).args(["--json", "outdated"]));
    assert!(out.contains(r#"{"action":"upgrade","from":"1.0.0","name":"foo","to":"1.1.0"}"#), "{out}");
    let out = ok(alp_r(root.path(), &repo).arg("outdated"));
    assert!(out.lines().any(|l| l == "upgrade foo 1.0.0 -> 1.1.0"), "{out}");
    ok(alp_r(root.path(), &repo).arg("upgrade"));

    let why = ok(alp(root.path()).args(["why", "lib"]));
    assert!(why.contains("needed by foo 1.1.0 (lib)") && why.contains("foo -> lib"), "{why}");
    assert!(ok(alp(root.path()).args(["why", "foo"])).contains("requested: foo>=1.0"));

    // Reinstall puts a changed file back, through the transaction.
    std::fs::write(root.join("usr/share/lib/VERSION"), "tampered").unwrap();
    let o = run(alp_r(root.path(), &repo).args(["install", "--reinstall", "lib"]));
    assert!(o.status.success() && stderr(&o).contains("reinstalled lib 2.0"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(root.join("usr/share/lib/VERSION")).unwrap(), "2.0");

    // Removing foo leaves lib an orphan: offered, removed with --yes.
    let o = run(alp(root.path()).args(["--simulate", "remove", "foo"]));
    assert!(stderr(&o).contains("no longer needed by anything: lib"), "{}", stderr(&o));
    let o = run(alp(root.path()).args(["--yes", "remove", "foo"]));
    assert!(o.status.success() && stderr(&o).contains("removed lib 2.0"), "{}", stderr(&o));
    assert!(!root.join("usr/share/lib").exists());
    assert!(root.join("usr/share/bar/VERSION").exists(), "bar was asked for: not an orphan");
}

#[test]
fn list_shows_installed_and_upgradable_versions() {
    let repo = repo();
    let root = TempDir::new("root");
    ok(alp_r(root.path(), &repo).args(["install", "foo=1.0.0"]));
    let list = ok(alp_r(root.path(), &repo).args(["--no-color", "list"]));
    assert!(list.contains("foo 1.1.0 (test) [installed 1.0.0, upgradable]"), "{list}");
    let all = ok(alp_r(root.path(), &repo).args(["--no-color", "list", "--all-versions"]));
    assert!(all.contains("foo 1.1.0") && all.contains("foo 1.0.0 (test) [installed]"), "{all}");
    let o = run(alp_r(root.path(), &repo).args(["list", "tset"]));
    assert!(o.status.success() && stdout(&o).is_empty(), "{}", stdout(&o));
    assert!(stderr(&o).contains("no package in category 'tset'; did you mean test?"), "{}", stderr(&o));
}

#[test]
fn honest_messages_for_downgrades_updates_simulations_and_local_info() {
    let repo = repo();
    let root = TempDir::new("root");
    ok(alp_r(root.path(), &repo).args(["install", "foo"]));
    let o = run(alp_r(root.path(), &repo).args(["install", "foo<1.1"]));
    assert!(stderr(&o).contains("downgraded foo 1.1.0 -> 1.0.0"), "{}", stderr(&o));
    // Nothing to do, said once.
    let o = run(alp_r(root.path(), &repo).args(["--simulate", "install", "foo<1.1"]));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(said.matches("nothing to do").count(), 1, "{said}");
    // update with no change says so in JSON.
    std::fs::write(root.join("etc/alp/repositories"), format!("{}\n", repo.path().display())).unwrap();
    ok(alp(root.path()).args(["--allow-untrusted", "update"]));
    let out = ok(alp(root.path()).args(["--allow-untrusted", "--json", "update"]));
    assert!(out.starts_with(r#"{"changed":false"#), "{out}");
    let o = run(alp(root.path()).args(["--allow-untrusted", "update"]));
    assert!(!stderr(&o).contains("1 packages"), "{}", stderr(&o));

    // A local archive: sizes measured, no empty Author:/License: lines.
    let local = TempDir::new("local");
    let src = local.join("src");
    std::fs::create_dir_all(src.join(".ALP")).unwrap();
    std::fs::write(src.join(".ALP/package.json"), r#"{"name":"loc","version":"1"}"#).unwrap();
    std::fs::create_dir_all(src.join("opt")).unwrap();
    std::fs::write(src.join("opt/data"), vec![b'x'; 5000]).unwrap();
    ok(Command::new(bin()).arg("build").arg(&src).arg("-o").arg(local.path()));
    let archive = std::fs::read_dir(local.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".tar.zst"))
        .unwrap();
    let empty = TempDir::new("root2");
    ok(alp(empty.path()).arg("install").arg(&archive));
    let info = ok(alp(empty.path()).args(["info", "loc"]));
    assert!(!info.contains("Author:") && !info.contains("License:"), "{info}");
    assert!(info.contains("Installed size:  4.9 KiB") && !info.contains("Archive size:    4.9"), "{info}");
}

#[test]
fn json_plans_and_changes_are_objects_and_failures_are_documents() {
    let repo = repo();
    let root = TempDir::new("root");
    let out = ok(alp_r(root.path(), &repo).args(["--json", "--simulate", "install", "bar"]));
    assert_eq!(out.trim(), r#"{"plan":[{"action":"install","from":null,"name":"bar","to":"3.0"}],"simulate":true}"#);
    let out = ok(alp_r(root.path(), &repo).args(["--json", "install", "bar"]));
    assert_eq!(out.trim(), r#"{"changes":[{"action":"install","from":null,"name":"bar","to":"3.0"}]}"#);
    let o = run(alp_r(root.path(), &repo).args(["--json", "install", "nosuch"]));
    assert_eq!(o.status.code(), Some(3));
    let Value::Object(doc) = parse(&stdout(&o)) else { panic!() };
    let Some(Value::Object(e)) = doc.get("error") else { panic!("{}", stdout(&o)) };
    assert!(matches!(e.get("code"), Some(Value::Number(_))) && matches!(e.get("message"), Some(Value::String(_))));
    assert!(stderr(&o).contains("alp: error:"));
    // A usage error too.
    let o = run(alp(root.path()).args(["--json", "frobnicate"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).starts_with(r#"{"error":{"code":2,"#), "{}", stdout(&o));
}

#[test]
fn config_errors_say_where_and_what_and_the_environment_is_named() {
    let root = TempDir::new("root");
    std::fs::create_dir_all(root.join("etc/alp")).unwrap();
    std::fs::write(root.join("etc/alp/config.json"), "{\n  \"timeout\": 5,\n  retries: 2\n}").unwrap();
    let err = fails(alp(root.path()).arg("installed"), 2);
    assert!(err.contains("line 3, column 3"), "{err}");
    std::fs::write(root.join("etc/alp/config.json"), r#"{"timeuot": 5}"#).unwrap();
    let err = fails(alp(root.path()).arg("installed"), 2);
    assert!(err.contains("unknown config key 'timeuot'; did you mean timeout?"), "{err}");
    std::fs::write(root.join("etc/alp/config.json"), r#"{"timeout": "soon"}"#).unwrap();
    let err = fails(alp(root.path()).arg("installed"), 2);
    assert!(err.contains("timeout must be a whole number"), "{err}");
    std::fs::remove_file(root.join("etc/alp/config.json")).unwrap();

    let repo = repo();
    let o = run(alp(root.path()).env("ALP_VERIFY_PACKAGES", "false").args([
        "--repo",
        repo.path().to_str().unwrap(),
        "list",
    ]));
    let err = stderr(&o);
    assert!(err.contains("ALP_VERIFY_PACKAGES=false in the environment") && !err.contains("config.json"), "{err}");
    let o = run(alp_r(root.path(), &repo).arg("list"));
    assert!(!stderr(&o).contains("pass --allow-untrusted"), "{}", stderr(&o));
    let err = fails(alp(root.path()).args(["--repo", repo.path().to_str().unwrap(), "list"]), 5);
    assert!(err.contains("pass --allow-untrusted"), "{err}");
}

/// Runs alp under a pseudo-terminal (`script`) with `env`, returning what the terminal showed.
fn on_a_terminal(env: &[(&str, &str)], args: &str) -> String {
    let cmd = format!("{} {args}", bin());
    let mut c = Command::new("script");
    c.args(["-qefc", &cmd, "/dev/null"]).env_remove("CI").env_remove("NO_COLOR");
    c.envs(env.iter().copied());
    String::from_utf8_lossy(&c.output().expect("script(1) from util-linux").stdout).into_owned()
}

#[test]
fn the_progress_bar_fits_forty_columns_and_names_the_package() {
    let repo = TempDir::new("repo");
    let blob = noise(240_000);
    make_repo(
        repo.path(),
        &[Pkg { name: "bigpackage", version: "1", depends: &[], files: &[("usr/share/big", &blob, 0o644)] }],
    );
    let server = Server::start(repo.path());
    server.set("/bigpackage-1.tar.zst", Behaviour::Throttle(200_000));
    let root = TempDir::new("root");
    let args = format!("--root {} --repo {} --allow-untrusted install bigpackage", root.path().display(), server.url());
    let shown = on_a_terminal(&[("COLUMNS", "40")], &args);
    let drawn: Vec<&str> = shown.split(['\r', '\n']).map(|l| l.trim_end_matches("\x1b[K")).collect();
    assert!(drawn.iter().any(|l| l.contains("bigpackage") && l.contains('[')), "{shown:?}");
    for l in drawn.iter().filter(|l| !l.contains("alp:")) {
        assert!(l.chars().count() < 40, "wider than 40 columns: {l:?}");
    }
}

#[test]
fn installed_has_a_header_on_a_terminal_only() {
    let repo = repo();
    let root = TempDir::new("root");
    ok(alp_r(root.path(), &repo).args(["install", "bar"]));
    let shown = on_a_terminal(&[("NO_COLOR", "1")], &format!("--root {} installed", root.path().display()));
    assert!(shown.contains("NAME") && shown.contains("VERSION"), "{shown}");
    assert!(!ok(alp(root.path()).arg("installed")).contains("NAME"));
}

#[test]
fn bash_completes_installed_and_available_package_names_offline() {
    // The signed example repository as the root's own setting; installing caches its index.
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let root = TempDir::new("complete");
    std::fs::create_dir_all(root.join("etc/alp/keys")).unwrap();
    std::fs::copy(examples.join("keys/example.pub"), root.join("etc/alp/keys/example.pub")).unwrap();
    std::fs::write(root.join("etc/alp/repositories"), format!("{}\n", examples.join("repo").display())).unwrap();
    ok(alp(root.path()).args(["install", "hello"]));
    let script = ok(Command::new(bin()).args(["completions", "bash"]));
    let complete = |words: &str| {
        let dir = std::path::Path::new(bin()).parent().unwrap().display().to_string();
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "{script}\nCOMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _alp; printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ))
            .env("PATH", format!("{dir}:/usr/bin:/bin"))
            .env("ALP_ROOT", root.path())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete("alp remove h").lines().collect::<Vec<_>>(), ["hello"]);
    let install = complete("alp install ''");
    for name in ["hello", "libgreet", "motd"] {
        assert!(install.lines().any(|l| l == name), "{name} not offered: {install}");
    }
    let files = complete("alp files ''");
    assert!(files.lines().any(|l| l == "hello") && !files.lines().any(|l| l == "motd"), "{files}");
}

#[test]
fn completions_and_man_page_come_from_the_command_table() {
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(Command::new(bin()).args(["completions", shell]));
        assert!(script.contains("outdated") && script.contains("reinstall") && script.contains("root"), "{shell}");
    }
    let bash = ok(Command::new(bin()).args(["completions", "bash"]));
    let check = Command::new("bash").args(["-n", "-c", &bash]).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    fails(Command::new(bin()).args(["completions", "tcsh"]), 2);
    let man = ok(Command::new(bin()).arg("man"));
    assert!(man.starts_with(".TH ALP 1") && man.contains("alp why NAME") && man.contains("dry\\-run"), "{man}");
}

#[test]
fn install_sh_takes_long_options() {
    let sh = concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh");
    let o = Command::new("sh").args([sh, "--help"]).output().unwrap();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("usage:"));
    let o = Command::new("sh").args([sh, "--bogus"]).output().unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("unknown option: --bogus"));
}

/// Each `alp …` line in the README's and recipes' shell blocks that can run here (no
/// network, no docker) runs as written, in a directory with the `pkgdir` they build.
#[test]
fn the_docs_commands_run_as_written() {
    let dir = TempDir::new("docs");
    std::fs::create_dir_all(dir.join("pkgdir/.ALP")).unwrap();
    std::fs::write(dir.join("pkgdir/.ALP/package.json"), r#"{"name":"pkg","version":"1.0"}"#).unwrap();
    std::fs::write(dir.join("pkgdir/hello.txt"), "hi").unwrap();
    std::fs::create_dir_all(dir.join("repo")).unwrap();
    let bindir = std::path::Path::new(bin()).parent().unwrap();
    let path = format!("{}:{}", bindir.display(), std::env::var("PATH").unwrap_or_default());
    let mut ran = 0;
    for doc in ["README.md", "docs/recipes.md"] {
        let text = std::fs::read_to_string(format!("{}/{doc}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for block in text.split("```sh\n").skip(1).filter_map(|b| b.split("```").next()) {
            let joined = block.replace("\\\n", " ");
            for line in joined.lines().map(|l| l.split("  #").next().unwrap_or("").trim()) {
                // Commands that need no repository, network or container.
                let local = ["build", "key", "index", "sign", "verify", "help", "config", "man", "completions"];
                let runnable = line.split_whitespace().nth(1).is_some_and(|c| local.contains(&c))
                    && line.starts_with("alp ")
                    && !line.contains("://")
                    && !line.contains('…')
                    && !line.contains("--add"); // upstream assets are not here
                if !runnable {
                    continue;
                }
                let o = Command::new("sh")
                    .args(["-c", line])
                    .current_dir(dir.path())
                    .env("PATH", &path)
                    .env("ALP_ROOT", dir.join("root"))
                    .env("ALP_KEY_PASSWORD", "docs")
                    .output()
                    .unwrap();
                assert!(o.status.success(), "{doc}: `{line}` failed: {}", String::from_utf8_lossy(&o.stderr));
                ran += 1;
            }
        }
    }
    assert!(ran >= 3, "ran only {ran} commands from the docs");
    let dockerfiles = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/recipes.md")).unwrap();
    for block in dockerfiles.split("```dockerfile\n").skip(1).filter_map(|b| b.split("```").next()) {
        if block.contains("alp install") || block.contains("\"init\"") {
            assert!(block.contains("/etc/alp/keys/"), "a recipe installs with no trusted key:\n{block}");
            assert!(
                block.contains("--repo")
                    || block.contains("ALP_REPOSITORIES")
                    || block.contains("/etc/alp/repositories"),
                "a recipe installs with no repository:\n{block}"
            );
        }
    }
}

#[test]
fn build_warns_about_an_unknown_package_json_field() {
    let dir = TempDir::new("pkg");
    std::fs::create_dir_all(dir.join("p/.ALP")).unwrap();
    std::fs::write(dir.join("p/.ALP/package.json"), r#"{"name":"a","version":"1","licence":"MIT"}"#).unwrap();
    let o = run(Command::new(bin()).arg("build").arg(dir.join("p")).arg("-o").arg(dir.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown field 'licence' is ignored; did you mean license?"), "{}", stderr(&o));
}

/// `alp build` of a large tree shows the bar too, naming the package, within the width.
#[test]
fn build_of_a_large_tree_shows_progress() {
    let src = TempDir::new("bigsrc");
    std::fs::create_dir_all(src.join(".ALP")).unwrap();
    std::fs::write(src.join(".ALP/package.json"), r#"{"name":"bigtree","version":"1"}"#).unwrap();
    let mut x = 0x9e3779b97f4a7c15u64;
    for i in 0..24 {
        let data: Vec<u8> = (0..1 << 19)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(src.join(&format!("f{i}")), data).unwrap();
    }
    let out = TempDir::new("bigout");
    let args = format!("build --format xz {} -o {}", src.path().display(), out.path().display());
    let shown = on_a_terminal(&[("COLUMNS", "60")], &args);
    let drawn: Vec<&str> = shown.split(['\r', '\n']).map(|l| l.trim_end_matches("\x1b[K")).collect();
    assert!(drawn.iter().any(|l| l.contains("bigtree") && l.contains('[')), "{shown:?}");
    assert!(drawn.iter().all(|l| l.chars().count() < 60), "{shown:?}");
}
