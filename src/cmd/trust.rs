//! Signing commands (SPEC section 7): `key generate`, `sign`, `verify`, and the old tool's
//! `cert-create`, `cert-info`, `cert-scan` names, now over real minisign signatures.
//!
//! The cryptography lives in `verify::sig`; this file reads passwords, writes key files,
//! and reports. The old tool's "certificates" (a SHA-256 of public fields) are only ever
//! displayed, and always as unverifiable: anyone can compute one.

use crate::cmd::print_json;
use crate::ctx::Ctx;
use crate::db::state::Db;
use crate::error::{self, IoContext, Result};
use crate::fetch::http;
use crate::json::{self, Fields};
use crate::legacy::alpfile::AlpFile;
use crate::repo::index::Index;
use crate::verify::{digest, sig};
use crate::{fsutil, timefmt, ui};
use miniserde::json::Value;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

/// The secret key file the commands use when `-s` is not given.
const DEFAULT_SECRET: &str = "alp.key";
/// Environment variable holding the secret key's password (for scripts and CI).
const PASSWORD_ENV: &str = "ALP_KEY_PASSWORD";
/// Index and signature bodies larger than this are refused (as `update` does).
const MAX_INDEX_BYTES: u64 = 64 << 20;
const MAX_SIG_BYTES: u64 = 64 << 10;

/// `alp key generate`: a minisign key pair, the secret key encrypted unless `--unencrypted`.
pub fn key(ctx: &Ctx, a: &crate::cli::Key) -> Result<i32> {
    if a.action != "generate" {
        return Err(error::usage(format!("unknown key action '{}'; the only one is 'alp key generate'", a.action)));
    }
    let secret = PathBuf::from(a.secret.as_deref().unwrap_or(DEFAULT_SECRET));
    let public = a.public.as_ref().map_or_else(|| secret.with_extension("pub"), PathBuf::from);
    check_key_targets(&secret, &public, a.force)?;
    if ctx.simulate {
        println!("would write {} and {}", secret.display(), public.display());
        return Ok(0);
    }
    let password = if a.unencrypted { None } else { Some(new_password()?) };
    let pair = write_key_pair(&secret, &public, password)?;
    report_key_pair(ctx, &secret, &public, &pair, !a.unencrypted);
    Ok(0)
}

/// `alp sign FILE`: writes `FILE.minisig`.
pub fn sign(ctx: &Ctx, a: &crate::cli::Sign) -> Result<i32> {
    let secret = PathBuf::from(a.secret.as_deref().unwrap_or(DEFAULT_SECRET));
    let key = sig::read_secret_key(&secret)?;
    let password = password_for(&key)?;
    if ctx.simulate {
        println!("would write {}", minisig_path(Path::new(&a.file)).display());
        return Ok(0);
    }
    let (sig_path, id) = sign_with(&key, password, Path::new(&a.file))?;
    if ctx.json {
        print_json(&json::object(vec![
            ("file", json::string(a.file.as_str())),
            ("signature", json::string(sig_path.display().to_string())),
            ("key_id", json::string(id)),
        ]));
    } else {
        ui::status(&format!("signed {} with key {id}: wrote {}", a.file, sig_path.display()));
    }
    Ok(0)
}

/// A secret key read and unlocked (its password asked for, or taken from
/// `ALP_KEY_PASSWORD`) before anything is written, for `alp index DIR --sign KEY`.
pub struct Signer {
    key: sig::SecretKeyFile,
    password: Option<String>,
    id: String,
}

impl Signer {
    pub fn unlock(secret: &Path) -> Result<Signer> {
        let key = sig::read_secret_key(secret)?;
        let password = password_for(&key)?;
        // A wrong password shows now, not after the index was rewritten.
        let (_, id) = sig::sign(&key, password.clone(), &b""[..], "unlock check")?;
        Ok(Signer { key, password, id })
    }

    /// The key's id, as minisign prints it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signature file's text for `bytes`, named `name` in its trusted comment.
    pub fn sign(&self, bytes: &[u8], name: &str) -> Result<String> {
        let comment = format!("timestamp:{}\tfile:{name}\thashed", timefmt::now());
        sig::sign(&self.key, self.password.clone(), bytes, &comment).map(|(text, _)| text)
    }
}

