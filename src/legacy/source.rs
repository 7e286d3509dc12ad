//! `legacy+URL` repository lines (SPEC section 3): a project in the old layout, served as
//! plain files (`README.md` with metadata lines, `alp.sh`, `alp_u.sh`, the main file).
//!
//! `fetch` gets those files, builds them into a normal archive with
//! `compile::build_old_layout` in the repository's kept-index directory, and returns a
//! one-package `alp-index-1` index whose `file` is that archive (`file://` URL with its
//! sha256 and size), which `repo` keeps like any other. From there on the package installs
//! like any other.
//!
//! GitHub project URLs (`https://github.com/OWNER/REPO`, optionally `/tree/BRANCH`) map to
//! `{legacy_raw_base}/OWNER/REPO/{main, then master}/FILE`, as the old tool read them; any
//! other URL or path is the directory the files are in. Nothing in an old project can be
//! signed, so a legacy source needs `--allow-untrusted` (or `verify_packages: false`).

use super::compile;
use super::readme::Meta;
use crate::error::{self, Cause, IoContext, Result};
use crate::fetch::http::{self, Fetched, Net};
use crate::repo::index::Index;
use crate::verify::digest;
use crate::{fsutil, timefmt};
use std::io::Read;
use std::path::Path;

pub const PREFIX: &str = crate::fetch::source::LEGACY;

/// Caps on what a project may serve: text files, and the main file.
const MAX_TEXT: u64 = 1 << 20;
const MAX_MAIN: u64 = 256 << 20;

/// The URL without `legacy+`.
pub fn inner_url(url: &str) -> &str {
    url.strip_prefix(PREFIX).unwrap_or(url)
}

/// The directories to try for a project's files, in order.
pub fn bases(url: &str, raw_base: &str) -> Vec<String> {
    let url = inner_url(url).trim_end_matches('/');
    let Some((owner, repo, branch)) = github_project(url) else { return vec![url.to_string()] };
    let raw = raw_base.trim_end_matches('/');
    match branch {
        Some(b) => vec![format!("{raw}/{owner}/{repo}/{b}")],
        None => ["main", "master"].iter().map(|b| format!("{raw}/{owner}/{repo}/{b}")).collect(),
    }
}

/// `(owner, repo, branch)` of a `github.com` project URL.
fn github_project(url: &str) -> Option<(&str, &str, Option<&str>)> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let rest = rest.strip_prefix("www.").unwrap_or(rest).strip_prefix("github.com/")?;
    let mut parts = rest.splitn(4, '/');
    let owner = parts.next().filter(|s| !s.is_empty())?;
    let repo = parts.next().map(|r| r.trim_end_matches(".git")).filter(|s| !s.is_empty())?;
    let branch = match (parts.next(), parts.next()) {
        (Some("tree"), Some(b)) if !b.is_empty() => Some(b),
        (None, _) => None,
        _ => return None,
    };
    Some((owner, repo, branch))
}

