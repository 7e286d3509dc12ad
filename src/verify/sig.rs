//! Minisign signatures over repository indexes (SPEC section 7): which trusted key
//! (`etc/alp/keys/*.pub`) signed a file, or why none did.

use crate::error::{self, Result};
use minisign_verify::{PublicKey, Signature};
use std::path::{Path, PathBuf};

/// A trusted public key and where it came from.
pub struct TrustedKey {
    pub path: PathBuf,
    pub key: PublicKey,
}

/// Loads every `*.pub` under `dir`. A key file that does not parse is an error, not a
/// silently smaller trust set.
pub fn load_keys(dir: &Path) -> Result<Vec<TrustedKey>> {
    let mut keys = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(keys) };
    let mut paths: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "pub")).collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| error::io_at("reading key", &path, e))?;
        let key = decode_public_key(&text)
            .ok_or_else(|| error::bad_input(format!("{} is not a minisign public key", path.display())))?;
        keys.push(TrustedKey { path, key });
    }
    Ok(keys)
}

/// Accepts both a minisign `.pub` file (comment line + base64) and a bare base64 key.
pub fn decode_public_key(text: &str) -> Option<PublicKey> {
    PublicKey::decode(text.trim()).ok().or_else(|| {
        let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
        PublicKey::from_base64(last.trim()).ok()
    })
}

/// Checks `sig_text` over `data` against the trusted keys; returns the key that verified.
pub fn verify_detached<'k>(data: &[u8], sig_text: &str, keys: &'k [TrustedKey], what: &str) -> Result<&'k TrustedKey> {
    let sig = Signature::decode(sig_text)
        .map_err(|_| error::integrity(format!("{what}: the signature file is not a minisign signature")))?;
    if keys.is_empty() {
        return Err(error::integrity(format!(
            "{what}: no trusted keys in etc/alp/keys; add the repository's public key there or pass --allow-untrusted"
        )));
    }
    let mut wrong_key = true;
    for k in keys {
        match k.key.verify(data, &sig, false) {
            Ok(()) => return Ok(k),
            Err(minisign_verify::Error::UnexpectedKeyId) => {}
            Err(_) => wrong_key = false,
        }
    }
    Err(error::integrity(if wrong_key {
        format!("{what}: signed by a key that is not trusted (not in etc/alp/keys)")
    } else {
        format!("{what}: the signature does not verify; the file was altered or the signature is corrupt")
    }))
}