/// `alp verify FILE`: checks `FILE.minisig` against `-p PUB` or every trusted key.
pub fn verify(ctx: &Ctx, a: &crate::cli::Verify) -> Result<i32> {
    let file = Path::new(&a.file);
    let what = file.display().to_string();
    let sig_text = read_signature(&minisig_path(file));
    let claimed = sig_text.as_ref().ok().and_then(|s| sig::signature_key_id(s));
    let comment = sig_text.as_ref().ok().and_then(|s| sig::trusted_comment(s));
    let verdict = sig_text.and_then(|sig_text| {
        let keys = match &a.public {
            Some(p) => vec![sig::load_key_file(Path::new(p))?],
            None => sig::load_keys(&ctx.paths.keys())?,
        };
        let f = std::fs::File::open(file).at("opening", file)?;
        sig::verify_reader(f, &sig_text, &keys, &what).map(|k| (k.id.clone(), k.path.clone()))
    });
    if ctx.json {
        let mut rows = vec![("file", json::string(what.as_str())), ("valid", Value::Bool(verdict.is_ok()))];
        match &verdict {
            Ok((id, key)) => {
                rows.push(("key_id", json::string(id.as_str())));
                rows.push(("key", json::string(key.display().to_string())));
                rows.push(("trusted_comment", opt_string(comment.as_deref())));
            }
            Err(e) => {
                rows.push(("key_id", opt_string(claimed.as_deref())));
                rows.push(("error", json::string(e.msg.as_str())));
            }
        }
        print_json(&json::object(rows));
    } else if let Ok((id, key)) = &verdict {
        println!("{what}: signature verified with key {id} ({})", key.display());
        if let Some(c) = comment {
            println!("trusted comment: {c}");
        }
    }
    verdict.map(|_| 0)
}

/// `alp cert-create [DIR]`: a key pair like `key generate`, and DIR/index.json signed.
pub fn cert_create(ctx: &Ctx, a: &crate::cli::CertCreate) -> Result<i32> {
    let secret = PathBuf::from(a.secret.as_deref().unwrap_or(DEFAULT_SECRET));
    let public = secret.with_extension("pub");
    let index = a.dir.as_ref().map(|d| Path::new(d).join("index.json"));
    if let Some(index) = &index
        && !index.is_file()
    {
        return Err(error::usage(format!("{} does not exist; run 'alp index DIR' first", index.display())));
    }
    check_key_targets(&secret, &public, a.force)?;
    if let Some(index) = &index {
        let signature = minisig_path(index);
        if signature.exists() && !a.force {
            return Err(error::usage(format!(
                "{} is already signed; signing it with a new key locks out every client that trusts the old one. Pass --force if that is what you want",
                index.display()
            )));
        }
    }
    if ctx.simulate {
        println!("would write {} and {}", secret.display(), public.display());
        if let Some(index) = &index {
            println!("would sign {}", index.display());
        }
        return Ok(0);
    }
    let password = if a.unencrypted { None } else { Some(new_password()?) };
    let pair = write_key_pair(&secret, &public, password.clone())?;
    report_key_pair(ctx, &secret, &public, &pair, !a.unencrypted);
    if let Some(index) = index {
        let key = sig::read_secret_key(&secret)?;
        let (sig_path, id) = sign_with(&key, password, &index)?;
        ui::status(&format!("signed {} with key {id}: publish {} beside it", index.display(), sig_path.display()));
    }
    Ok(0)
}

