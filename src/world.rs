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

/// Adds requests (replacing any for the same name) and drops removed names.
pub fn update(paths: &Paths, add: &[Req], drop: &[String]) -> Result<()> {
    let mut world = read(paths)?;
    world.retain(|r| !drop.contains(&r.name) && !add.iter().any(|a| a.name == r.name));
    world.extend(add.iter().cloned());
    world.sort_by(|a, b| a.name.cmp(&b.name));
    let text: String = world.iter().map(|r| format!("{r}\n")).collect();
    fsutil::ensure_dir(&paths.etc())?;
    fsutil::write_atomic(&paths.world(), text.as_bytes())
}