/// Fetches the project at `url` (without `legacy+`), builds its archive into `dir` and
/// returns the index that points at it. `what` names the repository in errors.
pub fn fetch(net: &Net, raw_base: &str, url: &str, dir: &Path, what: &str) -> Result<Index> {
    fsutil::ensure_dir(dir)?;
    let work = dir.join("src.tmp");
    let _ = std::fs::remove_dir_all(&work);
    fsutil::ensure_dir(&work)?;
    let result = fetch_and_build(net, raw_base, url, &work, dir, what);
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Downloads the project's files into `work`, builds the archive into `dir`, and returns
/// the one-package index that points at it.
fn fetch_and_build(net: &Net, raw_base: &str, url: &str, work: &Path, dir: &Path, what: &str) -> Result<Index> {
    let tried = bases(url, raw_base);
    let mut found = None;
    for base in &tried {
        if fetch_to(net, &http::join_url(base, "README.md"), &work.join("README.md"), MAX_TEXT, what)?.is_some() {
            found = Some(base.clone());
            break;
        }
    }
    let Some(base) = found else {
        let urls: Vec<String> = tried.iter().map(|b| http::join_url(b, "README.md")).collect();
        return Err(error::network(format!("{what}: no README.md at {}", urls.join(" or "))));
    };
    let readme = std::fs::read_to_string(work.join("README.md"))
        .map_err(|_| error::bad_input(format!("{what}: README.md is not UTF-8 text")))?;
    let meta = Meta::parse(&readme, &format!("{what}: README.md"))?;
    let alp_sh = http::join_url(&base, "alp.sh");
    if fetch_to(net, &alp_sh, &work.join("alp.sh"), MAX_TEXT, what)?.is_none() {
        return Err(error::network(format!("{what}: {alp_sh} not found; a legacy project needs alp.sh")));
    }
    fetch_to(net, &http::join_url(&base, "alp_u.sh"), &work.join("alp_u.sh"), MAX_TEXT, what)?;
    if let Some(main) = &meta.main {
        fetch_to(net, &http::join_url(&base, main), &work.join(main), MAX_MAIN, what)?;
    }
    let archive = compile::build_old_layout(work, dir, crate::archive::Format::TarZst)?;
    // Earlier builds of this source are superseded (only now: a failed build keeps them).
    for e in std::fs::read_dir(dir).at("reading", dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.contains(".tar.") && e.path() != archive {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let archive = std::path::absolute(&archive).at("resolving", &archive)?;
    let mut pkg = meta.package();
    pkg.sha256 = digest::sha256_file(&archive).at("reading", &archive)?;
    pkg.size = std::fs::metadata(&archive).at("reading", &archive)?.len();
    pkg.installed_size = meta.main.as_ref().and_then(|m| std::fs::metadata(work.join(m)).ok()).map_or(0, |m| m.len());
    pkg.file = format!("file://{}", archive.display());
    Ok(Index {
        name: inner_url(url).to_string(),
        serial: 0,
        generated: timefmt::format(timefmt::now()),
        expires: None,
        packages: vec![pkg],
    })
}

/// GETs `url` into `dest`; `None` when the server (or directory) has no such file.
fn fetch_to(net: &Net, url: &str, dest: &Path, cap: u64, what: &str) -> Result<Option<u64>> {
    let body = match http::get(url, net, None, None) {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified) => return Err(error::network(format!("{what}: unexpected 304 from {url}"))),
        Err(e) if e.cause == Cause::NotFound => return Ok(None),
        Err(e) => return Err(e.context(what)),
    };
    let mut file = std::fs::File::create(dest).at("creating", dest)?;
    let n = std::io::copy(&mut body.reader.take(cap + 1), &mut file)
        .map_err(|e| digest::read_error(&format!("{what}: {url}"), e))?;
    if n > cap {
        return Err(error::bad_input(format!("{what}: {url} is larger than {} MiB; refusing it", cap >> 20)));
    }
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_projects_map_to_raw_files() {
        let raw = "https://raw.githubusercontent.com/";
        assert_eq!(
            bases("legacy+https://github.com/ayse/greeter", raw),
            [
                "https://raw.githubusercontent.com/ayse/greeter/main",
                "https://raw.githubusercontent.com/ayse/greeter/master"
            ]
        );
        assert_eq!(
            bases("legacy+https://www.github.com/ayse/greeter.git/", "http://127.0.0.1:9")[1],
            "http://127.0.0.1:9/ayse/greeter/master"
        );
        assert_eq!(bases("legacy+https://github.com/a/b/tree/dev", raw), ["https://raw.githubusercontent.com/a/b/dev"]);
    }

    #[test]
    fn other_urls_are_the_project_directory() {
        assert_eq!(bases("legacy+http://example.org/greeter/", "x"), ["http://example.org/greeter"]);
        assert_eq!(bases("legacy+/srv/greeter", "x"), ["/srv/greeter"]);
        assert_eq!(bases("legacy+https://github.com/only-owner", "x"), ["https://github.com/only-owner"]);
    }
}
