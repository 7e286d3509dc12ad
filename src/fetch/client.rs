//! One HTTP/1.1 GET: connect (directly or through a proxy), TLS for `https://` (rustls,
//! the system's CA store), send the request, read the status line and headers under caps,
//! and hand out the body as a reader that moves whole buffers, never byte by byte. Policy
//! (retries, redirects, which proxy, what a status means) belongs to `http`.
//!
//! A connection whose response was read to its end is kept for the next GET or HEAD to the
//! same server (`idle`): an install asks one server for an index, its signature and each
//! package, and a new TCP (and TLS) connection for each costs one or two round trips more.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Longest status line, and most bytes of headers (or chunk trailers), a server may send.
const MAX_STATUS_LINE: usize = 8 * 1024;
const MAX_HEADERS: usize = 64 * 1024;
/// Longest chunk-size line (sizes plus ignored extensions).
const MAX_CHUNK_LINE: usize = 1024;
/// Socket reads go straight into the caller's buffer when it is at least this big.
const BUFFER: usize = 64 * 1024;
/// A socket read waits at most this long before it looks whether alp was asked to stop;
/// it keeps waiting, up to the request's idle timeout, if not.
const POLL: Duration = Duration::from_millis(250);

/// The parts of an `http(s)://` URL a request needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Url {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl Url {
    pub fn parse(url: &str) -> Result<Url, String> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("not an http(s) URL: {url}"));
        };
        let rest = rest.split('#').next().unwrap_or("");
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        let target = if target.starts_with('/') { escape(target) } else { format!("/{}", escape(target)) };
        let host_port = authority.rsplit('@').next().unwrap_or(authority);
        let default_port = if https { 443 } else { 80 };
        let (host, port) = split_host_port(host_port, default_port)
            .filter(|(h, _)| h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b)))
            .ok_or_else(|| format!("bad host in URL: {url}"))?;
        Ok(Url { https, host, port, target })
    }

    /// `host:port` as the Host header and CONNECT want it (IPv6 literals in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Percent-encodes what may not stand in a request line as is (spaces, control characters,
/// non-ASCII), so a file name from an index can never add a header to the request.
fn escape(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    for b in target.bytes() {
        if b <= b' ' || b >= 0x7f || b"\"<>\\^`{|}".contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// `host[:port]` or `[v6][:port]`; `None` for an empty host or a bad port.
fn split_host_port(s: &str, default_port: u16) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// An HTTP proxy, as the proxy variables name it: `[http://][user:pass@]host[:port]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    host: String,
    port: u16,
    /// `Basic …` credentials, when the variable carries a user.
    auth: Option<String>,
}

impl Proxy {
    pub fn parse(s: &str) -> Result<Proxy, String> {
        let rest = s.strip_prefix("http://").unwrap_or(s).trim_end_matches('/');
        if rest.contains("://") {
            return Err(format!("unsupported proxy (only http:// proxies): {s}"));
        }
        let (user, host_port) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (host, port) = split_host_port(host_port, 8080).ok_or_else(|| format!("bad proxy: {s}"))?;
        let auth = user.map(|u| format!("Basic {}", base64(u.as_bytes())));
        Ok(Proxy { host, port, auth })
    }
}

/// What a request sends after its head.
#[derive(Clone, Copy)]
pub enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A file streamed from disk (a package being published), of this many bytes.
    File(&'a std::path::Path, u64),
}

impl Payload<'_> {
    fn len(&self) -> Option<u64> {
        match self {
            Payload::Empty => None,
            Payload::Bytes(b) => Some(b.len() as u64),
            Payload::File(_, n) => Some(*n),
        }
    }
}

/// What the caller asks for.
pub struct Request<'a> {
    /// `GET`, `HEAD`, `PUT`, `POST`, `PATCH`.
    pub method: &'a str,
    pub url: &'a Url,
    pub payload: Payload<'a>,
    pub headers: &'a [(&'a str, &'a str)],
    pub proxy: Option<&'a Proxy>,
    /// Longest wait for the connection and for each read or write.
    pub idle: Duration,
    /// When the whole exchange, body included, must be over.
    pub deadline: Instant,
}

/// A response whose head has been read; `body` reads the rest.
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim())
    }
}

