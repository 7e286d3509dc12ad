//! Shared test fixtures: temp roots, running the real `alp` binary, a real HTTP server on
//! 127.0.0.1 with scriptable misbehaviour, and real package archives.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "alp-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_alp")
}

/// Removes the caller's ALP_*, proxy and NO_COLOR variables from `c`.
fn scrub(c: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("ALP_") || k.ends_with("_proxy") || k.ends_with("_PROXY") || k == "NO_COLOR" {
            c.env_remove(k);
        }
    }
}

/// `alp --root ROOT` with a clean environment (no ALP_* leaking in from the caller).
pub fn alp(root: &Path) -> Command {
    let mut c = Command::new(bin());
    scrub(&mut c);
    c.arg("--root").arg(root);
    c
}

/// Runs `alp --root ROOT ARGS` like `alp`, plus `env`, under `/usr/bin/time -v` when it is
/// there; returns the output and the peak RSS in KiB.
pub fn alp_measured_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> (Output, Option<u64>) {
    let time = Path::new("/usr/bin/time");
    let mut c = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg(bin());
        c
    } else {
        Command::new(bin())
    };
    scrub(&mut c);
    c.envs(env.iter().copied()).arg("--root").arg(root).args(args);
    let out = c.output().unwrap();
    let rss = stderr(&out)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes): "))
        .and_then(|v| v.trim().parse().ok());
    (out, rss)
}

pub fn alp_measured(root: &Path, args: &[&str]) -> (Output, Option<u64>) {
    alp_measured_env(root, args, &[])
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("running alp")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(cmd: &mut Command) -> String {
    let o = run(cmd);
    assert!(o.status.success(), "alp failed ({:?}):\nstdout: {}\nstderr: {}", o.status.code(), stdout(&o), stderr(&o));
    stdout(&o)
}

/// Asserts failure with `code` and one `alp: error:` line; returns stderr.
#[track_caller]
pub fn fails(cmd: &mut Command, code: i32) -> String {
    let o = run(cmd);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "expected exit {code}\nstdout: {}\nstderr: {err}", stdout(&o));
    assert!(err.lines().any(|l| l.starts_with("alp: error: ")), "no 'alp: error:' line in: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    err
}

/// What the server does for one path.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Answer with this status and a short body.
    Status(u16),
    /// Answer `status` this many times, then serve normally.
    FailTimes(u32, u16),
    /// Send headers (with the full Content-Length) then only this many body bytes, then close.
    Truncate(usize),
    /// Accept and say nothing for this long.
    Stall(Duration),
    /// Redirect to this location.
    Redirect(String),
    /// Serve this body instead of the file.
    Body(Vec<u8>),
    /// Serve the file at about this many bytes a second.
    Throttle(usize),
    /// Serve the file with `Transfer-Encoding: chunked`, in chunks of this many bytes.
    Chunked(usize),
    /// Answer 503 with `Retry-After: SECS` this many times, then serve normally.
    RetryAfter(u32, u64),
}

#[derive(Default)]
struct State {
    rules: HashMap<String, Behaviour>,
    hits: HashMap<String, u32>,
    times: HashMap<String, Vec<std::time::Instant>>,
    total: u64,
}

/// A real HTTP/1.1 server on 127.0.0.1 serving `dir`, with ETags and scripted faults.
pub struct Server {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &dir, &st);
                });
            }
        });
        Server { port, state }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, path: &str, b: Behaviour) {
        self.state.lock().unwrap().rules.insert(path.to_string(), b);
    }

    pub fn clear(&self, path: &str) {
        self.state.lock().unwrap().rules.remove(path);
    }

    /// Requests for `path` so far.
    pub fn hits(&self, path: &str) -> u32 {
        *self.state.lock().unwrap().hits.get(path).unwrap_or(&0)
    }

    /// When each request for `path` arrived.
    pub fn times(&self, path: &str) -> Vec<std::time::Instant> {
        self.state.lock().unwrap().times.get(path).cloned().unwrap_or_default()
    }

    /// All requests so far.
    pub fn total(&self) -> u64 {
        self.state.lock().unwrap().total
    }
}

