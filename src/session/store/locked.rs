//! What the SQLite and Redis stores share: every session has a lock kept in
//! the store itself, so the requests of every process that uses the store
//! take turns on it; and a session busy in this process is written in
//! batches.
//!
//! A request first takes the in-process lock of its session (requests of
//! one process queue without asking the store), then the store's lock,
//! reading the session in the same step (polling with short sleeps while
//! another process holds it).
//!
//! When the request ends and another request of this process waits for the
//! session, that one gets the session at once, as the first one left it,
//! with the store's lock still held: it does not wait for the first one's
//! writes. The writes of such a chain of requests go to the store in order,
//! in batches, one batch in flight at a time, each applied atomically and
//! only while the lock is still the chain's. A request answers only once
//! its own writes, and so all before them, are stored. When a batch fails,
//! its requests fail, and so does every later request of the chain (they
//! saw its changes); the next request reads the session from the store
//! again. The last request of a chain releases the lock in its batch.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt};
use tokio::sync::oneshot;

use super::{
    jitter, Expiry, Held, Leaving, SessionLock, SessionStore, SharedLock, StoreError, StoreResult,
    Stored, Write,
};
use crate::session::id::SessionId;
use crate::session::locks::{Kept, LocalGuard, LocalLocks};
use crate::session::{holder, LOCK_LEASE};

/// Longest pause between two attempts at another process's lock.
const MAX_POLL: Duration = Duration::from_millis(8);
/// A chain that writes nothing still renews its lock's lease this often.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// What becomes of the store's lock after a batch of writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Held on: its lease starts anew.
    Renew,
    Release,
}

/// The part of a store that talks to the database.
pub trait Backend: Send + Sync + 'static {
    /// Takes (or renews) `id`'s lock for `token` and reads the session, in
    /// one step; `None` while another process holds the lock.
    fn lock_and_load<'a>(
        &'a self,
        id: SessionId,
        token: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Option<Stored>>>>;
    /// Reads the session as stored, whoever holds its lock.
    fn load(&self, id: SessionId) -> BoxFuture<'_, StoreResult<Option<Stored>>>;
    /// Applies `writes` atomically. With `lock` (id, token, then): only
    /// while the token still holds the lock (else nothing is written and
    /// the answer is `StoreError::LockLost`), then renews or releases it.
    fn commit<'a>(
        &'a self,
        writes: Vec<Write>,
        lock: Option<(SessionId, &'a str, Then)>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Starts `id`'s lease anew while `token` holds its lock; false once
    /// it no longer does.
    fn renew<'a>(&'a self, id: SessionId, token: &'a str) -> BoxFuture<'a, StoreResult<bool>>;
    fn count(&self) -> BoxFuture<'_, StoreResult<u64>>;
    fn sweep(&self, now: i64) -> BoxFuture<'_, StoreResult<u64>>;
    fn name(&self) -> &'static str;
}

/// A store of sessions guarded by locks kept in the store.
pub struct LockedStore<B: Backend> {
    backend: Arc<B>,
    locks: LocalLocks,
    /// Writes under no lock (sessions made by requests that had none),
    /// stored in batches too.
    unlocked: Arc<Chain>,
    /// The session runtime: where work goes that outlives a request.
    runtime: tokio::runtime::Handle,
}

impl<B: Backend> LockedStore<B> {
    pub fn new(backend: B, runtime: tokio::runtime::Handle) -> Self {
        let backend = Arc::new(backend);
        // A lock kept for a request that then gave up: released once the
        // chain's writes are stored.
        let orphaned = |_, kept: Kept| drop(kept.chain.submit(Vec::new(), Then::Release, None));
        let unlocked = {
            let backend = backend.clone();
            let commit = move |writes, _| {
                let backend = backend.clone();
                async move { backend.commit(writes, None).await }.boxed()
            };
            Chain::new(Box::new(commit), runtime.clone(), true)
        };
        LockedStore {
            backend,
            locks: LocalLocks::with_orphan_handler(Box::new(orphaned)),
            unlocked,
            runtime,
        }
    }

