//! What every command works with: paths, settings, global flags, and the shared first steps
//! (take the lock and recover, load the indexes).

use crate::config::{Config, Paths};
use crate::db::{journal, lock};
use crate::error::Result;
use crate::fetch::http::Net;
use crate::repo::{self, Access, Loaded, Repo};

pub struct Ctx {
    pub paths: Paths,
    pub config: Config,
    pub net: Net,
    /// `--repo` URLs, added to the configured ones.
    pub cli_repos: Vec<String>,
    pub json: bool,
    pub quiet: bool,
    pub yes: bool,
    pub simulate: bool,
    pub allow_untrusted: bool,
    pub allow_setuid: bool,
}

impl Ctx {
    pub fn access(&self) -> Access<'_> {
        Access { paths: &self.paths, config: &self.config, net: &self.net, allow_untrusted: self.allow_untrusted }
    }

    pub fn repos(&self) -> Result<Vec<Repo>> {
        repo::configured(&self.paths, &self.cli_repos)
    }

    pub fn load_indexes(&self) -> Result<Vec<Loaded>> {
        repo::load_all(&self.access(), &self.repos()?)
    }

    /// Takes the root's lock (waiting, with a message) and finishes any interrupted commit.
    pub fn lock(&self) -> Result<lock::Lock> {
        let l = lock::acquire(&self.paths, self.quiet)?;
        if journal::recover(&self.paths)? {
            crate::ui::status("alp: completed a commit that an earlier run left unfinished");
        }
        Ok(l)
    }
}
