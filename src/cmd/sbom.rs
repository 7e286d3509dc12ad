//! `alp sbom [--format cyclonedx|spdx] [-o FILE]`: the installed packages as an SBOM, made
//! from the database now (the kept `var/lib/alp/sbom.cdx.json` is the same document, written by
//! each transaction).

use crate::cli::Sbom;
use crate::ctx::Ctx;
use crate::db::state::Db;
use crate::error::{self, Result};
use crate::sbom::{self, Format};
use crate::{fsutil, timefmt, ui};

pub fn sbom(ctx: &Ctx, args: &Sbom) -> Result<i32> {
    let format = match args.format.as_deref() {
        None => Format::CycloneDx,
        Some(f) => Format::parse(f)
            .ok_or_else(|| error::usage(format!("unknown --format '{f}'; use cyclonedx (the default) or spdx")))?,
    };
    let db = Db::load(&ctx.paths)?;
    let doc = sbom::document(&db, format, timefmt::now());
    match args.output.as_deref() {
        None | Some("-") => println!("{doc}"),
        Some(path) if ctx.simulate => println!("would write {path} ({} packages)", db.packages.len()),
        Some(path) => {
            fsutil::write_atomic(std::path::Path::new(path), doc.as_bytes())?;
            ui::status(&format!("wrote {path} ({} packages)", db.packages.len()));
        }
    }
    Ok(0)
}
