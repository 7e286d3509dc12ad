//! Version ordering and requirement strings (`name`, `name>=1.2`, …), SPEC section 4.
//!
//! A version is `release[-pre][-rN]`: release components compare numerically when both
//! are numbers (`1.10 > 1.9`), missing ones count as zero (`1.2 == 1.2.0 < 1.2.3`), a
//! pre-release sorts before its release (`1.0-rc1 < 1.0`) and `-rN` is a packaging
//! revision that sorts after (`1.0 < 1.0-r1 < 1.0-r2`).

use crate::error::{self, Result};
use std::cmp::Ordering;
use std::fmt;

/// Compares two version strings. Total: any two strings compare.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a_main, a_rev) = split_revision(a);
    let (b_main, b_rev) = split_revision(b);
    let (a_rel, a_pre) = split_pre(a_main);
    let (b_rel, b_pre) = split_pre(b_main);
    compare_dotted(a_rel, b_rel)
        .then_with(|| match (a_pre, b_pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => compare_dotted(x, y),
        })
        .then(a_rev.cmp(&b_rev))
}

fn split_revision(v: &str) -> (&str, u64) {
    if let Some(i) = v.rfind("-r") {
        let digits = &v[i + 2..];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return (&v[..i], digits.parse().unwrap_or(u64::MAX));
        }
    }
    (v, 0)
}

fn split_pre(v: &str) -> (&str, Option<&str>) {
    match v.find('-') {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    }
}

/// Component-wise comparison; components split on `.`, `-`, `_` and letter/digit changes.
fn compare_dotted(a: &str, b: &str) -> Ordering {
    let mut xs = components(a);
    let mut ys = components(b);
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let o = compare_component(x.unwrap_or("0"), y.unwrap_or("0"));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

fn components(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(['.', '-', '_', '+', '~']);
        if rest.is_empty() {
            return None;
        }
        let digit = rest.as_bytes()[0].is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digit || matches!(c, '.' | '-' | '_' | '+' | '~'))
            .unwrap_or(rest.len());
        let (head, tail) = rest.split_at(end);
        rest = tail;
        Some(head)
    })
}

fn compare_component(x: &str, y: &str) -> Ordering {
    let xn = x.as_bytes()[0].is_ascii_digit();
    let yn = y.as_bytes()[0].is_ascii_digit();
    match (xn, yn) {
        (true, true) => {
            let xt = x.trim_start_matches('0');
            let yt = y.trim_start_matches('0');
            xt.len().cmp(&yt.len()).then_with(|| xt.cmp(yt))
        }
        // A number outranks a word at the same place: 1.0.1 > 1.0.beta.
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => x.cmp(y),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Any,
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

/// One request or dependency: a name and an optional version bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Req {
    pub name: String,
    pub op: Op,
    pub version: String,
}

impl Req {
    pub fn parse(s: &str) -> Result<Req> {
        let s = s.trim();
        let bad = || {
            error::usage(format!(
                "'{s}' is not a package request (expected name, name=V, name@V, name>=V, name>V, name<=V or name<V)"
            ))
        };
        let at = s.find(['=', '<', '>', '@']);
        let (name, rest) = match at {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        };
        if !valid_name(name) {
            return Err(bad());
        }
        let (op, version) = if rest.is_empty() {
            (Op::Any, "")
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Op::Ge, v)
        } else if let Some(v) = rest.strip_prefix("<=") {
            (Op::Le, v)
        } else if let Some(v) = rest.strip_prefix("==") {
            (Op::Eq, v)
        } else if let Some(v) = rest.strip_prefix('=').or_else(|| rest.strip_prefix('@')) {
            (Op::Eq, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (Op::Gt, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Op::Lt, v)
        } else {
            return Err(bad());
        };
        let version = version.trim();
        if op != Op::Any && (version.is_empty() || version.contains(['=', '<', '>', ' ', '@'])) {
            return Err(bad());
        }
        Ok(Req { name: name.to_string(), op, version: version.to_string() })
    }

    pub fn matches(&self, version: &str) -> bool {
        if self.op == Op::Any {
            return true;
        }
        let o = compare(version, &self.version);
        match self.op {
            Op::Any => true,
            Op::Eq => o == Ordering::Equal,
            Op::Ge => o != Ordering::Less,
            Op::Gt => o == Ordering::Greater,
            Op::Le => o != Ordering::Greater,
            Op::Lt => o == Ordering::Less,
        }
    }
}

/// Package names: letters, digits and `.+_-`, not starting with a dot or dash.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with(['.', '-'])
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
}

/// Versions as packages may carry them: not empty, at most 64 bytes, no whitespace (any
/// other text compares by the rules above).
pub fn valid_version(version: &str) -> bool {
    !version.is_empty() && version.len() <= 64 && !version.contains(char::is_whitespace)
}

impl fmt::Display for Req {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            Op::Any => return f.write_str(&self.name),
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
        };
        write!(f, "{}{op}{}", self.name, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_as_the_spec_says() {
        let lt = |a, b| assert_eq!(compare(a, b), Ordering::Less, "{a} < {b}");
        lt("1.9", "1.10");
        lt("1.2", "1.2.3");
        lt("1.0-rc1", "1.0");
        lt("1.0", "1.0-r1");
        lt("1.0-r1", "1.0-r2");
        lt("1.0-rc1", "1.0-rc2");
        lt("1.0-beta", "1.0-rc1");
        lt("0.9.9", "1.0");
        assert_eq!(compare("1.2", "1.2.0"), Ordering::Equal);
        assert_eq!(compare("01.2", "1.2"), Ordering::Equal);
    }

    #[test]
    fn parses_requests() {
        let r = Req::parse("libgreet>=1.2").unwrap();
        assert_eq!((r.name.as_str(), r.op, r.version.as_str()), ("libgreet", Op::Ge, "1.2"));
        assert!(r.matches("1.10") && !r.matches("1.1"));
        assert!(Req::parse("a<2").unwrap().matches("2.0-rc1"));
        assert!(Req::parse("jq").unwrap().matches("anything"));
        assert_eq!(Req::parse("x=1").unwrap().to_string(), "x=1");
        for bad in ["", ">=1", "a>=", "a=>1", "../x", "a b", "a>=1<2"] {
            assert!(Req::parse(bad).is_err(), "{bad:?}");
        }
    }
}
