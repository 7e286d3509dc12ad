//! The old tool's "certificates" inside `.alp` files: read for display, never trusted.
//!
//! Their signature is `sha256(package_name|author|issued_at)`, a checksum of public fields
//! that anyone can recompute for any name, so a "valid" one proves nothing about who made
//! the package. `self_consistent` only says whether the fields were edited afterwards.

use crate::error::Result;
use crate::json::Fields;
use crate::verify::digest;
use miniserde::json::Value;

/// `{cert_id, package_name, author, type, issued_at, signature}` from a `.alp` file.
#[derive(Debug, Clone, PartialEq)]
pub struct OldCert {
    pub cert_id: String,
    pub package_name: String,
    pub author: String,
    /// "custom" or "official".
    pub kind: String,
    pub issued_at: String,
    pub signature: String,
}

impl OldCert {
    pub fn from_json(v: &Value, what: &str) -> Result<OldCert> {
        let f = Fields::of(v, format!("{what}: certificate"))?;
        Ok(OldCert {
            cert_id: f.str_or_empty("cert_id")?,
            package_name: f.str_or_empty("package_name")?,
            author: f.str_or_empty("author")?,
            kind: f.str_or_empty("type")?,
            issued_at: f.str_or_empty("issued_at")?,
            signature: f.str_or_empty("signature")?,
        })
    }

    /// Whether the signature matches the fields, as the old tool checked it. Anyone can
    /// make this true; it is shown so people see that alp read the file correctly.
    pub fn self_consistent(&self) -> bool {
        let data = format!("{}|{}|{}", self.package_name, self.author, self.issued_at);
        digest::sha256_hex(data.as_bytes()) == self.signature.to_ascii_lowercase()
    }

    /// One line for the user, always saying that it is not proof of anything.
    pub fn describe(&self) -> String {
        let kind = if self.kind.is_empty() { "unknown" } else { self.kind.as_str() };
        let consistent = if self.self_consistent() { "" } else { "; its fields do not even match its own checksum" };
        format!(
            "legacy '{kind}' certificate naming {} for {} (issued {}): unverifiable, anyone can forge one, so alp does not trust it{consistent}",
            if self.author.is_empty() { "nobody" } else { &self.author },
            self.package_name,
            if self.issued_at.is_empty() { "at an unknown time" } else { &self.issued_at },
        )
    }

    pub fn to_json(&self) -> Value {
        use crate::json::{object, string};
        object(vec![
            ("cert_id", string(&self.cert_id)),
            ("package_name", string(&self.package_name)),
            ("author", string(&self.author)),
            ("type", string(&self.kind)),
            ("issued_at", string(&self.issued_at)),
            ("self_consistent", Value::Bool(self.self_consistent())),
            ("trusted", Value::Bool(false)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> OldCert {
        OldCert {
            cert_id: "b45f8d4ec0b3cfa5a6113321b23aa466".into(),
            package_name: "greeter".into(),
            author: "Ayse Yilmaz".into(),
            kind: "custom".into(),
            issued_at: "2026-11-26T19:20:56.042607".into(),
            signature: "756164f2c8df54cc04221ceadeeaf0b7331a3cb4e4f3bb575210f5006f97e42a".into(),
        }
    }

    #[test]
    fn the_fixture_certificate_is_consistent_but_never_trusted() {
        let c = fixture();
        assert!(c.self_consistent());
        assert!(c.describe().contains("does not trust"));
        let forged = OldCert { author: "Alp Official".into(), ..fixture() };
        assert!(!forged.self_consistent());
        assert!(forged.describe().contains("do not even match"));
    }
}
