//! Human output: status lines and warnings on stderr, colour only on a terminal and never
//! with `NO_COLOR` / `--no-color`, nothing but errors under `--quiet`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);
static COLOR: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// `--verbose`: `verbose()` lines are printed.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// A detail for `--verbose` only (URLs fetched, cache hits, timings), on stderr.
pub fn verbose(msg: &str) {
    if VERBOSE.load(Ordering::Relaxed) {
        eprintln!("alp: {msg}");
    }
}

pub fn setup(quiet: bool, no_color: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    let color =
        !no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal();
    COLOR.store(color, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

pub fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

fn paint(code: &str, text: &str) -> String {
    if color() { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
}

/// A progress or status line on stderr (stdout stays for results and `--json`).
pub fn status(msg: &str) {
    if !quiet() {
        eprintln!("{msg}");
    }
}

pub fn warn(msg: &str) {
    eprintln!("{} {msg}", paint("1;33", "alp: warning:"));
    crate::log::warn(msg);
}

pub fn error(msg: &str) {
    eprintln!("{} {msg}", paint("1;31", "alp: error:"));
}

pub fn bold(text: &str) -> String {
    paint("1", text)
}
