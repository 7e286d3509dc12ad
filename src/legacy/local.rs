//! `install-local FILE.alp` the way the old tool did it, made safe to undo: the scripts and
//! the main file go to `var/lib/alp/scripts/<name>/`, `alp.sh` runs directly (no shell
//! wrapper) under `hook_timeout` with `ALP_MAIN_FILE` / `ALP_MAIN_NAME` set as before, and
//! only when it succeeds is the package recorded, with `alp_u.sh` kept as its `remove` hook
//! so that a plain `alp remove NAME` runs it.
//!
//! Kept per package (root-relative, all recorded as the package's files so `remove` deletes
//! them and `doctor` checks them):
//! `var/lib/alp/scripts/<name>/remove` (alp_u.sh, the hook), `…/alp.sh`, `…/README.md`,
//! `…/main/<main_file_name>`.
//!
//! What `alp.sh` itself writes is not known to alp (the old format never listed it), so only
//! `alp_u.sh` can take it away again.

use super::alpfile::AlpFile;
use crate::config::Paths;
use crate::db::lock::Lock;
use crate::db::state::{Db, FileRec, Installed};
use crate::error::{self, IoContext, Result};
use crate::verify::digest;
use crate::version::{Op, Req};
use crate::{fsutil, hooks, timefmt, world};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Installs `alp` (read from `file`). The caller holds the lock and has checked that no
/// package of that name is installed.
pub fn install(
    paths: &Paths,
    _lock: &Lock,
    hook_timeout: u64,
    sbom: bool,
    file: &Path,
    alp: &AlpFile,
) -> Result<Installed> {
    let name = &alp.meta.name;
    let dir = paths.scripts(name);
    // A directory without a record is what an interrupted install-local leaves: start afresh.
    let _ = std::fs::remove_dir_all(&dir);
    fsutil::ensure_dir(&dir)?;
    let result = keep_and_run(paths, hook_timeout, &dir, alp);
    let files = match result {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    let rel = |p: &Path| crate::pathtext::show(p.strip_prefix(&paths.root).unwrap_or(p)).into_owned();
    let mut records = Vec::new();
    let mut size = 0;
    for (path, mode) in &files {
        let bytes = std::fs::metadata(path).at("reading", path)?.len();
        size += bytes;
        records.push(FileRec {
            path: rel(path),
            sha256: digest::sha256_file(path).at("reading", path)?,
            mode: *mode,
            link: None,
        });
    }
    let origin = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let record = Installed {
        meta: alp.meta.clone(),
        origin: format!("local:{}", origin.display()),
        installed_at: timefmt::now(),
        files: records,
        dirs: if alp.main_file.is_some() { vec![rel(&dir.join("main"))] } else { Vec::new() },
        hooks: vec!["remove".to_string()],
        size,
        hook_failed: None,
    };
    let mut db = Db::load(paths)?;
    db.packages.insert(name.clone(), record.clone());
    let world =
        world::Change { add: vec![Req { name: name.clone(), op: Op::Any, version: String::new() }], drop: Vec::new() };
    crate::txn::commit_records(paths, &db, &world, sbom)?;
    crate::log::info(&format!("installed {} from the old-format package {}", alp.meta.id(), origin.display()));
    Ok(record)
}

/// Writes the kept files (mode 755 for scripts, as the old tool did), runs `alp.sh`, and
/// returns the files to record, except the `remove` hook, which the record lists as a hook.
fn keep_and_run(paths: &Paths, hook_timeout: u64, dir: &Path, alp: &AlpFile) -> Result<Vec<(PathBuf, u32)>> {
    let write = |path: &Path, bytes: &[u8], mode: u32| -> Result<()> {
        std::fs::write(path, bytes).at("writing", path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).at("setting the mode of", path)
    };
    let alp_sh = dir.join("alp.sh");
    write(&alp_sh, &alp.install_script, 0o755)?;
    write(&dir.join("remove"), &alp.remove_script, 0o755)?;
    let readme = dir.join("README.md");
    write(&readme, alp.readme.as_bytes(), 0o644)?;
    let mut kept = vec![(alp_sh.clone(), 0o755), (readme, 0o644)];
    let mut env = Vec::new();
    if let Some((main_name, bytes)) = &alp.main_file {
        let main_dir = dir.join("main");
        fsutil::ensure_dir(&main_dir)?;
        let main = main_dir.join(main_name);
        // The old tool made only .sh and .py main files executable.
        let mode = if main_name.ends_with(".sh") || main_name.ends_with(".py") { 0o755 } else { 0o644 };
        write(&main, bytes, mode)?;
        let abs = std::path::absolute(&main).at("resolving", &main)?;
        env.push(("ALP_MAIN_FILE".to_string(), abs.to_string_lossy().into_owned()));
        env.push(("ALP_MAIN_NAME".to_string(), main_name.clone()));
        kept.push((main, mode));
    }
    // Absolute: the script runs in its own directory, and a relative --root would not reach it.
    let script = std::path::absolute(&alp_sh).at("resolving", &alp_sh)?;
    let root = std::path::absolute(&paths.root).at("resolving", &paths.root)?;
    hooks::run(&script, &root, &alp.meta.name, &alp.meta.version, hook_timeout, &env)
        .map_err(|e| error::Error::new(e.kind, format!("{}; nothing was recorded", e.msg)))?;
    Ok(kept)
}
