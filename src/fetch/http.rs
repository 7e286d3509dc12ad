//! The one way bytes come in from a URL: `http(s)://` through `client` with alp's policy
//! on top (which proxy, deadlines, retries with backoff, redirects that never downgrade to
//! plain HTTP, what each status means), or a local file.

use super::client::{self, Proxy, Url};
use crate::error::{self, Result};
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Network settings for one command.
#[derive(Debug, Clone, Copy)]
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
/// Bytes per second a transfer may fall to and still finish: deadlines grow by size at this rate.
const MIN_RATE: u64 = 256 * 1024;

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
    // Each wait (connecting, each read) may take `timeout`; the whole exchange gets that plus
    // time for the body at a floor rate of 256 KiB/s, so a stalled or trickling server fails
    // while a slow but moving one finishes.
    let idle = Duration::from_secs(net.timeout.max(1));
    let budget = Duration::from_secs(net.timeout + expect_len.unwrap_or(0) / MIN_RATE);
    let user_agent = concat!("alp/", env!("CARGO_PKG_VERSION"));
    let mut url = url.to_string();
    let mut redirects = 0;
    let mut attempt = 0u64;
    loop {
        let parsed = Url::parse(&url).map_err(error::network)?;
        let proxy = proxy_for(&parsed).map_err(error::network)?;
        let mut headers = vec![("User-Agent", user_agent)];
        if let Some(tag) = etag {
            headers.push(("If-None-Match", tag));
        }
        let req = client::Request {
            url: &parsed,
            headers: &headers,
            proxy: proxy.as_ref(),
            idle,
            deadline: Instant::now() + budget,
        };
        let retry_reason = match client::get(&req) {
            Err(e) if !transient(&e) => return Err(error::network(format!("{url}: {}", describe(&e)))),
            Err(e) => describe(&e),
            Ok(resp) => {
                let status = resp.status;
                let header = |name: &str| resp.header(name).map(str::to_string);
                match status {
                    200 => {
                        let (len, etag) = (resp.body.declared, header("etag"));
                        let mut body = resp.body;
                        // A body whose size only the server knew (an index) gets the same
                        // time per byte as one whose size was expected.
                        if let (None, Some(n)) = (expect_len, len) {
                            body.allow_more_time(Duration::from_secs(n / MIN_RATE));
                        }
                        return Ok(Fetched::Body(Body { reader: Box::new(body), etag, len }));
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
                    _ => return Err(error::network(format!("{url}: HTTP {status} {}", resp.reason))),
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
fn transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotConnected
            | BrokenPipe
            | TimedOut
            | WouldBlock
            | UnexpectedEof
            | Interrupted
            | AddrNotAvailable
            | HostUnreachable
            | NetworkUnreachable
    )
}

fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timed out".to_string(),
        _ => error::plain_io(e),
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

/// The first of `names` set to something in the environment.
fn var(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

/// The proxy for `url` from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` (either case), unless
/// `NO_PROXY` exempts its host.
fn proxy_for(url: &Url) -> std::result::Result<Option<Proxy>, String> {
    let chosen = if url.https { var(&["https_proxy", "HTTPS_PROXY"]) } else { var(&["http_proxy", "HTTP_PROXY"]) };
    let Some(proxy) = chosen.or_else(|| var(&["all_proxy", "ALL_PROXY"])) else { return Ok(None) };
    if let Some(list) = var(&["no_proxy", "NO_PROXY"])
        && no_proxy_matches(&list, &url.host.to_ascii_lowercase())
    {
        return Ok(None);
    }
    Proxy::parse(&proxy).map(Some)
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
    }
}