/// Sends `req` and reads the response head. Errors are `io::Error`s: their kind says
/// whether another try could help (connection trouble) or not (TLS, protocol).
pub fn send(req: &Request) -> io::Result<Response> {
    // Only GET and HEAD, which may be sent again, go over a kept connection: a server may
    // close one at any moment, and then the request goes once more over a new one.
    let key = (req.proxy.is_none() && matches!(req.method, "GET" | "HEAD")).then(|| Key::of(req.url));
    if let Some(stream) = key.as_ref().and_then(idle::take)
        && let Ok(resp) = exchange(req, stream, key.clone())
    {
        return Ok(resp);
    }
    exchange(req, open(req)?, key)
}

/// A new connection for `req`: TCP to the server or its proxy, a tunnel and TLS as needed.
fn open(req: &Request) -> io::Result<Stream> {
    let url = req.url;
    let (tcp_host, tcp_port) = match req.proxy {
        Some(p) => (p.host.as_str(), p.port),
        None => (url.host.as_str(), url.port),
    };
    let tcp = connect(tcp_host, tcp_port, req)?;
    Ok(if url.https {
        let mut tcp = Timed::new(tcp, req);
        if let Some(p) = req.proxy {
            open_tunnel(&mut tcp, url, p)?;
        }
        let mut tls = tls(url, tcp.inner)?;
        // The handshake first, on its own: a failure here is about the server, not the request.
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).map_err(|e| tls_hint(e, url))?;
        }
        Stream::Tls(Box::new(tls))
    } else {
        Stream::Plain(tcp)
    })
}

/// Sends `req` over `stream` and reads the response head. `key`: where the connection may be
/// kept once the response is read to its end (asked for with keep-alive, HTTP/1.1's default).
fn exchange(req: &Request, stream: Stream, key: Option<Key>) -> io::Result<Response> {
    let url = req.url;
    stream.tcp().set_read_timeout(Some(req.idle.min(POLL)))?;
    stream.tcp().set_write_timeout(Some(req.idle))?;
    let target = match req.proxy {
        Some(_) if !url.https => format!("http://{}{}", url.authority(), url.target),
        _ => url.target.clone(),
    };
    let connection = if key.is_some() { "" } else { "Connection: close\r\n" };
    let mut head = format!("{} {target} HTTP/1.1\r\nHost: {}\r\n{connection}", req.method, host_header(url));
    for (k, v) in req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let (Some(Proxy { auth: Some(auth), .. }), false) = (req.proxy, url.https) {
        head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    if let Some(n) = req.payload.len() {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    } else if matches!(req.method, "PUT" | "POST" | "PATCH") {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    let mut stream = Timed::new(stream, req);
    stream.write_all(head.as_bytes()).map_err(|e| tls_hint(e, url))?;
    match req.payload {
        Payload::Empty => {}
        Payload::Bytes(b) => stream.write_all(b)?,
        Payload::File(path, n) => {
            let f = std::fs::File::open(path)?;
            let sent = io::copy(&mut f.take(n), &mut stream)?;
            if sent != n {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} shrank while sent", path.display()),
                ));
            }
        }
    }
    stream.flush()?;
    let mut reader = BufReader::with_capacity(BUFFER, stream);
    let ((status, reason, headers), mut framing) = read_response_head(&mut reader).map_err(|e| tls_hint(e, url))?;
    let declared = match framing {
        Framing::Length(n) => Some(n),
        _ => None,
    };
    if req.method == "HEAD" {
        framing = Framing::Length(0);
    }
    let closing = headers.iter().any(|(n, v)| n == "connection" && v.to_ascii_lowercase().contains("close"));
    let keep = key.filter(|_| !closing && !matches!(framing, Framing::UntilClose));
    Ok(Response { status, reason, headers, body: Body { reader: Some(reader), framing, declared, keep } })
}

/// The final response head (interim 1xx answers skipped) and how its body ends.
fn read_response_head(reader: &mut impl BufRead) -> io::Result<(Head, Framing)> {
    let (status, reason, headers) = loop {
        let (status, reason, headers) = read_head(reader)?;
        if !(100..200).contains(&status) {
            break (status, reason, headers);
        }
    };
    let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim());
    let framing = if status == 204 || status == 304 {
        Framing::Length(0)
    } else if find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        Framing::Chunked { left: 0, done: false }
    } else if let Some(len) = find("content-length") {
        Framing::Length(len.parse().map_err(|_| protocol(format!("bad Content-Length: {len}")))?)
    } else {
        Framing::UntilClose
    };
    Ok(((status, reason, headers), framing))
}

