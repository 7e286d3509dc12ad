//! Housekeeping: `stats`, `doctor`, `clean`, `config`.
//!
//! `--json` documents (one on stdout):
//! - `stats`: `{repositories, kept_indexes, last_update (RFC 3339 or null), available,
//!   installed, disk_used (bytes), cache: {dir, size, cap, archives}}`
//! - `doctor`: `{ok, problems: [{check, package, path, detail, fix}]}` (`package`/`path` may be null)
//! - `config`: `{settings: [{key, value, type, default, source, meaning}]}`;
//!   `config get KEY` / `config set KEY VALUE`: `{key, value}`
//! - `clean`: `{archives, freed, indexes_removed}`

use crate::cmd::print_json;
use crate::cmd::query::human;
use crate::config::{self, Type};
use crate::ctx::Ctx;
use crate::db::state::{Db, FileRec, Installed};
use crate::error::{self, Result};
use crate::fetch::cache::Cache;
use crate::fsutil::STAGING_PREFIX;
use crate::json::{self, Fields};
use crate::repo::index::Index;
use crate::verify::digest;
use crate::{timefmt, ui};
use miniserde::json::Value;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A kept index as `stats` sees it: its package names and when it was fetched.
struct Kept {
    names: Vec<String>,
    fetched: Option<u64>,
}

/// Every index kept under `var/lib/alp/indexes/` (read from disk only; no network).
fn kept_indexes(ctx: &Ctx) -> Vec<Kept> {
    let dir = ctx.paths.indexes();
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(e.path().join("index.json")) else { continue };
        let names = Index::parse(&text, "kept index")
            .map(|i| i.packages.into_iter().map(|p| p.name).collect())
            .unwrap_or_default();
        let fetched = std::fs::read_to_string(e.path().join("meta.json"))
            .ok()
            .and_then(|t| json::parse(&t, "meta.json").ok())
            .and_then(|v| Fields::of(&v, "meta.json").ok()?.u64("fetched").ok()?);
        out.push(Kept { names, fetched });
    }
    out
}

