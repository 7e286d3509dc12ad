//! Lock files (`alp lock … -o alp.lock`): the exact name, version, URL, size and sha256 of a
//! whole dependency closure, so a container start installs the same bytes every time
//! without reading any index.

use crate::error::{self, Result};
use crate::json::{self, Fields};
use crate::repo::Candidate;
use crate::repo::index::Package;
use miniserde::json::Value;
use std::path::Path;

const FORMAT: &str = "alp-lock-1";

/// Writes the candidates (already in install order) as a lock document.
pub fn to_json(cands: &[Candidate]) -> String {
    let items = cands
        .iter()
        .map(|c| {
            json::object(vec![
                ("name", json::string(&c.pkg.name)),
                ("version", json::string(&c.pkg.version)),
                ("url", json::string(c.url())),
                ("sha256", json::string(&c.pkg.sha256)),
                ("size", json::number(c.pkg.size)),
                ("installed_size", json::number(c.pkg.installed_size)),
                ("depends", json::strings(&c.pkg.depends)),
            ])
        })
        .collect();
    miniserde::json::to_string(&json::object(vec![("format", json::string(FORMAT)), ("packages", Value::Array(items))]))
}

/// Reads a lock file into candidates whose `file` is the pinned absolute URL.
pub fn read(path: &Path) -> Result<Vec<Candidate>> {
    let text = std::fs::read_to_string(path).map_err(|e| error::io_at("reading the lock file", path, e))?;
    let what = path.display().to_string();
    let v = json::parse(&text, &what)?;
    let f = Fields::of(&v, what.clone())?;
    if f.str("format")? != FORMAT {
        return Err(error::bad_input(format!("{what}: not an {FORMAT} lock file")));
    }
    let mut out = Vec::new();
    for (i, item) in f.array("packages")?.iter().enumerate() {
        let label = format!("{what} package {}", i + 1);
        let entry = Fields::of(item, label.clone())?;
        let url = entry.str("url")?;
        // Reuse the index entry checks: a lock entry is an index entry with a full URL.
        let mut obj = entry.obj.clone();
        obj.insert("file".into(), json::string(&url));
        let pkg = Package::from_json(&Value::Object(obj), &label, false)?;
        out.push(Candidate { pkg, repo: String::new(), mirrors: Vec::new() });
    }
    Ok(out)
}