/// `alp cert-info NAME`: who signed the index an installed package came from, and whether
/// that signature verifies against today's trusted keys. A path to an old `cerf.alpc` or
/// `.alp` file is shown as the unverifiable legacy certificate it is.
pub fn cert_info(ctx: &Ctx, a: &crate::cli::CertInfo) -> Result<i32> {
    if let Some(path) = legacy_path(&a.name) {
        return legacy_cert_info(ctx, &path);
    }
    let db = Db::load(&ctx.paths)?;
    let Some(inst) = db.packages.get(&a.name) else {
        return Err(error::resolve(format!(
            "package '{}' is not installed (for an old certificate, give the path to its cerf.alpc or .alp file)",
            a.name
        )));
    };
    let name = &a.name;
    let origin = inst.origin.clone();
    let mut rows: Vec<(&str, Value)> = vec![
        ("package", json::string(name.as_str())),
        ("version", json::string(inst.meta.version.as_str())),
        ("repository", json::string(origin.as_str())),
    ];
    if let Some(file) = origin.strip_prefix("local:") {
        let msg = format!("{name} was installed from the local file {file}; no repository signature covers it");
        return finish_report(ctx, rows, Err(error::integrity(msg)));
    }
    let dir = crate::repo::kept_dir_of(&ctx.paths, &origin);
    let index_path = dir.join("index.json");
    let Ok(index_bytes) = std::fs::read(&index_path) else {
        let msg = format!("no kept index for {origin}; run 'alp update' with that repository configured");
        return finish_report(ctx, rows, Err(error::integrity(msg)));
    };
    let recorded = crate::repo::kept_signer(&ctx.paths, &origin);
    rows.push(("signed_by", opt_string(recorded.as_deref())));
    let sig_text = std::fs::read_to_string(dir.join("index.json.minisig")).ok();
    let Some(sig_text) = sig_text else {
        let msg = format!("the index of {origin} was not signed (accepted with --allow-untrusted)");
        return finish_report(ctx, rows, Err(error::integrity(msg)));
    };
    rows.push(("key_id", opt_string(sig::signature_key_id(&sig_text).as_deref())));
    let listed = std::str::from_utf8(&index_bytes)
        .ok()
        .and_then(|t| Index::parse(t, "kept index.json").ok())
        .and_then(|i| i.packages.into_iter().find(|p| &p.name == name && p.version == inst.meta.version))
        .is_some_and(|p| p.sha256 == inst.meta.sha256);
    rows.push(("listed_in_index", Value::Bool(listed)));
    let keys = sig::load_keys(&ctx.paths.keys())?;
    let what = format!("the kept index of {origin}");
    let verdict = sig::verify_detached(&index_bytes, &sig_text, &keys, &what).map(|k| {
        rows.push(("trusted_key", json::string(k.path.display().to_string())));
        rows.push(("trusted_comment", opt_string(sig::trusted_comment(&sig_text).as_deref())));
    });
    finish_report(ctx, rows, verdict)
}

/// `alp cert-scan URL`: fetches a repository's index and signature and reports validity,
/// key id, serial and expiry. Exits non-zero unless the index is signed by a trusted key
/// and not expired.
pub fn cert_scan(ctx: &Ctx, a: &crate::cli::CertScan) -> Result<i32> {
    let base = a.url.trim_end_matches('/');
    let index_url = http::join_url(base, "index.json");
    let what = format!("repository {base}");
    let bytes = fetch_capped(ctx, &index_url, MAX_INDEX_BYTES).map_err(|e| e.context(&what))?;
    let bytes = bytes.ok_or_else(|| error::network(format!("{what}: {index_url} not found")))?;
    let sig_url = format!("{index_url}.minisig");
    let sig_text = fetch_capped(ctx, &sig_url, MAX_SIG_BYTES)
        .map_err(|e| e.context(&what))?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let mut rows: Vec<(&str, Value)> = vec![("url", json::string(base))];
    let mut problems: Vec<String> = Vec::new();
    match &sig_text {
        None => problems.push(format!("index.json is not signed (no {sig_url})")),
        Some(s) => {
            rows.push(("key_id", opt_string(sig::signature_key_id(s).as_deref())));
            let keys = sig::load_keys(&ctx.paths.keys())?;
            match sig::verify_detached(&bytes, s, &keys, "index.json") {
                Ok(k) => {
                    rows.push(("trusted_key", json::string(k.path.display().to_string())));
                    // Shown only once verified: until then it is as untrusted as the rest.
                    rows.push(("trusted_comment", opt_string(sig::trusted_comment(s).as_deref())));
                }
                Err(e) => problems.push(e.msg),
            }
        }
    }
    let parsed = std::str::from_utf8(&bytes)
        .map_err(|_| error::bad_input("index.json is not UTF-8"))
        .and_then(|t| Index::parse(t, "index.json"));
    match parsed {
        Ok(index) => {
            let expired = index.expires.as_deref().map(|e| timefmt::parse(e).is_none_or(|t| t <= timefmt::now()));
            if expired == Some(true) {
                problems.push(format!("the index expired at {}", index.expires.as_deref().unwrap_or("")));
            }
            rows.push(("name", json::string(index.name.as_str())));
            rows.push(("serial", json::number(index.serial)));
            rows.push(("generated", json::string(index.generated.as_str())));
            rows.push(("expires", opt_string(index.expires.as_deref())));
            rows.push(("expired", Value::Bool(expired == Some(true))));
            rows.push(("packages", json::number(index.packages.len() as u64)));
        }
        Err(e) => problems.push(e.msg),
    }
    let verdict =
        if problems.is_empty() { Ok(()) } else { Err(error::integrity(format!("{what}: {}", problems.join("; ")))) };
    finish_report(ctx, rows, verdict)
}

