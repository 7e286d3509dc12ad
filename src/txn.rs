//! The install transaction (SPEC section 6): stage every archive in parallel, check it,
//! then commit all of it through the journal, or discard all of it.
//!
//! A byte's path: `fetch::http` (or the cache) → `verify::digest` (SHA-256, size, copy to
//! the cache) → `unpack` (gzip, tar, path checks, staging files) → here: journal, rename,
//! database → `hooks`.

use crate::config::Paths;
use crate::ctx::Ctx;
use crate::db::journal::{self, Journal};
use crate::db::staging::Record;
use crate::db::state::{Db, Installed};
use crate::error::{self, Result};
use crate::fetch::cache::flight::{self, Flight, Turn};
use crate::fetch::cache::{Cache, CacheWriter};
use crate::fetch::http::{self, Fetched};
use crate::fetch::pipe;
use crate::progress::Progress;
use crate::repo::Candidate;
use crate::repo::index::Package;
use crate::unpack::{self, Claims, Options, Staged};
use crate::verify::digest::HashingReader;
use crate::{fsutil, hooks, interrupt, timefmt, ui, world};
use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Where an archive comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    Repo(Box<Candidate>),
    Local(PathBuf),
}

/// One package to install (or to upgrade, when `replaces` is set).
#[derive(Debug, Clone)]
pub struct Install {
    pub pkg: Package,
    pub origin: Origin,
    pub replaces: Option<String>,
}

/// Everything one transaction changes.
#[derive(Debug, Default)]
pub struct Plan {
    pub installs: Vec<Install>,
    pub removes: Vec<String>,
    /// The requests and pins the world file gains or loses, committed with the rest.
    pub world: world::Change,
}

impl Plan {
    /// Nothing to install or remove (the world file may still change).
    pub fn is_empty(&self) -> bool {
        self.installs.is_empty() && self.removes.is_empty()
    }

    /// The `--simulate` listing, one line per change.
    pub fn describe(&self, db: &Db) -> Vec<String> {
        let mut out: Vec<String> = self
            .installs
            .iter()
            .map(|i| match &i.replaces {
                Some(old) => format!("upgrade {} {old} -> {}", i.pkg.name, i.pkg.version),
                None => format!("install {}", i.pkg.id()),
            })
            .collect();
        out.extend(self.removes.iter().map(|n| {
            let v = db.packages.get(n).map(|p| p.meta.version.as_str()).unwrap_or("?");
            format!("remove {n} {v}")
        }));
        out
    }
}

/// What a committed transaction did; hook failures come after the commit and are reported.
#[derive(Debug, Default)]
pub struct Outcome {
    pub hook_errors: Vec<error::Error>,
}

