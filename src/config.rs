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
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Type {
    Bool,
    Int,
    Text,
}

impl Type {
    /// What a value of this type looks like, for messages ("config key timeout must be a whole number").
    pub fn expected(self) -> &'static str {
        match self {
            Type::Bool => "true or false",
            Type::Int => "a whole number",
            Type::Text => "a string",
        }
    }
}

/// Where a setting's effective value came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Source {
    #[default]
    Default,
    File,
    Env,
}

/// A Rust type a setting can have: how it maps to `Type` and to JSON values.
trait Setting: Sized {
    const TYPE: Type;
    fn from_value(v: &Value) -> Option<Self>;
    fn text(&self) -> String;
}

impl Setting for bool {
    const TYPE: Type = Type::Bool;
    fn from_value(v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn text(&self) -> String {
        self.to_string()
    }
}

impl Setting for u64 {
    const TYPE: Type = Type::Int;
    fn from_value(v: &Value) -> Option<u64> {
        match v {
            Value::Number(Number::U64(n)) => Some(*n),
            _ => None,
        }
    }
    fn text(&self) -> String {
        self.to_string()
    }
}

impl Setting for String {
    const TYPE: Type = Type::Text;
    fn from_value(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn text(&self) -> String {
        self.clone()
    }
}

/// The one table of settings. Each line gives the `Config` field, its type, its default,
/// optionally the range a number is held to, and its meaning; `KEYS` (for `config` and
/// doctor), the environment names, loading and `config get` all derive from it.
macro_rules! settings {
    ($($key:ident: $ty:ty = $default:literal $(in $lo:literal ..= $hi:expr)?, $meaning:literal;)*) => {
        /// The effective settings. Read once per command.
        #[derive(Debug, Clone, Default)]
        pub struct Config {
            $(#[doc = $meaning] pub $key: $ty,)*
            /// Where each key's value came from (keys at their default are absent).
            pub sources: Vec<(&'static str, Source)>,
        }

        /// Every key `config.json` may hold: name, type, default (as JSON text), meaning.
        pub const KEYS: &[(&str, Type, &str, &str)] =
            &[$((stringify!($key), <$ty as Setting>::TYPE, stringify!($default), $meaning),)*];

        impl Config {
            /// Sets one key from a JSON value of the right type; false when the type is wrong.
            fn assign(&mut self, key: &str, v: &Value) -> bool {
                match key {
                    $(stringify!($key) => match <$ty as Setting>::from_value(v) {
                        #[allow(unused_mut)]
                        Some(mut x) => {
                            $(x = x.clamp($lo, $hi);)?
                            self.$key = x;
                            true
                        }
                        None => false,
                    },)*
                    _ => false,
                }
            }

            /// One key's effective value as text; None for an unknown key.
            pub fn text(&self, key: &str) -> Option<String> {
                match key {
                    $(stringify!($key) => Some(Setting::text(&self.$key)),)*
                    _ => None,
                }
            }
        }
    };
}

settings! {
    auto_update: bool = true, "refresh indexes older than update_interval before resolving";
    update_interval: u64 = 3600, "seconds an index stays fresh";
    cache_size: u64 = 1000, "download cache cap in MB";
    verify_packages: bool = true, "require signed indexes (false = allow untrusted)";
    parallel_install: bool = true, "download packages in parallel";
    check_dependencies: bool = true, "resolve and install dependencies";
    keep_cache: bool = true, "keep downloaded archives in the cache";
    parallel_downloads: u64 = 4 in 1..=32, "downloads at once";
    timeout: u64 = 30 in 1..=u64::MAX, "network connect/read timeout in seconds";
    retries: u64 = 3 in 0..=10, "retries on connection errors and HTTP 5xx";
    hook_timeout: u64 = 300 in 1..=u64::MAX, "seconds a hook may run";
    log_size: u64 = 1024 in 16..=u64::MAX, "rotate alp.log past this many KB";
    release_url: String = "https://github.com/alp-pm/alp/releases/latest/download/release.json", "self-update manifest URL";
    legacy_raw_base: String = "https://raw.githubusercontent.com", "raw-file base for legacy+https://github.com/... sources";
    sbom: bool = true, "keep var/lib/alp/sbom.cdx.json, an SBOM of what is installed, current";
}

/// The environment variable that overrides a key: `ALP_<KEY>`.
pub fn env_name(key: &str) -> String {
    format!("ALP_{}", key.to_ascii_uppercase())
}

impl Config {
    /// Defaults, then `config.json`, then `ALP_<KEY>` variables. A key `config.json` holds
    /// that alp does not know is an error: a typo would otherwise be silently ignored.
    pub fn load(paths: &Paths) -> Result<Config> {
        let file = read_file(&paths.config())?;
        for (key, _) in &file {
            key_type(key).map_err(|e| e.context(paths.config().display()))?;
        }
        let mut cfg = Config::default();
        for (key, ty, default, _) in KEYS {
            let env = env_name(key);
            let (v, source) = match std::env::var(&env) {
                Ok(text) => (
                    parse_value(key, *ty, &text).map_err(|e| e.context(format!("environment variable {env}")))?,
                    Source::Env,
                ),
                Err(_) => match lookup(&file, key) {
                    Some(v) => (v.clone(), Source::File),
                    None => (json::from_str(default).unwrap_or(Value::Null), Source::Default),
                },
            };
            if !cfg.assign(key, &v) {
                return Err(error::usage(format!(
                    "{}: config key {key} must be {}, not {}",
                    paths.config().display(),
                    ty.expected(),
                    json::to_string(&v)
                )));
            }
            if source != Source::Default {
                cfg.sources.push((key, source));
            }
        }
        Ok(cfg)
    }

    pub fn source(&self, key: &str) -> Source {
        self.sources.iter().find(|(k, _)| *k == key).map_or(Source::Default, |(_, s)| *s)
    }

    /// A key's value and where it was set, for messages: "ALP_VERIFY_PACKAGES=false in the
    /// environment" or "verify_packages: false in ROOT/etc/alp/config.json".
    pub fn origin(&self, key: &str, paths: &Paths) -> String {
        let value = self.text(key).unwrap_or_default();
        match self.source(key) {
            Source::Env => format!("{}={value} in the environment", env_name(key)),
            Source::File => format!("{key}: {value} in {}", paths.config().display()),
            Source::Default => format!("{key}: {value} (the default)"),
        }
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
        Ok(_) => Err(error::usage(format!("{} is not a JSON object; fix or delete it", path.display()))),
        Err(_) => {
            let at = crate::json::syntax_error(&text)
                .map(|(line, col, what)| format!(" at line {line}, column {col}: {what}"))
                .unwrap_or_default();
            Err(error::usage(format!("{} is not valid JSON{at}; fix or delete it", path.display())))
        }
    }
}

fn lookup<'a>(file: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    file.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

pub fn key_type(key: &str) -> Result<Type> {
    KEYS.iter().find(|k| k.0 == key).map(|k| k.1).ok_or_else(|| {
        let known: Vec<&str> = KEYS.iter().map(|k| k.0).collect();
        let hint = crate::suggest::did_you_mean(key, known.iter().copied());
        error::usage(format!("unknown config key '{key}'{hint} (known keys: {})", known.join(", ")))
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
    cfg.text(key).ok_or_else(|| error::usage(format!("unknown config key '{key}'")))
}