/// Prints a verification report (rows plus a verdict) and turns the verdict into the exit:
/// 0 when it verified, the error (exit 5) otherwise, after the report is on stdout.
fn finish_report(ctx: &Ctx, mut rows: Vec<(&str, Value)>, verdict: Result<()>) -> Result<i32> {
    rows.push(("valid", Value::Bool(verdict.is_ok())));
    if ctx.json {
        if let Err(e) = &verdict {
            rows.push(("error", json::string(e.msg.as_str())));
        }
        print_json(&json::object(rows));
    } else {
        print_rows(&rows);
    }
    verdict.map(|()| 0)
}

/// `key: value` lines for a human reader.
fn print_rows(rows: &[(&str, Value)]) {
    for (k, v) in rows {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => "(none)".to_string(),
            Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            other => miniserde::json::to_string(other),
        };
        println!("{:<16} {text}", format!("{}:", k.replace('_', " ")));
    }
}

// ---- legacy certificates -------------------------------------------------------------

/// `NAME` names an old certificate when it is a path: it has a `/`, or it is an existing
/// `.alp` / `.alpc` file, or a directory holding a `cerf.alpc`.
fn legacy_path(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_dir() && p.join("cerf.alpc").is_file() {
        return Some(p.join("cerf.alpc"));
    }
    let file_like = name.ends_with(".alp") || name.ends_with(".alpc");
    (name.contains('/') || file_like && p.is_file()).then(|| p.to_path_buf())
}

/// Shows an old certificate: a `cerf.alpc` project certificate, or the certificate inside
/// an old `.alp` package file (`legacy::alpfile`). Display only; see `finish_legacy`.
fn legacy_cert_info(ctx: &Ctx, path: &Path) -> Result<i32> {
    let label = path.display().to_string();
    let mut text = String::new();
    let f = std::fs::File::open(path).at("opening", path)?;
    f.take(MAX_INDEX_BYTES + 1).read_to_string(&mut text).map_err(|e| {
        error::bad_input(format!("{label}: not an old certificate (not UTF-8 JSON: {})", error::plain_io(&e)))
    })?;
    let v = json::parse(&text, &label)?;
    let fields = Fields::of(&v, label.as_str())?;
    let mut rows = vec![("file", json::string(label.as_str()))];
    let (consistent, kind) = if fields.get("magic").is_some() || fields.get("token").is_some() {
        let c = read_cerf(&fields)?;
        rows.push(("format", json::string("cerf.alpc project certificate (legacy)")));
        rows.extend(c.fields.iter().map(|(k, v)| (*k, json::string(v.as_str()))));
        (c.self_consistent, c.kind)
    } else if fields.get("format_version").is_some() || fields.get("files").is_some() {
        let alp = AlpFile::parse(&text, &label)?;
        rows.push(("format", json::string(format!(".alp package file {} (legacy)", alp.format_version))));
        rows.push(("package", json::string(alp.meta.id())));
        let Some(c) = alp.certificate else {
            rows.push(("certificate", Value::Null));
            rows.push(("trusted", Value::Bool(false)));
            let msg = format!("{label} carries no certificate; an old .alp file has no verifiable signature at all");
            return finish_legacy(ctx, rows, msg);
        };
        for (k, v) in [("cert_id", &c.cert_id), ("issued_to", &c.package_name), ("author", &c.author)] {
            rows.push((k, json::string(v.as_str())));
        }
        rows.push(("issued_at", json::string(c.issued_at.as_str())));
        rows.push(("signature", json::string(c.signature.as_str())));
        (c.self_consistent(), c.kind)
    } else {
        return Err(error::bad_input(format!(
            "{label} is neither an old cerf.alpc certificate nor an old .alp package file"
        )));
    };
    rows.push(("type", json::string(format!("{kind} (a label anyone can write)"))));
    let state = if consistent {
        "self-consistent (matches the old formula, which anyone can compute)"
    } else {
        "altered (does not match the old formula over its own fields)"
    };
    rows.push(("consistency", json::string(state)));
    rows.push(("verifiable", Value::Bool(false)));
    rows.push(("trusted", Value::Bool(false)));
    rows.push((
        "note",
        json::string(
            "an old certificate is a SHA-256 of public fields: anyone can make one for any package and \
             author, so it proves nothing about who made the package",
        ),
    ));
    let msg = format!(
        "{label}: UNVERIFIABLE legacy certificate, not treated as trusted; sign repository indexes with 'alp sign' instead"
    );
    finish_legacy(ctx, rows, msg)
}

