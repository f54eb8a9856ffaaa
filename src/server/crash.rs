//! A server process that crashes says which script it was running: the
//! crash (a fault in native code no limit reaches, an allocation that
//! failed) names it on stderr before the process dies and its supervisor
//! replaces it.

use std::sync::OnceLock;

const SIGNALS: [(libc::c_int, &str); 5] = [
    (libc::SIGSEGV, "SIGSEGV"),
    (libc::SIGBUS, "SIGBUS"),
    (libc::SIGILL, "SIGILL"),
    (libc::SIGFPE, "SIGFPE"),
    (libc::SIGABRT, "SIGABRT"),
];

/// The handlers there were before ours (Rust's stack-overflow report, or
/// the default), which each crash is handed on to.
static PREVIOUS: [OnceLock<Previous>; 5] = [const { OnceLock::new() }; 5];

struct Previous(libc::sigaction);

// SAFETY: a plain C struct of a handler address, flags and a mask; only read.
unsafe impl Send for Previous {}
unsafe impl Sync for Previous {}

/// Installs the report on the crash signals, for the threads of this process.
pub fn report_crashes() {
    for (slot, (signal, _)) in SIGNALS.iter().enumerate() {
        // SAFETY: sigaction with zeroed structs filled as POSIX says; the
        // handler only reads, formats into a stack buffer and writes.
        unsafe {
            let mut ours: libc::sigaction = std::mem::zeroed();
            ours.sa_sigaction = on_crash as *const () as usize;
            ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut ours.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(*signal, &ours, &mut previous) == 0 {
                let _ = PREVIOUS[slot].set(Previous(previous));
            }
        }
    }
}

extern "C" fn on_crash(signal: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let Some(slot) = SIGNALS.iter().position(|(s, _)| *s == signal) else {
        return;
    };
    if let Some(script) = crate::engine::watch::running_here() {
        let mut line = Line::default();
        line.push(script.as_bytes());
        line.push(b": the server process crashed running this script (");
        line.push(SIGNALS[slot].1.as_bytes());
        line.push(b")\n");
        // SAFETY: write(2) is async-signal-safe; the buffer lives here.
        unsafe { libc::write(2, line.bytes.as_ptr().cast(), line.len) };
    }
    // Handed on: the previous handler (or the default) acts when the fault
    // happens again on return, or when abort() raises again.
    if let Some(Previous(previous)) = PREVIOUS[slot].get() {
        // SAFETY: restores the action read at install time.
        unsafe { libc::sigaction(signal, previous, std::ptr::null_mut()) };
    }
}

/// A line built without allocating.
struct Line {
    bytes: [u8; 512],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Line {
            bytes: [0; 512],
            len: 0,
        }
    }
}

impl Line {
    fn push(&mut self, part: &[u8]) {
        let room = (self.bytes.len() - self.len).min(part.len());
        self.bytes[self.len..self.len + room].copy_from_slice(&part[..room]);
        self.len += room;
    }
}
