//! In-process per-session locks. An entry exists only while a session is
//! held, so idle sessions cost nothing here.
//!
//! The lock is handed over directly to the next waiter, preferring one on
//! the releasing thread: that waiter resumes without waking another thread
//! (a cross-thread wake-up costs more than a whole small request). At most
//! `SAME_THREAD_STREAK` hand-overs in a row stay on one thread, so waiters
//! on the others are never starved.
//!
//! A store with a lock of its own (SQLite, Redis) may keep it across a
//! hand-over (`LocalGuard::hand_over`), with the session as the holder left
//! it (`store::locked`), sparing the release, the next acquire and the next
//! read; at most `KEPT_STREAK` times in a row, so other instances get their
//! turn.

use std::collections::hash_map::Entry as Slot;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use tokio::sync::oneshot;

use super::id::{IdMap, SessionId};
use super::store::locked::Chain;
use super::store::StoreError;

const SAME_THREAD_STREAK: u32 = 32;
const KEPT_STREAK: u32 = 32;

/// Called with what was kept for a waiter that then gave up, when nobody
/// else waits: the store releases its lock.
pub type Orphaned = Box<dyn Fn(SessionId, Kept) + Send + Sync>;

/// What a holder keeps for the next one: the store's lock, and the chain
/// of writes with the session as the holder left it.
#[derive(Debug)]
pub struct Kept {
    pub token: String,
    pub chain: Arc<Chain>,
}

#[derive(Default)]
pub struct LocalLocks {
    table: Arc<Table>,
}

#[derive(Default)]
struct Table {
    held: Mutex<IdMap<Held>>,
    orphaned: Option<Orphaned>,
}

/// A held session: who holds it, who waits, and what the holder keeps for
/// the next one.
struct Held {
    /// The thread of the request that holds it.
    holder: ThreadId,
    waiters: VecDeque<Waiter>,
    /// Hand-overs in a row to the releasing thread.
    same_thread: u32,
    /// Kept for the next holder.
    kept: Option<Kept>,
    /// Hand-overs in a row with the shared lock kept.
    kept_streak: u32,
}

struct Waiter {
    thread: ThreadId,
    grant: oneshot::Sender<()>,
}

/// Held while a request uses a session; dropping it hands the session to
/// the next waiter (or forgets the entry).
pub struct LocalGuard {
    id: SessionId,
    table: Arc<Table>,
    /// Already handed over by `hand_over`.
    released: bool,
}

impl std::fmt::Debug for LocalGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalGuard({:?})", self.id)
    }
}

impl LocalLocks {
    /// Locks whose kept shared tokens go to `orphaned` when nobody takes them.
    pub fn with_orphan_handler(orphaned: Orphaned) -> Self {
        LocalLocks {
            table: Arc::new(Table {
                held: Mutex::default(),
                orphaned: Some(orphaned),
            }),
        }
    }

    pub async fn lock(&self, id: SessionId, wait: Duration) -> Result<LocalGuard, StoreError> {
        let granted = {
            let mut held = self.table.held.lock().unwrap();
            match held.entry(id) {
                Slot::Vacant(slot) => {
                    slot.insert(Held {
                        holder: std::thread::current().id(),
                        waiters: VecDeque::new(),
                        same_thread: 0,
                        kept: None,
                        kept_streak: 0,
                    });
                    return Ok(LocalGuard::new(id, &self.table));
                }
                Slot::Occupied(mut slot) => {
                    let (grant, granted) = oneshot::channel();
                    slot.get_mut().waiters.push_back(Waiter {
                        thread: std::thread::current().id(),
                        grant,
                    });
                    granted
                }
            }
        };
        let mut waiting = Waiting {
            granted,
            id,
            table: self.table.clone(),
            done: false,
        };
        match tokio::time::timeout(wait, &mut waiting.granted).await {
            Ok(Ok(())) => {
                waiting.done = true;
                Ok(LocalGuard::new(id, &self.table))
            }
            _ => Err(StoreError::LockTimeout), // `waiting` passes on a late grant
        }
    }

