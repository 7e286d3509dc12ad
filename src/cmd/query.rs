//! Read-only queries: `list`, `search`, `info`, `installed`. `--json` gives one document.
//! (`files`, `owner`, `why` are in `inspect`.)

use crate::cmd::print_json;
use crate::ctx::Ctx;
use crate::db::state::Db;
use crate::error::{self, Result};
use crate::json;
use crate::repo::{self, Candidate};
use crate::timefmt;
use crate::version;
use miniserde::json::Value;

/// The newest version of each package name (the first repository wins ties), by name.
fn newest(cands: Vec<Candidate>) -> Vec<Candidate> {
    let mut by_name: std::collections::HashMap<String, Candidate> = std::collections::HashMap::new();
    for c in cands {
        match by_name.get_mut(&c.pkg.name) {
            Some(o) if version::compare(&c.pkg.version, &o.pkg.version).is_gt() => *o = c,
            Some(_) => {}
            None => {
                by_name.insert(c.pkg.name.clone(), c);
            }
        }
    }
    let mut out: Vec<Candidate> = by_name.into_values().collect();
    out.sort_by(|a, b| a.pkg.name.cmp(&b.pkg.name));
    out
}

/// Every version of every package, by name then newest first.
fn all_versions(mut cands: Vec<Candidate>) -> Vec<Candidate> {
    cands.sort_by(|a, b| a.pkg.name.cmp(&b.pkg.name).then(version::compare(&b.pkg.version, &a.pkg.version)));
    cands.dedup_by(|a, b| a.pkg.name == b.pkg.name && a.pkg.version == b.pkg.version);
    cands
}

/// "[installed 1.0.0, upgradable]", "[installed]" or nothing, for a listed version. Only
/// the newest version of a name says upgradable.
fn installed_mark(db: &Db, c: &Candidate, newest: &str) -> (String, bool) {
    let Some(p) = db.packages.get(&c.pkg.name) else { return (String::new(), false) };
    let upgradable = version::compare(newest, &p.meta.version).is_gt();
    let mark = match (p.meta.version == c.pkg.version, upgradable && c.pkg.version == newest) {
        (true, _) => " [installed]".to_string(),
        (false, true) => format!(" [installed {}, upgradable]", p.meta.version),
        (false, false) => format!(" [installed {}]", p.meta.version),
    };
    (mark, upgradable)
}

fn print_packages(ctx: &Ctx, db: &Db, list: &[Candidate]) {
    let newest_of = |name: &str| {
        list.iter()
            .filter(|c| c.pkg.name == name)
            .map(|c| c.pkg.version.as_str())
            .max_by(|a, b| version::compare(a, b))
            .unwrap_or("")
            .to_string()
    };
    if ctx.json {
        let items = list
            .iter()
            .map(|c| {
                let Value::Object(mut o) = c.pkg.to_json() else { unreachable!("objects only") };
                o.insert("repository".into(), json::string(&c.repo));
                let inst = db.packages.get(&c.pkg.name).map_or(Value::Null, |p| json::string(&p.meta.version));
                o.insert("installed".into(), inst);
                let (_, upgradable) = installed_mark(db, c, &newest_of(&c.pkg.name));
                o.insert("upgradable".into(), Value::Bool(upgradable));
                Value::Object(o)
            })
            .collect();
        print_json(&json::object(vec![("packages", Value::Array(items))]));
        return;
    }
    for c in list {
        let (mark, _) = installed_mark(db, c, &newest_of(&c.pkg.name));
        let cat = if c.pkg.category.is_empty() { String::new() } else { format!(" ({})", c.pkg.category) };
        println!("{} {}{cat}{mark}\n    {}", crate::ui::bold(&c.pkg.name), c.pkg.version, c.pkg.description);
    }
}

pub fn list(ctx: &Ctx, category: Option<&str>, every_version: bool) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    let cands = repo::candidates(&ctx.load_indexes()?);
    let mut all = if every_version { all_versions(cands.clone()) } else { newest(cands.clone()) };
    if let Some(cat) = category {
        all.retain(|c| c.pkg.category.eq_ignore_ascii_case(cat));
        if all.is_empty() && !ctx.json {
            let mut known: Vec<&str> =
                cands.iter().map(|c| c.pkg.category.as_str()).filter(|c| !c.is_empty()).collect();
            known.sort();
            known.dedup();
            let hint = crate::suggest::did_you_mean(cat, known.iter().copied());
            let list = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            crate::ui::status(&format!("alp: no package in category '{cat}'{hint} (categories: {list})"));
        }
    }
    print_packages(ctx, &db, &all);
    Ok(0)
}

pub fn search(ctx: &Ctx, term: &str) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    let needle = term.to_lowercase();
    let mut found = newest(repo::candidates(&ctx.load_indexes()?));
    found.retain(|c| c.pkg.name.to_lowercase().contains(&needle) || c.pkg.description.to_lowercase().contains(&needle));
    print_packages(ctx, &db, &found);
    if found.is_empty() && !ctx.json {
        crate::ui::status(&format!("alp: no package matches '{term}'"));
    }
    Ok(0)
}

