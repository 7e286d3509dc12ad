//! Repositories: which ones are configured, fetching and checking their indexes
//! (signature, expiry, serial), and the verified copies kept under `var/lib/alp/indexes/`.

pub mod index;
pub mod shared;

use crate::config::{Config, Paths};
use crate::error::{self, Cause, IoContext, Result};
use crate::fetch::cache::Cache;
use crate::fetch::cache::flight::{self, Turn};
use crate::fetch::http::{self, Fetched, Net};
use crate::fetch::source::{self, Item, Source};
use crate::fsutil;
use crate::json::{self, Fields};
use crate::timefmt;
use crate::verify::{digest, sig};
use index::{Index, Package};
use shared::{Copy, Shared};
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

/// An index larger than this is refused before it is parsed.
const MAX_INDEX_BYTES: u64 = 64 << 20;

/// One configured repository: a line of `etc/alp/repositories`, one URL or several
/// mirrors of the same signed index.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The first mirror as shown (no secrets): how messages name it, what the database
    /// records as a package's origin, what the kept index is filed under.
    pub url: String,
    /// Where to get it, in order of preference.
    pub mirrors: Vec<Source>,
}

impl Repo {
    /// A repository line: space-separated mirror URLs.
    pub fn parse(line: &str) -> Result<Option<Repo>> {
        let mut mirrors = Vec::new();
        for word in line.split_whitespace() {
            let mut u = word.trim_end_matches('/').to_string();
            // One spelling per local repository, so its kept index is found again.
            if !u.contains("://")
                && !u.starts_with(crate::legacy::source::PREFIX)
                && let Ok(abs) = std::fs::canonicalize(&u)
            {
                u = abs.to_string_lossy().into_owned();
            }
            mirrors.push(Source::parse(&u)?);
        }
        let Some(first) = mirrors.first() else { return Ok(None) };
        Ok(Some(Repo { url: first.shown(), mirrors }))
    }

    fn is_legacy(&self) -> bool {
        matches!(self.mirrors.first(), Some(Source::Legacy(_)))
    }

    fn is_remote(&self) -> bool {
        self.mirrors.first().is_some_and(Source::is_remote)
    }
}

/// A repository's index as last verified, with where it came from.
pub struct Loaded {
    pub repo: Repo,
    pub index: Index,
    /// Which trusted key signed it (file name), or `None` when accepted untrusted.
    pub signed_by: Option<String>,
}

/// A package offered by a repository, with the base its `file` is relative to.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub pkg: Package,
    /// The repository as shown (or empty for a lock file's pinned URL).
    pub repo: String,
    /// Where to fetch it: the repository's mirrors (none: `pkg.file` is a pinned URL).
    pub mirrors: Vec<Source>,
}

impl Candidate {
    fn item(&self) -> Item<'_> {
        Item::Package { file: &self.pkg.file, sha256: &self.pkg.sha256 }
    }

    /// Where the archive is, as records and lock files show it (no secrets).
    pub fn url(&self) -> String {
        match self.mirrors.first() {
            Some(m) => m.location(self.item()),
            None => http::join_url(&self.repo, &self.pkg.file),
        }
    }

    /// Whether fetching it needs the network.
    pub fn is_remote(&self) -> bool {
        match self.mirrors.first() {
            Some(m) => m.is_remote() || self.pkg.file.contains("://"),
            None => self.pkg.file.contains("://"),
        }
    }

    /// GETs the archive from the first mirror that answers.
    pub fn fetch(&self, net: &Net) -> Result<Fetched> {
        if self.mirrors.is_empty() {
            return source::get_url(&self.url(), net, None, Some(self.pkg.size));
        }
        let (got, i) = source::get_any(&self.mirrors, self.item(), net, None, Some(self.pkg.size))?;
        if i > 0 {
            crate::ui::status(&format!("{}: served by mirror {}", self.pkg.id(), self.mirrors[i].shown()));
        }
        Ok(got)
    }
}

/// Trust and fetch settings for index handling.
pub struct Access<'a> {
    pub paths: &'a Paths,
    pub config: &'a Config,
    pub net: Net,
    pub allow_untrusted: bool,
    /// `--simulate`: fetch and verify, keep nothing (no kept index, no shared copy, no lock file).
    pub simulate: bool,
}

