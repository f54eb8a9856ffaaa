//! In-process per-session locks. An entry exists only while a session is
//! in use, so idle sessions cost nothing here.
//!
//! A release does not hand the session to the next waiter: it wakes one
//! waiter, and whoever comes first takes it. Handing it over would keep it
//! reserved and idle until that waiter runs, while every request arriving
//! meanwhile queues behind it; under load the queue never empties and each
//! request pays a wake-up (a lock convoy). The waiter woken is one on the
//! releasing thread when there is one (no other thread to wake), at most
//! `SAME_THREAD_STREAK` times in a row. A woken waiter that finds the
//! session taken again queues first; once it has waited `STARVING`, the
//! next release hands the session to it, so none is overtaken for long.
//! (Handing over to every overtaken waiter at once brought the convoy back.)
//!
//! A store with a lock of its own (SQLite, Redis) may keep it across a
//! hand-over (`LocalGuard::hand_over`), with the session as the holder left
//! it (`store::locked`), sparing the release, the next acquire and the next
//! read; at most `KEPT_STREAK` times in a row, so other instances get their
//! turn. What was kept goes to a waiter directly.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::id::{IdMap, SessionId};
use super::store::locked::Chain;
use super::store::StoreError;

const SAME_THREAD_STREAK: u32 = 32;
const STARVING: Duration = Duration::from_millis(2);
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

/// A session in use: who holds it, who waits, and what the holder keeps for
/// the next one.
struct Held {
    /// The thread of the request that holds it; `None` while it is free for
    /// the waiter that was woken, or for anyone faster.
    holder: Option<ThreadId>,
    waiters: VecDeque<Waiter>,
    /// The thread of a waiter that was woken and has not come for the
    /// session yet.
    woken: Option<ThreadId>,
    /// Waiters woken or handed the session in a row on the releasing thread.
    same_thread: u32,
    /// Kept for the next holder.
    kept: Option<Kept>,
    /// Hand-overs in a row with the shared lock kept.
    kept_streak: u32,
}

struct Waiter {
    thread: ThreadId,
    grant: oneshot::Sender<Grant>,
    /// Woken once already and overtaken: once it has waited `STARVING`,
    /// the next release hands it the session.
    overtaken: bool,
    /// When its request first tried to take the session.
    since: Instant,
}

/// Who is trying to take a session, since when.
enum Attempt {
    New(Instant),
    /// A woken waiter: when it finds the session taken, it is overtaken.
    Woken(Instant),
}

enum Grant {
    /// The session is this waiter's.
    Yours,
    /// The session is free: come and take it.
    Free,
}

/// Held while a request uses a session; dropping it passes the session on
/// (or forgets the entry).
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
        let began = Instant::now();
        let Some(granted) = self.take_or_queue(id, Attempt::New(began)) else {
            return Ok(LocalGuard::new(id, &self.table));
        };
        let mut waiting = Waiting {
            granted,
            id,
            table: self.table.clone(),
            done: false,
        };
        let turn = async {
            loop {
                match (&mut waiting.granted).await {
                    Ok(Grant::Yours) => return Ok(()),
                    Ok(Grant::Free) => match self.take_or_queue(id, Attempt::Woken(began)) {
                        Some(granted) => waiting.granted = granted,
                        None => return Ok(()),
                    },
                    Err(_) => return Err(StoreError::LockTimeout),
                }
            }
        };
        match tokio::time::timeout(wait, turn).await {
            Ok(Ok(())) => {
                waiting.done = true;
                Ok(LocalGuard::new(id, &self.table))
            }
            _ => Err(StoreError::LockTimeout), // `waiting` passes on a late grant
        }
    }

    /// Takes the session when it is free; otherwise queues for it. A woken
    /// waiter that finds it taken queues first in line.
    fn take_or_queue(&self, id: SessionId, attempt: Attempt) -> Option<oneshot::Receiver<Grant>> {
        let here = std::thread::current().id();
        let mut held = self.table.held.lock().unwrap();
        let entry = held.entry(id).or_insert_with(|| Held {
            holder: None,
            waiters: VecDeque::new(),
            woken: None,
            same_thread: 0,
            kept: None,
            kept_streak: 0,
        });
        let (since, overtaken) = match attempt {
            Attempt::New(since) => (since, false),
            Attempt::Woken(since) => (since, true),
        };
        if overtaken {
            entry.woken = None;
        }
        if entry.holder.is_none() {
            entry.holder = Some(here);
            return None;
        }
        let (grant, granted) = oneshot::channel();
        let waiter = Waiter {
            thread: here,
            grant,
            overtaken,
            since,
        };
        match overtaken {
            true => entry.waiters.push_front(waiter),
            false => entry.waiters.push_back(waiter),
        }
        Some(granted)
    }

    /// Whether a request on `thread` holds `id` or waits for it (queued, or
    /// woken and not yet run). Such a thread must not block until `id` is
    /// free: the request it waits for could not run meanwhile.
    pub fn in_use_on(&self, id: SessionId, thread: ThreadId) -> bool {
        let held = self.table.held.lock().unwrap();
        held.get(&id).is_some_and(|h| {
            let waits = h.woken == Some(thread) || h.waiters.iter().any(|w| w.thread == thread);
            h.holder == Some(thread) || waits
        })
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
        held.get(&self.id).is_some_and(|h| {
            (h.woken.is_some() || !h.waiters.is_empty()) && h.kept_streak < KEPT_STREAK
        })
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
        self.table.pass_on(held, self.id);
    }
}

