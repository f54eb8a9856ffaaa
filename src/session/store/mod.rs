//! One trait, three stores. A store keeps sessions as plain data: metadata
//! plus one JSON text per attribute. It knows nothing of expiry rules or
//! requests; `session::` decides, the store records.

pub mod locked;
pub mod memory;
pub mod redis;
pub mod sqlite;

use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::id::SessionId;
use super::locks::LocalGuard;
use locked::Chain;

/// What a store keeps besides the attributes. Times are Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub created: i64,
    pub accessed: i64,
    /// Idle timeout in seconds; `<= 0` means none.
    pub idle: i64,
}

/// A session as loaded: attributes in the order they were first set.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub meta: Meta,
    pub attrs: Vec<(String, String)>,
}

/// One change, applied by `SessionStore::apply` together with the others of
/// its request, atomically where the store allows.
#[derive(Debug, Clone)]
pub enum Write {
    /// Insert if absent; an existing id is a `StoreError::Collision`.
    Create {
        id: SessionId,
        stored: Stored,
    },
    /// Only the fields that changed.
    Update {
        id: SessionId,
        accessed: Option<i64>,
        idle: Option<i64>,
        set: Vec<(String, String)>,
        remove: Vec<String>,
    },
    Delete {
        id: SessionId,
    },
    /// New id, same session; the old id stops existing.
    Rename {
        from: SessionId,
        to: SessionId,
    },
}

/// Exclusive use of one session for one request. Dropping it releases the
/// in-process part; `SessionStore::unlock` also releases a store's one.
#[derive(Debug)]
pub struct SessionLock {
    pub local: Option<LocalGuard>,
    /// The lock held in a store shared with other processes.
    pub shared: Option<SharedLock>,
}

#[derive(Debug)]
pub struct SharedLock {
    /// Its token, for compare-and-delete.
    pub token: String,
    /// The writes of the requests that had the session before this one,
    /// if they are still being stored (`locked`).
    pub chain: Option<Arc<Chain>>,
}

/// What a request leaves behind: its writes, and the lock it held.
pub struct Leaving {
    pub writes: Vec<Write>,
    pub held: Option<Held>,
}

pub struct Held {
    pub id: SessionId,
    pub lock: SessionLock,
    /// The session under `id` after the writes (`None`: there is none),
    /// for a store that hands it to the next request directly.
    pub session: Option<Stored>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    #[error("timed out waiting for another request of this session (--session-lock-timeout)")]
    LockTimeout,
    #[error("the session's lock in the store expired while in use")]
    LockLost,
    #[error("this session is in use by another request on this worker; try again")]
    Busy,
    #[error("session id collision")]
    Collision,
}

pub type StoreResult<T> = Result<T, StoreError>;

pub trait SessionStore: Send + Sync + 'static {
    /// Waits up to `wait` for exclusive use of `id`, across every instance
    /// that shares the store, and reads the session as stored, expired or
    /// not (the caller judges expiry).
    fn open(
        &self,
        id: SessionId,
        wait: Duration,
    ) -> BoxFuture<'_, StoreResult<(SessionLock, Option<Stored>)>>;
    /// Reads the session as last stored, without its lock (expired or not).
    fn read(&self, id: SessionId) -> BoxFuture<'_, StoreResult<Option<Stored>>>;
    /// Whether a request running on `thread` holds `id`'s lock or waits for
    /// it: that thread must not block until the lock is free.
    fn in_use_on(&self, id: SessionId, thread: ThreadId) -> bool;
    /// Applies the writes, atomically where the store allows, then
    /// releases the lock held, if any.
    fn close(&self, leaving: Leaving) -> BoxFuture<'_, StoreResult<()>>;
    /// Releases a lock without writing anything.
    fn unlock(&self, id: SessionId, lock: SessionLock) -> BoxFuture<'_, ()>;
    /// Live sessions, approximately.
    fn count(&self) -> BoxFuture<'_, StoreResult<u64>>;
    /// Deletes sessions whose deadline has passed; returns how many.
    fn sweep(&self, now: i64, rules: Expiry) -> BoxFuture<'_, StoreResult<u64>>;
    fn name(&self) -> &'static str;
}

/// The expiry rules every store shares.
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    /// Absolute lifetime in milliseconds.
    pub max_age_ms: i64,
}

impl Expiry {
    /// The instant after which the session is dead.
    pub fn deadline(&self, meta: &Meta) -> i64 {
        let absolute = meta.created.saturating_add(self.max_age_ms);
        if meta.idle > 0 {
            absolute.min(meta.accessed.saturating_add(meta.idle.saturating_mul(1000)))
        } else {
            absolute
        }
    }

    pub fn is_expired(&self, meta: &Meta, now: i64) -> bool {
        now >= self.deadline(meta)
    }
}

pub type SharedStore = Arc<dyn SessionStore>;

/// A pause of between half and all of `pause`, so processes polling for
/// one lock spread out.
pub(crate) fn jitter(pause: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let half = pause / 2;
    half + Duration::from_nanos(u64::from(nanos) % (half.as_nanos().max(1) as u64))
}
