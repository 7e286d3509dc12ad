//! The old tool's formats: `install-local FILE.alp` and `migrate` from ~/.alp.
//! The formats themselves live in `crate::legacy`; this file decides what to say.

use crate::cmd::print_json;
use crate::ctx::Ctx;
use crate::db::state::Db;
use crate::error::{self, IoContext, Result};
use crate::json;
use crate::legacy::alpfile::AlpFile;
use crate::legacy::{local, migrate as old};
use crate::txn::{self, Plan};
use crate::ui;
use miniserde::json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Whether `path` is an archive alp reads (by its first bytes), not a `.alp` JSON file.
fn is_archive(path: &Path) -> Result<bool> {
    let mut head = Vec::new();
    let f = std::fs::File::open(path).at("opening", path)?;
    f.take(512).read_to_end(&mut head).at("reading", path)?;
    Ok(!matches!(crate::archive::Format::sniff(&head), Ok(crate::archive::Format::Raw) | Err(_)))
}

pub fn install_local(ctx: &Ctx, file: &str) -> Result<i32> {
    let path = Path::new(file);
    if is_archive(path)? {
        // A normal archive: the normal install, which wants a path it recognises as one.
        let arg = if file.contains('/') { file.to_string() } else { format!("./{file}") };
        return crate::cmd::install::install(ctx, &[arg]);
    }
    let alp = AlpFile::read(path)?;
    let id = alp.meta.id();
    match &alp.certificate {
        Some(c) => ui::warn(&format!("{file}: {}", c.describe())),
        None => ui::warn(&format!("{file}: an old .alp package with no signature; install only files you trust")),
    }
    if ctx.simulate {
        let line = format!("install {id}");
        if ctx.json {
            print_json(&json::object(vec![("simulate", Value::Bool(true)), ("plan", json::strings(&[line]))]));
        } else {
            println!("{line} (old .alp package: runs its alp.sh)");
        }
        return Ok(0);
    }
    let lock = ctx.lock()?;
    let db = Db::load(&ctx.paths)?;
    let mut changes = Vec::new();
    if let Some(have) = db.packages.get(&alp.meta.name) {
        if !ctx.yes {
            return Err(error::conflict(format!(
                "{} is already installed; pass --yes to reinstall it from {file} (its remove script runs first), or run 'alp remove {}'",
                have.meta.id(),
                have.meta.name
            )));
        }
        // The old tool's reinstall: remove (running its remove hook), then install.
        txn::execute(ctx, &Plan { removes: vec![alp.meta.name.clone()], ..Plan::default() })?;
        changes.push(format!("remove {}", have.meta.id()));
    }
    if ctx.config()?.check_dependencies {
        for r in alp.meta.depends_reqs() {
            if !db.packages.get(&r.name).is_some_and(|p| r.matches(&p.meta.version)) {
                ui::warn(&format!("{id} needs {r}, which is not installed; 'alp install {r}' installs it"));
            }
        }
    }
    ui::status(&format!(
        "running alp.sh of {id} (old .alp format {}, compiled {})",
        alp.format_version, alp.compiled_at
    ));
    let record = local::install(&ctx.paths, &lock, ctx.config()?.hook_timeout, ctx.config()?.sbom, path, &alp)?;
    changes.push(format!("install {id}"));
    if ctx.json {
        print_json(&json::object(vec![
            ("changes", json::strings(&changes)),
            ("origin", json::string(&record.origin)),
            ("format_version", json::string(&alp.format_version)),
            ("checksum", json::string(&alp.checksum)),
            ("certificate", alp.certificate.as_ref().map_or(Value::Null, |c| c.to_json())),
        ]));
    } else {
        ui::status(&format!("installed {id}; 'alp remove {}' runs its alp_u.sh", alp.meta.name));
    }
    Ok(0)
}

pub fn migrate(ctx: &Ctx, from: Option<&str>) -> Result<i32> {
    let dir = match from {
        Some(d) => PathBuf::from(d),
        None => old::default_dir()?,
    };
    let home = old::read(&dir)?;
    let lock = if ctx.simulate { None } else { Some(ctx.lock()?) };
    let out = old::apply(&ctx.paths, lock.as_ref(), &home)?;
    if ctx.json {
        print_json(&json::object(vec![
            ("from", json::string(dir.display().to_string())),
            ("simulate", Value::Bool(ctx.simulate)),
            ("packages", json::strings(&out.packages)),
            ("settings", json::strings(&out.settings)),
            ("not_brought", json::strings(&out.not_brought)),
        ]));
        return Ok(0);
    }
    let verb = if ctx.simulate { "would bring" } else { "brought" };
    println!("{verb} over from {}:", dir.display());
    let section = |title: &str, items: &[String]| {
        println!("  {title}:{}", if items.is_empty() { " none" } else { "" });
        items.iter().for_each(|i| println!("    {i}"));
    };
    section("packages", &out.packages);
    section("settings", &out.settings);
    section("not brought (see docs/migrate.md)", &out.not_brought);
    Ok(0)
}
