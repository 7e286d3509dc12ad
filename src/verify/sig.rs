//! Minisign signatures (SPEC section 7): which trusted key (`etc/alp/keys/*.pub`) signed a
//! file, or why none did; and, for the signing commands, making key pairs and signatures
//! in the format the stock `minisign` tool reads and writes.
//!
//! Verifying goes through `minisign-verify` (small, verify-only); making keys and
//! signatures through the `minisign` crate. Key ids are shown as minisign shows them:
//! the 8-byte key number, read little-endian, as 16 upper-case hex digits.

use crate::error::{self, Result};
use crate::legacy::base64;
use minisign_verify::{PublicKey, Signature};
use std::path::{Path, PathBuf};

/// A trusted public key, its id, and where it came from.
pub struct TrustedKey {
    pub path: PathBuf,
    /// The key id as minisign prints it (`4A1F…`, 16 hex digits).
    pub id: String,
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
        keys.push(load_key_file(&path)?);
    }
    Ok(keys)
}

/// Reads one public key file (minisign `.pub` or a bare base64 line).
pub fn load_key_file(path: &Path) -> Result<TrustedKey> {
    let text = std::fs::read_to_string(path).map_err(|e| error::io_at("reading key", path, e))?;
    let bad = || error::bad_input(format!("{} is not a minisign public key", path.display()));
    let key = decode_public_key(&text).ok_or_else(bad)?;
    let id = public_key_id(&text).ok_or_else(bad)?;
    Ok(TrustedKey { path: path.to_path_buf(), id, key })
}

/// Accepts both a minisign `.pub` file (comment line + base64) and a bare base64 key.
pub fn decode_public_key(text: &str) -> Option<PublicKey> {
    PublicKey::decode(text.trim()).ok().or_else(|| PublicKey::from_base64(key_line(text)?).ok())
}

/// The base64 line of a key or signature file: the last line that is not a comment.
fn key_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.contains("comment:"))
}

/// The id of a public key (`.pub` file text or bare base64).
pub fn public_key_id(text: &str) -> Option<String> {
    let bytes = base64::decode(key_line(text)?)?;
    // sig_alg "Ed" (2) + key number (8) + Ed25519 key (32)
    (bytes.len() == 42 && &bytes[..2] == b"Ed").then(|| key_id(&bytes[2..10]))
}

/// The id of the key a minisign signature claims to be made with (unverified).
pub fn signature_key_id(sig_text: &str) -> Option<String> {
    let line = sig_text.lines().nth(1)?.trim();
    let bytes = base64::decode(line)?;
    // sig_alg "Ed"/"ED" (2) + key number (8) + signature (64)
    (bytes.len() == 74 && bytes[0] == b'E').then(|| key_id(&bytes[2..10]))
}

/// A key number as minisign prints it.
pub fn key_id(keynum: &[u8]) -> String {
    let mut le = [0u8; 8];
    le.copy_from_slice(&keynum[..8]);
    format!("{:016X}", u64::from_le_bytes(le))
}

/// The trusted comment of a signature (`timestamp:…\tfile:…`), unverified.
pub fn trusted_comment(sig_text: &str) -> Option<String> {
    Signature::decode(sig_text).ok().map(|s| s.trusted_comment().to_string())
}

/// Checks `sig_text` over `data` against the trusted keys; returns the key that verified.
/// The signature's key id picks the key, so any number of keys may be trusted at once.
pub fn verify_detached<'k>(data: &[u8], sig_text: &str, keys: &'k [TrustedKey], what: &str) -> Result<&'k TrustedKey> {
    verify_reader(data, sig_text, keys, what)
}

/// `verify_detached` over a stream, read once in 64 KiB pieces: memory stays flat
/// whatever the file's size.
pub fn verify_reader<'k>(
    mut data: impl std::io::Read,
    sig_text: &str,
    keys: &'k [TrustedKey],
    what: &str,
) -> Result<&'k TrustedKey> {
    let sig = Signature::decode(sig_text)
        .map_err(|_| error::integrity(format!("{what}: the signature file is not a minisign signature")))?;
    let sig_id = signature_key_id(sig_text).unwrap_or_default();
    if keys.is_empty() {
        return Err(error::integrity(format!(
            "{what}: signed by key {sig_id}, but no keys are trusted; add the signer's public key to the trusted keys"
        )));
    }
    let Some(key) = keys.iter().find(|k| k.id == sig_id) else {
        let trusted: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        return Err(error::integrity(format!(
            "{what}: signed by key {sig_id}, which is not trusted (trusted: {})",
            trusted.join(", ")
        )));
    };
    // Legacy (non-prehashed) signatures are refused: minisign has made prehashed ones by
    // default since 0.10, and streaming needs them.
    let mut verifier = key.key.verify_stream(&sig).map_err(|_| {
        error::integrity(format!(
            "{what}: a legacy (not prehashed) signature; re-sign it with 'alp sign' or minisign 0.10+"
        ))
    })?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match data.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => verifier.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(error::io_msg(format!("{what}: reading: {}", error::plain_io(&e)))),
        }
    }
    verifier.finalize().map_err(|_| {
        error::integrity(format!(
            "{what}: the signature by key {sig_id} does not verify; the file was altered or the signature is corrupt"
        ))
    })?;
    Ok(key)
}

