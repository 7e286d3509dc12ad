//! Where each member goes (SPEC section 3): `strip` leading components, put the tree
//! under `prefix`, or install only what `files` lists, each at its `dst`. Every placed path
//! goes through the same check as a member's own name (`path::member_path`).

use super::path::member_path;
use crate::error::{self, Result};
use crate::repo::index::Placement;
use std::collections::HashMap;

/// A member's place under the root, and the mode `files` gives it.
pub struct Placed {
    pub path: String,
    pub mode: Option<u32>,
}

pub struct Placer<'a> {
    place: &'a Placement,
    label: &'a str,
    /// Per `files` entry, the first member it matched.
    matched: Vec<Option<String>>,
    /// Archive path → placed path, for hard links (only when placement moves things).
    moved: HashMap<String, String>,
}

impl<'a> Placer<'a> {
    pub fn new(place: &'a Placement, label: &'a str) -> Placer<'a> {
        Placer { place, label, matched: vec![None; place.files.len()], moved: HashMap::new() }
    }

    /// Whether `.ALP/` members are metadata: only in an archive installed as it is.
    pub fn keeps_metadata(&self) -> bool {
        self.place.is_identity()
    }

    fn bad(&self, why: String) -> error::Error {
        error::bad_input(format!("{}: {why}", self.label))
    }

    /// Where member `rel` (already a checked path) goes; `None` when it is not installed.
    /// `whole`: the member is a raw file, which goes where its one `files` entry says.
    pub fn place(&mut self, rel: &str, is_dir: bool, whole: bool) -> Result<Option<Placed>> {
        if self.place.is_identity() && !whole {
            return Ok(Some(Placed { path: rel.to_string(), mode: None }));
        }
        if whole {
            let [only] = self.place.files.as_slice() else {
                return Err(self.bad(
                    "not an archive alp reads (.tar.zst, .tar.gz, .tar.xz, .zip); as a raw file it needs exactly one 'files' entry in the index saying where it goes"
                        .into(),
                ));
            };
            self.matched[0] = Some(rel.to_string());
            let path = self.checked_dst(&only.dst, rel)?;
            return Ok(Some(Placed { path, mode: only.mode.or(Some(0o755)) }));
        }
        let Some(stripped) = strip(rel, self.place.strip) else {
            if is_dir {
                return Ok(None);
            }
            return Err(self.bad(format!(
                "strip {} leaves nothing of member '{rel}'; lower 'strip' or list the files",
                self.place.strip
            )));
        };
        if self.place.files.is_empty() {
            let path =
                if self.place.prefix.is_empty() { stripped } else { format!("{}/{stripped}", self.place.prefix) };
            let path = self.check(&path)?;
            self.moved.insert(rel.to_string(), path.clone());
            return Ok(Some(Placed { path, mode: None }));
        }
        if is_dir {
            // Only the listed files are installed; their directories are made as needed.
            return Ok(None);
        }
        let mut hit: Option<usize> = None;
        for (i, f) in self.place.files.iter().enumerate() {
            if !glob(&f.src, &stripped) {
                continue;
            }
            if let Some(j) = hit {
                return Err(self.bad(format!(
                    "member '{stripped}' matches both '{}' and '{}' in 'files'",
                    self.place.files[j].src, f.src
                )));
            }
            hit = Some(i);
        }
        let Some(i) = hit else { return Ok(None) };
        let f = &self.place.files[i];
        if let Some(first) = &self.matched[i] {
            return Err(self.bad(format!(
                "'files' entry '{}' matches more than one member ('{first}' and '{stripped}'); make it match one",
                f.src
            )));
        }
        self.matched[i] = Some(stripped.clone());
        let path = self.checked_dst(&f.dst, &stripped)?;
        self.moved.insert(rel.to_string(), path.clone());
        Ok(Some(Placed { path, mode: f.mode }))
    }

    /// A `dst` ending in `/` is a directory: the member keeps its own file name there.
    fn checked_dst(&self, dst: &str, member: &str) -> Result<String> {
        let path = match dst.strip_suffix('/') {
            Some(dir) => format!("{dir}/{}", member.rsplit('/').next().unwrap_or(member)),
            None => dst.to_string(),
        };
        self.check(&path)
    }

    /// `path` is text as alp records names (`pathtext`), so it is checked as the bytes it
    /// stands for.
    fn check(&self, path: &str) -> Result<String> {
        let checked = member_path(&crate::pathtext::to_path(path), self.label)?;
        if checked.is_empty() || path.starts_with('/') {
            return Err(self.bad(format!("'{path}' is not a path inside the root")));
        }
        Ok(checked)
    }

    /// Where a hard link's target (an archive path) was placed.
    pub fn placed_target(&self, target: &str) -> String {
        if self.place.is_identity() {
            return target.to_string();
        }
        self.moved.get(target).cloned().unwrap_or_else(|| format!("(not installed: {target})"))
    }

    /// After the last member: every `files` entry must have matched one.
    pub fn finish(&self) -> Result<()> {
        for (f, m) in self.place.files.iter().zip(&self.matched) {
            if m.is_none() {
                return Err(self.bad(format!("'files' entry '{}' matches nothing in the archive", f.src)));
            }
        }
        Ok(())
    }
}