/// Runs the transaction. The caller holds the lock.
///
/// Before the first staged byte, a staging record (`db::staging`) says where staging goes;
/// until the journal is durable, a failure, a stop request or a kill leaves nothing behind
/// (this run removes what it staged; a killed run's leftovers go at the next command). From
/// the journal on, the change is finished whatever happens, and a stop request is honoured
/// after it.
pub fn execute(ctx: &Ctx, plan: &Plan) -> Result<Outcome> {
    ctx.config()?; // read before anything changes, so nothing after the commit can fail on it
    interrupt::check()?;
    let mut db = Db::load(&ctx.paths)?;
    let mut outcome = Outcome::default();
    for name in &plan.removes {
        if let Some(p) = db.packages.get(name)
            && let Err(e) = run_hook(ctx, p, "remove", &p.meta.version)
        {
            ui::warn(&format!("{}; removing it anyway", e.msg));
        }
    }
    let replacing: HashSet<String> = plan
        .installs
        .iter()
        .filter(|i| db.packages.contains_key(&i.pkg.name))
        .map(|i| i.pkg.name.clone())
        .chain(plan.removes.iter().cloned())
        .collect();
    let owners = db.owners().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let claims = Claims::new(owners, replacing, plan.installs.len());
    let record = Record::begin(&ctx.paths)?;
    let mut staged = match stage_all(ctx, &plan.installs, &claims, &record) {
        Ok(s) => s,
        Err(e) => {
            let _ = record.close();
            return Err(e);
        }
    };
    let journal = match prepare_commit(ctx, &mut db, plan, &staged) {
        Ok(j) => j,
        Err(e) => {
            staged.iter_mut().for_each(|s| s.discard(&ctx.paths.root));
            remove_staged_records(ctx);
            let _ = record.close();
            return Err(e);
        }
    };
    crate::failpoint::hit("before-journal");
    if let Err(e) = journal.commit(&ctx.paths, record) {
        // Without a journal on disk nothing was renamed: put things back as they were (a
        // journal that is there finishes at the next command).
        if !ctx.paths.journal().exists() {
            staged.iter_mut().for_each(|s| s.discard(&ctx.paths.root));
            remove_staged_records(ctx);
            let _ = fsutil::remove_if_exists(&ctx.paths.staging_record());
        }
        return Err(e);
    }
    crate::failpoint::hit("after-commit");
    for inst in &plan.installs {
        crate::log::info(&match &inst.replaces {
            Some(old) => format!("upgraded {} {old} -> {}", inst.pkg.name, inst.pkg.version),
            None => format!("installed {}", inst.pkg.id()),
        });
    }
    for name in &plan.removes {
        crate::log::info(&format!("removed {name}"));
    }
    if let Some(sig) = interrupt::requested() {
        // Asked to stop while the commit ran: it is finished; the hooks are not run.
        return Err(error::Error::new(
            error::Kind::Interrupted,
            "interrupted during the commit, which was completed; install hooks were not run",
        )
        .because(error::Cause::Signal(sig)));
    }
    run_install_hooks(ctx, &mut db, plan.installs.iter().map(|i| i.pkg.name.as_str()), &mut outcome)?;
    let cache = Cache::new(&ctx.paths.cache);
    cache.trim(ctx.config()?.cache_size.saturating_mul(1 << 20));
    Ok(outcome)
}

/// The journal of the commit, with the new database, world file and SBOM written to their
/// staging names beside the real ones (renamed into place by the journal, with the files).
fn prepare_commit(ctx: &Ctx, db: &mut Db, plan: &Plan, staged: &[Staged]) -> Result<Journal> {
    let mut journal = build_commit(ctx, db, plan, staged)?;
    stage_records(&ctx.paths, &mut journal, db, &plan.world, ctx.config()?.sbom)?;
    Ok(journal)
}

/// Writes the new database, world file (when `world` changes it) and SBOM (when `sbom`) to
/// their staging names and adds their renames to `journal`: all three change with the files
/// or not at all.
pub fn stage_records(paths: &Paths, journal: &mut Journal, db: &Db, world: &world::Change, sbom: bool) -> Result<()> {
    let rel = |p: &Path| crate::pathtext::show(p.strip_prefix(&paths.root).unwrap_or(p)).into_owned();
    let mut stage = |path: PathBuf, text: &[u8]| -> Result<()> {
        fsutil::ensure_dir(path.parent().unwrap_or(&paths.root))?;
        let staged = fsutil::staging_path(&path);
        fsutil::write_atomic(&staged, text)?;
        journal.renames.push((rel(&staged), rel(&path)));
        Ok(())
    };
    if !world.is_empty() {
        stage(paths.world(), world.apply_to(paths)?.as_bytes())?;
    }
    if sbom {
        stage(paths.sbom(), crate::sbom::document(db, crate::sbom::Format::CycloneDx, timefmt::now()).as_bytes())?;
    }
    fsutil::ensure_dir(&paths.state())?;
    fsutil::write_atomic(&journal::staged_db(paths), db.to_json().as_bytes())
}

