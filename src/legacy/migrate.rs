//! `migrate`: the old tool's `~/.alp` brought into alp. Read: `installed.json` (one record
//! per package), `config.json` (settings with the same names as alp's), the kept remove
//! scripts `installed/<name>/alp_u.sh`, and `packages.json` (the old repository cache) for
//! hints. Records become database entries marked `origin: "migrated:<old installed.json>"`
//! with no file list (the old tool never knew which files `alp.sh` wrote).
//!
//! What cannot come over is said, per run, in `Outcome::not_brought`, and in docs/migrate.md.

use crate::config::{self, Paths};
use crate::db::lock::Lock;
use crate::db::state::{Db, Installed};
use crate::error::{self, IoContext, Result};
use crate::json::{self, Fields};
use crate::repo::index::Package;
use crate::version::{self, Op, Req};
use crate::{fsutil, timefmt, world};
use miniserde::json::{Number, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// One record of the old `installed.json`.
#[derive(Debug)]
pub struct OldPackage {
    pub meta: Package,
    pub installed_at: u64,
    /// `installed/<name>/alp_u.sh`, when the old tool kept one.
    pub remove_script: Option<PathBuf>,
    /// The GitHub project it came from, for remote installs.
    pub url: Option<String>,
    pub certified: bool,
    /// Dependencies that are not valid requirements here.
    pub dropped_deps: Vec<String>,
}

/// What was found in the old directory.
#[derive(Debug, Default)]
pub struct OldHome {
    pub dir: PathBuf,
    pub packages: Vec<OldPackage>,
    pub settings: Vec<(String, Value)>,
    /// Records or files that could not be read, with the reason.
    pub unreadable: Vec<String>,
    /// Project URLs from `packages.json`.
    pub projects: Vec<String>,
}

/// The result of `apply`, for the user.
#[derive(Debug, Default)]
pub struct Outcome {
    pub packages: Vec<String>,
    pub settings: Vec<String>,
    pub not_brought: Vec<String>,
}

/// The old tool's directory for this user: `$HOME/.alp`.
pub fn default_dir() -> Result<PathBuf> {
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".alp")),
        None => Err(error::usage("HOME is not set, so the old ~/.alp cannot be found; pass --from DIR")),
    }
}

