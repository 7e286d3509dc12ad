//! Where a repository lives, parsed once from its line (SPEC section 14), and the one way to
//! get its files: `Source::get` for an index, its signature or a package, `get_any` over a
//! line's mirrors, `get_url` for a pinned location (a lock file's). A new transport is one
//! variant here and one module beside this one.

use super::http::{self, Fetched, Location, Net};
use super::oci::Registry;
use super::{auth, client};
use crate::error::{self, Cause, Result};
use std::sync::Arc;

/// What a repositories line puts before an old-style project's URL.
pub const LEGACY: &str = "legacy+";

/// One repository URL of a repositories line.
#[derive(Clone)]
pub enum Source {
    /// Static files (SPEC section 3): an `http(s)://` base (credentials may be in it), or a
    /// directory (`file://`, a path).
    Static(String),
    /// `legacy+URL`: an old-style project (the URL without `legacy+`).
    Legacy(String),
    /// `oci://REGISTRY/NAME[:TAG]`.
    Oci(Arc<Registry>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

/// A file of a repository.
#[derive(Clone, Copy)]
pub enum Item<'a> {
    Index,
    Signature,
    /// A package archive: its `file` in the index and its sha256.
    Package {
        file: &'a str,
        sha256: &'a str,
    },
}

impl Source {
    /// Parses one URL of a repositories line; an unknown scheme is refused here, once.
    pub fn parse(url: &str) -> Result<Source> {
        if let Some(inner) = url.strip_prefix(LEGACY) {
            return Ok(Source::Legacy(inner.to_string()));
        }
        if url.starts_with("oci://") || url.starts_with("oci+http://") {
            let (reg, blob) = Registry::parse(url)?;
            if blob.is_some() {
                return Err(error::usage(format!("{}: a repository is a tag, not a blob", auth::redact(url))));
            }
            return Ok(Source::Oci(Arc::new(reg)));
        }
        match Location::parse(url) {
            Location::Other(scheme) => Err(http::unsupported(&scheme, url)),
            Location::Http(u) => {
                let (clean, _) = auth::split_userinfo(&u);
                client::Url::parse(&clean).map_err(|e| error::usage(format!("bad repository URL: {e}")))?;
                Ok(Source::Static(u))
            }
            Location::Local(_) => Ok(Source::Static(url.to_string())),
        }
    }

    /// The URL as messages, logs, `--json` and the database show it: secrets as `***`.
    pub fn shown(&self) -> String {
        match self {
            Source::Static(u) => auth::redact(u),
            Source::Legacy(u) => format!("{LEGACY}{}", auth::redact(u)),
            Source::Oci(r) => r.shown(),
        }
    }

    /// Whether getting its files needs the network (and so a mirror or cache can cover).
    pub fn is_remote(&self) -> bool {
        match self {
            Source::Static(u) | Source::Legacy(u) => matches!(Location::parse(u), Location::Http(_)),
            Source::Oci(_) => true,
        }
    }

    /// Where `item` is, for records and lock files (no secrets).
    pub fn location(&self, item: Item) -> String {
        match (self, item) {
            (_, Item::Package { file, .. }) if file.contains("://") => auth::redact(file),
            (Source::Oci(r), Item::Package { sha256, .. }) => r.blob_ref(sha256),
            (Source::Oci(r), Item::Index) => format!("{} index.json", r.shown()),
            (Source::Oci(r), Item::Signature) => format!("{} index.json.minisig", r.shown()),
            (Source::Static(u) | Source::Legacy(u), item) => auth::redact(&http::join_url(u, item.name())),
        }
    }