/// Commits a database (and world file and SBOM) that changed without files being staged: the
/// old-format installs, whose scripts put their files in place themselves. The caller holds
/// the lock.
pub fn commit_records(paths: &Paths, db: &Db, world: &world::Change, sbom: bool) -> Result<()> {
    let record = Record::begin(paths)?;
    let mut journal = Journal::default();
    if let Err(e) = stage_records(paths, &mut journal, db, world, sbom) {
        remove_staged(paths);
        let _ = record.close();
        return Err(e);
    }
    journal.commit(paths, record)
}

/// Removes the staged database, world file and SBOM of a commit that did not happen.
fn remove_staged_records(ctx: &Ctx) {
    remove_staged(&ctx.paths);
}

fn remove_staged(paths: &Paths) {
    for path in [journal::staged_db(paths), fsutil::staging_path(&paths.world()), fsutil::staging_path(&paths.sbom())] {
        let _ = fsutil::remove_if_exists(&path);
    }
}

/// Runs the install hooks of `names` (committed already). A package whose hook fails is
/// marked in the database (`hook_failed`), so `installed`, `info` and `doctor` show it and
/// `alp fix` runs the hook again; one whose hook now succeeds loses the mark.
pub fn run_install_hooks<'a>(
    ctx: &Ctx,
    db: &mut Db,
    names: impl Iterator<Item = &'a str>,
    outcome: &mut Outcome,
) -> Result<()> {
    let mut marks_changed = false;
    for name in names {
        let Some(p) = db.packages.get_mut(name) else { continue };
        let result = run_hook(ctx, p, "install", &p.meta.version);
        let mark = result.is_err().then(|| "install".to_string());
        marks_changed |= p.hook_failed != mark;
        p.hook_failed = mark;
        if let Err(e) = result {
            crate::log::error(&e.msg);
            outcome.hook_errors.push(e.context("the files are installed, but"));
        }
    }
    if marks_changed {
        db.save(&ctx.paths)?;
    }
    Ok(())
}

fn run_hook(ctx: &Ctx, p: &Installed, hook: &str, version: &str) -> Result<()> {
    if !p.hooks.iter().any(|h| h == hook) {
        return Ok(());
    }
    let script = ctx.paths.scripts(&p.meta.name).join(hook);
    hooks::run(&script, &ctx.paths.root, &p.meta.name, version, ctx.config()?.hook_timeout, &[])
}

/// Stages every archive, `parallel_downloads` at a time. All or nothing: on the first
/// failure the others stop and everything staged is removed.
///
/// An archive another process is already fetching into the shared cache is put off until
/// the other archives are under way, then waited for: a fleet starting at once downloads
/// each archive once, and still downloads different archives in parallel.
fn stage_all(ctx: &Ctx, installs: &[Install], claims: &Claims, record: &Record) -> Result<Vec<Staged>> {
    let workers = if ctx.config()?.parallel_install { ctx.config()?.parallel_downloads as usize } else { 1 };
    let workers = workers.clamp(1, installs.len().max(1));
    let cache = Cache::new(&ctx.paths.cache);
    let to_download: u64 = installs
        .iter()
        .filter(|i| matches!(&i.origin, Origin::Repo(c) if c.is_remote()))
        .filter(|i| !cache.contains(&i.pkg.sha256))
        .map(|i| i.pkg.size)
        .sum();
    let fetching: Vec<&str> = installs
        .iter()
        .filter(|i| matches!(&i.origin, Origin::Repo(_)) && !cache.contains(&i.pkg.sha256))
        .map(|i| i.pkg.name.as_str())
        .collect();
    let progress = Progress::start_as(to_download, &fetching.join(", "));
    let next = AtomicUsize::new(0);
    let put_off: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Result<Staged>>>> = installs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while !failed.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let (i, wait) = if i < installs.len() {
                        (i, false)
                    } else {
                        match put_off.lock().unwrap_or_else(|p| p.into_inner()).pop() {
                            Some(i) => (i, true),
                            None => break,
                        }
                    };
                    let r = match stage_one(ctx, &cache, &installs[i], claims, record, &progress, wait) {
                        Ok(None) => {
                            put_off.lock().unwrap_or_else(|p| p.into_inner()).push(i);
                            continue;
                        }
                        Ok(Some(staged)) => Ok(staged),
                        Err(e) => Err(e),
                    };
                    if r.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    let mut staged = Vec::new();
    let mut first_error = None;
    for r in results {
        match r.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(s)) => staged.push(s),
            Some(Err(e)) if first_error.is_none() => first_error = Some(e),
            _ => {}
        }
    }
    match first_error {
        None => Ok(staged),
        Some(e) => {
            staged.iter_mut().for_each(|s| s.discard(&ctx.paths.root));
            Err(e)
        }
    }
}

