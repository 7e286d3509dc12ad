//! Settings: where things live under the root (SPEC section 2) and `etc/alp/config.json`
//! with `ALP_<KEY>` environment overrides (section 8).

use crate::error::{self, IoContext, Result};
use miniserde::json::{self, Number, Value};
use std::path::{Path, PathBuf};

/// Every path alp touches, derived from the install root and the cache override.
#[derive(Debug, Clone)]
pub struct Paths {
    pub root: PathBuf,
    pub cache: PathBuf,
}

impl Paths {
    pub fn new(root: PathBuf, cache: Option<PathBuf>) -> Paths {
        let cache = cache.unwrap_or_else(|| root.join("var/cache/alp"));
        Paths { root, cache }
    }
    pub fn etc(&self) -> PathBuf {
        self.root.join("etc/alp")
    }
    pub fn repositories(&self) -> PathBuf {
        self.root.join("etc/alp/repositories")
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("etc/alp/config.json")
    }
    pub fn keys(&self) -> PathBuf {
        self.root.join("etc/alp/keys")
    }
    pub fn world(&self) -> PathBuf {
        self.root.join("etc/alp/world")
    }
    pub fn state(&self) -> PathBuf {
        self.root.join("var/lib/alp")
    }
    pub fn db(&self) -> PathBuf {
        self.root.join("var/lib/alp/installed.json")
    }
    pub fn indexes(&self) -> PathBuf {
        self.root.join("var/lib/alp/indexes")
    }
    pub fn journal(&self) -> PathBuf {
        self.root.join("var/lib/alp/journal")
    }
    pub fn lock(&self) -> PathBuf {
        self.root.join("var/lib/alp/lock")
    }
    /// Present only while a transaction stages (`db::staging`).
    pub fn staging_record(&self) -> PathBuf {
        self.root.join("var/lib/alp/staging")
    }
    /// Kept hook scripts and legacy remove scripts, per package.
    pub fn scripts(&self, package: &str) -> PathBuf {
        self.root.join("var/lib/alp/scripts").join(package)
    }
    /// The CycloneDX SBOM of what is installed, rewritten by every transaction.
    pub fn sbom(&self) -> PathBuf {
        self.root.join("var/lib/alp/sbom.cdx.json")
    }
    pub fn log(&self) -> PathBuf {
        self.root.join("var/log/alp/alp.log")
    }
}

/// One setting's type, for `config set` checks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Text,
}

/// Every key `config.json` may hold: name, type, default (as JSON text), meaning.
pub const KEYS: &[(&str, Type, &str, &str)] = &[
    ("auto_update", Type::Bool, "true", "refresh indexes older than update_interval before resolving"),
    ("update_interval", Type::Int, "3600", "seconds an index stays fresh"),
    ("cache_size", Type::Int, "1000", "download cache cap in MB"),
    ("verify_packages", Type::Bool, "true", "require signed indexes (false = allow untrusted)"),
    ("parallel_install", Type::Bool, "true", "download packages in parallel"),
    ("check_dependencies", Type::Bool, "true", "resolve and install dependencies"),
    ("keep_cache", Type::Bool, "true", "keep downloaded archives in the cache"),
    ("parallel_downloads", Type::Int, "4", "downloads at once"),
    ("timeout", Type::Int, "30", "network connect/read timeout in seconds"),
    ("retries", Type::Int, "3", "retries on connection errors and HTTP 5xx"),
    ("hook_timeout", Type::Int, "300", "seconds a hook may run"),
    ("log_size", Type::Int, "1024", "rotate alp.log past this many KB"),
    (
        "release_url",
        Type::Text,
        "\"https://github.com/alp-pm/alp/releases/latest/download/release.json\"",
        "self-update manifest URL",
    ),
    (
        "legacy_raw_base",
        Type::Text,
        "\"https://raw.githubusercontent.com\"",
        "raw-file base for legacy+https://github.com/... sources",
    ),
    ("sbom", Type::Bool, "true", "keep var/lib/alp/sbom.cdx.json, an SBOM of what is installed, current"),
];

/// The effective settings. Read once per command.
#[derive(Debug, Clone)]
pub struct Config {
    pub auto_update: bool,
    pub update_interval: u64,
    pub cache_size: u64,
    pub verify_packages: bool,
    pub parallel_install: bool,
    pub check_dependencies: bool,
    pub keep_cache: bool,
    pub parallel_downloads: u64,
    pub timeout: u64,
    pub retries: u64,
    pub hook_timeout: u64,
    pub log_size: u64,
    pub release_url: String,
    pub legacy_raw_base: String,
    pub sbom: bool,
}

