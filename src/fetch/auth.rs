//! Credentials: which ones go to a host, and where they came from (for an error that says
//! which source of credentials a server refused). Sources, first match wins:
//!
//! 1. the URL itself (`https://user:token@host/repo`);
//! 2. a bearer token from the environment, `ALP_TOKEN_<HOST>`: the host (with `:PORT` when
//!    the URL has one; tried first) upper-cased, every character that is not a letter or a
//!    digit turned into `_` (`ALP_TOKEN_PKGS_EXAMPLE_COM`, `ALP_TOKEN_127_0_0_1_8443`);
//! 3. netrc: `$NETRC`, else `~/.netrc`, then `etc/alp/netrc` under the install root;
//! 4. for OCI registries only, the Docker client's `config.json`: `$DOCKER_CONFIG/config.json`,
//!    else `~/.docker/config.json`, read as the Docker client reads it: a credential helper
//!    named for the registry in `credHelpers`, else the `credsStore` helper, else inline
//!    `auths` (`auth` or `username`/`password`). A helper is the program
//!    `docker-credential-<name>` on `PATH`, asked `get` with the registry on its input, as
//!    the Docker client asks it (so `ecr-login`, `gcloud`, `pass`, `secretservice` all work);
//!    its answer is asked for once per registry and run.
//!
//! All of it is read once (`init`, at the top of a command). Credentials belong to one
//! authority (host and port): `fetch::http` never sends them to another, not even across a
//! redirect. They are never printed: `redact` is how a URL appears in messages and records.

use super::netrc;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Username and password, or a bearer token.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Basic { user: String, password: String },
    Bearer(String),
}

/// Credentials for one host, and a phrase naming where they came from.
#[derive(Clone)]
pub struct Creds {
    pub secret: Secret,
    /// "the URL", "netrc /root/.netrc", "ALP_TOKEN_HOST", "Docker config /root/.docker/config.json".
    pub from: String,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Creds(*** from {})", self.from)
    }
}

impl Creds {
    /// The `Authorization` header value.
    pub fn header(&self) -> String {
        match &self.secret {
            Secret::Basic { user, password } => {
                format!("Basic {}", super::client::base64(format!("{user}:{password}").as_bytes()))
            }
            Secret::Bearer(t) => format!("Bearer {t}"),
        }
    }
}

/// Every source of credentials but the URL, read once.
#[derive(Default)]
pub struct Keychain {
    netrc: Vec<(PathBuf, Vec<netrc::Entry>)>,
    /// `ALP_TOKEN_*` variables.
    tokens: Vec<(String, String)>,
    docker: Option<(PathBuf, DockerConfig)>,
    /// What credential helpers answered, by registry (`None`: they had nothing).
    asked: Mutex<Vec<(String, Option<Creds>)>>,
}

/// What alp reads of a Docker `config.json`.
#[derive(Default)]
struct DockerConfig {
    auths: Vec<(String, Secret)>,
    /// `credHelpers`: registry → helper name.
    helpers: Vec<(String, String)>,
    /// `credsStore`: the helper for every other registry.
    store: Option<String>,
}

static KEYCHAIN: OnceLock<Keychain> = OnceLock::new();

/// Reads the environment and the credential files for the install root `root`.
pub fn init(root: &Path) {
    let _ = KEYCHAIN.set(Keychain::load(root));
}

/// The keychain `init` read (for the root `/` when nothing called it).
pub fn keychain() -> &'static Keychain {
    KEYCHAIN.get_or_init(|| Keychain::load(Path::new("/")))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

