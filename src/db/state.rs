//! The installed database, `var/lib/alp/installed.json`: per package its metadata, files
//! (path, sha256, mode), directories, install time and origin. Written only atomically.

use crate::config::Paths;
use crate::error::{self, Result};
use crate::fsutil;
use crate::json::{self, Fields};
use crate::repo::index::Package;
use miniserde::json::Value;
use std::collections::BTreeMap;

const FORMAT: &str = "alp-db-1";

/// One installed file. `sha256` is empty for symlinks; `link` holds their target.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRec {
    pub path: String,
    pub sha256: String,
    pub mode: u32,
    pub link: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Installed {
    pub meta: Package,
    /// Repository URL, or "local:<file>" for archives installed from a path.
    pub origin: String,
    pub installed_at: u64,
    pub files: Vec<FileRec>,
    /// Directories the package's archive named, removed on uninstall when empty.
    pub dirs: Vec<String>,
    /// Hook scripts kept under `var/lib/alp/scripts/<name>/` (e.g. "remove").
    pub hooks: Vec<String>,
    /// Sum of file sizes as unpacked.
    pub size: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Db {
    pub packages: BTreeMap<String, Installed>,
}

impl Db {
    pub fn load(paths: &Paths) -> Result<Db> {
        let path = paths.db();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Db::default()),
            Err(e) => return Err(error::io_at("reading the database", &path, e)),
        };
        Db::parse(&text).map_err(|e| {
            error::Error::new(e.kind, format!("{} is damaged ({}); restore it from a backup", path.display(), e.msg))
        })
    }

    pub fn parse(text: &str) -> Result<Db> {
        let v = json::parse(text, "installed.json")?;
        let f = Fields::of(&v, "installed.json")?;
        if f.str("format")? != FORMAT {
            return Err(error::bad_input(format!("unknown database format (expected {FORMAT})")));
        }
        let mut packages = BTreeMap::new();
        if let Some(Value::Object(map)) = f.get("packages") {
            for (name, p) in map.iter() {
                let inst = Installed::from_json(p, name)?;
                packages.insert(name.clone(), inst);
            }
        }
        Ok(Db { packages })
    }

    pub fn to_json(&self) -> String {
        let packages: miniserde::json::Object = self.packages.iter().map(|(k, p)| (k.clone(), p.to_json())).collect();
        miniserde::json::to_string(&json::object(vec![("format", json::string(FORMAT)), ("packages", Value::Object(packages))]))
    }

    /// Writes the database atomically (temp file, fsync, rename, fsync the directory).
    pub fn save(&self, paths: &Paths) -> Result<()> {
        fsutil::ensure_dir(&paths.state())?;
        fsutil::write_atomic(&paths.db(), self.to_json().as_bytes())
    }

    /// Which package owns each file path.
    pub fn owners(&self) -> std::collections::HashMap<&str, &str> {
        self.packages.values().flat_map(|p| p.files.iter().map(move |f| (f.path.as_str(), p.meta.name.as_str()))).collect()
    }

    /// Installed packages that depend on `name` (by name, any version).
    pub fn dependants(&self, name: &str) -> Vec<&Installed> {
        self.packages.values().filter(|p| p.meta.depends_reqs().iter().any(|d| d.name == name)).collect()
    }
}

impl Installed {
    fn from_json(v: &Value, name: &str) -> Result<Installed> {
        let what = format!("package {name}");
        let meta = Package::from_json(v, &what, true)?;
        let f = Fields::of(v, what.clone())?;
        let mut files = Vec::new();
        if let Some(Value::Array(list)) = f.get("files") {
            for item in list {
                let ff = Fields::of(item, format!("{what} file"))?;
                files.push(FileRec {
                    path: ff.str("path")?,
                    sha256: ff.str_or_empty("sha256")?,
                    mode: ff.u64("mode")?.unwrap_or(0o644) as u32,
                    link: ff.opt_str("link")?,
                });
            }
        }
        Ok(Installed {
            meta,
            origin: f.str_or_empty("origin")?,
            installed_at: f.u64("installed_at")?.unwrap_or(0),
            files,
            dirs: f.strings("dirs")?,
            hooks: f.strings("hooks")?,
            size: f.u64("size")?.unwrap_or(0),
        })
    }

    fn to_json(&self) -> Value {
        let Value::Object(mut obj) = self.meta.to_json() else { unreachable!("Package::to_json builds an object") };
        let files = self
            .files
            .iter()
            .map(|f| {
                let mut pairs = vec![("path", json::string(&f.path)), ("sha256", json::string(&f.sha256)), ("mode", json::number(f.mode as u64))];
                if let Some(l) = &f.link {
                    pairs.push(("link", json::string(l)));
                }
                json::object(pairs)
            })
            .collect();
        obj.insert("origin".into(), json::string(&self.origin));
        obj.insert("installed_at".into(), json::number(self.installed_at));
        obj.insert("files".into(), Value::Array(files));
        obj.insert("dirs".into(), json::strings(&self.dirs));
        obj.insert("hooks".into(), json::strings(&self.hooks));
        obj.insert("size".into(), json::number(self.size));
        Value::Object(obj)
    }
}
