//! Password hashes: argon2id with the crate's default parameters, stored
//! as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), so the
//! parameters travel with each hash and can be raised later.

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// The PHC string of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    // 16 random bytes, the salt length the PHC format recommends.
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&random).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `hash`. A malformed hash
/// matches nothing.
pub fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash no password matches in practice, verified for unknown users so
/// that a wrong name costs as long as a wrong password (the timing does
/// not tell which names exist).
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 32];
        let _ = getrandom::fill(&mut random);
        hash(&format!("{random:?}")).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = super::hash("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(super::verify("s3cret", &hash));
        assert!(!super::verify("s3cret ", &hash));
        assert!(!super::verify("s3cret", "not a hash"));
    }
}