impl Keychain {
    pub fn load(root: &Path) -> Keychain {
        let mut files: Vec<PathBuf> = Vec::new();
        match std::env::var_os("NETRC").filter(|v| !v.is_empty()) {
            Some(p) => files.push(PathBuf::from(p)),
            None => files.extend(home().map(|h| h.join(".netrc"))),
        }
        files.push(root.join("etc/alp/netrc"));
        let netrc = files
            .into_iter()
            .filter_map(|p| {
                let text = std::fs::read_to_string(&p).ok()?;
                Some((p, netrc::parse(&text)))
            })
            .collect();
        let tokens = std::env::vars().filter(|(k, v)| k.starts_with("ALP_TOKEN_") && !v.is_empty()).collect();
        let docker_file = match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
            Some(d) => Some(PathBuf::from(d).join("config.json")),
            None => home().map(|h| h.join(".docker/config.json")),
        };
        let docker = docker_file.and_then(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p, docker_config(&text)))
        });
        Keychain { netrc, tokens, docker, asked: Mutex::new(Vec::new()) }
    }

    /// Credentials for `host:port` (`registry`: also the Docker config), if any source has some.
    pub fn lookup(&self, host: &str, port: u16, registry: bool) -> Option<Creds> {
        for name in [token_var(&format!("{host}:{port}")), token_var(host)] {
            if let Some((_, v)) = self.tokens.iter().find(|(k, _)| *k == name) {
                return Some(Creds { secret: Secret::Bearer(v.clone()), from: format!("environment variable {name}") });
            }
        }
        for (path, entries) in &self.netrc {
            if let Some(e) = netrc::find(entries, host) {
                let secret = Secret::Basic { user: e.login.clone(), password: e.password.clone() };
                return Some(Creds { secret, from: format!("netrc {}", path.display()) });
            }
        }
        if registry && let Some((path, docker)) = &self.docker {
            let with_port = format!("{host}:{port}");
            let pick = |list: &[(String, String)]| {
                list.iter().find(|(k, _)| *k == with_port).or_else(|| list.iter().find(|(k, _)| k == host)).cloned()
            };
            // A store is asked for the registry as Docker names it: no port when it is the default.
            let server = if port == 443 || port == 80 { host.to_string() } else { with_port.clone() };
            let helper = pick(&docker.helpers).or_else(|| docker.store.clone().map(|s| (server, s)));
            if let Some((server, helper)) = helper {
                return self.ask_helper(&server, &helper);
            }
            let found = docker
                .auths
                .iter()
                .find(|(k, _)| *k == with_port)
                .or_else(|| docker.auths.iter().find(|(k, _)| k == host));
            if let Some((_, secret)) = found {
                return Some(Creds { secret: secret.clone(), from: format!("Docker config {}", path.display()) });
            }
        }
        None
    }

    /// Credentials from a Docker credential helper, asked once per registry and run.
    fn ask_helper(&self, server: &str, helper: &str) -> Option<Creds> {
        let mut asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, creds)) = asked.iter().find(|(s, _)| s == server) {
            return creds.clone();
        }
        let creds = helper::get(helper, server)
            .map(|secret| Creds { secret, from: format!("Docker credential helper docker-credential-{helper}") });
        asked.push((server.to_string(), creds.clone()));
        creds
    }
}

/// The Docker credential-helper protocol, `get` only: the registry on standard input, a
/// JSON object with `Username` and `Secret` on standard output.
mod helper {
    use super::Secret;
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// A helper waiting on a locked keychain or a prompt is given up on after this.
    const PATIENCE: Duration = Duration::from_secs(30);

