//! `install`, `remove`, `upgrade`, `outdated`, `install --reinstall`: turn requests into a
//! plan and hand it to the transaction.

use crate::cmd::plan::{self, Change};
use crate::cmd::print_json;
use crate::cmd::query::{canonical_name, count};
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
    // Names as the repositories spell them: `alp install JQ` is jq, as `search` finds it.
    for r in &mut requests {
        let known = cands.iter().map(|c| c.pkg.name.as_str()).chain(db.packages.keys().map(String::as_str));
        r.name = canonical_name(&r.name, known);
    }
    let resolver = Resolver::for_arch(&cands, &db, ctx.config()?.check_dependencies, &ctx.arch);
    let steps = resolver.plan(&requests, Policy::PreferInstalled, &[])?;
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
        world: world::Change { add: world_reqs, drop: Vec::new() },
    };
    if plan.installs.is_empty() && !ctx.json {
        ui::status("alp: nothing to do; everything requested is already installed");
    }
    run_plan(ctx, &db, &plan)
}

/// `install --reinstall NAME...`: the installed version's archive again (from a repository
/// that still offers it, or the local file it came from), through the normal transaction,
/// so every recorded file is put back as it was.
pub fn reinstall(ctx: &Ctx, names: &[String]) -> Result<i32> {
    if names.is_empty() {
        return Err(error::usage("alp install --reinstall: missing NAME, the installed package to put back"));
    }
    let _lock = if ctx.simulate { None } else { Some(ctx.lock()?) };
    let db = Db::load(&ctx.paths)?;
    let plan = reinstall_plan(ctx, &db, names)?;
    run_plan(ctx, &db, &plan)
}

/// The plan that puts the recorded files of `names` back: the same archive (by sha256) from
/// a repository, or the local archive it came from. The caller holds the lock.
pub fn reinstall_plan(ctx: &Ctx, db: &Db, names: &[String]) -> Result<Plan> {
    let mut targets = Vec::new();
    for n in names {
        targets.push(crate::cmd::inspect::installed(ctx, db, n)?);
    }
    let from_repos = targets.iter().any(|p| !p.origin.starts_with(LOCAL));
    let cands = if from_repos { crate::repo::candidates(&ctx.load_indexes()?) } else { Vec::new() };
    let mut installs = Vec::new();
    for p in targets {
        let local = p.origin.strip_prefix(LOCAL).map(PathBuf::from).filter(|f| f.is_file());
        let origin = match local {
            Some(file) => Origin::Local(file),
            None => {
                let same = |c: &&Candidate| c.pkg.name == p.meta.name && c.pkg.version == p.meta.version;
                let found = cands
                    .iter()
                    .filter(same)
                    .find(|c| p.meta.sha256.is_empty() || c.pkg.sha256 == p.meta.sha256)
                    .or_else(|| cands.iter().find(same))
                    .ok_or_else(|| {
                        error::resolve(format!(
                            "cannot reinstall {}: no configured repository offers that version any more",
                            p.meta.id()
                        ))
                    })?;
                Origin::Repo(Box::new(found.clone()))
            }
        };
        let pkg = match &origin {
            Origin::Repo(c) => c.pkg.clone(),
            Origin::Local(_) => p.meta.clone(),
        };
        installs.push(Install { pkg, origin, replaces: Some(p.meta.version.clone()) });
    }
    Ok(Plan { installs, ..Plan::default() })
}

