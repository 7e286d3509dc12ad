//! `var/log/alp/alp.log`: timestamped, levelled lines, buffered in memory and appended once
//! at exit; rotated past `log_size` KB to `alp.log.1` … `alp.log.3` (never a file per run).

use crate::timefmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

struct Log {
    path: Option<PathBuf>,
    max_bytes: u64,
    lines: String,
}

/// The `log_size` default, until the settings are read (a command that never reads them).
const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;

static LOG: Mutex<Log> = Mutex::new(Log { path: None, max_bytes: DEFAULT_MAX_BYTES, lines: String::new() });

const KEEP: usize = 3;

/// Starts logging to `path`; lines logged before this are kept and written too.
pub fn open(path: PathBuf) {
    LOG.lock().unwrap_or_else(|p| p.into_inner()).path = Some(path);
}

/// Rotates past `max_kb` KB (the `log_size` setting) instead of the default.
pub fn limit(max_kb: u64) {
    LOG.lock().unwrap_or_else(|p| p.into_inner()).max_bytes = max_kb.saturating_mul(1024);
}

fn line(level: &str, msg: &str) {
    let mut log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    let stamp = timefmt::format(timefmt::now());
    let pid = std::process::id();
    log.lines.push_str(&format!("{stamp} {level} [{pid}] {msg}\n"));
}

pub fn info(msg: &str) {
    line("INFO", msg);
}
pub fn warn(msg: &str) {
    line("WARN", msg);
}
pub fn error(msg: &str) {
    line("ERROR", msg);
}

/// True when lines wait to be written.
pub fn pending() -> bool {
    !LOG.lock().unwrap_or_else(|p| p.into_inner()).lines.is_empty()
}

/// Appends the buffered lines (one write), rotating first when the file is too big.
/// Logging never fails a command: a read-only root just means no log.
pub fn flush() {
    let mut log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    let Some(path) = log.path.clone() else { return };
    if log.lines.is_empty() {
        return;
    }
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    if std::fs::metadata(&path).is_ok_and(|m| m.len() >= log.max_bytes) {
        for i in (1..KEEP).rev() {
            let _ =
                std::fs::rename(path.with_extension(format!("log.{i}")), path.with_extension(format!("log.{}", i + 1)));
        }
        let _ = std::fs::rename(&path, path.with_extension("log.1"));
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
        let _ = f.write_all(log.lines.as_bytes());
    }
    log.lines.clear();
}
