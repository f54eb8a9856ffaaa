//! Lets the host stop a match that backtracks too long (a patch of blimp's:
//! regress has no step limit, and `/^(a+)+$/` on 30 characters backtracks
//! for most of a minute).

use core::sync::atomic::{AtomicPtr, Ordering};

/// Backtracks between two calls of the hook.
const EVERY: u32 = 1 << 16;

static HOOK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

#[cfg(feature = "std")]
std::thread_local! {
    static COUNTDOWN: core::cell::Cell<u32> = const { core::cell::Cell::new(EVERY) };
}

/// Installs `hook`, called on the matching thread every 65,536 backtracks:
/// it may pause the thread, and returns `true` to abandon the search (it
/// then reports no match, whatever the rest of the input holds).
pub fn set_interrupt_hook(hook: fn() -> bool) {
    HOOK.store(hook as *mut (), Ordering::Relaxed);
}

/// Counts one backtrack; true when the host wants the search abandoned.
#[inline(always)]
pub(crate) fn tick() -> bool {
    #[cfg(feature = "std")]
    {
        let left = COUNTDOWN.get();
        if left != 0 {
            COUNTDOWN.set(left - 1);
            return false;
        }
        COUNTDOWN.set(EVERY);
        ask()
    }
    #[cfg(not(feature = "std"))]
    false
}

/// Counts `steps` characters a one-character loop went over at once, so
/// that the hook is asked at the next backtrack when they reach the count:
/// a loop that never backtracks (`/\d+px/`) still scans the rest of the
/// input from every start position.
#[inline(always)]
pub(crate) fn charge(steps: usize) {
    #[cfg(feature = "std")]
    COUNTDOWN.set(COUNTDOWN.get().saturating_sub(steps.min(EVERY as usize) as u32));
    #[cfg(not(feature = "std"))]
    let _ = steps;
}

#[cold]
#[inline(never)]
#[allow(dead_code)]
fn ask() -> bool {
    let hook = HOOK.load(Ordering::Relaxed);
    if hook.is_null() {
        return false;
    }
    // SAFETY: only `set_interrupt_hook` stores here, and it stores a `fn() -> bool`.
    let hook: fn() -> bool = unsafe { core::mem::transmute::<*mut (), fn() -> bool>(hook) };
    hook()
}