/// Bytes the package's recorded files take on disk now.
fn disk_used(root: &Path, p: &Installed) -> u64 {
    p.files
        .iter()
        .filter_map(|f| std::fs::symlink_metadata(root.join(&f.path)).ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

pub fn stats(ctx: &Ctx) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    let repos = ctx.repos()?.len();
    let kept = kept_indexes(ctx);
    let available: BTreeSet<&str> = kept.iter().flat_map(|k| k.names.iter().map(String::as_str)).collect();
    let last = kept.iter().filter_map(|k| k.fetched).max();
    let disk: u64 = db.packages.values().map(|p| disk_used(&ctx.paths.root, p)).sum();
    let cache = Cache::new(&ctx.paths.cache);
    let (entries, cache_size) = (cache.entries(), cache.total_size());
    let cap = ctx.config()?.cache_size.saturating_mul(1 << 20);
    if ctx.json {
        print_json(&json::object(vec![
            ("repositories", json::number(repos as u64)),
            ("kept_indexes", json::number(kept.len() as u64)),
            ("last_update", last.map_or(Value::Null, |t| json::string(timefmt::format(t)))),
            ("available", json::number(available.len() as u64)),
            ("installed", json::number(db.packages.len() as u64)),
            ("disk_used", json::number(disk)),
            (
                "cache",
                json::object(vec![
                    ("dir", json::string(ctx.paths.cache.display().to_string())),
                    ("size", json::number(cache_size)),
                    ("cap", json::number(cap)),
                    ("archives", json::number(entries.len() as u64)),
                ]),
            ),
        ]));
        return Ok(0);
    }
    let row = |k: &str, v: String| println!("{:<20} {v}", format!("{k}:"));
    row("Repositories", format!("{repos} configured, {} kept indexes", kept.len()));
    row("Last update", last.map_or("never ('alp update' fetches the indexes)".to_string(), timefmt::format));
    row("Available packages", available.len().to_string());
    row("Installed packages", db.packages.len().to_string());
    row("Disk used", human(disk));
    row(
        "Cache",
        format!(
            "{} of {} ({} archives) in {}",
            human(cache_size),
            human(cap),
            entries.len(),
            ctx.paths.cache.display()
        ),
    );
    Ok(0)
}

/// One thing `doctor` found, with the command that fixes it.
struct Problem {
    check: &'static str,
    package: Option<String>,
    path: Option<PathBuf>,
    detail: String,
    fix: String,
}

impl Problem {
    fn to_json(&self) -> Value {
        json::object(vec![
            ("check", json::string(self.check)),
            ("package", self.package.as_ref().map_or(Value::Null, json::string)),
            ("path", self.path.as_ref().map_or(Value::Null, |p| json::string(p.display().to_string()))),
            ("detail", json::string(&self.detail)),
            ("fix", json::string(&self.fix)),
        ])
    }
}

/// The command that puts a package's files back as installed.
fn reinstall(p: &Installed) -> String {
    let name = &p.meta.name;
    match p.origin.strip_prefix("local:") {
        Some(file) if file.ends_with(".alp") => format!("alp --yes install-local {file}"),
        Some(file) => format!("alp remove {name} && alp install {file}"),
        None => format!("alp remove {name} && alp install {name}"),
    }
}

pub fn doctor(ctx: &Ctx) -> Result<i32> {
    let mut problems = Vec::new();
    let db = match Db::load(&ctx.paths) {
        Ok(db) => Some(db),
        Err(e) => {
            problems.push(Problem {
                check: "database",
                package: None,
                path: Some(ctx.paths.db()),
                detail: e.msg,
                fix: format!("restore {} from a backup", ctx.paths.db().display()),
            });
            None
        }
    };
    let journal = ctx.paths.journal().exists();
    if let Some(db) = &db {
        check_files(ctx, db, &mut problems);
        check_dependencies(db, &mut problems);
    }
    check_staging(ctx, db.as_ref(), journal, &mut problems);
    check_journal(ctx, journal, &mut problems);
    check_scripts(ctx, db.as_ref(), &mut problems);
    check_config(ctx, &mut problems);
    check_cache(ctx, &mut problems);
    if ctx.json {
        let list = problems.iter().map(Problem::to_json).collect();
        print_json(&json::object(vec![("ok", Value::Bool(problems.is_empty())), ("problems", Value::Array(list))]));
    } else {
        for p in &problems {
            let what = p.package.as_ref().map_or(String::new(), |n| format!(" [{n}]"));
            let path = p.path.as_ref().map_or(String::new(), |p| format!(" {}", p.display()));
            println!("{}{path}{what}: {}\n    fix: {}", ui::bold(p.check), p.detail, p.fix);
        }
    }
    if problems.is_empty() {
        let n = db.as_ref().map_or(0, |d| d.packages.len());
        if !ctx.json {
            ui::status(&format!("alp: no problems found ({n} packages checked)"));
        }
        return Ok(0);
    }
    let s = if problems.len() == 1 { "" } else { "s" };
    Err(error::Error::new(
        error::Kind::Problems,
        format!("doctor found {} problem{s} (listed above with their fixes)", problems.len()),
    ))
}

/// Every recorded file and hook against the disk: missing, changed content, changed mode.
fn check_files(ctx: &Ctx, db: &Db, out: &mut Vec<Problem>) {
    for p in db.packages.values() {
        let mut push = |check, path: PathBuf, detail: String, fix: String| {
            out.push(Problem { check, package: Some(p.meta.name.clone()), path: Some(path), detail, fix })
        };
        for f in &p.files {
            let path = ctx.paths.root.join(&f.path);
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

fn file_problem(path: &Path, f: &FileRec, p: &Installed) -> Option<(&'static str, String, String)> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(("missing", "the file is gone".into(), reinstall(p)));
        }
        Err(e) => {
            return Some(("unreadable", error::plain_io(&e), format!("check the permissions of {}", path.display())));
        }
    };
    if let Some(target) = &f.link {
        let now = std::fs::read_link(path).ok();
        if now.as_deref() != Some(Path::new(target)) {
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
            return Some(("unreadable", error::plain_io(&e), format!("check the permissions of {}", path.display())));
        }
    }
    let (mode, want) = (meta.permissions().mode() & 0o7777, f.mode & 0o7777);
    if mode != want {
        return Some((
            "mode",
            format!("mode is {mode:o}, installed as {want:o}"),
            format!("chmod {want:o} {}", path.display()),
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
                Some(q) => (format!("needs {r} but {} is installed", q.meta.id()), format!("alp upgrade {}", r.name)),
                None => (format!("needs {r}, which is not installed"), format!("alp install '{r}'")),
            };
            out.push(Problem { check: "dependency", package: Some(p.meta.name.clone()), path: None, detail, fix });
        }
    }
}

/// `.alp-new.*` files beside installed files and in alp's own directories: left by a crash.
fn check_staging(ctx: &Ctx, db: Option<&Db>, journal: bool, out: &mut Vec<Problem>) {
    let root = &ctx.paths.root;
    let mut dirs: BTreeSet<PathBuf> = [ctx.paths.state(), ctx.paths.etc(), ctx.paths.indexes()].into_iter().collect();
    for p in db.iter().flat_map(|d| d.packages.values()) {
        dirs.insert(ctx.paths.scripts(&p.meta.name));
        for f in &p.files {
            if let Some(parent) = root.join(&f.path).parent() {
                dirs.insert(parent.to_path_buf());
            }
        }
    }
    let fix = |path: &Path| if journal { "alp clean".to_string() } else { format!("rm -f {}", path.display()) };
    let mut found = Vec::new();
    for dir in &dirs {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) && !e.path().is_dir() {
                found.push(e.path());
            }
        }
    }
    for path in found {
        let detail = if journal {
            "staged by the unfinished commit"
        } else {
            "a staging file left behind by an interrupted run"
        };
        out.push(Problem { check: "staging", package: None, fix: fix(&path), path: Some(path), detail: detail.into() });
    }
}

