//! A doorbell on a worker's inotify watch, so that asking "did anything
//! change?" costs a memory read instead of a system call.
//!
//! The kernel signals the worker thread the moment it queues an event on the
//! watch (`O_ASYNC`, directed at that thread), and the handler counts the
//! signal. A thread handles its pending signals before it returns from any
//! system call, so by the time it has read a request that was sent after a
//! change, the count has moved: the next request still sees every change.

use std::cell::Cell;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

// From the kernel's `asm-generic/fcntl.h` (the `libc` crate lacks them).
const F_SETSIG: libc::c_int = 10;
const F_SETOWN_EX: libc::c_int = 15;
const F_OWNER_TID: libc::c_int = 0;

#[repr(C)]
struct OwnerEx {
    kind: libc::c_int,
    pid: libc::pid_t,
}

/// Signals handled, all threads together (a ring for another worker's
/// watch only costs this one a look at its own).
static RINGS: AtomicU64 = AtomicU64::new(0);

pub struct Doorbell {
    seen: Cell<u64>,
}

impl Doorbell {
    /// Arms the doorbell for inotify descriptor `fd`, for the calling
    /// thread; `None` when the kernel refuses (then look every time).
    pub fn arm(fd: RawFd) -> Option<Doorbell> {
        let signal = handler_installed()?;
        // SAFETY: plain fcntl calls on a descriptor we own; `owner` lives
        // across the call that reads it.
        let armed = unsafe {
            let owner = OwnerEx {
                kind: F_OWNER_TID,
                pid: libc::gettid(),
            };
            let flags = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, F_SETOWN_EX, &owner as *const OwnerEx) == 0
                && libc::fcntl(fd, F_SETSIG, signal) == 0
                && flags >= 0
                && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_ASYNC) == 0
        };
        // Starts rung: whatever happened before it was armed is looked at once.
        armed.then(|| Doorbell {
            seen: Cell::new(RINGS.load(Ordering::Relaxed).wrapping_sub(1)),
        })
    }

    /// Whether it rang since the last time this was asked.
    pub fn rang(&self) -> bool {
        let now = RINGS.load(Ordering::Relaxed);
        self.seen.replace(now) != now
    }
}

/// The signal the doorbell uses, once its handler is in place.
fn handler_installed() -> Option<libc::c_int> {
    static INSTALLED: OnceLock<Option<libc::c_int>> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let signal = libc::SIGRTMIN() + 1;
        // When too many realtime signals are queued, the kernel sends SIGIO
        // instead: it must ring too (its default would end the process).
        [signal, libc::SIGIO]
            .into_iter()
            .all(install)
            .then_some(signal)
    })
}

fn install(signal: libc::c_int) -> bool {
    extern "C" fn ring(_: libc::c_int) {
        RINGS.fetch_add(1, Ordering::Relaxed);
    }
    // SAFETY: the handler only touches an atomic (async-signal-safe);
    // SA_RESTART resumes the system calls it interrupts.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ring as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut()) == 0
    }
}
