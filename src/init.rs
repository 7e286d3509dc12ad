//! PID 1 duties for `alp init`: start the command in its own process group, forward the
//! signals a container runtime sends, reap every zombie (orphans included), and exit with the
//! command's status. Modelled on tini.
//!
//! `run` reads as the life of PID 1, top to bottom, and each syscall sits in the one function
//! whose name says why. Deliberately left out: restarting the command, forwarding signals
//! other than `FORWARDED`, and waiting for orphans still running when the command exits (as
//! PID 1 our exit makes the kernel end them; as a subreaper they pass up to our own reaper,
//! as they would under tini).
//!
//! Nothing here may panic or depend on the environment: no /proc, no HOME, no terminal and a
//! closed stdin are all normal for a container's PID 1.

use libc::{c_int, pid_t, sigset_t};
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

pub struct Options {
    /// Forward signals to the child's process group instead of the child alone.
    pub group: bool,
    /// Exit codes of the child to report as 0.
    pub expect: Vec<i32>,
}

/// The signals passed on to the command; SIGKILL and SIGSTOP cannot be caught, and the
/// terminal stop signals belong to the command's own process group.
const FORWARDED: [c_int; 8] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
];

/// Stop signals alp ignores while it has handed the terminal over, so that doing so, and
/// writing to the terminal from the background afterwards, never stop alp itself.
const TERMINAL_STOPS: [c_int; 2] = [libc::SIGTTIN, libc::SIGTTOU];

/// Exit code when the command's status could not be collected.
const LOST: i32 = 1;

/// Runs `argv` under supervision and returns the exit code alp should exit with.
pub fn run(argv: &[String], opts: &Options) -> i32 {
    let Some((program, args)) = argv.split_first() else { return 0 };
    if !is_pid1() {
        register_subreaper();
    }
    let terminal = holds_terminal();
    let signals = configure_signals(terminal);
    let child = match spawn_child(program, args, &signals.original, terminal) {
        Ok(pid) => pid,
        Err(e) => return report_spawn_failure(program, &e),
    };
    match supervise(child, opts.group, &signals.waited) {
        Some(status) => exit_code(status, &opts.expect),
        None => {
            crate::ui::error(&format!("lost track of '{program}' (pid {child}): no exit status could be collected"));
            LOST
        }
    }
}

/// Makes SIGTERM, SIGINT, SIGHUP and SIGQUIT end alp while it installs, before there is a
/// command to forward them to. PID 1 needs this: the kernel drops signals that PID 1 has no
/// handler for, so `docker stop` or Ctrl-C during a first-start install would otherwise wait
/// for the runtime's SIGKILL. Stopping mid-commit is safe: the journal finishes or undoes it
/// on the next start. Any other process already dies of these signals.
pub fn stoppable_while_installing() {
    if !is_pid1() {
        return;
    }
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: `action` is zeroed (empty mask, no flags) and points at a handler that only
        // calls the async-signal-safe `_exit`.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = exit_on_signal as extern "C" fn(c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

extern "C" fn exit_on_signal(sig: c_int) {
    // SAFETY: _exit is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(128 + sig) }
}

fn is_pid1() -> bool {
    std::process::id() == 1
}

/// Asks the kernel to reparent our orphaned descendants to us, so we reap them as PID 1 would.
fn register_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers and touches no memory.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_CHILD_SUBREAPER,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc != 0 {
        crate::ui::warn(&format!(
            "cannot register as child subreaper ({}); orphaned processes will be reaped by the host's init instead",
            crate::error::plain_io(&io::Error::last_os_error())
        ));
    }
}

/// What the child must get back before exec, and the set alp waits on.
struct Signals {
    original: Original,
    waited: sigset_t,
}

/// The signal state alp was started with: its mask, and the dispositions `configure_signals`
/// changed (SIGTTIN, SIGTTOU, SIGCHLD).
#[derive(Clone, Copy)]
struct Original {
    mask: sigset_t,
    actions: [(c_int, libc::sigaction); 3],
}