/// Legacy certificates are displayed, then the command fails (exit 5): a script that asks
/// "is this trusted?" must never hear yes.
fn finish_legacy(ctx: &Ctx, rows: Vec<(&str, Value)>, msg: String) -> Result<i32> {
    if ctx.json {
        print_json(&json::object(rows));
    } else {
        println!("LEGACY CERTIFICATE: UNVERIFIABLE, NOT TRUSTED");
        print_rows(&rows);
    }
    Err(error::integrity(msg))
}

/// The fields of a `cerf.alpc`, and whether its "signature" matches the old formula
/// `sha256_hex(package|author|type|issued_at|token|ALP-CERF)`.
struct Cerf {
    fields: Vec<(&'static str, String)>,
    kind: String,
    self_consistent: bool,
}

fn read_cerf(f: &Fields) -> Result<Cerf> {
    let get = |k: &str| f.str_or_empty(k);
    let (package, author, kind, issued, token) =
        (get("package")?, get("author")?, get("type")?, get("issued_at")?, get("token")?);
    let signature = get("signature")?;
    let formula = [package.as_str(), &author, &kind, &issued, &token, "ALP-CERF"].join("|");
    let self_consistent = digest::sha256_hex(formula.as_bytes()).eq_ignore_ascii_case(&signature);
    Ok(Cerf {
        fields: vec![("package", package), ("author", author), ("issued_at", issued), ("signature", signature)],
        kind,
        self_consistent,
    })
}

// ---- keys, passwords, signing ---------------------------------------------------------

/// Refuses to overwrite key files unless `force`: a replaced secret key cannot sign for
/// the public key that users already trust.
fn check_key_targets(secret: &Path, public: &Path, force: bool) -> Result<()> {
    if secret == public {
        return Err(error::usage("the secret and public key files must differ"));
    }
    for p in [secret, public] {
        if !force && p.exists() {
            return Err(error::usage(format!(
                "{} already exists; pass --force to replace it (signatures made with the old key stop verifying against the new one)",
                p.display()
            )));
        }
    }
    Ok(())
}

/// Makes a key pair and writes both files: the secret key readable by its owner only.
fn write_key_pair(secret: &Path, public: &Path, password: Option<String>) -> Result<sig::NewKeyPair> {
    let pair = sig::generate(password)?;
    for p in [secret, public] {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            fsutil::ensure_dir(dir)?;
        }
    }
    write_private(secret, pair.secret.as_bytes())?;
    fsutil::write_atomic(public, pair.public.as_bytes())?;
    Ok(pair)
}

/// Like `fsutil::write_atomic`, but the file is created mode 0600 before any byte lands in it.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = fsutil::staging_path(path);
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).at("creating", &tmp)?;
    f.write_all(bytes).at("writing", &tmp)?;
    f.sync_all().at("syncing", &tmp)?;
    drop(f);
    std::fs::rename(&tmp, path).at("renaming into place", path)?;
    fsutil::sync_dir(path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")))
}

fn report_key_pair(ctx: &Ctx, secret: &Path, public: &Path, pair: &sig::NewKeyPair, encrypted: bool) {
    if ctx.json {
        print_json(&json::object(vec![
            ("key_id", json::string(pair.id.as_str())),
            ("secret_key", json::string(secret.display().to_string())),
            ("public_key", json::string(public.display().to_string())),
            ("encrypted", Value::Bool(encrypted)),
        ]));
        return;
    }
    let protection = if encrypted { "password-protected" } else { "NOT encrypted: keep it secret" };
    println!("key id:      {}", pair.id);
    println!("secret key:  {} ({protection})", secret.display());
    println!("public key:  {}", public.display());
    ui::status(&format!(
        "trust it: copy {} to ROOT/etc/alp/keys/; sign a repository: alp index DIR --sign {}",
        public.display(),
        secret.display()
    ));
}

