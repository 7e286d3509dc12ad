//! `install`, `remove`, `upgrade`: turn requests into a plan and hand it to the transaction.

use crate::cmd::print_json;
use crate::ctx::Ctx;
use crate::db::state::Db;
use crate::error::{self, Result};
use crate::json;
use crate::repo::Candidate;
use crate::resolve::{Policy, Resolver};
use crate::txn::{self, Install, Origin, Plan};
use crate::version::Req;
use crate::{ui, unpack, world};
use std::path::{Path, PathBuf};

/// Marks a candidate that stands for a local archive given on the command line.
const LOCAL: &str = "local:";

/// A request that names a file: a path with a `/`, or a file here whose content is an
/// archive (the archive module tells by its first bytes, whatever the name).
fn is_archive_path(arg: &str) -> bool {
    use std::io::Read;
    let path = Path::new(arg);
    if !path.is_file() {
        return false;
    }
    let mut head = Vec::new();
    let sniffed = std::fs::File::open(path).and_then(|f| f.take(512).read_to_end(&mut head)).is_ok();
    arg.contains('/') || sniffed && !matches!(crate::archive::Format::sniff(&head), Ok(crate::archive::Format::Raw))
}

pub fn install(ctx: &Ctx, args: &[String]) -> Result<i32> {
    if args.is_empty() {
        return Err(error::usage("install needs at least one package (alp install NAME...)"));
    }
    let _lock = if ctx.simulate { None } else { Some(ctx.lock()?) };
    let db = Db::load(&ctx.paths)?;
    let mut requests = Vec::new();
    let mut local = Vec::new();
    for a in args {
        if is_archive_path(a) {
            let path = std::fs::canonicalize(a).map_err(|e| error::io_at("opening", Path::new(a), e))?;
            let file = std::fs::File::open(&path).map_err(|e| error::io_at("opening", &path, e))?;
            let meta = unpack::read_metadata(file, a)?.ok_or_else(|| {
                error::bad_input(format!(
                    "{a} has no .ALP/package.json at its start; make it with 'alp build' or serve it from a repository index"
                ))
            })?;
            requests.push(Req::parse(&format!("{}={}", meta.name, meta.version))?);
            local.push(Candidate { pkg: meta, repo: format!("{LOCAL}{}", path.display()), mirrors: Vec::new() });
        } else {
            requests.push(Req::parse(a)?);
        }
    }
    let needs_repos = requests.len() > local.len()
        || (ctx.config()?.check_dependencies && local.iter().any(|c| !c.pkg.depends.is_empty()));
    let mut cands = local;
    if needs_repos {
        cands.extend(crate::repo::candidates(&ctx.load_indexes()?));
    }
    let resolver = Resolver::for_arch(&cands, &db, ctx.config()?.check_dependencies, &ctx.arch);
    let steps = resolver.plan(&requests, Policy::PreferInstalled, &[])?;
    let plan = Plan {
        installs: steps
            .into_iter()
            .map(|s| {
                let origin = match s.cand.repo.strip_prefix(LOCAL) {
                    Some(p) => Origin::Local(PathBuf::from(p)),
                    None => Origin::Repo(Box::new(s.cand.clone())),
                };
                Install { pkg: s.cand.pkg, origin, replaces: s.replaces }
            })
            .collect(),
        removes: Vec::new(),
    };
    let world_reqs: Vec<Req> = requests
        .iter()
        .zip(args)
        .map(|(r, a)| {
            if is_archive_path(a) {
                Req { name: r.name.clone(), op: crate::version::Op::Any, version: String::new() }
            } else {
                r.clone()
            }
        })
        .collect();
    let code = run_plan(ctx, &db, &plan)?;
    if !ctx.simulate {
        world::update(&ctx.paths, &world_reqs, &[])?;
    }
    if plan.installs.is_empty() && !ctx.json {
        ui::status("alp: nothing to do; everything requested is already installed");
    }
    Ok(code)
}

