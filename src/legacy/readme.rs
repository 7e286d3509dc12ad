//! README metadata lines, as the old `compile` and remote sources read them:
//! `name = …`, `ver = …`, `des = …`, `author`, `license`, `category`, `main`, `deps = [a, b]`.
//!
//! The old tool matched unanchored regular expressions (`name\s*=\s*(\S+)` also matched
//! inside `filename = x`). Here a key counts only at the start of a line (after optional
//! spaces or tabs), and a value never runs onto the next line. Matching is by hand; the
//! first line that matches a key wins, as with the old `re.search`.

use crate::error::{self, Result};
use crate::repo::index::Package;
use crate::version::{self, Req};

/// What a README declares.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub name: String,
    pub version: String,
    pub description: String,
    pub author: String,
    pub license: String,
    pub category: String,
    /// The main file, relative to the project (`main = app.py`).
    pub main: Option<String>,
    pub depends: Vec<String>,
}

/// How a value is taken after `key =`.
#[derive(Clone, Copy)]
enum Shape {
    /// `(\S+)`: one word.
    Word,
    /// `(.+)`: the rest of the line.
    Rest,
    /// `\[(.+?)\]`: a bracketed, comma-separated list.
    List,
}

/// The value of the first line that declares `key`, shaped like the old pattern's group.
fn find(text: &str, key: &str, shape: Shape) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim_start_matches([' ', '\t']).strip_prefix(key)?;
        let value = rest.trim_start().strip_prefix('=')?.trim_start().trim_end_matches('\r');
        match shape {
            Shape::Word => value.split_whitespace().next().map(str::to_string),
            Shape::Rest => Some(value.trim_end().to_string()).filter(|v| !v.is_empty()),
            Shape::List => {
                let inner = value.strip_prefix('[')?;
                let end = inner.find(']')?;
                Some(inner[..end].to_string()).filter(|v| !v.is_empty())
            }
        }
    })
}

impl Meta {
    /// Reads the metadata lines of a README. `what` names the file for errors.
    pub fn parse(text: &str, what: &str) -> Result<Meta> {
        let word = |k: &str| find(text, k, Shape::Word);
        let need = |k: &str, v: Option<String>| {
            v.ok_or_else(|| {
                error::bad_input(format!(
                    "{what}: no '{k} = …' line; the old layout needs name and ver lines, each at the start of a line"
                ))
            })
        };
        let meta = Meta {
            name: need("name", word("name"))?,
            version: need("ver", word("ver"))?,
            description: find(text, "des", Shape::Rest).unwrap_or_default(),
            author: word("author").unwrap_or_default(),
            license: word("license").unwrap_or_default(),
            category: word("category").unwrap_or_default(),
            main: word("main"),
            depends: find(text, "deps", Shape::List)
                .map(|l| l.split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect())
                .unwrap_or_default(),
        };
        meta.check(what)?;
        Ok(meta)
    }

    fn check(&self, what: &str) -> Result<()> {
        if !version::valid_name(&self.name) {
            return Err(error::bad_input(format!(
                "{what}: '{}' is not a valid package name (letters, digits, . _ + -)",
                self.name
            )));
        }
        if self.version.len() > 64 {
            return Err(error::bad_input(format!("{what}: version '{}' is longer than 64 characters", self.version)));
        }
        for d in &self.depends {
            Req::parse(d).map_err(|e| error::bad_input(format!("{what}: dependency '{d}': {}", e.msg)))?;
        }
        if let Some(m) = &self.main {
            check_file_name(m).map_err(|why| error::bad_input(format!("{what}: main file '{m}' {why}")))?;
        }
        Ok(())
    }

    /// The package these lines describe (no archive fields yet).
    pub fn package(&self) -> Package {
        Package {
            name: self.name.clone(),
            version: self.version.clone(),
            description: self.description.clone(),
            author: self.author.clone(),
            license: self.license.clone(),
            category: self.category.clone(),
            depends: self.depends.clone(),
            ..Package::default()
        }
    }
}

/// A main file must be a plain name inside the project: it becomes a path under the root.
pub fn check_file_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        Err("must be a plain file name in the project's top directory")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = "# Greeter\n\nname = greeter\nver = 1.2.0\ndes = Prints a friendly greeting\nauthor = Ayse\n\
                           license = MIT\ncategory = utilities\ndeps = [coreutils-lite]\nmain = greeter.sh\n\n## About\nA tiny demo.\n";

    #[test]
    fn reads_the_fixture_readme() {
        let m = Meta::parse(FIXTURE, "README.md").unwrap();
        assert_eq!(m.name, "greeter");
        assert_eq!(m.version, "1.2.0");
        assert_eq!(m.description, "Prints a friendly greeting");
        assert_eq!((m.author.as_str(), m.license.as_str(), m.category.as_str()), ("Ayse", "MIT", "utilities"));
        assert_eq!(m.depends, ["coreutils-lite"]);
        assert_eq!(m.main.as_deref(), Some("greeter.sh"));
    }

    #[test]
    fn keys_are_anchored_to_the_line_start() {
        let text = "filename = wrong\nsee the version = 9 note\n  name = right\nver=2.0\r\n";
        let m = Meta::parse(text, "README.md").unwrap();
        assert_eq!((m.name.as_str(), m.version.as_str()), ("right", "2.0"));
    }

    #[test]
    fn first_match_wins_and_lists_split_on_commas() {
        let text = "name = a\nname = b\nver = 1\ndeps = []\ndeps = [ x>=1.0 , y,, z ]\ndes =   \ndes = words here  \n";
        let m = Meta::parse(text, "R").unwrap();
        assert_eq!(m.name, "a");
        assert_eq!(m.depends, ["x>=1.0", "y", "z"]);
        assert_eq!(m.description, "words here");
    }

    #[test]
    fn name_and_ver_are_required_and_checked() {
        assert!(Meta::parse("ver = 1\n", "R").unwrap_err().msg.contains("'name = …'"));
        assert!(Meta::parse("name = a\n", "R").unwrap_err().msg.contains("'ver = …'"));
        assert!(Meta::parse("name = ../x\nver = 1\n", "R").is_err());
        assert!(Meta::parse("name = a\nver = 1\nmain = ../../etc/passwd\n", "R").is_err());
    }
}
