//! Waiting without blocking the thread. A fiber is a coroutine with a stack
//! of its own on a worker thread: code running in it calls `wait(future)`
//! as if it were a blocking call, the fiber is suspended, and the thread
//! serves other connections and other fibers until the future is ready
//! (the way Swoole runs PHP's blocking calls). Nothing here knows
//! JavaScript: the engine runs its contexts in fibers, and the modules'
//! synchronous calls that wait (an HTTP client, a database, a session
//! lock) call `wait`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};

/// Why a wait ended without its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The fiber's deadline passed.
    Timeout,
    /// Whoever drove the fiber gave up on it (the client went away).
    Cancelled,
}

/// What code inside a fiber can know about its run.
pub struct State {
    deadline: Cell<Option<Instant>>,
    stop: Cell<Option<Stop>>,
    /// The fiber is being dropped: what unwinds its stack is not a panic
    /// its code should catch.
    dropping: Cell<bool>,
}

impl State {
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.get()
    }

    /// Sets the time at which every wait of this fiber ends with `Stop::Timeout`.
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.deadline.set(deadline);
    }

    /// Why the fiber must stop, if it must: its deadline passed or it was
    /// cancelled. Sticky: once stopped, every later wait fails at once.
    pub fn stopped(&self) -> Option<Stop> {
        if self.stop.get().is_none() && self.deadline.get().is_some_and(|d| Instant::now() >= d) {
            self.stop.set(Some(Stop::Timeout));
        }
        self.stop.get()
    }

    /// Why the fiber was stopped, if a wait or a check has found it must
    /// stop; unlike `stopped`, without reading the clock.
    pub fn was_stopped(&self) -> Option<Stop> {
        self.stop.get()
    }

    /// Whether the fiber is being dropped (its stack unwinds).
    pub fn dropping(&self) -> bool {
        self.dropping.get()
    }

    /// Ready for the next job: no deadline, not stopped.
    pub fn reset(&self) {
        self.deadline.set(None);
        self.stop.set(None);
    }
}

/// What the driver passes in on each resume: the waker of the task that
/// polls the fiber, valid until the fiber pauses again.
struct Resume(*const Waker);

/// Why a fiber gave the thread back.
enum Pause {
    /// It waits for a future, which has the task's waker.
    Waiting,
    /// It finished its job and waits for the next.
    Idle,
}

type Co = Coroutine<Resume, Pause, (), DefaultStack>;

thread_local! {
    /// The fiber running on this thread, if any: its yielder and state.
    static CURRENT: RefCell<Option<Running>> = const { RefCell::new(None) };
}

#[derive(Clone)]
struct Running {
    yielder: *const Yielder<Resume, Pause>,
    waker: *const Waker,
    state: Rc<State>,
}

/// A coroutine that runs jobs one after another; see `Fiber::new`.
pub struct Fiber {
    co: RefCell<Co>,
    state: Rc<State>,
}

impl Fiber {
    /// A fiber whose stack holds `stack_size` bytes (reserved, touched as
    /// used). `body` runs on that stack at the first `drive`; it calls
    /// `idle()` each time it has finished a job, and never returns.
    pub fn new(stack_size: usize, body: impl FnOnce() + 'static) -> std::io::Result<Fiber> {
        let stack = DefaultStack::new(stack_size)?;
        let state = Rc::new(State {
            deadline: Cell::new(None),
            stop: Cell::new(None),
            dropping: Cell::new(false),
        });
        let inner = state.clone();
        let co = Coroutine::with_stack(stack, move |yielder: &Yielder<Resume, Pause>, resume| {
            enter(yielder, resume, &inner);
            body();
        });
        Ok(Fiber {
            co: RefCell::new(co),
            state,
        })
    }

    pub fn state(&self) -> &Rc<State> {
        &self.state
    }

    /// Resumes the fiber until it reports `idle()`.
    pub fn drive(self: &Rc<Self>) -> Drive {
        Drive {
            fiber: Some(self.clone()),
        }
    }

