//! A worker thread's contexts. Each in-flight script has a context of its
//! own, living in a fiber of its own, so a script that waits (a timer, a
//! fetch, a lock) leaves the thread to the others. Contexts are made on
//! demand up to `--max-contexts` and reused: between requests a context's
//! globals persist, as they would in one long-lived context. Contexts idle
//! past `--context-idle` are dropped, all but one.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::context::JsRuntime;
use super::failure::Failure;
use super::limits::{Hooks, MemoryLimits, Meter, Metered};
use super::run;
use crate::fiber::{self, Fiber};
use crate::modules::scope::{self, Scope};
use crate::outbound::Outbound;
use crate::scripts::router::Route;

/// The native stack of each fiber: deep native recursion ends in a
/// RangeError `STACK_MARGIN` before its end.
const STACK_SIZE: usize = 8 << 20;
const STACK_MARGIN: usize = 512 << 10;

/// What the engine of every worker needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Canonical scripts root.
    pub root: PathBuf,
    /// Canonical public folder: its files are never required.
    pub public: Option<PathBuf>,
    pub timeout: Duration,
    /// Contexts (scripts in flight) per worker thread.
    pub contexts: usize,
    /// How long an idle context is kept (but the last one).
    pub context_idle: Duration,
    pub memory: MemoryLimits,
    pub outbound: crate::outbound::Settings,
}

/// One worker thread's JavaScript. Not `Send`.
pub struct Engine {
    settings: Rc<Settings>,
    hooks: Rc<Hooks>,
    outbound: Rc<Outbound>,
    /// Pushed and popped at the end: the first has been idle longest.
    idle: RefCell<Vec<Slot>>,
    /// Seconds counted by `tidy`, which stamp a slot going idle (cheaper
    /// than reading the clock on every request).
    seconds: Cell<u64>,
    /// Slots that exist, idle or busy.
    made: Rc<Cell<usize>>,
    /// Rung when a slot goes back to `idle` and someone waits for one.
    returned: tokio::sync::Notify,
    waiting: Cell<usize>,
}

/// A slot out of the pool for one job; back in when dropped.
struct Lent<'a> {
    engine: &'a Engine,
    slot: Option<Slot>,
}

impl Lent<'_> {
    fn fiber(&self) -> &Rc<Fiber> {
        &self.slot.as_ref().expect("lent").fiber
    }

    fn mailbox(&self) -> &Rc<Mailbox> {
        &self.slot.as_ref().expect("lent").mailbox
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        slot.fiber.state().reset();
        if slot.mailbox.job.borrow().is_some() {
            return; // never ran (dropped before the first resume): start afresh
        }
        let mut slot = slot;
        slot.idle_since = self.engine.seconds.get();
        self.engine.idle.borrow_mut().push(slot);
        if self.engine.waiting.get() > 0 {
            self.engine.returned.notify_one();
        }
    }
}

/// A context's fiber, and the mailbox through which it takes jobs.
struct Slot {
    fiber: Rc<Fiber>,
    mailbox: Rc<Mailbox>,
    made: Rc<Cell<usize>>,
    /// `Engine::seconds` when it last went idle.
    idle_since: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.made.set(self.made.get() - 1);
    }
}

#[derive(Default)]
struct Mailbox {
    job: RefCell<Option<Job>>,
    done: RefCell<Option<Option<Failure>>>,
}

struct Job {
    scope: Rc<RefCell<Scope>>,
    route: Rc<Route>,
    meter: Rc<Meter>,
}

impl Engine {
    /// An engine for this thread; fails when `--ca-file` cannot be read.
    pub fn new(settings: Settings) -> Result<Self, String> {
        regress::set_interrupt_hook(super::limits::regex_tick);
        let outbound = Rc::new(Outbound::new(settings.outbound.clone())?);
        Ok(Engine {
            outbound,
            hooks: Rc::new(Hooks {
                limits: settings.memory,
            }),
            settings: Rc::new(settings),
            idle: RefCell::default(),
            seconds: Cell::new(0),
            made: Rc::default(),
            returned: tokio::sync::Notify::new(),
            waiting: Cell::new(0),
        })
    }

    /// Runs `route`'s script for `scope`, in a context of its own, until
    /// it and what it started are done; what went wrong, if anything.
    pub async fn run(&self, scope: Rc<RefCell<Scope>>, route: Rc<Route>) -> Option<Failure> {
        let slot = match self.slot().await {
            Ok(slot) => slot,
            Err(failure) => return Some(failure),
        };
        let deadline = Instant::now() + self.settings.timeout;
        let meter = Meter::new(self.settings.memory, route.relative.clone());
        *slot.mailbox.job.borrow_mut() = Some(Job {
            scope,
            route,
            meter: meter.clone(),
        });
        slot.fiber.state().set_deadline(Some(deadline));
        let lent = Lent {
            engine: self,
            slot: Some(slot),
        };
        let drive = lent.fiber().drive();
        // Dropped here, mid-way (the client went away), the drive first
        // ends the job and then `lent` gives the context back.
        Metered {
            meter,
            inner: drive,
        }
        .await;
        let failure = lent.mailbox().done.borrow_mut().take().flatten();
        failure
    }

