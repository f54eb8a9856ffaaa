//! Which script each worker thread runs, and since when. A script pauses
//! every few milliseconds (its time slice), so one that runs on without
//! pausing is stuck where no limit reaches (native code of the engine);
//! the server's watchdog looks here to find it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Running {
    /// Milliseconds since `START` when the running script was resumed (0:
    /// none runs; `UNTIMED`: resumed, the time not yet read).
    since: AtomicU64,
    script: Mutex<Option<Arc<str>>>,
}

/// A resume whose time is read by whoever looks first (the script's first
/// slice check or the watchdog): most scripts end before either does, and
/// a clock read costs about 36 ns on a virtual machine.
const UNTIMED: u64 = u64::MAX;

static ALL: Mutex<Vec<Arc<Running>>> = Mutex::new(Vec::new());

thread_local! {
    static MINE: RefCell<Option<Arc<Running>>> = const { RefCell::new(None) };
}

fn start() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn with_mine<T>(f: impl FnOnce(&Running) -> T) -> T {
    MINE.with_borrow_mut(|mine| {
        f(mine.get_or_insert_with(|| {
            let running = Arc::new(Running {
                since: AtomicU64::new(0),
                script: Mutex::new(None),
            });
            ALL.lock().expect("watch list").push(running.clone());
            running
        }))
    })
}

/// This thread resumes `script`.
pub fn resumed(script: &Arc<str>) {
    with_mine(|running| {
        let mut slot = running.script.lock().expect("watch slot");
        if !slot.as_ref().is_some_and(|now| Arc::ptr_eq(now, script)) {
            *slot = Some(script.clone());
        }
        drop(slot);
        running.since.store(UNTIMED, Ordering::Relaxed);
    })
}

/// Milliseconds since `START`, never 0 (which means "none runs").
fn now() -> u64 {
    (start().elapsed().as_millis() as u64).max(1)
}

/// When `running`'s script was resumed, reading the clock for it if nobody
/// has yet; 0 when none runs.
fn resumed_at(running: &Running, now: u64) -> u64 {
    match running.since.load(Ordering::Relaxed) {
        UNTIMED => {
            match running
                .since
                .compare_exchange(UNTIMED, now, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => now,
                Err(since) => since,
            }
        }
        since => since,
    }
}

/// How long this thread's script has run since it was last resumed (from
/// the first time this is asked, at the latest).
pub fn running_for() -> Duration {
    let now = now();
    let since = with_mine(|running| resumed_at(running, now));
    Duration::from_millis(if since == 0 {
        0
    } else {
        now.saturating_sub(since)
    })
}

/// This thread's script paused or ended.
pub fn paused() {
    with_mine(|running| running.since.store(0, Ordering::Relaxed));
}

/// A script that has run without pausing for longer than `limit`: its
/// name and for how long.
pub fn stuck(limit: Duration) -> Option<(Arc<str>, Duration)> {
    let now = now();
    let all = ALL.lock().expect("watch list");
    all.iter().find_map(|running| {
        let since = resumed_at(running, now);
        let ran = Duration::from_millis(now.saturating_sub(since));
        (since != 0 && ran > limit).then(|| {
            let script = running.script.lock().expect("watch slot").clone();
            (script.unwrap_or_else(|| "a script".into()), ran)
        })
    })
}

/// The script this thread is running, if any. Never blocks and never
/// allocates, for a crash report from a signal handler on this thread.
pub fn running_here() -> Option<Arc<str>> {
    MINE.try_with(|mine| {
        let mine = mine.try_borrow().ok()?;
        let running = mine.as_ref()?;
        if running.since.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let script = running.script.try_lock().ok()?.clone();
        script
    })
    .ok()
    .flatten()
}
