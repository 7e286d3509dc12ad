//! `publish DIR oci://REGISTRY/NAME[:TAG]`: push a repository directory to an OCI registry
//! (SPEC section 14): every file the index names, checked against it first, then the manifest.

use crate::cmd::print_json;
use crate::ctx::Ctx;
use crate::error::{self, Result};
use crate::fetch::oci;
use crate::fetch::source::Source;
use crate::json;
use crate::repo::index::Index;
use crate::verify::digest;
use std::path::Path;

pub fn publish(ctx: &Ctx, a: &crate::cli::Publish) -> Result<i32> {
    let Source::Oci(reg) = Source::parse(&a.url)? else {
        return Err(error::usage(format!(
            "publish pushes to an OCI registry (oci://REGISTRY/NAME[:TAG]), not {}",
            crate::fetch::auth::redact(&a.url)
        )));
    };
    let dir = Path::new(&a.dir);
    let files = repository_files(dir)?;
    if ctx.simulate {
        ui_lines(&files);
        return Ok(0);
    }
    let (pushed, skipped, digest) = oci::publish(&reg, dir, &files, &ctx.net()?)?;
    crate::log::info(&format!("published {} to {} ({digest})", dir.display(), reg.shown()));
    if ctx.json {
        print_json(&json::object(vec![
            ("repository", json::string(reg.shown())),
            ("manifest", json::string(&digest)),
            ("pushed", json::number(pushed as u64)),
            ("skipped", json::number(skipped as u64)),
        ]));
    } else {
        crate::ui::status(&format!(
            "published {} to {}: {pushed} blobs pushed, {skipped} already there; manifest {digest}",
            dir.display(),
            reg.shown()
        ));
    }
    Ok(0)
}

fn ui_lines(files: &[String]) {
    for f in files {
        crate::ui::status(&format!("would push {f}"));
    }
}

/// `index.json`, its signature when there is one, and every package file the index names
/// (packages at absolute URLs stay where they are), each checked against the index.
fn repository_files(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join("index.json");
    let text = std::fs::read_to_string(&path).map_err(|e| error::io_at("reading", &path, e))?;
    let index = Index::parse(&text, &path.display().to_string())?;
    let mut files = vec!["index.json".to_string()];
    if dir.join("index.json.minisig").is_file() {
        files.push("index.json.minisig".to_string());
    } else {
        crate::ui::warn(&format!(
            "{} is not signed; alp refuses unsigned repositories without --allow-untrusted",
            path.display()
        ));
    }
    for p in &index.packages {
        if p.file.contains("://") || files.contains(&p.file) {
            continue;
        }
        let f = dir.join(&p.file);
        let sha = digest::sha256_file(&f).map_err(|e| error::io_at("reading", &f, e))?;
        if sha != p.sha256 {
            return Err(error::integrity(format!(
                "{}: its sha256 is {sha} but index.json says {}; rebuild the index ('alp index {}')",
                f.display(),
                p.sha256,
                dir.display()
            )));
        }
        files.push(p.file.clone());
    }
    Ok(files)
}