/// Cap on unpacked bytes: the declared installed size with slack, else 100x the archive.
fn size_cap(pkg: &Package, archive_size: u64) -> u64 {
    if pkg.installed_size > 0 {
        pkg.installed_size + pkg.installed_size / 8 + (1 << 20)
    } else {
        archive_size.saturating_mul(100).clamp(256 << 20, 64 << 30)
    }
}

/// An archive's bytes, opened.
struct Source {
    reader: Box<dyn Read + Send>,
    /// The cache entry these bytes fill as they pass.
    tee: Option<CacheWriter>,
    /// Our turn to fetch this archive into the shared cache, held until it is published.
    _flight: Option<Flight>,
    /// They come from the cache: a failed check means a damaged entry, not a bad mirror.
    cached: bool,
}

/// One archive: open its bytes (cache, file or HTTP), stream them through the digest into
/// the unpacker, and only keep the result if digest and size match. A damaged cache entry
/// is removed and the archive fetched again, once. `Ok(None)`: another process is fetching
/// it and `wait` is false.
fn stage_one(
    ctx: &Ctx,
    cache: &Cache,
    inst: &Install,
    claims: &Claims,
    record: &Record,
    progress: &Progress,
    wait: bool,
) -> Result<Option<Staged>> {
    let mut repaired = false;
    loop {
        let Some(src) = open_source(ctx, cache, inst, wait || repaired)? else { return Ok(None) };
        let cached = src.cached;
        match stage_from(ctx, inst, claims, record, progress, src) {
            Err(e) if cached && !repaired && matches!(e.kind, error::Kind::Integrity | error::Kind::BadInput) => {
                cache.remove(&inst.pkg.sha256);
                ui::warn(&format!(
                    "the cache entry {} of {} was damaged ({}); fetching it again",
                    cache.blob(&inst.pkg.sha256).display(),
                    inst.pkg.id(),
                    e.msg
                ));
                repaired = true;
            }
            Err(e) if cached => {
                return Err(error::Error::new(
                    e.kind,
                    format!("the cache entry {} was damaged: {}", cache.blob(&inst.pkg.sha256).display(), e.msg),
                ));
            }
            r => return r.map(Some),
        }
    }
}

