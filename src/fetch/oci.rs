//! OCI registries as repositories (SPEC section 14): `oci://REGISTRY/NAME[:TAG]` (and
//! `oci+http://` for a plain-HTTP registry). The repository is one artifact manifest
//! (artifact type `application/vnd.alp.repository.v1`) whose layers are `index.json`,
//! `index.json.minisig` and every package archive, each named by its
//! `org.opencontainers.image.title` annotation; a package is the blob `sha256:<its sha256>`.
//!
//! Auth follows the registry's answer: a `401` with `WWW-Authenticate: Bearer realm=…,
//! service=…,scope=…` sends us to the token service (with the registry's credentials when
//! there are some, anonymous otherwise) and the token is reused for the rest of the run; a
//! `401` with `Basic` gets the credentials directly. Nothing here is trusted: the index is
//! verified against the root's keys like any other, and blob bytes against their digests.
//!
//! This module does not decide what to do with a failure: errors carry `error::Cause`.

use super::auth::{self, Creds};
use super::client::{Payload, Response};
use super::http::{self, Body, Call, Fetched, Net};
use crate::error::{self, Cause, Result};
use crate::json::{self, Fields};
use crate::verify::digest;
use miniserde::json::Value;
use std::path::Path;
use std::sync::Mutex;

pub const ARTIFACT_TYPE: &str = "application/vnd.alp.repository.v1";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
const LAYER_TYPE: &str = "application/octet-stream";
const TITLE: &str = "org.opencontainers.image.title";
/// Largest manifest read; an alp repository's has one small entry per package.
const MAX_MANIFEST: u64 = 4 << 20;
const MAX_SMALL_BLOB: u64 = 64 << 20;

/// One layer of the repository's manifest.
#[derive(Debug, Clone)]
pub struct Layer {
    pub title: String,
    pub digest: String,
    pub size: u64,
}

