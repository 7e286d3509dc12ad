//! `alp init` as a container entrypoint, driven as real processes: alp runs as PID 1 of a new
//! PID namespace (`unshare --pid --fork --mount-proc`, which needs root) or as a plain child
//! (then as child subreaper), against a real HTTP server that counts requests.

mod common;

use common::{Pkg, Server, TempDir, alp, bin, fails, make_repo, ok, run, stderr, stdout};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long any poll waits before the test gives up; every wait ends far sooner when things work.
const PATIENCE: Duration = Duration::from_secs(10);

/// `alp --root ROOT init` as PID 1 of a fresh PID namespace with its own /proc.
fn alp_pid1(root: &Path) -> Command {
    let template = alp(root);
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--mount-proc", "--"]).arg(bin()).args(template.get_args()).arg("init");
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

/// `alp --root ROOT init` as an ordinary process (not PID 1).
fn alp_init(root: &Path) -> Command {
    let mut c = alp(root);
    c.arg("init");
    c
}

/// Polls `cond` every few milliseconds until it holds or `PATIENCE` runs out.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The host pid of the process `unshare --fork` started (alp, PID 1 inside).
fn pid1_host_pid(unshare: &Child) -> i32 {
    let children = format!("/proc/{0}/task/{0}/children", unshare.id());
    let mut pid = 0;
    wait_until("unshare to start alp", || {
        pid = read(Path::new(&children)).split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(0);
        pid != 0
    });
    pid
}

/// Waits for a child with a deadline, killing it (and failing) if it hangs.
fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("alp init did not exit");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

fn send(pid: i32, sig: i32) {
    // SAFETY: kill takes plain integers; `pid` is a process this test started.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

#[test]
fn pid1_reaps_orphaned_grandchildren() {
    let root = TempDir::new("init-reap");
    // Five grandchildren are orphaned (their parent shell exits at once) and so become
    // children of PID 1; each must vanish from /proc once it exits, never linger as a zombie.
    let script = r#"
        : > "$1"
        for i in 1 2 3 4 5; do sh -c 'sleep 0.05 & echo $! >> "$1"' inner "$1"; done
        n=0
        for o in $(cat "$1"); do
            while [ -e /proc/$o ] && [ $n -lt 400 ]; do n=$((n+1)); sleep 0.02; done
            [ -e /proc/$o ] && { echo "orphan $o left: $(grep State /proc/$o/status)"; exit 1; }
        done
        z=$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null)
        [ -n "$z" ] && { echo "zombies: $z"; exit 1; }
        echo "reaped $(wc -l < "$1")"
    "#;
    let o = run(alp_pid1(root.path()).args(["--", "sh", "-c", script, "sh"]).arg(root.join("orphans")));
    assert_eq!(o.status.code(), Some(0), "stdout: {}\nstderr: {}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).trim(), "reaped 5");
}

#[test]
fn subreaper_reaps_orphans_when_not_pid1() {
    let root = TempDir::new("init-subreaper");
    // Outside a namespace the orphan must be re-parented to alp (its grandparent, $PPID of
    // this shell), not to the host's init, and reaped by it.
    let script = r#"
        sh -c 'sleep 0.2 & echo $! > "$1"' inner "$1"
        o=$(cat "$1"); adopted=no; n=0
        while [ -e /proc/$o ] && [ $n -lt 400 ]; do
            ppid=$(awk '/^PPid:/ {print $2}' /proc/$o/status 2>/dev/null)
            [ "$ppid" = "$PPID" ] && adopted=yes
            state=$(awk '/^State:/ {print $2}' /proc/$o/status 2>/dev/null)
            [ "$state" = Z ] && [ $n -gt 50 ] && { echo "orphan $o is a zombie"; exit 1; }
            n=$((n+1)); sleep 0.02
        done
        [ -e /proc/$o ] && { echo "orphan $o still there"; exit 1; }
        echo "adopted=$adopted"
    "#;
    let out = ok(alp_init(root.path()).args(["--", "sh", "-c", script, "sh"]).arg(root.join("orphan")));
    assert_eq!(out.trim(), "adopted=yes");
}

/// Starts `alp init [flags] -- sh -c SCRIPT sh LOG READY` as PID 1 of a new PID namespace and
/// waits until the script has written READY (`waiting_for` says what that means). Returns the
/// `unshare` process, alp's pid on the host, and LOG.
fn start_script_as_pid1(root: &Path, flags: &[&str], script: &str, waiting_for: &str) -> (Child, i32, PathBuf) {
    let (log, ready) = (root.join("log"), root.join("ready"));
    let child = alp_pid1(root)
        .args(flags)
        .args(["--", "sh", "-c", script, "sh"])
        .arg(&log)
        .arg(&ready)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid1 = pid1_host_pid(&child);
    wait_until(waiting_for, || ready.exists());
    (child, pid1, log)
}

#[test]
fn pid1_forwards_each_signal_to_the_child() {
    let root = TempDir::new("init-signals");
    let script = r#"
        for s in HUP INT QUIT USR1 USR2 WINCH CONT; do trap "echo $s >> $1" $s; done
        trap "echo TERM >> $1; exit 0" TERM
        echo ready > "$2"
        while :; do sleep 0.01; done
    "#;
    let (child, pid1, log) = start_script_as_pid1(root.path(), &[], script, "the child to set its traps");
    let signals = [
        ("HUP", libc::SIGHUP),
        ("INT", libc::SIGINT),
        ("QUIT", libc::SIGQUIT),
        ("USR1", libc::SIGUSR1),
        ("USR2", libc::SIGUSR2),
        ("WINCH", libc::SIGWINCH),
        ("CONT", libc::SIGCONT),
        ("TERM", libc::SIGTERM),
    ];
    for (i, (name, sig)) in signals.iter().enumerate() {
        send(pid1, *sig);
        wait_until(&format!("SIG{name} to reach the child"), || read(&log).lines().count() > i);
    }
    let o = finish(child);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let got: Vec<String> = read(&log).lines().map(str::to_string).collect();
    assert_eq!(got, signals.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>());
}

#[test]
fn group_flag_reaches_a_grandchild_behind_sh_c() {
    let root = TempDir::new("init-group");
    // The grandchild runs in the foreground of the outer shell; only a signal to the whole
    // process group reaches it.
    let script = r#"
        trap 'echo outer >> "$1"' TERM
        sh -c 'trap "echo grandchild >> \"$1\"; exit 0" TERM; echo ready > "$2"; while :; do sleep 0.01; done' inner "$1" "$2"
        echo done >> "$1"
    "#;
    let (child, pid1, log) = start_script_as_pid1(root.path(), &["-g"], script, "the grandchild to set its trap");
    send(pid1, libc::SIGTERM);
    let o = finish(child);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(read(&log).lines().collect::<Vec<_>>(), ["grandchild", "outer", "done"]);
}

#[test]
fn pid1_passes_exit_codes_through() {
    let root = TempDir::new("init-codes");
    let plain = root.join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\necho hi\n").unwrap();
    let cases: [(&[&str], i32); 4] = [
        (&["true"], 0),
        (&["sh", "-c", "exit 3"], 3),
        (&["sh", "-c", "kill -9 $$"], 137),
        (&["sh", "-c", "kill -TERM $$"], 143),
    ];
    for (cmd, code) in cases {
        let o = run(alp_pid1(root.path()).arg("--").args(cmd));
        assert_eq!(o.status.code(), Some(code), "{cmd:?}: stderr: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{cmd:?} must leave stderr to the command");
    }
    let err = fails(alp_pid1(root.path()).args(["--", "alp-no-such-command", "x"]), 127);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("'alp-no-such-command'") && err.contains("not found"), "{err}");
    let err = fails(alp_pid1(root.path()).arg("--").arg(&plain), 126);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("not an executable"), "{err}");
    let err = fails(alp_pid1(root.path()).args(["--", "/no/such/dir/tool"]), 127);
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn expect_flag_remaps_an_exit_code_to_zero() {
    let root = TempDir::new("init-expect");
    ok(alp_init(root.path()).args(["-e", "3", "--", "sh", "-c", "exit 3"]));
    ok(alp_init(root.path()).args(["-e", "143", "-e", "7", "--", "sh", "-c", "kill -TERM $$"]));
    let o = run(alp_init(root.path()).args(["-e", "3", "--", "sh", "-c", "exit 4"]));
    assert_eq!(o.status.code(), Some(4));
}

#[test]
fn stdio_passes_through_byte_for_byte() {
    let root = TempDir::new("init-stdio");
    let input: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    for (cmd, to_stderr) in [("cat", false), ("cat >&2", true)] {
        let mut child = alp_pid1(root.path())
            .args(["--", "sh", "-c", cmd])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = input.clone();
        let writer = std::thread::spawn(move || stdin.write_all(&data).unwrap());
        let o = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert_eq!(o.status.code(), Some(0));
        let (got, other) = if to_stderr { (&o.stderr, &o.stdout) } else { (&o.stdout, &o.stderr) };
        assert!(got == &input, "{cmd}: {} bytes came out of {}", got.len(), input.len());
        assert!(other.is_empty(), "{cmd}: unexpected output on the other stream: {:?}", String::from_utf8_lossy(other));
    }
}

#[test]
fn arguments_arrive_verbatim() {
    let root = TempDir::new("init-args");
    let args =
        ["two words", "", "it's \"quoted\"", "--root", "-g", "$HOME * ;|&", "new\nline", "tab\there", "--", "ünï"];
    for with_separator in [true, false] {
        let mut cmd = alp_init(root.path());
        if with_separator {
            cmd.arg("--");
        }
        let out = ok(cmd.args(["printf", "%s\\0"]).args(args));
        let got: Vec<&str> = out.split('\0').collect();
        assert_eq!(&got[..got.len() - 1], &args, "with '--': {with_separator}");
    }
}

/// What `cat /proc/self/stat /proc/self/status` says about the process: its pid, process
/// group, the terminal's foreground group, and its blocked and ignored signal sets.
struct ProcState {
    pid: String,
    pgrp: String,
    tpgid: String,
    blocked: u64,
    ignored: u64,
}

const SHOW_STATE: [&str; 3] = ["cat", "/proc/self/stat", "/proc/self/status"];

fn proc_state(out: &str) -> ProcState {
    let stat = out.lines().find(|l| l.contains(" (cat) ")).unwrap_or_else(|| panic!("no stat line in {out:?}"));
    let (pid, rest) = stat.split_once(" (").unwrap();
    let fields: Vec<&str> = rest.rsplit_once(") ").unwrap().1.split_whitespace().collect();
    let mask = |name: &str| {
        let line = out.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in {out:?}"));
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    ProcState {
        pid: pid.trim().to_string(),
        pgrp: fields[2].to_string(),
        tpgid: fields[5].to_string(),
        blocked: mask("SigBlk:"),
        ignored: mask("SigIgn:"),
    }
}

/// Nothing blocked and nothing ignored: not the signals alp blocks or ignores for itself,
/// not the C library's own (32 and up), not what alp inherited ignored.
#[track_caller]
fn assert_clean_signals(st: &ProcState) {
    assert_eq!(st.blocked, 0, "signals left blocked: {:#x}", st.blocked);
    assert_eq!(st.ignored, 0, "signals left ignored: {:#x}", st.ignored);
}

/// `program` (an alp binary) with the arguments and environment `alp --root ROOT init` has.
fn alp_init_with(program: &Path, root: &Path) -> Command {
    let template = alp_init(root);
    let mut c = Command::new(program);
    c.args(template.get_args());
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

/// The static musl build beside the debug binary the tests run (`cargo build --release
/// --target x86_64-unknown-linux-musl` with the same target directory), or $ALP_STATIC_BIN.
fn static_build() -> Option<PathBuf> {
    let path = std::env::var_os("ALP_STATIC_BIN")
        .map(PathBuf::from)
        .or_else(|| Some(Path::new(bin()).parent()?.parent()?.join("x86_64-unknown-linux-musl/release/alp")))?;
    path.exists().then_some(path)
}

#[test]
fn child_starts_with_a_clean_signal_state_in_its_own_group() {
    let root = TempDir::new("init-sigstate");
    for cmd in [alp_init(root.path()), alp_pid1(root.path())] {
        let mut cmd = cmd;
        let st = proc_state(&ok(cmd.arg("--").args(SHOW_STATE)));
        assert_clean_signals(&st);
        assert_eq!(st.pgrp, st.pid, "the child should lead its own process group");
    }
}

#[test]
fn child_gets_every_signal_at_its_default_from_either_build_whatever_alp_inherited() {
    let root = TempDir::new("init-sigdefault");
    // alp itself starts with signals ignored (as under nohup, or a runtime that ignores
    // some); an ignored signal survives exec unless alp resets it.
    let ignoring = |alp: Command| {
        let mut c = Command::new("sh");
        c.args(["-c", "trap '' HUP USR1 PIPE TERM; exec \"$0\" \"$@\""]).arg(alp.get_program()).args(alp.get_args());
        for (k, v) in alp.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c
    };
    let mut builds = vec![PathBuf::from(bin())];
    match static_build() {
        Some(path) => builds.push(path),
        None => eprintln!("static build not checked: no x86_64-unknown-linux-musl release binary (or $ALP_STATIC_BIN)"),
    }
    for build in &builds {
        let mut plain = alp_init_with(build, root.path());
        let mut inherited = ignoring(alp_init_with(build, root.path()));
        for cmd in [&mut plain, &mut inherited] {
            let st = proc_state(&ok(cmd.arg("--").args(SHOW_STATE)));
            assert_eq!(st.ignored, 0, "{}: the child has signals ignored: {:#x}", build.display(), st.ignored);
        }
    }
}

/// Runs `shell_line` (where `ALP` stands for `alp --root ROOT init -- cat ...`) in a
/// pseudo-terminal with util-linux `script`; `None` when `script` is not installed.
fn in_terminal(root: &Path, shell_line: &str) -> Option<ProcState> {
    Command::new("script").arg("--version").output().ok()?;
    let alp = format!("{} --root {} init -- {}", bin(), root.display(), SHOW_STATE.join(" "));
    let o =
        run(Command::new("script").args(["-qec", &shell_line.replace("ALP", &alp), "/dev/null"]).stdin(Stdio::null()));
    Some(proc_state(&stdout(&o)))
}

#[test]
fn child_gets_the_terminal_foreground_but_never_steals_it() {
    let root = TempDir::new("init-tty");
    let Some(st) = in_terminal(root.path(), "ALP") else {
        eprintln!("skipped: util-linux 'script' is not installed");
        return;
    };
    assert_eq!(st.tpgid, st.pgrp, "the child should own the terminal's foreground");
    assert_eq!(st.pgrp, st.pid);
    assert_clean_signals(&st);
    // Started as a background job (job control on), alp leaves the terminal to the shell.
    let st = in_terminal(root.path(), "set -m; ALP & wait").unwrap();
    assert_ne!(st.tpgid, st.pgrp, "a background alp handed the terminal to its child");
    // Signals alp inherited ignored are reset on this path too.
    let st = in_terminal(root.path(), "trap '' HUP USR1 TERM; ALP").unwrap();
    assert_eq!(st.tpgid, st.pgrp);
    assert_clean_signals(&st);
}

#[test]
fn child_gets_the_proxy_variables_back() {
    let root = TempDir::new("init-proxy");
    let out = ok(alp_init(root.path())
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("no_proxy", "localhost,.internal")
        .args(["--", "sh", "-c", "echo \"$HTTPS_PROXY|$no_proxy\""]));
    assert_eq!(out, "http://127.0.0.1:9|localhost,.internal\n");
}

/// A repository of `pkgs` served over HTTP, with `root` pointed at it.
fn served_repo(pkgs: &[Pkg], root: &Path) -> (TempDir, Server) {
    let repo = TempDir::new("init-repo");
    make_repo(repo.path(), pkgs);
    let server = Server::start(repo.path());
    std::fs::create_dir_all(root.join("etc/alp")).unwrap();
    std::fs::write(root.join("etc/alp/repositories"), format!("{}\n", server.url())).unwrap();
    (repo, server)
}

fn installed_version(root: &Path, name: &str) -> String {
    read(&root.join(format!("usr/share/{name}/VERSION")))
}

#[test]
fn fast_path_makes_no_requests_when_everything_is_installed() {
    let root = TempDir::new("init-fast");
    let (_repo, server) = served_repo(
        &[Pkg { depends: &["libb"], ..Pkg::new("appa", "1.0") }, Pkg::new("libb", "2.1"), Pkg::new("tool", "0.3")],
        root.path(),
    );
    // First start installs (no command: install and exit 0).
    ok(alp_init(root.path()).args(["--allow-untrusted", "--packages", "appa,tool"]));
    assert_eq!(installed_version(root.path(), "libb"), "2.1");
    assert!(server.total() > 0);
    // Every later start finds the database satisfied and touches no network, whichever way
    // the packages are declared.
    let before = server.total();
    ok(alp_init(root.path()).args(["--allow-untrusted", "--packages", "appa tool", "--", "true"]));
    ok(alp_init(root.path()).arg("--allow-untrusted").env("ALP_PACKAGES", "appa, tool>=0.3").args(["--", "true"]));
    ok(alp_init(root.path()).args(["--allow-untrusted", "--", "true"])); // the world file
    let out = ok(alp_pid1(root.path()).args(["--allow-untrusted", "--packages", "appa", "--", "echo", "started"]));
    assert_eq!(out, "started\n");
    assert_eq!(server.total(), before, "the fast path made requests");
    // It reads the database and nothing else: not even config.json, broken here, which
    // stops a start that has something to install.
    std::fs::write(root.join("etc/alp/config.json"), "{not json").unwrap();
    assert_eq!(ok(alp_init(root.path()).args(["--allow-untrusted", "--", "echo", "up"])), "up\n");
    let err = fails(alp_init(root.path()).args(["--allow-untrusted", "--packages", "appa newpkg"]), 2);
    assert!(err.contains("config.json"), "{err}");
    assert_eq!(server.total(), before, "a start with a broken config.json made requests");
}

#[test]
fn failed_install_stops_the_start_unless_keep_going() {
    let root = TempDir::new("init-fail");
    let (_repo, _server) = served_repo(&[Pkg::new("tool", "1.0")], root.path());
    let marker = root.join("started");
    let touch = format!("touch {}", marker.display());
    let err = fails(
        alp_init(root.path()).args(["--allow-untrusted", "--packages", "tool nosuchpkg", "--", "sh", "-c", &touch]),
        3,
    );
    assert_eq!(err.lines().filter(|l| l.starts_with("alp: error: ")).count(), 1, "{err}");
    assert!(err.contains("nosuchpkg"), "{err}");
    assert!(!marker.exists(), "the command ran after a failed install");
    // Without a command a failed install is still a failure.
    fails(alp_init(root.path()).args(["--allow-untrusted", "--packages", "nosuchpkg"]), 3);
    // --keep-going reports the failure and starts the command, whose code alp returns.
    let o = run(alp_init(root.path()).args([
        "--allow-untrusted",
        "--keep-going",
        "--packages",
        "nosuchpkg",
        "--",
        "sh",
        "-c",
        &format!("{touch}; exit 5"),
    ]));
    assert_eq!(o.status.code(), Some(5), "stderr: {}", stderr(&o));
    assert!(marker.exists());
    assert!(stderr(&o).contains("alp: error: ") && stderr(&o).contains("--keep-going"), "{}", stderr(&o));
}

/// name → (version, sha256) from a root's database.
fn db_pins(root: &Path) -> Vec<(String, String, String)> {
    let text = read(&root.join("var/lib/alp/installed.json"));
    let v: miniserde::json::Value = miniserde::json::from_str(&text).unwrap();
    let miniserde::json::Value::Object(top) = v else { panic!("bad db") };
    let Some(miniserde::json::Value::Object(pkgs)) = top.get("packages") else { panic!("no packages") };
    let s = |p: &miniserde::json::Value, k: &str| match p {
        miniserde::json::Value::Object(o) => match o.get(k) {
            Some(miniserde::json::Value::String(s)) => s.clone(),
            _ => panic!("no {k}"),
        },
        _ => panic!("bad package"),
    };
    pkgs.iter().map(|(name, p)| (name.clone(), s(p, "version"), s(p, "sha256"))).collect()
}

/// name → (version, sha256) as pinned in a lock file.
fn lock_pins(lock: &Path) -> Vec<(String, String, String)> {
    let v: miniserde::json::Value = miniserde::json::from_str(&read(lock)).unwrap();
    let miniserde::json::Value::Object(top) = v else { panic!("bad lock") };
    let Some(miniserde::json::Value::Array(items)) = top.get("packages") else { panic!("no packages") };
    let mut out: Vec<(String, String, String)> = items
        .iter()
        .map(|p| {
            let miniserde::json::Value::Object(o) = p else { panic!("bad entry") };
            let s = |k: &str| match o.get(k) {
                Some(miniserde::json::Value::String(s)) => s.clone(),
                _ => panic!("no {k}"),
            };
            (s("name"), s("version"), s("sha256"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn lock_reproduces_exact_versions_after_the_index_moved_on() {
    let work = TempDir::new("init-lock");
    let repo = TempDir::new("init-lock-repo");
    make_repo(repo.path(), &[Pkg { depends: &["libb>=1.0"], ..Pkg::new("appa", "1.0") }, Pkg::new("libb", "1.0")]);
    let server = Server::start(repo.path());
    let lock = work.join("alp.lock");
    let author = TempDir::new("init-lock-author");
    ok(alp(author.path()).args(["--allow-untrusted", "--repo", &server.url(), "lock", "appa", "-o"]).arg(&lock));
    let pinned = lock_pins(&lock);
    assert_eq!(pinned.iter().map(|(n, v, _)| format!("{n}={v}")).collect::<Vec<_>>(), ["appa=1.0", "libb=1.0"]);

    // The repository moves on: newer versions, re-indexed.
    make_repo(repo.path(), &[Pkg { depends: &["libb>=2.0"], ..Pkg::new("appa", "2.0") }, Pkg::new("libb", "2.0")]);
    let latest = TempDir::new("init-lock-latest");
    ok(alp_init(latest.path()).args(["--allow-untrusted", "--repo", &server.url(), "--packages", "appa"]));
    assert_eq!(installed_version(latest.path(), "appa"), "2.0", "the index should now offer 2.0");

    // A fresh root started from the old lock gets exactly the pinned bytes, without the index.
    let index_hits = server.hits("/index.json");
    let fresh = TempDir::new("init-lock-fresh");
    let out = ok(alp_pid1(fresh.path())
        .args(["--allow-untrusted", "--lock"])
        .arg(&lock)
        .args(["--", "cat"])
        .arg(fresh.join("usr/share/appa/VERSION")));
    assert_eq!(out, "1.0");
    let mut got = db_pins(fresh.path());
    got.sort();
    assert_eq!(got, pinned);
    assert_eq!(server.hits("/index.json"), index_hits, "starting from a lock read the index");
    // And the next start from the same lock is the fast path: no request at all.
    let before = server.total();
    ok(alp_init(fresh.path()).args(["--allow-untrusted", "--lock"]).arg(&lock).args(["--", "true"]));
    assert_eq!(server.total(), before);
}

#[test]
fn lock_refuses_bytes_that_changed_under_a_pinned_url() {
    let work = TempDir::new("init-lock-tamper");
    let repo = TempDir::new("init-lock-tamper-repo");
    make_repo(repo.path(), &[Pkg::new("tool", "1.0")]);
    let server = Server::start(repo.path());
    let lock = work.join("alp.lock");
    ok(alp(work.path()).args(["--allow-untrusted", "--repo", &server.url(), "lock", "tool", "-o"]).arg(&lock));
    // Same name and version rebuilt with other content: the pinned sha256 no longer matches.
    make_repo(repo.path(), &[Pkg { files: &[("usr/share/tool/VERSION", "evil", 0o644)], ..Pkg::new("tool", "1.0") }]);
    let fresh = TempDir::new("init-lock-tamper-fresh");
    let err = fails(alp_init(fresh.path()).args(["--allow-untrusted", "--lock"]).arg(&lock).args(["--", "true"]), 5);
    assert!(err.contains("tool"), "{err}");
    assert!(!fresh.join("usr/share/tool/VERSION").exists());
}

#[test]
fn starts_with_no_proc_no_home_closed_stdin_and_a_read_only_root() {
    let root = TempDir::new("init-hostile");
    let (_repo, _server) = served_repo(&[Pkg::new("tool", "1.0")], root.path());
    // A private mount namespace: the root's directory stays writable, / becomes read-only,
    // /proc is hidden; then alp runs with an empty environment and stdin closed.
    let r = root.path().display();
    let script = format!(
        "mount --bind {r} {r} && mount -o remount,bind,ro / && mount -t tmpfs none /proc && \
         ! touch /alp-ro-check 2>/dev/null && \
         exec env -i {bin} --root {r} --allow-untrusted init --packages tool -- sh -c 'echo $(cat {r}/usr/share/tool/VERSION); ls /proc | wc -l' <&-",
        bin = bin()
    );
    let o = run(Command::new("unshare").args(["--mount", "--propagation", "private", "sh", "-c", &script]));
    assert_eq!(o.status.code(), Some(0), "stdout: {}\nstderr: {}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "1.0\n0\n");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn damaged_database_stops_the_start_with_one_clear_line() {
    let root = TempDir::new("init-damaged");
    let (_repo, server) = served_repo(&[Pkg::new("tool", "1.0")], root.path());
    ok(alp_init(root.path()).args(["--allow-untrusted", "--packages", "tool"]));
    let db = root.join("var/lib/alp/installed.json");
    let text = read(&db);
    std::fs::write(&db, &text[..text.len() / 2]).unwrap();
    let before = server.total();
    let o = run(alp_init(root.path()).args(["--allow-untrusted", "--packages", "tool", "--", "true"]));
    let err = stderr(&o);
    assert_ne!(o.status.code(), Some(0), "started on a damaged database: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("alp: error: ") && err.contains("installed.json"), "{err}");
    assert_eq!(server.total(), before);
}

#[test]
fn pid1_stops_promptly_when_signalled_during_the_install() {
    let root = TempDir::new("init-stop");
    let (repo, server) = served_repo(&[Pkg::new("tool", "1.0")], root.path());
    let archive = std::fs::read_dir(repo.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .find(|n| n.ends_with(".tar.zst"))
        .expect("an archive in the repository");
    // The download hangs, as on a slow network; `docker stop` sends SIGTERM to PID 1, which
    // the kernel would drop unless alp handles it.
    server.set(&format!("/{archive}"), common::Behaviour::Stall(Duration::from_secs(30)));
    let child = alp_pid1(root.path())
        .args(["--allow-untrusted", "--packages", "tool", "--", "true"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid1 = pid1_host_pid(&child);
    wait_until("the download to start", || server.hits(&format!("/{archive}")) > 0);
    let sent = Instant::now();
    send(pid1, libc::SIGTERM);
    let o = finish(child);
    assert!(sent.elapsed() < Duration::from_secs(5), "took {:?} to stop", sent.elapsed());
    assert_eq!(o.status.code(), Some(128 + libc::SIGTERM), "stderr: {}", stderr(&o));
    assert!(!root.join("usr/share/tool/VERSION").exists());
}

/// Runs `cmd` with a deadline; returns its output and how long it took.
fn timed(cmd: &mut Command) -> (Output, Duration) {
    let start = Instant::now();
    let o = finish(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    (o, start.elapsed())
}

/// `alp init` as PID 1 and as a subreaper, each labelled for assertion messages.
fn both_scopes(root: &Path) -> [(&'static str, Command); 2] {
    [("PID 1", alp_pid1(root)), ("subreaper", alp_init(root))]
}

fn gone(pid: &str) -> bool {
    let status = read(Path::new(&format!("/proc/{}/status", pid.trim())));
    status.is_empty() || status.contains("State:\tZ")
}

#[test]
fn processes_the_command_left_get_sigterm_and_time_to_clean_up() {
    let root = TempDir::new("init-cleanup");
    // The command starts a worker that cleans up on SIGTERM, waits until it is ready, exits 7.
    // (The worker's stderr goes away: its shell reports the `sleep` that SIGTERM ends.)
    let script = r#"
        sh -c 'trap "echo cleaned > \"$1\"; exit 0" TERM; : > "$2"; while :; do sleep 0.01; done' worker "$1" "$2" 2>/dev/null &
        while [ ! -e "$2" ]; do sleep 0.01; done
        exit 7
    "#;
    for (scope, mut cmd) in both_scopes(root.path()) {
        let (marker, ready) = (root.join("cleaned"), root.join("ready"));
        let _ = (std::fs::remove_file(&marker), std::fs::remove_file(&ready));
        let (o, took) = timed(cmd.args(["--", "sh", "-c", script, "sh"]).arg(&marker).arg(&ready));
        assert_eq!(o.status.code(), Some(7), "{scope}: stderr: {}", stderr(&o));
        assert_eq!(read(&marker), "cleaned\n", "{scope}: the worker did not get to clean up");
        assert_eq!(stderr(&o), "", "{scope}: nothing was killed, so nothing to say");
        assert!(took < Duration::from_secs(3), "{scope}: waited {took:?} for a worker that stopped at once");
    }
}

#[test]
fn processes_ignoring_sigterm_are_killed_after_the_grace_period() {
    let root = TempDir::new("init-grace");
    // Two workers ignore SIGTERM (sleep inherits the ignored signal through exec); the
    // command exits 4 once both are running.
    let script = r#"
        for i in 1 2; do sh -c 'trap "" TERM; echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 30' worker "$1.$i" & done
        while [ ! -e "$1.1" ] || [ ! -e "$1.2" ]; do sleep 0.01; done
        exit 4
    "#;
    for (scope, mut cmd) in both_scopes(root.path()) {
        let pids = root.join(if scope == "PID 1" { "pids-pid1" } else { "pids-subreaper" });
        // --grace for one, ALP_GRACE for the other.
        if scope == "PID 1" {
            cmd.args(["--grace", "1"]);
        } else {
            cmd.env("ALP_GRACE", "1");
        }
        let (o, took) = timed(cmd.args(["--", "sh", "-c", script, "sh"]).arg(&pids));
        assert_eq!(o.status.code(), Some(4), "{scope}: the command's status, whatever was killed");
        assert_eq!(stderr(&o), "alp: 2 processes did not stop within 1 s: killed\n", "{scope}");
        assert!(took >= Duration::from_secs(1), "{scope}: killed after {took:?}, before the grace ran out");
        assert!(took < Duration::from_secs(3), "{scope}: took {took:?} to stop");
        if scope == "subreaper" {
            for i in 1..=2 {
                let pid = read(&pids.with_extension(i.to_string()));
                wait_until("the killed worker to be reaped", || gone(&pid));
            }
        }
    }
}

#[test]
fn grace_zero_kills_at_once() {
    let root = TempDir::new("init-grace0");
    let script = r#"
        sh -c 'trap "" TERM; : > "$1"; exec sleep 30' worker "$1" &
        while [ ! -e "$1" ]; do sleep 0.01; done
    "#;
    let (o, took) =
        timed(alp_pid1(root.path()).args(["--grace", "0", "--", "sh", "-c", script, "sh"]).arg(root.join("r")));
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stderr(&o), "alp: 1 process did not stop within 0 s: killed\n");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn wait_all_runs_until_the_last_descendant_exits() {
    let root = TempDir::new("init-wait-all");
    // The command exits at once, leaving a grandchild that works for a second.
    let script = r#"sh -c 'sleep 1; echo done > "$1"' grandchild "$1" & exit 0"#;
    for (scope, mut cmd) in both_scopes(root.path()) {
        let marker = root.join("done");
        let _ = std::fs::remove_file(&marker);
        let (o, took) = timed(cmd.args(["--wait-all", "--", "sh", "-c", script, "sh"]).arg(&marker));
        assert_eq!(o.status.code(), Some(0), "{scope}: stderr: {}", stderr(&o));
        assert!(took >= Duration::from_secs(1), "{scope}: exited after {took:?}, before the grandchild");
        assert_eq!(read(&marker), "done\n", "{scope}");
        assert_eq!(stderr(&o), "", "{scope}");
    }
    // Without it, the grandchild is stopped as soon as the command exits.
    let marker = root.join("done");
    let _ = std::fs::remove_file(&marker);
    let (o, took) = timed(alp_pid1(root.path()).args(["--", "sh", "-c", script, "sh"]).arg(&marker));
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(!marker.exists(), "the grandchild finished its work: it was not stopped");
}

#[test]
fn term_delay_holds_the_first_sigterm_and_a_second_one_or_sigint_goes_at_once() {
    let script = r#"
        trap 'echo TERM >> "$1"; exit 0' TERM
        trap 'echo INT >> "$1"' INT
        echo ready > "$2"
        while :; do sleep 0.01; done
    "#;
    // The first SIGTERM reaches the child only after the delay.
    let root = TempDir::new("init-term-delay");
    let (child, pid1, log) = start_script_as_pid1(root.path(), &["--term-delay", "1.5"], script, "the trap");
    let sent = Instant::now();
    send(pid1, libc::SIGTERM);
    wait_until("the held SIGTERM", || !read(&log).is_empty());
    let took = sent.elapsed();
    assert!(took >= Duration::from_millis(1500), "forwarded after {took:?}, before the delay ran out");
    assert!(took < Duration::from_millis(3500), "forwarded after {took:?}");
    let o = finish(child);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(read(&log), "TERM\n");

    // A second SIGTERM does not wait.
    let root = TempDir::new("init-term-delay2");
    let (child, pid1, log) = start_script_as_pid1(root.path(), &["--term-delay", "5"], script, "the trap");
    let sent = Instant::now();
    send(pid1, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(read(&log), "", "the first SIGTERM was not held");
    send(pid1, libc::SIGTERM);
    wait_until("the second SIGTERM", || !read(&log).is_empty());
    assert!(sent.elapsed() < Duration::from_secs(2), "took {:?}", sent.elapsed());
    assert_eq!(finish(child).status.code(), Some(0));
    assert_eq!(read(&log), "TERM\n");

    // Nor does a SIGINT, which is passed on too.
    let root = TempDir::new("init-term-delay3");
    let (child, pid1, log) = start_script_as_pid1(root.path(), &["--term-delay", "5"], script, "the trap");
    let sent = Instant::now();
    send(pid1, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    send(pid1, libc::SIGINT);
    wait_until("the held SIGTERM", || read(&log).contains("TERM"));
    assert!(sent.elapsed() < Duration::from_secs(2), "took {:?}", sent.elapsed());
    assert_eq!(finish(child).status.code(), Some(0));
    assert_eq!(read(&log), "INT\nTERM\n");
}

#[test]
fn term_delay_and_grace_from_the_environment_must_be_seconds() {
    let root = TempDir::new("init-env-seconds");
    for var in ["ALP_TERM_DELAY", "ALP_GRACE"] {
        let err = fails(alp_init(root.path()).env(var, "soon").args(["--", "true"]), 2);
        assert!(err.contains(var) && err.contains("'soon'"), "{err}");
    }
    ok(alp_init(root.path()).env("ALP_TERM_DELAY", "").env("ALP_GRACE", "0.5").args(["--", "true"]));
}

#[test]
fn daemons_that_double_fork_and_setsid_are_still_stopped() {
    let root = TempDir::new("init-daemon");
    // The daemon: forked, in a session of its own, forked again and orphaned. It notes its
    // session beside the command's, so the test can see that they differ.
    let daemon = root.join("daemon.sh");
    std::fs::write(
        &daemon,
        r#"exec 2>/dev/null
        trap 'echo stopped > "$1"; exit 0' TERM
        echo "$(cut -d' ' -f6 /proc/$$/stat) $3" > "$2.tmp"; mv "$2.tmp" "$2"
        while :; do sleep 0.01; done
        "#,
    )
    .unwrap();
    let script = r#"
        setsid sh -c 'sh "$0" "$1" "$2" "$3" &' "$0" "$1" "$2" "$(cut -d' ' -f6 /proc/$$/stat)"
        while [ ! -e "$2" ]; do sleep 0.01; done
    "#;
    for (scope, mut cmd) in both_scopes(root.path()) {
        let (marker, ids) = (root.join("stopped"), root.join("ids"));
        let _ = (std::fs::remove_file(&marker), std::fs::remove_file(&ids));
        let (o, _) = timed(cmd.args(["--", "sh", "-c", script]).arg(&daemon).arg(&marker).arg(&ids));
        assert_eq!(o.status.code(), Some(0), "{scope}: stderr: {}", stderr(&o));
        let ids = read(&ids);
        let (daemon_session, command_session) = ids.trim().split_once(' ').unwrap();
        assert_ne!(daemon_session, command_session, "{scope}: the daemon should have left the command's session");
        assert_eq!(read(&marker), "stopped\n", "{scope}: the daemon was not stopped");
        assert_eq!(stderr(&o), "", "{scope}");
    }
}

#[test]
fn subreaper_signals_only_its_own_tree() {
    let root = TempDir::new("init-own-tree");
    // A sibling of alp's, in the same session and process group, that notes any SIGTERM.
    let (hits, ready) = (root.join("hits"), root.join("sibling-ready"));
    let mut sibling = Command::new("sh")
        .args(["-c", r#"trap 'echo hit >> "$1"' TERM; : > "$2"; while :; do sleep 0.01; done"#, "sibling"])
        .arg(&hits)
        .arg(&ready)
        .spawn()
        .unwrap();
    wait_until("the sibling to start", || ready.exists());
    // alp's own worker ignores SIGTERM, so alp goes on to SIGKILL.
    let pidfile = root.join("worker");
    let script = r#"
        sh -c 'trap "" TERM; echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 30' worker "$1" &
        while [ ! -e "$1" ]; do sleep 0.01; done
    "#;
    let (o, _) = timed(alp_init(root.path()).args(["--grace", "0.5", "--", "sh", "-c", script, "sh"]).arg(&pidfile));
    let sibling_alive = sibling.try_wait().unwrap().is_none();
    let _ = sibling.kill();
    let _ = sibling.wait();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stderr(&o), "alp: 1 process did not stop within 0.5 s: killed\n");
    let worker = read(&pidfile);
    wait_until("alp's worker to be gone", || gone(&worker));
    assert!(sibling_alive, "alp killed a process outside its tree");
    assert_eq!(read(&hits), "", "alp sent SIGTERM outside its tree");
}
