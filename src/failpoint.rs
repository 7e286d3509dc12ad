//! Test-only crash points. Built only with the `failpoints` feature (the tests turn it on;
//! a release build never has it): with `ALP_TEST_FAILPOINT=<name>`, alp aborts right at the
//! point of that name, as if killed, so tests can check what the next command finds.
//!
//! Points: `staging` (the first archive is being unpacked), `before-journal` (everything
//! staged, nothing committed), `after-journal`, `mid-commit` (half the renames done),
//! `after-commit` (database in place, before hooks and the world's follow-ups).

#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    if std::env::var("ALP_TEST_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("alp: test failpoint '{name}' reached; aborting");
        std::process::abort();
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}
