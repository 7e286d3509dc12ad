//! What every command works with: paths, settings, global flags, and the shared first steps
//! (take the lock and recover, load the indexes).

use crate::config::{Config, Paths};
use crate::db::{journal, lock};
use crate::error::Result;
use crate::fetch::http::Net;
use crate::repo::{self, Access, Loaded, Repo};
use std::sync::OnceLock;

pub struct Ctx {
    pub paths: Paths,
    /// Read on first use, through `config()`: init's fast path reads the database and
    /// nothing else.
    pub config: OnceLock<Config>,
    /// `--offline` or `ALP_OFFLINE`.
    pub offline: bool,
    /// `--repo` URLs, added to the configured ones.
    pub cli_repos: Vec<String>,
    pub json: bool,
    pub quiet: bool,
    pub yes: bool,
    pub simulate: bool,
    pub allow_untrusted: bool,
    pub allow_setuid: bool,
    /// The arch packages are picked for (`--arch`, else this binary's).
    pub arch: String,
}

impl Ctx {
    /// The settings (`config.json` and `ALP_<KEY>`), read once, on first use.
    pub fn config(&self) -> Result<&Config> {
        if let Some(config) = self.config.get() {
            return Ok(config);
        }
        let config = Config::load(&self.paths)?;
        crate::log::limit(config.log_size);
        Ok(self.config.get_or_init(|| config))
    }

    /// Writes the log now, rotated at the `log_size` setting (read now if nothing has yet).
    pub fn flush_log(&self) {
        if crate::log::pending() {
            let _ = self.config();
        }
        crate::log::flush();
    }

    pub fn net(&self) -> Result<Net> {
        let config = self.config()?;
        Ok(Net { timeout: config.timeout, retries: config.retries, offline: self.offline })
    }

    pub fn access(&self) -> Result<Access<'_>> {
        Ok(Access {
            paths: &self.paths,
            config: self.config()?,
            net: self.net()?,
            allow_untrusted: self.allow_untrusted,
            simulate: self.simulate,
        })
    }

    pub fn repos(&self) -> Result<Vec<Repo>> {
        repo::configured(&self.paths, &self.cli_repos)
    }

    pub fn load_indexes(&self) -> Result<Vec<Loaded>> {
        repo::load_all(&self.access()?, &self.repos()?)
    }

    /// Takes the root's lock (waiting, with a message) and finishes any interrupted commit.
    /// From here on SIGINT, SIGTERM and SIGHUP stop the change cleanly (`interrupt`).
    pub fn lock(&self) -> Result<lock::Lock> {
        crate::interrupt::catch();
        let l = lock::acquire(&self.paths, self.quiet)?;
        if journal::recover(&self.paths)? {
            crate::ui::status("alp: completed a commit that an earlier run left unfinished");
        }
        Ok(l)
    }
}