/// A repository in a registry, with the run's token and manifest.
pub struct Registry {
    /// `https://host:port` or `http://host:port`.
    base: String,
    /// `oci://host:port` or `oci+http://host:port`, for messages.
    scheme_host: String,
    pub name: String,
    pub tag: String,
    creds: Option<Creds>,
    /// The last bearer token and the scope it was asked for.
    token: Mutex<Option<(String, String)>>,
    manifest: Mutex<Option<Vec<Layer>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Registry {
    /// Parses `oci://REGISTRY/NAME[:TAG]` (`oci+http://…`); `@sha256:…` in place of a tag is
    /// a blob reference (the second value), as lock files pin OCI packages.
    pub fn parse(url: &str) -> Result<(Registry, Option<String>)> {
        let (plain, rest) = if let Some(r) = url.strip_prefix("oci+http://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("oci://") {
            (false, r)
        } else {
            return Err(error::usage(format!("not an oci:// URL: {}", auth::redact(url))));
        };
        let bad =
            || error::usage(format!("bad OCI repository {}: expected oci://REGISTRY/NAME[:TAG]", auth::redact(url)));
        let scheme = if plain { "http" } else { "https" };
        let (clean, creds) = auth::split_userinfo(&format!("{scheme}://{rest}"));
        let rest = clean.split_once("://").map(|(_, r)| r).unwrap_or("");
        let (host, path) = rest.split_once('/').ok_or_else(bad)?;
        let (path, blob) = match path.split_once('@') {
            Some((p, d)) if d.starts_with("sha256:") => (p, Some(d.to_string())),
            Some(_) => return Err(bad()),
            None => (path, None),
        };
        let last = path.rsplit('/').next().unwrap_or("");
        let (name, tag) = match last.split_once(':') {
            Some((_, t)) => (&path[..path.len() - t.len() - 1], t),
            None => (path, "latest"),
        };
        let name_ok = !name.is_empty()
            && name.split('/').all(|c| {
                !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            });
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if host.is_empty() || !name_ok || !tag_ok {
            return Err(bad());
        }
        let base = format!("{scheme}://{host}");
        let parsed = super::client::Url::parse(&base).map_err(|_| bad())?;
        let creds = creds.or_else(|| auth::keychain().lookup(&parsed.host, parsed.port, true));
        let scheme_host = format!("{}://{host}", if plain { "oci+http" } else { "oci" });
        let reg = Registry {
            base,
            scheme_host,
            name: name.to_string(),
            tag: tag.to_string(),
            creds,
            token: Mutex::new(None),
            manifest: Mutex::new(None),
        };
        Ok((reg, blob))
    }

    /// `oci://host/name:tag`, as messages and records show it (never credentials).
    pub fn shown(&self) -> String {
        format!("{}/{}:{}", self.scheme_host, self.name, self.tag)
    }

    /// Where a blob is, as a lock file pins it: `oci://host/name@sha256:…`.
    pub fn blob_ref(&self, sha256: &str) -> String {
        format!("{}/{}@sha256:{sha256}", self.scheme_host, self.name)
    }

    /// The layers of the repository's manifest (fetched once a run).
    pub fn layers(&self, net: &Net) -> Result<Vec<Layer>> {
        let mut kept = self.manifest.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = kept.as_ref() {
            return Ok(l.clone());
        }
        let path = format!("/v2/{}/manifests/{}", self.name, self.tag);
        let accept = [("Accept", MANIFEST_TYPE)];
        let resp = self.send("GET", &path, &accept, Payload::Empty, None, net)?;
        let what = self.shown();
        let resp = self.expect(resp, &[200], &what)?;
        let bytes = http::read_small(resp.body, &format!("the manifest of {what}"), MAX_MANIFEST)?;
        let layers = parse_manifest(&bytes, &what)?;
        *kept = Some(layers.clone());
        Ok(layers)
    }

    /// A layer by title (`index.json`, `index.json.minisig`); `None` if the manifest has none.
    pub fn layer(&self, title: &str, net: &Net) -> Result<Option<Layer>> {
        Ok(self.layers(net)?.into_iter().find(|l| l.title == title))
    }

    /// A small blob read whole and checked against its digest (index, signature).
    pub fn small_blob(&self, layer: &Layer, net: &Net) -> Result<Vec<u8>> {
        let Fetched::Body(body) = self.blob(&layer.digest, Some(layer.size), net)? else {
            return Err(error::network(format!("{}: unexpected 304", self.shown())));
        };
        let what = format!("{} blob {}", self.shown(), layer.digest);
        let bytes = http::read_small(body.reader, &what, MAX_SMALL_BLOB.min(layer.size))?;
        let got = format!("sha256:{}", digest::sha256_hex(&bytes));
        if got != layer.digest {
            return Err(error::integrity(format!(
                "{what} ({}): its bytes do not match its digest (they hash to {got}); the registry's copy is damaged or was altered",
                layer.title
            )));
        }
        Ok(bytes)
    }

    /// GET a blob (`sha256:…`), following redirects to object storage (without our
    /// credentials).
    pub fn blob(&self, digest: &str, expect_len: Option<u64>, net: &Net) -> Result<Fetched> {
        let path = format!("/v2/{}/blobs/{digest}", self.name);
        let resp = self.send("GET", &path, &[], Payload::Empty, expect_len, net)?;
        let resp = self.expect(resp, &[200], &format!("{} blob {digest}", self.shown()))?;
        let len = resp.body.declared;
        Ok(Fetched::Body(Body { reader: Box::new(resp.body), etag: None, len }))
    }

    /// Whether the registry has a blob (a HEAD).
    pub fn has_blob(&self, digest: &str, net: &Net) -> Result<bool> {
        let path = format!("/v2/{}/blobs/{digest}", self.name);
        let resp = self.send("HEAD", &path, &[], Payload::Empty, None, net)?;
        match resp.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => self.expect(resp, &[200], &format!("{} blob {digest}", self.shown())).map(|_| true),
        }
    }