/// Reads `wire` as a server's whole answer, as `get` would, and returns the status and the
/// body's length. For the fuzz target (`fuzz/fuzz_targets/http.rs`): any bytes give an
/// answer or an error, never a panic or a loop.
#[doc(hidden)]
pub fn read_whole_response(wire: &[u8]) -> io::Result<(u16, u64)> {
    let mut reader = BufReader::with_capacity(BUFFER, wire);
    let ((status, _, _), mut framing) = read_response_head(&mut reader)?;
    let (mut buf, mut total) = (vec![0u8; 4096], 0u64);
    loop {
        match read_framed(&mut reader, &mut framing, &mut buf)? {
            0 => return Ok((status, total)),
            n => total += n as u64,
        }
    }
}

fn host_header(url: &Url) -> String {
    let default = if url.https { 443 } else { 80 };
    if url.port == default {
        if url.host.contains(':') { format!("[{}]", url.host) } else { url.host.clone() }
    } else {
        url.authority()
    }
}

fn connect(host: &str, port: u16, req: &Request) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host}: no address found"));
    let addrs =
        (host, port).to_socket_addrs().map_err(|e| io::Error::new(e.kind(), format!("cannot resolve {host}: {e}")))?;
    for addr in addrs {
        let left = req.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
        }
        let attempt = loop {
            match TcpStream::connect_timeout(&addr, req.idle.min(left)) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted && Instant::now() < req.deadline => {}
                other => break other,
            }
        };
        match attempt {
            Ok(s) => {
                s.set_read_timeout(Some(req.idle.min(POLL)))?;
                s.set_write_timeout(Some(req.idle))?;
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// `CONNECT` through an HTTP proxy, for an https URL; the TLS session runs inside.
fn open_tunnel(tcp: &mut Timed<TcpStream>, url: &Url, proxy: &Proxy) -> io::Result<()> {
    let mut head = format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n", url.authority());
    if let Some(auth) = &proxy.auth {
        head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes())?;
    // Read the proxy's answer a byte at a time: whatever follows belongs to the TLS session.
    let mut reader = BufReader::with_capacity(1, &mut *tcp);
    let (status, reason, _) = read_head(&mut reader)?;
    if !(200..300).contains(&status) {
        // Not worth retrying: the proxy answered, and said no (e.g. 407, credentials needed).
        return Err(io::Error::other(format!(
            "proxy {}:{} refused the tunnel: HTTP {status} {reason}",
            proxy.host, proxy.port
        )));
    }
    Ok(())
}

/// A TLS session that could not start because the other end speaks plain HTTP (its answer to
/// our ClientHello is not a TLS record) says so, with the likely fix.
fn tls_hint(e: io::Error, url: &Url) -> io::Error {
    if !url.https || !matches!(e.kind(), io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof) {
        return e;
    }
    // Told by the error's type, not its text: rustls found no TLS record where one belonged.
    let not_tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }));
    if e.kind() == io::ErrorKind::UnexpectedEof || not_tls {
        let text = e.to_string();
        return io::Error::new(
            io::ErrorKind::InvalidData,
            format!("TLS handshake with {} failed ({text}); is this an http:// URL?", url.authority()),
        );
    }
    e
}

fn tls(url: &Url, tcp: TcpStream) -> io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let name = rustls::ServerName::try_from(url.host.as_str()).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("not a valid TLS server name: {}", url.host))
    })?;
    let conn = rustls::ClientConnection::new(tls_config(), name).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// One TLS configuration per process, loaded on first use: the system's CA bundle (or
/// `SSL_CERT_FILE`), plus every certificate in the directories `SSL_CERT_DIR` lists.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let bundle = rustls_native_certs::load_native_certs().unwrap_or_default().into_iter().map(|c| c.0);
            // A certificate the store cannot use is skipped, as every TLS client does.
            for der in bundle.chain(certs_in_dirs()) {
                let _ = roots.add(&rustls::Certificate(der));
            }
            Arc::new(
                rustls::ClientConfig::builder()
                    .with_safe_defaults()
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}