fn serve(mut conn: TcpStream, dir: &Path, st: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let rule = {
        let mut s = st.lock().unwrap();
        *s.hits.entry(path.clone()).or_default() += 1;
        s.times.entry(path.clone()).or_default().push(std::time::Instant::now());
        s.total += 1;
        let rule = s.rules.get(&path).cloned();
        match rule {
            Some(Behaviour::FailTimes(n, code)) if n > 0 => {
                s.rules.insert(path.clone(), Behaviour::FailTimes(n - 1, code));
                Some(Behaviour::Status(code))
            }
            Some(Behaviour::RetryAfter(n, secs)) if n > 0 => {
                s.rules.insert(path.clone(), Behaviour::RetryAfter(n - 1, secs));
                Some(Behaviour::RetryAfter(n, secs))
            }
            Some(Behaviour::FailTimes(..) | Behaviour::RetryAfter(..)) => None,
            rule => rule,
        }
    };
    let respond = |conn: &mut TcpStream, status: u16, extra: &str, body: &[u8]| -> std::io::Result<()> {
        write!(conn, "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n", body.len())?;
        conn.write_all(body)
    };
    match rule {
        Some(Behaviour::Status(code)) => return respond(&mut conn, code, "", b"no"),
        Some(Behaviour::RetryAfter(_, secs)) => {
            return respond(&mut conn, 503, &format!("Retry-After: {secs}\r\n"), b"busy");
        }
        Some(Behaviour::Stall(d)) => {
            std::thread::sleep(d);
            return Ok(());
        }
        Some(Behaviour::Redirect(to)) => return respond(&mut conn, 302, &format!("Location: {to}\r\n"), b""),
        Some(Behaviour::Body(b)) => return respond(&mut conn, 200, "", &b),
        _ => {}
    }
    let file = dir.join(path.trim_start_matches('/'));
    let Ok(mut f) = std::fs::File::open(&file) else { return respond(&mut conn, 404, "", b"not found") };
    let mut body = Vec::new();
    f.read_to_end(&mut body)?;
    let etag =
        format!("\"{:x}-{}\"", body.len(), body.iter().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(*b as u64)));
    if headers.get("if-none-match") == Some(&etag) {
        write!(conn, "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    if let Some(Behaviour::Truncate(n)) = rule {
        write!(conn, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
        return conn.write_all(&body[..n.min(body.len())]);
    }
    if let Some(Behaviour::Chunked(size)) = rule {
        write!(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")?;
        for part in body.chunks(size.max(1)) {
            write!(conn, "{:x};ext=1\r\n", part.len())?;
            conn.write_all(part)?;
            conn.write_all(b"\r\n")?;
        }
        return write!(conn, "0\r\nX-Trailer: yes\r\n\r\n");
    }
    if let Some(Behaviour::Throttle(rate)) = rule {
        write!(conn, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
        let chunk = (rate / 20).max(1);
        for part in body.chunks(chunk) {
            conn.write_all(part)?;
            std::thread::sleep(Duration::from_millis(50));
        }
        return Ok(());
    }
    respond(&mut conn, 200, &format!("ETag: {etag}\r\n"), &body)
}

/// A real forward proxy on 127.0.0.1: absolute-form `GET http://…` requests are passed on
/// (their `Proxy-*` headers dropped), `CONNECT host:port` opens a tunnel. Remembers each
/// request line and the `Proxy-Authorization` it came with.
pub struct ForwardProxy {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// A request line and the `Proxy-Authorization` it came with.
pub type Seen = (String, Option<String>);

impl ForwardProxy {
    pub fn start() -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let log = log.clone();
                std::thread::spawn(move || {
                    let _ = relay(conn, &log);
                });
            }
        });
        ForwardProxy { port, seen }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// (request line, Proxy-Authorization) of every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn relay(client: TcpStream, log: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line.trim_end().to_string();
    let mut headers = Vec::new();
    let mut auth = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        match h.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("proxy-authorization") => auth = Some(v.trim().to_string()),
            _ => headers.push(h),
        }
    }
    log.lock().unwrap().push((line.clone(), auth));
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut client = client;
    if method == "CONNECT" {
        let upstream = TcpStream::connect(target)?;
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        let (mut up_r, mut up_w) = (upstream.try_clone()?, upstream);
        let mut client_w = client.try_clone()?;
        let pump = std::thread::spawn(move || {
            let _ = std::io::copy(&mut reader, &mut up_w);
            let _ = up_w.shutdown(std::net::Shutdown::Write);
        });
        let _ = std::io::copy(&mut up_r, &mut client_w);
        let _ = client_w.shutdown(std::net::Shutdown::Both);
        let _ = pump.join();
        return Ok(());
    }
    let Some(rest) = target.strip_prefix("http://") else {
        return client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut upstream = TcpStream::connect(host)?;
    write!(upstream, "{method} {path} HTTP/1.1\r\n")?;
    for h in headers {
        upstream.write_all(h.as_bytes())?;
    }
    upstream.write_all(b"\r\n")?;
    std::io::copy(&mut upstream, &mut client)?;
    Ok(())
}

/// A package to build: name, version, depends, and files (path, content, mode).
pub struct Pkg<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub depends: &'a [&'a str],
    pub files: &'a [(&'a str, &'a str, u32)],
}

impl Pkg<'_> {
    pub fn new<'a>(name: &'a str, version: &'a str) -> Pkg<'a> {
        Pkg { name, version, depends: &[], files: &[] }
    }
}

