//! SBOMs of what alp installed (issue 17): CycloneDX 1.5 JSON and SPDX 2.3 JSON, made from the
//! installed database, so that scanners (Syft, Trivy, Grype) see packages they would otherwise
//! miss: they read apk's, dpkg's and rpm's databases, never `installed.json`.
//!
//! Every transaction rewrites `var/lib/alp/sbom.cdx.json` in its commit (staged and renamed by
//! the journal, with the database), so after any crash and recovery the two agree. A document
//! is a function of the root's state: its serial number (CycloneDX) or namespace (SPDX) is
//! derived from the packages, so the same state gives the same document except its timestamp,
//! and `doctor` tells a stale file by its serial alone.

use crate::db::state::{Db, Installed};
use crate::json;
use crate::verify::digest::sha256_hex;
use miniserde::json::Value;

/// The two document formats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    CycloneDx,
    Spdx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "cyclonedx" | "cdx" => Some(Format::CycloneDx),
            "spdx" => Some(Format::Spdx),
            _ => None,
        }
    }
}

/// The document for `db`, written at `now` (Unix seconds).
pub fn document(db: &Db, format: Format, now: u64) -> String {
    let v = match format {
        Format::CycloneDx => cyclonedx(db, now),
        Format::Spdx => spdx(db, now),
    };
    miniserde::json::to_string(&v)
}

/// A UUID (version 5 layout) derived from what is installed: names, versions, archive
/// digests, origins and dependencies. The same state gives the same UUID.
pub fn state_uuid(db: &Db) -> String {
    let mut text = String::new();
    for p in db.packages.values() {
        text.push_str(&format!(
            "{}\0{}\0{}\0{}\0{}\n",
            p.meta.name,
            p.meta.version,
            p.meta.sha256,
            p.origin,
            p.meta.depends.join(",")
        ));
    }
    let h = sha256_hex(text.as_bytes());
    let b = h.as_bytes();
    let hex = |r: std::ops::Range<usize>| String::from_utf8_lossy(&b[r]).into_owned();
    // Version nibble 5, variant bits 10xx: a well-formed RFC 4122 UUID, as the schemas want.
    let variant = ["8", "9", "a", "b"][(u8::from_str_radix(&hex(16..17), 16).unwrap_or(0) & 3) as usize];
    format!("{}-{}-5{}-{variant}{}-{}", hex(0..8), hex(8..12), hex(13..16), hex(17..20), hex(20..32))
}

/// The serial number a CycloneDX document of `db` carries.
pub fn serial_number(db: &Db) -> String {
    format!("urn:uuid:{}", state_uuid(db))
}

/// The package URL: the one the index or `package.json` gave, else `pkg:generic/NAME@VERSION`
/// with the URL the archive came from (never its credentials).
pub fn purl(p: &Installed) -> String {
    if !p.meta.purl.is_empty() {
        return p.meta.purl.clone();
    }
    let base = format!("pkg:generic/{}@{}", encode(&p.meta.name), encode(&p.meta.version));
    match download_url(p) {
        Some(url) => format!("{base}?download_url={}", encode(&url)),
        None => base,
    }
}

/// Where the archive was downloaded from, without credentials; `None` for local files.
pub fn download_url(p: &Installed) -> Option<String> {
    if p.origin.starts_with("local:") || p.origin.is_empty() || p.meta.file.is_empty() {
        return None;
    }
    let origin = p.origin.strip_prefix("legacy+").unwrap_or(&p.origin);
    let url = crate::fetch::http::join_url(origin, &p.meta.file);
    match url.starts_with('/') {
        // A repository that is a directory here: its archives are file:// URLs.
        true => Some(format!("file://{url}")),
        false => url.contains("://").then(|| without_credentials(&url)),
    }
}

/// `scheme://user:pass@host/…` → `scheme://host/…`.
fn without_credentials(url: &str) -> String {
    crate::fetch::auth::split_userinfo(url).0
}

/// Percent-encodes what a purl component may not hold as is.
fn encode(s: &str) -> String {
    crate::fetch::oci::percent_encode(s, b"-._~/:")
}

/// Packages installed from old `.alp` files or `legacy+` sources: the old tool's scripts, not
/// alp, put their files in place.
pub fn is_legacy(p: &Installed) -> bool {
    p.origin.starts_with("legacy+") || p.origin.starts_with("local:") && p.origin.ends_with(".alp")
}

/// The installed packages each one's dependencies resolved to, by name (what the resolver
/// chose: an installed package of that name, or one that provides it).
fn dependencies<'a>(db: &'a Db, p: &Installed) -> Vec<&'a Installed> {
    let mut out: Vec<&Installed> = Vec::new();
    for r in p.meta.depends_reqs() {
        let by_name = db.packages.get(&r.name);
        let provider = || {
            db.packages
                .values()
                .find(|q| q.meta.provides.iter().any(|v| v.split(['=', '<', '>']).next() == Some(&r.name)))
        };
        if let Some(q) = by_name.or_else(provider)
            && !out.iter().any(|o| o.meta.name == q.meta.name)
        {
            out.push(q);
        }
    }
    out
}

