//! `compile DIR` for the old layout: `README.md` metadata lines plus `alp.sh` / `alp_u.sh`
//! (and the main file the README names) become a normal alp archive.
//!
//! The archive holds:
//! - `.ALP/package.json`: the README fields (`ver` → version, `des` → description,
//!   `deps` → depends);
//! - `.ALP/install` = `alp.sh`, `.ALP/remove` = `alp_u.sh` (when present);
//! - the main file, as payload at `usr/local/share/<name>/<main>` (the old tool kept it in
//!   `~/.alp/installed/<name>/`; a system-wide share directory is its place under a root).
//!
//! The old tool ran `alp.sh` with `ALP_MAIN_FILE` (path of the main file) and
//! `ALP_MAIN_NAME` set. So that the hooks need nothing special from whichever alp installs
//! the archive, a shell script gets three lines after its `#!` line that default those two
//! variables to the installed main file; a script with another interpreter is kept as is.

use crate::archive::{self, Format};
use crate::error::{self, IoContext, Result};
use crate::{fsutil, json, ui};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::readme::Meta;

/// Interpreters that read the prologue (POSIX `sh` syntax).
const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "ksh", "mksh", "zsh", "yash"];

/// Whether `dir` is an old-layout project (and no new-style one): what `alp build` checks.
pub fn is_old_layout(dir: &Path) -> bool {
    !dir.join(".ALP/package.json").exists() && dir.join("README.md").is_file() && dir.join("alp.sh").is_file()
}

/// Builds `<out_dir>/<name>-<version>.tar.zst` (or the `format` given) from an old-layout
/// directory; returns its path.
pub fn build_old_layout(dir: &Path, out_dir: &Path, format: Format) -> Result<PathBuf> {
    let read = |name: &str| fs::read(dir.join(name)).at("reading", &dir.join(name));
    let readme_path = dir.join("README.md");
    let readme = String::from_utf8_lossy(&read("README.md")?).into_owned();
    let meta = Meta::parse(&readme, &readme_path.display().to_string())?;
    let install = read("alp.sh")?;
    let remove = match fs::read(dir.join("alp_u.sh")) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ui::warn(&format!("{}: no alp_u.sh; the package will have no remove script", dir.display()));
            None
        }
        Err(e) => return Err(error::io_at("reading", &dir.join("alp_u.sh"), e)),
    };
    let main = match &meta.main {
        Some(name) if dir.join(name).is_file() => Some(name.clone()),
        Some(name) => {
            ui::warn(&format!(
                "{}: main file '{name}' not found; building without it (ALP_MAIN_FILE stays unset)",
                dir.display()
            ));
            None
        }
        None => None,
    };
    let main_rel = main.as_ref().map(|m| format!("usr/local/share/{}/{m}", meta.name));
    let env = main.as_deref().zip(main_rel.as_deref());
    let install = with_main_env(&install, env, &dir.join("alp.sh"))?;
    let remove = remove.map(|r| with_main_env(&r, env, &dir.join("alp_u.sh"))).transpose()?;

    fsutil::ensure_dir(out_dir)?;
    let out = out_dir.join(format!("{}-{}{}", meta.name, meta.version, format.extension()));
    let main = main.as_ref().zip(main_rel.as_ref()).map(|(m, r)| (dir.join(m), r.as_str()));
    archive::write_to(&out, format, |w| write_archive(w, &out, &meta, &install, remove.as_deref(), main))?;
    Ok(out)
}

/// `.ALP/package.json` text for the README's fields.
fn package_json(meta: &Meta) -> String {
    let mut pairs = vec![
        ("name", json::string(&meta.name)),
        ("version", json::string(&meta.version)),
        ("description", json::string(&meta.description)),
        ("author", json::string(&meta.author)),
        ("license", json::string(&meta.license)),
        ("category", json::string(&meta.category)),
        ("depends", json::strings(&meta.depends)),
    ];
    if let Some(m) = &meta.main {
        pairs.push(("main", json::string(m)));
    }
    miniserde::json::to_string(&json::object(pairs))
}

/// Metadata first, then the main file; root-owned, fixed mtime: the same project gives the
/// same archive.
fn write_archive(
    w: &mut archive::Writer,
    out: &Path,
    meta: &Meta,
    install: &[u8],
    remove: Option<&[u8]>,
    main: Option<(PathBuf, &str)>,
) -> Result<()> {
    let mtime = archive::source_date_epoch();
    w.dir(".ALP", 0o755, mtime).at("writing", out)?;
    let mut add = |path: &str, data: &[u8], mode: u32| {
        w.file(path, mode, mtime, data.len() as u64, &mut &data[..]).at("writing", out)
    };
    let pj = package_json(meta);
    add(".ALP/package.json", pj.as_bytes(), 0o644)?;
    add(".ALP/install", install, 0o755)?;
    if let Some(r) = remove {
        add(".ALP/remove", r, 0o755)?;
    }
    if let Some((src, rel)) = main {
        let mode = main_mode(&src);
        let mut file = File::open(&src).at("reading", &src)?;
        let size = file.metadata().at("reading", &src)?.len();
        w.file(rel, mode, mtime, size, &mut file).at("writing", out)?;
    }
    Ok(())
}

