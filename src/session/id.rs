//! Session ids: UUID v4 from the OS random source, parsed strictly.

use std::fmt;
use std::hash::{Hash, Hasher};

use uuid::Uuid;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Uuid);

/// Hashes ids for maps: fast, and seeded per process, so ids a client
/// makes up cannot be chosen to collide.
pub type IdHasher = foldhash::fast::RandomState;

pub type IdMap<V> = std::collections::HashMap<SessionId, V, IdHasher>;

impl SessionId {
    pub fn generate() -> Self {
        SessionId(Uuid::new_v4())
    }

    /// Accepts only the canonical lower-case hyphenated form of a v4 UUID,
    /// the only form the server ever issues.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 36 || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let uuid = Uuid::try_parse(text).ok()?;
        let canonical = uuid.get_version_num() == 4 && uuid.get_variant() == uuid::Variant::RFC4122;
        canonical.then_some(SessionId(uuid))
    }

    /// A short, one-way tag for logs: never log a whole id.
    pub fn tag(&self) -> String {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.0.hash(&mut hasher);
        format!("{:08x}", hasher.finish() as u32)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_what_it_issues() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(&id.to_string()), Some(id));
        assert_eq!(SessionId::parse(&id.to_string().to_uppercase()), None);
        assert_eq!(
            SessionId::parse("00000000-0000-0000-0000-000000000000"),
            None
        );
        assert_eq!(SessionId::parse("not-an-id"), None);
        assert_eq!(SessionId::parse(&id.to_string().replace('-', "")), None);
        assert_eq!(
            SessionId::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
            None
        ); // v1
    }
}