fn check_journal(ctx: &Ctx, journal: bool, out: &mut Vec<Problem>) {
    if journal {
        out.push(Problem {
            check: "journal",
            package: None,
            path: Some(ctx.paths.journal()),
            detail: "a commit was interrupted; the next command that takes the lock completes it".into(),
            fix: "alp clean".into(),
        });
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
                fix: format!("rm -r {}", path.display()),
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
        let fix = if config::read_file(&path).is_ok() {
            "alp config set KEY VALUE (or correct the ALP_<KEY> variable it names)".to_string()
        } else {
            format!("correct or remove {}", path.display())
        };
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
            path: Some(e.path),
            detail: format!("a partial download ({}) left by a process that stopped", human(e.size)),
            fix: "alp clean".into(),
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
            fix: "alp clean".into(),
        });
    }
}

pub fn clean(ctx: &Ctx, all: bool) -> Result<i32> {
    let cache = Cache::new(&ctx.paths.cache);
    let indexes = ctx.paths.indexes();
    let kept = if all { std::fs::read_dir(&indexes).map(|r| r.flatten().count()).unwrap_or(0) } else { 0 };
    if ctx.simulate {
        let (n, size) = (cache.entries().len(), cache.total_size());
        println!("would remove {n} archives ({}) from {}", human(size), ctx.paths.cache.display());
        if all {
            println!("would remove {kept} kept indexes from {}", indexes.display());
        }
        return Ok(0);
    }
    let _lock = ctx.lock()?;
    let archives = cache.entries().len();
    let freed = cache.clear();
    if all {
        match std::fs::remove_dir_all(&indexes) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(error::io_at("removing", &indexes, e)),
            _ => {}
        }
    }
    crate::log::info(&format!(
        "clean: removed {archives} cached archives ({freed} bytes){}",
        if all { " and the kept indexes" } else { "" }
    ));
    if ctx.json {
        print_json(&json::object(vec![
            ("archives", json::number(archives as u64)),
            ("freed", json::number(freed)),
            ("indexes_removed", json::number(kept as u64)),
        ]));
    } else {
        ui::status(&format!("removed {archives} archives ({}) from {}", human(freed), ctx.paths.cache.display()));
        if all {
            ui::status(&format!("removed {kept} kept indexes; 'alp update' fetches them again"));
        }
    }
    Ok(0)
}

/// A setting's effective value, typed for JSON.
fn typed(key: &str, ty: Type, text: &str) -> Value {
    config::parse_value(key, ty, text).unwrap_or_else(|_| json::string(text))
}