pub fn remove(ctx: &Ctx, names: &[String], cascade: bool) -> Result<i32> {
    if names.is_empty() {
        return Err(error::usage("remove needs at least one package name"));
    }
    let _lock = if ctx.simulate { None } else { Some(ctx.lock()?) };
    let db = Db::load(&ctx.paths)?;
    let mut removing: Vec<String> = Vec::new();
    for n in names {
        removing.push(crate::cmd::inspect::installed(ctx, &db, n)?.meta.name.clone());
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
    let orphans = orphans(&db, &world::read(&ctx.paths)?, &removing);
    if !orphans.is_empty() && take_orphans(ctx, &orphans)? {
        removing.extend(orphans);
    }
    // Dependants go first, so their remove hooks still find what they use.
    removing.reverse();
    let plan = Plan {
        installs: Vec::new(),
        removes: removing.clone(),
        world: world::Change { add: Vec::new(), drop: removing },
    };
    run_plan(ctx, &db, &plan)
}

/// Installed packages that only the ones being removed needed, and that nobody asked for
/// (not in the world file): what `remove` offers to take too, as apk does.
fn orphans(db: &Db, world: &[Req], removing: &[String]) -> Vec<String> {
    let mut gone: Vec<String> = removing.to_vec();
    let mut found = Vec::new();
    loop {
        let next: Vec<String> = db
            .packages
            .values()
            .filter(|p| !gone.contains(&p.meta.name) && !world.iter().any(|r| r.name == p.meta.name))
            .filter(|p| {
                let needed_by_gone = gone
                    .iter()
                    .filter_map(|g| db.packages.get(g))
                    .any(|g| g.meta.depends_reqs().iter().any(|d| d.name == p.meta.name));
                needed_by_gone && db.dependants(&p.meta.name).iter().all(|d| gone.contains(&d.meta.name))
            })
            .map(|p| p.meta.name.clone())
            .collect();
        if next.is_empty() {
            return found;
        }
        gone.extend(next.iter().cloned());
        found.extend(next);
    }
}

/// Whether to remove the orphans too: `--yes` says so; on a terminal, ask; otherwise say
/// how and keep them.
fn take_orphans(ctx: &Ctx, orphans: &[String]) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    let what = format!("{} no longer needed by anything: {}", count(orphans.len(), "package"), orphans.join(", "));
    if ctx.yes {
        return Ok(true);
    }
    if ctx.json || ctx.quiet || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        let them = if orphans.len() == 1 { "it" } else { "them" };
        ui::status(&format!("alp: {what}; 'alp remove {}' removes {them} (or pass --yes)", orphans.join(" ")));
        return Ok(false);
    }
    eprint!("alp: {what}. Remove them too? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| error::io_msg(format!("reading the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// A package the world file holds below the newest version on offer.
struct Held {
    request: Req,
    installed: String,
    newest: String,
}

/// The plan `upgrade NAME...` (every installed package when none) would carry out, and the
/// packages the world file's version bounds hold back.
fn upgrade_plan(ctx: &Ctx, db: &Db, names: &[String]) -> Result<(Plan, Vec<Held>)> {
    let mut named = Vec::new();
    for n in names {
        let p = crate::cmd::inspect::installed(ctx, db, n)
            .map_err(|e| error::Error::new(e.kind, format!("{}; 'alp install {n}' installs it", e.msg)))?;
        named.push(p.meta.name.clone());
    }
    let cands = crate::repo::candidates(&ctx.load_indexes()?);
    let targets: Vec<String> = if named.is_empty() {
        db.packages.keys().filter(|n| cands.iter().any(|c| &c.pkg.name == *n)).cloned().collect()
    } else {
        named
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
    let resolver = Resolver::for_arch(&cands, db, ctx.config()?.check_dependencies, &ctx.arch);
    let steps = resolver.plan(&requests, Policy::Upgrade, &targets)?;
    let plan = Plan {
        installs: steps
            .into_iter()
            .map(|s| Install { pkg: s.cand.pkg.clone(), origin: Origin::Repo(Box::new(s.cand)), replaces: s.replaces })
            .collect(),
        removes: Vec::new(),
        world: world::Change::default(),
    };
    let held = requests
        .iter()
        .filter(|r| r.op != crate::version::Op::Any)
        .filter_map(|r| {
            let installed = db.packages.get(&r.name)?.meta.version.clone();
            let newest = cands
                .iter()
                .filter(|c| c.pkg.name == r.name && c.pkg.fits(&ctx.arch))
                .map(|c| c.pkg.version.clone())
                .max_by(|a, b| crate::version::compare(a, b))?;
            let to = plan.installs.iter().find(|i| i.pkg.name == r.name).map_or(&installed, |i| &i.pkg.version);
            (crate::version::compare(&newest, to).is_gt() && !r.matches(&newest)).then(|| Held {
                request: r.clone(),
                installed: installed.clone(),
                newest,
            })
        })
        .collect();
    Ok((plan, held))
}

pub fn upgrade(ctx: &Ctx, names: &[String]) -> Result<i32> {
    let _lock = if ctx.simulate { None } else { Some(ctx.lock()?) };
    let db = Db::load(&ctx.paths)?;
    let (plan, held) = upgrade_plan(ctx, &db, names)?;
    if !ctx.json {
        for h in &held {
            ui::status(&held_line(ctx, h));
        }
    }
    if plan.installs.is_empty() && !ctx.json {
        ui::status(&format!("alp: everything is up to date{}", index_age(ctx)));
    }
    run_plan(ctx, &db, &plan)
}

fn held_line(ctx: &Ctx, h: &Held) -> String {
    format!(
        "alp: {} stays at {} ({} is out): '{}' in {} holds it back",
        h.request.name,
        h.installed,
        h.newest,
        h.request,
        ctx.paths.world().display()
    )
}

/// " (indexes from 3 h ago; 'alp update' fetches newer)", for "up to date" messages.
fn index_age(ctx: &Ctx) -> String {
    let Ok(repos) = ctx.repos() else { return String::new() };
    let oldest = repos.iter().filter_map(|r| crate::repo::kept_age(&ctx.paths, r)).max();
    match oldest {
        Some(age) => format!(
            " as of the kept indexes, fetched {} ago ('alp update' checks for newer)",
            crate::timefmt::span(age)
        ),
        None => String::new(),
    }
}

/// `outdated`: what `upgrade` would do, with versions, and what the world file holds back.
pub fn outdated(ctx: &Ctx) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    let (plan, held) = upgrade_plan(ctx, &db, &[])?;
    let changes = plan::changes(&plan, &db);
    if ctx.json {
        let held_json = held
            .iter()
            .map(|h| {
                json::object(vec![
                    ("name", json::string(&h.request.name)),
                    ("installed", json::string(&h.installed)),
                    ("newest", json::string(&h.newest)),
                    ("request", json::string(h.request.to_string())),
                ])
            })
            .collect();
        print_json(&json::object(vec![("outdated", plan::to_json(&changes)), ("held", json::array(held_json))]));
        return Ok(0);
    }
    for c in &changes {
        println!("{}", c.line());
    }
    for h in &held {
        ui::status(&held_line(ctx, h));
    }
    if changes.is_empty() {
        ui::status(&format!("alp: everything is up to date{}", index_age(ctx)));
    }
    Ok(0)
}

/// Prints or executes a plan; returns the exit code (non-zero when a hook failed). An empty
/// plan prints nothing for people: the caller has said why there is nothing to do.
fn run_plan(ctx: &Ctx, db: &Db, plan: &Plan) -> Result<i32> {
    let changes: Vec<Change> = plan::changes(plan, db);
    if ctx.simulate {
        if ctx.json {
            print_json(&json::object(vec![
                ("simulate", miniserde::json::Value::Bool(true)),
                ("plan", plan::to_json(&changes)),
            ]));
        } else {
            changes.iter().for_each(|c| println!("{}", c.line()));
        }
        return Ok(0);
    }
    if plan.is_empty() {
        // Nothing to stage: a new request or pin for what is installed is one atomic write.
        if !plan.world.is_empty() {
            world::update(&ctx.paths, &plan.world.add, &plan.world.drop)?;
        }
        if ctx.json {
            print_json(&json::object(vec![("changes", plan::to_json(&[]))]));
        }
        return Ok(0);
    }
    let outcome = txn::execute(ctx, plan)?;
    if ctx.json {
        print_json(&json::object(vec![("changes", plan::to_json(&changes))]));
    } else {
        changes.iter().for_each(|c| ui::status(&c.done()));
    }
    if let Some(first) = outcome.hook_errors.first() {
        for e in &outcome.hook_errors[1..] {
            ui::error(&e.msg);
        }
        return Err(error::Error::new(
            error::Kind::Problems,
            format!("{}; the package is marked 'hook failed' and 'alp fix' runs the hook again", first.msg),
        ));
    }
    Ok(0)
}