pub fn info(ctx: &Ctx, name: &str) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    let loaded = ctx.load_indexes();
    let cands = loaded.as_ref().map(|l| newest(repo::candidates(l))).unwrap_or_default();
    let name =
        &canonical_name(name, db.packages.keys().map(String::as_str).chain(cands.iter().map(|c| c.pkg.name.as_str())));
    let installed = db.packages.get(name);
    let available = match loaded {
        Ok(_) => cands.into_iter().find(|c| &c.pkg.name == name),
        Err(e) if installed.is_some() => {
            crate::ui::warn(&format!("showing the installed record only: {}", e.msg));
            None
        }
        Err(e) => return Err(e),
    };
    let (pkg, origin) = match (&available, installed) {
        (Some(c), _) => (c.pkg.clone(), c.repo.clone()),
        (None, Some(i)) => (i.meta.clone(), i.origin.clone()),
        (None, None) => {
            return Err(error::resolve(format!("package '{name}' is not installed and not in any repository")));
        }
    };
    let signer = repo::kept_signer(&ctx.paths, &origin);
    let deps: Vec<(String, bool)> = pkg
        .depends
        .iter()
        .map(|d| {
            (
                d.clone(),
                version::Req::parse(d)
                    .is_ok_and(|r| db.packages.get(&r.name).is_some_and(|p| r.matches(&p.meta.version))),
            )
        })
        .collect();
    if ctx.json {
        let Value::Object(mut o) = pkg.to_json() else { unreachable!("objects only") };
        o.insert("repository".into(), json::string(&origin));
        o.insert("installed".into(), installed.map_or(Value::Null, |p| json::string(&p.meta.version)));
        o.insert("signed_by".into(), signer.clone().map_or(Value::Null, json::string));
        o.insert(
            "hook_failed".into(),
            installed.and_then(|p| p.hook_failed.as_ref()).map_or(Value::Null, json::string),
        );
        let dep_list = deps
            .iter()
            .map(|(d, ok)| json::object(vec![("requirement", json::string(d)), ("installed", Value::Bool(*ok))]))
            .collect();
        o.insert("dependencies".into(), Value::Array(dep_list));
        print_json(&Value::Object(o));
        return Ok(0);
    }
    // Empty fields are left out rather than printed as "Author:" with nothing after.
    let row = |k: &str, v: &str| {
        if !v.is_empty() {
            println!("{:<16} {v}", format!("{k}:"))
        }
    };
    row("Name", &pkg.name);
    row("Version", &pkg.version);
    row("Description", &pkg.description);
    row("Author", &pkg.author);
    row("License", &pkg.license);
    row("Category", &pkg.category);
    match origin.strip_prefix("local:") {
        Some(file) => row("Installed from", file),
        None => {
            row("Repository", &origin);
            row("Signed by", signer.as_deref().unwrap_or("(not verified)"));
        }
    }
    // A local archive's own metadata cannot know the archive's size: measure the file.
    let archive_size = match origin.strip_prefix("local:") {
        Some(file) => std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
        None => pkg.size,
    };
    if archive_size > 0 {
        row("Archive size", &human(archive_size));
    }
    // What is on disk is measured; the index's figure is for packages not installed.
    let on_disk = installed.filter(|p| p.meta.version == pkg.version).map(|p| p.size);
    if let Some(size) = on_disk.or((pkg.installed_size > 0).then_some(pkg.installed_size)) {
        row("Installed size", &human(size));
    }
    match installed {
        Some(p) => row("Installed", &format!("{} on {}", p.meta.version, timefmt::format(p.installed_at))),
        None => row("Installed", "no"),
    }
    if let Some(hook) = installed.and_then(|p| p.hook_failed.as_deref()) {
        row("Hook failed", &format!("{hook} (files installed; 'alp fix' runs the hook again)"));
    }
    if deps.is_empty() {
        row("Depends", "(nothing)");
    }
    for (i, (d, ok)) in deps.iter().enumerate() {
        row(
            if i == 0 { "Depends" } else { "" },
            &format!("{d} {}", if *ok { "(installed)" } else { "(not installed)" }),
        );
    }
    Ok(0)
}

pub fn installed(ctx: &Ctx) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    if ctx.json {
        let items = db
            .packages
            .values()
            .map(|p| {
                json::object(vec![
                    ("name", json::string(&p.meta.name)),
                    ("version", json::string(&p.meta.version)),
                    ("installed_at", json::string(timefmt::format(p.installed_at))),
                    ("size", json::number(p.size)),
                    ("files", json::number(p.files.len() as u64)),
                    ("origin", json::string(&p.origin)),
                    ("hook_failed", p.hook_failed.as_ref().map_or(Value::Null, json::string)),
                ])
            })
            .collect();
        print_json(&json::object(vec![("packages", Value::Array(items))]));
        return Ok(0);
    }
    if db.packages.is_empty() {
        crate::ui::status("alp: no packages installed");
    } else if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        println!(
            "{}",
            crate::ui::bold(&format!("{:<24} {:<12} {:<10}  {:>9}", "NAME", "VERSION", "INSTALLED", "SIZE"))
        );
    }
    for p in db.packages.values() {
        let mark = p.hook_failed.as_ref().map_or(String::new(), |h| format!("  [{h} hook failed]"));
        println!(
            "{:<24} {:<12} {}  {:>9}{mark}",
            p.meta.name,
            p.meta.version,
            &timefmt::format(p.installed_at)[..10],
            human(p.size)
        );
    }
    Ok(0)
}

/// `name` as the packages spell it: an exact match, else the one name equal to it but for
/// ASCII case (`JQ` → `jq`), else `name` itself.
pub fn canonical_name<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let mut folded = None;
    for k in known {
        if k == name {
            return name.to_string();
        }
        if folded.is_none() && k.eq_ignore_ascii_case(name) {
            folded = Some(k.to_string());
        }
    }
    folded.unwrap_or_else(|| name.to_string())
}

/// "1 package", "2 packages".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

pub fn human(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", UNITS[u]) }
}
