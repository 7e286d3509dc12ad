//! `doctor` checks a root and says what is wrong and how to fix it; `fix` applies those
//! fixes. Every problem carries a typed `Fix`, so the two never disagree: what doctor
//! suggests is exactly what fix does.
//!
//! `--json` (doctor): `{ok, problems: [{check, package, path, detail, fix}]}`
//! (`package`/`path` may be null; `fix` is the text shown to people).

use crate::cmd::print_json;
use crate::cmd::query::human;
use crate::config;
use crate::ctx::Ctx;
use crate::db::staging;
use crate::db::state::{Db, FileRec, Installed};
use crate::error::{self, Result};
use crate::fetch::cache::Cache;
use crate::json;
use crate::pathtext;
use crate::txn;
use crate::ui;
use crate::verify::digest;
use miniserde::json::Value;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What puts a problem right.
#[derive(Debug, Clone, PartialEq)]
enum Fix {
    /// Delete a leftover file (staging file, temp file of an atomic write, partial download).
    Remove(PathBuf),
    /// Delete a leftover directory and what is in it (scripts of a package not installed).
    RemoveDir(PathBuf),
    /// Put a package's files back as recorded (`install --reinstall`).
    Reinstall(String),
    /// Run a package's install hook again.
    RunHook(String),
    Chmod(PathBuf, u32),
    /// Evict the least recently used archives down to `cache_size`.
    TrimCache,
    /// Write `var/lib/alp/sbom.cdx.json` afresh from the database.
    RewriteSbom,
    /// Finish (or clean up) the change a killed alp left: taking the lock does it.
    Settle,
    /// Something only a person can decide; the text says what to do.
    Manual(String),
}

impl Fix {
    fn describe(&self) -> String {
        match self {
            Fix::Remove(p) => format!("alp fix (removes it; or rm -f {})", pathtext::show(p)),
            Fix::RemoveDir(p) => format!("alp fix (removes it; or rm -r {})", pathtext::show(p)),
            Fix::Reinstall(name) => format!("alp fix (puts the files back: alp install --reinstall {name})"),
            Fix::RunHook(name) => format!("alp fix (runs the install hook of {name} again)"),
            Fix::Chmod(p, mode) => format!("alp fix (or chmod {mode:o} {})", pathtext::show(p)),
            Fix::TrimCache => "alp fix (or alp clean)".into(),
            Fix::RewriteSbom => "alp fix (writes it afresh from the database)".into(),
            Fix::Settle => "alp fix".into(),
            Fix::Manual(text) => text.clone(),
        }
    }
}

/// One thing `doctor` found, with what fixes it.
struct Problem {
    check: &'static str,
    package: Option<String>,
    path: Option<PathBuf>,
    detail: String,
    fix: Fix,
}

impl Problem {
    fn to_json(&self) -> Value {
        json::object(vec![
            ("check", json::string(self.check)),
            ("package", self.package.as_ref().map_or(Value::Null, json::string)),
            ("path", self.path.as_ref().map_or(Value::Null, |p| json::string(pathtext::show(p).to_string()))),
            ("detail", json::string(&self.detail)),
            ("fix", json::string(self.fix.describe())),
        ])
    }
}

pub fn doctor(ctx: &Ctx) -> Result<i32> {
    let problems = find_problems(ctx);
    report(ctx, &problems);
    verdict(ctx, &problems, "doctor found")
}