/// Builds each package with `alp build` into `repo` and indexes it with `alp index`.
pub fn make_repo(repo: &Path, pkgs: &[Pkg]) {
    std::fs::create_dir_all(repo).unwrap();
    let work = TempDir::new("src");
    for p in pkgs {
        let src = work.join(&format!("{}-{}", p.name, p.version));
        std::fs::create_dir_all(src.join(".ALP")).unwrap();
        let deps: Vec<String> = p.depends.iter().map(|d| format!("\"{d}\"")).collect();
        std::fs::write(
            src.join(".ALP/package.json"),
            format!(
                r#"{{"name":"{}","version":"{}","description":"test package {}","category":"test","depends":[{}]}}"#,
                p.name,
                p.version,
                p.name,
                deps.join(",")
            ),
        )
        .unwrap();
        let files: Vec<(String, String, u32)> = if p.files.is_empty() {
            vec![(format!("usr/share/{}/VERSION", p.name), p.version.to_string(), 0o644)]
        } else {
            p.files.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), *c)).collect()
        };
        for (path, content, mode) in files {
            let f = src.join(&path);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, content).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        ok(Command::new(bin()).arg("build").arg(&src).arg("-o").arg(repo));
    }
    ok(Command::new(bin()).arg("--quiet").arg("index").arg(repo));
}

/// A gzip'd tar written entry by entry, for archives `alp build` would never make.
pub struct RawTar {
    builder: tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
}

impl RawTar {
    pub fn new() -> RawTar {
        RawTar { builder: tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast())) }
    }

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        h
    }

    /// Writes the raw name bytes into the header, bypassing the tar crate's own checks.
    fn raw_name(h: &mut tar::Header, name: &str) {
        let bytes = name.as_bytes();
        let gnu = h.as_old_mut();
        gnu.name = [0; 100];
        gnu.name[..bytes.len().min(100)].copy_from_slice(&bytes[..bytes.len().min(100)]);
    }

    pub fn file(mut self, name: &str, data: &[u8], mode: u32) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, data.len() as u64, mode);
        if name.len() <= 100 {
            Self::raw_name(&mut h, name);
            h.set_cksum();
            self.builder.append(&h, data).unwrap();
        } else {
            self.builder.append_data(&mut h, name, data).unwrap();
        }
        self
    }

    pub fn dir(mut self, name: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, 0, 0o755);
        Self::raw_name(&mut h, name);
        h.set_cksum();
        self.builder.append(&h, std::io::empty()).unwrap();
        self
    }

    pub fn link(mut self, kind: tar::EntryType, name: &str, target: &str) -> Self {
        let mut h = Self::header(kind, 0, 0o777);
        Self::raw_name(&mut h, name);
        h.set_link_name(target).unwrap();
        h.set_cksum();
        self.builder.append(&h, std::io::empty()).unwrap();
        self
    }

    pub fn special(mut self, kind: tar::EntryType, name: &str) -> Self {
        let mut h = Self::header(kind, 0, 0o644);
        Self::raw_name(&mut h, name);
        h.set_cksum();
        self.builder.append(&h, std::io::empty()).unwrap();
        self
    }

    pub fn meta(self, name: &str, version: &str) -> Self {
        let json = format!(r#"{{"name":"{name}","version":"{version}"}}"#);
        self.file(".ALP/package.json", json.as_bytes(), 0o644)
    }

    pub fn finish(self) -> Vec<u8> {
        self.builder.into_inner().unwrap().finish().unwrap()
    }
}

/// Writes a hand-made index.json into `repo` for archives already placed there.
pub fn write_index(repo: &Path, entries: &[(&str, &str, &str, &[&str])]) {
    use sha2::Digest;
    let mut pkgs = Vec::new();
    for (name, version, file, deps) in entries {
        let bytes = std::fs::read(repo.join(file)).unwrap();
        let sha = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
        let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
        pkgs.push(format!(
            r#"{{"name":"{name}","version":"{version}","file":"{file}","sha256":"{sha}","size":{},"depends":[{}]}}"#,
            bytes.len(),
            deps.join(",")
        ));
    }
    std::fs::write(
        repo.join("index.json"),
        format!(r#"{{"format":"alp-index-1","name":"t","serial":1,"generated":"2026-01-01T00:00:00Z","expires":null,"packages":[{}]}}"#, pkgs.join(",")),
    )
    .unwrap();
}

/// Every file under `dir` (relative paths), sorted: for "the root is exactly as before" checks.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(base, &p, out);
            } else if m.file_type().is_symlink() {
                out.push((rel, std::fs::read_link(&p).unwrap().to_string_lossy().as_bytes().to_vec()));
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Snapshot without alp's own bookkeeping that legitimately changes on a failed run
/// (the log, the lock files, kept indexes and the cache's copies of them).
pub fn state_snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    snapshot(root)
        .into_iter()
        .filter(|(p, _)| {
            !p.starts_with("var/log/")
                && !p.starts_with("var/lib/alp/indexes")
                && p != "var/lib/alp/lock"
                && !p.starts_with("var/cache/alp/locks")
                && !p.starts_with("var/cache/alp/indexes")
        })
        .collect()
}

/// `len` printable characters that do not compress (xorshift), so an archive of them is as
/// big as they are: for downloads that must take a while.
pub fn noise(len: usize) -> String {
    let mut x = 0x2545f4914f6cdd1du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}
