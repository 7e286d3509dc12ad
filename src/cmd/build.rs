//! Repository tooling: `build DIR` makes a package archive, `index DIR` writes `index.json`.

use crate::ctx::Ctx;
use crate::error::{self, IoContext, Result};
use crate::repo::index::{Index, Package};
use crate::verify::digest;
use crate::{fsutil, json, timefmt, ui};
use std::fs::{self, File};
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};

/// `alp build DIR`: payload files plus `.ALP/package.json` (and optional hooks) into
/// `<name>-<version>.tar.gz`, metadata first so readers find it without reading on.
/// Entries are sorted and owned by root, so the same tree gives the same archive.
pub fn build(_ctx: &Ctx, dir: &str, output: Option<&str>) -> Result<i32> {
    let dir = Path::new(dir);
    if crate::legacy::compile::is_old_layout(dir) {
        let out = crate::legacy::compile::build_old_layout(dir, Path::new(output.unwrap_or(".")))?;
        ui::status(&format!("built {} from the old layout (README.md, alp.sh, alp_u.sh)", out.display()));
        return Ok(0);
    }
    let meta_path = dir.join(".ALP/package.json");
    let text = fs::read_to_string(&meta_path).map_err(|e| {
        error::usage(format!(
            "{}: {}; a package directory needs .ALP/package.json with name and version",
            meta_path.display(),
            error::plain_io(&e)
        ))
    })?;
    let v = json::parse(&text, &meta_path.display().to_string())?;
    let pkg = Package::from_json(&v, &meta_path.display().to_string(), true)?;
    let out_dir = PathBuf::from(output.unwrap_or("."));
    fsutil::ensure_dir(&out_dir)?;
    let out = out_dir.join(format!("{}-{}.tar.gz", pkg.name, pkg.version));
    let mut files = Vec::new();
    walk(dir, Path::new(""), &mut files)?;
    files.retain(|p| !p.starts_with(".ALP"));
    let tmp = fsutil::staging_path(&out);
    let f = File::create(&tmp).at("creating", &tmp)?;
    let gz = flate2::write::GzEncoder::new(BufWriter::new(f), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    let mut add = |rel: &Path| -> Result<()> {
        let full = dir.join(rel);
        let meta = fs::symlink_metadata(&full).at("reading", &full)?;
        let mut header = tar::Header::new_ustar();
        header.set_metadata_in_mode(&meta, tar::HeaderMode::Deterministic);
        header.set_mtime(std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse().ok()).unwrap_or(0));
        let res = if meta.file_type().is_symlink() {
            let target = fs::read_link(&full).at("reading link", &full)?;
            tar.append_link(&mut header, rel, target)
        } else if meta.is_dir() {
            tar.append_data(&mut header, rel, std::io::empty())
        } else {
            use std::os::unix::fs::PermissionsExt;
            header.set_mode(meta.permissions().mode() & 0o7777);
            tar.append_data(&mut header, rel, File::open(&full).at("reading", &full)?)
        };
        res.at("adding to the archive", &full)
    };
    for meta_file in [".ALP", ".ALP/package.json", ".ALP/install", ".ALP/remove"] {
        if dir.join(meta_file).exists() {
            add(Path::new(meta_file))?;
        }
    }
    for rel in &files {
        add(rel)?;
    }
    let gz = tar.into_inner().at("finishing", &tmp)?;
    let w = gz.finish().at("finishing", &tmp)?;
    w.into_inner().map_err(|e| error::io_at("writing", &tmp, e.into_error()))?.sync_all().at("syncing", &tmp)?;
    fs::rename(&tmp, &out).at("renaming into place", &out)?;
    ui::status(&format!("built {}", out.display()));
    Ok(0)
}

/// Every path under `dir`, relative, sorted, directories before their contents.
fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let full = root.join(rel);
    let mut names: Vec<_> = fs::read_dir(&full).at("reading", &full)?.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let r = rel.join(&name);
        let is_dir = fs::symlink_metadata(root.join(&r)).is_ok_and(|m| m.is_dir());
        out.push(r.clone());
        if is_dir {
            walk(root, &r, out)?;
        }
    }
    Ok(())
}

/// `alp index DIR`: one entry per `*.tar.gz` from its `.ALP/package.json`, with sha256,
/// size and installed size measured here; the serial goes up by one each time.
pub fn index(_ctx: &Ctx, args: &crate::cli::Index) -> Result<i32> {
    let dir = Path::new(&args.dir);
    let mut names: Vec<String> = fs::read_dir(dir)
        .at("reading", dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar.gz") || n.ends_with(".tgz"))
        .collect();
    names.sort();
    let index_path = dir.join("index.json");
    let old = fs::read_to_string(&index_path).ok().and_then(|t| Index::parse(&t, "index.json").ok());
    let mut packages = Vec::new();
    for name in &names {
        let path = dir.join(name);
        let (meta, installed_size) = scan_archive(&path)?;
        let Some(mut pkg) = meta else {
            ui::warn(&format!("{name} has no .ALP/package.json; skipped (add an entry by hand to serve it as is)"));
            continue;
        };
        pkg.file = name.clone();
        pkg.sha256 = digest::sha256_file(&path).at("reading", &path)?;
        pkg.size = fs::metadata(&path).at("reading", &path)?.len();
        pkg.installed_size = installed_size;
        packages.push(pkg);
    }
    let now = timefmt::now();
    let dir_name = fs::canonicalize(dir).ok().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
    let index = Index {
        name: args
            .name
            .clone()
            .or_else(|| old.as_ref().map(|o| o.name.clone()).filter(|n| !n.is_empty()))
            .or(dir_name)
            .unwrap_or_default(),
        serial: args.serial.unwrap_or_else(|| old.as_ref().map_or(1, |o| o.serial + 1)),
        generated: timefmt::format(now),
        expires: args.expires_days.map(|d| timefmt::format(now + d * 86_400)),
        packages,
    };
    fsutil::write_atomic(&index_path, index.to_json().as_bytes())?;
    if let Some(key) = &args.sign {
        crate::cmd::trust::sign_file(Path::new(key), &index_path)?;
    }
    ui::status(&format!("wrote {} ({} packages, serial {})", index_path.display(), index.packages.len(), index.serial));
    Ok(0)
}

/// Reads an archive once: its metadata and the total size of its files.
fn scan_archive(path: &Path) -> Result<(Option<Package>, u64)> {
    let label = path.display().to_string();
    let bad =
        |e: std::io::Error| error::bad_input(format!("{label}: not a gzip'd tar archive ({})", error::plain_io(&e)));
    let f = File::open(path).at("opening", path)?;
    let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f));
    let mut archive = tar::Archive::new(gz);
    let mut meta = None;
    let mut total = 0u64;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let p = entry.path().map_err(bad)?.to_string_lossy().trim_start_matches("./").to_string();
        if p == ".ALP/package.json" {
            let mut text = String::new();
            entry.by_ref().take(1 << 20).read_to_string(&mut text).map_err(bad)?;
            let v = json::parse(&text, &format!("{label}: .ALP/package.json"))?;
            meta = Some(Package::from_json(&v, &format!("{label}: .ALP/package.json"), true)?);
        } else if !p.starts_with(".ALP") && entry.header().entry_type().is_file() {
            total += entry.size();
        }
    }
    Ok((meta, total))
}
