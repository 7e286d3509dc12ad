//! The old `.alp` package file: one JSON document holding the README metadata, the install
//! and remove scripts and the main file (base64), and an optional old certificate.
//!
//! Its `checksum` is the SHA-256 of Python's `json.dumps(pkg, indent=2, ensure_ascii=False)`
//! with the checksum blanked: not reproducible outside Python, so it is kept for display only.

use super::cert::OldCert;
use super::{base64, readme};
use crate::error::{self, IoContext, Result};
use crate::json::{self, Fields};
use crate::repo::index::Package;
use crate::version::{self, Req};
use miniserde::json::Value;
use std::io::Read;
use std::path::Path;

/// `.alp` files larger than this are refused before parsing (the old tool wrote small ones).
const MAX_BYTES: u64 = 64 << 20;
const FORMATS: &[&str] = &["1.0", "1.1", "1.2"];

/// A decoded `.alp` package.
#[derive(Debug)]
pub struct AlpFile {
    pub format_version: String,
    pub meta: Package,
    /// `alp.sh`.
    pub install_script: Vec<u8>,
    /// `alp_u.sh`.
    pub remove_script: Vec<u8>,
    pub readme: String,
    /// `(main_file_name, bytes)`.
    pub main_file: Option<(String, Vec<u8>)>,
    pub certificate: Option<OldCert>,
    pub compiled_at: String,
    pub checksum: String,
}

impl AlpFile {
    pub fn read(path: &Path) -> Result<AlpFile> {
        let what = path.display().to_string();
        let f = std::fs::File::open(path).at("opening", path)?;
        let mut text = String::new();
        f.take(MAX_BYTES + 1).read_to_string(&mut text).map_err(|e| {
            error::bad_input(format!("{what}: not a .alp package (not UTF-8 JSON: {})", error::plain_io(&e)))
        })?;
        if text.len() as u64 > MAX_BYTES {
            return Err(error::bad_input(format!("{what}: larger than {} MiB; not a .alp package", MAX_BYTES >> 20)));
        }
        AlpFile::parse(&text, &what)
    }

    pub fn parse(text: &str, what: &str) -> Result<AlpFile> {
        let v = json::parse(text, &format!("{what} (.alp package)"))?;
        let f = Fields::of(&v, what)?;
        let format_version = f.opt_str("format_version")?.unwrap_or_else(|| "1.0".to_string());
        if !FORMATS.contains(&format_version.as_str()) {
            return Err(error::bad_input(format!(
                "{what}: .alp format_version '{format_version}' is not one this alp reads ({})",
                FORMATS.join(", ")
            )));
        }
        let meta = metadata(f.get("metadata"), what)?;
        let files = Fields::of(f.get("files").unwrap_or(&Value::Null), format!("{what}: files"))?;
        let decode = |key: &str| -> Result<Vec<u8>> {
            let text = files.str(key)?;
            base64::decode(&text).ok_or_else(|| error::bad_input(format!("{what}: files.{key} is not base64")))
        };
        let main_file = match (files.opt_str("main_file")?, files.opt_str("main_file_name")?) {
            (Some(_), Some(name)) => {
                readme::check_file_name(&name)
                    .map_err(|why| error::bad_input(format!("{what}: main_file_name '{name}' {why}")))?;
                Some((name, decode("main_file")?))
            }
            _ => None,
        };
        let certificate = match f.get("certificate") {
            None | Some(Value::Null) => None,
            Some(c) => Some(OldCert::from_json(c, what)?),
        };
        Ok(AlpFile {
            format_version,
            meta,
            install_script: decode("install_script")?,
            remove_script: decode("uninstall_script")?,
            readme: files.str_or_empty("readme")?,
            main_file,
            certificate,
            compiled_at: f.str_or_empty("compiled_at")?,
            checksum: f.str_or_empty("checksum")?,
        })
    }
}

/// The `metadata` object: the README fields, with `dependencies` as a list.
fn metadata(v: Option<&Value>, what: &str) -> Result<Package> {
    let f = Fields::of(v.unwrap_or(&Value::Null), format!("{what}: metadata"))?;
    let name = f.str("name")?;
    if !version::valid_name(&name) {
        return Err(error::bad_input(format!("{what}: '{name}' is not a valid package name")));
    }
    let version = f.str("version")?;
    if !version::valid_version(&version) {
        return Err(error::bad_input(format!("{what}: '{version}' is not a valid version")));
    }
    let depends = f.strings("dependencies")?;
    for d in &depends {
        Req::parse(d).map_err(|e| error::bad_input(format!("{what}: dependency '{d}': {}", e.msg)))?;
    }
    Ok(Package {
        name,
        version,
        description: f.str_or_empty("description")?,
        author: f.str_or_empty("author")?,
        license: f.str_or_empty("license")?,
        category: f.str_or_empty("category")?,
        depends,
        ..Package::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy");
        std::fs::read_to_string(dir.join(name)).expect("fixture")
    }

    #[test]
    fn reads_both_fixture_packages() {
        let plain = AlpFile::parse(&fixture("greeter-1.2.0.alp"), "plain").unwrap();
        assert_eq!(plain.meta.id(), "greeter 1.2.0");
        assert_eq!(plain.meta.depends, ["coreutils-lite"]);
        assert!(plain.install_script.starts_with(b"#!/bin/sh\n"));
        assert!(plain.remove_script.ends_with(b"echo \"greeter removed\"\n"));
        assert_eq!(plain.main_file.as_ref().map(|m| m.0.as_str()), Some("greeter.sh"));
        assert!(plain.certificate.is_none());
        let certified = AlpFile::parse(&fixture("greeter-1.2.0-certified.alp"), "certified").unwrap();
        let cert = certified.certificate.unwrap();
        assert_eq!((cert.kind.as_str(), cert.author.as_str()), ("custom", "Ayse Yilmaz"));
        assert!(cert.self_consistent());
    }

    #[test]
    fn refuses_unknown_formats_and_unsafe_names() {
        let bad = r#"{"format_version":"2.0","metadata":{"name":"a","version":"1"},"files":{}}"#;
        assert!(AlpFile::parse(bad, "x").unwrap_err().msg.contains("format_version '2.0'"));
        let unsafe_main = r#"{"format_version":"1.2","metadata":{"name":"a","version":"1"},
            "files":{"install_script":"","uninstall_script":"","main_file":"","main_file_name":"../x"}}"#;
        assert!(AlpFile::parse(unsafe_main, "x").unwrap_err().msg.contains("main_file_name"));
        let bad_name =
            r#"{"metadata":{"name":"../a","version":"1"},"files":{"install_script":"","uninstall_script":""}}"#;
        assert!(AlpFile::parse(bad_name, "x").is_err());
    }
}