/// The password for a new secret key: `$ALP_KEY_PASSWORD`, or asked twice on the terminal.
fn new_password() -> Result<String> {
    if let Some(p) = env_password()? {
        return Ok(p);
    }
    let first = prompt_password("Password for the new secret key: ")?;
    let again = prompt_password("Password again: ")?;
    if first != again {
        return Err(error::usage("the passwords do not match; nothing was written"));
    }
    Ok(first)
}

/// The password an encrypted secret key needs, if it needs one.
fn password_for(key: &sig::SecretKeyFile) -> Result<Option<String>> {
    if !key.encrypted {
        return Ok(None);
    }
    if let Some(p) = env_password()? {
        return Ok(Some(p));
    }
    prompt_password(&format!("Password for {}: ", key.path.display())).map(Some)
}

fn env_password() -> Result<Option<String>> {
    match std::env::var(PASSWORD_ENV) {
        Ok(p) if p.is_empty() => Err(error::usage(format!(
            "{PASSWORD_ENV} is empty; give a real password, or use --unencrypted for a CI key"
        ))),
        Ok(p) => Ok(Some(p)),
        Err(_) => Ok(None),
    }
}

/// Reads a password from the terminal with echo off. Never waits on a stdin that is not a
/// terminal (a pipe, /dev/null in CI): that is a clear error instead.
fn prompt_password(prompt: &str) -> Result<String> {
    use std::io::{BufRead, Write};
    use std::os::fd::AsRawFd;
    let no_tty = || {
        error::usage(format!(
            "a password is needed and stdin is not a terminal; set {PASSWORD_ENV} (or make the key with --unencrypted)"
        ))
    };
    if !std::io::stdin().is_terminal() {
        return Err(no_tty());
    }
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").map_err(|_| no_tty())?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for a valid, open descriptor.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    let saved = (unsafe { libc::tcgetattr(fd, &mut term) } == 0).then_some(term);
    if let Some(mut quiet) = saved {
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: fd is open for the life of `tty`; `quiet` is a valid termios.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let read = (&tty).write_all(prompt.as_bytes()).and_then(|()| std::io::BufReader::new(&tty).read_line(&mut line));
    if let Some(saved) = saved {
        // SAFETY: as above; restores the terminal as we found it.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    read.at("reading a password from", Path::new("/dev/tty"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(error::usage("an empty password protects nothing; use --unencrypted if that is what you want"));
    }
    Ok(password)
}

/// Signs `file` into `file.minisig` with a trusted comment minisign would write too.
fn sign_with(key: &sig::SecretKeyFile, password: Option<String>, file: &Path) -> Result<(PathBuf, String)> {
    let f = std::fs::File::open(file).at("opening", file)?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let comment = format!("timestamp:{}\tfile:{name}\thashed", timefmt::now());
    let (text, id) = sig::sign(key, password, std::io::BufReader::new(f), &comment)?;
    let sig_path = minisig_path(file);
    fsutil::write_atomic(&sig_path, text.as_bytes())?;
    Ok((sig_path, id))
}

pub fn minisig_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".minisig");
    PathBuf::from(s)
}

fn read_signature(path: &Path) -> Result<String> {
    match std::fs::read(path) {
        Ok(b) if b.len() as u64 > MAX_SIG_BYTES => {
            Err(error::integrity(format!("{} is too large to be a signature", path.display())))
        }
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(error::integrity(format!("{} not found; the file is not signed", path.display())))
        }
        Err(e) => Err(error::io_at("reading", path, e)),
    }
}

/// GET with a size cap; `None` when the server (or directory) has no such file.
fn fetch_capped(ctx: &Ctx, url: &str, cap: u64) -> Result<Option<Vec<u8>>> {
    http::get_small(url, &ctx.net()?, cap)
}

fn opt_string(s: Option<&str>) -> Value {
    s.map_or(Value::Null, json::string)
}