pub fn config(ctx: &Ctx, args: &[String]) -> Result<i32> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["show"] => config_show(ctx),
        ["get", key] => {
            let ty = config::key_type(key)?;
            let value = config::get(ctx.config()?, key)?;
            if ctx.json {
                print_json(&json::object(vec![("key", json::string(*key)), ("value", typed(key, ty, &value))]));
            } else {
                println!("{value}");
            }
            Ok(0)
        }
        ["set", key, value] => config_set(ctx, key, value),
        ["get", ..] | ["set", ..] => Err(error::usage("usage: alp config get KEY | alp config set KEY VALUE")),
        [other, ..] => Err(error::usage(format!(
            "unknown config action '{other}'; use 'alp config', 'alp config get KEY' or 'alp config set KEY VALUE'"
        ))),
    }
}

fn config_show(ctx: &Ctx) -> Result<i32> {
    let file = config::read_file(&ctx.paths.config())?;
    let mut rows = Vec::new();
    for (key, ty, default, meaning) in config::KEYS {
        let value = config::get(ctx.config()?, key)?;
        let env = format!("ALP_{}", key.to_ascii_uppercase());
        let source = if std::env::var_os(&env).is_some() {
            "environment"
        } else if file.iter().any(|(k, _)| k == key) {
            "config.json"
        } else {
            "default"
        };
        rows.push((*key, *ty, *default, *meaning, value, source));
    }
    if ctx.json {
        let items = rows
            .iter()
            .map(|(key, ty, default, meaning, value, source)| {
                let ty_name = match ty {
                    Type::Bool => "bool",
                    Type::Int => "int",
                    Type::Text => "text",
                };
                json::object(vec![
                    ("key", json::string(*key)),
                    ("value", typed(key, *ty, value)),
                    ("type", json::string(ty_name)),
                    ("default", miniserde::json::from_str(default).unwrap_or(Value::Null)),
                    ("source", json::string(*source)),
                    ("meaning", json::string(*meaning)),
                ])
            })
            .collect();
        print_json(&json::object(vec![("settings", Value::Array(items))]));
        return Ok(0);
    }
    for (key, _, _, meaning, value, source) in &rows {
        let from = if *source == "default" { String::new() } else { format!(" [{source}]") };
        println!("{key:<20} {:<12} {meaning}{from}", value);
    }
    Ok(0)
}

fn config_set(ctx: &Ctx, key: &str, value: &str) -> Result<i32> {
    // Checked before anything is locked or written: an unknown key or bad value is exit 2.
    let ty = config::key_type(key)?;
    let parsed = config::parse_value(key, ty, value)?;
    let shown = match &parsed {
        Value::String(s) => s.clone(),
        other => miniserde::json::to_string(other),
    };
    if ctx.simulate {
        println!("would set {key} = {shown} in {}", ctx.paths.config().display());
        return Ok(0);
    }
    let _lock = ctx.lock()?;
    config::set(&ctx.paths, key, value)?;
    crate::log::info(&format!("config: set {key} = {shown}"));
    let env = format!("ALP_{}", key.to_ascii_uppercase());
    if std::env::var_os(&env).is_some() {
        ui::warn(&format!("{env} is set in the environment and overrides what config.json says"));
    }
    if ctx.json {
        print_json(&json::object(vec![("key", json::string(key)), ("value", parsed)]));
    } else {
        ui::status(&format!("set {key} = {shown} in {}", ctx.paths.config().display()));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reinstall_fix_follows_the_origin() {
        let mut p = Installed {
            meta: crate::repo::index::Package { name: "greeter".into(), version: "1".into(), ..Default::default() },
            origin: "local:/x/greeter-1.2.0.alp".into(),
            installed_at: 0,
            files: Vec::new(),
            dirs: Vec::new(),
            hooks: Vec::new(),
            size: 0,
        };
        assert_eq!(reinstall(&p), "alp --yes install-local /x/greeter-1.2.0.alp");
        p.origin = "local:/x/g.tar.gz".into();
        assert_eq!(reinstall(&p), "alp remove greeter && alp install /x/g.tar.gz");
        p.origin = "https://repo".into();
        assert_eq!(reinstall(&p), "alp remove greeter && alp install greeter");
    }
}