/// Blocks the forwarded signals and SIGCHLD (`supervise` takes them synchronously), sets
/// SIGCHLD to its default so children are not auto-reaped behind our back (a runtime may
/// start us with it ignored), and with a terminal to hand over ignores `TERMINAL_STOPS`.
/// Remembers what was there before.
fn configure_signals(terminal: bool) -> Signals {
    // SAFETY: sigset_t and sigaction are plain C data; all-zero is a valid (empty) value
    // for both, and each is filled in by the calls below before it is read.
    let (mut waited, mut mask, mut actions): (sigset_t, sigset_t, [(c_int, libc::sigaction); 3]) =
        unsafe { std::mem::zeroed() };
    // SAFETY: `waited` is a valid sigset_t owned by this frame; the signal numbers are valid.
    unsafe {
        libc::sigemptyset(&mut waited);
        for sig in FORWARDED.iter().chain([&libc::SIGCHLD]) {
            libc::sigaddset(&mut waited, *sig);
        }
    }
    // SAFETY: both pointers refer to sigset_t values owned by this frame. alp is single
    // threaded here (the install's download threads were scoped and have been joined).
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &waited, &mut mask) };
    let changes =
        [(libc::SIGCHLD, libc::SIG_DFL), (TERMINAL_STOPS[0], libc::SIG_IGN), (TERMINAL_STOPS[1], libc::SIG_IGN)];
    for (slot, (sig, handler)) in actions.iter_mut().zip(changes) {
        slot.0 = sig;
        if handler == libc::SIG_IGN && !terminal {
            continue; // left as they are; only the terminal hand-over restores them
        }
        // SAFETY: `new` is zeroed (empty mask, no flags) and given a valid handler constant;
        // `slot.1` is valid memory for the previous action.
        unsafe {
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = handler;
            libc::sigemptyset(&mut new.sa_mask);
            libc::sigaction(sig, &new, &mut slot.1);
        }
    }
    Signals { original: Original { mask, actions }, waited }
}

/// Starts the command in its own process group, with the signal mask alp was started with,
/// SIGPIPE at its default and alp's environment; returns once it has
/// been exec'd (or failed to be). When alp holds the terminal the child must take it over
/// between fork and exec; otherwise (the container case) posix_spawn does it all without
/// copying alp's page tables, which measurably shortens the start on small machines.
fn spawn_child(program: &str, args: &[String], original: &Original, terminal: bool) -> io::Result<pid_t> {
    if terminal {
        spawn_with_terminal(program, args, *original)
    } else {
        spawn_without_terminal(program, args, original)
    }
}

fn spawn_with_terminal(program: &str, args: &[String], original: Original) -> io::Result<pid_t> {
    let mut cmd = Command::new(program);
    cmd.args(args).process_group(0);
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls on values copied into it; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            take_terminal();
            restore_signals(&original);
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    Ok(child.id() as pid_t)
}

unsafe extern "C" {
    /// The process's environment as the C library holds it: handed to the child as is, with
    /// no copy (a copy of every variable was measurable in the container start).
    static environ: *const *mut libc::c_char;
}

fn spawn_without_terminal(program: &str, args: &[String], original: &Original) -> io::Result<pid_t> {
    use std::ffi::CString;
    let nul = |_| io::Error::new(io::ErrorKind::InvalidInput, "an argument contains a NUL byte");
    let argv: Vec<CString> = std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(CString::new)
        .collect::<Result<_, _>>()
        .map_err(nul)?;
    let argv_ptrs: Vec<*mut libc::c_char> =
        argv.iter().map(|s| s.as_ptr() as *mut libc::c_char).chain([std::ptr::null_mut()]).collect();
    let mut pid: pid_t = 0;
    // SAFETY: `attr` and `defaults` are initialised by posix_spawnattr_init and sigemptyset
    // before use and `attr` is destroyed on every path; `argv_ptrs` is a
    // NULL-terminated array of pointers into `argv`, which outlives the call; `environ` is the
    // C library's environment, which nothing changes while alp runs (it sets no variables).
    let rc = unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        let rc = libc::posix_spawnattr_init(&mut attr);
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        let mut defaults: sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut defaults);
        libc::sigaddset(&mut defaults, libc::SIGPIPE);
        let flags = libc::POSIX_SPAWN_SETPGROUP | libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
        let mut rc = libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short);
        if rc == 0 {
            rc = libc::posix_spawnattr_setpgroup(&mut attr, 0);
        }
        if rc == 0 {
            rc = libc::posix_spawnattr_setsigmask(&mut attr, &original.mask);
        }
        if rc == 0 {
            rc = libc::posix_spawnattr_setsigdefault(&mut attr, &defaults);
        }
        if rc == 0 {
            rc = libc::posix_spawnp(&mut pid, argv[0].as_ptr(), std::ptr::null(), &attr, argv_ptrs.as_ptr(), environ);
        }
        libc::posix_spawnattr_destroy(&mut attr);
        rc
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(pid)
}

/// True when stdin is a terminal whose foreground process group is alp's: then the child
/// takes it over. (Started in the background, alp must not steal the terminal from the shell.)
fn holds_terminal() -> bool {
    // SAFETY: isatty, tcgetpgrp and getpgrp take integers and touch no memory.
    unsafe { libc::isatty(libc::STDIN_FILENO) == 1 && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp() }
}

/// In the child, already in its own process group: the terminal's foreground. Best effort:
/// a failure leaves the child in the background, which only matters if it reads the
/// terminal. SIGTTOU is still ignored here, so this cannot stop the child.
fn take_terminal() {
    // SAFETY: tcsetpgrp and getpgrp take integers and touch no memory.
    unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp()) };
}