/// `alp fix`: takes the lock (which finishes or cleans up an interrupted change), applies
/// every fix doctor would suggest that needs no decision, then checks again.
pub fn fix(ctx: &Ctx) -> Result<i32> {
    if ctx.simulate {
        for p in find_problems(ctx) {
            println!("would fix: {}: {}", p.check, p.fix.describe());
        }
        return Ok(0);
    }
    let _lock = ctx.lock()?;
    let mut db = Db::load(&ctx.paths)?;
    let mut fixed = 0;
    let mut reinstall: BTreeSet<String> = BTreeSet::new();
    let mut hooks: BTreeSet<String> = BTreeSet::new();
    for p in find_problems(ctx) {
        let done = match &p.fix {
            Fix::Remove(path) => std::fs::remove_file(path).is_ok(),
            Fix::RemoveDir(path) => std::fs::remove_dir_all(path).is_ok(),
            Fix::Chmod(path, mode) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)).is_ok(),
            Fix::TrimCache => {
                Cache::new(&ctx.paths.cache).trim(ctx.config()?.cache_size.saturating_mul(1 << 20));
                true
            }
            Fix::RewriteSbom => {
                let doc = crate::sbom::document(&db, crate::sbom::Format::CycloneDx, crate::timefmt::now());
                crate::fsutil::write_atomic(&ctx.paths.sbom(), doc.as_bytes()).is_ok()
            }
            Fix::Reinstall(name) => reinstall.insert(name.clone()),
            Fix::RunHook(name) => hooks.insert(name.clone()),
            Fix::Settle | Fix::Manual(_) => false,
        };
        if done && !matches!(p.fix, Fix::Reinstall(_) | Fix::RunHook(_)) {
            ui::status(&format!(
                "fixed: {} {}",
                p.check,
                p.path.as_ref().map_or(String::new(), |p| pathtext::show(p).to_string())
            ));
            fixed += 1;
        }
    }
    if !reinstall.is_empty() {
        let names: Vec<String> = reinstall.into_iter().collect();
        let plan = crate::cmd::install::reinstall_plan(ctx, &db, &names)?;
        if let Some(e) = txn::execute(ctx, &plan)?.hook_errors.into_iter().next() {
            return Err(error::Error::new(error::Kind::Problems, e.msg));
        }
        ui::status(&format!("fixed: reinstalled {}", names.join(", ")));
        fixed += names.len();
        db = Db::load(&ctx.paths)?;
    }
    if !hooks.is_empty() {
        let mut outcome = txn::Outcome::default();
        txn::run_install_hooks(ctx, &mut db, hooks.iter().map(String::as_str), &mut outcome)?;
        fixed += hooks.len() - outcome.hook_errors.len();
        for e in &outcome.hook_errors {
            ui::error(&e.msg);
        }
    }
    let left = find_problems(ctx);
    if fixed == 0 && left.is_empty() {
        ui::status("alp: nothing to fix");
    }
    report(ctx, &left);
    verdict(ctx, &left, "fix could not mend")
}

fn report(ctx: &Ctx, problems: &[Problem]) {
    if ctx.json {
        let list = problems.iter().map(Problem::to_json).collect();
        print_json(&json::object(vec![("ok", Value::Bool(problems.is_empty())), ("problems", Value::Array(list))]));
        return;
    }
    for p in problems {
        let what = p.package.as_ref().map_or(String::new(), |n| format!(" [{n}]"));
        let path = p.path.as_ref().map_or(String::new(), |p| format!(" {}", pathtext::show(p)));
        println!("{}{path}{what}: {}\n    fix: {}", ui::bold(p.check), p.detail, p.fix.describe());
    }
}

fn verdict(ctx: &Ctx, problems: &[Problem], what: &str) -> Result<i32> {
    if problems.is_empty() {
        if !ctx.json {
            let n = Db::load(&ctx.paths).map_or(0, |d| d.packages.len());
            ui::status(&format!("alp: no problems found ({n} packages checked)"));
        }
        return Ok(0);
    }
    let s = if problems.len() == 1 { "" } else { "s" };
    Err(error::Error::new(error::Kind::Problems, format!("{what} {} problem{s} (listed above)", problems.len())))
}

/// Every check, in order.
fn find_problems(ctx: &Ctx) -> Vec<Problem> {
    let mut problems = Vec::new();
    let db = match Db::load(&ctx.paths) {
        Ok(db) => Some(db),
        Err(e) => {
            problems.push(Problem {
                check: "database",
                package: None,
                path: Some(ctx.paths.db()),
                detail: e.msg,
                fix: Fix::Manual(format!("restore {} from a backup", ctx.paths.db().display())),
            });
            None
        }
    };
    let pending = ctx.paths.journal().exists() || ctx.paths.staging_record().exists();
    if let Some(db) = &db {
        check_files(ctx, db, &mut problems);
        check_dependencies(db, &mut problems);
        check_hooks(db, &mut problems);
        check_sbom(ctx, db, &mut problems);
    }
    check_staging(ctx, db.as_ref(), pending, &mut problems);
    check_pending(ctx, &mut problems);
    check_scripts(ctx, db.as_ref(), &mut problems);
    check_config(ctx, &mut problems);
    check_cache(ctx, &mut problems);
    problems
}

/// Every recorded file and hook against the disk: missing, changed content, changed mode.
fn check_files(ctx: &Ctx, db: &Db, out: &mut Vec<Problem>) {
    for p in db.packages.values() {
        let mut push = |check, path: PathBuf, detail: String, fix: Fix| {
            out.push(Problem { check, package: Some(p.meta.name.clone()), path: Some(path), detail, fix })
        };
        for f in &p.files {
            let path = pathtext::under(&ctx.paths.root, &f.path);
            if let Some((check, detail, fix)) = file_problem(&path, f, p) {
                push(check, path, detail, fix);
            }
        }
        for h in &p.hooks {
            let path = ctx.paths.scripts(&p.meta.name).join(h);
            if !path.is_file() {
                push("missing", path, format!("the package's {h} hook is gone"), reinstall(p));
            }
        }
    }
}