impl Table {
    /// Passes the session on; what was kept for nobody goes to the orphan
    /// handler.
    fn pass_on(&self, mut held: MutexGuard<IdMap<Held>>, id: SessionId) {
        let left = pass_on(&mut held, id);
        drop(held);
        if let (Some(Some(kept)), Some(orphaned)) = (left, &self.orphaned) {
            orphaned(id, kept);
        }
    }
}

/// Frees the session and wakes a waiter; hands it over instead to a waiter
/// overtaken for long, or with what the holder kept. When nobody waits,
/// forgets the entry and returns what it kept.
fn pass_on(held: &mut IdMap<Held>, id: SessionId) -> Option<Option<Kept>> {
    let entry = held.get_mut(&id)?;
    entry.holder = None;
    let here = std::thread::current().id();
    loop {
        let starving = entry
            .waiters
            .front()
            .is_some_and(|w| w.overtaken && w.since.elapsed() >= STARVING);
        let hand_over = starving || entry.kept.is_some();
        if !hand_over && entry.woken.is_some() {
            return None; // that one, or anyone faster, takes it
        }
        let same = (!starving && entry.same_thread < SAME_THREAD_STREAK)
            .then(|| entry.waiters.iter().position(|w| w.thread == here))
            .flatten();
        let Some(waiter) = entry.waiters.remove(same.unwrap_or(0)) else {
            if entry.woken.is_some() {
                return None;
            }
            return held.remove(&id).map(|entry| entry.kept);
        };
        entry.same_thread = if same.is_some() {
            entry.same_thread + 1
        } else {
            0
        };
        let grant = if hand_over { Grant::Yours } else { Grant::Free };
        if waiter.grant.send(grant).is_ok() {
            match hand_over {
                true => entry.holder = Some(waiter.thread),
                false => entry.woken = Some(waiter.thread),
            }
            return None;
        }
        // That waiter gave up: the next one.
    }
}

/// A waiter that gives up after it was handed the session, or woken,
/// passes that on.
struct Waiting {
    granted: oneshot::Receiver<Grant>,
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
        match self.granted.try_recv() {
            Ok(Grant::Yours) => drop(LocalGuard::new(self.id, &self.table)),
            Ok(Grant::Free) => {
                let mut held = self.table.held.lock().unwrap();
                let Some(entry) = held.get_mut(&self.id) else {
                    return;
                };
                entry.woken = None;
                if entry.holder.is_none() {
                    self.table.pass_on(held, self.id);
                } // else its holder's release wakes the next one
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::task::JoinHandle;

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

    /// Locks whose orphaned tokens land in the list returned with them.
    fn recording_orphans() -> (Arc<LocalLocks>, Arc<Mutex<Vec<String>>>) {
        let orphans = Arc::new(Mutex::new(Vec::new()));
        let seen = orphans.clone();
        let locks = LocalLocks::with_orphan_handler(Box::new(move |_, kept: Kept| {
            seen.lock().unwrap().push(kept.token)
        }));
        (Arc::new(locks), orphans)
    }

    /// A request of this thread queued behind `held`, that will take the
    /// session and drop it.
    async fn queue_behind(held: &LocalGuard, locks: &Arc<LocalLocks>) -> JoinHandle<()> {
        let (locks, id) = (locks.clone(), held.id());
        let waiter = tokio::spawn(async move { drop(locks.lock(id, WAIT).await.unwrap()) });
        while !held.has_waiters() {
            tokio::task::yield_now().await;
        }
        waiter
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
            let (locks, orphans) = recording_orphans();
            let held = locks.lock(id(4), WAIT).await.unwrap();
            // A waiter granted the session that drops it without taking the token.
            let next = queue_behind(&held, &locks).await;
            assert!(held.hand_over(kept()).is_ok());
            next.await.unwrap();
            assert_eq!(*orphans.lock().unwrap(), ["token"]);
        });
    }