/// The certificates in the files of `SSL_CERT_DIR` (a `:`-separated list, as OpenSSL reads
/// it); files that are not PEM certificates are passed over.
fn certs_in_dirs() -> Vec<Vec<u8>> {
    let Some(dirs) = std::env::var_os("SSL_CERT_DIR") else { return Vec::new() };
    let files = std::env::split_paths(&dirs)
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_file());
    files
        .filter_map(|p| rustls_pemfile::certs(&mut BufReader::new(std::fs::File::open(p).ok()?)).ok())
        .flatten()
        .collect()
}

/// The status code, reason and headers of one response head.
type Head = (u16, String, Vec<(String, String)>);

fn read_head(r: &mut impl BufRead) -> io::Result<Head> {
    let line = read_line(r, MAX_STATUS_LINE, "status line")?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status = parts.next().and_then(|s| s.parse::<u16>().ok()).filter(|s| (100..1000).contains(s));
    let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
        return Err(protocol(format!("not an HTTP/1 response: {:?}", truncate(&line))));
    };
    let reason = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut budget = MAX_HEADERS;
    loop {
        let line = read_line(r, budget, "headers")?;
        budget -= line.len() + 2;
        if line.is_empty() {
            return Ok((status, reason, headers));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(protocol(format!("malformed header: {:?}", truncate(&line))));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

/// One CRLF- (or LF-) ended line of at most `max` bytes, without its ending.
fn read_line(r: &mut impl BufRead, max: usize, what: &str) -> io::Result<String> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("connection closed in the {what}")));
        }
        let (take, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max + 2 {
            return Err(protocol(format!("{what} longer than {max} bytes")));
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if end {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return String::from_utf8(line).map_err(|_| protocol(format!("{what} is not text")));
        }
    }
}

fn truncate(s: &str) -> &str {
    s.char_indices().nth(80).map_or(s, |(i, _)| &s[..i])
}