    fn chain(&self, id: SessionId, token: &str) -> Arc<Chain> {
        let (backend, token) = (self.backend.clone(), token.to_string());
        let commit = move |writes, then| {
            let (backend, token) = (backend.clone(), token.clone());
            async move { backend.commit(writes, Some((id, &token, then))).await }.boxed()
        };
        Chain::new(Box::new(commit), self.runtime.clone(), false)
    }

    /// Releases `token` in the background (best effort: it expires anyway).
    fn release_later(&self, id: SessionId, token: String) {
        self.runtime.spawn(release(self.backend.clone(), id, token));
    }

    async fn open_locked(
        &self,
        id: SessionId,
        wait: Duration,
    ) -> StoreResult<(SessionLock, Option<Stored>)> {
        let until = Instant::now() + wait;
        let local = self.locks.lock(id, wait).await?;
        let token = match local.take_kept() {
            Some(Kept { token, chain }) => match chain.latest() {
                Some(latest) => return Ok((locked(local, token, Some(chain)), latest)),
                // The chain failed: read the session again, under the same lock.
                None => token,
            },
            None => holder::token(),
        };
        let mut taking = Taking {
            store: self,
            id,
            token: Some(token.clone()),
        };
        let mut pause = Duration::from_millis(1);
        loop {
            match self.backend.lock_and_load(id, &token).await {
                Ok(Some(stored)) => {
                    taking.token = None;
                    self.runtime
                        .spawn(keep_alive(self.backend.clone(), id, token.clone()));
                    return Ok((locked(local, token, None), stored));
                }
                Ok(None) => {}
                // Maybe taken before the failure: `taking` releases it.
                Err(err) => return Err(err),
            }
            // Another process holds it: try again shortly.
            let now = Instant::now();
            if now >= until {
                taking.token = None;
                return Err(StoreError::LockTimeout);
            }
            tokio::time::sleep(jitter(pause).min(until - now)).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    async fn close_locked(&self, leaving: Leaving) -> StoreResult<()> {
        let Leaving { writes, held } = leaving;
        let Some(Held { id, lock, session }) = held else {
            return self.unlocked.submit(writes, Then::Renew, None).await;
        };
        let SessionLock { local, shared } = lock;
        let Some(SharedLock { token, chain }) = shared else {
            return self.unlocked.submit(writes, Then::Renew, None).await;
        };
        let chain = chain.unwrap_or_else(|| self.chain(id, &token));
        let handing = local.as_ref().is_some_and(LocalGuard::has_waiters);
        if let Some(failure) = chain.failure() {
            // The session this request saw was never stored: nothing of it is.
            match local {
                Some(local) if handing => pass_on(local, token, chain, self),
                _ => self.release_later(id, token),
            }
            return Err(failure);
        }
        let then = if handing { Then::Renew } else { Then::Release };
        let stored = chain.submit(writes, then, Some(session));
        match local {
            Some(local) if handing => {
                pass_on(local, token, chain, self);
                stored.await
            }
            // Last of its chain: the next request may only try the store's
            // lock once this one released it.
            local => {
                let result = stored.await;
                drop(local);
                result
            }
        }
    }

    async fn unlock_locked(&self, id: SessionId, lock: SessionLock) {
        let SessionLock { local, shared } = lock;
        let Some(SharedLock { token, chain }) = shared else {
            return;
        };
        match chain.filter(|chain| chain.failure().is_none()) {
            // The session goes on as this request found it: as the chain
            // left it.
            Some(chain) => match local {
                Some(local) if local.has_waiters() => pass_on(local, token, chain, self),
                local => {
                    let _ = chain.submit(Vec::new(), Then::Release, None).await;
                    drop(local);
                }
            },
            // Read from the store (or the chain failed): the next request
            // reads it again, once the lock is released.
            None => {
                release(self.backend.clone(), id, token).await;
                drop(local);
            }
        }
    }
}

/// Renews the lease of a lock while its token holds it (through every
/// request of its chain), so a short lease never lapses under a long
/// request, and a dead process's lock is free within one lease.
async fn keep_alive<B: Backend>(backend: Arc<B>, id: SessionId, token: String) {
    loop {
        tokio::time::sleep(LOCK_LEASE / 3).await;
        match backend.renew(id, &token).await {
            Ok(true) => {}
            Ok(false) => return,
            // The store is down: try again (if it stays down, the lease lapses).
            Err(_) => {}
        }
    }
}

/// Releases `token`'s hold on `id`'s lock, if it still has one.
async fn release<B: Backend>(backend: Arc<B>, id: SessionId, token: String) {
    match backend
        .commit(Vec::new(), Some((id, &token, Then::Release)))
        .await
    {
        // Not (or no longer) held by that token: nothing to release.
        Ok(()) | Err(StoreError::LockLost) => {}
        Err(err) => {
            tracing::warn!(session = %id.tag(), "session lock not released (it expires by itself): {err}");
        }
    }
}

fn locked(local: LocalGuard, token: String, chain: Option<Arc<Chain>>) -> SessionLock {
    SessionLock {
        local: Some(local),
        shared: Some(SharedLock { token, chain }),
    }
}

/// Hands the session, with the store's lock, to the next request of this
/// process; when that one gave up meanwhile, releases the lock after the
/// chain's writes.
fn pass_on<B: Backend>(
    local: LocalGuard,
    token: String,
    chain: Arc<Chain>,
    store: &LockedStore<B>,
) {
    let id = local.id();
    if let Err((kept, local)) = local.hand_over(Kept { token, chain }) {
        match kept.chain.failure() {
            Some(_) => store.release_later(id, kept.token),
            None => drop(kept.chain.submit(Vec::new(), Then::Release, None)),
        }
        drop(local);
    }
}

/// A store lock being taken: if the request gives up half-way, the lock is
/// released anyway.
struct Taking<'a, B: Backend> {
    store: &'a LockedStore<B>,
    id: SessionId,
    token: Option<String>,
}

impl<B: Backend> Drop for Taking<'_, B> {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            self.store.release_later(self.id, token);
        }
    }
}

