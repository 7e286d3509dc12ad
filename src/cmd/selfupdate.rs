//! `self-update`: replace the running binary with the newest signed release (SPEC section 12).
//!
//! The release manifest (`release.json`, signed by `release.json.minisig`) names, per target
//! triple, the binary's URL, SHA-256 and size:
//!
//! ```json
//! {"format":"alp-release-1","version":"0.2.0",
//!  "targets":{"x86_64-unknown-linux-musl":{"url":"alp-x86_64-unknown-linux-musl","sha256":"…","size":2400000}}}
//! ```
//!
//! A relative `url` is taken relative to the manifest's URL. The path of a byte is
//! fetch → signature (manifest) → SHA-256 and size (binary, as it streams) → a staged file
//! beside the binary → rename. Until that rename the binary on disk is never touched, so a
//! bad signature, a tampered download or a crash leaves it byte-identical.
//!
//! Deliberately not here: `--allow-untrusted` and `verify_packages: false` do not apply.
//! They are a way out for package indexes; replacing the package manager itself from an
//! unverified manifest is never what anyone wants.

use crate::cmd::print_json;
use crate::ctx::Ctx;
use crate::error::{self, IoContext, Result};
use crate::fetch::http::{self, Fetched};
use crate::json::{self, Fields};
use crate::verify::{digest, sig};
use crate::{fsutil, ui, version};
use miniserde::json::Value;
use std::cmp::Ordering;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The manifest's `format` field.
const FORMAT: &str = "alp-release-1";
/// Manifests and signatures larger than this are refused before they are parsed.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;
const MAX_SIG_BYTES: u64 = 64 << 10;
/// Tests point this at a copy of the binary; otherwise the running executable is replaced.
const SELF_PATH_ENV: &str = "ALP_SELF_PATH";

/// What this build is and runs on.
const CURRENT: &str = env!("CARGO_PKG_VERSION");
const TARGET: &str = env!("ALP_TARGET");

pub fn self_update(ctx: &Ctx, a: &crate::cli::SelfUpdate) -> Result<i32> {
    let url = match &a.url {
        Some(url) => url.clone(),
        None => ctx.config()?.release_url.clone(),
    };
    let release = fetch_release(ctx, &url)?;
    let exe = binary_path()?;
    match (version::compare(&release.version, CURRENT), a.force) {
        (Ordering::Equal, false) => {
            ui::status(&format!("alp {CURRENT} is the newest release ({url}); nothing to do"));
            report(ctx, &release, &exe, None);
            return Ok(0);
        }
        (Ordering::Less, false) => {
            return Err(error::integrity(format!(
                "{url} offers alp {}, older than this alp {CURRENT}; refusing to downgrade (pass --force to install it anyway)",
                release.version
            )));
        }
        _ => {}
    }
    if ctx.simulate {
        ui::status(&format!("would replace {} (alp {CURRENT}) with alp {}", exe.display(), release.version));
        report(ctx, &release, &exe, None);
        return Ok(0);
    }
    let staged = download(ctx, &release, &exe)?;
    let backup = staged.commit(&exe)?;
    crate::log::info(&format!("self-update: {} replaced, {CURRENT} -> {}", exe.display(), release.version));
    ui::status(&format!(
        "alp {CURRENT} -> {}: replaced {} (previous binary kept as {})",
        release.version,
        exe.display(),
        backup.display()
    ));
    report(ctx, &release, &exe, Some(&backup));
    Ok(0)
}

/// A verified manifest, reduced to what this binary needs: the release's version and the
/// download for this target.
struct Release {
    version: String,
    url: String,
    sha256: String,
    size: u64,
}

/// Fetches the manifest and its signature, verifies it against the trusted keys, parses it.
fn fetch_release(ctx: &Ctx, url: &str) -> Result<Release> {
    let what = format!("release manifest {url}");
    let bytes = fetch_small(ctx, url, MAX_MANIFEST_BYTES, "fetching the release manifest")?;
    let sig_url = format!("{url}.minisig");
    let sig_bytes =
        fetch_small(ctx, &sig_url, MAX_SIG_BYTES, "fetching the release signature").map_err(|e| match e.cause {
            error::Cause::NotFound => {
                error::integrity(format!("{what}: not signed ({sig_url} is missing); refusing to update from it"))
            }
            _ => e,
        })?;
    let keys = sig::load_keys(&ctx.paths.keys())?;
    if keys.is_empty() {
        return Err(error::integrity(format!(
            "{what}: no keys are trusted, so the release cannot be verified; add the release signing key to {}",
            ctx.paths.keys().display()
        )));
    }
    let sig_text = String::from_utf8_lossy(&sig_bytes);
    let key = sig::verify_detached(&bytes, &sig_text, &keys, &what)?;
    ui::status(&format!("{what}: signature verified with key {}", key.id));
    let text = std::str::from_utf8(&bytes).map_err(|_| error::bad_input(format!("{what} is not UTF-8 text")))?;
    parse_release(&json::parse(text, &what)?, url, &what)
}

