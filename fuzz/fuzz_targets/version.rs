//! Versions and requests. `compare` must be a total order (reflexive, antisymmetric,
//! transitive, with `Equal` an equivalence) on any three strings; a request that parses
//! prints back to one that parses the same; `matches` agrees with `compare`.
#![no_main]

use alp::version::{Op, Req, compare, valid_name};
use libfuzzer_sys::fuzz_target;
use std::cmp::Ordering::{self, Equal, Greater, Less};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(3, '\n');
    let v = [parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or("")];
    for a in v {
        assert_eq!(compare(a, a), Equal, "{a:?}");
        let _ = valid_name(a);
    }
    for a in v {
        for b in v {
            let ab = compare(a, b);
            assert_eq!(ab, compare(b, a).reverse(), "antisymmetry: {a:?} {b:?}");
            for c in v {
                let (bc, ac) = (compare(b, c), compare(a, c));
                if ab != Greater && bc != Greater {
                    assert_ne!(ac, Greater, "transitivity: {a:?} <= {b:?} <= {c:?}");
                }
                if ab == Equal {
                    assert_eq!(ac, bc, "equal versions order alike: {a:?} == {b:?} vs {c:?}");
                }
            }
        }
    }
    for a in v {
        let Ok(r) = Req::parse(a) else { continue };
        let back = Req::parse(&r.to_string()).expect("a printed request parses");
        assert_eq!(back, r, "{a:?} printed as {}", r);
        for b in v {
            let o: Ordering = compare(b, &r.version);
            let want = match r.op {
                Op::Any => true,
                Op::Eq => o == Equal,
                Op::Ge => o != Less,
                Op::Gt => o == Greater,
                Op::Le => o != Greater,
                Op::Lt => o == Less,
            };
            assert_eq!(r.matches(b), want, "{r} vs {b:?}");
        }
    }
});
