//! The commit journal, `var/lib/alp/journal` (SPEC section 6): the renames and removals a
//! transaction is about to make. It exists only while a commit runs; if alp dies mid-commit
//! the next command finds it and rolls the commit forward (every step is idempotent).

use crate::config::Paths;
use crate::db::staging::{self, Record};
use crate::error::{self, IoContext, Result};
use crate::fsutil;
use crate::json::{self, Fields};
use crate::pathtext;
use miniserde::json::Value;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// Paths are relative to the install root.
#[derive(Debug, Default)]
pub struct Journal {
    /// (staged, final) pairs.
    pub renames: Vec<(String, String)>,
    pub removes: Vec<String>,
    /// Directories to remove if empty, deepest first.
    pub rmdirs: Vec<String>,
}

/// The database as it will be after the commit, staged beside the real one.
pub fn staged_db(paths: &Paths) -> PathBuf {
    fsutil::staging_path(&paths.db())
}

impl Journal {
    fn to_json(&self) -> String {
        let mut out = String::from("{\"renames\":[");
        for (i, (a, b)) in self.renames.iter().enumerate() {
            out.push_str(if i > 0 { ",[" } else { "[" });
            json::quote_into(&mut out, a);
            out.push(',');
            json::quote_into(&mut out, b);
            out.push(']');
        }
        for (key, list) in [("removes", &self.removes), ("rmdirs", &self.rmdirs)] {
            out.push_str(&format!("],\"{key}\":["));
            for (i, p) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::quote_into(&mut out, p);
            }
        }
        out.push_str("]}");
        out
    }

    fn parse(text: &str) -> Result<Journal> {
        let v = json::parse(text, "journal")?;
        let f = Fields::of(&v, "journal")?;
        let mut renames = Vec::new();
        for pair in f.array("renames")? {
            match pair {
                Value::Array(p) if p.len() == 2 => match (&p[0], &p[1]) {
                    (Value::String(a), Value::String(b)) => renames.push((a.clone(), b.clone())),
                    _ => return Err(error::bad_input("journal: bad rename entry")),
                },
                _ => return Err(error::bad_input("journal: bad rename entry")),
            }
        }
        Ok(Journal { renames, removes: f.strings("removes")?, rmdirs: f.strings("rmdirs")? })
    }

    /// Commits: journal durable first, then each step, then the database, then the journal goes.
    /// The caller has already written the new database to `staged_db`.
    ///
    /// Staged file data is not forced to disk (as with apk and pacman, and `tar x`): the
    /// journal and the database are, so a killed alp always recovers; after a power cut
    /// `alp doctor` finds any file whose content does not match its recorded sha256.
    ///
    /// Once the journal is durable the staging record goes: from then on the journal rolls
    /// the transaction forward, and the record must not undo it.
    pub fn commit(&self, paths: &Paths, record: Record) -> Result<()> {
        fsutil::write_atomic(&paths.journal(), self.to_json().as_bytes())?;
        record.close()?;
        crate::failpoint::hit("after-journal");
        self.apply(paths)
    }

    fn apply(&self, paths: &Paths) -> Result<()> {
        let root = &paths.root;
        move_into_place(root, &self.renames)?;
        for path in &self.removes {
            fsutil::remove_if_exists(&pathtext::under(root, path))?;
        }
        for dir in &self.rmdirs {
            // Only empty directories go; anything else someone still uses.
            let _ = std::fs::remove_dir(pathtext::under(root, dir));
        }
        let staged = staged_db(paths);
        if staged.exists() {
            std::fs::rename(&staged, paths.db()).at("moving into place", &paths.db())?;
        }
        fsutil::remove_if_exists(&paths.journal())?;
        fsutil::sync_dir(&paths.state())
    }
}

/// Finishes a commit that an earlier run left half done, or cleans up after a change that
/// died before its commit, then removes the temp files of alp's own writes that a killed run
/// left. Returns whether there was a commit to finish.
pub fn recover(paths: &Paths) -> Result<bool> {
    let finished = finish_or_clean(paths)?;
    for stale in staging::own_leftovers(paths) {
        fsutil::remove_if_exists(&stale)?;
    }
    Ok(finished)
}

fn finish_or_clean(paths: &Paths) -> Result<bool> {
    let path = paths.journal();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Staged files (and a staged database) without a journal are from a transaction
            // that died before its commit: they go, with the directories it made.
            if let Some(n) = staging::clean_up(paths)?
                && n > 0
            {
                crate::log::info(&format!("removed {n} staged files and directories of an interrupted change"));
            }
            fsutil::remove_if_exists(&staged_db(paths))?;
            return Ok(false);
        }
        Err(e) => return Err(error::io_at("reading", &path, e)),
    };
    let journal = Journal::parse(&text).map_err(|e| e.context(path.display()))?;
    // A record left beside the journal (a kill between the two) is the committed change's.
    fsutil::remove_if_exists(&paths.staging_record())?;
    journal.apply(paths)?;
    crate::log::info("completed a commit interrupted by an earlier run");
    Ok(true)
}

/// Renames every staged file onto its final path. Renames in one directory take that
/// directory's lock, so they are split by directory over a few threads, which then work in
/// different directories at once (a package of thousands of small files spends most of its
/// commit here). Each rename is independent of the others, so their order does not matter.
fn move_into_place(root: &Path, renames: &[(String, String)]) -> Result<()> {
    let lanes = crate::unpack::writer::count().min(renames.len() / 64).max(1);
    let mut split: Vec<Vec<&(String, String)>> = vec![Vec::new(); lanes];
    for pair in renames {
        let dir = pair.1.rsplit_once('/').map_or("", |(d, _)| d);
        let mut h = std::hash::DefaultHasher::new();
        dir.hash(&mut h);
        split[(h.finish() % lanes as u64) as usize].push(pair);
    }
    let Some((first, rest)) = split.split_first() else { return Ok(()) };
    std::thread::scope(|scope| {
        let others: Vec<_> = rest.iter().map(|lane| scope.spawn(|| rename_all(root, lane, false))).collect();
        let mut result = rename_all(root, first, true);
        for h in others {
            let r = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            result = result.and(r);
        }
        result
    })
}

fn rename_all(root: &Path, renames: &[&(String, String)], failpoint_lane: bool) -> Result<()> {
    for (i, (staged, dest)) in renames.iter().enumerate() {
        if failpoint_lane && i == renames.len() / 2 {
            crate::failpoint::hit("mid-commit");
        }
        let (staged, dest) = (pathtext::under(root, staged), pathtext::under(root, dest));
        match std::fs::rename(&staged, &dest) {
            Ok(()) => {}
            // Already renamed by an earlier, interrupted run.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(error::io_at("moving into place", &dest, e)),
        }
    }
    Ok(())
}