impl Config {
    /// Defaults, then `config.json`, then `ALP_<KEY>` variables.
    pub fn load(paths: &Paths) -> Result<Config> {
        let file = read_file(&paths.config())?;
        let mut values = Vec::new();
        for (key, ty, default, _) in KEYS {
            let env_name = format!("ALP_{}", key.to_ascii_uppercase());
            let v = match std::env::var(&env_name) {
                Ok(text) => {
                    parse_value(key, *ty, &text).map_err(|e| e.context(format!("environment variable {env_name}")))?
                }
                Err(_) => match lookup(&file, key) {
                    Some(v) => check_type(key, *ty, v.clone()).map_err(|e| e.context(paths.config().display()))?,
                    None => json::from_str(default).expect("built-in default parses"),
                },
            };
            values.push(v);
        }
        let b = |i: usize| matches!(values[i], Value::Bool(true));
        let n = |i: usize| match &values[i] {
            Value::Number(Number::U64(n)) => *n,
            _ => 0,
        };
        let s = |i: usize| match &values[i] {
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        Ok(Config {
            auto_update: b(0),
            update_interval: n(1),
            cache_size: n(2),
            verify_packages: b(3),
            parallel_install: b(4),
            check_dependencies: b(5),
            keep_cache: b(6),
            parallel_downloads: n(7).clamp(1, 32),
            timeout: n(8).max(1),
            retries: n(9).min(10),
            hook_timeout: n(10).max(1),
            log_size: n(11).max(16),
            release_url: s(12),
            legacy_raw_base: s(13),
            sbom: b(14),
        })
    }
}

/// The raw `config.json` object (empty when the file does not exist).
pub fn read_file(path: &Path) -> Result<Vec<(String, Value)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(error::io_at("reading", path, e)),
    };
    match json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map.into_iter().collect()),
        _ => Err(error::usage(format!("{} is not a JSON object; fix or delete it", path.display()))),
    }
}

fn lookup<'a>(file: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    file.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

pub fn key_type(key: &str) -> Result<Type> {
    KEYS.iter().find(|k| k.0 == key).map(|k| k.1).ok_or_else(|| {
        let known: Vec<&str> = KEYS.iter().map(|k| k.0).collect();
        error::usage(format!("unknown config key '{key}' (known keys: {})", known.join(", ")))
    })
}

/// Parses a value typed on a command line or in the environment.
pub fn parse_value(key: &str, ty: Type, text: &str) -> Result<Value> {
    let t = text.trim();
    match ty {
        Type::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err(error::usage(format!("{key} takes true or false, not '{text}'"))),
        },
        Type::Int => t
            .parse::<u64>()
            .map(|n| Value::Number(Number::U64(n)))
            .map_err(|_| error::usage(format!("{key} takes a whole number, not '{text}'"))),
        Type::Text => Ok(Value::String(t.to_string())),
    }
}

fn check_type(key: &str, ty: Type, v: Value) -> Result<Value> {
    match (ty, &v) {
        (Type::Bool, Value::Bool(_)) | (Type::Int, Value::Number(Number::U64(_))) | (Type::Text, Value::String(_)) => {
            Ok(v)
        }
        _ => Err(error::usage(format!("config key {key} has the wrong type"))),
    }
}

/// Writes one key into `config.json`, keeping the others (used by `config set`, `migrate`).
pub fn set(paths: &Paths, key: &str, text: &str) -> Result<()> {
    let ty = key_type(key)?;
    let value = parse_value(key, ty, text)?;
    let mut file = read_file(&paths.config())?;
    match file.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => file.push((key.to_string(), value)),
    }
    let map: json::Object = file.into_iter().collect();
    let text = json::to_string(&Value::Object(map));
    std::fs::create_dir_all(paths.etc()).at("creating", &paths.etc())?;
    crate::fsutil::write_atomic(&paths.config(), text.as_bytes())
}

/// The effective value of one key as text (for `config get`).
pub fn get(cfg: &Config, key: &str) -> Result<String> {
    key_type(key)?;
    Ok(match key {
        "auto_update" => cfg.auto_update.to_string(),
        "update_interval" => cfg.update_interval.to_string(),
        "cache_size" => cfg.cache_size.to_string(),
        "verify_packages" => cfg.verify_packages.to_string(),
        "parallel_install" => cfg.parallel_install.to_string(),
        "check_dependencies" => cfg.check_dependencies.to_string(),
        "keep_cache" => cfg.keep_cache.to_string(),
        "parallel_downloads" => cfg.parallel_downloads.to_string(),
        "timeout" => cfg.timeout.to_string(),
        "retries" => cfg.retries.to_string(),
        "hook_timeout" => cfg.hook_timeout.to_string(),
        "log_size" => cfg.log_size.to_string(),
        "release_url" => cfg.release_url.clone(),
        "legacy_raw_base" => cfg.legacy_raw_base.clone(),
        "sbom" => cfg.sbom.to_string(),
        _ => unreachable!("key_type accepted it"),
    })
}