/// GETs a small document whole, refusing one larger than `cap` bytes. `doing` prefixes errors.
fn fetch_small(ctx: &Ctx, url: &str, cap: u64, doing: &str) -> Result<Vec<u8>> {
    match http::get_small(url, &ctx.net()?, cap).map_err(|e| e.context(doing))? {
        Some(bytes) => Ok(bytes),
        None => Err(error::network(format!("{doing}: {url}: not found")).because(error::Cause::NotFound)),
    }
}

fn parse_release(v: &Value, manifest_url: &str, what: &str) -> Result<Release> {
    let f = Fields::of(v, what)?;
    let format = f.str("format")?;
    if format != FORMAT {
        return Err(error::bad_input(format!("{what}: format is '{format}', this alp reads '{FORMAT}'")));
    }
    let version = f.str("version")?;
    let targets = Fields::of(f.get("targets").unwrap_or(&Value::Null), format!("{what}: 'targets'"))?;
    let Some(entry) = targets.get(TARGET) else {
        let offered: Vec<&str> = targets.obj.keys().map(String::as_str).collect();
        return Err(error::resolve(format!(
            "{what}: release {version} has no binary for {TARGET} (it offers: {})",
            if offered.is_empty() { "nothing".to_string() } else { offered.join(", ") }
        )));
    };
    let t = Fields::of(entry, format!("{what}: target {TARGET}"))?;
    let sha256 = t.str("sha256")?.to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error::bad_input(format!("{what}: target {TARGET}: 'sha256' is not 64 hex digits")));
    }
    let size = t.u64("size")?.ok_or_else(|| error::bad_input(format!("{what}: target {TARGET}: 'size' is missing")))?;
    let url = http::join_url(parent_url(manifest_url), &t.str("url")?);
    Ok(Release { version, url, sha256, size })
}

/// The "directory" of a URL or path, for resolving a relative binary URL against it.
fn parent_url(url: &str) -> &str {
    url.rfind('/').map_or(".", |i| &url[..i])
}

/// The binary to replace: `ALP_SELF_PATH` (tests), else the running executable, with
/// symlinks resolved so the rename replaces the file and not a link to it.
fn binary_path() -> Result<PathBuf> {
    let path = match std::env::var_os(SELF_PATH_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => std::env::current_exe()
            .map_err(|e| error::io_msg(format!("cannot find the running alp binary: {}", error::plain_io(&e))))?,
    };
    fs::canonicalize(&path).at("finding the alp binary", &path)
}

/// Streams the binary into a staged file beside `exe`, checking SHA-256 and size as it goes.
fn download(ctx: &Ctx, release: &Release, exe: &Path) -> Result<StagedBinary> {
    let what = format!("alp {} binary {}", release.version, release.url);
    ui::status(&format!("downloading {what} ({} bytes)", release.size));
    let mut staged = StagedBinary::create(exe)?;
    let doing = format!("downloading alp {}", release.version);
    let body = match http::get(&release.url, &ctx.net()?, None, Some(release.size)).map_err(|e| e.context(&doing))? {
        Fetched::Body(b) => b,
        Fetched::NotModified => return Err(error::network(format!("{what}: unexpected 304 Not Modified"))),
    };
    let mut reader = digest::HashingReader::new(body.reader, release.size, None);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(match reader.source_error() {
                    // The stream ran past the size the signed manifest gives: say so in its terms.
                    Some(c) if c.kind == error::Kind::Integrity => error::integrity(format!(
                        "{what}: the download is larger than the {} bytes the release manifest declares",
                        release.size
                    )),
                    Some(c) => c.context(&what),
                    None => digest::read_error(&what, e),
                });
            }
        };
        staged.file.write_all(&buf[..n]).at("writing", &staged.path)?;
    }
    reader.finish(&what, Some(&release.sha256), Some(release.size))?;
    Ok(staged)
}

/// The new binary, written beside the one it will replace (same filesystem, so the final
/// rename is atomic). It is either committed over the old binary or removed when dropped.
struct StagedBinary {
    path: PathBuf,
    file: File,
    committed: bool,
}

