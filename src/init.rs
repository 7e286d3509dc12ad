//! PID 1 duties for `alp init`: start the command in its own process group, forward the
//! signals a container runtime sends, reap every zombie (orphans included), stop what the
//! command leaves behind, and exit with the command's status. Modelled on tini.
//!
//! `run` reads as the life of PID 1, top to bottom, and each syscall sits in the one function
//! whose name says why. When the command exits, whatever is left gets SIGTERM and `grace` to
//! exit, then SIGKILL: as PID 1 that is every other process in the namespace (`kill(-1)`);
//! as a subreaper only alp's own descendants, found through the parent links in /proc, so
//! nothing outside its tree is ever signalled. Deliberately left out: restarting the command,
//! forwarding signals other than `FORWARDED`, passing signals on to what is left once the
//! command has exited (`--wait-all` only waits; SIGTERM or SIGINT end the wait), and
//! counting the processes that joined a namespace from outside (`docker exec`) when they
//! have to be killed: they are stopped like the rest, but no child of alp's leads to them.
//!
//! The child starts with every signal at its default disposition, whatever alp inherited
//! ignored, and with the mask alp was started with.
//!
//! Nothing here may panic or depend on the environment: no /proc, no HOME, no terminal and a
//! closed stdin are all normal for a container's PID 1 (a subreaper without its own /proc
//! says so and leaves what the command left alone). The start pays for none of the stopping:
//! no /proc is read and nothing allocated for it before the command runs, and when the
//! command leaves nothing behind, finding that out costs no system call (one `kill` as PID 1).

use libc::{c_int, pid_t, sigset_t};
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Options {
    /// Forward signals to the child's process group instead of the child alone.
    pub group: bool,
    /// Exit codes of the child to report as 0.
    pub expect: Vec<i32>,
    /// How long the processes left after the command get between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// How long the runtime's first SIGTERM is held before it is forwarded.
    pub term_delay: Duration,
    /// Keep reaping after the command exits, until no descendant is left.
    pub wait_all: bool,
}

/// `--grace` when neither it nor `ALP_GRACE` is given.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);

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

/// How long processes that SIGKILL did not end at once (stuck in the kernel) are waited for.
const KILL_WAIT: Duration = Duration::from_secs(1);

/// How often PID 1 looks again for processes that are not its children (joined from outside
/// the namespace), whose exits it is never told of.
const POLL: Duration = Duration::from_millis(20);

/// Runs `argv` under supervision and returns the exit code alp should exit with.
pub fn run(argv: &[String], opts: &Options) -> i32 {
    let Some((program, args)) = argv.split_first() else { return 0 };
    let scope = if is_pid1() {
        Scope::Namespace
    } else {
        register_subreaper();
        Scope::Tree
    };
    let terminal = holds_terminal();
    let signals = configure_signals(terminal);
    let child = match spawn_child(program, args, &signals.original_mask, terminal) {
        Ok(pid) => pid,
        Err(e) => return report_spawn_failure(program, &e),
    };
    let Some(ended) = supervise(child, opts, &signals.waited) else {
        crate::ui::error(&format!("lost track of '{program}' (pid {child}): no exit status could be collected"));
        return LOST;
    };
    let mut left = ended.others_left;
    if opts.wait_all && left && !ended.asked_to_stop {
        left = wait_for_descendants(&signals.waited);
    }
    // As PID 1, processes that joined the namespace from outside are no children of alp's;
    // the one kill(-1) that stopping starts with finds out whether there are any.
    if left || scope == Scope::Namespace {
        stop_the_rest(scope, opts.grace, &signals.waited);
    }
    exit_code(ended.status, &opts.expect)
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

/// The mask the child must get back before exec, and the set alp waits on.
struct Signals {
    original_mask: sigset_t,
    waited: sigset_t,
}

/// Blocks the forwarded signals and SIGCHLD (`supervise` takes them synchronously), sets
/// SIGCHLD to its default so children are not auto-reaped behind our back (a runtime may
/// start us with it ignored), and with a terminal to hand over ignores `TERMINAL_STOPS`.
/// Remembers the mask alp was started with.
fn configure_signals(terminal: bool) -> Signals {
    // SAFETY: sigset_t is plain C data; all-zero is a valid (empty) value, and both are
    // filled in by the calls below before they are read.
    let (mut waited, mut original_mask): (sigset_t, sigset_t) = unsafe { std::mem::zeroed() };
    // SAFETY: `waited` is a valid sigset_t owned by this frame; the signal numbers are valid.
    unsafe {
        libc::sigemptyset(&mut waited);
        for sig in FORWARDED.iter().chain([&libc::SIGCHLD]) {
            libc::sigaddset(&mut waited, *sig);
        }
    }
    // SAFETY: both pointers refer to sigset_t values owned by this frame. alp is single
    // threaded here (the install's download threads were scoped and have been joined).
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &waited, &mut original_mask) };
    set_disposition(libc::SIGCHLD, libc::SIG_DFL);
    if terminal {
        for sig in TERMINAL_STOPS {
            set_disposition(sig, libc::SIG_IGN);
        }
    }
    Signals { original_mask, waited }
}