impl<B: Backend> SessionStore for LockedStore<B> {
    fn open(
        &self,
        id: SessionId,
        wait: Duration,
    ) -> BoxFuture<'_, StoreResult<(SessionLock, Option<Stored>)>> {
        self.open_locked(id, wait).boxed()
    }

    fn read(&self, id: SessionId) -> BoxFuture<'_, StoreResult<Option<Stored>>> {
        self.backend.load(id)
    }

    fn in_use_on(&self, id: SessionId, thread: ThreadId) -> bool {
        self.locks.in_use_on(id, thread)
    }

    fn close(&self, leaving: Leaving) -> BoxFuture<'_, StoreResult<()>> {
        self.close_locked(leaving).boxed()
    }

    fn unlock(&self, id: SessionId, lock: SessionLock) -> BoxFuture<'_, ()> {
        self.unlock_locked(id, lock).boxed()
    }

    fn count(&self) -> BoxFuture<'_, StoreResult<u64>> {
        self.backend.count()
    }

    fn sweep(&self, now: i64, _rules: Expiry) -> BoxFuture<'_, StoreResult<u64>> {
        self.backend.sweep(now)
    }

    fn name(&self) -> &'static str {
        self.backend.name()
    }
}

type Commit = Box<dyn Fn(Vec<Write>, Then) -> BoxFuture<'static, StoreResult<()>> + Send + Sync>;

/// The writes of consecutive requests of one session, under one store lock.
pub struct Chain {
    commit: Commit,
    runtime: tokio::runtime::Handle,
    /// Its writes do not build on each other (new sessions of many
    /// clients): a failed batch fails only its own requests.
    independent: bool,
    state: Mutex<ChainState>,
}

struct ChainState {
    /// The session as the last request left it (`None`: there is none).
    latest: Option<Stored>,
    /// Submitted, not yet sent.
    pending: Vec<Member>,
    /// A batch is in flight (pending ones follow when it is done).
    flushing: bool,
    /// A batch failed: so does everything after it.
    failed: Option<StoreError>,
    /// The last time the store renewed the lock's lease.
    renewed: Instant,
}

