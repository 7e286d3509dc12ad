//! The installed database, `var/lib/alp/installed.json`: per package its metadata, files
//! (path, sha256, mode), directories, install time and origin, after a summary of every
//! package's version and sha256 (what `alp init`'s fast path reads). Written only atomically.

use crate::config::Paths;
use crate::error::{self, Result};
use crate::fsutil;
use crate::json::{self, Fields};
use crate::repo::index::Package;
use miniserde::json::Value;
use std::collections::BTreeMap;

const FORMAT: &str = "alp-db-1";
/// The file's length is written as a fixed-width decimal string, so writing it does not
/// change it.
const LENGTH_DIGITS: usize = 12;

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
    /// The hook that failed after the files were committed ("install"), until `alp fix` or
    /// `install --reinstall` runs it again successfully.
    pub hook_failed: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Db {
    pub packages: BTreeMap<String, Installed>,
}

impl Db {
    /// Reads the database. A change left unfinished by a killed alp (a journal, or a staging
    /// record) is finished or cleaned up first when the root's lock is free, so no command
    /// shows a half-committed root; when it cannot be (another alp holds the lock, or the
    /// root is read-only), that is an error that says what to do.
    pub fn load(paths: &Paths) -> Result<Db> {
        if paths.journal().exists()
            || paths.staging_record().exists()
            || !crate::db::staging::own_leftovers(paths).is_empty()
        {
            crate::db::lock::settle(paths)?;
        }
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
        if let Some(length) = f.get("length")
            && !matches!(length, Value::String(l) if l.parse::<usize>().ok() == Some(text.len()))
        {
            return Err(error::bad_input("it is not as long as when it was written"));
        }
        let db = Db { packages };
        // The summary repeats the packages for the fast path; it must say the same.
        if let Some(summary) = f.get("summary") {
            let Value::Object(map) = summary else {
                return Err(error::bad_input("'summary' is not an object"));
            };
            let agrees = map.len() == db.packages.len()
                && map.iter().all(|(name, v)| {
                    let (Some(p), Ok(s)) = (db.packages.get(name), Fields::of(v, "summary")) else { return false };
                    s.str("version").is_ok_and(|x| x == p.meta.version)
                        && s.str("sha256").is_ok_and(|x| x == p.meta.sha256)
                });
            if !agrees {
                return Err(error::bad_input("its summary disagrees with its package list"));
            }
        }
        Ok(db)
    }

