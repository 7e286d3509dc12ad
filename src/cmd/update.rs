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
    for r in &repos {
        let state = match repo::refresh(&ctx.access()?, r, true)?.0 {
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
    if ctx.json {
        print_json(&json::object(vec![
            ("changed", miniserde::json::Value::Bool(changed)),
            ("repositories", json::array(report)),
        ]));
    }
    Ok(0)
}