/// SPDX license identifiers common enough to name as such; anything else is carried as text.
const KNOWN_LICENSES: &[&str] = &[
    "0BSD",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "EPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "ISC",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "MIT",
    "MPL-2.0",
    "PSF-2.0",
    "Unlicense",
    "Zlib",
];

fn known_license(license: &str) -> bool {
    KNOWN_LICENSES.contains(&license)
}

fn bom_ref(p: &Installed) -> String {
    format!("alp:{}@{}", p.meta.name, p.meta.version)
}

fn tool_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn cyclonedx(db: &Db, now: u64) -> Value {
    let components = db.packages.values().map(cdx_component).collect();
    let dependencies = db
        .packages
        .values()
        .map(|p| {
            let on = dependencies(db, p).into_iter().map(|q| json::string(bom_ref(q))).collect();
            json::object(vec![("ref", json::string(bom_ref(p))), ("dependsOn", json::array(on))])
        })
        .collect();
    let tool = json::object(vec![
        ("type", json::string("application")),
        ("name", json::string("alp")),
        ("version", json::string(tool_version())),
    ]);
    json::object(vec![
        ("bomFormat", json::string("CycloneDX")),
        ("specVersion", json::string("1.5")),
        ("serialNumber", json::string(serial_number(db))),
        ("version", json::number(1)),
        (
            "metadata",
            json::object(vec![
                ("timestamp", json::string(crate::timefmt::format(now))),
                ("tools", json::object(vec![("components", json::array(vec![tool]))])),
            ]),
        ),
        ("components", json::array(components)),
        ("dependencies", json::array(dependencies)),
    ])
}

fn cdx_component(p: &Installed) -> Value {
    let m = &p.meta;
    let mut pairs = vec![
        ("type", json::string("application")),
        ("bom-ref", json::string(bom_ref(p))),
        ("name", json::string(&m.name)),
        ("version", json::string(&m.version)),
    ];
    if !m.description.is_empty() {
        pairs.push(("description", json::string(&m.description)));
    }
    if !m.author.is_empty() {
        pairs.push(("author", json::string(&m.author)));
        pairs.push(("supplier", json::object(vec![("name", json::string(&m.author))])));
    }
    if !m.license.is_empty() {
        let key = if known_license(&m.license) { "id" } else { "name" };
        pairs.push((
            "licenses",
            json::array(vec![json::object(vec![("license", json::object(vec![(key, json::string(&m.license))]))])]),
        ));
    }
    pairs.push(("purl", json::string(purl(p))));
    if !m.cpe.is_empty() {
        pairs.push(("cpe", json::string(&m.cpe)));
    }
    if !m.sha256.is_empty() {
        pairs.push((
            "hashes",
            json::array(vec![json::object(vec![
                ("alg", json::string("SHA-256")),
                ("content", json::string(&m.sha256)),
            ])]),
        ));
    }
    if let Some(url) = download_url(p) {
        pairs.push((
            "externalReferences",
            json::array(vec![json::object(vec![("type", json::string("distribution")), ("url", json::string(url))])]),
        ));
    }
    let property =
        |name: &str, value: String| json::object(vec![("name", json::string(name)), ("value", json::string(value))]);
    let mut properties = vec![property("alp:repository", without_credentials(&p.origin))];
    if is_legacy(p) {
        properties.push(property("alp:legacy", "true".into()));
    }
    pairs.push(("properties", json::array(properties)));
    json::object(pairs)
}

fn spdx_id(p: &Installed) -> String {
    let clean: String =
        p.meta.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    format!("SPDXRef-Package-{clean}")
}