/// A freshly made key pair, as the text of its two files.
pub struct NewKeyPair {
    pub id: String,
    pub public: String,
    pub secret: String,
}

/// Makes a key pair. With a password the secret key is encrypted as minisign does it
/// (scrypt); without one it is stored in the clear (`minisign -W`), for CI.
pub fn generate(password: Option<String>) -> Result<NewKeyPair> {
    let fail = |e: minisign::PError| error::io_msg(format!("making a key pair: {e}"));
    let encrypted = password.is_some();
    let pair = match password {
        Some(p) => minisign::KeyPair::generate_encrypted_keypair(Some(p)),
        None => minisign::KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(fail)?;
    let id = key_id(pair.pk.keynum());
    let comment = if encrypted { "alp encrypted secret key" } else { "alp secret key (unencrypted)" };
    Ok(NewKeyPair {
        id,
        public: pair.pk.to_box().map_err(fail)?.into_string(),
        secret: pair.sk.to_box(Some(comment)).map_err(fail)?.into_string(),
    })
}

/// A secret key file as read from disk, not yet decrypted.
pub struct SecretKeyFile {
    pub path: PathBuf,
    text: String,
    bytes: Vec<u8>,
    pub encrypted: bool,
}

/// Reads a minisign secret key file and says whether it needs a password.
pub fn read_secret_key(path: &Path) -> Result<SecretKeyFile> {
    let text = std::fs::read_to_string(path).map_err(|e| error::io_at("reading the secret key", path, e))?;
    let bytes = key_line(&text)
        .and_then(base64::decode)
        .filter(|b| b.len() == 158 && &b[..2] == b"Ed")
        .ok_or_else(|| error::bad_input(format!("{} is not a minisign secret key", path.display())))?;
    let encrypted = match &bytes[2..4] {
        [0, 0] => false,
        b"Sc" => true,
        _ => return Err(error::bad_input(format!("{}: unsupported key encryption", path.display()))),
    };
    Ok(SecretKeyFile { path: path.to_path_buf(), text, bytes, encrypted })
}

/// Signs `data` (prehashed, as minisign does by default) and returns the `.minisig` text
/// and the signing key's id. `password` is needed when the key is encrypted.
pub fn sign(
    key: &SecretKeyFile,
    password: Option<String>,
    data: impl std::io::Read,
    trusted_comment: &str,
) -> Result<(String, String)> {
    let label = key.path.display();
    let sk = if key.encrypted {
        let password =
            password.ok_or_else(|| error::usage(format!("{label} is encrypted and no password was given")))?;
        let sk_box =
            minisign::SecretKeyBox::from_string(&key.text).map_err(|e| error::bad_input(format!("{label}: {e}")))?;
        sk_box.into_secret_key(Some(password)).map_err(|e| match e.kind() {
            minisign::ErrorKind::Verify => error::usage(format!("{label}: wrong password")),
            _ => error::bad_input(format!("{label}: {e}")),
        })?
    } else {
        // Read the raw bytes rather than through the crate's box parser: `minisign -G -W`
        // (0.11) leaves an unencrypted key's checksum zeroed, which that parser rejects.
        // A damaged key still cannot sign: `minisign::sign` checks its own signature.
        minisign::SecretKey::from_bytes(&key.bytes).map_err(|e| error::bad_input(format!("{label}: {e}")))?
    };
    let pk = minisign::PublicKey::from_secret_key(&sk).map_err(|e| error::bad_input(format!("{label}: {e}")))?;
    let id = key_id(sk.keynum());
    let sig = minisign::sign(Some(&pk), &sk, data, Some(trusted_comment), Some("signature from alp secret key"))
        .map_err(|e| error::io_msg(format!("signing with {label}: {e}")))?;
    Ok((sig.into_string(), id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_keys_sign_and_verify_with_their_id() {
        let pair = generate(None).unwrap();
        assert_eq!(public_key_id(&pair.public).as_deref(), Some(pair.id.as_str()));
        let dir = std::env::temp_dir().join(format!("alp-sig-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sk_path = dir.join("k.key");
        std::fs::write(&sk_path, &pair.secret).unwrap();
        let sk = read_secret_key(&sk_path).unwrap();
        assert!(!sk.encrypted);
        let (sig, id) = sign(&sk, None, &b"hello"[..], "timestamp:1\tfile:x").unwrap();
        assert_eq!(id, pair.id);
        assert_eq!(signature_key_id(&sig).as_deref(), Some(pair.id.as_str()));
        let key =
            TrustedKey { path: dir.join("k.pub"), id: pair.id.clone(), key: decode_public_key(&pair.public).unwrap() };
        let keys = [key];
        assert!(verify_detached(b"hello", &sig, &keys, "x").is_ok());
        let e = verify_detached(b"hellO", &sig, &keys, "x").err().unwrap();
        assert_eq!(e.kind, error::Kind::Integrity);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
