//! Read-only queries: `list`, `search`, `info`, `installed`. `--json` gives one document.

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

fn print_packages(ctx: &Ctx, db: &Db, list: &[Candidate]) {
    if ctx.json {
        let items = list
            .iter()
            .map(|c| {
                let Value::Object(mut o) = c.pkg.to_json() else { unreachable!("objects only") };
                o.insert("repository".into(), json::string(&c.repo));
                let inst = db.packages.get(&c.pkg.name).map_or(Value::Null, |p| json::string(&p.meta.version));
                o.insert("installed".into(), inst);
                Value::Object(o)
            })
            .collect();
        print_json(&json::object(vec![("packages", Value::Array(items))]));
        return;
    }
    for c in list {
        let mark = if db.packages.contains_key(&c.pkg.name) { " [installed]" } else { "" };
        let cat = if c.pkg.category.is_empty() { String::new() } else { format!(" ({})", c.pkg.category) };
        println!("{} {}{cat}{mark}\n    {}", crate::ui::bold(&c.pkg.name), c.pkg.version, c.pkg.description);
    }
}

pub fn list(ctx: &Ctx, category: Option<&str>) -> Result<i32> {
    let db = Db::load(&ctx.paths)?;
    let mut all = newest(repo::candidates(&ctx.load_indexes()?));
    if let Some(cat) = category {
        all.retain(|c| c.pkg.category.eq_ignore_ascii_case(cat));
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
    let installed = db.packages.get(name);
    let available = match ctx.load_indexes() {
        Ok(l) => newest(repo::candidates(&l)).into_iter().find(|c| c.pkg.name == name),
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
    let row = |k: &str, v: &str| println!("{:<14} {v}", format!("{k}:"));
    row("Name", &pkg.name);
    row("Version", &pkg.version);
    row("Description", &pkg.description);
    row("Author", &pkg.author);
    row("License", &pkg.license);
    row("Category", &pkg.category);
    row("Repository", &origin);
    row("Signed by", signer.as_deref().unwrap_or("(not verified)"));
    if pkg.size > 0 {
        row("Archive size", &human(pkg.size));
    }
    if pkg.installed_size > 0 {
        row("Installed size", &human(pkg.installed_size));
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