fn protocol(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// How the body ends.
enum Framing {
    /// This many bytes are left.
    Length(u64),
    /// `left` bytes remain in the current chunk; `done` after the last chunk's trailers.
    Chunked {
        left: u64,
        done: bool,
    },
    UntilClose,
}

/// The response body. Ends exactly where the framing says; a connection closed before that is
/// an `UnexpectedEof` error, never a quietly short body.
pub struct Body {
    /// Always there until the body is dropped.
    reader: Option<BufReader<Timed<Stream>>>,
    framing: Framing,
    /// Content-Length, when the server sent one.
    pub declared: Option<u64>,
    /// Where the connection goes once the body has been read to its end.
    keep: Option<Key>,
}

impl Body {
    /// Moves the exchange's deadline later, e.g. once the body's length is known.
    pub fn allow_more_time(&mut self, extra: Duration) {
        if let Some(r) = &mut self.reader {
            r.get_mut().deadline += extra;
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(reader) = &mut self.reader else { return Ok(0) };
        read_framed(reader, &mut self.framing, buf)
    }
}

/// A connection is kept only when its response ended exactly where its framing said, with
/// nothing more from the server waiting in the buffer.
impl Drop for Body {
    fn drop(&mut self) {
        let ended = matches!(self.framing, Framing::Length(0) | Framing::Chunked { done: true, .. });
        if let (Some(key), Some(reader), true) = (self.keep.take(), self.reader.take(), ended)
            && reader.buffer().is_empty()
        {
            idle::put(key, reader.into_inner().inner);
        }
    }
}

/// Closes every kept connection (before `alp init` hands the process to the container's
/// command, which may run for months).
pub fn close_idle() {
    idle::close_all();
}

/// Which kept connections may carry a request: the same scheme, server and port.
#[derive(Debug, Clone, PartialEq)]
struct Key {
    https: bool,
    host: String,
    port: u16,
}

impl Key {
    fn of(url: &Url) -> Key {
        Key { https: url.https, host: url.host.clone(), port: url.port }
    }
}

/// Connections kept between requests, newest last.
mod idle {
    use super::{Duration, Instant, Key, Mutex, Stream};

    /// At most this many (one per download thread is what is used).
    const KEEP: usize = 8;
    /// Older than this, a server may well have closed it (nginx keeps 75 s, others less);
    /// alp's requests come in quick succession, so little is lost by not trying.
    const FRESH: Duration = Duration::from_secs(2);

    static IDLE: Mutex<Vec<(Key, Stream, Instant)>> = Mutex::new(Vec::new());

    pub(super) fn take(key: &Key) -> Option<Stream> {
        let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|(_, _, since)| since.elapsed() < FRESH);
        let i = idle.iter().rposition(|(k, _, _)| k == key)?;
        Some(idle.swap_remove(i).1)
    }

    pub(super) fn close_all() {
        IDLE.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub(super) fn put(key: Key, stream: Stream) {
        let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() >= KEEP {
            idle.remove(0);
        }
        idle.push((key, stream, Instant::now()));
    }
}

/// Reads body bytes from `r` into `buf`, no further than `framing` allows.
fn read_framed(r: &mut impl BufRead, framing: &mut Framing, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let chunked = matches!(framing, Framing::Chunked { .. });
    let left = match framing {
        Framing::UntilClose => return r.read(buf),
        Framing::Length(left) => left,
        Framing::Chunked { done: true, .. } => return Ok(0),
        Framing::Chunked { left, done } => {
            if *left == 0 {
                *left = next_chunk_size(r)?;
                if *left == 0 {
                    *done = true;
                    return Ok(0);
                }
            }
            left
        }
    };
    if *left == 0 {
        return Ok(0);
    }
    let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
    let n = r.read(&mut buf[..want])?;
    if n == 0 {
        return Err(cut_short(*left));
    }
    *left -= n as u64;
    if *left == 0 && chunked && !read_line(r, 0, "chunk end")?.is_empty() {
        return Err(protocol("chunk longer than its size".to_string()));
    }
    Ok(n)
}

/// Reads a chunk-size line; at the last (zero) chunk also the trailers and the blank line.
fn next_chunk_size(r: &mut impl BufRead) -> io::Result<u64> {
    let line = read_line(r, MAX_CHUNK_LINE, "chunk size")?;
    let size = line.split(';').next().unwrap_or("").trim();
    let size = u64::from_str_radix(size, 16).map_err(|_| protocol(format!("bad chunk size: {:?}", truncate(&line))))?;
    if size == 0 {
        let mut budget = MAX_HEADERS;
        loop {
            let t = read_line(r, budget, "trailers")?;
            if t.is_empty() {
                break;
            }
            budget -= t.len() + 2;
        }
    }
    Ok(size)
}

fn cut_short(left: u64) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, format!("connection closed with {left} bytes of the body missing"))
}

/// Plain TCP or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => match s.read(buf) {
                // A server that closes without close_notify after a framed body is common;
                // the framing (length or chunks) is what tells a complete body from a cut one.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A stream whose every read and write first checks the exchange's deadline. A read waits
/// for the server at most the request's idle time in all, waking every `POLL` to see whether
/// alp was asked to stop.
struct Timed<S> {
    inner: S,
    deadline: Instant,
    idle: Duration,
}

impl<S> Timed<S> {
    fn new(inner: S, req: &Request) -> Timed<S> {
        Timed { inner, deadline: req.deadline, idle: req.idle }
    }

    fn check(&self) -> io::Result<()> {
        if Instant::now() >= self.deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
        }
        Ok(())
    }
}

impl<S> Timed<S> {
    /// Runs one read, write or flush; while it only says "not yet" (the socket's `POLL`
    /// timeout, or a signal), runs it again, until the idle time is spent or alp is asked to
    /// stop. A signal that interrupts a call is not a failure of the exchange.
    fn patiently<T>(&mut self, mut op: impl FnMut(&mut S) -> io::Result<T>) -> io::Result<T> {
        use io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
        let waiting = Instant::now();
        loop {
            self.check()?;
            match op(&mut self.inner) {
                Err(e) if matches!(e.kind(), Interrupted | WouldBlock | TimedOut) => {
                    if crate::interrupt::requested().is_some() {
                        return Err(io::Error::other("interrupted"));
                    }
                    if e.kind() != Interrupted && waiting.elapsed() >= self.idle {
                        return Err(io::Error::new(TimedOut, "timed out"));
                    }
                }
                other => return other,
            }
        }
    }
}

impl<S: Read> Read for Timed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.patiently(|s| s.read(buf))
    }
}