/// Opens an archive's bytes: a local file, the shared cache, or a download that fills the
/// cache, taking the archive's turn first so that one process fetches it. `Ok(None)` when
/// another process has the turn and `wait` is false.
fn open_source(ctx: &Ctx, cache: &Cache, inst: &Install, wait: bool) -> Result<Option<Source>> {
    let pkg = &inst.pkg;
    let label = pkg.id();
    let c = match &inst.origin {
        Origin::Local(path) => {
            let f = File::open(path).map_err(|e| error::io_at("opening", path, e))?;
            return Ok(Some(Source { reader: Box::new(f), tee: None, _flight: None, cached: false }));
        }
        Origin::Repo(c) => c,
    };
    let from_cache = |f: File| Some(Source { reader: Box::new(f), tee: None, _flight: None, cached: true });
    if let Some(f) = cache.open(&pkg.sha256) {
        ui::verbose(&format!("{label}: from the cache {}", cache.blob(&pkg.sha256).display()));
        return Ok(from_cache(f));
    }
    let url = c.url();
    let remote = c.is_remote();
    if remote && ctx.offline {
        return Err(error::network(format!("{label} is not in the cache and --offline forbids downloading it")));
    }
    let net = ctx.net()?;
    let keep = remote && ctx.config()?.keep_cache;
    let flight = if !keep {
        None
    } else {
        let key = format!("sha256-{}", pkg.sha256);
        let turn = if wait {
            let stall = Duration::from_secs(net.timeout.max(1) * 2 + pkg.size / http::MIN_RATE);
            flight::take(cache, &key, &label, stall, ctx.quiet)?
        } else {
            flight::try_take(cache, &key)?
        };
        match turn {
            Turn::Busy => return Ok(None),
            Turn::Stalled => None,
            Turn::Mine(f) => {
                // Whoever had the turn before us may have published it.
                if let Some(f) = cache.open(&pkg.sha256) {
                    return Ok(from_cache(f));
                }
                Some(f)
            }
        }
    };
    let body = match c.fetch(&net).map_err(|e| e.context(&label))? {
        Fetched::Body(b) => b,
        Fetched::NotModified => return Err(error::network(format!("{label}: unexpected 304 from {url}"))),
    };
    if let Some(len) = body.len
        && len != pkg.size
    {
        return Err(error::integrity(format!(
            "{label}: the server offers {len} bytes but the index says {}; refusing the download",
            pkg.size
        )));
    }
    let tee = if keep { Some(cache.writer(&pkg.sha256)?) } else { None };
    Ok(Some(Source { reader: body.reader, tee, _flight: flight, cached: false }))
}

/// Streams `src` through the digest into the unpacker; keeps the result only if the digest
/// and size match the index. Bytes that arrived but differ are an integrity error naming both
/// digests; a connection that closed early is a network error.
fn stage_from(
    ctx: &Ctx,
    inst: &Install,
    claims: &Claims,
    record: &Record,
    progress: &Progress,
    src: Source,
) -> Result<Staged> {
    let pkg = &inst.pkg;
    let label = pkg.id();
    let root = &ctx.paths.root;
    let expect = match inst.origin {
        Origin::Repo(_) => Some((pkg.sha256.as_str(), pkg.size)),
        Origin::Local(_) => None,
    };
    let archive_size = expect.map_or(u64::MAX, |e| e.1);
    let opts = Options {
        allow_setuid: ctx.allow_setuid,
        max_bytes: size_cap(pkg, archive_size.min(1 << 40)),
        record: Some(record),
        // The list is only as good as the index that vouches for it, and only means the bytes
        // at hand when the archive's digest is checked against that index.
        checked: expect.is_some(),
        listed_digests: pkg.file_digests && expect.is_some() && pkg.place.is_identity(),
    };
    let mut hashing = HashingReader::new(src.reader, archive_size, src.tee);
    if !src.cached {
        hashing = hashing.with_progress(progress.counter());
    }
    // Download and hash on one thread, inflate and write on this one.
    let (unpacked, mut hashing) = std::thread::scope(|s| {
        let (pipe, producer) = pipe::spawn(s, hashing);
        let unpacked = unpack::unpack(pipe, root, pkg, &label, &opts, claims);
        let hashing = producer.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (unpacked, hashing)
    });
    let mut staged = match unpacked {
        Ok(s) => s,
        Err(e) => {
            let e = match (hashing.source_error(), expect) {
                (Some(src), _) => src.context(&label),
                // A corrupt archive whose bytes are not the ones the index names: say so, since
                // that is the cause (tampering, a broken mirror, a damaged cache entry), not the
                // decompression error it led to. The rest is read first, so a short body is told
                // from a complete one with wrong bytes.
                (None, Some((sha, size))) if e.kind == error::Kind::BadInput => {
                    match hashing.finish(&label, Some(sha), Some(size)) {
                        Err(mismatch) => mismatch,
                        Ok(_) => e,
                    }
                }
                _ => e,
            };
            return Err(hashing.fail(e));
        }
    };
    if let Err(e) = hashing.finish(&label, expect.map(|e| e.0), expect.map(|e| e.1)) {
        staged.discard(root);
        return Err(e);
    }
    let mismatch = staged.meta.as_ref().filter(|m| {
        matches!(inst.origin, Origin::Repo(_))
            && (m.name != pkg.name || crate::version::compare(&m.version, &pkg.version).is_ne())
    });
    if let Some(meta) = mismatch {
        let e = error::integrity(format!("{label}: the archive says it is {} but the index says {label}", meta.id()));
        staged.discard(root);
        return Err(e);
    }
    Ok(staged)
}