    /// Uploads a blob monolithically: POST for an upload session, then PUT with `?digest=`.
    pub fn push_blob(&self, digest: &str, payload: Payload, net: &Net) -> Result<()> {
        let what = format!("pushing blob {digest} to {}", self.shown());
        let start = format!("/v2/{}/blobs/uploads/", self.name);
        let resp = self.send("POST", &start, &[], Payload::Empty, None, net)?;
        let resp = self.expect(resp, &[202], &what)?;
        let Some(loc) = resp.header("location").map(str::to_string) else {
            return Err(error::network(format!("{what}: the registry gave no upload Location")));
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let target = format!("{loc}{sep}digest={}", digest.replace(':', "%3A"));
        let len = match payload {
            Payload::File(_, n) => Some(n),
            _ => None,
        };
        let ct = [("Content-Type", LAYER_TYPE)];
        let resp = self.send("PUT", &target, &ct, payload, len, net)?;
        self.expect(resp, &[201], &what).map(|_| ())
    }

    /// PUTs the manifest under the tag; returns its digest.
    pub fn push_manifest(&self, bytes: &[u8], net: &Net) -> Result<String> {
        let path = format!("/v2/{}/manifests/{}", self.name, self.tag);
        let ct = [("Content-Type", MANIFEST_TYPE)];
        let resp = self.send("PUT", &path, &ct, Payload::Bytes(bytes), None, net)?;
        self.expect(resp, &[201], &format!("pushing the manifest of {}", self.shown()))?;
        Ok(format!("sha256:{}", digest::sha256_hex(bytes)))
    }

    /// One request to the registry, with the token or credentials it asks for: a 401 is
    /// answered once (token service or basic credentials), then the request is made again.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        payload: Payload,
        expect_len: Option<u64>,
        net: &Net,
    ) -> Result<Response> {
        if net.offline {
            return Err(error::network(format!("{}: not fetched because of --offline", self.shown()))
                .because(Cause::Unreachable));
        }
        let url = if path.contains("://") { path.to_string() } else { format!("{}{path}", self.base) };
        let mut answered = false;
        loop {
            let header = self.authorization();
            let call = Call { method, url: &url, headers, payload, expect_len, auth: header.as_deref() };
            let resp = http::exchange(&call, net).map_err(|e| self.name_it(e))?;
            if resp.status != 401 || answered {
                return Ok(resp);
            }
            let challenge = resp.header("www-authenticate").unwrap_or("").to_string();
            self.answer(&challenge, net)?;
            answered = true;
        }
    }

    fn name_it(&self, e: error::Error) -> error::Error {
        e.context(format!("registry {}", self.shown()))
    }

    /// The `Authorization` for the next request: the token, else basic credentials.
    fn authorization(&self) -> Option<String> {
        if let Some((_, t)) = self.token.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Some(format!("Bearer {t}"));
        }
        let c = self.creds.as_ref()?;
        matches!(c.secret, auth::Secret::Basic { .. } | auth::Secret::Bearer(_)).then(|| c.header())
    }

    /// Acts on a 401's challenge: gets a token from the realm it names.
    fn answer(&self, challenge: &str, net: &Net) -> Result<()> {
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            // Basic (or unknown): the credentials we have were sent already, or there are none.
            return Err(self.refused(401));
        }
        let p = challenge_params(params);
        let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let Some(realm) = get("realm") else {
            return Err(error::network(format!("{}: a Bearer challenge without a realm", self.shown())));
        };
        let scope = get("scope").unwrap_or("").to_string();
        let mut query = Vec::new();
        if let Some(s) = get("service") {
            query.push(format!("service={}", escape_query(s)));
        }
        if !scope.is_empty() {
            query.push(format!("scope={}", escape_query(&scope)));
        }
        let sep = if realm.contains('?') { '&' } else { '?' };
        let url = if query.is_empty() { realm.to_string() } else { format!("{realm}{sep}{}", query.join("&")) };
        // The token service gets the registry's credentials (that is its job); a bearer
        // token for the registry itself is the answer already.
        let basic = self.creds.as_ref().filter(|c| matches!(c.secret, auth::Secret::Basic { .. })).map(Creds::header);
        let call = Call {
            method: "GET",
            url: &url,
            headers: &[],
            payload: Payload::Empty,
            expect_len: None,
            auth: basic.as_deref(),
        };
        let resp = http::exchange(&call, net).map_err(|e| e.context(format!("token service of {}", self.shown())))?;
        if resp.status != 200 {
            let who = match &self.creds {
                Some(c) => format!("the credentials from {}", c.from),
                None => "an anonymous request".to_string(),
            };
            return Err(error::network(format!(
                "{}: the token service {realm} refused {who} (HTTP {} {})",
                self.shown(),
                resp.status,
                resp.reason
            ))
            .because(Cause::Unauthorized));
        }
        let bytes = http::read_small(resp.body, &format!("token from {realm}"), 1 << 20)?;
        let token = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|t| json::parse(t, "token").ok())
            .and_then(|v| {
                let f = Fields::of(&v, "token").ok()?;
                f.opt_str("token").ok().flatten().or_else(|| f.opt_str("access_token").ok().flatten())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| error::network(format!("{}: the token service {realm} sent no token", self.shown())))?;
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some((scope, token));
        Ok(())
    }

    fn refused(&self, status: u16) -> error::Error {
        http::refused(&self.shown(), status, self.creds.as_ref())
    }

    /// The response when its status is one of `ok`, else the error it means.
    fn expect(&self, resp: Response, ok: &[u16], what: &str) -> Result<Response> {
        if ok.contains(&resp.status) {
            return Ok(resp);
        }
        let status = resp.status;
        let detail = registry_error(resp);
        Err(match status {
            401 | 403 if self.token.lock().unwrap_or_else(|p| p.into_inner()).is_some() => error::network(format!(
                "{what}: the registry refused the token its token service gave (HTTP {status}); it does not grant this repository to {}{detail}",
                self.creds.as_ref().map_or("an anonymous pull".to_string(), |c| format!("the credentials from {}", c.from))
            ))
            .because(Cause::Unauthorized),
            401 | 403 => {
                let e = self.refused(status);
                error::Error::new(e.kind, format!("{what}: {}{detail}", e.msg)).because(Cause::Unauthorized)
            }
            404 => {
                error::network(format!("{what}: not found in the registry (HTTP 404){detail}")).because(Cause::NotFound)
            }
            _ => error::network(format!("{what}: the registry answered HTTP {status}{detail}")),
        })
    }
}

