//! The job queue of a context: promise jobs, timers (`setTimeout`,
//! `setInterval` from boa_runtime enqueue them here), host jobs that wait
//! (a `fetch`), and the loop that runs them until nothing the script
//! started can still run. Waiting happens in the script's fiber, so the
//! thread serves others meanwhile; a timer never outlives its request.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use boa_engine::job::{
    GenericJob, IntervalJob, Job, JobExecutor, NativeAsyncJob, NativeJob, PromiseJob, TimeoutJob,
};
use boa_engine::{Context, JsResult, JsValue};
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::fiber::{self, Stop};

enum Timer {
    Once(TimeoutJob),
    Every(IntervalJob, Duration),
    /// Fires if the request still runs then, but does not keep it running
    /// (`AbortSignal.timeout`).
    Weak(NativeJob, Rc<Cell<bool>>),
}

impl Timer {
    fn cancelled(&self) -> bool {
        match self {
            Timer::Once(job) => job.cancelled(),
            Timer::Every(job, _) => job.cancelled(),
            Timer::Weak(_, cancelled) => cancelled.get(),
        }
    }
}

#[derive(Default)]
pub struct Jobs {
    /// Promise jobs and generic jobs, in the order they came.
    micro: RefCell<VecDeque<Micro>>,
    /// Host jobs not started yet.
    fresh: RefCell<Vec<NativeAsyncJob>>,
    /// By when they are due, then by the order they were set.
    timers: RefCell<BTreeMap<(Instant, u64), Timer>>,
    sequence: Cell<u64>,
    /// A timer was set since `clear`: there may be some to cancel.
    timers_set: Cell<bool>,
}

enum Micro {
    Promise(PromiseJob),
    Generic(GenericJob),
}

/// Why running the jobs ended early.
pub enum Halt {
    /// A job threw (a timer callback's uncaught exception, a limit).
    Threw(boa_engine::JsError),
    /// The fiber had to stop while waiting.
    Stopped(Stop),
}

impl From<boa_engine::JsError> for Halt {
    fn from(error: boa_engine::JsError) -> Self {
        Halt::Threw(error)
    }
}

type Running<'a> = FuturesUnordered<Pin<Box<dyn Future<Output = JsResult<JsValue>> + 'a>>>;

impl Jobs {
    /// Forgets everything queued: what a request left behind never runs in
    /// another request.
    pub fn clear(&self) {
        self.micro.borrow_mut().clear();
        self.fresh.borrow_mut().clear();
        self.timers.borrow_mut().clear();
    }

    /// Whether a timer was set since the last call.
    pub fn timers_were_set(&self) -> bool {
        self.timers_set.replace(false)
    }

    fn idle(&self) -> bool {
        self.micro.borrow().is_empty()
            && self.fresh.borrow().is_empty()
            && self.timers.borrow().is_empty()
    }

    fn add_timer(&self, due: Instant, timer: Timer) {
        self.timers_set.set(true);
        let sequence = self.sequence.get() + 1;
        self.sequence.set(sequence);
        self.timers.borrow_mut().insert((due, sequence), timer);
    }

    /// Runs promise and generic jobs until none are left.
    fn drain_micro(&self, context: &mut Context) -> JsResult<()> {
        loop {
            let next = self.micro.borrow_mut().pop_front();
            match next {
                Some(Micro::Promise(job)) => job.call(context).map(drop)?,
                Some(Micro::Generic(job)) => job.call(context).map(drop)?,
                None => return Ok(()),
            }
        }
    }

    /// A timer that does not keep the request running; the returned flag
    /// cancels it.
    pub fn add_weak_timer(&self, after: Duration, job: NativeJob) -> Rc<Cell<bool>> {
        let cancelled = Rc::new(Cell::new(false));
        self.add_timer(Instant::now() + after, Timer::Weak(job, cancelled.clone()));
        cancelled
    }

