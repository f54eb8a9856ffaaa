//! Counting what scripts allocate. Boa has one heap per thread and no limit
//! of its own, and a failed allocation aborts the process, so blimp counts
//! the bytes live on each worker thread (the global allocator is mimalloc
//! behind `Counting`) and the engine's interrupt hook stops a script that
//! grows past its share (`limits.rs`) before the machine runs out.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};

use mimalloc::MiMalloc;

/// Bytes allocated between two prompts to the running script to check its
/// limits: a script that allocates fast (a string doubling in a loop) is
/// looked at within a few megabytes, whatever its instruction count.
const CHECK_EVERY: i64 = 4 << 20;

thread_local! {
    /// Bytes allocated minus bytes freed on this thread.
    static LIVE: Cell<i64> = const { Cell::new(0) };
    /// Bytes allocated since the running script was last prompted.
    static SINCE_CHECK: Cell<i64> = const { Cell::new(0) };
    /// What this thread last added to `PUBLISHED`.
    static SHOWN: Cell<i64> = const { Cell::new(0) };
}

/// The worker threads' live bytes, as last published.
static PUBLISHED: AtomicI64 = AtomicI64::new(0);

/// The global allocator: mimalloc, counting.
pub struct Counting;

// SAFETY: every call is forwarded to mimalloc unchanged; the counting
// touches only thread-locals without destructors (no allocation, no panic).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = MiMalloc.alloc(layout);
        if !ptr.is_null() {
            grew(layout.size() as i64);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = MiMalloc.alloc_zeroed(layout);
        if !ptr.is_null() {
            grew(layout.size() as i64);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        MiMalloc.dealloc(ptr, layout);
        shrank(layout.size() as i64);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = MiMalloc.realloc(ptr, layout, new_size);
        if !new.is_null() {
            let delta = new_size as i64 - layout.size() as i64;
            if delta > 0 {
                grew(delta);
            } else {
                shrank(-delta);
            }
        }
        new
    }
}

#[inline(always)]
fn grew(bytes: i64) {
    let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
    let _ = SINCE_CHECK.try_with(|since| {
        let total = since.get() + bytes;
        if total >= CHECK_EVERY {
            since.set(0);
            boa_engine::vm::interrupt_soon();
        } else {
            since.set(total);
        }
    });
}

#[inline(always)]
fn shrank(bytes: i64) {
    let _ = LIVE.try_with(|live| live.set(live.get() - bytes));
}

/// Bytes live on this thread (allocated here minus freed here).
pub fn live() -> i64 {
    LIVE.get()
}

/// Publishes this thread's live bytes for `process_live`; cheap, called
/// when a script is checked.
pub fn publish() {
    let live = LIVE.get();
    let shown = SHOWN.replace(live);
    PUBLISHED.fetch_add(live - shown, Ordering::Relaxed);
}

/// Bytes live on the worker threads together, as they last published.
pub fn process_live() -> i64 {
    PUBLISHED.load(Ordering::Relaxed)
}
