//! `update`: refresh every repository's index (conditional GET), verified, kept.

use crate::cmd::print_json;
use crate::ctx::Ctx;
use crate::error::{self, Result};
use crate::json;
use crate::repo::{self, Refreshed};

pub fn update(ctx: &Ctx) -> Result<i32> {
    let repos = ctx.repos()?;
    if repos.is_empty() {
        return Err(error::usage(format!(
            "no repositories configured; add one to {} or pass --repo URL",
            ctx.paths.repositories().display()
        )));
    }
    let _lock = if ctx.simulate { None } else { Some(ctx.lock()?) };
    let mut report = Vec::new();
    let mut changed = false;
    // One repository that cannot be reached among several is a warning (its kept index stays
    // as it was); every one of them unreachable, or one that fails verification, is an error.
    let mut unreachable = Vec::new();
    for r in &repos {
        let refreshed = match repo::refresh(&ctx.access()?, r, true) {
            Ok((refreshed, _)) => refreshed,
            Err(e) if e.cause == error::Cause::Unreachable && repos.len() > 1 => {
                crate::ui::warn(&format!("{}; keeping its last index", e.msg));
                report.push(json::object(vec![
                    ("url", json::string(&r.url)),
                    ("changed", miniserde::json::Value::Bool(false)),
                    ("error", json::string(&e.msg)),
                ]));
                unreachable.push(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let state = match refreshed {
            Refreshed::Unchanged => {
                crate::ui::status(&format!("{}: up to date", r.url));
                json::object(vec![("url", json::string(&r.url)), ("changed", miniserde::json::Value::Bool(false))])
            }
            Refreshed::Updated { packages, serial } => {
                changed = true;
                crate::ui::status(&format!(
                    "{}: {} (serial {serial})",
                    r.url,
                    crate::cmd::query::count(packages, "package")
                ));
                json::object(vec![
                    ("url", json::string(&r.url)),
                    ("changed", miniserde::json::Value::Bool(true)),
                    ("packages", json::number(packages as u64)),
                    ("serial", json::number(serial)),
                ])
            }
        };
        report.push(state);
    }
    if unreachable.len() == repos.len() {
        return Err(unreachable.swap_remove(0));
    }
    if ctx.json {
        print_json(&json::object(vec![
            ("changed", miniserde::json::Value::Bool(changed)),
            ("repositories", json::array(report)),
        ]));
    }
    Ok(0)
}
