//! The one way bytes come in from a URL: `http(s)://` through minreq (proxies, timeouts,
//! retries with backoff, redirects that never downgrade to plain HTTP) or a local file.

use crate::error::{self, Result};
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// Network settings for one command.
#[derive(Debug, Clone)]
pub struct Net {
    /// Seconds for connecting and for each stretch of waiting on the server.
    pub timeout: u64,
    pub retries: u64,
    pub offline: bool,
}

/// What a GET produced.
pub enum Fetched {
    /// The server said 304 to our `If-None-Match`.
    NotModified,
    Body(Body),
}

pub struct Body {
    pub reader: Box<dyn Read + Send>,
    pub etag: Option<String>,
    /// Content-Length (or file size) when known.
    pub len: Option<u64>,
}

const MAX_REDIRECTS: usize = 10;

/// A URL or a local path, as a repository line or a package `file` names it.
pub enum Location {
    Http(String),
    Local(PathBuf),
}

impl Location {
    pub fn parse(s: &str) -> Location {
        if s.starts_with("http://") || s.starts_with("https://") {
            Location::Http(s.to_string())
        } else if let Some(p) = s.strip_prefix("file://") {
            Location::Local(PathBuf::from(p))
        } else {
            Location::Local(PathBuf::from(s))
        }
    }
}

/// `base` joined with a relative `file` (or `file` itself when absolute).
pub fn join_url(base: &str, file: &str) -> String {
    if file.contains("://") || file.starts_with('/') && !base.contains("://") {
        return file.to_string();
    }
    if let Some(rest) = file.strip_prefix('/') {
        // Absolute path on the same server.
        if let Some(scheme_end) = base.find("://") {
            let host_end = base[scheme_end + 3..].find('/').map_or(base.len(), |i| scheme_end + 3 + i);
            return format!("{}/{rest}", &base[..host_end]);
        }
    }
    format!("{}/{}", base.trim_end_matches('/'), file)
}

/// GET `url`. `etag` makes it conditional; `expect_len` stretches the deadline for big bodies.
pub fn get(url: &str, net: &Net, etag: Option<&str>, expect_len: Option<u64>) -> Result<Fetched> {
    match Location::parse(url) {
        Location::Local(path) => {
            let f = File::open(&path).map_err(|e| {
                let kind =
                    if e.kind() == std::io::ErrorKind::NotFound { error::Kind::Network } else { error::Kind::Io };
                error::Error::new(kind, format!("cannot open {}: {}", path.display(), error::plain_io(&e)))
            })?;
            let len = f.metadata().ok().map(|m| m.len());
            Ok(Fetched::Body(Body { reader: Box::new(f), etag: None, len }))
        }
        Location::Http(url) => {
            if net.offline {
                return Err(error::network(format!("{url}: not fetched because of --offline")));
            }
            get_http(&url, net, etag, expect_len)
        }
    }
}

fn get_http(url: &str, net: &Net, etag: Option<&str>, expect_len: Option<u64>) -> Result<Fetched> {
    // minreq's timeout is one deadline for the whole exchange; give big bodies time at a
    // floor rate of 256 KiB/s on top of the configured timeout, so a stalled server still
    // fails after about `timeout` seconds while a slow but moving one finishes.
    let deadline = net.timeout + expect_len.unwrap_or(0) / (256 * 1024);
    let mut url = url.to_string();
    let mut redirects = 0;
    let mut attempt = 0u64;
    loop {
        let mut req = minreq::get(url.as_str())
            .with_timeout(deadline)
            .with_follow_redirects(false)
            // A server that never ends its status line or headers must not fill memory.
            .with_max_status_line_length(Some(8 * 1024))
            .with_max_headers_size(Some(64 * 1024))
            .with_header("User-Agent", concat!("alp/", env!("CARGO_PKG_VERSION")));
        if let Some(tag) = etag {
            req = req.with_header("If-None-Match", tag);
        }
        if let Some(proxy) = proxy_for(&url) {
            req = req.with_proxy(proxy);
        }
        let outcome = req.send_lazy();
        let retry_reason = match outcome {
            Err(e) if !transient(&e) => return Err(error::network(format!("{url}: {}", describe(&e)))),
            Err(e) => describe(&e),
            Ok(resp) => {
                let status = resp.status_code;
                // minreq lowercases header names.
                let header = |name: &str| resp.headers.get(name).map(|v| v.trim().to_string());
                match status {
                    200 => {
                        let len = header("content-length").and_then(|v| v.parse().ok());
                        let etag = header("etag");
                        return Ok(Fetched::Body(Body { reader: Box::new(resp), etag, len }));
                    }
                    304 if etag.is_some() => return Ok(Fetched::NotModified),
                    301 | 302 | 303 | 307 | 308 => {
                        let Some(loc) = header("location") else {
                            return Err(error::network(format!("{url}: HTTP {status} redirect without a Location")));
                        };
                        let next = resolve_redirect(&url, &loc);
                        if url.starts_with("https://") && !next.starts_with("https://") {
                            return Err(error::network(format!("{url}: refusing redirect from https to {next}")));
                        }
                        redirects += 1;
                        if redirects > MAX_REDIRECTS {
                            return Err(error::network(format!(
                                "{url}: more than {MAX_REDIRECTS} redirects (a redirect loop?)"
                            )));
                        }
                        url = next;
                        continue;
                    }
                    500..=599 => format!("HTTP {status}"),
                    404 | 410 => return Err(error::network(format!("{url}: not found (HTTP {status})"))),
                    _ => return Err(error::network(format!("{url}: HTTP {status} {}", resp.reason_phrase))),
                }
            }
        };
        if attempt >= net.retries {
            let tries = if attempt == 0 { String::new() } else { format!(" after {} attempts", attempt + 1) };
            return Err(error::network(format!("{url}: {retry_reason}{tries}")));
        }
        // Back off 250 ms, 500 ms, 1 s, … before the next try.
        std::thread::sleep(Duration::from_millis(250 << attempt.min(5)));
        attempt += 1;
    }
}