/// Executable when the source is, or when it is a `.sh` / `.py` (the old tool's rule).
fn main_mode(src: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let exec_bits = fs::metadata(src).map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false);
    let by_name = src.extension().is_some_and(|e| e == "sh" || e == "py");
    if exec_bits || by_name { 0o755 } else { 0o644 }
}

/// The interpreter a `#!` line names (`/usr/bin/env bash` → `bash`).
fn interpreter(first_line: &str) -> Option<String> {
    let mut words = first_line.strip_prefix("#!")?.split_whitespace();
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let first = base(words.next()?);
    if first == "env" || first == "busybox" {
        return words.find(|w| !w.starts_with('-')).map(base);
    }
    Some(first)
}

/// Single-quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `script` with `ALP_MAIN_NAME` / `ALP_MAIN_FILE` defaulted after its `#!` line.
/// `main` is `(file name, root-relative path)`. A script without `#!` cannot be run
/// directly (the old tool could not run it either) and is refused.
pub fn with_main_env(script: &[u8], main: Option<(&str, &str)>, path: &Path) -> Result<Vec<u8>> {
    let first_end = script.iter().position(|&b| b == b'\n').unwrap_or(script.len());
    let first = String::from_utf8_lossy(&script[..first_end]);
    let Some(interp) = interpreter(&first) else {
        return Err(error::bad_input(format!(
            "{}: no '#!' line, so it cannot be run directly (nor could the old tool run it); add '#!/bin/sh' as its first line",
            path.display()
        )));
    };
    let Some((name, rel)) = main else { return Ok(script.to_vec()) };
    if !SHELLS.contains(&interp.as_str()) {
        ui::warn(&format!("{}: runs with {interp}, not a shell; ALP_MAIN_FILE will not be set for it", path.display()));
        return Ok(script.to_vec());
    }
    let prologue = format!(
        "# Added by alp build (old layout): the variables the old tool set for this script.\n\
         [ -n \"${{ALP_MAIN_NAME:-}}\" ] || ALP_MAIN_NAME={}\n\
         [ -n \"${{ALP_MAIN_FILE:-}}\" ] || ALP_MAIN_FILE=\"${{ALP_ROOT:-}}\"{}\n\
         export ALP_MAIN_NAME ALP_MAIN_FILE\n",
        sh_quote(name),
        sh_quote(&format!("/{rel}")),
    );
    let mut out = Vec::with_capacity(script.len() + prologue.len() + 1);
    out.extend_from_slice(&script[..first_end]);
    out.push(b'\n');
    out.extend_from_slice(prologue.as_bytes());
    if first_end < script.len() {
        out.extend_from_slice(&script[first_end + 1..]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_interpreter() {
        assert_eq!(interpreter("#!/bin/sh").as_deref(), Some("sh"));
        assert_eq!(interpreter("#! /usr/bin/env -S bash -e").as_deref(), Some("bash"));
        assert_eq!(interpreter("#!/usr/bin/python3").as_deref(), Some("python3"));
        assert_eq!(interpreter("echo hi"), None);
    }

    #[test]
    fn prologue_goes_after_the_shebang_and_quotes_names() {
        let out =
            with_main_env(b"#!/bin/sh\nset -e\n", Some(("it's.sh", "usr/local/share/a/it's.sh")), Path::new("alp.sh"))
                .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("#!/bin/sh\n# Added by alp build"));
        assert!(text.contains("ALP_MAIN_NAME='it'\\''s.sh'"));
        assert!(text.contains("ALP_MAIN_FILE=\"${ALP_ROOT:-}\"'/usr/local/share/a/it'\\''s.sh'"));
        assert!(text.ends_with("export ALP_MAIN_NAME ALP_MAIN_FILE\nset -e\n"));
        let py = with_main_env(b"#!/usr/bin/python3\nprint(1)\n", Some(("m", "usr/m")), Path::new("alp.sh")).unwrap();
        assert_eq!(py, b"#!/usr/bin/python3\nprint(1)\n");
        assert!(with_main_env(b"echo no shebang\n", None, Path::new("alp.sh")).is_err());
    }
}