fn set_disposition(sig: c_int, handler: libc::sighandler_t) {
    // SAFETY: `action` is zeroed (empty mask, no flags) and given a handler constant.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(sig, &action, std::ptr::null_mut());
    }
}

/// Starts the command in its own process group, with the signal mask alp was started with,
/// every signal at its default disposition and alp's environment; returns once it has
/// been exec'd (or failed to be). When alp holds the terminal the child must take it over
/// between fork and exec; otherwise (the container case) posix_spawn does it all without
/// copying alp's page tables, which measurably shortens the start on small machines.
fn spawn_child(program: &str, args: &[String], mask: &sigset_t, terminal: bool) -> io::Result<pid_t> {
    if terminal { spawn_with_terminal(program, args, *mask) } else { spawn_without_terminal(program, args, mask) }
}

fn spawn_with_terminal(program: &str, args: &[String], mask: sigset_t) -> io::Result<pid_t> {
    let mut cmd = Command::new(program);
    cmd.args(args).process_group(0);
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls on values copied into it; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            take_terminal();
            restore_signals(&mask);
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

fn spawn_without_terminal(program: &str, args: &[String], mask: &sigset_t) -> io::Result<pid_t> {
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
    let defaults = every_signal();
    // SAFETY: `attr` is initialised by posix_spawnattr_init before use and destroyed on every
    // path; `argv_ptrs` is a NULL-terminated array of pointers into `argv`, which outlives the
    // call; `environ` is the C library's environment, which nothing changes while alp runs
    // (it sets no variables).
    let rc = unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        let rc = libc::posix_spawnattr_init(&mut attr);
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        let flags = libc::POSIX_SPAWN_SETPGROUP | libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
        let mut rc = libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short);
        if rc == 0 {
            rc = libc::posix_spawnattr_setpgroup(&mut attr, 0);
        }
        if rc == 0 {
            rc = libc::posix_spawnattr_setsigmask(&mut attr, mask);
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

/// Every signal from 1 to SIGRTMAX, for posix_spawn to set to its default in the child. The
/// C library's own signals are included, which sigfillset and sigaddset refuse: glibc's
/// posix_spawn leaves 32 and 33 ignored in the child unless told otherwise, and an ignored
/// signal survives exec (a runtime's SIG_IGN inherited by alp would survive the same way).
fn every_signal() -> sigset_t {
    // SAFETY: all-zero is an empty sigset_t. glibc and musl both define sigset_t as an array
    // of unsigned long (128 bytes) holding signal N at bit N-1, the layout sigaddset writes;
    // the words touched are the first 64 bits, well inside it.
    unsafe {
        let mut set: sigset_t = std::mem::zeroed();
        let words = (&mut set as *mut sigset_t).cast::<libc::c_ulong>();
        let bits = libc::c_ulong::BITS as usize;
        for sig in 1..=libc::SIGRTMAX().clamp(1, 64) as usize {
            *words.add((sig - 1) / bits) |= 1 << ((sig - 1) % bits);
        }
        set
    }
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

/// In the child: every signal at its default disposition (`every_signal` says why all of
/// them), and the mask alp was started with.
fn restore_signals(mask: &sigset_t) {
    // The kernel's struct sigaction, all zero: SIG_DFL, no flags, an empty mask, whatever
    // the architecture's field order; 32 bytes cover every layout of it. The raw system call
    // because the C library's sigaction refuses its own signals.
    let default = [0u64; 4];
    for sig in 1..=libc::SIGRTMAX() {
        // SAFETY: `default` is a valid, readable kernel sigaction; no old action is asked
        // for; 8 is the kernel's sigset size. rt_sigaction is async-signal-safe, as required
        // between fork and exec; SIGKILL and SIGSTOP just fail with EINVAL.
        unsafe {
            libc::syscall(libc::SYS_rt_sigaction, sig, default.as_ptr(), std::ptr::null::<u64>(), 8usize);
        }
    }
    // SAFETY: `mask` was copied into this process; sigprocmask is async-signal-safe.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) };
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

/// How the command ended, and what `run` needs to know to finish.
struct Ended {
    /// Its wait status.
    status: c_int,
    /// Other children of alp's were still there when it ended.
    others_left: bool,
    /// The runtime had asked for a stop (SIGTERM or SIGINT) before it ended.
    asked_to_stop: bool,
}

/// Waits for signals until the child exits: forwards the ones in `FORWARDED` (the first
/// SIGTERM after `term_delay`), reaps on SIGCHLD. `None` if the child vanished without a
/// status.
fn supervise(child: pid_t, opts: &Options, waited: &sigset_t) -> Option<Ended> {
    let mut term = HeldTerm::NotYet;
    let mut asked_to_stop = false;
    loop {
        let reaped = reap_zombies(Some(child));
        if let Some(status) = reaped.command {
            return Some(Ended { status, others_left: reaped.children_left, asked_to_stop });
        }
        if !reaped.children_left {
            return None;
        }
        let sig = wait_for_signal(waited, term.due());
        asked_to_stop |= matches!(sig, Some(libc::SIGTERM | libc::SIGINT));
        match (sig, term) {
            (Some(libc::SIGCHLD), _) => {}
            (Some(libc::SIGTERM), HeldTerm::NotYet) if !opts.term_delay.is_zero() => {
                term = HeldTerm::Until(Instant::now() + opts.term_delay);
            }
            // A second SIGTERM, or a SIGINT, does not wait for the held one.
            (Some(libc::SIGTERM), HeldTerm::Until(_)) => term = release_term(child, opts.group),
            (Some(sig), _) => {
                forward_signal(child, sig, opts.group);
                if sig == libc::SIGINT && matches!(term, HeldTerm::Until(_)) {
                    term = release_term(child, opts.group);
                }
            }
            (None, HeldTerm::Until(due)) if Instant::now() >= due => term = release_term(child, opts.group),
            (None, _) => {}
        }
    }
}

/// The runtime's first SIGTERM under `--term-delay`: held back for a while, so that the
/// command keeps serving while the container is taken out of rotation.
#[derive(Clone, Copy)]
enum HeldTerm {
    /// No SIGTERM yet.
    NotYet,
    /// Held: to be forwarded at this time.
    Until(Instant),
    /// Forwarded; later ones go at once.
    Sent,
}

impl HeldTerm {
    fn due(self) -> Option<Instant> {
        match self {
            HeldTerm::Until(due) => Some(due),
            _ => None,
        }
    }
}

/// Forwards the held SIGTERM now.
fn release_term(child: pid_t, group: bool) -> HeldTerm {
    forward_signal(child, libc::SIGTERM, group);
    HeldTerm::Sent
}

/// Blocks until one of `waited` is pending and takes it, or until `until` passes (`None`
/// then). A pending SIGCHLD that arrived while we were reaping is still pending here, so no
/// exit is ever missed.
fn wait_for_signal(waited: &sigset_t, until: Option<Instant>) -> Option<c_int> {
    let timeout = until.map(|t| {
        let left = t.saturating_duration_since(Instant::now());
        // SAFETY: timespec is plain C data; all-zero is a valid value.
        let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
        // Capped where every width of time_t holds it (68 years).
        ts.tv_sec = left.as_secs().min(i32::MAX as u64).try_into().unwrap_or_default();
        ts.tv_nsec = left.subsec_nanos().into();
        ts
    });
    let timeout_ptr = timeout.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `waited` is a valid sigset_t, every signal in it blocked as sigtimedwait
    // requires; no siginfo is asked for; `timeout_ptr` is null (wait without limit) or
    // points at `timeout`, which outlives the call.
    let sig = unsafe { libc::sigtimedwait(waited, std::ptr::null_mut(), timeout_ptr) };
    (sig > 0).then_some(sig)
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

/// `--wait-all`: after the command, reaps until no descendant is left. SIGTERM or SIGINT
/// end the wait (the clean stop follows); other signals have no command to go to any more
/// and are dropped. Returns whether anything is left.
fn wait_for_descendants(waited: &sigset_t) -> bool {
    loop {
        if !reap_zombies(None).children_left {
            return false;
        }
        if let Some(libc::SIGTERM | libc::SIGINT) = wait_for_signal(waited, None) {
            return true;
        }
    }
}

/// What a round of reaping collected.
struct Reaped {
    /// The command's wait status, if it was among them.
    command: Option<c_int>,
    /// How many of them SIGKILL had ended.
    killed: usize,
    /// Children of alp's are still there (running, or exited since we looked).
    children_left: bool,
}

/// Collects every exited child, orphans adopted as PID 1 or subreaper included, without
/// blocking; reports the command's status if it was among them.
fn reap_zombies(command: Option<pid_t>) -> Reaped {
    let mut reaped = Reaped { command: None, killed: 0, children_left: false };
    loop {
        let mut status: c_int = 0;
        // SAFETY: `status` is a valid out-pointer; WNOHANG never blocks.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            if Some(pid) == command {
                reaped.command = Some(status);
            } else if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL {
                reaped.killed += 1;
            }
            continue;
        }
        if pid < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        reaped.children_left = pid == 0;
        return reaped;
    }
}

/// Where the processes left after the command are, and how alp reaches them.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    /// As PID 1: every other process in the namespace, all reached by one kill(-1).
    Namespace,
    /// As a subreaper: alp's own descendants only, found in /proc.
    Tree,
}

impl Scope {
    /// Sends each of `sigs` to every process left. Returns how many were reached: `None`
    /// when some were but kill(-1) does not say how many.
    fn signal(self, sigs: &[c_int]) -> Option<usize> {
        match self {
            Scope::Namespace => {
                let mut reached = false;
                for &sig in sigs {
                    // SAFETY: kill takes integers; as PID 1, -1 means every process in the
                    // namespace but alp itself.
                    reached |= unsafe { libc::kill(-1, sig) } == 0;
                }
                if reached { None } else { Some(0) }
            }
            Scope::Tree => {
                let pids = descendants();
                for &sig in sigs {
                    for &pid in &pids {
                        // SAFETY: kill takes integers; a pid that has exited since the walk
                        // only yields ESRCH (pids are handed out in turn, so one is not
                        // reused by an outsider within these microseconds).
                        unsafe { libc::kill(pid, sig) };
                    }
                }
                Some(pids.len())
            }
        }
    }

    /// Whether processes that no child of alp's leads to are left: only PID 1 has those,
    /// processes that joined its namespace from outside.
    fn strangers_left(self) -> bool {
        // SAFETY: kill with signal 0 only checks that some process can be signalled.
        self == Scope::Namespace && unsafe { libc::kill(-1, 0) } == 0
    }
}

/// The clean stop: SIGTERM to every process left in `scope` (and SIGCONT, as a stopped
/// process acts on it only once it runs), reaping them as they exit; after `grace`, SIGKILL
/// for the rest and one line on stderr saying so.
fn stop_the_rest(scope: Scope, grace: Duration, waited: &sigset_t) {
    if scope.signal(&[libc::SIGTERM, libc::SIGCONT]) == Some(0) {
        return;
    }
    if reap_until_gone(scope, Instant::now() + grace, waited).all {
        return;
    }
    let sent = scope.signal(&[libc::SIGKILL]);
    let gone = reap_until_gone(scope, Instant::now() + KILL_WAIT, waited);
    report_killed(sent.unwrap_or(gone.killed), grace);
}

/// What `reap_until_gone` saw.
struct Gone {
    /// Nothing is left in the scope.
    all: bool,
    /// How many of the processes reaped SIGKILL had ended.
    killed: usize,
}

/// Reaps until nothing is left in `scope` or `deadline` passes. The exit of one of alp's
/// children wakes it at once (SIGCHLD); while only strangers are left it looks again every
/// `POLL`. Signals arriving now are dropped: the stop is under way.
fn reap_until_gone(scope: Scope, deadline: Instant, waited: &sigset_t) -> Gone {
    let mut killed = 0;
    loop {
        let reaped = reap_zombies(None);
        killed += reaped.killed;
        if !reaped.children_left && !scope.strangers_left() {
            return Gone { all: true, killed };
        }
        let now = Instant::now();
        if now >= deadline {
            return Gone { all: false, killed };
        }
        let wake = if reaped.children_left { deadline } else { deadline.min(now + POLL) };
        wait_for_signal(waited, Some(wake));
    }
}

/// alp's descendants still running, found by following the parent links in
/// `/proc/PID/stat` down from alp's own pid. Empty, with a warning, when /proc is not there
/// or belongs to another PID namespace: then nothing is signalled rather than a stranger.
fn descendants() -> Vec<pid_t> {
    let me = std::process::id() as pid_t;
    let ours = std::fs::read_link("/proc/self").is_ok_and(|p| p.as_os_str() == me.to_string().as_str());
    let entries = match std::fs::read_dir("/proc") {
        Ok(entries) if ours => entries,
        _ => {
            crate::ui::warn("cannot see this process in /proc: the processes the command left are not stopped");
            return Vec::new();
        }
    };
    let links: Vec<(pid_t, pid_t)> = entries
        .filter_map(|e| {
            let pid = e.ok()?.file_name().to_str()?.parse::<pid_t>().ok()?;
            Some((pid, running_parent(pid)?))
        })
        .collect();
    let mut found = Vec::new();
    let mut todo = vec![me];
    // Each process is found once: the links form a tree (the bound guards a snapshot torn
    // by processes coming and going).
    while let Some(parent) = todo.pop() {
        if found.len() > links.len() {
            break;
        }
        for &(pid, ppid) in &links {
            if ppid == parent {
                found.push(pid);
                todo.push(pid);
            }
        }
    }
    found
}

/// The parent of `pid` from `/proc/PID/stat`; `None` when it has exited (a zombie has
/// nothing left to stop and no children: they were handed on when it exited).
fn running_parent(pid: pid_t) -> Option<pid_t> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, the last ')' ends it.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.next()?.parse().ok()
}

/// The one line alp writes when it had to SIGKILL: how many, after how long.
fn report_killed(count: usize, grace: Duration) {
    let what = match count {
        0 => "processes".to_string(),
        1 => "1 process".to_string(),
        n => format!("{n} processes"),
    };
    eprintln!("alp: {what} did not stop within {} s: killed", grace.as_secs_f64());
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
