//! `init`: make sure the declared packages are installed, then hand over to the PID 1
//! supervisor. The fast path (all satisfied) reads the database and nothing else.

use crate::cli::Init;
use crate::ctx::Ctx;
use crate::db::state::Db;
use crate::error::{self, Result};
use crate::repo::Candidate;
use crate::txn::{self, Install, Origin, Plan};
use crate::version::Req;
use crate::{lockfile, ui, world};

/// What the container declares: a lock, `--packages`, `ALP_PACKAGES`, or the world file.
enum Wanted {
    Locked(Vec<Candidate>),
    Requests(Vec<String>),
}

fn wanted(ctx: &Ctx, args: &Init) -> Result<Wanted> {
    if let Some(lock) = &args.lock {
        return Ok(Wanted::Locked(lockfile::read(std::path::Path::new(lock))?));
    }
    let declared = args.packages.clone().or_else(|| std::env::var("ALP_PACKAGES").ok());
    Ok(Wanted::Requests(match declared {
        Some(list) => list.split([' ', ',', '\n', '\t']).filter(|s| !s.is_empty()).map(str::to_string).collect(),
        None => world::read(&ctx.paths)?.iter().map(|r| r.to_string()).collect(),
    }))
}

/// True when the database already holds what is wanted.
fn satisfied(db: &Db, wanted: &Wanted) -> Result<bool> {
    Ok(match wanted {
        Wanted::Locked(cands) => cands.iter().all(|c| {
            db.packages.get(&c.pkg.name).is_some_and(|p| p.meta.version == c.pkg.version && p.meta.sha256 == c.pkg.sha256)
        }),
        Wanted::Requests(reqs) => {
            for r in reqs {
                let r = Req::parse(r)?;
                if !db.packages.get(&r.name).is_some_and(|p| r.matches(&p.meta.version)) {
                    return Ok(false);
                }
            }
            true
        }
    })
}

fn ensure(ctx: &Ctx, wanted: &Wanted) -> Result<()> {
    match wanted {
        Wanted::Requests(reqs) => crate::cmd::install::install(ctx, reqs).and_then(|code| {
            if code == 0 { Ok(()) } else { Err(error::io_msg("installing the declared packages failed")) }
        }),
        Wanted::Locked(cands) => {
            let _lock = ctx.lock()?;
            let db = Db::load(&ctx.paths)?;
            let installs = cands
                .iter()
                .filter(|c| !db.packages.get(&c.pkg.name).is_some_and(|p| p.meta.version == c.pkg.version && p.meta.sha256 == c.pkg.sha256))
                .map(|c| Install {
                    pkg: c.pkg.clone(),
                    origin: Origin::Repo(c.clone()),
                    replaces: db.packages.get(&c.pkg.name).map(|p| p.meta.version.clone()),
                })
                .collect();
            let plan = Plan { installs, removes: Vec::new() };
            let outcome = txn::execute(ctx, &plan)?;
            match outcome.hook_errors.into_iter().next() {
                Some(e) => Err(e),
                None => {
                    let reqs: Vec<Req> = cands.iter().map(|c| Req::parse(&format!("{}={}", c.pkg.name, c.pkg.version))).collect::<Result<_>>()?;
                    world::update(&ctx.paths, &reqs, &[])
                }
            }
        }
    }
}

pub fn init(ctx: &Ctx, args: &Init) -> Result<i32> {
    let wanted = wanted(ctx, args)?;
    let db = Db::load(&ctx.paths)?;
    if !satisfied(&db, &wanted)? {
        if let Err(e) = ensure(ctx, &wanted) {
            if !args.keep_going || args.command.is_empty() {
                return Err(e.context("alp init could not install the declared packages"));
            }
            ui::error(&format!("{} (continuing because of --keep-going)", e.msg));
        }
    }
    if args.command.is_empty() {
        return Ok(0);
    }
    crate::log::flush();
    let opts = crate::init::Options { group: args.group, expect: args.expect.clone() };
    Ok(crate::init::run(&args.command, &opts))
}

/// `alp lock REQ... -o FILE`: resolve as on an empty root and pin the whole closure.
pub fn lock(ctx: &Ctx, requests: &[String], output: &str) -> Result<i32> {
    if requests.is_empty() {
        return Err(error::usage("lock needs at least one package"));
    }
    let reqs: Vec<Req> = requests.iter().map(|r| Req::parse(r)).collect::<Result<_>>()?;
    let cands = crate::repo::candidates(&ctx.load_indexes()?);
    let empty = Db::default();
    let steps = crate::resolve::Resolver::new(&cands, &empty, true).plan(&reqs, crate::resolve::Policy::PreferInstalled, &[])?;
    let pinned: Vec<Candidate> = steps.into_iter().map(|s| s.cand).collect();
    let text = lockfile::to_json(&pinned);
    if output == "-" {
        println!("{text}");
    } else {
        crate::fsutil::write_atomic(std::path::Path::new(output), text.as_bytes())?;
        ui::status(&format!("wrote {output} ({} packages)", pinned.len()));
    }
    Ok(0)
}