    #[test]
    fn a_kept_token_left_for_a_woken_waiter_that_gives_up_goes_to_the_orphan_handler() {
        runtime().block_on(async {
            let (locks, orphans) = recording_orphans();
            let held = locks.lock(id(8), WAIT).await.unwrap();
            let woken = queue_behind(&held, &locks).await;
            // The release wakes the waiter; before it runs, another request
            // takes the session and keeps the store's lock for it.
            drop(held);
            let faster = locks.lock(id(8), WAIT).await.unwrap();
            assert!(
                faster.hand_over(kept()).is_ok(),
                "left for the woken waiter"
            );
            woken.abort();
            assert!(woken.await.unwrap_err().is_cancelled());
            assert_eq!(*orphans.lock().unwrap(), ["token"]);
            assert!(locks.table.held.lock().unwrap().is_empty());
        });
    }

    #[test]
    fn a_woken_waiter_keeps_its_session_in_use_on_its_thread() {
        runtime().block_on(async {
            let locks = Arc::new(LocalLocks::default());
            let held = locks.lock(id(9), WAIT).await.unwrap();
            let woken = queue_behind(&held, &locks).await;
            drop(held);
            // Woken, not yet run: a request of this thread that blocked
            // until the session is free would wait for it forever.
            assert!(locks.in_use_on(id(9), std::thread::current().id()));
            woken.await.unwrap();
            assert!(!locks.in_use_on(id(9), std::thread::current().id()));
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

    #[test]
    fn a_free_session_goes_to_whoever_comes_first_until_a_waiter_starves() {
        runtime().block_on(async {
            let locks = Arc::new(LocalLocks::default());
            let mut held = locks.lock(id(6), WAIT).await.unwrap();
            let order = Arc::new(Mutex::new(Vec::new()));
            let waiter = tokio::spawn({
                let (locks, order) = (locks.clone(), order.clone());
                async move {
                    drop(locks.lock(id(6), WAIT).await.unwrap());
                    order.lock().unwrap().push("waiter");
                }
            });
            let overtaken = || {
                let held = locks.table.held.lock().unwrap();
                held[&id(6)].waiters.front().is_some_and(|w| w.overtaken)
            };
            while !held.has_waiters() {
                tokio::task::yield_now().await;
            }
            for _ in 0..2 {
                // The release only wakes the waiter: this task, still
                // running, takes the session first.
                drop(held);
                held = locks.lock(id(6), WAIT).await.unwrap();
                assert!(order.lock().unwrap().is_empty(), "taken before the waiter");
                for _ in 0..1000 {
                    if overtaken() {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                assert!(overtaken(), "the woken waiter found the session taken");
            }
            // Overtaken and waiting for long: the next release hands the
            // session to it.
            tokio::time::sleep(STARVING).await;
            drop(held);
            drop(locks.lock(id(6), WAIT).await.unwrap());
            order.lock().unwrap().push("this task");
            waiter.await.unwrap();
            assert_eq!(*order.lock().unwrap(), ["waiter", "this task"]);
        });
    }

    #[test]
    fn holders_on_two_threads_exclude_each_other() {
        let (locks, count) = (Arc::new(LocalLocks::default()), Arc::new(AtomicU64::new(0)));
        // A read-modify-write under the lock, suspended half-way now and then.
        let increment = |locks: Arc<LocalLocks>, count: Arc<AtomicU64>| async move {
            for round in 0..50 {
                let _held = locks.lock(id(7), WAIT).await.unwrap();
                let seen = count.load(Ordering::SeqCst);
                if round % 5 == 0 {
                    tokio::task::yield_now().await;
                }
                count.store(seen + 1, Ordering::SeqCst);
            }
        };
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (locks, count) = (locks.clone(), count.clone());
                std::thread::spawn(move || {
                    tokio::task::LocalSet::new().block_on(&runtime(), async move {
                        let tasks: Vec<_> = (0..20)
                            .map(|_| {
                                tokio::task::spawn_local(increment(locks.clone(), count.clone()))
                            })
                            .collect();
                        for task in tasks {
                            task.await.unwrap();
                        }
                    })
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(count.load(Ordering::SeqCst), 2 * 20 * 50);
        assert!(locks.table.held.lock().unwrap().is_empty());
    }
}