impl Access<'_> {
    fn untrusted_ok(&self) -> bool {
        self.allow_untrusted || !self.config.verify_packages
    }
}

/// Repositories from `etc/alp/repositories`, then `ALP_REPOSITORIES`, then `--repo`.
pub fn configured(paths: &Paths, cli: &[String]) -> Result<Vec<Repo>> {
    let mut urls: Vec<String> = Vec::new();
    let file = paths.repositories();
    match std::fs::read_to_string(&file) {
        Ok(text) => urls.extend(text.lines().map(|l| l.split('#').next().unwrap_or("").trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(error::io_at("reading", &file, e)),
    }
    if let Ok(env) = std::env::var("ALP_REPOSITORIES") {
        urls.extend(env.split_whitespace().map(str::to_string));
    }
    urls.extend(cli.iter().cloned());
    let mut repos: Vec<Repo> = Vec::new();
    for line in urls {
        let Some(repo) = Repo::parse(&line)? else { continue };
        if !repos.iter().any(|r| r.url == repo.url) {
            repos.push(repo);
        }
    }
    Ok(repos)
}

/// Where a repository's verified index is kept: `indexes/<16 hex of sha256(url)>/`.
pub fn kept_dir(paths: &Paths, repo: &Repo) -> PathBuf {
    kept_dir_of(paths, &repo.url)
}

/// The same, for a repository named by its shown URL (a package's recorded origin).
pub fn kept_dir_of(paths: &Paths, url: &str) -> PathBuf {
    paths.indexes().join(&digest::sha256_hex(url.as_bytes())[..16])
}

/// What we remember about a kept index besides its bytes.
struct Meta {
    etag: Option<String>,
    fetched: u64,
    serial: u64,
    signed_by: Option<String>,
}

fn read_meta(dir: &std::path::Path) -> Option<Meta> {
    let text = std::fs::read_to_string(dir.join("meta.json")).ok()?;
    let v = json::parse(&text, "meta.json").ok()?;
    let f = Fields::of(&v, "meta.json").ok()?;
    Some(Meta {
        etag: f.opt_str("etag").ok()?,
        fetched: f.u64("fetched").ok()??,
        serial: f.u64("serial").ok()?.unwrap_or(0),
        signed_by: f.opt_str("signed_by").ok()?,
    })
}

/// Outcome of refreshing one repository, for `update`'s report.
pub enum Refreshed {
    Unchanged,
    Updated { packages: usize, serial: u64 },
}

/// Fetches, verifies and keeps one repository's index (SPEC section 5, `update`). A remote
/// repository goes through the shared cache (section 13): one process per host asks the
/// server (`force`: ask even when the shared copy is recent), the others take its answer,
/// each verifying it for its own root.
///
/// Returns what changed and, when the verified index is in hand (always under `--simulate`,
/// which keeps nothing), the index itself.
pub fn refresh(acc: &Access, repo: &Repo, force: bool) -> Result<(Refreshed, Option<Loaded>)> {
    let dir = kept_dir(acc.paths, repo);
    let meta = read_meta(&dir).filter(|_| dir.join("index.json").is_file());
    let what = format!("repository {}", repo.url);
    if repo.is_legacy() {
        if acc.simulate {
            // Building a legacy project writes its archive: --simulate shows the kept one.
            return match meta {
                Some(_) => Ok((Refreshed::Unchanged, None)),
                None => Err(error::usage(format!(
                    "{what}: --simulate cannot preview a legacy source that was never fetched; run 'alp update' first"
                ))),
            };
        }
        return refresh_legacy(acc, repo, &dir).map(|r| (r, None));
    }
    if !repo.is_remote() {
        let Some(got) = fetch_index(acc, repo, None, &what)? else {
            return Err(error::network(format!("{what}: unexpected 304 Not Modified")));
        };
        return accept(acc, repo, &what, &got, meta.as_ref());
    }
    if acc.net.offline {
        return Err(error::network(format!("{what}: not fetched because of --offline")).because(Cause::Unreachable));
    }
    let cache = Cache::new(&acc.paths.cache);
    let shared = Shared::new(&cache, &repo.url);
    let stall = Duration::from_secs(acc.net.timeout.max(1) * 2 + 5);
    let asked_at = timefmt::now();
    let _turn = match acc.simulate {
        true => None,
        false => match flight::take(&cache, &shared.flight_key(), &what, stall, crate::ui::quiet())? {
            Turn::Mine(f) => Some(f),
            _ => None,
        },
    };
    let mut copy = shared.read();
    if let Some(c) = &copy {
        let age = timefmt::now().saturating_sub(c.fetched);
        // Fetched while we waited for the turn: the server just answered for this host, so
        // however short update_interval is, it is not asked again (one request per host).
        let just_fetched = c.fetched >= asked_at;
        if !force && (age < acc.config.update_interval || just_fetched) {
            match accept(acc, repo, &what, c, meta.as_ref()) {
                Err(e) if matches!(e.kind, error::Kind::Integrity | error::Kind::BadInput) => {
                    crate::ui::warn(&format!(
                        "{what}: the shared cache's copy of the index was refused ({}); fetching it again",
                        e.msg
                    ));
                    shared.remove();
                    copy = None;
                }
                r => return r,
            }
        }
    }
    // A conditional request: with the shared copy's ETag, else the root's own.
    let etag = match &copy {
        Some(c) => c.etag.clone(),
        None => meta.as_ref().and_then(|m| m.etag.clone()),
    };
    match fetch_index(acc, repo, etag.as_deref(), &what)? {
        Some(got) => {
            let r = accept(acc, repo, &what, &got, meta.as_ref())?;
            if !acc.simulate {
                shared.write(&got)?;
            }
            Ok(r)
        }
        None => match copy {
            Some(mut c) => {
                if !acc.simulate {
                    shared.touch(&mut c, timefmt::now())?;
                }
                accept(acc, repo, &what, &c, meta.as_ref())
            }
            None => {
                // The root's own ETag matched: its kept index is current.
                let Some(mut m) = meta else {
                    return Err(error::network(format!("{what}: unexpected 304 Not Modified")));
                };
                m.fetched = timefmt::now();
                if !acc.simulate {
                    write_meta(&dir, &m)?;
                }
                Ok((Refreshed::Unchanged, None))
            }
        },
    }
}

/// GETs `index.json` (conditionally, with `etag`) and its signature, from the first mirror
/// that answers. `None`: not modified.
fn fetch_index(acc: &Access, repo: &Repo, etag: Option<&str>, what: &str) -> Result<Option<Copy>> {
    let (got, i) = source::get_any(&repo.mirrors, Item::Index, &acc.net, etag, None).map_err(|e| e.context(what))?;
    let mirror = &repo.mirrors[i];
    if i > 0 {
        crate::ui::status(&format!("{what}: served by mirror {}", mirror.shown()));
        crate::log::info(&format!("{what}: served by mirror {}", mirror.shown()));
    }
    let body = match got {
        Fetched::NotModified => return Ok(None),
        Fetched::Body(b) => b,
    };
    let etag = body.etag.clone();
    let index = read_capped(body.reader, what)?;
    let sig = fetch_signature(acc, mirror, what)?;
    Ok(Some(Copy { index, sig, etag, fetched: timefmt::now() }))
}

/// A `legacy+URL` line: the project fetched and built into a one-package index, kept like
/// any other. Nothing in an old project can be signed, so it needs untrusted access.
fn refresh_legacy(acc: &Access, repo: &Repo, dir: &std::path::Path) -> Result<Refreshed> {
    let what = format!("repository {}", repo.url);
    if !acc.untrusted_ok() {
        return Err(error::integrity(format!(
            "{what}: a legacy source cannot be signed; pass --allow-untrusted (or set verify_packages to false) to use it"
        )));
    }
    crate::ui::warn(&format!("{what}: using an UNVERIFIED legacy source because of --allow-untrusted"));
    let Some(Source::Legacy(inner)) = repo.mirrors.first() else {
        return Err(error::usage(format!("{what}: not a legacy source")));
    };
    let index = crate::legacy::source::fetch(&acc.net, &acc.config.legacy_raw_base, inner, dir, &what)?;
    fsutil::write_atomic(&dir.join("index.json"), index.to_json().as_bytes())?;
    fsutil::remove_if_exists(&dir.join("index.json.minisig"))?;
    write_meta(dir, &Meta { etag: None, fetched: timefmt::now(), serial: 0, signed_by: None })?;
    crate::log::info(&format!("updated legacy source {} ({})", repo.url, index.packages[0].id()));
    Ok(Refreshed::Updated { packages: 1, serial: 0 })
}

/// Verifies an index for this root (its keys, its last serial) and keeps it as the root's
/// own. Verified before it is parsed: no parser sees bytes nobody vouched for, and an altered
/// index is an integrity failure (exit 5) whatever the alteration did to its JSON.
fn accept(
    acc: &Access,
    repo: &Repo,
    what: &str,
    got: &Copy,
    kept: Option<&Meta>,
) -> Result<(Refreshed, Option<Loaded>)> {
    let dir = kept_dir(acc.paths, repo);
    let signed_by = check_trust(acc, what, &got.index, got.sig.as_deref())?;
    let text =
        std::str::from_utf8(&got.index).map_err(|_| error::bad_input(format!("{what}: index.json is not UTF-8")))?;
    let index = Index::parse(text, &format!("{what}: index.json"))?;
    check_fresh(what, &index, kept.map_or(0, |m| m.serial))?;
    let unchanged = kept.is_some() && std::fs::read(dir.join("index.json")).is_ok_and(|old| old == got.index);
    let (packages, serial) = (index.packages.len(), index.serial);
    let loaded = Loaded { repo: repo.clone(), index, signed_by: signed_by.clone() };
    let refreshed = if unchanged { Refreshed::Unchanged } else { Refreshed::Updated { packages, serial } };
    if acc.simulate {
        return Ok((refreshed, Some(loaded)));
    }
    fsutil::ensure_dir(&dir)?;
    if !unchanged {
        fsutil::write_atomic(&dir.join("index.json"), &got.index)?;
        match &got.sig {
            Some(s) => fsutil::write_atomic(&dir.join("index.json.minisig"), s.as_bytes())?,
            None => fsutil::remove_if_exists(&dir.join("index.json.minisig"))?,
        }
    }
    let m = Meta { etag: got.etag.clone(), fetched: got.fetched, serial, signed_by };
    write_meta(&dir, &m)?;
    if !unchanged {
        crate::log::info(&format!("updated {} (serial {serial}, {packages} packages)", repo.url));
    }
    Ok((refreshed, Some(loaded)))
}

/// The shared cache's copy of a repository's index, adopted for this root whatever its age
/// (when the repository cannot be reached), if it verifies and has not expired.
fn adopt_shared(acc: &Access, repo: &Repo) -> Option<(u64, Loaded)> {
    let cache = Cache::new(&acc.paths.cache);
    let copy = Shared::new(&cache, &repo.url).read()?;
    let what = format!("repository {}", repo.url);
    let kept = read_meta(&kept_dir(acc.paths, repo));
    accept(acc, repo, &what, &copy, kept.as_ref()).ok()?.1.map(|loaded| (copy.fetched, loaded))
}

fn read_capped(reader: Box<dyn Read + Send>, what: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(MAX_INDEX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| digest::read_error(what, e))?;
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        return Err(error::bad_input(format!("{what}: index.json is larger than {} MiB", MAX_INDEX_BYTES >> 20)));
    }
    Ok(bytes)
}

/// The detached signature, or `None` when the repository has none and untrusted is allowed.
fn fetch_signature(acc: &Access, mirror: &Source, what: &str) -> Result<Option<String>> {
    match mirror.get(Item::Signature, &acc.net, None, None) {
        Ok(Fetched::Body(b)) => {
            let mut text = String::new();
            b.reader.take(64 * 1024).read_to_string(&mut text).map_err(|e| digest::read_error(what, e))?;
            Ok(Some(text))
        }
        Ok(Fetched::NotModified) => Ok(None),
        Err(e) if e.cause == Cause::NotFound => {
            if acc.untrusted_ok() {
                Ok(None)
            } else {
                Err(error::integrity(format!(
                    "{what}: index.json is not signed (no index.json.minisig); ask its owner to sign it or pass --allow-untrusted"
                )))
            }
        }
        Err(e) => Err(e.context(what)),
    }
}

/// Verifies the signature; returns the signing key's name. Untrusted access skips the
/// check (loudly) but still records who signed when the signature happens to verify.
fn check_trust(acc: &Access, what: &str, data: &[u8], sig_text: Option<&str>) -> Result<Option<String>> {
    let keys = sig::load_keys(&acc.paths.keys())?;
    let verified = match sig_text {
        Some(s) => sig::verify_detached(data, s, &keys, what),
        None => Err(error::integrity(format!("{what}: not signed"))),
    };
    match verified {
        Ok(k) => Ok(Some(k.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())),
        Err(e) if acc.untrusted_ok() => {
            let why = if acc.allow_untrusted {
                "--allow-untrusted".to_string()
            } else {
                acc.config.origin("verify_packages", acc.paths)
            };
            crate::ui::warn(&format!(
                "{what}: using an UNVERIFIED index because of {why} ({})",
                e.msg.trim_start_matches(&format!("{what}: "))
            ));
            Ok(None)
        }
        // The way out is named here, where it applies, not where the check failed.
        Err(e) => Err(error::Error {
            msg: format!("{} (trusted keys: {}), or pass --allow-untrusted", e.msg, acc.paths.keys().display()),
            ..e
        }),
    }
}

/// Refuses an expired index (freeze attack) or a serial lower than the kept one (rollback).
fn check_fresh(what: &str, index: &Index, kept_serial: u64) -> Result<()> {
    if let Some(exp) = &index.expires {
        let t = timefmt::parse(exp)
            .ok_or_else(|| error::bad_input(format!("{what}: 'expires' is not an RFC 3339 time: {exp}")))?;
        if t <= timefmt::now() {
            return Err(error::integrity(format!(
                "{what}: the index expired at {exp}; the repository must publish a fresh one (a stale index can hide security fixes)"
            )));
        }
    }
    if index.serial < kept_serial {
        return Err(error::integrity(format!(
            "{what}: index serial {} is lower than the {kept_serial} already seen (a rollback); refusing it",
            index.serial
        )));
    }
    Ok(())
}

fn write_meta(dir: &std::path::Path, m: &Meta) -> Result<()> {
    let v = json::object(vec![
        ("etag", m.etag.as_ref().map_or(miniserde::json::Value::Null, json::string)),
        ("fetched", json::number(m.fetched)),
        ("serial", json::number(m.serial)),
        ("signed_by", m.signed_by.as_ref().map_or(miniserde::json::Value::Null, json::string)),
    ]);
    fsutil::write_atomic(&dir.join("meta.json"), miniserde::json::to_string(&v).as_bytes())
}

/// The kept, verified indexes of every repository, refreshing those that are missing,
/// local, or stale under `auto_update`. A repository that cannot be reached (connection,
/// 5xx, timeout, `--offline`) falls back to its last verified index, the root's own or the
/// shared cache's, with a warning that says how old it is. One that cannot be reached and
/// has no such index is left out with a warning while others are loaded (`unreadable`
/// names it in the error a missing package causes); when none is loaded, that is the error.
/// An index that fails verification is always an error.
pub fn load_all(acc: &Access, repos: &[Repo]) -> Result<Vec<Loaded>> {
    if repos.is_empty() {
        return Err(error::usage(format!(
            "no repositories configured; add one to {} or pass --repo URL",
            acc.paths.repositories().display()
        )));
    }
    let mut out = Vec::new();
    let mut dead: Vec<error::Error> = Vec::new();
    for repo in repos {
        let dir = kept_dir(acc.paths, repo);
        let meta = read_meta(&dir).filter(|_| dir.join("index.json").is_file());
        let local = !repo.is_remote();
        let stale = match &meta {
            None => true,
            Some(m) => acc.config.auto_update && timefmt::now().saturating_sub(m.fetched) >= acc.config.update_interval,
        };
        let mut fresh = None;
        if local || (stale && !acc.net.offline) || meta.is_none() {
            match refresh(acc, repo, false) {
                Ok((_, loaded)) => fresh = loaded,
                Err(e) if e.cause == Cause::Unreachable && !local => {
                    let fetched = match (&meta, adopt_shared(acc, repo)) {
                        (_, Some((fetched, loaded))) => {
                            fresh = Some(loaded);
                            fetched
                        }
                        (Some(m), None) => m.fetched,
                        (None, None) => {
                            let msg = format!("{}; no verified index of it is cached", e.msg);
                            dead.push(error::Error::new(e.kind, msg).because(e.cause));
                            continue;
                        }
                    };
                    let age = timefmt::now().saturating_sub(fetched);
                    crate::ui::warn(&format!(
                        "{}; using its last verified index, fetched {} ago",
                        e.msg,
                        human_age(age)
                    ));
                }
                Err(e) if e.cause == Cause::NotFound && repos.len() > 1 => {
                    dead.push(e);
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        out.push(match fresh {
            Some(loaded) => loaded,
            None => load_kept(acc, repo)?,
        });
    }
    if out.is_empty() && !dead.is_empty() {
        return Err(dead.swap_remove(0));
    }
    for e in dead {
        crate::ui::warn(&format!("{}; going on without it", e.msg));
        crate::log::warn(&e.msg);
        UNREADABLE.lock().unwrap_or_else(|p| p.into_inner()).push(e.msg);
    }
    Ok(out)
}

/// Repositories `load_all` had to leave out in this run, each with why.
static UNREADABLE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A resolve error (a missing package, a version nobody offers) names the repositories that
/// could not be read: the package may be in one of them.
pub fn name_unreadable(e: error::Error) -> error::Error {
    let dead = UNREADABLE.lock().unwrap_or_else(|p| p.into_inner());
    if e.kind != error::Kind::Resolve || dead.is_empty() {
        return e;
    }
    let msg = format!("{} (the repositories that could not be read may have it: {})", e.msg, dead.join("; "));
    error::Error::new(e.kind, msg).because(e.cause)
}

/// `42 s`, `5 min`, `3 h`, `2 days`.
fn human_age(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        7200..172_800 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

/// Reads a kept index back, re-checking its expiry (it may have expired since `update`).
pub fn load_kept(acc: &Access, repo: &Repo) -> Result<Loaded> {
    let dir = kept_dir(acc.paths, repo);
    let what = format!("repository {}", repo.url);
    let path = dir.join("index.json");
    let text = std::fs::read_to_string(&path).at("reading", &path)?;
    let index = Index::parse(&text, &format!("{what}: kept index.json"))?;
    check_fresh(&what, &index, 0)?;
    let mut signed_by = read_meta(&dir).and_then(|m| m.signed_by);
    if !acc.untrusted_ok() {
        // Checked again against today's keys: removing a key from etc/alp/keys revokes the
        // indexes it signed at once, not at the repository's next change.
        let sig_text = std::fs::read_to_string(dir.join("index.json.minisig")).map_err(|_| {
            error::integrity(format!(
                "{what}: the kept index is not signed; run 'alp update' with the repository's key in {}, or pass --allow-untrusted",
                acc.paths.keys().display()
            ))
        })?;
        let keys = sig::load_keys(&acc.paths.keys())?;
        let k = sig::verify_detached(text.as_bytes(), &sig_text, &keys, &what)?;
        signed_by = k.path.file_name().map(|n| n.to_string_lossy().into_owned());
    }
    Ok(Loaded { repo: repo.clone(), index, signed_by })
}

/// The kept index of the repository a package came from, if still configured (for `info`).
pub fn kept_signer(paths: &Paths, repo_url: &str) -> Option<String> {
    read_meta(&kept_dir_of(paths, repo_url)).and_then(|m| m.signed_by)
}

/// Seconds since a repository's kept index was last fetched and verified (for "up to date"
/// messages); None when none is kept.
pub fn kept_age(paths: &Paths, repo: &Repo) -> Option<u64> {
    read_meta(&kept_dir(paths, repo)).map(|m| crate::timefmt::now().saturating_sub(m.fetched))
}

/// All candidates from all loaded indexes, in repository order.
pub fn candidates(loaded: &[Loaded]) -> Vec<Candidate> {
    loaded
        .iter()
        .flat_map(|l| {
            l.index.packages.iter().map(|p| Candidate {
                pkg: p.clone(),
                repo: l.repo.url.clone(),
                mirrors: l.repo.mirrors.clone(),
            })
        })
        .collect()
}
