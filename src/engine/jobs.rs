//! The job queue of a worker's Context. Boa's default executor spins on
//! timers; this one runs promise jobs until none are left and never waits:
//! a request's promises settle before its response ends.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

use boa_engine::job::{Job, JobExecutor, NativeAsyncJob, PromiseJob};
use boa_engine::{Context, JsNativeError, JsResult};

#[derive(Default)]
pub struct Jobs {
    promise_jobs: RefCell<VecDeque<PromiseJob>>,
    async_jobs: RefCell<VecDeque<NativeAsyncJob>>,
}

impl Jobs {
    /// Drops whatever a failed request left queued.
    pub fn clear(&self) {
        self.promise_jobs.borrow_mut().clear();
        self.async_jobs.borrow_mut().clear();
    }
}

impl JobExecutor for Jobs {
    fn enqueue_job(self: Rc<Self>, job: Job, _context: &mut Context) {
        match job {
            Job::PromiseJob(job) => self.promise_jobs.borrow_mut().push_back(job),
            Job::AsyncJob(job) => self.async_jobs.borrow_mut().push_back(job),
            // Timers and finalizers are not part of the script API.
            _ => tracing::debug!("unsupported job dropped"),
        }
    }

    fn run_jobs(self: Rc<Self>, context: &mut Context) -> JsResult<()> {
        loop {
            let next_async = self.async_jobs.borrow_mut().pop_front();
            if let Some(job) = next_async {
                // Our host jobs (module loading) complete without waiting.
                let cell = RefCell::new(&mut *context);
                let future = pin!(job.call(&cell));
                match future.poll(&mut TaskContext::from_waker(Waker::noop())) {
                    Poll::Ready(result) => result.map(drop)?,
                    Poll::Pending => {
                        return Err(JsNativeError::error()
                            .with_message("a host job could not complete")
                            .into())
                    }
                }
                continue;
            }
            let next_promise = self.promise_jobs.borrow_mut().pop_front();
            match next_promise {
                Some(job) => job.call(context).map(drop)?,
                None => return Ok(()),
            }
        }
    }
}
