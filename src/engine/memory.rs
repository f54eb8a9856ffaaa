//! Counting what scripts allocate. Boa has one heap per thread and no limit
//! of its own, and a failed allocation aborts the process, so blimp counts
//! the bytes live on each worker thread (the global allocator is mimalloc
//! behind `Counting`) and the engine's interrupt hook stops a script that
//! grows past its share (`limits.rs`) before the machine runs out.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};

use libmimalloc_sys as mi;

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

/// Alignment every mimalloc block has (its size classes are whole words).
const WORD: usize = std::mem::size_of::<usize>();

/// The global allocator: mimalloc, counting.
///
/// Not the `mimalloc` crate's allocator: it asks for every block with
/// `mi_malloc_aligned`, and mimalloc serves that for anything over 1 KiB
/// (hyper's buffers, boxed futures) by over-allocating and marking the page,
/// about 200 instructions instead of 30. Word-aligned requests, nearly all
/// of them, go to plain `mi_malloc` here, as Rust's own `System` does with
/// `malloc`.
pub struct Counting;

// SAFETY: every call goes to mimalloc with the requested alignment
// guaranteed (plain calls only for alignments every block has); the
// counting touches only thread-locals without destructors (no allocation,
// no panic).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = if layout.align() <= WORD {
            mi::mi_malloc(layout.size())
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align())
        } as *mut u8;
        if !ptr.is_null() {
            grew(layout.size() as i64);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = if layout.align() <= WORD {
            mi::mi_zalloc(layout.size())
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align())
        } as *mut u8;
        if !ptr.is_null() {
            grew(layout.size() as i64);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        mi::mi_free(ptr.cast());
        shrank(layout.size() as i64);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = if layout.align() <= WORD {
            mi::mi_realloc(ptr.cast(), new_size)
        } else {
            mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align())
        } as *mut u8;
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

/// Keeps the kernel from backing the heap with transparent huge pages.
/// mimalloc asks for them on its arenas and hands emptied pages back after
/// a second; every later touch of such a range then faults in a whole
/// 2 MiB page and zeroes it, which took a tenth of the CPU under a steady
/// `db` load (docs/performance.md). Inherited by the server process the
/// supervisor starts.
pub fn no_huge_pages() {
    // SAFETY: this prctl only sets a flag of the calling process.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

/// Gives the pages this thread's freed blocks leave empty back to the
/// system, now rather than as the allocator sees fit.
pub fn release_free() {
    // SAFETY: mi_collect only frees what no block uses any more.
    unsafe { mi::mi_collect(true) };
}
