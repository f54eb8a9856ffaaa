//! What stops a script: its deadline, its memory, a client that went away.
//! The patched engine asks `Hooks::interrupt` every thousand or so ticks
//! (instructions, calls, property operations, and sooner when the thread
//! allocates fast), and the patched regex engine asks `regex_tick` every
//! 65,536 backtracks; both end here. A long run also gives its thread
//! back to the other connections every `SLICE`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use boa_engine::builtins::promise::{OperationType, Promise};
use boa_engine::context::HostHooks;
use boa_engine::error::RuntimeLimitError;
use boa_engine::{Context, JsObject, JsResult};

use std::sync::Arc;

use super::{memory, watch};
use crate::fiber::{self, Stop};

/// How long a script runs before it lets its thread's other work in.
const SLICE: Duration = Duration::from_millis(5);

/// Why a script was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Timeout,
    /// Its client went away before its response started.
    Cancelled,
    /// It used more memory than `--max-script-memory` allows.
    Memory,
    /// The worker threads together hold more than `--max-memory`.
    ServerMemory,
}

impl From<Stop> for Reason {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Timeout => Reason::Timeout,
            Stop::Cancelled => Reason::Cancelled,
        }
    }
}

/// The memory bounds of scripts.
#[derive(Debug, Clone, Copy)]
pub struct MemoryLimits {
    /// Bytes one script may hold.
    pub script: i64,
    /// Bytes the worker threads may hold together.
    pub server: i64,
}

/// One job's account: the bytes it holds and why it was stopped.
pub struct Meter {
    /// Its script, for the watchdog.
    script: Arc<str>,
    limits: MemoryLimits,
    /// Net bytes of its earlier slices on the thread.
    charged: Cell<i64>,
    /// The thread's live bytes when its current slice began.
    base: Cell<i64>,
    /// Its use when a collection was last forced (not again until it grows).
    collected_at: Cell<i64>,
    reason: Cell<Option<Reason>>,
}

impl Meter {
    pub fn new(limits: MemoryLimits, script: Arc<str>) -> Rc<Self> {
        Rc::new(Meter {
            script,
            limits,
            charged: Cell::new(0),
            base: Cell::new(0),
            collected_at: Cell::new(0),
            reason: Cell::new(None),
        })
    }

    pub fn limits(&self) -> MemoryLimits {
        self.limits
    }

    /// Why the job was stopped, if it was.
    pub fn reason(&self) -> Option<Reason> {
        self.reason.get()
    }

    pub fn stop(&self, reason: Reason) {
        if self.reason.get().is_none() {
            self.reason.set(Some(reason));
        }
    }

    fn used(&self) -> i64 {
        self.charged.get() + memory::live() - self.base.get()
    }

    /// Over a bound even after a collection, with `extra` bytes more than
    /// it holds: which one.
    fn over(&self, extra: i64) -> Option<Reason> {
        let over = || {
            if self.used() + extra > self.limits.script {
                Some(Reason::Memory)
            } else if memory::process_live() + extra > self.limits.server {
                Some(Reason::ServerMemory)
            } else {
                None
            }
        };
        over()?;
        // Garbage counts until it is collected: collect before judging,
        // but not again until the script has grown further.
        if self.used() > self.collected_at.get() + (16 << 20) {
            boa_gc::force_collect();
            memory::publish();
            self.collected_at.set(self.used());
        }
        over()
    }
}

thread_local! {
    /// The meter of the job whose fiber runs on this thread right now.
    static RUNNING: RefCell<Option<Rc<Meter>>> = const { RefCell::new(None) };
}

/// A fiber's drive, with its job's meter running while it is resumed.
pub struct Metered<F> {
    pub meter: Rc<Meter>,
    pub inner: F,
}

impl<F: Future + Unpin> Future for Metered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let meter = self.meter.clone();
        let start = memory::live();
        meter.base.set(start);
        RUNNING.with_borrow_mut(|running| *running = Some(meter.clone()));
        watch::resumed(&meter.script);
        let polled = Pin::new(&mut self.inner).poll(cx);
        watch::paused();
        RUNNING.with_borrow_mut(|running| *running = None);
        meter
            .charged
            .set(meter.charged.get() + memory::live() - start);
        polled
    }
}

/// Whether the running script may go on; pauses it when its slice is over.
fn check() -> Result<(), Reason> {
    let Some(state) = fiber::current() else {
        return Ok(());
    };
    let running = RUNNING.with_borrow(Clone::clone);
    let stop = |reason: Reason| {
        if let Some(meter) = &running {
            meter.stop(reason);
        }
        Err(reason)
    };
    if let Some(reason) = running.as_ref().and_then(|m| m.reason()) {
        return Err(reason);
    }
    if let Some(stopped) = state.stopped() {
        return stop(stopped.into());
    }
    if let Some(meter) = &running {
        memory::publish();
        if let Some(over) = meter.over(0) {
            return stop(over);
        }
    }
    if watch::running_for() >= SLICE {
        if let Err(stopped) = fiber::yield_now() {
            return stop(stopped.into());
        }
    }
    Ok(())
}

/// The engine's host hooks: the interrupt check, ArrayBuffers no larger
/// than a script may hold, and the promises nothing handled.
pub struct Hooks {
    pub limits: MemoryLimits,
}

impl HostHooks for Hooks {
    fn interrupt(&self, _context: &Context) -> JsResult<()> {
        check().map_err(|_| RuntimeLimitError::Interrupted.into())
    }

    /// Stops the script, before the engine allocates, when `bytes` more
    /// would take it past its memory.
    fn may_allocate(&self, bytes: u64, _context: &Context) -> JsResult<()> {
        let Some(meter) = RUNNING.with_borrow(Clone::clone) else {
            return Ok(());
        };
        memory::publish();
        match meter.over(i64::try_from(bytes).unwrap_or(i64::MAX)) {
            Some(reason) => {
                meter.stop(reason);
                Err(RuntimeLimitError::Interrupted.into())
            }
            None => Ok(()),
        }
    }

    fn max_buffer_size(&self, _context: &mut Context) -> u64 {
        self.limits.script.max(0) as u64
    }

    fn promise_rejection_tracker(
        &self,
        promise: &JsObject<Promise>,
        operation: OperationType,
        context: &mut Context,
    ) {
        super::unhandled::track(promise, operation, context);
    }
}

/// The regex engine's hook: true abandons the match (the script is then
/// stopped at its next instruction, or failed when it has none).
pub fn regex_tick() -> bool {
    let stop = check().is_err();
    if stop {
        boa_engine::vm::interrupt_soon();
    }
    stop
}
