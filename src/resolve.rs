//! The resolver (SPEC section 4): for every name, the highest version that satisfies every
//! constraint on it; dependencies ordered before dependants; conflicts, cycles and missing
//! packages explained in one sentence that names the packages.
//!
//! It works to a fixed point: pick for each constrained name, collect the constraints the
//! picks' dependencies add, pick again, until nothing changes. Installed packages that are
//! not being replaced keep constraining what they depend on, so an install never breaks them.

use crate::db::state::{Db, Installed};
use crate::error::{self, Result};
use crate::repo::Candidate;
use crate::version::{self, Req};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// How to treat packages that are already installed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Keep an installed version when it satisfies the constraints (install).
    PreferInstalled,
    /// Take the highest version of the named packages, keep the rest (upgrade NAME…).
    Upgrade,
}

/// One package the plan installs, and the version it replaces.
#[derive(Debug, Clone)]
pub struct Step {
    pub cand: Candidate,
    pub replaces: Option<String>,
}

/// Where a constraint came from, for error messages.
#[derive(Clone)]
struct Constraint {
    req: Req,
    origin: String,
    /// The package that imposes it (None for the user's own request).
    from: Option<String>,
}

#[derive(Clone, PartialEq)]
enum Pick {
    Installed(String),
    Candidate(usize),
}

