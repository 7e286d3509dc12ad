//! Hostile indexes and servers (SPEC sections 3-7): huge or deeply nested JSON, cycles,
//! 100k packages, wrong types, redirect loops, https→http downgrades, bodies larger than
//! declared. Each is one clear `alp: error:` line with its documented exit code (4 network,
//! 5 integrity, 6 bad input, 3 resolve), in bounded time and memory, root unchanged.

mod common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A package object with every field, for hand-made indexes.
fn package(name: &str, version: &str, deps: &[String]) -> String {
    let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
    format!(
        r#"{{"name":"{name}","version":"{version}","description":"package {name}","author":"a","license":"MIT","category":"test","depends":[{}],"conflicts":[],"provides":[],"file":"{name}-{version}.tar.gz","sha256":"{}","size":100,"installed_size":0}}"#,
        deps.join(","),
        "ab".repeat(32)
    )
}

fn index(packages: &[String]) -> String {
    format!(
        r#"{{"format":"alp-index-1","name":"t","serial":1,"generated":"2026-01-01T00:00:00Z","expires":null,"packages":[{}]}}"#,
        packages.join(",")
    )
}

/// A root and a local repository holding `index_json`; returns (root, repo).
fn local_repo(index_json: &[u8]) -> (TempDir, TempDir) {
    let repo = TempDir::new("hrepo");
    std::fs::write(repo.join("index.json"), index_json).unwrap();
    (TempDir::new("hroot"), repo)
}

fn repo_args(repo: &TempDir) -> Vec<String> {
    vec!["--repo".into(), repo.path().to_str().unwrap().into(), "--allow-untrusted".into()]
}

/// The root's files (alp may create its own empty directories, such as `var/lib/alp/`).
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    state_snapshot(root).into_iter().filter(|(p, _)| !p.ends_with('/')).collect()
}

/// Expects `alp ARGS` to fail with `code` and `needle`, leaving the root's files as they were.
#[track_caller]
fn refused(root: &TempDir, args: &[&str], code: i32, needle: &str) -> String {
    let before = files(root.path());
    let err = fails(alp(root.path()).args(args), code);
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(err.lines().all(|l| l.len() < 1000), "an error line is too long: {err}");
    assert_eq!(files(root.path()), before, "root changed: {err}");
    err
}

// ---------------------------------------------------------------------------------------
// Huge and deep JSON.