    /// The earliest live timer, dropping cancelled ones.
    fn next_due(&self) -> Option<Instant> {
        let mut timers = self.timers.borrow_mut();
        while let Some(entry) = timers.first_entry() {
            if !entry.get().cancelled() {
                return Some(entry.key().0);
            }
            entry.remove();
        }
        None
    }

    /// Whether a live timer keeps the request running.
    fn strong_timers(&self) -> bool {
        self.timers
            .borrow()
            .values()
            .any(|timer| !matches!(timer, Timer::Weak(..)) && !timer.cancelled())
    }

    /// Runs the first timer if it is due; true when one ran.
    fn run_due_timer(&self, context: &mut Context) -> JsResult<bool> {
        let now = Instant::now();
        if self.next_due().is_none_or(|due| due > now) {
            return Ok(false);
        }
        let Some((_, timer)) = self.timers.borrow_mut().pop_first() else {
            return Ok(false);
        };
        match timer {
            Timer::Once(job) => {
                job.call(context)?;
            }
            Timer::Every(job, every) => {
                job.call(context)?;
                if !job.cancelled() {
                    self.add_timer(Instant::now() + every, Timer::Every(job, every));
                }
            }
            Timer::Weak(job, cancelled) => {
                if !cancelled.get() {
                    job.call(context)?;
                }
            }
        }
        Ok(true)
    }

    /// Runs what the script started until nothing can run any more: promise
    /// jobs, then due timers, then waits (in the fiber) for the next timer
    /// or host job. A promise that nothing will settle keeps nothing open.
    pub fn settle(self: &Rc<Self>, context: &mut Context) -> Result<(), Halt> {
        if self.idle() {
            return Ok(());
        }
        let cell = RefCell::new(context);
        let mut running: Running<'_> = FuturesUnordered::new();
        loop {
            self.drain_micro(&mut cell.borrow_mut())?;
            let fresh = std::mem::take(&mut *self.fresh.borrow_mut());
            for job in fresh {
                running.push(Box::pin(job.call(&cell)));
            }
            if self.run_due_timer(&mut cell.borrow_mut())? {
                continue;
            }
            if running.is_empty() && !self.strong_timers() {
                return Ok(());
            }
            let due = self.next_due();
            let mut sleep = due.map(|at| Box::pin(tokio::time::sleep_until(at.into())));
            let woke = fiber::wait(poll_fn(|cx| {
                if !running.is_empty() {
                    if let Poll::Ready(Some(result)) = running.poll_next_unpin(cx) {
                        return Poll::Ready(Some(result));
                    }
                }
                match sleep.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
                    Some(Poll::Ready(())) => Poll::Ready(None),
                    _ => Poll::Pending,
                }
            }))
            .map_err(Halt::Stopped)?;
            if let Some(result) = woke {
                result?;
            }
        }
    }
}

impl JobExecutor for Jobs {
    fn enqueue_job(self: Rc<Self>, job: Job, _context: &mut Context) {
        match job {
            Job::PromiseJob(job) => self.micro.borrow_mut().push_back(Micro::Promise(job)),
            Job::GenericJob(job) => self.micro.borrow_mut().push_back(Micro::Generic(job)),
            Job::AsyncJob(job) | Job::FinalizationRegistryCleanupJob(job) => {
                self.fresh.borrow_mut().push(job)
            }
            Job::TimeoutJob(job) => {
                let due = Instant::now() + Duration::from(job.timeout());
                self.add_timer(due, Timer::Once(job));
            }
            Job::IntervalJob(job) => {
                // A zero interval would spin: browsers clamp nested timers to 4 ms.
                let every = Duration::from(job.interval()).max(Duration::from_millis(1));
                self.add_timer(Instant::now() + every, Timer::Every(job, every));
            }
            _ => tracing::debug!("unsupported job dropped"),
        }
    }

    /// Runs promise jobs now (Boa calls this to settle a promise it waits
    /// for synchronously); timers and host jobs wait for `settle`.
    fn run_jobs(self: Rc<Self>, context: &mut Context) -> JsResult<()> {
        self.drain_micro(context)
    }
}