/// In the child: the dispositions and mask alp was started with. SIGPIPE goes back to its
/// default, which the Rust runtime replaced before alp's own code ran.
fn restore_signals(original: &Original) {
    // SAFETY: every pointer refers to data copied into this process; sigaction and
    // sigprocmask are async-signal-safe, as required between fork and exec.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        for (sig, action) in &original.actions {
            libc::sigaction(*sig, action, std::ptr::null_mut());
        }
        libc::sigprocmask(libc::SIG_SETMASK, &original.mask, std::ptr::null_mut());
    }
}

/// One `alp: error:` line for a command that could not be started; returns 127 when it
/// cannot be found (or started at all), 126 when it is there but cannot be executed.
fn report_spawn_failure(program: &str, e: &io::Error) -> i32 {
    let (code, why) = match e.raw_os_error() {
        Some(libc::ENOENT | libc::ENOTDIR) if program.contains('/') => {
            (127, "no such file (or its #! interpreter is missing); fix the container's command".to_string())
        }
        Some(libc::ENOENT | libc::ENOTDIR) => {
            let path = std::env::var("PATH").map_or_else(|_| "PATH is not set".to_string(), |p| format!("PATH={p}"));
            (
                127,
                format!(
                    "command not found ({path}); install the package that provides it or fix the container's command"
                ),
            )
        }
        Some(libc::EACCES | libc::EPERM | libc::EISDIR) => (
            126,
            "permission denied: it is not an executable file (chmod +x it, or run it through its interpreter)".into(),
        ),
        Some(libc::ENOEXEC) => {
            (126, "not an executable format for this machine (wrong architecture, or no #! line)".into())
        }
        Some(libc::ETXTBSY | libc::E2BIG) => (126, crate::error::plain_io(e)),
        _ => (127, crate::error::plain_io(e)),
    };
    crate::ui::error(&format!("cannot run '{program}': {why}"));
    code
}

/// Waits for signals until the child exits: forwards the ones in `FORWARDED`, reaps on
/// SIGCHLD. Returns the child's wait status, or `None` if it vanished without one.
fn supervise(child: pid_t, group: bool, waited: &sigset_t) -> Option<c_int> {
    loop {
        match reap_zombies(child) {
            Reaped::Child(status) => return Some(status),
            Reaped::NoChildren => return None,
            Reaped::Running => {}
        }
        match wait_for_signal(waited) {
            Some(libc::SIGCHLD) | None => {}
            Some(sig) => forward_signal(child, sig, group),
        }
    }
}

/// Blocks until one of `waited` is pending and takes it. A pending SIGCHLD that arrived
/// while we were reaping is still pending here, so no exit is ever missed.
fn wait_for_signal(waited: &sigset_t) -> Option<c_int> {
    let mut sig: c_int = 0;
    // SAFETY: `waited` is a valid sigset_t and `sig` a valid out-pointer; every signal in
    // the set is blocked, as sigwait requires.
    let rc = unsafe { libc::sigwait(waited, &mut sig) };
    (rc == 0).then_some(sig)
}

/// Sends `sig` to the child, or with `group` to its process group (reaching what a
/// `sh -c` started). A child that moved to another group still gets it directly.
fn forward_signal(child: pid_t, sig: c_int, group: bool) {
    // SAFETY: kill takes integers; a stale pid only yields ESRCH.
    unsafe {
        if !group || libc::kill(-child, sig) != 0 {
            libc::kill(child, sig);
        }
    }
}

enum Reaped {
    /// The command exited, with this wait status.
    Child(c_int),
    /// The command is still running.
    Running,
    /// There is nothing left to wait for, and the command's status was never seen.
    NoChildren,
}

/// Collects every exited child, orphans adopted as PID 1 or subreaper included, without
/// blocking; reports the command's status if it was among them.
fn reap_zombies(child: pid_t) -> Reaped {
    let mut found = None;
    loop {
        let mut status: c_int = 0;
        // SAFETY: `status` is a valid out-pointer; WNOHANG never blocks.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            if pid == child {
                found = Some(status);
            }
            continue;
        }
        if pid < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return match (found, pid) {
            (Some(status), _) => Reaped::Child(status),
            (None, 0) => Reaped::Running,
            (None, _) => Reaped::NoChildren,
        };
    }
}

/// The child's exit code, 128+N when signal N ended it, 0 when `expect` lists it.
fn exit_code(status: c_int, expect: &[i32]) -> i32 {
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        LOST
    };
    if expect.contains(&code) { 0 } else { code }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_maps_signals_and_expected_codes() {
        assert_eq!(exit_code(3 << 8, &[]), 3);
        assert_eq!(exit_code(libc::SIGKILL, &[]), 137);
        assert_eq!(exit_code(3 << 8, &[3]), 0);
        assert_eq!(exit_code(libc::SIGTERM, &[143]), 0);
    }
}