struct Member {
    writes: Vec<Write>,
    then: Then,
    stored: oneshot::Sender<StoreResult<()>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Chain")
    }
}

impl Chain {
    fn new(commit: Commit, runtime: tokio::runtime::Handle, independent: bool) -> Arc<Chain> {
        Arc::new(Chain {
            commit,
            runtime,
            independent,
            state: Mutex::new(ChainState {
                latest: None,
                pending: Vec::new(),
                flushing: false,
                failed: None,
                renewed: Instant::now(),
            }),
        })
    }

    /// A chain that stores nothing, for tests of what holds one.
    #[cfg(test)]
    pub(crate) fn idle(runtime: tokio::runtime::Handle) -> Arc<Chain> {
        Chain::new(Box::new(|_, _| async { Ok(()) }.boxed()), runtime, false)
    }

    /// The session as the chain's last request left it; `None` once a
    /// batch failed.
    fn latest(&self) -> Option<Option<Stored>> {
        let state = self.state.lock().unwrap();
        state.failed.is_none().then(|| state.latest.clone())
    }

    fn failure(&self) -> Option<StoreError> {
        self.state.lock().unwrap().failed.clone()
    }

    /// Queues a request's writes (and, with `latest`, the session as it
    /// leaves it); the future resolves once they are stored. Queued at
    /// once, in call order, whether the future is awaited or not.
    fn submit(
        self: &Arc<Self>,
        writes: Vec<Write>,
        then: Then,
        latest: Option<Option<Stored>>,
    ) -> impl std::future::Future<Output = StoreResult<()>> + Send + 'static {
        let (stored, answer) = oneshot::channel();
        let start = {
            let mut state = self.state.lock().unwrap();
            match &state.failed {
                Some(err) => {
                    let _ = stored.send(Err(err.clone()));
                    false
                }
                None => {
                    if let Some(latest) = latest {
                        state.latest = latest;
                    }
                    state.pending.push(Member {
                        writes,
                        then,
                        stored,
                    });
                    !std::mem::replace(&mut state.flushing, true)
                }
            }
        };
        if start {
            // A task of its own, so no request's end cuts it short; on the
            // session runtime, never a worker's: a worker may block on the
            // session runtime (`Sessions::block_on`) waiting for this very
            // chain, and then a flush queued on that worker would never run.
            drop(self.runtime.spawn(self.clone().flush()));
        }
        async move {
            answer.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the session write was abandoned".into(),
                ))
            })
        }
    }

    /// Sends the pending writes, a batch at a time, until none are left.
    async fn flush(self: Arc<Self>) {
        loop {
            let (batch, renew) = {
                let mut state = self.state.lock().unwrap();
                if state.pending.is_empty() {
                    state.flushing = false;
                    return;
                }
                let renew = state.renewed.elapsed() >= RENEW_EVERY;
                (std::mem::take(&mut state.pending), renew)
            };
            let then = if batch.iter().any(|m| m.then == Then::Release) {
                Then::Release
            } else {
                Then::Renew
            };
            let mut writes = Vec::new();
            let mut waiting = Vec::with_capacity(batch.len());
            for member in batch {
                for write in member.writes {
                    push_merged(&mut writes, write);
                }
                waiting.push(member.stored);
            }
            let result = if writes.is_empty() && then == Then::Renew && !renew {
                Ok(())
            } else {
                (self.commit)(writes, then).await
            };
            let mut state = self.state.lock().unwrap();
            if result.is_ok() {
                state.renewed = Instant::now();
            }
            for member in waiting {
                let _ = member.send(result.clone());
            }
            if let (Err(err), false) = (result, self.independent) {
                if then == Then::Release {
                    // Nothing was written, the lock included: release it now.
                    let commit = (self.commit)(Vec::new(), Then::Release);
                    self.runtime.spawn(async move { drop(commit.await) });
                }
                for member in state.pending.drain(..) {
                    let _ = member.stored.send(Err(err.clone()));
                }
                state.failed = Some(err);
                state.latest = None;
                state.flushing = false;
                return;
            }
        }
    }
}