/// A TLS write may read the handshake's answer, so writes wait as reads do.
impl<S: Write> Write for Timed<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.patiently(|s| s.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.patiently(|s| s.flush())
    }
}

pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = Url::parse("https://example.org/a/b.json?x=1#frag").unwrap();
        assert_eq!((u.https, u.host.as_str(), u.port, u.target.as_str()), (true, "example.org", 443, "/a/b.json?x=1"));
        let u = Url::parse("http://user@[::1]:8080").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.target.as_str()), ("::1", 8080, "/"));
        assert_eq!(u.authority(), "[::1]:8080");
        let u = Url::parse("http://h/pkgs/my file-1.0.tar.gz\r\nX-Evil: 1/ü").unwrap();
        assert_eq!(u.target, "/pkgs/my%20file-1.0.tar.gz%0D%0AX-Evil:%201/%C3%BC");
        assert!(Url::parse("http://h\r\nX: y/").is_err());
        assert!(Url::parse("ftp://x/").is_err());
        assert!(Url::parse("http://:80/").is_err());
        assert!(Url::parse("http://h:99999/").is_err());
    }

    #[test]
    fn parses_proxies() {
        let p = Proxy::parse("http://alice:s3cret@proxy.local:3128/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.local", 3128));
        assert_eq!(p.auth.as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
        assert_eq!(Proxy::parse("10.0.0.1").unwrap().port, 8080);
        assert!(Proxy::parse("socks5://h:1080").is_err());
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn heads_are_capped_and_parsed() {
        let mut r = io::Cursor::new(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\nhello".to_vec());
        let (status, reason, headers) = read_head(&mut r).unwrap();
        assert_eq!((status, reason.as_str()), (200, "OK"));
        assert_eq!(headers[1], ("etag".to_string(), "\"x\"".to_string()));
        let long = format!("HTTP/1.1 200 {}\r\n\r\n", "x".repeat(MAX_STATUS_LINE));
        assert!(read_head(&mut io::Cursor::new(long.into_bytes())).is_err());
        let many = format!("HTTP/1.1 200 OK\r\n{}\r\n", "X-A: b\r\n".repeat(MAX_HEADERS / 8 + 1));
        assert!(read_head(&mut io::Cursor::new(many.into_bytes())).is_err());
        assert!(read_head(&mut io::Cursor::new(b"SSH-2.0-x\r\n\r\n".to_vec())).is_err());
        assert!(read_head(&mut io::Cursor::new(b"HTTP/1.1 200 OK\r\nX-A: b".to_vec())).is_err());
    }

    #[test]
    fn whole_responses_read_as_get_reads_them() {
        let wire =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(read_whole_response(wire).unwrap(), (200, 3));
        assert_eq!(read_whole_response(b"HTTP/1.0 304 Not Modified\r\n\r\ntrailing").unwrap(), (304, 0));
        assert_eq!(read_whole_response(b"HTTP/1.1 200 OK\r\n\r\nuntil close").unwrap(), (200, 11));
        assert!(read_whole_response(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
        assert!(read_whole_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").is_err());
    }

    fn body(wire: &[u8], mut framing: Framing) -> io::Result<Vec<u8>> {
        let mut r = BufReader::with_capacity(7, wire);
        let mut out = Vec::new();
        let mut buf = [0u8; 5];
        loop {
            match read_framed(&mut r, &mut framing, &mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn bodies_end_where_their_framing_says() {
        assert_eq!(body(b"hello world, and more", Framing::Length(11)).unwrap(), b"hello world");
        let e = body(b"hello", Framing::Length(11)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("6 bytes"), "{e}");
        assert_eq!(body(b"anything", Framing::UntilClose).unwrap(), b"anything");
        let chunked = b"5\r\nhello\r\nB;ext=1\r\n, the world\r\n0\r\nX-T: 1\r\n\r\nafter";
        assert_eq!(body(chunked, Framing::Chunked { left: 0, done: false }).unwrap(), b"hello, the world");
        for bad in [&b"5\r\nhello"[..], b"5\r\nhelloXX\r\n0\r\n\r\n", b"zz\r\n", b"5\r\nhel", b"0\r\nX: 1\r\n"] {
            assert!(
                body(bad, Framing::Chunked { left: 0, done: false }).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
