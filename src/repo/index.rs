//! The repository index format (`alp-index-1`, SPEC section 3) and package metadata.

use crate::error::{self, Result};
use crate::json::{self, Fields};
use crate::version::{self, Req};
use miniserde::json::Value;

pub const FORMAT: &str = "alp-index-1";

/// The fields `Package::from_json` reads (`build` warns about any other in package.json).
pub const PACKAGE_FIELDS: &[&str] = &[
    "name",
    "version",
    "description",
    "author",
    "license",
    "category",
    "depends",
    "conflicts",
    "provides",
    "file",
    "sha256",
    "size",
    "installed_size",
    "arch",
    "strip",
    "prefix",
    "files",
];

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
    /// `x86_64`, `aarch64` or `noarch`; empty when the entry does not say (any arch).
    pub arch: String,
    /// Placement of the archive's members (upstream assets served as they are).
    pub place: Placement,
    /// Package URL for SBOMs and scanners (`pkg:github/BurntSushi/ripgrep@14.1.1`); empty
    /// when the entry gives none (alp then writes a `pkg:generic/…` one).
    pub purl: String,
    /// CPE 2.3 name, for vulnerability databases that match by it.
    pub cpe: String,
    /// The archive ends with `.ALP/sha256`, every digest in it checked by `alp index`: the
    /// unpacker takes each file's digest from there (`unpack::digests`).
    pub file_digests: bool,
}

/// Where an archive's members go (SPEC section 3): `strip` leading components, put the
/// tree under `prefix`, or install only the `files` listed, each at its `dst`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    pub strip: u32,
    pub prefix: String,
    pub files: Vec<FileMap>,
}

/// One `files` entry: members matching `src` (a glob) go to `dst`, with `mode` if given.
#[derive(Debug, Clone, PartialEq)]
pub struct FileMap {
    pub src: String,
    pub dst: String,
    pub mode: Option<u32>,
}

/// The architectures a package may be built for.
pub const ARCHES: &[&str] = &["x86_64", "aarch64", "noarch"];

/// The architecture this binary runs on, as packages name it.
pub fn native_arch() -> &'static str {
    std::env::consts::ARCH
}

impl Placement {
    pub fn is_identity(&self) -> bool {
        self.strip == 0 && self.prefix.is_empty() && self.files.is_empty()
    }

    fn from_json(f: &Fields, what: &str) -> Result<Placement> {
        let strip = f.u64("strip")?.unwrap_or(0);
        if strip > 64 {
            return Err(error::bad_input(format!("{what}: strip {strip} is more than 64")));
        }
        let prefix = f.str_or_empty("prefix")?.trim_matches('/').to_string();
        if !prefix.is_empty() {
            check_dest(&prefix, what, "prefix")?;
        }
        let mut files = Vec::new();
        if let Some(v) = f.get("files") {
            let miniserde::json::Value::Array(items) = v else {
                return Err(error::bad_input(format!("{what}: 'files' must be a list")));
            };
            for item in items.iter() {
                let e = Fields::of(item, format!("{what} files"))?;
                let src = e.str("src")?;
                let dst = e.str("dst")?;
                check_dest(dst.trim_end_matches('/'), what, "dst")?;
                let mode = match e.opt_str("mode")? {
                    None => None,
                    Some(m) => Some(u32::from_str_radix(&m, 8).ok().filter(|m| *m <= 0o7777).ok_or_else(|| {
                        error::bad_input(format!("{what}: mode '{m}' of {src} is not an octal mode like \"0755\""))
                    })?),
                };
                files.push(FileMap { src, dst, mode });
            }
        }
        if !prefix.is_empty() && !files.is_empty() {
            return Err(error::bad_input(format!(
                "{what}: 'prefix' and 'files' cannot be combined; give each file's full 'dst'"
            )));
        }
        Ok(Placement { strip: strip as u32, prefix, files })
    }

    fn to_json(&self, pairs: &mut Vec<(&'static str, Value)>) {
        if self.strip > 0 {
            pairs.push(("strip", json::number(u64::from(self.strip))));
        }
        if !self.prefix.is_empty() {
            pairs.push(("prefix", json::string(&self.prefix)));
        }
        if !self.files.is_empty() {
            let files = self
                .files
                .iter()
                .map(|f| {
                    let mut p = vec![("src", json::string(&f.src)), ("dst", json::string(&f.dst))];
                    if let Some(m) = f.mode {
                        p.push(("mode", json::string(format!("{m:04o}"))));
                    }
                    json::object(p)
                })
                .collect();
            pairs.push(("files", json::array(files)));
        }
    }
}

/// A destination from an index: root-relative plain components only, checked as a member
/// name would be.
fn check_dest(path: &str, what: &str, field: &str) -> Result<()> {
    crate::unpack::path::member_path(std::path::Path::new(path), what)
        .and_then(|p| if p.is_empty() || path.starts_with('/') { Err(error::bad_input(String::new())) } else { Ok(()) })
        .map_err(|_| error::bad_input(format!("{what}: {field} '{path}' must be a relative path inside the root")))
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
            arch: f.str_or_empty("arch")?,
            // Placement is for index entries; in an archive's own metadata (or the database,
            // whose `files` are the installed ones) it means nothing.
            place: if archive_meta { Placement::default() } else { Placement::from_json(&f, &what)? },
            purl: f.str_or_empty("purl")?,
            cpe: f.str_or_empty("cpe")?,
            // What an index says of its archive; an archive's own metadata cannot vouch for it.
            file_digests: !archive_meta && f.bool("file_digests")?.unwrap_or(false),
        };
        if !p.purl.is_empty() && (!p.purl.starts_with("pkg:") || p.purl.contains(char::is_whitespace)) {
            return Err(error::bad_input(format!(
                "{what}: purl '{}' is not a package URL (pkg:TYPE/NAME@VERSION)",
                p.purl
            )));
        }
        if !p.cpe.is_empty() && !p.cpe.starts_with("cpe:2.3:") {
            return Err(error::bad_input(format!("{what}: cpe '{}' is not a CPE 2.3 name (cpe:2.3:…)", p.cpe)));
        }
        if !p.arch.is_empty() && !ARCHES.contains(&p.arch.as_str()) {
            return Err(error::bad_input(format!("{what}: unknown arch '{}' (known: {})", p.arch, ARCHES.join(", "))));
        }
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

    /// The entry as an index holds it.
    pub fn to_json(&self) -> Value {
        let mut pairs = self.meta_pairs();
        self.place.to_json(&mut pairs);
        if self.file_digests {
            pairs.push(("file_digests", Value::Bool(true)));
        }
        json::object(pairs)
    }

    /// The metadata alone, without placement (what the database keeps beside its own `files`).
    pub fn meta_json(&self) -> Value {
        json::object(self.meta_pairs())
    }

    fn meta_pairs(&self) -> Vec<(&'static str, Value)> {
        let mut pairs = vec![
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
        ];
        if !self.arch.is_empty() {
            pairs.push(("arch", json::string(&self.arch)));
        }
        for (key, value) in [("purl", &self.purl), ("cpe", &self.cpe)] {
            if !value.is_empty() {
                pairs.push((key, json::string(value)));
            }
        }
        pairs
    }

    /// Whether it installs on `arch` (an entry that names none, or `noarch`, fits any).
    pub fn fits(&self, arch: &str) -> bool {
        self.arch.is_empty() || self.arch == "noarch" || self.arch == arch
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