pub struct Resolver<'a> {
    cands: &'a [Candidate],
    db: &'a Db,
    by_name: HashMap<&'a str, Vec<usize>>,
    with_deps: bool,
    /// The arch packages are picked for, and the candidates left out for being another's.
    arch: String,
    other_arch: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Resolver<'a> {
    /// A resolver for this binary's arch.
    pub fn new(cands: &'a [Candidate], db: &'a Db, with_deps: bool) -> Resolver<'a> {
        Resolver::for_arch(cands, db, with_deps, crate::repo::index::native_arch())
    }

    /// A resolver that picks only packages for `arch` (or for any arch).
    pub fn for_arch(cands: &'a [Candidate], db: &'a Db, with_deps: bool, arch: &str) -> Resolver<'a> {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut other_arch: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, c) in cands.iter().enumerate() {
            let list = if c.pkg.fits(arch) { &mut by_name } else { &mut other_arch };
            list.entry(c.pkg.name.as_str()).or_default().push(i);
        }
        // A name provided by another package resolves to the providers when no package has it.
        let mut provided: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, c) in cands.iter().enumerate().filter(|(_, c)| c.pkg.fits(arch)) {
            for p in &c.pkg.provides {
                let name = p.split(['=', '<', '>']).next().unwrap_or(p);
                if !by_name.contains_key(name) {
                    provided.entry(name).or_default().push(i);
                }
            }
        }
        by_name.extend(provided);
        Resolver { cands, db, by_name, with_deps, arch: arch.to_string(), other_arch }
    }

    /// Resolves `requests`; `upgrade` names the packages to move to their newest version
    /// (`Policy::Upgrade`). Returns the packages to install, dependencies first.
    ///
    /// A worklist: when a name's pick changes, the constraints its old pick imposed are
    /// withdrawn, its new pick's are added, and the names they touch are picked again.
    /// Each name is revisited only when its constraints change, so a chain of 100k
    /// dependencies resolves in one pass.
    pub fn plan(&self, requests: &[Req], policy: Policy, upgrade: &[String]) -> Result<Vec<Step>> {
        let mut cons: HashMap<String, Vec<Constraint>> = HashMap::new();
        let mut picks: BTreeMap<String, Pick> = BTreeMap::new();
        let mut queue: VecDeque<String> = VecDeque::new();
        let mut touched: HashSet<String> = HashSet::new();
        // Installed packages by the names they depend on, to add their constraints lazily.
        let mut needed_by: HashMap<String, Vec<&Installed>> = HashMap::new();
        if self.with_deps {
            for p in self.db.packages.values() {
                for d in p.meta.depends_reqs() {
                    needed_by.entry(d.name).or_default().push(p);
                }
            }
        }
        let mut touch = |name: &str, cons: &mut HashMap<String, Vec<Constraint>>, picks: &BTreeMap<String, Pick>| {
            if touched.insert(name.to_string()) {
                for p in needed_by.get(name).map(Vec::as_slice).unwrap_or(&[]) {
                    if matches!(picks.get(&p.meta.name), Some(Pick::Candidate(_))) {
                        continue;
                    }
                    for d in p.meta.depends_reqs().into_iter().filter(|d| d.name == name) {
                        let origin = format!("required by installed {}", p.meta.id());
                        cons.entry(name.to_string()).or_default().push(Constraint {
                            req: d,
                            origin,
                            from: Some(p.meta.name.clone()),
                        });
                    }
                }
            }
        };
        for r in requests {
            touch(&r.name, &mut cons, &picks);
            cons.entry(r.name.clone()).or_default().push(Constraint {
                req: r.clone(),
                origin: "requested".into(),
                from: None,
            });
            queue.push_back(r.name.clone());
        }
        let mut budget = 64 * (self.cands.len() + self.db.packages.len()) + 10_000;
        while let Some(name) = queue.pop_front() {
            budget = budget.checked_sub(1).ok_or_else(|| {
                error::resolve(
                    "the dependencies do not settle on one set of versions; pin versions in the request (name=V)",
                )
            })?;
            let prefer_installed = match policy {
                Policy::PreferInstalled => true,
                Policy::Upgrade => !upgrade.contains(&name),
            };
            let new = match cons.get(&name).filter(|c| !c.is_empty()) {
                Some(cs) => Some(self.choose(&name, cs, prefer_installed)?),
                None => None,
            };
            let old = picks.get(&name).cloned();
            if new == old {
                continue;
            }
            if let Some(old) = &old {
                for d in self.deps_of(&name, old) {
                    if let Some(list) = cons.get_mut(&d.name) {
                        list.retain(|c| c.from.as_deref() != Some(name.as_str()));
                    }
                    queue.push_back(d.name);
                }
            }
            match new {
                Some(pick) => {
                    let id = self.label(&name, &pick);
                    for d in self.deps_of(&name, &pick) {
                        touch(&d.name, &mut cons, &picks);
                        let dep = d.name.clone();
                        cons.entry(dep.clone()).or_default().push(Constraint {
                            req: d,
                            origin: format!("required by {id}"),
                            from: Some(name.clone()),
                        });
                        queue.push_back(dep);
                    }
                    picks.insert(name, pick);
                }
                None => {
                    picks.remove(&name);
                }
            }
        }
        self.check_conflicts(&picks)?;
        self.order(&picks)
    }

    fn deps_of(&self, name: &str, pick: &Pick) -> Vec<Req> {
        if !self.with_deps {
            return Vec::new();
        }
        match pick {
            Pick::Candidate(i) => self.cands[*i].pkg.depends_reqs(),
            Pick::Installed(_) => self.db.packages.get(name).map(|p| p.meta.depends_reqs()).unwrap_or_default(),
        }
    }

    fn choose(&self, name: &str, cs: &[Constraint], prefer_installed: bool) -> Result<Pick> {
        let ok = |v: &str| cs.iter().all(|c| c.req.matches(v));
        let installed = self.db.packages.get(name).map(|p| p.meta.version.as_str());
        if prefer_installed && let Some(v) = installed.filter(|v| ok(v)) {
            return Ok(Pick::Installed(v.to_string()));
        }
        let options = self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let best =
            options.iter().copied().filter(|&i| ok(&self.cands[i].pkg.version)).max_by(|&a, &b| {
                version::compare(&self.cands[a].pkg.version, &self.cands[b].pkg.version).then(b.cmp(&a))
            });
        match best {
            // Never move an installed package backwards without an explicit version.
            Some(i) if installed.is_some_and(|v| ok(v) && version::compare(v, &self.cands[i].pkg.version).is_ge()) => {
                Ok(Pick::Installed(installed.unwrap_or_default().to_string()))
            }
            // Re-installing the same version as installed is no change.
            Some(i) if installed == Some(self.cands[i].pkg.version.as_str()) && self.cands[i].pkg.name == name => {
                Ok(Pick::Installed(installed.unwrap_or_default().to_string()))
            }
            Some(i) => Ok(Pick::Candidate(i)),
            None if installed.is_some_and(ok) => Ok(Pick::Installed(installed.unwrap_or_default().to_string())),
            None => Err(self.explain(name, cs, options)),
        }
    }

    fn explain(&self, name: &str, cs: &[Constraint], options: &[usize]) -> error::Error {
        let why: Vec<String> = cs.iter().map(|c| format!("{} ({})", c.req, c.origin)).collect();
        if options.is_empty() && !self.db.packages.contains_key(name) {
            if let Some(others) = self.other_arch.get(name) {
                let mut found: Vec<String> = others.iter().map(|&i| self.cands[i].pkg.id()).collect();
                found.dedup();
                let mut arches: Vec<&str> = others.iter().map(|&i| self.cands[i].pkg.arch.as_str()).collect();
                arches.sort();
                arches.dedup();
                return error::resolve(format!(
                    "{} exists for {} only, not {} (--arch picks another)",
                    found.join(", "),
                    arches.join(" and "),
                    self.arch
                ));
            }
            let origin = cs.iter().map(|c| c.origin.as_str()).find(|o| *o != "requested");
            return error::resolve(match origin {
                Some(o) => format!("package '{name}' ({o}) is not in any repository"),
                None => match crate::suggest::closest(name, self.by_name.keys().copied()) {
                    Some(near) => format!("package '{name}' is not in any repository; did you mean {near}?"),
                    None => {
                        format!("package '{name}' is not in any repository; try 'alp update' or 'alp search {name}'")
                    }
                },
            });
        }
        let mut versions: Vec<&str> = options.iter().map(|&i| self.cands[i].pkg.version.as_str()).collect();
        versions.sort_by(|a, b| version::compare(a, b));
        versions.dedup();
        error::resolve(format!(
            "no version of {name} satisfies {}; available: {}",
            why.join(" and "),
            if versions.is_empty() { "none".to_string() } else { versions.join(", ") }
        ))
    }

    fn check_conflicts(&self, picks: &BTreeMap<String, Pick>) -> Result<()> {
        let version_of = |name: &str| -> Option<(String, bool)> {
            match picks.get(name) {
                Some(Pick::Candidate(i)) => Some((self.cands[*i].pkg.version.clone(), false)),
                Some(Pick::Installed(v)) => Some((v.clone(), true)),
                None => self.db.packages.get(name).map(|p| (p.meta.version.clone(), true)),
            }
        };
        for pick in picks.values() {
            let Pick::Candidate(i) = pick else { continue };
            let pkg = &self.cands[*i].pkg;
            for c in pkg.conflicts.iter().filter_map(|c| Req::parse(c).ok()) {
                if let Some((v, installed)) = version_of(&c.name)
                    && c.matches(&v)
                {
                    let state = if installed { " (installed)" } else { "" };
                    return Err(error::resolve(format!(
                        "{} conflicts with {} {v}{state}; remove one of them first",
                        pkg.id(),
                        c.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Dependencies before dependants; a cycle is an error naming its members.
    fn order(&self, picks: &BTreeMap<String, Pick>) -> Result<Vec<Step>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Visiting,
            Done,
        }
        let names: Vec<&String> = picks.keys().collect();
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
        let deps_of = |n: &str| -> Vec<usize> {
            self.deps_of(n, &picks[n]).iter().filter_map(|r| index.get(r.name.as_str()).copied()).collect()
        };
        let mut marks = vec![Mark::New; names.len()];
        let mut out = Vec::new();
        // Providers can stand for several names; each package is installed once.
        let mut emitted: HashSet<String> = HashSet::new();
        // Iterative depth-first search, so a hostile chain of 100k packages cannot overflow the stack.
        for start in 0..names.len() {
            if marks[start] != Mark::New {
                continue;
            }
            let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, deps_of(names[start]))];
            marks[start] = Mark::Visiting;
            while let Some((node, pending)) = stack.last_mut() {
                if let Some(next) = pending.pop() {
                    match marks[next] {
                        Mark::Done => {}
                        Mark::Visiting => {
                            let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                            let mut cycle: Vec<String> =
                                stack[from..].iter().map(|(n, _)| self.label(names[*n], &picks[names[*n]])).collect();
                            cycle.push(self.label(names[next], &picks[names[next]]));
                            return Err(error::resolve(format!("dependency cycle: {}", cycle.join(" -> "))));
                        }
                        Mark::New => {
                            marks[next] = Mark::Visiting;
                            let d = deps_of(names[next]);
                            stack.push((next, d));
                        }
                    }
                } else {
                    let node = *node;
                    marks[node] = Mark::Done;
                    stack.pop();
                    if let Pick::Candidate(i) = &picks[names[node]] {
                        let cand = self.cands[*i].clone();
                        let replaces = self.db.packages.get(&cand.pkg.name).map(|p| p.meta.version.clone());
                        if emitted.insert(cand.pkg.name.clone()) {
                            out.push(Step { cand, replaces });
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn label(&self, name: &str, pick: &Pick) -> String {
        match pick {
            Pick::Candidate(i) => self.cands[*i].pkg.id(),
            Pick::Installed(v) => format!("{name} {v}"),
        }
    }
}