    pub(super) fn get(name: &str, server: &str) -> Option<Secret> {
        // A name, not a path: the program is looked up on PATH, as Docker does.
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
            crate::log::info(&format!("ignoring credential helper '{name}': not a helper name"));
            return None;
        }
        let program = format!("docker-credential-{name}");
        let mut child = match Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                crate::log::info(&format!("credential helper {program} could not run: {e}"));
                return None;
            }
        };
        let _ = child.stdin.take().map(|mut i| i.write_all(server.as_bytes()));
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() < PATIENCE => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    crate::log::info(&format!("credential helper {program} did not answer; ignored"));
                    return None;
                }
            }
        };
        // Read once it has exited: an answer is a few hundred bytes, well within a pipe's buffer.
        let mut out = String::new();
        let _ = child.stdout.take().map(|o| o.take(64 * 1024).read_to_string(&mut out));
        if !status.success() {
            // "credentials not found in native keychain": nothing for this registry.
            return None;
        }
        answer(&out)
    }

    /// The helper's answer. `<token>` as the user marks an identity token (a refresh token
    /// for the registry's OAuth2 flow), which alp does not use.
    pub(super) fn answer(out: &str) -> Option<Secret> {
        let v = crate::json::parse(out, "credential helper answer").ok()?;
        let miniserde::json::Value::Object(o) = v else { return None };
        let s = |k: &str| match o.get(k) {
            Some(miniserde::json::Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let (user, password) = (s("Username")?, s("Secret")?);
        if user == "<token>" || password.is_empty() {
            return None;
        }
        Some(Secret::Basic { user, password })
    }
}

/// `ALP_TOKEN_` and the host upper-cased, other than letters and digits as `_`.
pub fn token_var(host: &str) -> String {
    let tail: String =
        host.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("ALP_TOKEN_{tail}")
}

/// A Docker `config.json`'s registries are keyed by `host[:port]` (scheme and path dropped,
/// as the Docker client writes `https://index.docker.io/v1/`).
fn registry_key(key: &str) -> String {
    key.split("://").last().unwrap_or(key).split('/').next().unwrap_or("").to_ascii_lowercase()
}

/// `auths`, `credHelpers` and `credsStore` of a Docker `config.json`.
fn docker_config(text: &str) -> DockerConfig {
    let Ok(miniserde::json::Value::Object(top)) = crate::json::parse(text, "config.json") else {
        return DockerConfig::default();
    };
    let helpers = match top.get("credHelpers") {
        Some(miniserde::json::Value::Object(h)) => h
            .iter()
            .filter_map(|(k, v)| match v {
                miniserde::json::Value::String(name) if !name.is_empty() => Some((registry_key(k), name.clone())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let store = match top.get("credsStore") {
        Some(miniserde::json::Value::String(name)) if !name.is_empty() => Some(name.clone()),
        _ => None,
    };
    DockerConfig { auths: docker_auths(&top), helpers, store }
}

/// The inline credentials of `auths`.
fn docker_auths(top: &miniserde::json::Object) -> Vec<(String, Secret)> {
    let Some(miniserde::json::Value::Object(auths)) = top.get("auths") else { return Vec::new() };
    let s = |o: &miniserde::json::Object, k: &str| match o.get(k) {
        Some(miniserde::json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let mut out = Vec::new();
    for (key, entry) in auths.iter() {
        let miniserde::json::Value::Object(o) = entry else { continue };
        let host = registry_key(key);
        let secret = if let Some(token) = s(o, "registrytoken") {
            Secret::Bearer(token)
        } else if let Some((user, password)) = s(o, "auth")
            .and_then(|a| crate::legacy::base64::decode(&a))
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.split_once(':').map(|(u, p)| (u.to_string(), p.to_string())))
        {
            Secret::Basic { user, password }
        } else if let (Some(user), Some(password)) = (s(o, "username"), s(o, "password")) {
            Secret::Basic { user, password }
        } else {
            continue;
        };
        out.push((host, secret));
    }
    out
}

/// Splits `scheme://user:pass@host/…` into the URL without its user part and the
/// credentials it carried (percent-escapes decoded).
pub fn split_userinfo(url: &str) -> (String, Option<Creds>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_string(), None) };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..auth_end].rfind('@') else { return (url.to_string(), None) };
    let (user, password) = match rest[..at].split_once(':') {
        Some((u, p)) => (unescape(u), unescape(p)),
        None => (unescape(&rest[..at]), String::new()),
    };
    let clean = format!("{scheme}://{}", &rest[at + 1..]);
    (clean, Some(Creds { secret: Secret::Basic { user, password }, from: "the URL".to_string() }))
}

/// The URL as messages, logs, `--json` and records show it: any password as `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..auth_end].rfind('@') else { return url.to_string() };
    let user = rest[..at].split(':').next().unwrap_or("");
    format!("{scheme}://{user}:***@{}", &rest[at + 1..])
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_secrets() {
        let (clean, creds) = split_userinfo("https://ci:t%40ken@pkgs.example/repo");
        assert_eq!(clean, "https://pkgs.example/repo");
        let creds = creds.unwrap();
        assert!(creds.secret == Secret::Basic { user: "ci".into(), password: "t@ken".into() });
        assert_eq!(redact("https://ci:tok@pkgs.example/r@1"), "https://ci:***@pkgs.example/r@1");
        assert_eq!(redact("https://pkgs.example/r@1"), "https://pkgs.example/r@1");
        assert!(!format!("{creds:?}").contains("t@ken"));
        assert_eq!(split_userinfo("/srv/repo").0, "/srv/repo");
    }

    #[test]
    fn token_variables_are_named_after_the_host() {
        assert_eq!(token_var("pkgs.example.com"), "ALP_TOKEN_PKGS_EXAMPLE_COM");
        assert_eq!(token_var("127.0.0.1:8443"), "ALP_TOKEN_127_0_0_1_8443");
    }

    #[test]
    fn docker_config_auths() {
        let text =
            r#"{"auths":{"https://reg.example:5000/v1/":{"auth":"dTpw"},"other":{"username":"a","password":"b"}}}"#;
        let auths = docker_config(text).auths;
        assert_eq!(auths[0].0, "reg.example:5000");
        assert!(auths[0].1 == Secret::Basic { user: "u".into(), password: "p".into() });
        assert!(auths[1].1 == Secret::Basic { user: "a".into(), password: "b".into() });
    }

    #[test]
    fn docker_config_helpers_and_their_answers() {
        let c = docker_config(r#"{"credsStore":"desktop","credHelpers":{"https://ecr.example:443/x":"ecr-login"}}"#);
        assert_eq!(c.helpers, [("ecr.example:443".to_string(), "ecr-login".to_string())]);
        assert_eq!(c.store.as_deref(), Some("desktop"));
        let basic = helper::answer(r#"{"ServerURL":"r","Username":"AWS","Secret":"s3cret"}"#);
        assert!(basic == Some(Secret::Basic { user: "AWS".into(), password: "s3cret".into() }));
        assert!(helper::answer(r#"{"Username":"<token>","Secret":"refresh"}"#).is_none());
        assert!(helper::answer("credentials not found in native keychain").is_none());
    }
}