fn spdx(db: &Db, now: u64) -> Value {
    let mut extracted = Vec::new();
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    for p in db.packages.values() {
        let m = &p.meta;
        let declared = if m.license.is_empty() {
            "NOASSERTION".to_string()
        } else if known_license(&m.license) {
            m.license.clone()
        } else {
            // Not an SPDX identifier: carried as extracted licensing text under a reference.
            let id = format!("LicenseRef-{}", sha256_hex(m.license.as_bytes())[..12].to_ascii_uppercase());
            if !extracted.iter().any(|(i, _): &(String, String)| *i == id) {
                extracted.push((id.clone(), m.license.clone()));
            }
            id
        };
        let mut refs = vec![json::object(vec![
            ("referenceCategory", json::string("PACKAGE-MANAGER")),
            ("referenceType", json::string("purl")),
            ("referenceLocator", json::string(purl(p))),
        ])];
        if !m.cpe.is_empty() {
            refs.push(json::object(vec![
                ("referenceCategory", json::string("SECURITY")),
                ("referenceType", json::string("cpe23Type")),
                ("referenceLocator", json::string(&m.cpe)),
            ]));
        }
        let mut pairs = vec![
            ("SPDXID", json::string(spdx_id(p))),
            ("name", json::string(&m.name)),
            ("versionInfo", json::string(&m.version)),
            // SPDX takes network locations only; a file:// archive is NOASSERTION.
            (
                "downloadLocation",
                json::string(
                    download_url(p).filter(|u| !u.starts_with("file:")).unwrap_or_else(|| "NOASSERTION".into()),
                ),
            ),
            ("filesAnalyzed", Value::Bool(false)),
            ("licenseConcluded", json::string("NOASSERTION")),
            ("licenseDeclared", json::string(declared)),
            ("copyrightText", json::string("NOASSERTION")),
            (
                "supplier",
                json::string(if m.author.is_empty() {
                    "NOASSERTION".into()
                } else {
                    format!("Organization: {}", m.author)
                }),
            ),
            ("externalRefs", json::array(refs)),
        ];
        if !m.description.is_empty() {
            pairs.push(("description", json::string(&m.description)));
        }
        if !m.sha256.is_empty() {
            pairs.push((
                "checksums",
                json::array(vec![json::object(vec![
                    ("algorithm", json::string("SHA256")),
                    ("checksumValue", json::string(&m.sha256)),
                ])]),
            ));
        }
        let mut comment = format!("installed by alp from {}", without_credentials(&p.origin));
        if is_legacy(p) {
            comment.push_str("; a legacy package (the old tool's format)");
        }
        pairs.push(("comment", json::string(comment)));
        packages.push(json::object(pairs));
        let rel = |a: String, kind: &str, b: String| {
            json::object(vec![
                ("spdxElementId", json::string(a)),
                ("relationshipType", json::string(kind)),
                ("relatedSpdxElement", json::string(b)),
            ])
        };
        relationships.push(rel("SPDXRef-DOCUMENT".into(), "DESCRIBES", spdx_id(p)));
        for q in dependencies(db, p) {
            relationships.push(rel(spdx_id(p), "DEPENDS_ON", spdx_id(q)));
        }
    }
    let mut doc = vec![
        ("spdxVersion", json::string("SPDX-2.3")),
        ("dataLicense", json::string("CC0-1.0")),
        ("SPDXID", json::string("SPDXRef-DOCUMENT")),
        ("name", json::string("packages installed by alp")),
        ("documentNamespace", json::string(format!("https://alp-pm.github.io/spdx/{}", state_uuid(db)))),
        (
            "creationInfo",
            json::object(vec![
                ("created", json::string(crate::timefmt::format(now))),
                ("creators", json::array(vec![json::string(format!("Tool: alp-{}", tool_version()))])),
            ]),
        ),
        ("packages", json::array(packages)),
        ("relationships", json::array(relationships)),
    ];
    if !extracted.is_empty() {
        let infos = extracted
            .into_iter()
            .map(|(id, text)| {
                json::object(vec![
                    ("licenseId", json::string(id)),
                    ("name", json::string(&text)),
                    ("extractedText", json::string(&text)),
                ])
            })
            .collect();
        doc.push(("hasExtractedLicensingInfos", json::array(infos)));
    }
    json::object(doc)
}

/// The serial number of the SBOM kept at `path`, if it is one of ours.
pub fn kept_serial(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let v = json::parse(&text, "sbom").ok()?;
    json::Fields::of(&v, "sbom").ok()?.opt_str("serialNumber").ok()?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::index::Package;

    fn installed(name: &str, deps: &[&str], origin: &str) -> Installed {
        Installed {
            meta: Package {
                name: name.into(),
                version: "1.0".into(),
                depends: deps.iter().map(|d| d.to_string()).collect(),
                file: format!("{name}-1.0.tar.zst"),
                sha256: "ab".repeat(32),
                license: "MIT".into(),
                ..Package::default()
            },
            origin: origin.into(),
            installed_at: 1,
            files: Vec::new(),
            dirs: Vec::new(),
            hooks: Vec::new(),
            size: 0,
            hook_failed: None,
        }
    }

    #[test]
    fn the_same_state_gives_the_same_serial_and_purls_carry_no_credentials() {
        let mut db = Db::default();
        db.packages.insert("a".into(), installed("a", &["b>=1"], "https://user:secret@repo.example/main"));
        db.packages.insert("b".into(), installed("b", &[], "local:/x/b.alp"));
        let (one, two) = (document(&db, Format::CycloneDx, 1), document(&db, Format::CycloneDx, 99));
        assert_eq!(one.replace("1970-01-01T00:00:01Z", "T"), two.replace("1970-01-01T00:01:39Z", "T"));
        assert!(!one.contains("secret"), "{one}");
        assert!(one.contains("pkg:generic/a@1.0?download_url=https://repo.example/main/a-1.0.tar.zst"), "{one}");
        assert!(one.contains(r#"{"dependsOn":["alp:b@1.0"],"ref":"alp:a@1.0"}"#), "{one}");
        assert!(one.contains("alp:legacy"), "{one}");
        let uuid = state_uuid(&db);
        assert_eq!((uuid.len(), &uuid[14..15]), (36, "5"));
        db.packages.remove("b");
        assert_ne!(state_uuid(&db), uuid);
    }
}