/// `rel` without its first `n` components; `None` when nothing is left.
fn strip(rel: &str, n: u32) -> Option<String> {
    let mut rest = rel;
    for _ in 0..n {
        rest = rest.split_once('/')?.1;
    }
    (!rest.is_empty()).then(|| rest.to_string())
}

/// Shell-style glob on `/`-separated paths: `*` and `?` stay within one component, `**`
/// crosses them, `[abc]` / `[a-z]` / `[!x]` match one character.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => match p[2..].split_first() {
            // `**/` is zero or more whole directories.
            Some(('/', rest)) => matches(rest, n) || (0..n.len()).any(|i| n[i] == '/' && matches(rest, &n[i + 1..])),
            _ => (0..=n.len()).any(|i| matches(&p[2..], &n[i..])),
        },
        Some('*') => {
            let mut i = 0;
            loop {
                if matches(&p[1..], &n[i..]) {
                    return true;
                }
                if i == n.len() || n[i] == '/' {
                    return false;
                }
                i += 1;
            }
        }
        Some('?') => n.first().is_some_and(|&c| c != '/') && matches(&p[1..], &n[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(2).position(|&c| c == ']').map(|i| i + 2) else {
                return n.first() == Some(&'[') && matches(&p[1..], &n[1..]);
            };
            let Some(&c) = n.first() else { return false };
            let (negate, set) = match p[1] {
                '!' | '^' => (true, &p[2..close]),
                _ => (false, &p[1..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && c != '/' && matches(&p[close + 1..], &n[1..])
        }
        Some(&c) => n.first() == Some(&c) && matches(&p[1..], &n[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("rg", "rg"));
        assert!(glob("*/rg", "ripgrep-14/rg"));
        assert!(!glob("*/rg", "a/b/rg"));
        assert!(glob("**/rg", "a/b/rg"));
        assert!(glob("**/rg", "rg"));
        assert!(glob("bin/*", "bin/x"));
        assert!(!glob("bin/*", "bin/x/y"));
        assert!(glob("doc/rg.[0-9]", "doc/rg.1"));
        assert!(!glob("doc/rg.[!0-9]", "doc/rg.1"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "a/c"));
    }

    #[test]
    fn strip_components() {
        assert_eq!(strip("a/b/c", 1).as_deref(), Some("b/c"));
        assert_eq!(strip("a", 1), None);
        assert_eq!(strip("a/b", 2), None);
        assert_eq!(strip("a/b", 0).as_deref(), Some("a/b"));
    }
}
