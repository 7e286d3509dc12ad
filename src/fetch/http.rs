//! The one way bytes come in from a URL: `http(s)://` through `client` with alp's policy
//! on top (which proxy, deadlines, retries with backoff, redirects that never downgrade to
//! plain HTTP, what each status means), or a local file.
//!
//! Retries are built for fleets: when a mirror goes down under thousands of hosts, they
//! must not come back in waves. Each wait is drawn uniformly between zero and an exponential
//! step (0.5 s, 1 s, 2 s, … capped at `MAX_STEP`: "full jitter"), a server's `Retry-After` on
//! 429 or 503 is honoured up to `MAX_RETRY_AFTER`, and all waits of one request together stay
//! under `MAX_WAITING`. A signal that interrupts a read is not a failed attempt.

use super::auth;
use super::client::{self, Payload, Proxy, Url};
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
/// First backoff step; each retry doubles it, up to `MAX_STEP`.
const FIRST_STEP: Duration = Duration::from_millis(500);
const MAX_STEP: Duration = Duration::from_secs(8);
/// Longest `Retry-After` obeyed; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// All the waiting between the attempts of one request.
const MAX_WAITING: Duration = Duration::from_secs(60);
/// Bytes per second a transfer may fall to and still finish: deadlines grow by size at this rate.
pub const MIN_RATE: u64 = 256 * 1024;

/// A URL or a local path, as a package `file` or a static repository names it.
pub enum Location {
    Http(String),
    Local(PathBuf),
    /// `scheme://…` with a scheme this module does not speak (the scheme).
    Other(String),
}

