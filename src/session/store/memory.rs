//! Sessions in this process's memory: fast, gone at exit. Sharded maps plus
//! a per-shard index ordered by deadline, so expiry and eviction cost is
//! proportional to what expires, not to how many sessions live.

use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt};

use super::{
    Expiry, Leaving, Meta, SessionLock, SessionStore, StoreError, StoreResult, Stored, Write,
};
use crate::session::id::{IdHasher, IdMap, SessionId};
use crate::session::locks::LocalLocks;

const SHARDS: usize = 16;

/// How often, at most, the log says that sessions were evicted.
const EVICTIONS_LOGGED_EVERY: Duration = Duration::from_secs(10);

pub struct MemoryStore {
    shards: Vec<Mutex<Shard>>,
    /// Evicted since the log last said so, and when it did.
    evictions: Mutex<(u64, Option<Instant>)>,
    hasher: IdHasher,
    locks: LocalLocks,
    expiry: Expiry,
    max_per_shard: usize,
    max_bytes_per_shard: usize,
}

#[derive(Default)]
struct Shard {
    sessions: IdMap<Entry>,
    by_deadline: BTreeSet<(i64, SessionId)>,
    /// What its sessions hold (`Entry::size`).
    bytes: usize,
}

/// Compact on purpose: boxed strings, no spare capacity.
struct Entry {
    meta: Meta,
    attrs: Box<[(Box<str>, Box<str>)]>,
}

impl MemoryStore {
    /// At most `max_count` sessions holding at most `max_bytes`.
    pub fn new(max_count: usize, max_bytes: usize, expiry: Expiry) -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            evictions: Mutex::default(),
            hasher: Default::default(),
            locks: LocalLocks::default(),
            expiry,
            max_per_shard: max_count.div_ceil(SHARDS).max(1),
            max_bytes_per_shard: (max_bytes / SHARDS).max(1),
        }
    }

    fn shard(&self, id: &SessionId) -> &Mutex<Shard> {
        &self.shards[self.hasher.hash_one(id) as usize % SHARDS]
    }

    /// Counts an eviction; the log hears of them at once, then at most once
    /// every few seconds (a full store under load evicts at every request).
    fn evicted(&self) {
        let mut evictions = self.evictions.lock().unwrap();
        evictions.0 += 1;
        if evictions
            .1
            .is_none_or(|at| at.elapsed() >= EVICTIONS_LOGGED_EVERY)
        {
            tracing::warn!(
                evicted = evictions.0,
                "session limit reached (--session-max-count or --session-memory): evicted the least recently used session(s)"
            );
            *evictions = (0, Some(Instant::now()));
        }
    }

    fn load(&self, id: SessionId) -> Option<Stored> {
        let shard = self.shard(&id).lock().unwrap();
        shard.sessions.get(&id).map(|entry| Stored {
            meta: entry.meta,
            attrs: entry
                .attrs
                .iter()
                .map(|(k, v)| (String::from(&**k), String::from(&**v)))
                .collect(),
        })
    }

    fn apply_one(&self, write: Write) -> StoreResult<()> {
        match write {
            Write::Create { id, stored } => {
                let mut shard = self.shard(&id).lock().unwrap();
                if shard.sessions.contains_key(&id) {
                    return Err(StoreError::Collision);
                }
                let entry = Entry {
                    meta: stored.meta,
                    attrs: stored
                        .attrs
                        .into_iter()
                        .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
                        .collect(),
                };
                while (shard.sessions.len() >= self.max_per_shard
                    || shard.bytes + entry.size() > self.max_bytes_per_shard)
                    && shard.evict_one()
                {
                    self.evicted();
                }
                shard.insert(id, entry, self.expiry);
            }
            Write::Update {
                id,
                accessed,
                idle,
                set,
                remove,
            } => {
                let mut shard = self.shard(&id).lock().unwrap();
                let shard = &mut *shard;
                let Some(entry) = shard.sessions.get_mut(&id) else {
                    return Ok(()); // deleted meanwhile (expired or invalidated elsewhere)
                };
                let before = index_key(self.expiry.deadline(&entry.meta));
                let size = entry.size();
                entry.meta.accessed = accessed.unwrap_or(entry.meta.accessed);
                entry.meta.idle = idle.unwrap_or(entry.meta.idle);
                entry.change(set, remove);
                shard.bytes = shard.bytes + entry.size() - size;
                let after = index_key(self.expiry.deadline(&entry.meta));
                if after != before {
                    shard.by_deadline.remove(&(before, id));
                    shard.by_deadline.insert((after, id));
                }
                // Room for what grew: the least recently used others go.
                while shard.bytes > self.max_bytes_per_shard && shard.evict_other(&id) {
                    self.evicted();
                }
            }
            Write::Delete { id } => {
                self.shard(&id).lock().unwrap().take(&id, self.expiry);
            }
            Write::Rename { from, to } => {
                let entry = self.shard(&from).lock().unwrap().take(&from, self.expiry);
                if let Some(entry) = entry {
                    let mut shard = self.shard(&to).lock().unwrap();
                    if shard.sessions.contains_key(&to) {
                        return Err(StoreError::Collision);
                    }
                    shard.insert(to, entry, self.expiry);
                }
            }
        }
        Ok(())
    }
}

