//! How a plan is shown: one `Change` per package, printed as a line for people
//! ("upgrade foo 1.0.0 -> 1.1.0", then "upgraded …") and as an object for `--json`
//! (`{"action":"upgrade","name":"foo","from":"1.0.0","to":"1.1.0"}`).

use crate::db::state::Db;
use crate::json;
use crate::txn::Plan;
use crate::version;
use miniserde::json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Install,
    Upgrade,
    Downgrade,
    Reinstall,
    Remove,
}

impl Action {
    fn verb(self) -> (&'static str, &'static str) {
        match self {
            Action::Install => ("install", "installed"),
            Action::Upgrade => ("upgrade", "upgraded"),
            Action::Downgrade => ("downgrade", "downgraded"),
            Action::Reinstall => ("reinstall", "reinstalled"),
            Action::Remove => ("remove", "removed"),
        }
    }
}

pub struct Change {
    pub action: Action,
    pub name: String,
    /// The version installed before (None for a fresh install).
    pub from: Option<String>,
    /// The version installed after (None for a removal).
    pub to: Option<String>,
}

/// The changes `plan` makes to what `db` holds.
pub fn changes(plan: &Plan, db: &Db) -> Vec<Change> {
    let mut out: Vec<Change> = plan
        .installs
        .iter()
        .map(|i| {
            let from = i.replaces.clone().or_else(|| db.packages.get(&i.pkg.name).map(|p| p.meta.version.clone()));
            let action = match &from {
                None => Action::Install,
                Some(old) => match version::compare(&i.pkg.version, old) {
                    std::cmp::Ordering::Greater => Action::Upgrade,
                    std::cmp::Ordering::Less => Action::Downgrade,
                    std::cmp::Ordering::Equal => Action::Reinstall,
                },
            };
            Change { action, name: i.pkg.name.clone(), from, to: Some(i.pkg.version.clone()) }
        })
        .collect();
    out.extend(plan.removes.iter().map(|n| Change {
        action: Action::Remove,
        name: n.clone(),
        from: db.packages.get(n).map(|p| p.meta.version.clone()),
        to: None,
    }));
    out
}

impl Change {
    fn versions(&self) -> String {
        match (&self.from, &self.to) {
            (Some(f), Some(t)) if f != t => format!("{f} -> {t}"),
            (_, Some(v)) | (Some(v), None) => v.clone(),
            (None, None) => String::new(),
        }
    }

    /// "upgrade foo 1.0.0 -> 1.1.0": what will happen.
    pub fn line(&self) -> String {
        format!("{} {} {}", self.action.verb().0, self.name, self.versions())
    }

    /// "upgraded foo 1.0.0 -> 1.1.0": what happened.
    pub fn done(&self) -> String {
        format!("{} {} {}", self.action.verb().1, self.name, self.versions())
    }

    pub fn to_json(&self) -> Value {
        let opt = |v: &Option<String>| v.clone().map_or(Value::Null, json::string);
        json::object(vec![
            ("action", json::string(self.action.verb().0)),
            ("name", json::string(&self.name)),
            ("from", opt(&self.from)),
            ("to", opt(&self.to)),
        ])
    }
}

pub fn to_json(changes: &[Change]) -> Value {
    json::array(changes.iter().map(Change::to_json).collect())
}
