//! Password hashing (argon2id, PHC strings), API tokens and random ids.
//!
//! Tokens look like `tdm_<id>_<secret>`: `id` is 16 hex digits and public
//! (it is the lookup key), `secret` is 64 hex digits. Only the SHA-256 of the
//! whole token is stored, so a leaked metadata copy does not leak tokens.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::MetaError;

const TOKEN_PREFIX: &str = "tdm_";

/// `N` bytes from the operating system's secure random source.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], MetaError> {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(16) {
        let block = argon2::password_hash::try_generate_salt()
            .map_err(|e| MetaError::PasswordHash(format!("random source failed: {e}")))?;
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random 128-bit id as 32 hex digits (node uuids, cluster ids).
pub(crate) fn random_id() -> Result<String, MetaError> {
    Ok(hex(&random_bytes::<16>()?))
}

/// The process's persistent uuid, kept in `path`; created on first use.
/// Every role of one process should use the same file.
pub fn load_or_create_node_uuid(path: &std::path::Path) -> Result<String, MetaError> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(MetaError::storage(format!("read {}: {e}", path.display()))),
    }
    let uuid = random_id()?;
    crate::durable_file::write_atomic(path, uuid.as_bytes())
        .map_err(|e| MetaError::storage(format!("write {}: {e}", path.display())))?;
    Ok(uuid)
}

/// argon2id hash of a password as a PHC string. Slow on purpose; run it on
/// the blocking pool.
pub fn hash_password(password: &str) -> Result<String, MetaError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| MetaError::PasswordHash(e.to_string()))
}

/// Whether `password` matches a PHC hash made by [`hash_password`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A new token: `(id, token, sha256 hex of token)`.
pub(crate) fn new_token() -> Result<(String, String, String), MetaError> {
    let id = hex(&random_bytes::<8>()?);
    let token = format!("{TOKEN_PREFIX}{id}_{}", hex(&random_bytes::<32>()?));
    let digest = token_digest(&token);
    Ok((id, token, digest))
}

/// The id part of a token, if it has the token shape.
pub fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 16 && !secret.is_empty()).then_some(id)
}

/// Lowercase hex SHA-256 of a token.
pub(crate) fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of a presented token with a stored digest.
pub(crate) fn token_matches(token: &str, stored_digest: &str) -> bool {
    token_digest(token)
        .as_bytes()
        .ct_eq(stored_digest.as_bytes())
        .into()
}

/// Key of a verified (user, password) pair in the credential cache: the
/// stored hash is part of it, so a password change invalidates the entry.
pub(crate) fn credential_cache_key(user: &str, password: &str, stored_hash: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [user, password, stored_hash] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &hash));
        assert!(!verify_password("s3cret!", &hash));
        assert!(!verify_password("s3cret", "not a hash"));
        assert_ne!(hash, hash_password("s3cret").unwrap(), "salted");
    }

    #[test]
    fn tokens() {
        let (id, token, digest) = new_token().unwrap();
        assert_eq!(token_id(&token), Some(id.as_str()));
        assert!(token_matches(&token, &digest));
        assert!(!token_matches(&format!("{token}x"), &digest));
        for bad in [
            "",
            "tdm_",
            "tdm_abc_def",
            "xyz_0123456789abcdef_aa",
            "tdm_0123456789abcdef_",
        ] {
            assert_eq!(token_id(bad), None, "{bad:?}");
        }
        assert_ne!(new_token().unwrap().0, id);
    }

    #[test]
    fn node_uuid_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("node_uuid");
        let a = load_or_create_node_uuid(&p).unwrap();
        assert_eq!(a.len(), 32);
        assert_eq!(load_or_create_node_uuid(&p).unwrap(), a);
    }

    #[test]
    fn cache_keys_separate_fields() {
        assert_ne!(
            credential_cache_key("ab", "c", "h"),
            credential_cache_key("a", "bc", "h")
        );
        assert_ne!(
            credential_cache_key("a", "b", "h1"),
            credential_cache_key("a", "b", "h2")
        );
    }
}