/// Appends `write`, merged into the last write when both update the same
/// session: a batch of a busy session then writes it once. An update
/// removes, then sets, so a name removed and set again lands last, as it
/// would have one update at a time.
fn push_merged(writes: &mut Vec<Write>, write: Write) {
    let (
        Some(Write::Update {
            id: into,
            accessed,
            idle,
            set,
            remove,
        }),
        Write::Update {
            id,
            accessed: next_accessed,
            idle: next_idle,
            set: next_set,
            remove: next_remove,
        },
    ) = (writes.last_mut(), &write)
    else {
        writes.push(write);
        return;
    };
    if id != into {
        writes.push(write);
        return;
    }
    *accessed = next_accessed.or(*accessed);
    *idle = next_idle.or(*idle);
    for name in next_remove {
        set.retain(|(n, _)| n != name);
        if !remove.contains(name) {
            remove.push(name.clone());
        }
    }
    for (name, value) in next_set {
        match set.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => set.push((name.clone(), value.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn updates_of_one_session_merge_as_if_applied_one_by_one() {
        let (a, b) = (SessionId::generate(), SessionId::generate());
        let update = |id, accessed: i64, set: &[(&str, &str)], remove: &[&str]| Write::Update {
            id,
            accessed: Some(accessed),
            idle: None,
            set: set
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            remove: remove.iter().map(|n| n.to_string()).collect(),
        };
        let mut writes = Vec::new();
        for write in [
            update(a, 1, &[("x", "1"), ("y", "1")], &[]),
            update(a, 2, &[("x", "2")], &["y"]),
            update(a, 3, &[("y", "3")], &["z"]),
            update(b, 4, &[("x", "4")], &[]),
        ] {
            push_merged(&mut writes, write);
        }
        assert_eq!(writes.len(), 2, "{writes:?}");
        let Write::Update {
            id,
            accessed,
            set,
            remove,
            ..
        } = &writes[0]
        else {
            panic!("{writes:?}");
        };
        assert_eq!((*id, *accessed), (a, Some(3)));
        // y was removed, then set again: it goes last, as one by one.
        assert_eq!(
            set,
            &[
                ("x".to_string(), "2".to_string()),
                ("y".to_string(), "3".to_string())
            ]
        );
        assert_eq!(remove, &["y".to_string(), "z".to_string()]);
    }

    #[test]
    fn a_failed_batch_fails_everything_after_it_and_forgets_the_session() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let batches = Arc::new(AtomicUsize::new(0));
            let seen = batches.clone();
            // The first batch is stored, the second fails.
            let commit = move |_, _| {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                async move {
                    match n {
                        0 => Ok(()),
                        _ => Err(StoreError::Unavailable("down".into())),
                    }
                }
                .boxed()
            };
            let chain = Chain::new(Box::new(commit), tokio::runtime::Handle::current(), false);
            let stored = |n: i64| Stored {
                meta: crate::session::store::Meta {
                    created: n,
                    accessed: n,
                    idle: 0,
                },
                attrs: Vec::new(),
            };
            let first = chain.submit(
                vec![Write::Delete {
                    id: SessionId::generate(),
                }],
                Then::Renew,
                Some(Some(stored(1))),
            );
            assert!(first.await.is_ok());
            assert_eq!(chain.latest(), Some(Some(stored(1))));

            let second = chain.submit(
                vec![Write::Delete {
                    id: SessionId::generate(),
                }],
                Then::Renew,
                Some(Some(stored(2))),
            );
            let third = chain.submit(
                vec![Write::Delete {
                    id: SessionId::generate(),
                }],
                Then::Renew,
                Some(Some(stored(3))),
            );
            assert!(second.await.is_err());
            assert!(third.await.is_err(), "it saw the failed batch's changes");
            assert_eq!(
                chain.latest(),
                None,
                "the next request reads the store again"
            );
            let later = chain.submit(Vec::new(), Then::Release, None);
            assert!(later.await.is_err());
            assert_eq!(
                batches.load(Ordering::SeqCst),
                2,
                "nothing is sent after a failure"
            );
        });
    }
}
