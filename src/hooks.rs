//! Running package hooks (SPEC section 6): executed directly (a shell only if the script's
//! own shebang asks for one), with a timeout, `ALP_ROOT`, `ALP_PACKAGE` and `ALP_VERSION`.

use crate::error::{self, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `script` and waits at most `timeout` seconds; a non-zero exit is an error.
pub fn run(
    script: &Path,
    root: &Path,
    package: &str,
    version: &str,
    timeout: u64,
    extra_env: &[(String, String)],
) -> Result<()> {
    let what = format!("{} hook of {package}", script.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
    // Absolute paths: the hook runs from its own directory, and a relative --root must still work.
    let script = &std::path::absolute(script).unwrap_or_else(|_| script.to_path_buf());
    let root = &std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let mut cmd = Command::new(script);
    // Hook output goes to stderr: stdout belongs to results and --json.
    cmd.stdout(Stdio::from(std::io::stderr()))
        .env("ALP_ROOT", root)
        .env("ALP_PACKAGE", package)
        .env("ALP_VERSION", version)
        .envs(extra_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    if let Some(dir) = script.parent() {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| error::io_msg(format!("{what}: cannot run {}: {}", script.display(), error::plain_io(&e))))?;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(error::io_msg(format!("{what} failed ({})", describe(status))));
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(error::io_msg(format!("{what} ran longer than {timeout} s and was killed (hook_timeout)")));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(error::io_msg(format!("{what}: {}", error::plain_io(&e)))),
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "unknown status".to_string(),
    }
}