/// The fix for a package whose files are not as recorded: put them back, unless it came
/// from an old `.alp` file (its scripts, not alp, made its files).
fn reinstall(p: &Installed) -> Fix {
    match p.origin.strip_prefix("local:") {
        Some(file) if file.ends_with(".alp") => Fix::Manual(format!("alp --yes install-local {file}")),
        _ => Fix::Reinstall(p.meta.name.clone()),
    }
}

fn file_problem(path: &Path, f: &FileRec, p: &Installed) -> Option<(&'static str, String, Fix)> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(("missing", "the file is gone".into(), reinstall(p)));
        }
        Err(e) => {
            return Some((
                "unreadable",
                error::plain_io(&e),
                Fix::Manual(format!("check the permissions of {}", pathtext::show(path))),
            ));
        }
    };
    if let Some(target) = &f.link {
        let now = std::fs::read_link(path).ok();
        if now.as_deref() != Some(pathtext::to_path(target).as_path()) {
            return Some(("modified", format!("should be a symlink to {target}"), reinstall(p)));
        }
        return None;
    }
    if !meta.is_file() {
        return Some(("modified", "is no longer a regular file".into(), reinstall(p)));
    }
    match digest::sha256_file(path) {
        Ok(sum) if sum != f.sha256 => {
            return Some((
                "modified",
                "its content changed since it was installed (sha256 differs)".into(),
                reinstall(p),
            ));
        }
        Ok(_) => {}
        Err(e) => {
            return Some((
                "unreadable",
                error::plain_io(&e),
                Fix::Manual(format!("check the permissions of {}", pathtext::show(path))),
            ));
        }
    }
    let (mode, want) = (meta.permissions().mode() & 0o7777, f.mode & 0o7777);
    if mode != want {
        return Some((
            "mode",
            format!("mode is {mode:o}, installed as {want:o}"),
            Fix::Chmod(path.to_path_buf(), want),
        ));
    }
    None
}

/// Dependencies no installed package satisfies (by name and version, or by `provides`).
fn check_dependencies(db: &Db, out: &mut Vec<Problem>) {
    for p in db.packages.values() {
        for r in p.meta.depends_reqs() {
            let installed = db.packages.get(&r.name);
            let provided = db
                .packages
                .values()
                .any(|q| q.meta.provides.iter().any(|v| v.split(['=', '<', '>']).next() == Some(r.name.as_str())));
            if installed.is_some_and(|q| r.matches(&q.meta.version)) || provided {
                continue;
            }
            let (detail, fix) = match installed {
                Some(q) => (
                    format!("needs {r} but {} is installed", q.meta.id()),
                    Fix::Manual(format!("alp upgrade {}", r.name)),
                ),
                None => (format!("needs {r}, which is not installed"), Fix::Manual(format!("alp install '{r}'"))),
            };
            out.push(Problem { check: "dependency", package: Some(p.meta.name.clone()), path: None, detail, fix });
        }
    }
}

/// `.alp-new.*` files beside installed files, in alp's own directories and in every
/// directory an unfinished change recorded: staged files, temp files of atomic writes, a
/// staged database or world file.
fn check_staging(ctx: &Ctx, db: Option<&Db>, pending: bool, out: &mut Vec<Problem>) {
    let root = &ctx.paths.root;
    let mut dirs: BTreeSet<PathBuf> = [ctx.paths.state(), ctx.paths.etc(), ctx.paths.indexes()].into_iter().collect();
    for p in db.iter().flat_map(|d| d.packages.values()) {
        dirs.insert(ctx.paths.scripts(&p.meta.name));
        for f in &p.files {
            if let Some(parent) = pathtext::under(root, &f.path).parent() {
                dirs.insert(parent.to_path_buf());
            }
        }
    }
    let recorded = std::fs::read_to_string(ctx.paths.staging_record()).unwrap_or_default();
    for line in recorded.lines() {
        if let Some((_, dir)) = line.split_once(' ')
            && !dir.split('/').any(|c| c == "..")
        {
            dirs.insert(pathtext::under(root, dir));
        }
    }
    for path in dirs.iter().flat_map(|d| staging::staged_in(d)) {
        let (detail, fix) = if pending {
            ("staged by an unfinished change", Fix::Settle)
        } else {
            ("left behind by an interrupted run", Fix::Remove(path.clone()))
        };
        out.push(Problem { check: "staging", package: None, fix, path: Some(path), detail: detail.into() });
    }
}

