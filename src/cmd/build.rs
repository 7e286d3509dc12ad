//! Repository tooling: `build DIR` makes a package archive, `index DIR` writes `index.json`
//! (and `index DIR --add URL` records an upstream asset as it is).

use crate::archive::{self, Format};
use crate::ctx::Ctx;
use crate::error::{self, IoContext, Result};
use crate::repo::index::{ARCHES, FileMap, Index, Package, Placement};
use crate::unpack;
use crate::verify::digest;
use crate::{fsutil, json, timefmt, ui};
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

/// `alp build DIR`: payload files plus `.ALP/package.json` (and optional hooks) into
/// `<name>-<version>[-<arch>].tar.zst` (or `--format gz|xz`), metadata first so readers
/// find it without reading on. Entries are sorted, owned by root and dated
/// `SOURCE_DATE_EPOCH`, so the same tree gives the same bytes.
pub fn build(ctx: &Ctx, args: &crate::cli::Build) -> Result<i32> {
    let format = match args.format.as_deref() {
        None => Format::TarZst,
        Some(f) => Format::parse(f)
            .ok_or_else(|| error::usage(format!("unknown --format '{f}'; use zst (the default), gz or xz")))?,
    };
    let dir = Path::new(&args.dir);
    let out_dir = PathBuf::from(args.output.as_deref().unwrap_or("."));
    if crate::legacy::compile::is_old_layout(dir) {
        if ctx.simulate {
            println!("would build a package from the old layout in {} into {}", dir.display(), out_dir.display());
            return Ok(0);
        }
        let out = crate::legacy::compile::build_old_layout(dir, &out_dir, format)?;
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
    warn_unknown_fields(&v, &meta_path);
    let arch = if pkg.arch.is_empty() { String::new() } else { format!("-{}", pkg.arch) };
    let out = out_dir.join(format!("{}-{}{arch}{}", pkg.name, pkg.version, format.extension()));
    if ctx.simulate {
        println!("would build {}", out.display());
        return Ok(0);
    }
    fsutil::ensure_dir(&out_dir)?;
    let mut files = Vec::new();
    walk(dir, Path::new(""), &mut files)?;
    files.retain(|p| !p.starts_with(".ALP"));
    let mtime = archive::source_date_epoch();
    // A large tree takes a while to compress: the bar counts the bytes of the files added.
    let total: u64 = files
        .iter()
        .filter_map(|r| fs::symlink_metadata(dir.join(r)).ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let progress = crate::progress::Progress::start_as(total, &pkg.id());
    let added = progress.counter();
    let mut digests = unpack::digests::List::default();
    archive::write_to(&out, format, |w| {
        let mut add = |rel: &Path, digests: Option<&mut unpack::digests::List>| -> Result<()> {
            let full = dir.join(rel);
            // Names go in byte for byte (UTF-8 or not), as `tar` would store them.
            let name = rel;
            let meta = fs::symlink_metadata(&full).at("reading", &full)?;
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            let res = if meta.file_type().is_symlink() {
                let target = fs::read_link(&full).at("reading link", &full)?;
                w.symlink(name, &target, mtime)
            } else if meta.is_dir() {
                w.dir(name, mode, mtime)
            } else {
                let f = File::open(&full).at("reading", &full)?;
                let mut f = digest::HashingReader::new(f, u64::MAX, None);
                let written = w.file(name, mode, mtime, meta.len(), &mut f);
                added.fetch_add(meta.len(), std::sync::atomic::Ordering::Relaxed);
                if let Some(list) = digests {
                    use std::os::unix::ffi::OsStrExt;
                    list.add(name.as_os_str().as_bytes(), &f.digest());
                }
                written
            };
            res.at("adding to the archive", &full)
        };
        for meta_file in [".ALP", ".ALP/package.json", ".ALP/install", ".ALP/remove"] {
            if dir.join(meta_file).exists() {
                add(Path::new(meta_file), None)?;
            }
        }
        for rel in &files {
            add(rel, Some(&mut digests))?;
        }
        // Last, so it lists what came before it (`unpack::digests`).
        let list = digests.bytes();
        w.file(unpack::digests::MEMBER, 0o644, mtime, list.len() as u64, &mut &list[..])
            .at("adding to the archive", Path::new(unpack::digests::MEMBER))
    })?;
    drop(progress);
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

/// `alp index DIR`: one entry per archive in DIR (recognised by its content) from its
/// `.ALP/package.json`, with sha256, size and installed size measured here; entries added
/// with `--add` are kept; the serial goes up by one each time.
pub fn index(ctx: &Ctx, args: &crate::cli::Index) -> Result<i32> {
    let dir = Path::new(&args.dir);
    let index_path = dir.join("index.json");
    let old = fs::read_to_string(&index_path).ok().and_then(|t| Index::parse(&t, "index.json").ok());
    let mut packages = Vec::new();
    let mut added = None;
    let signature = crate::cmd::trust::minisig_path(&index_path);
    if args.sign.is_none() && signature.exists() && !args.force {
        return Err(error::usage(format!(
            "{} is signed: indexing without --sign would leave {} stale and every client refusing the index; pass --sign KEY, or --force to remove the signature",
            dir.display(),
            signature.display()
        )));
    }
    // The key is loaded and unlocked before anything is written: a wrong password changes
    // nothing.
    let signer = args.sign.as_ref().map(|k| crate::cmd::trust::Signer::unlock(Path::new(k))).transpose()?;
    if ctx.simulate && args.add.is_some() {
        println!("would fetch {} and add it to {}", args.add.as_deref().unwrap_or(""), index_path.display());
        return Ok(0);
    }
    if let Some(url) = &args.add {
        let pkg = add_asset(ctx, dir, url, args)?;
        added = Some((pkg.name.clone(), pkg.version.clone(), pkg.arch.clone()));
        packages.push(pkg);
    }
    // Entries recorded by --add earlier (an asset elsewhere, or placed) stay as they are.
    for p in old.iter().flat_map(|o| &o.packages) {
        let same = added.as_ref().is_some_and(|(n, v, a)| *n == p.name && *v == p.version && *a == p.arch);
        if (p.file.contains("://") || !p.place.is_identity()) && !same {
            packages.push(p.clone());
        }
    }
    let mut names: Vec<String> = fs::read_dir(dir)
        .at("reading", dir)?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !n.starts_with("index.json") && !n.ends_with(".minisig"))
        .collect();
    names.sort();
    for name in &names {
        let path = dir.join(name);
        let file = File::open(&path).at("opening", &path)?;
        let scan = match unpack::scan(&file, &path.display().to_string(), name, true) {
            Ok(s) => s,
            // Not an archive alp reads (a README, a key): not a package.
            Err(e) if e.kind == error::Kind::BadInput && is_not_archive(&path) => continue,
            Err(e) => return Err(e),
        };
        if scan.format == Some(Format::Raw) {
            continue;
        }
        let Some(mut pkg) = scan.meta else {
            if !packages.iter().any(|p| p.file == *name) {
                ui::warn(&format!("{name} has no .ALP/package.json; skipped (add it with --add to serve it as is)"));
            }
            continue;
        };
        pkg.file = name.clone();
        pkg.sha256 = digest::sha256_file(&path).at("reading", &path)?;
        pkg.size = fs::metadata(&path).at("reading", &path)?.len();
        pkg.installed_size = scan.installed_size;
        pkg.file_digests = scan.file_digests;
        packages.push(pkg);
    }
    let now = timefmt::now();
    let dir_name = fs::canonicalize(dir).ok().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
    let repo_name = if args.add.is_some() { None } else { args.name.clone() };
    let index = Index {
        name: repo_name
            .or_else(|| old.as_ref().map(|o| o.name.clone()).filter(|n| !n.is_empty()))
            .or(dir_name)
            .unwrap_or_default(),
        serial: args.serial.unwrap_or_else(|| old.as_ref().map_or(1, |o| o.serial + 1)),
        generated: timefmt::format(now),
        expires: args.expires_days.map(|d| timefmt::format(now + d * 86_400)),
        packages,
    };
    let text = index.to_json();
    if ctx.simulate {
        let signed = if signer.is_some() { " and its signature" } else { "" };
        println!(
            "would write {}{signed} ({} packages, serial {})",
            index_path.display(),
            index.packages.len(),
            index.serial
        );
        return Ok(0);
    }
    match signer {
        Some(signer) => {
            // Both written beside their final names first, then both renamed: the index and
            // its signature change together or not at all.
            let sig_text = signer.sign(text.as_bytes(), "index.json")?;
            let (index_tmp, sig_tmp) = (fsutil::staging_path(&index_path), fsutil::staging_path(&signature));
            let staged = fsutil::write_atomic(&index_tmp, text.as_bytes())
                .and_then(|()| fsutil::write_atomic(&sig_tmp, sig_text.as_bytes()));
            let placed = staged.and_then(|()| {
                fs::rename(&index_tmp, &index_path).at("renaming into place", &index_path)?;
                fs::rename(&sig_tmp, &signature).at("renaming into place", &signature)?;
                fsutil::sync_dir(dir)
            });
            if let Err(e) = placed {
                let _ = fs::remove_file(&index_tmp);
                let _ = fs::remove_file(&sig_tmp);
                return Err(e);
            }
            ui::status(&format!("signed {} with key {}", index_path.display(), signer.id()));
        }
        None => {
            fsutil::write_atomic(&index_path, text.as_bytes())?;
            if signature.exists() {
                fsutil::remove_if_exists(&signature)?;
                ui::warn(&format!(
                    "removed the stale signature {} (--force): the index is unsigned now",
                    signature.display()
                ));
            }
        }
    }
    ui::status(&format!("wrote {} ({} packages, serial {})", index_path.display(), index.packages.len(), index.serial));
    Ok(0)
}

/// Whether a file is something other than an archive (its first bytes name no format and
/// it was not added as a raw asset): those are skipped, not errors.
fn is_not_archive(path: &Path) -> bool {
    let mut head = Vec::new();
    let read = File::open(path).and_then(|f| f.take(512).read_to_end(&mut head));
    read.is_err() || matches!(Format::sniff(&head), Ok(Format::Raw) | Err(_))
}

/// `--add URL`: fetches the asset once (into DIR, removed again), checks that its members
/// place as asked, and returns its entry: the URL as given, its size and sha256.
fn add_asset(ctx: &Ctx, dir: &Path, url: &str, args: &crate::cli::Index) -> Result<Package> {
    let need = |v: &Option<String>, flag: &str| {
        v.clone().ok_or_else(|| error::usage(format!("--add needs {flag} (the package's {})", &flag[2..])))
    };
    let (name, version) = (need(&args.name, "--name")?, need(&args.version, "--version")?);
    let arch = args.arch.clone().unwrap_or_default();
    if !arch.is_empty() && !ARCHES.contains(&arch.as_str()) {
        return Err(error::usage(format!("unknown --arch '{arch}' (known: {})", ARCHES.join(", "))));
    }
    let mut files = Vec::new();
    for f in &args.file {
        let (src, rest) = f
            .split_once('=')
            .ok_or_else(|| error::usage(format!("--file '{f}': write it as SRC=DST or SRC=DST:MODE")))?;
        let (dst, mode) = match rest.rsplit_once(':') {
            Some((d, m)) => (d, Some(m)),
            None => (rest, None),
        };
        let mode = mode
            .map(|m| u32::from_str_radix(m, 8).ok().filter(|m| *m <= 0o7777))
            .map(|m| m.ok_or_else(|| error::usage(format!("--file '{f}': the mode must be octal, like 0755"))))
            .transpose()?;
        files.push(FileMap { src: src.to_string(), dst: dst.to_string(), mode });
    }
    let place = Placement { strip: args.strip.unwrap_or(0), prefix: args.prefix.clone().unwrap_or_default(), files };
    // Through the index reader, so the entry obeys every rule an index entry does.
    let purl = args.purl.clone().unwrap_or_default();
    let mut pkg = Package { name, version, arch, place, purl, ..Package::default() };
    let tmp = dir.join(format!("{}add-{}", fsutil::STAGING_PREFIX, std::process::id()));
    let fetched = fetch_to(ctx, url, &tmp);
    let result = fetched.and_then(|(sha256, size)| {
        pkg.sha256 = sha256;
        pkg.size = size;
        pkg.file = url.to_string();
        let entry = Package::from_json(&pkg.to_json(), &format!("--add {url}"), false)?;
        let file = File::open(&tmp).at("opening", &tmp)?;
        let raw_name = url.rsplit('/').next().unwrap_or(url);
        let installed = unpack::check_placement(&file, url, raw_name, &entry.place)?;
        Ok(Package { installed_size: installed, ..entry })
    });
    let _ = fs::remove_file(&tmp);
    let pkg = result?;
    ui::status(&format!("added {} ({}, {} bytes) from {url}", pkg.id(), pkg.sha256, pkg.size));
    Ok(pkg)
}

/// Downloads `url` to `dest`; returns its sha256 and size.
fn fetch_to(ctx: &Ctx, url: &str, dest: &Path) -> Result<(String, u64)> {
    let body = match crate::fetch::http::get(url, &ctx.net()?, None, None)? {
        crate::fetch::http::Fetched::Body(b) => b,
        crate::fetch::http::Fetched::NotModified => {
            return Err(error::network(format!("{url}: unexpected 304 Not Modified")));
        }
    };
    let mut hashing = digest::HashingReader::new(body.reader, u64::MAX, None);
    let mut out = File::create(dest).at("creating", dest)?;
    std::io::copy(&mut hashing, &mut out).map_err(|e| digest::read_error(url, e))?;
    let size = hashing.count();
    let sha = hashing.finish(url, None, None)?;
    Ok((sha, size))
}

/// A field alp does not read is most likely a typo (`"dependencies"` for `"depends"`): say so.
fn warn_unknown_fields(v: &miniserde::json::Value, path: &Path) {
    use crate::repo::index::PACKAGE_FIELDS;
    if let miniserde::json::Value::Object(o) = v {
        for key in o.keys().filter(|k| !PACKAGE_FIELDS.contains(&k.as_str())) {
            let hint = crate::suggest::did_you_mean(key, PACKAGE_FIELDS.iter().copied());
            ui::warn(&format!("{}: unknown field '{key}' is ignored{hint}", path.display()));
        }
    }
}