/// The first error code and message of a registry's JSON error body, as ` (CODE: message)`.
fn registry_error(resp: Response) -> String {
    let Ok(bytes) = http::read_small(resp.body, "error", 64 << 10) else { return String::new() };
    let text = String::from_utf8_lossy(&bytes);
    let parsed = json::parse(&text, "error").ok();
    let first = parsed.as_ref().and_then(|v| {
        let f = Fields::of(v, "error").ok()?;
        let e = f.array("errors").ok()?.first()?;
        let e = Fields::of(e, "error").ok()?;
        Some(format!(" ({}: {})", e.opt_str("code").ok()??, e.opt_str("message").ok()?.unwrap_or_default()))
    });
    first.unwrap_or_default()
}

/// `key="value",key2="value2"` of a `WWW-Authenticate` header.
fn challenge_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_ascii_lowercase();
        rest = &rest[eq + 1..];
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            value = r[..end].to_string();
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        out.push((key, value));
        rest = rest.trim_start_matches([',', ' ']);
    }
    out
}

fn escape_query(s: &str) -> String {
    percent_encode(s, b"-._~")
}

/// Percent-encodes every byte of `s` but ASCII letters, digits and those in `keep`.
pub fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The layers of an alp repository's manifest; a manifest of anything else is refused.
fn parse_manifest(bytes: &[u8], what: &str) -> Result<Vec<Layer>> {
    let bad = |why: &str| error::bad_input(format!("{what}: {why}"));
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the manifest is not UTF-8"))?;
    let v = json::parse(text, &format!("{what}: manifest"))?;
    let f = Fields::of(&v, format!("{what}: manifest"))?;
    let artifact = f.opt_str("artifactType")?;
    let config_type =
        f.get("config").and_then(|c| Fields::of(c, "config").ok()).and_then(|c| c.opt_str("mediaType").ok()?);
    if artifact.as_deref() != Some(ARTIFACT_TYPE) && config_type.as_deref() != Some(ARTIFACT_TYPE) {
        let is = artifact.or(config_type).unwrap_or_else(|| "an image".to_string());
        return Err(bad(&format!(
            "this manifest is not an alp repository (its type is {is}, not {ARTIFACT_TYPE}); push one with 'alp publish DIR oci://…'"
        )));
    }
    let mut layers = Vec::new();
    for l in f.array("layers")? {
        let lf = Fields::of(l, format!("{what}: layer"))?;
        let digest = lf.str("digest")?;
        if !digest.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(bad(&format!("layer digest {digest} is not sha256")));
        }
        let title = lf
            .get("annotations")
            .and_then(|a| Fields::of(a, "annotations").ok())
            .and_then(|a| a.opt_str(TITLE).ok()?);
        layers.push(Layer { title: title.unwrap_or_default(), digest, size: lf.u64("size")?.unwrap_or(0) });
    }
    Ok(layers)
}