    /// Resumes it until it pauses; `None` once it has ended (its body
    /// panicked: the panic goes on up from here the first time).
    fn resume(&self, cx: &Context<'_>) -> Option<Pause> {
        if self.co.borrow().done() {
            return None;
        }
        let saved = CURRENT.with_borrow_mut(Option::take);
        let result = self.co.borrow_mut().resume(Resume(cx.waker()));
        CURRENT.with_borrow_mut(|current| *current = saved);
        match result {
            CoroutineResult::Yield(pause) => Some(pause),
            CoroutineResult::Return(()) => None,
        }
    }
}

impl Drop for Fiber {
    fn drop(&mut self) {
        // Dropping the coroutine unwinds its stack from where it paused.
        self.state.dropping.set(true);
    }
}

/// Resumes a fiber until its job is done. Dropped early (its connection
/// closed), it marks the fiber cancelled, so the fiber's waits fail and
/// its script stops, and drives it to the end in a task of its own.
pub struct Drive {
    fiber: Option<Rc<Fiber>>,
}

impl Future for Drive {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let fiber = self.fiber.as_ref().expect("polled after the end");
        match fiber.resume(cx) {
            Some(Pause::Waiting) => Poll::Pending,
            Some(Pause::Idle) | None => {
                self.fiber = None;
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Drive {
    fn drop(&mut self) {
        let Some(fiber) = self.fiber.take() else {
            return;
        };
        // Every wait of a stopped fiber fails at once, so its job runs to
        // its end without waiting; the bound is only a safety net.
        fiber.state.stop.set(Some(Stop::Cancelled));
        let cx = Context::from_waker(Waker::noop());
        for _ in 0..1000 {
            if !matches!(fiber.resume(&cx), Some(Pause::Waiting)) {
                return;
            }
        }
        tracing::error!("a cancelled fiber kept waiting: dropped unfinished");
    }
}

fn enter(yielder: &Yielder<Resume, Pause>, resume: Resume, state: &Rc<State>) {
    CURRENT.with_borrow_mut(|current| {
        *current = Some(Running {
            yielder,
            waker: resume.0,
            state: state.clone(),
        })
    });
}

/// Suspends the running fiber with `pause` until it is resumed.
fn pause(pause: Pause) {
    let running = CURRENT
        .with_borrow(Clone::clone)
        .expect("pause outside a fiber");
    // SAFETY: the yielder lives on this fiber's stack, which is live while
    // code of the fiber runs, and this is code of the fiber.
    let yielder = unsafe { &*running.yielder };
    let resume = yielder.suspend(pause);
    enter(yielder, resume, &running.state);
}

/// Inside a fiber: reports the job done and waits for the next one.
pub fn idle() {
    pause(Pause::Idle);
}

/// The state of the fiber running on this thread, if code runs in one.
pub fn current() -> Option<Rc<State>> {
    CURRENT.with_borrow(|current| current.as_ref().map(|r| r.state.clone()))
}

/// Waits for `future` without blocking the thread: the fiber is suspended
/// until the future is ready. Ends early when the fiber's deadline passes
/// or it is cancelled. Outside a fiber it cannot wait: `Stop::Cancelled`.
pub fn wait<F: Future>(future: F) -> Result<F::Output, Stop> {
    let Some(state) = current() else {
        return Err(Stop::Cancelled);
    };
    let mut future = pin!(future);
    // Made only once the future is pending: most waits are over at once.
    let mut deadline = None;
    loop {
        if let Some(stop) = state.stopped() {
            return Err(stop);
        }
        let waker = CURRENT.with_borrow(|c| c.as_ref().map(|r| r.waker));
        // SAFETY: the waker was passed in by the resume that is running
        // now, and stays valid until this fiber pauses again.
        let waker = unsafe { &*waker.expect("inside a fiber") };
        let mut cx = Context::from_waker(waker);
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return Ok(value);
        }
        if let Some(at) = state.deadline() {
            let sleep =
                deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at.into())));
            if sleep.as_mut().poll(&mut cx).is_ready() {
                state.stop.set(Some(Stop::Timeout));
                return Err(Stop::Timeout);
            }
        }
        pause(Pause::Waiting);
    }
}

/// Gives the thread to its other connections and fibers for a moment (a
/// long computation calls it now and then).
pub fn yield_now() -> Result<(), Stop> {
    wait(tokio::task::yield_now())
}
