//! Credentials verified a moment ago: a Basic client sends its password
//! with every request, and verifying an argon2 hash costs milliseconds of
//! CPU. Keyed by a SHA-256 of a per-process secret, the name and the
//! password (no password is kept), each entry good for a minute and only
//! for the users file as it was read then.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const TTL: Duration = Duration::from_secs(60);
const CAPACITY: usize = 4096;

pub struct Verified {
    secret: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], (Instant, u64)>>,
}

impl Default for Verified {
    fn default() -> Self {
        let mut secret = [0u8; 32];
        let _ = getrandom::fill(&mut secret);
        Verified {
            secret,
            entries: Mutex::default(),
        }
    }
}

impl Verified {
    fn key(&self, name: &str, password: &str) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(self.secret);
        digest.update((name.len() as u64).to_le_bytes());
        digest.update(name.as_bytes());
        digest.update(password.as_bytes());
        digest.finalize().into()
    }

    /// Whether `name` and `password` were verified within the last minute
    /// against the users file of `generation`.
    pub fn contains(&self, name: &str, password: &str, generation: u64) -> bool {
        let key = self.key(name, password);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&key)
            .is_some_and(|&(until, g)| g == generation && Instant::now() < until)
    }

    pub fn insert(&self, name: &str, password: &str, generation: u64) {
        let key = self.key(name, password);
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, &mut (until, _)| now < until);
            if entries.len() >= CAPACITY {
                // Still full of live entries: start over rather than grow.
                entries.clear();
            }
        }
        entries.insert(key, (now + TTL, generation));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_same_name_password_and_file_hit() {
        let cache = super::Verified::default();
        cache.insert("ann", "pw", 0);
        assert!(cache.contains("ann", "pw", 0));
        assert!(!cache.contains("ann", "pw2", 0));
        assert!(!cache.contains("an", "npw", 0));
        assert!(!cache.contains("ann", "pw", 1));
    }
}
