//! The repository index format (`alp-index-1`, SPEC section 3) and package metadata.

use crate::error::{self, Result};
use crate::json::{self, Fields};
use crate::version::{self, Req};
use miniserde::json::Value;

pub const FORMAT: &str = "alp-index-1";

/// One package as an index (or an archive's `.ALP/package.json`) describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub description: String,
    pub author: String,
    pub license: String,
    pub category: String,
    pub depends: Vec<String>,
    pub conflicts: Vec<String>,
    pub provides: Vec<String>,
    /// Archive location relative to the index URL, or absolute.
    pub file: String,
    pub sha256: String,
    pub size: u64,
    pub installed_size: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Index {
    pub name: String,
    pub serial: u64,
    pub generated: String,
    pub expires: Option<String>,
    pub packages: Vec<Package>,
}

/// Upper bound on packages in one index: a hostile index cannot make us allocate without end.
const MAX_PACKAGES: usize = 200_000;

impl Package {
    /// Reads a package object. `archive_meta` relaxes the file/sha256/size fields that
    /// `.ALP/package.json` does not carry.
    pub fn from_json(v: &Value, what: &str, archive_meta: bool) -> Result<Package> {
        let f = Fields::of(v, what)?;
        let name = f.str("name")?;
        if !version::valid_name(&name) {
            return Err(error::bad_input(format!("{what}: '{name}' is not a valid package name")));
        }
        let what = format!("{what} ({name})");
        let f = Fields { obj: f.obj, what: what.clone() };
        let version = f.str("version")?;
        if !version::valid_version(&version) {
            return Err(error::bad_input(format!("{what}: '{version}' is not a valid version")));
        }
        let p = Package {
            name,
            version,
            description: f.str_or_empty("description")?,
            author: f.str_or_empty("author")?,
            license: f.str_or_empty("license")?,
            category: f.str_or_empty("category")?,
            depends: f.strings("depends")?,
            conflicts: f.strings("conflicts")?,
            provides: f.strings("provides")?,
            file: if archive_meta { f.str_or_empty("file")? } else { f.str("file")? },
            sha256: if archive_meta { f.str_or_empty("sha256")? } else { f.str("sha256")?.to_ascii_lowercase() },
            size: if archive_meta {
                f.u64("size")?.unwrap_or(0)
            } else {
                f.u64("size")?.ok_or_else(|| error::bad_input(format!("{what}: field 'size' is missing")))?
            },
            installed_size: f.u64("installed_size")?.unwrap_or(0),
        };
        for r in p.depends.iter().chain(&p.conflicts) {
            Req::parse(r).map_err(|e| error::bad_input(format!("{what}: {}", e.msg)))?;
        }
        if !archive_meta && (p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(error::bad_input(format!("{what}: sha256 must be 64 hex digits")));
        }
        if !archive_meta && (p.file.is_empty() || p.file.contains("..") && !p.file.contains("://")) {
            return Err(error::bad_input(format!("{what}: bad file '{}'", p.file)));
        }
        Ok(p)
    }

    pub fn to_json(&self) -> Value {
        json::object(vec![
            ("name", json::string(&self.name)),
            ("version", json::string(&self.version)),
            ("description", json::string(&self.description)),
            ("author", json::string(&self.author)),
            ("license", json::string(&self.license)),
            ("category", json::string(&self.category)),
            ("depends", json::strings(&self.depends)),
            ("conflicts", json::strings(&self.conflicts)),
            ("provides", json::strings(&self.provides)),
            ("file", json::string(&self.file)),
            ("sha256", json::string(&self.sha256)),
            ("size", json::number(self.size)),
            ("installed_size", json::number(self.installed_size)),
        ])
    }

    pub fn depends_reqs(&self) -> Vec<Req> {
        // Validated when parsed; a request that no longer parses is dropped, not a panic.
        self.depends.iter().filter_map(|d| Req::parse(d).ok()).collect()
    }

    pub fn id(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

impl Index {
    pub fn parse(text: &str, what: &str) -> Result<Index> {
        let v = json::parse(text, what)?;
        let f = Fields::of(&v, what)?;
        let format = f.str("format")?;
        if format != FORMAT {
            return Err(error::bad_input(format!("{what}: unknown format '{format}' (expected {FORMAT})")));
        }
        let list = f.array("packages")?;
        if list.len() > MAX_PACKAGES {
            return Err(error::bad_input(format!(
                "{what}: {} packages is more than the limit of {MAX_PACKAGES}",
                list.len()
            )));
        }
        let packages = list
            .iter()
            .enumerate()
            .map(|(i, p)| Package::from_json(p, &format!("{what} package {}", i + 1), false))
            .collect::<Result<Vec<_>>>()?;
        Ok(Index {
            name: f.str_or_empty("name")?,
            serial: f.u64("serial")?.unwrap_or(0),
            generated: f.str_or_empty("generated")?,
            expires: f.opt_str("expires")?,
            packages,
        })
    }

    pub fn to_json(&self) -> String {
        let v = json::object(vec![
            ("format", json::string(FORMAT)),
            ("name", json::string(&self.name)),
            ("serial", json::number(self.serial)),
            ("generated", json::string(&self.generated)),
            ("expires", self.expires.as_ref().map_or(Value::Null, json::string)),
            ("packages", Value::Array(self.packages.iter().map(Package::to_json).collect())),
        ]);
        miniserde::json::to_string(&v)
    }
}