/// The manifest `publish` pushes: the empty config, then one layer per file.
pub fn manifest_json(layers: &[Layer]) -> String {
    let empty = json::object(vec![
        ("mediaType", json::string(EMPTY_TYPE)),
        ("digest", json::string(format!("sha256:{}", digest::sha256_hex(b"{}")))),
        ("size", json::number(2)),
    ]);
    let items = layers
        .iter()
        .map(|l| {
            let mut ann = miniserde::json::Object::new();
            ann.insert(TITLE.to_string(), json::string(&l.title));
            json::object(vec![
                ("mediaType", json::string(LAYER_TYPE)),
                ("digest", json::string(&l.digest)),
                ("size", json::number(l.size)),
                ("annotations", Value::Object(ann)),
            ])
        })
        .collect();
    miniserde::json::to_string(&json::object(vec![
        ("schemaVersion", json::number(2)),
        ("mediaType", json::string(MANIFEST_TYPE)),
        ("artifactType", json::string(ARTIFACT_TYPE)),
        ("config", empty),
        ("layers", Value::Array(items)),
    ]))
}

/// Pushes the repository in `dir` (its `index.json`, signature and every package the index
/// names): each blob the registry lacks, then the manifest. Returns (pushed, skipped, digest).
pub fn publish(reg: &Registry, dir: &Path, files: &[String], net: &Net) -> Result<(usize, usize, String)> {
    let mut layers = Vec::new();
    let (mut pushed, mut skipped) = (0, 0);
    let empty = format!("sha256:{}", digest::sha256_hex(b"{}"));
    if !reg.has_blob(&empty, net)? {
        reg.push_blob(&empty, Payload::Bytes(b"{}"), net)?;
    }
    for name in files {
        let path = dir.join(name);
        let size = std::fs::metadata(&path).map_err(|e| error::io_at("reading", &path, e))?.len();
        let sha = digest::sha256_file(&path).map_err(|e| error::io_at("reading", &path, e))?;
        let d = format!("sha256:{sha}");
        if reg.has_blob(&d, net)? {
            skipped += 1;
        } else {
            reg.push_blob(&d, Payload::File(&path, size), net)?;
            pushed += 1;
        }
        layers.push(Layer { title: name.clone(), digest: d, size });
    }
    let digest = reg.push_manifest(manifest_json(&layers).as_bytes(), net)?;
    Ok((pushed, skipped, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repository_references() {
        let (r, blob) = Registry::parse("oci://reg.example:5000/team/alp-main:v2").unwrap();
        assert_eq!(
            (r.base.as_str(), r.name.as_str(), r.tag.as_str(), blob),
            ("https://reg.example:5000", "team/alp-main", "v2", None)
        );
        let (r, _) = Registry::parse("oci+http://127.0.0.1:5000/repo").unwrap();
        assert_eq!((r.base.as_str(), r.tag.as_str()), ("http://127.0.0.1:5000", "latest"));
        assert_eq!(r.shown(), "oci+http://127.0.0.1:5000/repo:latest");
        let (r, blob) = Registry::parse(&format!("oci://h/repo@sha256:{}", "a".repeat(64))).unwrap();
        assert_eq!((r.name.as_str(), blob.unwrap().len()), ("repo", 71));
        let (r, _) = Registry::parse("oci://u:secret@h/repo").unwrap();
        assert!(!r.shown().contains("secret") && r.creds.is_some());
        for bad in ["oci://h", "oci://h/", "oci://h/Upper", "oci://h/r:", "oci://h/r@md5:x"] {
            assert!(Registry::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_challenges() {
        let p = challenge_params(r#"realm="http://127.0.0.1:9/token",service="reg",scope="repository:a/b:pull,push""#);
        assert_eq!(p[0], ("realm".into(), "http://127.0.0.1:9/token".into()));
        assert_eq!(p[2], ("scope".into(), "repository:a/b:pull,push".into()));
    }

    #[test]
    fn only_alp_manifests_are_read() {
        let m = manifest_json(&[Layer {
            title: "index.json".into(),
            digest: format!("sha256:{}", "0".repeat(64)),
            size: 3,
        }]);
        let layers = parse_manifest(m.as_bytes(), "r").unwrap();
        assert_eq!(layers[0].title, "index.json");
        let image =
            r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[]}"#;
        let e = parse_manifest(image.as_bytes(), "r").unwrap_err();
        assert!(e.msg.contains("not an alp repository"), "{}", e.msg);
    }
}
