//! What the server holds for its clients: open connections (a cap, and
//! the process's file descriptors, raised at start), and a way to say so in
//! the log without flooding it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// File descriptors kept back from connections: the listening sockets, the
/// log, session and database files, outbound requests.
const RESERVED_FDS: u64 = 128;

/// Raises the soft limit on open files to the hard limit; returns the
/// limit now in force.
pub fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    limit.rlim_cur
}

/// The connection cap: `--max-connections`, or fewer when the process may
/// not open that many files.
pub fn connection_cap(wanted: usize, fd_limit: u64) -> usize {
    let room = fd_limit.saturating_sub(RESERVED_FDS).max(16) as usize;
    if wanted > room {
        tracing::warn!(
            "--max-connections {wanted} is more than the {fd_limit} open files this process may have: at most {room} connections"
        );
    }
    wanted.min(room)
}

/// Open connections of the whole server.
#[derive(Clone)]
pub struct Connections {
    open: Arc<AtomicUsize>,
    cap: usize,
}

/// One open connection; counted until dropped.
pub struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connections {
    pub fn new(cap: usize) -> Self {
        Connections {
            open: Arc::default(),
            cap,
        }
    }

    /// Counts a new connection, or `None` at the cap.
    pub fn admit(&self) -> Option<Open> {
        let before = self.open.fetch_add(1, Ordering::Relaxed);
        if before >= self.cap {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Open(self.open.clone()))
    }

    pub fn cap(&self) -> usize {
        self.cap
    }
}

/// Lets a message through at most once a second (shared by the workers).
#[derive(Default)]
pub struct Seldom(AtomicU64);

impl Seldom {
    /// True at most once a second.
    pub fn now(&self) -> bool {
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.0.swap(second, Ordering::Relaxed) != second
    }
}
