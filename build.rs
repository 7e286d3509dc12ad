//! Puts the version, git commit, build date and target triple into `alp --version`, and for
//! the static x86_64 binary lays out the container-start fast path's code (link/startup.ld).

use std::process::Command;

/// The crate's own date arithmetic (it needs nothing from the rest of the crate).
#[path = "src/timefmt.rs"]
#[allow(dead_code)]
mod timefmt;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let date = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or_else(timefmt::now);
    println!("cargo:rustc-env=ALP_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=ALP_BUILD_DATE={}", &timefmt::format(date)[..10]);
    println!("cargo:rustc-env=ALP_TARGET={}", std::env::var("TARGET").unwrap_or_default());
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // The functions `alp init` runs when everything is installed, side by side at the start
    // of the code, so a container start faults in few pages of it (scripts/startup-order.sh
    // writes the list). GNU ld, which rustc links this target with, reads the script as an
    // addition to its own layout.
    if std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-musl") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        // `-T` joined to its path: both the cc driver and ld read it so, and unlike `-Wl,`
        // it survives a comma in the checkout's path.
        println!("cargo:rustc-link-arg-bins=-T{dir}/link/startup.ld");
        println!("cargo:rerun-if-changed=link/startup.ld");
    }
}
