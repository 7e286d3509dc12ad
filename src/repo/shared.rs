//! The shared copy of a repository's index in the download cache (SPEC section 13):
//! `indexes/<16 hex of sha256(url)>/` holds `index.json`, `index.json.minisig` and
//! `meta.json` (ETag, fetch time, and the sha256 of the other two). Many roots on one host
//! read it so that one of them asks the server; none of them trusts it: each verifies the
//! signature, expiry and serial against its own keys and its own last serial, as it would a
//! download (`repo::accept`).
//!
//! Files are written by the cache's writer (random temp name, fsync, rename), `meta.json`
//! last. A copy whose files do not hash to what `meta.json` says (a write torn between two
//! writers, or an edit) reads as absent.

use crate::error::Result;
use crate::fetch::cache::Cache;
use crate::json::{self, Fields};
use crate::verify::digest::sha256_hex;
use std::path::PathBuf;

/// One fetched index as the cache keeps it.
pub struct Copy {
    pub index: Vec<u8>,
    pub sig: Option<String>,
    pub etag: Option<String>,
    /// When the server last vouched for it (a 200, or a 304 to its ETag), Unix seconds.
    pub fetched: u64,
}

/// The shared copy of one repository's index.
pub struct Shared<'a> {
    cache: &'a Cache,
    dir: PathBuf,
}

impl<'a> Shared<'a> {
    pub fn new(cache: &'a Cache, url: &str) -> Shared<'a> {
        Shared { cache, dir: cache.index_dir(url) }
    }

    /// The name of this index's single-flight turn.
    pub fn flight_key(&self) -> String {
        format!("index-{}", self.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    }

    pub fn read(&self) -> Option<Copy> {
        let text = std::fs::read_to_string(self.dir.join("meta.json")).ok()?;
        let v = json::parse(&text, "meta.json").ok()?;
        let f = Fields::of(&v, "meta.json").ok()?;
        let index = std::fs::read(self.dir.join("index.json")).ok()?;
        if f.opt_str("index_sha256").ok()?? != sha256_hex(&index) {
            return None;
        }
        let sig = match f.opt_str("sig_sha256").ok()? {
            Some(want) => {
                let sig = std::fs::read_to_string(self.dir.join("index.json.minisig")).ok()?;
                (sha256_hex(sig.as_bytes()) == want).then_some(sig)
            }
            None => None,
        };
        Some(Copy { index, sig, etag: f.opt_str("etag").ok()?, fetched: f.u64("fetched").ok()?? })
    }

    pub fn write(&self, copy: &Copy) -> Result<()> {
        self.put("index.json", &copy.index)?;
        if let Some(sig) = &copy.sig {
            self.put("index.json.minisig", sig.as_bytes())?;
        }
        self.write_meta(copy)
    }

    /// Records that the server vouched for the copy again (a 304).
    pub fn touch(&self, copy: &mut Copy, now: u64) -> Result<()> {
        copy.fetched = now;
        self.write_meta(copy)
    }

    /// Forgets a copy that failed verification, so the next reader fetches afresh.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(self.dir.join("meta.json"));
    }

    fn write_meta(&self, copy: &Copy) -> Result<()> {
        let text = |s: &Option<String>| s.as_ref().map_or(miniserde::json::Value::Null, json::string);
        let v = json::object(vec![
            ("etag", text(&copy.etag)),
            ("fetched", json::number(copy.fetched)),
            ("index_sha256", json::string(sha256_hex(&copy.index))),
            ("sig_sha256", text(&copy.sig.as_ref().map(|s| sha256_hex(s.as_bytes())))),
        ]);
        self.put("meta.json", miniserde::json::to_string(&v).as_bytes())
    }

    fn put(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let mut w = self.cache.writer_to(self.dir.join(name))?;
        w.write_all(bytes)?;
        w.commit()
    }
}
