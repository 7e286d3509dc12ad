//! `etc/alp/world`: the requests the user made, one a line; what `init` ensures by default.

use crate::config::Paths;
use crate::error::{self, Result};
use crate::fsutil;
use crate::version::Req;

pub fn read(paths: &Paths) -> Result<Vec<Req>> {
    let path = paths.world();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(error::io_at("reading", &path, e)),
    };
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| Req::parse(l).map_err(|e| e.context(path.display())))
        .collect()
}

/// A change to the world file, made as part of a transaction's commit.
#[derive(Debug, Default, Clone)]
pub struct Change {
    /// Requests to add, replacing any for the same name.
    pub add: Vec<Req>,
    /// Names whose requests go.
    pub drop: Vec<String>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.drop.is_empty()
    }

    /// The world file's text after this change.
    pub fn apply_to(&self, paths: &Paths) -> Result<String> {
        let mut world = read(paths)?;
        world.retain(|r| !self.drop.contains(&r.name) && !self.add.iter().any(|a| a.name == r.name));
        world.extend(self.add.iter().cloned());
        world.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(world.iter().map(|r| format!("{r}\n")).collect())
    }
}

/// Adds requests (replacing any for the same name) and drops removed names, on its own: for
/// changes with no transaction around them (nothing to install, a migration).
pub fn update(paths: &Paths, add: &[Req], drop: &[String]) -> Result<()> {
    let text = Change { add: add.to_vec(), drop: drop.to_vec() }.apply_to(paths)?;
    fsutil::ensure_dir(&paths.etc())?;
    fsutil::write_atomic(&paths.world(), text.as_bytes())
}
