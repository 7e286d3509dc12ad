//! What apk users reach for about installed packages: `files NAME` (what it owns),
//! `owner PATH` (who owns it), `why NAME` (the requests and dependants that keep it).
//! Read-only: the database and the world file, never an index.

use crate::cmd::print_json;
use crate::cmd::query::canonical_name;
use crate::ctx::Ctx;
use crate::db::state::{Db, Installed};
use crate::error::{self, Result};
use crate::json;
use crate::pathtext;
use crate::version::Req;
use miniserde::json::Value;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The installed package called `name` (or `NAME`), or an error that says so (exit 3, as
/// for any package that is not there) with the closest installed name.
pub fn installed<'a>(ctx: &Ctx, db: &'a Db, name: &str) -> Result<&'a Installed> {
    let name = canonical_name(name, db.packages.keys().map(String::as_str));
    db.packages.get(&name).ok_or_else(|| {
        let hint = crate::suggest::did_you_mean(&name, db.packages.keys().map(String::as_str));
        error::resolve(format!(
            "{name} is not installed under {}{hint} ('alp installed' lists what is)",
            ctx.paths.root.display()
        ))
    })
}

/// A recorded path (relative to the root) as it is on disk: `ROOT/usr/bin/jq`.
fn on_disk(ctx: &Ctx, rel: &str) -> PathBuf {
    pathtext::under(&ctx.paths.root, rel)
}

/// A recorded path as `files` and `owner` show it: on disk, as text (`pathtext`).
fn shown(ctx: &Ctx, rel: &str) -> String {
    pathtext::show(&on_disk(ctx, rel)).into_owned()
}

pub fn files(ctx: &Ctx, name: &str) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    let p = installed(ctx, &db, name)?;
    if ctx.json {
        let items = p
            .files
            .iter()
            .map(|f| {
                json::object(vec![
                    ("path", json::string(shown(ctx, &f.path))),
                    ("sha256", if f.sha256.is_empty() { Value::Null } else { json::string(&f.sha256) }),
                    ("mode", json::number(u64::from(f.mode))),
                    ("link", f.link.clone().map_or(Value::Null, json::string)),
                ])
            })
            .collect();
        print_json(&json::object(vec![
            ("name", json::string(&p.meta.name)),
            ("version", json::string(&p.meta.version)),
            ("files", Value::Array(items)),
        ]));
        return Ok(0);
    }
    for f in &p.files {
        match &f.link {
            Some(target) => println!("{} -> {target}", shown(ctx, &f.path)),
            None => println!("{}", shown(ctx, &f.path)),
        }
    }
    Ok(0)
}

/// `PATH` (as alp shows paths, `pathtext`) as the database records it: relative to the
/// root. An absolute path under the root loses the root; any other absolute path is taken
/// as inside the root.
fn recorded(ctx: &Ctx, path: &str) -> String {
    let p = pathtext::to_path(path);
    let rel = p.strip_prefix(&ctx.paths.root).unwrap_or(&p);
    let parts: Vec<&[u8]> = rel
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.as_bytes()),
            _ => None,
        })
        .collect();
    pathtext::encode(&parts.join(&b'/')).into_owned()
}

pub fn owner(ctx: &Ctx, path: &str) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    let rel = recorded(ctx, path);
    let shown = shown(ctx, &rel);
    let owners: Vec<&Installed> = db
        .packages
        .values()
        .filter(|p| p.files.iter().any(|f| f.path == rel) || p.dirs.iter().any(|d| d.trim_end_matches('/') == rel))
        .collect();
    if owners.is_empty() {
        let there = if on_disk(ctx, &rel).symlink_metadata().is_ok() { "exists but " } else { "does not exist and " };
        return Err(error::resolve(format!("{shown} {there}is owned by no installed package")));
    }
    if ctx.json {
        let items = owners
            .iter()
            .map(|p| {
                json::object(vec![("name", json::string(&p.meta.name)), ("version", json::string(&p.meta.version))])
            })
            .collect();
        print_json(&json::object(vec![("path", json::string(shown)), ("owners", Value::Array(items))]));
        return Ok(0);
    }
    for p in owners {
        println!("{shown} is owned by {}", p.meta.id());
    }
    Ok(0)
}

/// The chains of dependants from a world request down to `name` (`jq -> oniguruma`), at
/// most one per request, shortest first.
fn chains(db: &Db, world: &[Req], name: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut queue: std::collections::VecDeque<Vec<String>> = [vec![name.to_string()]].into();
    let mut seen = std::collections::HashSet::from([name.to_string()]);
    while let Some(path) = queue.pop_front() {
        let last = path.last().cloned().unwrap_or_default();
        if world.iter().any(|r| r.name == last) && path.len() > 1 {
            out.push(path.iter().rev().cloned().collect());
            continue;
        }
        for d in db.dependants(&last) {
            if seen.insert(d.meta.name.clone()) {
                let mut next = path.clone();
                next.push(d.meta.name.clone());
                queue.push_back(next);
            }
        }
    }
    out
}

pub fn why(ctx: &Ctx, name: &str) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    let p = installed(ctx, &db, name)?;
    let name = p.meta.name.as_str();
    let world = crate::world::read(&ctx.paths)?;
    let request = world.iter().find(|r| r.name == name);
    let dependants: Vec<(&Installed, String)> = db
        .dependants(name)
        .into_iter()
        .map(|d| {
            let req = d.meta.depends_reqs().into_iter().find(|r| r.name == name).map(|r| r.to_string());
            (d, req.unwrap_or_else(|| name.to_string()))
        })
        .collect();
    let chains = chains(&db, &world, name);
    if ctx.json {
        let deps = dependants
            .iter()
            .map(|(d, req)| {
                json::object(vec![
                    ("name", json::string(&d.meta.name)),
                    ("version", json::string(&d.meta.version)),
                    ("requires", json::string(req)),
                ])
            })
            .collect();
        let chain_list = chains.iter().map(|c| json::strings(c)).collect();
        print_json(&json::object(vec![
            ("name", json::string(name)),
            ("version", json::string(&p.meta.version)),
            ("requested", request.map_or(Value::Null, |r| json::string(r.to_string()))),
            ("dependants", Value::Array(deps)),
            ("chains", Value::Array(chain_list)),
        ]));
        return Ok(0);
    }
    println!("{}:", p.meta.id());
    if let Some(r) = request {
        println!("  requested: {r} (in {})", ctx.paths.world().display());
    }
    for (d, req) in &dependants {
        println!("  needed by {} ({req})", d.meta.id());
    }
    for c in &chains {
        println!("  kept by request: {}", c.join(" -> "));
    }
    if request.is_none() && dependants.is_empty() {
        println!("  nothing needs it and it was not asked for: 'alp remove {name}' removes it");
    }
    Ok(0)
}