/// A session's place in the deadline index: its deadline rounded up to
/// the second, so the many requests of a busy session within one second
/// leave the index alone. (Expiry itself is judged to the millisecond on
/// every load; the sweeper may come up to a second late.)
fn index_key(deadline: i64) -> i64 {
    deadline
        .div_euclid(1000)
        .saturating_add(1)
        .saturating_mul(1000)
}

impl Entry {
    /// The bytes it holds, roughly: its strings and their bookkeeping.
    fn size(&self) -> usize {
        96 + self
            .attrs
            .iter()
            .map(|(k, v)| k.len() + v.len() + 32)
            .sum::<usize>()
    }

    /// Sets and removes attributes; new names go last (first-set order).
    fn change(&mut self, set: Vec<(String, String)>, remove: Vec<String>) {
        let mut fresh = Vec::new();
        for (name, value) in set {
            match self.attrs.iter_mut().find(|(k, _)| **k == *name) {
                Some(slot) => slot.1 = value.into_boxed_str(),
                None => fresh.push((name.into_boxed_str(), value.into_boxed_str())),
            }
        }
        if fresh.is_empty() && remove.is_empty() {
            return;
        }
        let mut attrs = std::mem::take(&mut self.attrs).into_vec();
        attrs.retain(|(k, _)| !remove.iter().any(|r| r.as_str() == &**k));
        attrs.extend(fresh);
        self.attrs = attrs.into_boxed_slice();
    }
}

impl Shard {
    fn insert(&mut self, id: SessionId, entry: Entry, expiry: Expiry) {
        self.by_deadline
            .insert((index_key(expiry.deadline(&entry.meta)), id));
        self.bytes += entry.size();
        self.sessions.insert(id, entry);
    }

    fn take(&mut self, id: &SessionId, expiry: Expiry) -> Option<Entry> {
        let entry = self.sessions.remove(id)?;
        self.by_deadline
            .remove(&(index_key(expiry.deadline(&entry.meta)), *id));
        self.bytes -= entry.size();
        Some(entry)
    }

    /// At the cap: drops the session nearest its deadline, which for equal
    /// idle timeouts is the least recently used one.
    fn evict_one(&mut self) -> bool {
        let Some((_, id)) = self.by_deadline.pop_first() else {
            return false;
        };
        if let Some(entry) = self.sessions.remove(&id) {
            self.bytes -= entry.size();
        }
        true
    }

    /// Like `evict_one`, sparing `keep`.
    fn evict_other(&mut self, keep: &SessionId) -> bool {
        let Some(&(deadline, id)) = self.by_deadline.iter().find(|(_, id)| id != keep) else {
            return false;
        };
        self.by_deadline.remove(&(deadline, id));
        if let Some(entry) = self.sessions.remove(&id) {
            self.bytes -= entry.size();
        }
        true
    }
}

impl SessionStore for MemoryStore {
    fn open(
        &self,
        id: SessionId,
        wait: Duration,
    ) -> BoxFuture<'_, StoreResult<(SessionLock, Option<Stored>)>> {
        async move {
            let local = self.locks.lock(id, wait).await?;
            let lock = SessionLock {
                local: Some(local),
                shared: None,
            };
            Ok((lock, self.load(id)))
        }
        .boxed()
    }

    fn read(&self, id: SessionId) -> BoxFuture<'_, StoreResult<Option<Stored>>> {
        std::future::ready(Ok(self.load(id))).boxed()
    }

    fn in_use_on(&self, id: SessionId, thread: ThreadId) -> bool {
        self.locks.in_use_on(id, thread)
    }

    fn close(&self, leaving: Leaving) -> BoxFuture<'_, StoreResult<()>> {
        let result = leaving
            .writes
            .into_iter()
            .try_for_each(|w| self.apply_one(w));
        drop(leaving.held);
        async move { result }.boxed()
    }

    fn unlock(&self, _id: SessionId, lock: SessionLock) -> BoxFuture<'_, ()> {
        drop(lock);
        async {}.boxed()
    }

    fn count(&self) -> BoxFuture<'_, StoreResult<u64>> {
        let n: usize = self
            .shards
            .iter()
            .map(|s| s.lock().unwrap().sessions.len())
            .sum();
        async move { Ok(n as u64) }.boxed()
    }

    fn sweep(&self, now: i64, _rules: Expiry) -> BoxFuture<'_, StoreResult<u64>> {
        let mut removed = 0;
        for shard in &self.shards {
            // Small batches so a request never waits long behind the sweeper.
            loop {
                let mut shard = shard.lock().unwrap();
                let mut batch = 0;
                while batch < 256 {
                    match shard.by_deadline.first() {
                        Some(&(deadline, id)) if deadline <= now => {
                            shard.by_deadline.pop_first();
                            if let Some(entry) = shard.sessions.remove(&id) {
                                shard.bytes -= entry.size();
                            }
                            batch += 1;
                        }
                        _ => break,
                    }
                }
                removed += batch;
                if batch < 256 {
                    break;
                }
            }
        }
        async move { Ok(removed as u64) }.boxed()
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}