#[test]
fn an_index_over_64_mib_is_refused_without_reading_it_all() {
    // 70 MB: one long string in an unknown field, so only the cap can refuse it.
    let mut text = String::from(r#"{"format":"alp-index-1","packages":[],"pad":""#);
    text.push_str(&"x".repeat(70_000_000));
    text.push_str("\"}");
    let (root, repo) = local_repo(text.as_bytes());
    let args = repo_args(&repo);
    let started = Instant::now();
    let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
    argv.push("update");
    let (out, rss) = alp_measured(root.path(), &argv);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("index.json is larger than 64 MiB"), "{}", stderr(&out));
    eprintln!("70 MB index: refused in {took:?}, peak RSS {rss:?} KiB");
    // It reads up to the cap and no further: memory is the cap plus a little.
    assert!(rss.is_none_or(|r| r < 100 * 1024), "peak RSS {rss:?} KiB");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// minreq hands out a body byte by byte; the dev profile builds it at opt-level 3 so that
/// 64 MiB take well under a second even in debug builds.
#[test]
fn an_endless_index_from_a_server_stops_at_the_cap() {
    // No Content-Length, and the body never ends: alp stops reading at 64 MiB.
    let server = RawServer::start(|path, conn| {
        if path == "/index.json" {
            let _ = write!(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{{\"format\":\"alp-index-1\",\"pad\":\"");
            let chunk = vec![b'x'; 64 * 1024];
            while conn.write_all(&chunk).is_ok() {}
        } else {
            let _ = write!(conn, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let root = TempDir::new("hroot");
    let started = Instant::now();
    let url = server.url();
    let (out, rss) = alp_measured(root.path(), &["--repo", &url, "--allow-untrusted", "update"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("larger than 64 MiB"), "{}", stderr(&out));
    eprintln!("endless index over HTTP: refused in {took:?}, peak RSS {rss:?} KiB");
    assert!(rss.is_none_or(|r| r < 100 * 1024), "peak RSS {rss:?} KiB");
}

#[test]
fn deeply_nested_json_is_a_clear_error_not_a_crash() {
    let deep = 100_000;
    // Unclosed: invalid JSON.
    let (root, repo) = local_repo("[".repeat(deep).as_bytes());
    let args = repo_args(&repo);
    let argv: Vec<&str> = args.iter().map(String::as_str).chain(["update"]).collect();
    refused(&root, &argv, 6, "index.json is not valid JSON");
    // Balanced, where the packages should be, and inside a package's depends.
    let nested = format!("{}{}", "[".repeat(deep), "]".repeat(deep));
    let text = format!(r#"{{"format":"alp-index-1","packages":{nested}}}"#);
    let (root, repo) = local_repo(text.as_bytes());
    let args = repo_args(&repo);
    let argv: Vec<&str> = args.iter().map(String::as_str).chain(["update"]).collect();
    refused(&root, &argv, 6, "is not a JSON object");
    let text = index(&[package("a", "1", &[]).replace(r#""depends":[]"#, &format!(r#""depends":{nested}"#))]);
    let (root, repo) = local_repo(text.as_bytes());
    let args = repo_args(&repo);
    let argv: Vec<&str> = args.iter().map(String::as_str).chain(["update"]).collect();
    refused(&root, &argv, 6, "field 'depends' must be a list of strings");
    // Balanced, in a field alp does not read: harmless, and accepted.
    let text = format!(r#"{{"format":"alp-index-1","packages":[],"extra":{nested}}}"#);
    let (root, repo) = local_repo(text.as_bytes());
    ok(alp(root.path()).args(repo_args(&repo)).arg("update"));
}

// ---------------------------------------------------------------------------------------
// Wrong types, field by field.

/// Every field of the index and of a package, each given values of the wrong type.
#[test]
fn wrong_types_for_every_field_are_refused_naming_the_field() {
    use alp::error::Kind;
    use alp::repo::index::Index;
    let wrong = [r#"1"#, r#"-1"#, r#"1.5"#, r#"true"#, r#""s""#, r#"[]"#, r#"{}"#, r#"[1]"#, r#"null"#];
    let good_pkg = package("a", "1.0", &["b>=1".into()]);
    let mut checked = 0;
    let fields = [
        "name",
        "version",
        "description",
        "author",
        "license",
        "category",
        "depends",
        "conflicts",
        "provides",
        "file",
        "sha256",
        "size",
        "installed_size",
    ];
    for field in fields {
        for w in wrong {
            let v: miniserde::json::Value = miniserde::json::from_str(&good_pkg).unwrap();
            let miniserde::json::Value::Object(mut o) = v else { unreachable!() };
            let original = o.get(field).cloned().unwrap();
            let replacement: miniserde::json::Value = miniserde::json::from_str(w).unwrap();
            // Only the values that really are of another type (or missing where required).
            let same_type = std::mem::discriminant(&original) == std::mem::discriminant(&replacement)
                && !matches!((w, field), ("-1" | "1.5", "size" | "installed_size") | ("[1]", _));
            let optional = !matches!(field, "name" | "version" | "file" | "sha256" | "size");
            if same_type || (w == "null" && optional) {
                continue;
            }
            o.insert(field.to_string(), replacement);
            let text = index(&[miniserde::json::to_string(&miniserde::json::Value::Object(o))]);
            let e = Index::parse(&text, "index.json").expect_err(&format!("{field} = {w} was accepted"));
            assert_eq!(e.kind, Kind::BadInput, "{}", e.msg);
            assert!(e.msg.contains(&format!("'{field}'")) || e.msg.contains("not a valid"), "{field} = {w}: {}", e.msg);
            checked += 1;
        }
    }
    for (field, w) in [
        ("format", "1"),
        ("format", "null"),
        ("name", "1"),
        ("serial", "-1"),
        ("serial", "1.5"),
        ("serial", r#""1""#),
        ("generated", "[]"),
        ("expires", "5"),
        ("packages", "{}"),
        ("packages", r#""x""#),
        ("packages", "[1]"),
        ("packages", "null"),
    ] {
        let text = format!(r#"{{"format":"alp-index-1","packages":[],"{field}":{w}}}"#)
            .replacen(
                r#""format":"alp-index-1","#,
                if field == "format" { "" } else { r#""format":"alp-index-1","# },
                1,
            )
            .replacen(r#""packages":[],"#, if field == "packages" { "" } else { r#""packages":[],"# }, 1);
        let e = Index::parse(&text, "index.json").expect_err(&format!("{field} = {w} was accepted: {text}"));
        assert_eq!(e.kind, Kind::BadInput, "{}", e.msg);
        checked += 1;
    }
    assert!(checked > 80, "only {checked} cases");
    // Not an object at all.
    for text in ["[]", "1", "\"alp-index-1\"", "null", ""] {
        assert_eq!(Index::parse(text, "index.json").unwrap_err().kind, Kind::BadInput);
    }
    // And through the binary: exit code 6, one line naming the repository and the field.
    let text = index(&[good_pkg.replace(r#""size":100"#, r#""size":"100""#)]);
    let (root, repo) = local_repo(text.as_bytes());
    let args = repo_args(&repo);
    let argv: Vec<&str> = args.iter().map(String::as_str).chain(["update"]).collect();
    let e = refused(&root, &argv, 6, "field 'size' must be a non-negative integer");
    assert!(e.contains(&format!("repository {}", repo.path().display())), "{e}");
}

// ---------------------------------------------------------------------------------------
// Resolution: cycles and scale.

#[test]
fn dependency_cycles_are_named_and_nothing_is_installed() {
    for (pkgs, want) in [
        (vec![package("a", "1", &["b".into()]), package("b", "1", &["a".into()])], "dependency cycle:"),
        (vec![package("self", "1", &["self>=1".into()])], "dependency cycle: self 1 -> self 1"),
        (
            vec![package("x", "1", &["y".into()]), package("y", "1", &["z".into()]), package("z", "1", &["x".into()])],
            "dependency cycle:",
        ),
    ] {
        let (root, repo) = local_repo(index(&pkgs).as_bytes());
        let args = repo_args(&repo);
        let first = pkgs[0].split('"').nth(3).unwrap().to_string();
        let argv: Vec<&str> = args.iter().map(String::as_str).chain(["install", &first]).collect();
        let e = refused(&root, &argv, 3, want);
        assert!(e.contains(&format!("{first} 1")), "{e}");
    }
}

/// Builds an index of `n` packages: `p0 … p{n-1}`, where `p{i}` depends on `p{i+1}` for
/// the first `chain` packages.
fn big_index(n: usize, chain: usize) -> String {
    let pkgs: Vec<String> = (0..n)
        .map(|i| {
            package(
                &format!("p{i}"),
                &format!("1.{}", i % 7),
                &if i < chain { vec![format!("p{}>=1", i + 1)] } else { vec![] },
            )
        })
        .collect();
    index(&pkgs)
}

/// Times each command against an index of `n` packages served over HTTP (so the index is
/// fetched once by `update` and read from the kept copy after that).
fn scale(n: usize, chain: usize) -> Vec<(String, Duration, Option<u64>)> {
    let repo = TempDir::new("hrepo");
    std::fs::write(repo.join("index.json"), big_index(n, chain)).unwrap();
    let server = Server::start(repo.path());
    let root = TempDir::new("hroot");
    let url = server.url();
    let last = format!("p{}", n - 1);
    let mut out = Vec::new();
    for cmd in [vec!["update"], vec!["search", &last], vec!["info", "p1"], vec!["--simulate", "install", "p0"]] {
        let args: Vec<&str> = ["--repo", &url, "--allow-untrusted"].into_iter().chain(cmd.iter().copied()).collect();
        let started = Instant::now();
        let (o, rss) = alp_measured(root.path(), &args);
        let took = started.elapsed();
        assert!(o.status.success(), "{cmd:?}: {}", stderr(&o));
        if cmd[0] == "--simulate" {
            assert_eq!(stdout(&o).lines().filter(|l| l.contains("install p")).count(), chain + 1, "{}", stdout(&o));
        }
        eprintln!("{n} packages, {}: {took:?}, peak RSS {rss:?} KiB", cmd.join(" "));
        out.push((cmd.join(" "), took, rss));
    }
    out
}

#[test]
fn twenty_thousand_packages_and_a_thousand_deep_chain_resolve_quickly() {
    for (cmd, took, _) in scale(20_000, 1_000) {
        assert!(took < Duration::from_secs(10), "{cmd} took {took:?}");
    }
}

/// The full 100k (about 30 MB of index): slow in a debug build, so a measurement to run with
/// `cargo test --release --test hostile_index -- --ignored --nocapture`.
#[test]
#[ignore = "slow in debug builds: a measurement, run on demand"]
fn a_hundred_thousand_packages_and_a_ten_thousand_deep_chain() {
    for (cmd, took, _) in scale(100_000, 10_000) {
        assert!(took < Duration::from_secs(30), "{cmd} took {took:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Servers that misbehave.

/// A bare HTTP server whose every answer is written by `handler(path, connection)`.
struct RawServer {
    port: u16,
}

impl RawServer {
    fn start(handler: impl Fn(&str, &mut TcpStream) + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut line = String::new();
                    let _ = reader.read_line(&mut line);
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                    }
                    handler(&path, &mut conn);
                });
            }
        });
        RawServer { port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

#[test]
fn a_redirect_loop_ends_after_ten_hops() {
    let repo = TempDir::new("hrepo");
    std::fs::write(repo.join("index.json"), index(&[])).unwrap();
    let server = Server::start(repo.path());
    server.set("/index.json", Behaviour::Redirect("/b/index.json".into()));
    server.set("/b/index.json", Behaviour::Redirect(format!("{}/index.json", server.url())));
    let root = TempDir::new("hroot");
    let started = Instant::now();
    let e =
        refused(&root, &["--repo", &server.url(), "--allow-untrusted", "update"], 4, "redirects (a redirect loop?)");
    assert!(e.contains(&format!("repository {}", server.url())), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(server.hits("/index.json") + server.hits("/b/index.json") <= 11, "followed too many");
}

#[test]
fn an_archive_body_far_larger_than_declared_is_cut_off() {
    // The index says 1000 bytes. One server says so too (no Content-Length) and then sends
    // without end; another announces 10 GB up front.
    let mk = |announce: bool| {
        RawServer::start(move |path, conn| {
            if path == "/index.json" {
                let body = index(&[package("big", "1", &[]).replace(r#""size":100"#, r#""size":1000"#)]);
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            } else if path == "/big-1.tar.gz" {
                let len = if announce { "Content-Length: 10000000000\r\n" } else { "" };
                let _ = write!(conn, "HTTP/1.1 200 OK\r\n{len}Connection: close\r\n\r\n");
                let chunk = vec![0x1f; 64 * 1024];
                while conn.write_all(&chunk).is_ok() {}
            } else {
                let _ = write!(conn, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        })
    };
    for (announce, needle) in [(false, "larger than the 1000 bytes"), (true, "offers 10000000000 bytes")] {
        let server = mk(announce);
        let root = TempDir::new("hroot");
        let url = server.url();
        let started = Instant::now();
        let e = refused(&root, &["--repo", &url, "--allow-untrusted", "install", "big"], 5, needle);
        assert!(e.contains("big 1"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        let kept: Vec<_> = files(&root.join("var/cache"))
            .into_iter()
            .filter(|(p, _)| p.starts_with("alp/sha256") || p.starts_with("alp/tmp"))
            .collect();
        assert_eq!(kept, [], "a partial download was kept");
    }
}

/// A server whose every answer is headers and then `body_or_header` without end.
fn endless_server() -> RawServer {
    RawServer::start(|path, conn| {
        let chunk = vec![b'a'; 64 * 1024];
        match path {
            "/index.json" => {
                let body = index(&[]);
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                return;
            }
            "/index.json.minisig" => {
                let _ = write!(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntrusted comment: ");
            }
            _ => {
                let _ = write!(conn, "HTTP/1.1 200 OK\r\nX-Endless: ");
            }
        }
        while conn.write_all(&chunk).is_ok() {}
    })
}

#[test]
fn an_endless_signature_is_cut_off() {
    // index.json.minisig that never ends: read up to 64 KiB, then judged (and refused).
    let server = endless_server();
    let root = TempDir::new("hroot");
    // A key is trusted, so the signature is required and judged.
    let keys = root.join("etc/alp/keys");
    std::fs::create_dir_all(&keys).unwrap();
    let secret = TempDir::new("hkey");
    let mut keygen = alp(root.path());
    keygen.args(["key", "generate", "--unencrypted", "-s"]).arg(secret.join("k.key")).arg("-p").arg(keys.join("k.pub"));
    ok(&mut keygen);
    let started = Instant::now();
    let (o, rss) = alp_measured(root.path(), &["--repo", &server.url(), "update"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    eprintln!("endless signature: refused in {:?}, peak RSS {rss:?} KiB", started.elapsed());
    assert!(rss.is_none_or(|r| r < 32 * 1024), "peak RSS {rss:?} KiB");
}

/// Without a cap minreq would buffer a header line until the timeout (30 s by default):
/// 170 MiB in 2 s, gigabytes in a release build. alp caps the status line and headers.
#[test]
fn an_endless_response_header_is_refused_at_once() {
    let server = endless_server();
    let root = TempDir::new("hroot");
    let endless = format!("{}/endless", server.url());
    let started = Instant::now();
    let args = ["--repo", &endless, "--allow-untrusted", "update"];
    let (o, rss) = alp_measured_env(root.path(), &args, &[("ALP_TIMEOUT", "10"), ("ALP_RETRIES", "0")]);
    let took = started.elapsed();
    eprintln!("endless header line: exit {:?} in {took:?}, peak RSS {rss:?} KiB", o.status.code());
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(rss.is_none_or(|r| r < 32 * 1024), "peak RSS {rss:?} KiB");
}

/// A throwaway CA and a certificate for 127.0.0.1 signed by it, made with `openssl`;
/// returns (CA certificate, server certificate, server key), or `None` without openssl.
fn tls_files(dir: &Path) -> Option<(String, String, String)> {
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let (ca_key, ca, key, csr, cert, ext) =
        (p("ca.key"), p("ca.pem"), p("srv.key"), p("srv.csr"), p("srv.pem"), p("ext"));
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
        ]
        .into_iter()
        .chain(["-days", "1", "-subj", "/CN=alp test CA"])
        .collect::<Vec<_>>(),
        &["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", &key, "-out", &csr]
            .into_iter()
            .chain(["-subj", "/CN=127.0.0.1"])
            .collect::<Vec<_>>(),
        &["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial", "-out", &cert, "-days", "1"]
            .into_iter()
            .chain(["-extfile", &ext])
            .collect::<Vec<_>>(),
    ];
    for args in steps {
        let o = Command::new("openssl").args(args).output().ok()?;
        if !o.status.success() {
            eprintln!("openssl {args:?}: {}", stderr(&o));
            return None;
        }
    }
    Some((ca, cert, key))
}

/// A TLS server (below) with a certificate from a throwaway CA: (the directory holding the
/// files, the CA certificate's path, the server). `None`, after saying SKIPPED, when openssl or
/// python3 is missing.
fn tls_server(redirect_base: &str) -> Option<(TempDir, String, TlsServer)> {
    let dir = TempDir::new("htls");
    let Some((ca, cert, key)) = tls_files(dir.path()) else {
        eprintln!("SKIPPED: openssl is not available");
        return None;
    };
    let Some(tls) = TlsServer::start(&cert, &key, redirect_base) else {
        eprintln!("SKIPPED: python3 is not available");
        return None;
    };
    Some((dir, ca, tls))
}

/// An HTTPS server (Python's ssl module) that serves `/ok/index.json` (and 404 for the rest of
/// `/ok/`) and redirects every other path to `redirect_base` + path.
struct TlsServer {
    child: std::process::Child,
    port: u16,
}

impl TlsServer {
    fn start(cert: &str, key: &str, redirect_base: &str) -> Option<TlsServer> {
        const SCRIPT: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/ok/index.json':
            body = b'{"format":"alp-index-1","packages":[]}'
            self.send_response(200)
        elif self.path.startswith('/ok/'):
            body = b''
            self.send_response(404)
        else:
            body = b''
            self.send_response(302)
            self.send_header('Location', sys.argv[3] + self.path)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;
        let mut child = Command::new("python3")
            .args(["-c", SCRIPT, cert, key, redirect_base])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take()?).read_line(&mut line).ok()?;
        let port = line.trim().parse().ok()?;
        Some(TlsServer { child, port })
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_redirect_from_https_to_http_is_refused() {
    // The plain-HTTP target is a working repository: following the redirect would succeed.
    let repo = TempDir::new("hrepo");
    std::fs::write(repo.join("index.json"), index(&[])).unwrap();
    let plain = Server::start(repo.path());
    let Some((_dir, ca, tls)) = tls_server(&plain.url()) else { return };
    let https = format!("https://127.0.0.1:{}", tls.port);
    let root = TempDir::new("hroot");
    // The control: the same server, no redirect, verifies and works.
    ok(alp(root.path()).env("SSL_CERT_FILE", &ca).args([
        "--repo",
        &format!("{https}/ok"),
        "--allow-untrusted",
        "update",
    ]));
    let before = files(root.path());
    let mut cmd = alp(root.path());
    cmd.env("SSL_CERT_FILE", &ca).args(["--repo", &https, "--allow-untrusted", "update"]);
    let e = fails(&mut cmd, 4);
    assert!(e.contains("refusing redirect from https to http://"), "{e}");
    assert_eq!(plain.hits("/index.json"), 0, "the plain-HTTP URL was fetched");
    assert_eq!(files(root.path()), before);
}

#[test]
fn https_goes_through_a_proxy_tunnel_and_still_checks_the_certificate() {
    let Some((_dir, ca, tls)) = tls_server("http://127.0.0.1:9") else { return };
    let proxy = ForwardProxy::start();
    let https = format!("https://127.0.0.1:{}/ok", tls.port);
    let root = TempDir::new("hroot");
    ok(alp(root.path()).env("SSL_CERT_FILE", &ca).env("HTTPS_PROXY", proxy.url()).args([
        "--repo",
        &https,
        "--allow-untrusted",
        "update",
    ]));
    let want = format!("CONNECT 127.0.0.1:{} HTTP/1.1", tls.port);
    assert!(proxy.seen().iter().any(|(line, _)| *line == want), "{:?}", proxy.seen());
    // Through the tunnel the server is still verified: without its CA, no index.
    let root = TempDir::new("hroot");
    let e = fails(
        alp(root.path())
            .env("SSL_CERT_FILE", "/dev/null")
            .env("SSL_CERT_DIR", "/nonexistent")
            .env("HTTPS_PROXY", proxy.url())
            .env("ALP_RETRIES", "0")
            .args(["--repo", &https, "--allow-untrusted", "update"]),
        4,
    );
    assert!(e.contains("certificate") || e.contains("Certificate"), "{e}");
}

#[test]
fn ssl_cert_dir_adds_trusted_certificates() {
    let Some((_dir, ca, tls)) = tls_server("http://127.0.0.1:9") else { return };
    let https = format!("https://127.0.0.1:{}/ok", tls.port);
    let certs = TempDir::new("certdir");
    std::fs::copy(&ca, certs.join("test-ca.pem")).unwrap();
    std::fs::write(certs.join("README"), "not a certificate\n").unwrap();
    let run_with = |cert_dir: &str| {
        let root = TempDir::new("hroot");
        run(alp(root.path())
            .env("SSL_CERT_FILE", "/dev/null")
            .env("SSL_CERT_DIR", cert_dir)
            .env("ALP_RETRIES", "0")
            .args(["--repo", &https, "--allow-untrusted", "update"]))
    };
    let o = run_with(&format!("/nonexistent:{}", certs.path().display()));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_with("/nonexistent");
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
}