    /// Whether a request on `thread` holds `id` or waits for it. Such a
    /// thread must not block until `id` is free: that would never happen.
    pub fn in_use_on(&self, id: SessionId, thread: ThreadId) -> bool {
        let held = self.table.held.lock().unwrap();
        held.get(&id)
            .is_some_and(|h| h.holder == thread || h.waiters.iter().any(|w| w.thread == thread))
    }
}

impl LocalGuard {
    fn new(id: SessionId, table: &Arc<Table>) -> Self {
        LocalGuard {
            id,
            table: table.clone(),
            released: false,
        }
    }

    pub fn id(&self) -> SessionId {
        self.id
    }

    /// What the previous holder kept for this one.
    pub fn take_kept(&self) -> Option<Kept> {
        let mut held = self.table.held.lock().unwrap();
        held.get_mut(&self.id).and_then(|h| h.kept.take())
    }

    /// Whether another request of this instance waits and may be handed the
    /// shared lock (a hint: it may give up before the hand-over).
    pub fn has_waiters(&self) -> bool {
        let held = self.table.held.lock().unwrap();
        held.get(&self.id)
            .is_some_and(|h| !h.waiters.is_empty() && h.kept_streak < KEPT_STREAK)
    }

    /// Hands the session over with `kept` for the next holder. Gives it back
    /// when nobody took it, or when the lock was kept too often in a row:
    /// then the caller releases the shared lock (and drops `self`).
    pub fn hand_over(mut self, kept: Kept) -> Result<(), (Kept, Option<Self>)> {
        let mut held = self.table.held.lock().unwrap();
        let entry = held.get_mut(&self.id).expect("a held session has an entry");
        if entry.kept_streak >= KEPT_STREAK {
            drop(held);
            return Err((kept, Some(self)));
        }
        entry.kept = Some(kept);
        entry.kept_streak += 1;
        let left = pass_on(&mut held, self.id);
        drop(held);
        self.released = true;
        match left {
            Some(Some(kept)) => Err((kept, None)),
            _ => Ok(()),
        }
    }
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let mut held = self.table.held.lock().unwrap();
        if let Some(entry) = held.get_mut(&self.id) {
            entry.kept_streak = 0;
        }
        let left = pass_on(&mut held, self.id);
        drop(held);
        if let (Some(Some(kept)), Some(orphaned)) = (left, &self.table.orphaned) {
            orphaned(self.id, kept);
        }
    }
}

/// Gives the session to the next live waiter; when there is none, forgets
/// the entry and returns what it kept.
fn pass_on(held: &mut IdMap<Held>, id: SessionId) -> Option<Option<Kept>> {
    let entry = held.get_mut(&id)?;
    let here = std::thread::current().id();
    loop {
        let same = (entry.same_thread < SAME_THREAD_STREAK)
            .then(|| entry.waiters.iter().position(|w| w.thread == here))
            .flatten();
        let Some(waiter) = entry.waiters.remove(same.unwrap_or(0)) else {
            return held.remove(&id).map(|entry| entry.kept);
        };
        if waiter.thread == here {
            entry.same_thread += 1;
        } else {
            entry.same_thread = 0;
        }
        if waiter.grant.send(()).is_ok() {
            entry.holder = waiter.thread;
            return None;
        }
        // That waiter gave up: the next one.
    }
}

/// A waiter that gives up after it was granted the lock passes it on.
struct Waiting {
    granted: oneshot::Receiver<()>,
    id: SessionId,
    table: Arc<Table>,
    /// The grant was taken (as a `LocalGuard`).
    done: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.granted.close();
        if self.granted.try_recv().is_ok() {
            drop(LocalGuard::new(self.id, &self.table));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    fn id(n: u8) -> SessionId {
        SessionId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02x}")).unwrap()
    }