/// A journal (a commit to finish) or a staging record (a change to clean up) of a killed alp.
fn check_pending(ctx: &Ctx, out: &mut Vec<Problem>) {
    for (path, detail) in [
        (ctx.paths.journal(), "a commit was interrupted; finishing it completes the change"),
        (ctx.paths.staging_record(), "a change was interrupted before its commit; cleaning up removes what it staged"),
    ] {
        if path.exists() {
            out.push(Problem {
                check: "interrupted",
                package: None,
                path: Some(path),
                detail: detail.into(),
                fix: Fix::Settle,
            });
        }
    }
}

/// The kept SBOM must describe what the database holds (unless `sbom` is off).
fn check_sbom(ctx: &Ctx, db: &Db, out: &mut Vec<Problem>) {
    if !ctx.config().is_ok_and(|c| c.sbom) || db.packages.is_empty() && !ctx.paths.sbom().exists() {
        return;
    }
    let path = ctx.paths.sbom();
    let detail = match crate::sbom::kept_serial(&path) {
        Some(serial) if serial == crate::sbom::serial_number(db) => return,
        Some(_) => "it does not describe the installed packages",
        None if path.exists() => "it is not a CycloneDX document alp wrote",
        None => "it is missing",
    };
    out.push(Problem { check: "sbom", package: None, path: Some(path), detail: detail.into(), fix: Fix::RewriteSbom });
}

/// Packages whose install hook failed after their files were committed.
fn check_hooks(db: &Db, out: &mut Vec<Problem>) {
    for p in db.packages.values() {
        if let Some(hook) = &p.hook_failed {
            out.push(Problem {
                check: "hook failed",
                package: Some(p.meta.name.clone()),
                path: None,
                detail: format!("its {hook} hook failed after the files were installed"),
                fix: Fix::RunHook(p.meta.name.clone()),
            });
        }
    }
}

/// Script directories of packages that are not installed (an interrupted install-local).
fn check_scripts(ctx: &Ctx, db: Option<&Db>, out: &mut Vec<Problem>) {
    let Some(db) = db else { return };
    let dir = ctx.paths.root.join("var/lib/alp/scripts");
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() && !db.packages.contains_key(&name) {
            let path = e.path();
            out.push(Problem {
                check: "leftover",
                package: Some(name),
                fix: Fix::RemoveDir(path.clone()),
                path: Some(path),
                detail: "scripts of a package that is not installed".into(),
            });
        }
    }
}

/// Settings every other command would refuse to start with.
fn check_config(ctx: &Ctx, out: &mut Vec<Problem>) {
    if let Err(e) = ctx.config() {
        let path = ctx.paths.config();
        // `config set` mends a wrong value, but cannot read a file that is not JSON at all.
        let fix = Fix::Manual(if config::read_file(&path).is_ok() {
            "alp config set KEY VALUE (or correct the ALP_<KEY> variable it names)".to_string()
        } else {
            format!("correct or remove {}", pathtext::show(&path))
        });
        out.push(Problem { check: "config", package: None, path: Some(path), detail: e.msg, fix });
    }
}

fn check_cache(ctx: &Ctx, out: &mut Vec<Problem>) {
    let Ok(config) = ctx.config() else { return };
    let cache = Cache::new(&ctx.paths.cache);
    for e in cache.stale_temp_files() {
        out.push(Problem {
            check: "cache",
            package: None,
            path: Some(e.path.clone()),
            detail: format!("a partial download ({}) left by a process that stopped", human(e.size)),
            fix: Fix::Remove(e.path.clone()),
        });
    }
    let size = cache.total_size();
    let cap = config.cache_size.saturating_mul(1 << 20);
    if size > cap {
        out.push(Problem {
            check: "cache",
            package: None,
            path: Some(ctx.paths.cache.clone()),
            detail: format!("holds {}, over its cap of {} (cache_size)", human(size), human(cap)),
            fix: Fix::TrimCache,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_from_an_old_alp_file_is_not_reinstalled_by_fix() {
        let mut p = Installed {
            meta: crate::repo::index::Package { name: "greeter".into(), version: "1".into(), ..Default::default() },
            origin: "local:/x/greeter-1.2.0.alp".into(),
            installed_at: 0,
            files: Vec::new(),
            dirs: Vec::new(),
            hooks: Vec::new(),
            size: 0,
            hook_failed: None,
        };
        assert_eq!(reinstall(&p), Fix::Manual("alp --yes install-local /x/greeter-1.2.0.alp".into()));
        p.origin = "local:/x/g.tar.gz".into();
        assert_eq!(reinstall(&p), Fix::Reinstall("greeter".into()));
        p.origin = "https://repo".into();
        assert_eq!(reinstall(&p), Fix::Reinstall("greeter".into()));
    }
}