impl Location {
    pub fn parse(s: &str) -> Location {
        if s.starts_with("http://") || s.starts_with("https://") {
            Location::Http(s.to_string())
        } else if let Some(p) = s.strip_prefix("file://") {
            Location::Local(PathBuf::from(p))
        } else if let Some((scheme, _)) = s.split_once("://")
            && !scheme.contains('/')
        {
            Location::Other(scheme.to_string())
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

/// GET `url` (an `http(s)://` URL, `file://` or a path). `etag` makes it conditional;
/// `expect_len` stretches the deadline for big bodies. Credentials come from the URL or the
/// keychain (`auth`), for the URL's own host only.
pub fn get(url: &str, net: &Net, etag: Option<&str>, expect_len: Option<u64>) -> Result<Fetched> {
    crate::ui::verbose(&format!("fetching {url}"));
    match Location::parse(url) {
        Location::Local(path) => {
            let f = File::open(&path).map_err(|e| {
                let msg = format!("cannot open {}: {}", path.display(), error::plain_io(&e));
                if e.kind() == std::io::ErrorKind::NotFound {
                    error::network(msg).because(error::Cause::NotFound)
                } else {
                    error::io_msg(msg)
                }
            })?;
            let len = f.metadata().ok().map(|m| m.len());
            Ok(Fetched::Body(Body { reader: Box::new(f), etag: None, len }))
        }
        Location::Other(scheme) => Err(unsupported(&scheme, url)),
        Location::Http(url) => {
            let (url, from_url) = auth::split_userinfo(&url);
            if net.offline {
                return Err(error::network(format!("{url}: not fetched because of --offline"))
                    .because(error::Cause::Unreachable));
            }
            let parsed = Url::parse(&url).map_err(error::network)?;
            let creds = from_url.or_else(|| auth::keychain().lookup(&parsed.host, parsed.port, false));
            let header = creds.as_ref().map(auth::Creds::header);
            let mut headers = Vec::new();
            if let Some(tag) = etag {
                headers.push(("If-None-Match", tag));
            }
            let call = Call {
                method: "GET",
                url: &url,
                headers: &headers,
                payload: Payload::Empty,
                expect_len,
                auth: header.as_deref(),
            };
            let resp = exchange(&call, net)?;
            let status = resp.status;
            match status {
                200 => {
                    let (len, etag) = (resp.body.declared, resp.header("etag").map(str::to_string));
                    Ok(Fetched::Body(Body { reader: Box::new(resp.body), etag, len }))
                }
                304 if etag.is_some() => Ok(Fetched::NotModified),
                404 | 410 => {
                    Err(error::network(format!("{url}: not found (HTTP {status})")).because(error::Cause::NotFound))
                }
                401 | 403 => Err(refused(&url, status, creds.as_ref())),
                _ => Err(error::network(format!("{url}: HTTP {status} {}", resp.reason))),
            }
        }
    }
}

/// The error for a URL of a scheme nothing here speaks.
pub fn unsupported(scheme: &str, url: &str) -> error::Error {
    error::usage(format!(
        "unsupported repository scheme '{scheme}://' in {}; use https://, http://, file://, a path, legacy+URL or oci://",
        auth::redact(url)
    ))
    .because(error::Cause::Unsupported)
}

/// A 401 or 403: named as such, with which credentials were sent (never the secret).
pub fn refused(url: &str, status: u16, creds: Option<&auth::Creds>) -> error::Error {
    let what = if status == 401 { "HTTP 401 Unauthorized" } else { "HTTP 403 Forbidden" };
    let msg = match creds {
        Some(c) => format!("{url}: {what}: the server refused the credentials from {}", c.from),
        None => format!(
            "{url}: {what}: credentials are needed and none were found (put them in the URL, a netrc file or {})",
            Url::parse(url).map_or_else(|_| "ALP_TOKEN_<HOST>".to_string(), |u| auth::token_var(&u.host))
        ),
    };
    error::network(msg).because(error::Cause::Unauthorized)
}

/// One HTTP request as alp makes it.
pub struct Call<'a> {
    pub method: &'a str,
    /// Without credentials in it.
    pub url: &'a str,
    /// Extra headers (`Accept`, `Content-Type`, `If-None-Match`).
    pub headers: &'a [(&'a str, &'a str)],
    pub payload: Payload<'a>,
    /// Body size expected, which stretches the deadline.
    pub expect_len: Option<u64>,
    /// The `Authorization` value, sent to `url`'s host and port only: a redirect elsewhere
    /// goes without it.
    pub auth: Option<&'a str>,
}

/// Makes `call`: proxy, deadlines, retries with backoff on connection trouble, 429 and 5xx,
/// redirects for GET and HEAD. Returns the first other answer, whatever its status, for
/// the caller to read.
pub fn exchange(call: &Call, net: &Net) -> Result<client::Response> {
    // Each wait (connecting, each read) may take `timeout`; the whole exchange gets that plus
    // time for the body at a floor rate of 256 KiB/s, so a stalled or trickling server fails
    // while a slow but moving one finishes.
    let idle = Duration::from_secs(net.timeout.max(1));
    let expect_len = call.expect_len;
    let budget = Duration::from_secs(net.timeout + expect_len.unwrap_or(0) / MIN_RATE);
    let user_agent = concat!("alp/", env!("CARGO_PKG_VERSION"));
    let origin = Url::parse(call.url).map_err(error::network)?;
    let mut url = call.url.to_string();
    let mut redirects = 0;
    let mut attempt = 0u64;
    let mut waited = Duration::ZERO;
    loop {
        let parsed = Url::parse(&url).map_err(error::network)?;
        let proxy = proxy_for(&parsed).map_err(error::network)?;
        let mut headers = vec![("User-Agent", user_agent)];
        headers.extend_from_slice(call.headers);
        // Credentials go to the host they belong to, never across a redirect to another.
        let same_origin = parsed.host == origin.host && parsed.port == origin.port && parsed.https == origin.https;
        if let (Some(a), true) = (call.auth, same_origin) {
            headers.push(("Authorization", a));
        }
        let req = client::Request {
            method: call.method,
            url: &parsed,
            payload: call.payload,
            headers: &headers,
            proxy: proxy.as_ref(),
            idle,
            deadline: Instant::now() + budget,
        };
        let (retry_reason, asked_wait) = match client::send(&req) {
            // Interrupted by a signal: not an attempt that failed, so not counted as one;
            // unless the signal asked alp to stop.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                crate::interrupt::check()?;
                continue;
            }
            Err(_) if crate::interrupt::requested().is_some() => return Err(crate::interrupt::check().unwrap_err()),
            Err(e) if !transient(&e) => return Err(error::network(format!("{url}: {}", describe(&e)))),
            Err(e) => (describe(&e), None),
            Ok(mut resp) => {
                let status = resp.status;
                let header = |name: &str| resp.header(name).map(str::to_string);
                match status {
                    301 | 302 | 303 | 307 | 308 if matches!(call.method, "GET" | "HEAD") => {
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
                    429 | 500..=599 => {
                        let after = header("retry-after").and_then(|v| retry_after(&v));
                        (format!("HTTP {status}"), after.filter(|_| status == 429 || status == 503))
                    }
                    _ => {
                        // A body whose size only the server knew (an index) gets the same
                        // time per byte as one whose size was expected.
                        if let (None, Some(n)) = (expect_len, resp.body.declared) {
                            resp.body.allow_more_time(Duration::from_secs(n / MIN_RATE));
                        }
                        return Ok(resp);
                    }
                }
            }
        };
        let wait = asked_wait.map_or_else(|| backoff(attempt), |w| w.min(MAX_RETRY_AFTER));
        if attempt >= net.retries || waited + wait > MAX_WAITING {
            let tries = if attempt == 0 { String::new() } else { format!(" after {} attempts", attempt + 1) };
            return Err(error::network(format!("{url}: {retry_reason}{tries}")).because(error::Cause::Unreachable));
        }
        crate::interrupt::sleep(wait)?;
        waited += wait;
        attempt += 1;
    }
}

/// GETs a small document whole: `None` when there is no such file (HTTP 404, no such local
/// file), an error when it is larger than `cap` bytes. Messages name `url`.
pub fn get_small(url: &str, net: &Net, cap: u64) -> Result<Option<Vec<u8>>> {
    let body = match get(url, net, None, None) {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified) => return Err(error::network(format!("{url}: unexpected 304 Not Modified"))),
        Err(e) if e.cause == error::Cause::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    read_small(body.reader, &auth::redact(url), cap).map(Some)
}

/// Reads a whole small body, refusing more than `cap` bytes.
pub fn read_small(reader: impl Read, what: &str, cap: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(cap + 1).read_to_end(&mut bytes).map_err(|e| crate::verify::digest::read_error(what, e))?;
    if bytes.len() as u64 > cap {
        let size = if cap >= 1 << 20 { format!("{} MiB", cap >> 20) } else { format!("{} KiB", cap >> 10) };
        return Err(error::bad_input(format!("{what} is larger than {size}; refusing it")));
    }
    Ok(bytes)
}

/// The wait before retry number `attempt + 1`: uniform in [0, min(MAX_STEP, FIRST_STEP·2^attempt)].
fn backoff(attempt: u64) -> Duration {
    let step = FIRST_STEP.saturating_mul(1 << attempt.min(16)).min(MAX_STEP);
    Duration::from_millis(crate::random::below_or_eq(step.as_millis() as u64))
}

/// `Retry-After` as delay-seconds, or as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut parts = value.split_whitespace().skip(1);
    let (day, month, year, time) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let at = crate::timefmt::parse(&format!("{year}-{month:02}-{day:0>2}T{time}Z"))?;
    Some(Duration::from_secs(at.saturating_sub(crate::timefmt::now())))
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
    use std::collections::HashSet;

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

    #[test]
    fn backoff_is_jittered_and_capped() {
        let waits: Vec<Duration> = (0..200).map(|_| backoff(2)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(2)));
        let distinct: HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 50, "waits are not spread: {distinct:?}");
        assert!((0..50).all(|_| backoff(40) <= MAX_STEP));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let later = crate::timefmt::format(crate::timefmt::now() + 100);
        let (date, time) = later.trim_end_matches('Z').split_once('T').unwrap();
        let (y, m, d) = (&date[..4], &date[5..7], &date[8..10]);
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            [m.parse::<usize>().unwrap() - 1];
        let got = retry_after(&format!("Mon, {d} {month} {y} {time} GMT")).unwrap();
        assert!(got > Duration::from_secs(90) && got <= Duration::from_secs(100), "{got:?}");
        assert_eq!(retry_after("soon"), None);
    }
}
