//! `Index::parse` on any text: never a panic, and what parses writes back (`to_json`) to
//! text that parses to the same index.
#![no_main]

use alp::repo::index::{Index, Package};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(index) = Index::parse(text, "index.json") {
        let again = Index::parse(&index.to_json(), "written back").expect("to_json output parses again");
        assert_eq!(again.packages, index.packages);
        assert_eq!(
            (again.name, again.serial, again.generated, again.expires),
            (index.name, index.serial, index.generated, index.expires)
        );
    }
    // The same text as an archive's `.ALP/package.json`, which is read more leniently.
    if let Ok(v) = alp::json::parse(text, "package.json")
        && let Ok(p) = Package::from_json(&v, "package.json", true)
    {
        let again = Package::from_json(&p.to_json(), "written back", true).expect("to_json output reads again");
        assert_eq!(again, p);
    }
});