/// Connection trouble worth another try; TLS and protocol errors are not.
fn transient(e: &minreq::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e, minreq::Error::IoError(io) if matches!(io.kind(),
        ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected | BrokenPipe | TimedOut
            | WouldBlock | UnexpectedEof | Interrupted | AddrNotAvailable | HostUnreachable | NetworkUnreachable))
}

fn describe(e: &minreq::Error) -> String {
    match e {
        minreq::Error::IoError(io)
            if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) =>
        {
            "timed out".to_string()
        }
        minreq::Error::IoError(io) => error::plain_io(io),
        other => other.to_string(),
    }
}

fn resolve_redirect(from: &str, loc: &str) -> String {
    if loc.contains("://") {
        loc.to_string()
    } else if loc.starts_with('/') {
        join_url(from, loc)
    } else {
        let dir = &from[..from.rfind('/').map_or(from.len(), |i| i)];
        format!("{dir}/{loc}")
    }
}

/// Proxy settings read from the environment once, at start-up (see `capture_proxy_env`).
#[derive(Debug, Default)]
pub struct ProxyEnv {
    pub vars: Vec<(String, String)>,
}

static PROXY_ENV: OnceLock<ProxyEnv> = OnceLock::new();

const PROXY_VARS: &[&str] =
    &["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"];

/// Takes the proxy variables out of the process environment and keeps them here.
///
/// minreq reads the proxy variables itself whenever a request names no proxy, which
/// would make `NO_PROXY` impossible to honour; so alp decides per URL and hands
/// minreq an explicit proxy. Child processes get the variables back (`proxy_env_vars`).
/// Must run before any thread starts.
pub fn capture_proxy_env() {
    let mut env = ProxyEnv::default();
    for name in PROXY_VARS {
        if let Ok(v) = std::env::var(name) {
            env.vars.push((name.to_string(), v));
            // SAFETY: called first thing in main, before any other thread exists, so no
            // other thread can be reading the environment while it changes.
            unsafe { std::env::remove_var(name) };
        }
    }
    let _ = PROXY_ENV.set(env);
}

/// The proxy variables alp removed from its own environment, for child processes.
pub fn proxy_env_vars() -> &'static [(String, String)] {
    PROXY_ENV.get().map_or(&[], |e| e.vars.as_slice())
}

fn var(names: &[&str]) -> Option<&'static str> {
    let vars = proxy_env_vars();
    names.iter().find_map(|n| vars.iter().find(|(k, v)| k == n && !v.is_empty()).map(|(_, v)| v.as_str()))
}

fn proxy_for(url: &str) -> Option<minreq::Proxy> {
    let https = url.starts_with("https://");
    let chosen = if https { var(&["https_proxy", "HTTPS_PROXY"]) } else { var(&["http_proxy", "HTTP_PROXY"]) };
    let proxy = chosen.or_else(|| var(&["all_proxy", "ALL_PROXY"]))?;
    let host = host_of(url);
    if let Some(list) = var(&["no_proxy", "NO_PROXY"])
        && no_proxy_matches(list, &host)
    {
        return None;
    }
    minreq::Proxy::new(proxy).ok()
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("").to_ascii_lowercase();
    }
    authority.split(':').next().unwrap_or("").to_ascii_lowercase()
}

/// curl's NO_PROXY rules: `*` matches all; an entry matches the host or any subdomain.
pub fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split([',', ' ']).map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase()).filter(|e| !e.is_empty()).any(
        |e| {
            let e = e.split(':').next().unwrap_or("").to_string();
            e == "*" || host == e || host.ends_with(&format!(".{e}"))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_relative_and_absolute_files() {
        assert_eq!(join_url("http://h:1/repo", "a.tar.gz"), "http://h:1/repo/a.tar.gz");
        assert_eq!(join_url("http://h:1/repo/", "/x/a.tar.gz"), "http://h:1/x/a.tar.gz");
        assert_eq!(join_url("/srv/repo", "a.tar.gz"), "/srv/repo/a.tar.gz");
        assert_eq!(join_url("http://h/repo", "https://cdn/a"), "https://cdn/a");
    }

    #[test]
    fn no_proxy_rules() {
        assert!(no_proxy_matches("localhost,127.0.0.1", "127.0.0.1"));
        assert!(no_proxy_matches(".example.com", "a.example.com"));
        assert!(no_proxy_matches("example.com", "example.com"));
        assert!(!no_proxy_matches("example.com", "badexample.com"));
        assert!(no_proxy_matches("*", "anything"));
        assert_eq!(host_of("http://user@[::1]:80/x"), "::1");
        assert_eq!(host_of("https://Example.com:8443/x"), "example.com");
    }
}