/// Updates `db` to the state after the commit and returns the journal that gets there.
fn build_commit(ctx: &Ctx, db: &mut Db, plan: &Plan, staged: &[Staged]) -> Result<Journal> {
    let mut journal = Journal::default();
    let mut new_paths: HashSet<String> = HashSet::new();
    for st in staged {
        for f in &st.files {
            journal.renames.push((f.staged(), f.rec.path.clone()));
            new_paths.insert(f.rec.path.clone());
        }
        for (_, staged_path, dest) in &st.hooks {
            journal.renames.push((staged_path.clone(), dest.clone()));
            new_paths.insert(dest.clone());
        }
    }
    let mut rmdirs: Vec<String> = Vec::new();
    let scripts_rel = |name: &str| format!("var/lib/alp/scripts/{name}");
    for (inst, st) in plan.installs.iter().zip(staged) {
        let named: HashSet<&str> = st.dirs.iter().map(String::as_str).collect();
        let mut dirs: Vec<String> = st.created_dirs(&ctx.paths.root);
        if let Some(old) = db.packages.get(&inst.pkg.name) {
            for f in &old.files {
                if !new_paths.contains(&f.path) {
                    journal.removes.push(f.path.clone());
                }
            }
            for h in &old.hooks {
                let p = format!("{}/{h}", scripts_rel(&old.meta.name));
                if !new_paths.contains(&p) {
                    journal.removes.push(p);
                }
            }
            for d in &old.dirs {
                if named.contains(d.as_str()) {
                    dirs.push(d.clone());
                } else {
                    rmdirs.push(d.clone());
                }
            }
        }
        dirs.sort();
        dirs.dedup();
        let (pkg, origin) = match &inst.origin {
            Origin::Repo(c) => (inst.pkg.clone(), c.repo.clone()),
            Origin::Local(p) => (st.meta.clone().unwrap_or_else(|| inst.pkg.clone()), format!("local:{}", p.display())),
        };
        let record = Installed {
            meta: pkg,
            origin,
            installed_at: timefmt::now(),
            files: st.files.iter().map(|f| f.rec.clone()).collect(),
            dirs,
            hooks: st.hooks.iter().map(|h| h.0.clone()).collect(),
            size: st.size,
            hook_failed: None,
        };
        db.packages.insert(inst.pkg.name.clone(), record);
    }
    for name in &plan.removes {
        let Some(old) = db.packages.remove(name) else {
            return Err(error::usage(format!("{name} is not installed")));
        };
        journal.removes.extend(old.files.iter().map(|f| f.path.clone()).filter(|p| !new_paths.contains(p)));
        journal.removes.extend(old.hooks.iter().map(|h| format!("{}/{h}", scripts_rel(name))));
        rmdirs.extend(old.dirs.iter().cloned());
        rmdirs.push(scripts_rel(name));
    }
    // Deepest first, so parents empty out before their turn.
    rmdirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    rmdirs.dedup();
    journal.rmdirs = rmdirs;
    Ok(journal)
}