    /// GETs `item`. `etag`: the one the last copy had (for an index), which makes the
    /// request conditional; `expect_len` stretches deadlines for big bodies.
    pub fn get(&self, item: Item, net: &Net, etag: Option<&str>, expect_len: Option<u64>) -> Result<Fetched> {
        match (self, item) {
            (_, Item::Package { file, .. }) if file.contains("://") => get_url(file, net, None, expect_len),
            (Source::Static(base) | Source::Legacy(base), item) => {
                http::get(&http::join_url(base, item.name()), net, etag, expect_len)
            }
            (Source::Oci(reg), Item::Package { sha256, .. }) => reg.blob(&format!("sha256:{sha256}"), expect_len, net),
            (Source::Oci(reg), item) => {
                let title = item.name();
                let Some(layer) = reg.layer(title, net)? else {
                    return Err(error::network(format!("{}: the repository has no {title}", reg.shown()))
                        .because(Cause::NotFound));
                };
                // The layer's digest is the index's ETag: an unchanged manifest entry is a 304.
                if matches!(item, Item::Index) && etag == Some(layer.digest.as_str()) {
                    return Ok(Fetched::NotModified);
                }
                let bytes = reg.small_blob(&layer, net)?;
                let etag = matches!(item, Item::Index).then(|| layer.digest.clone());
                let len = Some(bytes.len() as u64);
                Ok(Fetched::Body(http::Body { reader: Box::new(std::io::Cursor::new(bytes)), etag, len }))
            }
        }
    }
}

impl Item<'_> {
    /// Its name under a static repository's base (or its title in an OCI manifest).
    fn name(&self) -> &str {
        match self {
            Item::Index => "index.json",
            Item::Signature => "index.json.minisig",
            Item::Package { file, .. } => file,
        }
    }
}

/// GETs `item` from the first of `mirrors` that answers: the next is tried on a connection
/// error, a 5xx or a timeout (each after its own retries), with a warning. Returns what was
/// fetched and which mirror served it.
pub fn get_any(
    mirrors: &[Source],
    item: Item,
    net: &Net,
    etag: Option<&str>,
    expect_len: Option<u64>,
) -> Result<(Fetched, usize)> {
    let mut last = None;
    for (i, m) in mirrors.iter().enumerate() {
        match m.get(item, net, etag, expect_len) {
            Ok(f) => return Ok((f, i)),
            Err(e) if e.cause == Cause::Unreachable && i + 1 < mirrors.len() => {
                crate::ui::warn(&format!("{}; trying the next mirror, {}", e.msg, mirrors[i + 1].shown()));
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| error::usage("a repository line without a URL")))
}

/// GETs a pinned location: an `http(s)://` URL, a path, or an OCI blob
/// (`oci://REGISTRY/NAME@sha256:…`).
pub fn get_url(url: &str, net: &Net, etag: Option<&str>, expect_len: Option<u64>) -> Result<Fetched> {
    if url.starts_with("oci://") || url.starts_with("oci+http://") {
        let (reg, blob) = Registry::parse(url)?;
        let Some(digest) = blob else {
            return Err(error::usage(format!("{}: expected a blob reference (NAME@sha256:…)", reg.shown())));
        };
        return reg.blob(&digest, expect_len, net);
    }
    http::get(url, net, etag, expect_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_into_sources() {
        assert!(matches!(Source::parse("https://h/repo").unwrap(), Source::Static(_)));
        assert!(matches!(Source::parse("/srv/repo").unwrap(), Source::Static(_)));
        assert!(matches!(Source::parse("legacy+https://github.com/a/b").unwrap(), Source::Legacy(_)));
        assert!(matches!(Source::parse("oci://reg/alp").unwrap(), Source::Oci(_)));
        let e = Source::parse("ftp://h/repo").unwrap_err();
        assert_eq!(e.cause, Cause::Unsupported);
        assert!(e.msg.contains("unsupported repository scheme"), "{}", e.msg);
        let s = Source::parse("https://ci:tok3n@h/repo").unwrap();
        assert_eq!(s.shown(), "https://ci:***@h/repo");
        assert_eq!(format!("{s:?}"), "https://ci:***@h/repo");
        assert_eq!(s.location(Item::Package { file: "a-1.tar.zst", sha256: "x" }), "https://ci:***@h/repo/a-1.tar.zst");
    }
}