    /// Counts a second; drops the contexts idle past `--context-idle`, all
    /// but the one used last, and collects what they held.
    pub fn tidy(&self) {
        let now = self.seconds.get() + 1;
        self.seconds.set(now);
        let limit = self.settings.context_idle.as_secs().max(1);
        let stale: Vec<Slot> = {
            let mut idle = self.idle.borrow_mut();
            let keep_last = idle.len().saturating_sub(1);
            let count = idle
                .iter()
                .take(keep_last)
                .take_while(|slot| now - slot.idle_since >= limit)
                .count();
            idle.drain(..count).collect()
        };
        if !stale.is_empty() {
            tracing::debug!("{} idle JavaScript contexts dropped", stale.len());
            drop(stale); // each fiber unwinds, and its context goes
            boa_gc::force_collect();
            super::memory::release_free();
        }
    }

    /// An idle slot, a new one, or (all busy) the next to come back: a
    /// request waits for a context at most as long as a script may run.
    async fn slot(&self) -> Result<Slot, Failure> {
        let mut queued_until = None;
        loop {
            if let Some(slot) = self.idle.borrow_mut().pop() {
                return Ok(slot);
            }
            if self.made.get() < self.settings.contexts {
                return self.make();
            }
            // The clock is read only by a request that has to wait.
            let until = *queued_until.get_or_insert_with(|| Instant::now() + self.settings.timeout);
            self.waiting.set(self.waiting.get() + 1);
            let returned = tokio::time::timeout_at(until.into(), self.returned.notified()).await;
            self.waiting.set(self.waiting.get() - 1);
            if returned.is_err() {
                return Err(Failure::Busy);
            }
        }
    }

    fn make(&self) -> Result<Slot, Failure> {
        let mailbox = Rc::new(Mailbox::default());
        let body = serve(
            self.settings.clone(),
            self.hooks.clone(),
            self.outbound.clone(),
            mailbox.clone(),
        );
        let fiber = Fiber::new(STACK_SIZE, body).map_err(|err| Failure::Threw {
            message: format!("cannot make room for a script: {err}"),
            location: None,
            stack: String::new(),
        })?;
        self.made.set(self.made.get() + 1);
        Ok(Slot {
            fiber: Rc::new(fiber),
            mailbox,
            made: self.made.clone(),
            idle_since: 0,
        })
    }
}

/// The life of a fiber: take a job, run it in the fiber's context (made
/// here, on the fiber's stack, and made anew after a script was stopped),
/// report, wait for the next.
fn serve(
    settings: Rc<Settings>,
    hooks: Rc<Hooks>,
    outbound: Rc<Outbound>,
    mailbox: Rc<Mailbox>,
) -> impl FnOnce() {
    move || {
        let floor = stack_address() - STACK_SIZE + STACK_MARGIN;
        let mut runtime: Option<Box<JsRuntime>> = None;
        loop {
            let job = mailbox.job.borrow_mut().take().expect("a job to run");
            let failure = match runtime.as_mut() {
                Some(runtime) => run_job(runtime, &job),
                None => match JsRuntime::new(
                    settings.root.clone(),
                    settings.public.clone(),
                    hooks.clone(),
                    outbound.clone(),
                    floor,
                ) {
                    Ok(fresh) => {
                        let fresh = runtime.insert(Box::new(fresh));
                        run_job(fresh, &job)
                    }
                    Err(err) => Some(Failure::Threw {
                        message: format!("cannot create a JavaScript context: {err}"),
                        location: None,
                        stack: String::new(),
                    }),
                },
            };
            if failure.as_ref().is_some_and(Failure::unsound) && runtime.take().is_some() {
                tracing::warn!(
                    "{}: this JavaScript context is made anew",
                    job.route.relative
                );
                // What the stopped script held goes now, not at some later collection.
                boa_gc::force_collect();
            }
            if matches!(failure, Some(Failure::Cancelled)) {
                tracing::info!("{}: stopped, the client went away", job.route.relative);
            }
            drop(job);
            *mailbox.done.borrow_mut() = Some(failure);
            fiber::idle();
        }
    }
}

/// Runs a job; a panic of the engine (a bug) fails the request with a 500
/// and the context is made anew, instead of taking the thread down.
fn run_job(runtime: &mut JsRuntime, job: &Job) -> Option<Failure> {
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scope::enter(&mut runtime.context, Some(job.scope.clone()));
        run::run(runtime, &job.route, &job.meter)
    }));
    match ran {
        Ok(failure) => failure,
        // The fiber is being dropped: let its stack unwind.
        Err(unwinding) if fiber::current().is_some_and(|f| f.dropping()) => {
            std::panic::resume_unwind(unwinding)
        }
        Err(_) => Some(Failure::Crashed),
    }
}

/// An address near the top of the running stack.
fn stack_address() -> usize {
    let marker = 0u8;
    std::ptr::from_ref(std::hint::black_box(&marker)) as usize
}