    fn kept() -> Kept {
        Kept {
            token: "token".into(),
            chain: Chain::idle(tokio::runtime::Handle::current()),
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_waiter_that_gives_up_does_not_hold_the_session() {
        runtime().block_on(async {
            let locks = LocalLocks::default();
            let held = locks.lock(id(1), WAIT).await.unwrap();
            let late = locks.lock(id(1), Duration::from_millis(20)).await;
            assert!(matches!(late, Err(StoreError::LockTimeout)));
            drop(held);
            assert!(locks.table.held.lock().unwrap().is_empty());
            let again = locks.lock(id(1), Duration::from_millis(20)).await;
            assert!(again.is_ok(), "the session is free again");
        });
    }

    #[test]
    fn the_next_waiter_gets_the_kept_token() {
        runtime().block_on(async {
            let locks = Arc::new(LocalLocks::default());
            let held = locks.lock(id(2), WAIT).await.unwrap();
            let next = tokio::spawn({
                let locks = locks.clone();
                async move { locks.lock(id(2), WAIT).await.unwrap().take_kept().unwrap() }
            });
            while !held.has_waiters() {
                tokio::task::yield_now().await;
            }
            assert!(held.hand_over(kept()).is_ok());
            let kept = next.await.unwrap();
            assert_eq!(kept.token, "token");
        });
    }

    #[test]
    fn without_a_waiter_the_token_comes_back() {
        runtime().block_on(async {
            let locks = LocalLocks::default();
            let held = locks.lock(id(3), WAIT).await.unwrap();
            assert!(!held.has_waiters());
            let Err((kept, guard)) = held.hand_over(kept()) else {
                panic!("nobody to hand over to");
            };
            assert_eq!(kept.token, "token");
            assert!(guard.is_none(), "already released");
            assert!(locks.table.held.lock().unwrap().is_empty());
        });
    }

    #[test]
    fn a_kept_token_nobody_takes_goes_to_the_orphan_handler() {
        runtime().block_on(async {
            let orphans = Arc::new(Mutex::new(Vec::new()));
            let seen = orphans.clone();
            let locks = Arc::new(LocalLocks::with_orphan_handler(Box::new(
                move |_, kept: Kept| seen.lock().unwrap().push(kept.token),
            )));
            let held = locks.lock(id(4), WAIT).await.unwrap();
            // A waiter granted the session that drops it without taking the token.
            let next = tokio::spawn({
                let locks = locks.clone();
                async move { drop(locks.lock(id(4), WAIT).await.unwrap()) }
            });
            while !held.has_waiters() {
                tokio::task::yield_now().await;
            }
            assert!(held.hand_over(kept()).is_ok());
            next.await.unwrap();
            assert_eq!(*orphans.lock().unwrap(), ["token"]);
        });
    }

    #[test]
    fn waiters_on_other_threads_are_not_starved() {
        let locks = Arc::new(LocalLocks::default());
        let held = runtime().block_on(locks.lock(id(5), WAIT)).unwrap();
        let served = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let other = std::thread::spawn({
            let (locks, served) = (locks.clone(), served.clone());
            move || {
                let guard = runtime().block_on(locks.lock(id(5), WAIT)).unwrap();
                served.store(true, std::sync::atomic::Ordering::SeqCst);
                drop(guard);
            }
        });
        while !held.has_waiters() {
            std::thread::yield_now();
        }
        // This thread keeps queueing waiters of its own: the other thread's
        // waiter still gets its turn within SAME_THREAD_STREAK hand-overs.
        runtime().block_on(async {
            let mut held = held;
            for _ in 0..SAME_THREAD_STREAK + 1 {
                let next = tokio::spawn({
                    let locks = locks.clone();
                    async move { locks.lock(id(5), WAIT).await }
                });
                while locks.table.held.lock().unwrap()[&id(5)].waiters.len() < 2 {
                    tokio::task::yield_now().await;
                }
                drop(held);
                held = next.await.unwrap().unwrap();
            }
            assert!(served.load(std::sync::atomic::Ordering::SeqCst));
            drop(held);
        });
        other.join().unwrap();
    }
}
