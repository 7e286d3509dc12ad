//! Housekeeping: `stats`, `clean`, `config` (`doctor` and `fix` are in `doctor.rs`).
//!
//! `--json` documents (one on stdout):
//! - `stats`: `{repositories, kept_indexes, last_update (RFC 3339 or null), available,
//!   installed, disk_used (bytes), cache: {dir, size, cap, archives}}`
//! - `config`: `{settings: [{key, value, type, default, source, meaning}]}`;
//!   `config get KEY` / `config set KEY VALUE`: `{key, value}`
//! - `clean`: `{archives, freed, indexes_removed}`

use crate::cmd::print_json;
use crate::cmd::query::human;
use crate::config::{self, Type};
use crate::ctx::Ctx;
use crate::db::state::{Db, Installed};
use crate::error::{self, Result};
use crate::fetch::cache::Cache;
use crate::json::{self, Fields};
use crate::repo::index::Index;
use crate::{timefmt, ui};
use miniserde::json::Value;
use std::collections::BTreeSet;
use std::path::Path;

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
        .filter_map(|f| std::fs::symlink_metadata(crate::pathtext::under(root, &f.path)).ok())
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