    /// Writes the document field by field: a database with tens of thousands of files
    /// costs its text and no more.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("{\"format\":");
        json::quote_into(&mut out, FORMAT);
        // Then the file's own length (filled in below) and each package's version and
        // sha256: all that `alp init`'s fast path needs, so it reads the start of the file
        // and not the file lists, and still notices a file cut short (cmd/init.rs, skim).
        out.push_str(",\"length\":\"");
        let length_at = out.len();
        out.push_str(&"0".repeat(LENGTH_DIGITS));
        out.push_str("\",\"summary\":");
        self.write_map(&mut out, |p, out| {
            out.push_str("{\"version\":");
            json::quote_into(out, &p.meta.version);
            out.push_str(",\"sha256\":");
            json::quote_into(out, &p.meta.sha256);
            out.push('}');
        });
        out.push_str(",\"packages\":");
        self.write_map(&mut out, |p, out| p.write_json(out));
        out.push('}');
        let length = format!("{:0width$}", out.len(), width = LENGTH_DIGITS);
        out.replace_range(length_at..length_at + LENGTH_DIGITS, &length);
        out
    }

    /// `{"<name>":<value>,…}` over every package, `value` writing each one's value.
    fn write_map(&self, out: &mut String, value: impl Fn(&Installed, &mut String)) {
        out.push('{');
        for (i, (name, p)) in self.packages.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::quote_into(out, name);
            out.push(':');
            value(p, out);
        }
        out.push('}');
    }

    /// Writes the database atomically (temp file, fsync, rename, fsync the directory).
    pub fn save(&self, paths: &Paths) -> Result<()> {
        fsutil::ensure_dir(&paths.state())?;
        fsutil::write_atomic(&paths.db(), self.to_json().as_bytes())
    }

    /// Which package owns each file path.
    pub fn owners(&self) -> std::collections::HashMap<&str, &str> {
        self.packages
            .values()
            .flat_map(|p| p.files.iter().map(move |f| (f.path.as_str(), p.meta.name.as_str())))
            .collect()
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
            // Databases before "unpacked_size" wrote it as a second "size" key.
            size: f.u64("unpacked_size")?.or(f.u64("size")?).unwrap_or(0),
            hook_failed: f.opt_str("hook_failed")?,
        })
    }

    fn write_json(&self, out: &mut String) {
        // The metadata is small: reuse the index entry's form, then add the install record.
        let meta = miniserde::json::to_string(&self.meta.meta_json());
        out.push_str(meta.strip_suffix('}').unwrap_or(&meta));
        out.push_str(",\"origin\":");
        json::quote_into(out, &self.origin);
        out.push_str(&format!(",\"installed_at\":{},\"unpacked_size\":{},\"files\":[", self.installed_at, self.size));
        for (i, f) in self.files.iter().enumerate() {
            out.push_str(if i > 0 { ",{\"path\":" } else { "{\"path\":" });
            json::quote_into(out, &f.path);
            out.push_str(",\"sha256\":");
            json::quote_into(out, &f.sha256);
            out.push_str(&format!(",\"mode\":{}", f.mode));
            if let Some(l) = &f.link {
                out.push_str(",\"link\":");
                json::quote_into(out, l);
            }
            out.push('}');
        }
        out.push_str("],\"dirs\":");
        write_strings(out, &self.dirs);
        out.push_str(",\"hooks\":");
        write_strings(out, &self.hooks);
        if let Some(h) = &self.hook_failed {
            out.push_str(",\"hook_failed\":");
            json::quote_into(out, h);
        }
        out.push('}');
    }
}

fn write_strings(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::quote_into(out, s);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let mut db = Db::default();
        let meta =
            Package { name: "a-b".into(), version: "1.0".into(), depends: vec!["c>=1".into()], ..Package::default() };
        db.packages.insert(
            "a-b".into(),
            Installed {
                meta,
                origin: "http://x".into(),
                installed_at: 7,
                files: vec![
                    FileRec { path: "usr/bin/a\nb".into(), sha256: "ab".into(), mode: 0o755, link: None },
                    FileRec { path: "usr/lib/l".into(), sha256: String::new(), mode: 0o777, link: Some("x".into()) },
                ],
                dirs: vec!["usr/bin".into()],
                hooks: vec!["remove".into()],
                size: 9,
                hook_failed: Some("install".into()),
            },
        );
        let back = Db::parse(&db.to_json()).unwrap();
        let p = &back.packages["a-b"];
        assert_eq!(p.files, db.packages["a-b"].files);
        assert_eq!(
            (p.installed_at, p.size, p.dirs.clone(), p.hooks.clone()),
            (7, 9, vec!["usr/bin".to_string()], vec!["remove".to_string()])
        );
        assert_eq!(p.meta.depends, ["c>=1"]);
        assert_eq!(p.hook_failed.as_deref(), Some("install"));
        // The archive's size and the unpacked size are two fields, not one key written twice.
        let mut with_archive = db.clone();
        with_archive.packages.get_mut("a-b").unwrap().meta.size = 220;
        let back = Db::parse(&with_archive.to_json()).unwrap();
        assert_eq!((back.packages["a-b"].meta.size, back.packages["a-b"].size), (220, 9));
        // A summary that disagrees with the packages is damage, not a second truth.
        let text = db.to_json();
        let bad = text.replacen("\"version\":\"1.0\"", "\"version\":\"9.9\"", 1);
        assert!(bad != text && Db::parse(&bad).is_err());
        assert!(Db::parse(&format!("{text} ")).is_err(), "the length is checked");
        let without =
            text.replacen(&text[text.find(",\"length\"").unwrap()..text.find(",\"packages\"").unwrap()], "", 1);
        assert!(Db::parse(&without).is_ok(), "databases from before the summary still load");
    }
}