pub fn remove(ctx: &Ctx, names: &[String], cascade: bool) -> Result<i32> {
    if names.is_empty() {
        return Err(error::usage("remove needs at least one package name"));
    }
    let _lock = if ctx.simulate { None } else { Some(ctx.lock()?) };
    let db = Db::load(&ctx.paths)?;
    let mut removing: Vec<String> = Vec::new();
    for n in names {
        if !db.packages.contains_key(n) {
            return Err(error::usage(format!("{n} is not installed ('alp installed' lists what is)")));
        }
        removing.push(n.clone());
    }
    // Add (with --cascade) or refuse the installed packages that still need these.
    let mut i = 0;
    while i < removing.len() {
        let name = removing[i].clone();
        for d in db.dependants(&name) {
            if removing.contains(&d.meta.name) {
                continue;
            }
            if cascade {
                removing.push(d.meta.name.clone());
            } else {
                return Err(error::conflict(format!(
                    "{} depends on {name}; remove it too, or pass --cascade to remove every package that needs {name}",
                    d.meta.id()
                )));
            }
        }
        i += 1;
    }
    // Dependants go first, so their remove hooks still find what they use.
    removing.reverse();
    let plan = Plan { installs: Vec::new(), removes: removing.clone() };
    let code = run_plan(ctx, &db, &plan)?;
    if !ctx.simulate {
        world::update(&ctx.paths, &[], &removing)?;
    }
    Ok(code)
}

pub fn upgrade(ctx: &Ctx, names: &[String]) -> Result<i32> {
    let _lock = if ctx.simulate { None } else { Some(ctx.lock()?) };
    let db = Db::load(&ctx.paths)?;
    for n in names {
        if !db.packages.contains_key(n) {
            return Err(error::usage(format!("{n} is not installed; use 'alp install {n}'")));
        }
    }
    let cands = crate::repo::candidates(&ctx.load_indexes()?);
    let targets: Vec<String> = if names.is_empty() {
        db.packages.keys().filter(|n| cands.iter().any(|c| &c.pkg.name == *n)).cloned().collect()
    } else {
        names.to_vec()
    };
    let world: Vec<Req> = world::read(&ctx.paths)?;
    // Keep the user's own version bounds from the world file.
    let requests: Vec<Req> = targets
        .iter()
        .map(|n| {
            world.iter().find(|r| &r.name == n).cloned().unwrap_or(Req {
                name: n.clone(),
                op: crate::version::Op::Any,
                version: String::new(),
            })
        })
        .collect();
    let resolver = Resolver::for_arch(&cands, &db, ctx.config()?.check_dependencies, &ctx.arch);
    let steps = resolver.plan(&requests, Policy::Upgrade, &targets)?;
    let plan = Plan {
        installs: steps
            .into_iter()
            .map(|s| Install { pkg: s.cand.pkg.clone(), origin: Origin::Repo(Box::new(s.cand)), replaces: s.replaces })
            .collect(),
        removes: Vec::new(),
    };
    if plan.installs.is_empty() && !ctx.json {
        ui::status("alp: everything is up to date");
    }
    run_plan(ctx, &db, &plan)
}

/// Prints or executes a plan; returns the exit code (non-zero when a hook failed).
fn run_plan(ctx: &Ctx, db: &Db, plan: &Plan) -> Result<i32> {
    let lines = plan.describe(db);
    if ctx.simulate {
        if ctx.json {
            print_json(&json::object(vec![
                ("simulate", miniserde::json::Value::Bool(true)),
                ("plan", json::strings(&lines)),
            ]));
        } else if lines.is_empty() {
            println!("nothing to do");
        } else {
            lines.iter().for_each(|l| println!("{l}"));
        }
        return Ok(0);
    }
    if plan.is_empty() {
        if ctx.json {
            print_json(&json::object(vec![("changes", json::strings(&[]))]));
        }
        return Ok(0);
    }
    let outcome = txn::execute(ctx, plan)?;
    if ctx.json {
        print_json(&json::object(vec![("changes", json::strings(&lines))]));
    } else {
        lines.iter().for_each(|l| ui::status(&past_tense(l)));
    }
    if let Some(first) = outcome.hook_errors.first() {
        for e in &outcome.hook_errors[1..] {
            ui::error(&e.msg);
        }
        return Err(error::Error::new(error::Kind::Io, first.msg.clone()));
    }
    Ok(0)
}

fn past_tense(line: &str) -> String {
    for (from, to) in [("install ", "installed "), ("upgrade ", "upgraded "), ("remove ", "removed ")] {
        if let Some(rest) = line.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    line.to_string()
}