fn read_json(path: &Path) -> Result<Option<Value>> {
    match std::fs::read_to_string(path) {
        Ok(t) => json::parse(&t, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(error::io_at("reading", path, e)),
    }
}

pub fn read(dir: &Path) -> Result<OldHome> {
    if !dir.is_dir() {
        return Err(error::io_msg(format!(
            "{} is not a directory; point --from at the old tool's ~/.alp (it holds installed.json)",
            dir.display()
        )));
    }
    let mut home = OldHome { dir: dir.to_path_buf(), ..OldHome::default() };
    let installed = dir.join("installed.json");
    match read_json(&installed)? {
        Some(Value::Object(map)) => {
            for (key, v) in map.iter() {
                match old_package(dir, key, v) {
                    Ok(p) => home.packages.push(p),
                    Err(e) => home.unreadable.push(format!("record '{key}': {}", e.msg)),
                }
            }
        }
        Some(_) => return Err(error::bad_input(format!("{} is not a JSON object of packages", installed.display()))),
        None => home.unreadable.push(format!("{}: not found, so no packages", installed.display())),
    }
    let config_path = dir.join("config.json");
    match read_json(&config_path) {
        Ok(Some(Value::Object(map))) => home.settings = map.into_iter().collect(),
        Ok(None) => {}
        Ok(Some(_)) | Err(_) => {
            home.unreadable.push(format!("{}: not a JSON object, so no settings", config_path.display()))
        }
    }
    if let Ok(Some(Value::Object(map))) = read_json(&dir.join("packages.json")) {
        home.projects = map.values().filter_map(|p| Fields::of(p, "").ok()?.opt_str("url").ok()?).collect();
        home.projects.sort();
        home.projects.dedup();
    }
    Ok(home)
}

fn old_package(dir: &Path, key: &str, v: &Value) -> Result<OldPackage> {
    let f = Fields::of(v, format!("installed.json record '{key}'"))?;
    // Tolerant like the old tool: a field of the wrong type is as good as absent.
    let text = |k: &str| f.opt_str(k).ok().flatten().unwrap_or_default();
    let name = Some(text("name")).filter(|n| !n.is_empty()).unwrap_or_else(|| key.to_string());
    if !version::valid_name(&name) {
        return Err(error::bad_input(format!("'{name}' is not a valid package name")));
    }
    let version = text("version");
    if !version::valid_version(&version) {
        return Err(error::bad_input(format!("'{version}' is not a valid version")));
    }
    let (depends, dropped_deps): (Vec<String>, Vec<String>) =
        f.strings("dependencies").unwrap_or_default().into_iter().partition(|d| Req::parse(d).is_ok());
    let installed_at = f.opt_str("installed_at").ok().flatten().and_then(|t| old_time(&t)).unwrap_or_else(timefmt::now);
    let script = dir.join("installed").join(&name).join("alp_u.sh");
    Ok(OldPackage {
        meta: Package {
            name,
            version,
            description: text("description"),
            author: text("author"),
            license: text("license"),
            category: text("category"),
            depends,
            ..Package::default()
        },
        installed_at,
        remove_script: script.is_file().then_some(script),
        url: f.opt_str("url").ok().flatten(),
        certified: f.bool("certified").ok().flatten().unwrap_or(false),
        dropped_deps,
    })
}

/// Python's `datetime.now().isoformat()`: local time without a zone, read as UTC.
fn old_time(t: &str) -> Option<u64> {
    timefmt::parse(t).or_else(|| timefmt::parse(&format!("{t}Z")))
}

/// A setting's old JSON value as the text `config::set` parses.
fn setting_text(v: &Value) -> Option<String> {
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(Number::U64(n)) => Some(n.to_string()),
        Value::Number(Number::F64(f)) if f.fract() == 0.0 && *f >= 0.0 && *f < 1e15 => Some((*f as u64).to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Brings `old` over. `lock` is `None` for `--simulate`: everything is decided, nothing written.
pub fn apply(paths: &Paths, lock: Option<&Lock>, old: &OldHome) -> Result<Outcome> {
    let write = lock.is_some();
    let mut out = Outcome { not_brought: old.unreadable.clone(), ..Outcome::default() };
    let mut db = Db::load(paths)?;
    let origin = format!("migrated:{}", old.dir.join("installed.json").display());
    let mut added = Vec::new();
    for p in &old.packages {
        let name = &p.meta.name;
        if let Some(have) = db.packages.get(name) {
            out.not_brought.push(format!(
                "{}: {} is already installed here; kept alp's record",
                p.meta.id(),
                have.meta.id()
            ));
            continue;
        }
        for d in &p.dropped_deps {
            out.not_brought.push(format!("{}: dependency '{d}' is not a valid requirement", p.meta.id()));
        }
        let hooks = match &p.remove_script {
            Some(script) => {
                if write {
                    keep_remove_script(paths, name, script)?;
                }
                out.packages.push(format!("{} (its alp_u.sh runs on 'alp remove {name}')", p.meta.id()));
                vec!["remove".to_string()]
            }
            None => {
                let why = match &p.url {
                    Some(u) => format!("the old tool fetched alp_u.sh from {u} at removal time"),
                    None => "the old tool kept no alp_u.sh for it".to_string(),
                };
                out.packages.push(format!("{} (no remove script: {why})", p.meta.id()));
                Vec::new()
            }
        };
        let record = Installed {
            meta: p.meta.clone(),
            origin: origin.clone(),
            installed_at: p.installed_at,
            files: Vec::new(),
            dirs: Vec::new(),
            hooks,
            size: 0,
            hook_failed: None,
        };
        db.packages.insert(name.clone(), record);
        added.push(Req { name: name.clone(), op: Op::Any, version: String::new() });
    }
    if write && !added.is_empty() {
        let world = world::Change { add: added, drop: Vec::new() };
        let sbom = crate::config::Config::load(paths).map(|c| c.sbom).unwrap_or(true);
        crate::txn::commit_records(paths, &db, &world, sbom)?;
    }
    bring_settings(paths, write, &old.settings, &mut out)?;
    general_losses(old, &mut out);
    if write {
        crate::log::info(&format!(
            "migrated {} packages and {} settings from {}",
            out.packages.len(),
            out.settings.len(),
            old.dir.display()
        ));
    }
    Ok(out)
}

/// Copies the old `alp_u.sh` to where `remove` runs hooks from.
fn keep_remove_script(paths: &Paths, name: &str, script: &Path) -> Result<()> {
    let dir = paths.scripts(name);
    fsutil::ensure_dir(&dir)?;
    let dest = dir.join("remove");
    let bytes = std::fs::read(script).at("reading", script)?;
    fsutil::write_atomic(&dest, &bytes)?;
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).at("setting the mode of", &dest)
}

/// Old settings with alp's names, unless alp's own config.json already sets them.
fn bring_settings(paths: &Paths, write: bool, settings: &[(String, Value)], out: &mut Outcome) -> Result<()> {
    let current = config::read_file(&paths.config())?;
    for (key, value) in settings {
        let Ok(ty) = config::key_type(key) else {
            out.not_brought.push(format!("setting '{key}': alp has no such setting"));
            continue;
        };
        if current.iter().any(|(k, _)| k == key) {
            out.not_brought
                .push(format!("setting '{key}': {} already sets it; kept that value", paths.config().display()));
            continue;
        }
        let checked = setting_text(value).ok_or_else(|| error::usage("not a plain value")).and_then(|t| {
            config::parse_value(key, ty, &t)?;
            Ok(t)
        });
        match checked {
            Ok(text) => {
                if write {
                    config::set(paths, key, &text)?;
                }
                out.settings.push(format!("{key} = {text}"));
            }
            Err(e) => out.not_brought.push(format!("setting '{key}': {}", e.msg)),
        }
    }
    Ok(())
}

/// What never comes over, said only when the old directory had it.
fn general_losses(old: &OldHome, out: &mut Outcome) {
    if !old.packages.is_empty() {
        out.not_brought.push(
            "installed files: the old tool never recorded what alp.sh wrote, so 'alp doctor' cannot check them \
             and 'alp remove' relies on each package's alp_u.sh"
                .to_string(),
        );
    }
    if old.packages.iter().any(|p| p.certified) || old.dir.join("certificates.json").exists() {
        out.not_brought
            .push("certificates: the old ones are a checksum anyone can forge; alp never trusts them".to_string());
    }
    if !old.projects.is_empty() {
        let lines: Vec<String> = old.projects.iter().map(|u| format!("legacy+{u}")).collect();
        out.not_brought.push(format!(
            "the old repository list ({} projects, packages.json): add the ones you want to etc/alp/repositories as: {}",
            lines.len(),
            lines.join(" ")
        ));
    }
    for (sub, what) in [("cache", "the old download cache"), ("logs", "the old logs")] {
        if old.dir.join(sub).is_dir() {
            out.not_brought.push(format!("{what} ({}): not needed; delete it when done", old.dir.join(sub).display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_python_times_and_values() {
        assert_eq!(old_time("2026-11-26T19:20:57.964033"), timefmt::parse("2026-11-26T19:20:57Z"));
        assert_eq!(setting_text(&Value::Number(Number::F64(500.0))).as_deref(), Some("500"));
        assert_eq!(setting_text(&Value::Bool(false)).as_deref(), Some("false"));
        assert!(setting_text(&Value::Null).is_none());
    }
}
