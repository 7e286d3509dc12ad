//! The one path-safety check: an archive member's name becomes a root-relative path made of
//! plain components, or it is refused. Nothing here touches the filesystem.

use crate::error::{self, Result};
use std::path::{Component, Path};

/// Longest member name accepted (Linux PATH_MAX).
const MAX_PATH: usize = 4096;

/// Normalises `raw` (`./usr/bin/x` → `usr/bin/x`) or refuses it: absolute paths, `..`,
/// non-UTF-8, empty names and over-long names never reach the filesystem.
pub fn member_path(raw: &Path, archive: &str) -> Result<String> {
    let shown = raw.to_string_lossy();
    let refuse = |why: &str| error::bad_input(format!("{archive}: refusing member '{}': {why}", truncate(&shown)));
    if raw.as_os_str().len() > MAX_PATH {
        return Err(refuse("name is longer than 4096 bytes"));
    }
    let mut out = String::new();
    for c in raw.components() {
        match c {
            Component::Normal(part) => {
                let part = part.to_str().ok_or_else(|| refuse("name is not UTF-8"))?;
                if part.len() > 255 {
                    return Err(refuse("a path component is longer than 255 bytes"));
                }
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(part);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("it contains '..'")),
            Component::RootDir | Component::Prefix(_) => return Err(refuse("it is an absolute path")),
        }
    }
    if out.contains(['\0', '\n']) {
        return Err(refuse("name contains a control character"));
    }
    Ok(out)
}

fn truncate(s: &str) -> String {
    if s.len() <= 120 {
        return s.to_string();
    }
    let mut end = 120;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_pass_and_normalise() {
        assert_eq!(member_path(Path::new("./usr/bin/x"), "a").unwrap(), "usr/bin/x");
        assert_eq!(member_path(Path::new("usr//share/./doc/"), "a").unwrap(), "usr/share/doc");
    }

    #[test]
    fn escapes_are_refused() {
        for bad in ["../etc/passwd", "/etc/passwd", "usr/../../x", "a/../b"] {
            assert!(member_path(Path::new(bad), "a").is_err(), "{bad}");
        }
        let long = "a/".repeat(3000);
        assert!(member_path(Path::new(&long), "a").is_err());
        assert!(member_path(Path::new(&"x".repeat(300)), "a").is_err());
    }
}