impl StagedBinary {
    /// `DIR/.alp-new.alp.<pid>`: the staging prefix, made unique so that two updates at
    /// once cannot write into one file.
    fn create(exe: &Path) -> Result<StagedBinary> {
        let name = exe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let path = exe.with_file_name(format!("{}{name}.{}", fsutil::STAGING_PREFIX, std::process::id()));
        let file = File::create(&path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
                "; run self-update as the user that owns it (often root), or reinstall with install.sh"
            } else {
                ""
            };
            error::io_msg(format!("cannot write beside {}: {}{hint}", exe.display(), error::plain_io(&e)))
        })?;
        Ok(StagedBinary { path, file, committed: false })
    }

    /// Makes the staged file executable and durable, keeps the current binary as
    /// `NAME.old` (replacing an older backup), renames the new one over `exe` and syncs
    /// the directory. Returns the backup's path.
    fn commit(mut self, exe: &Path) -> Result<PathBuf> {
        self.file.set_permissions(fs::Permissions::from_mode(0o755)).at("setting the mode of", &self.path)?;
        self.file.sync_all().at("syncing", &self.path)?;
        let backup = keep_backup(exe)?;
        fs::rename(&self.path, exe).at("renaming the new binary over", exe)?;
        self.committed = true;
        fsutil::sync_dir(exe.parent().unwrap_or(Path::new(".")))?;
        Ok(backup)
    }
}

impl Drop for StagedBinary {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Puts the current binary at `NAME.old` without ever leaving `NAME` missing: a hard link
/// (or, where links are not allowed, a copy) under a staging name, renamed over the old backup.
fn keep_backup(exe: &Path) -> Result<PathBuf> {
    let name = exe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let backup = exe.with_file_name(format!("{name}.old"));
    let tmp = fsutil::staging_path(&backup);
    fsutil::remove_if_exists(&tmp)?;
    if fs::hard_link(exe, &tmp).is_err() {
        fs::copy(exe, &tmp).at("copying the current binary to", &tmp)?;
        File::open(&tmp).and_then(|f| f.sync_all()).at("syncing", &tmp)?;
    }
    if let Err(e) = fs::rename(&tmp, &backup) {
        let _ = fs::remove_file(&tmp);
        return Err(error::io_at("keeping the backup", &backup, e));
    }
    Ok(backup)
}

/// `--json`: what was found and done.
fn report(ctx: &Ctx, release: &Release, exe: &Path, backup: Option<&Path>) {
    if !ctx.json {
        return;
    }
    let opt = |p: Option<&Path>| p.map_or(Value::Null, |p| json::string(p.display().to_string()));
    print_json(&json::object(vec![
        ("current", json::string(CURRENT)),
        ("release", json::string(release.version.as_str())),
        ("target", json::string(TARGET)),
        ("path", json::string(exe.display().to_string())),
        ("updated", Value::Bool(backup.is_some())),
        ("backup", opt(backup)),
    ]));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(targets: &str) -> Value {
        json::parse(&format!(r#"{{"format":"alp-release-1","version":"9.9.9","targets":{{{targets}}}}}"#), "m").unwrap()
    }

    #[test]
    fn resolves_a_relative_binary_url_against_the_manifest() {
        let sha = "ab".repeat(32);
        let v = manifest(&format!(r#""{TARGET}":{{"url":"alp-bin","sha256":"{sha}","size":5}}"#));
        let r = parse_release(&v, "http://h/releases/v9/release.json", "m").unwrap();
        assert_eq!(r.url, "http://h/releases/v9/alp-bin");
        assert_eq!((r.version.as_str(), r.size), ("9.9.9", 5));
        let r = parse_release(&v, "/srv/rel/release.json", "m").unwrap();
        assert_eq!(r.url, "/srv/rel/alp-bin");
    }

    #[test]
    fn names_the_targets_a_release_offers_when_ours_is_missing() {
        let v = manifest(r#""riscv64-unknown-linux-musl":{"url":"x","sha256":"00","size":1}"#);
        let e = parse_release(&v, "http://h/release.json", "m").err().unwrap();
        assert_eq!(e.kind, error::Kind::Resolve);
        assert!(e.msg.contains("riscv64-unknown-linux-musl"), "{}", e.msg);
    }

    #[test]
    fn refuses_a_malformed_digest() {
        let v = manifest(&format!(r#""{TARGET}":{{"url":"x","sha256":"1234","size":1}}"#));
        assert!(parse_release(&v, "http://h/release.json", "m").err().unwrap().msg.contains("64 hex"));
    }
}
