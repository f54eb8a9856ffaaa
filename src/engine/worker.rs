//! A worker thread's JavaScript: its long-lived Context, running one
//! script at a time. The script runs on the thread that owns the
//! connection (no channel hop); while it runs, the thread keeps serving
//! I/O of its other connections.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::path::PathBuf;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::builtins::JsPromise;
use boa_engine::JsError;

use super::cache::Unit;
use super::context::JsRuntime;
use super::esm::EsmLoader;
use super::failure::Failure;
use crate::modules::scope::{self, Scope};
use crate::scripts::router::Route;

/// Instructions between checks of the deadline (and chances for the
/// thread's other connections to make progress).
const BUDGET: u32 = 20_000;

pub struct Engine {
    root: PathBuf,
    timeout: Duration,
    /// One script at a time per Context.
    turn: tokio::sync::Mutex<()>,
    /// Boxed: a Context is large, and it moves in and out every request.
    runtime: RefCell<Option<Box<JsRuntime>>>,
}

impl Engine {
    pub fn new(root: PathBuf, timeout: Duration) -> Self {
        Engine {
            root,
            timeout,
            turn: tokio::sync::Mutex::new(()),
            runtime: RefCell::new(None),
        }
    }

    /// Runs the script of `route` for `scope`; what went wrong, if anything.
    pub async fn run(&self, scope: &Rc<RefCell<Scope>>, route: &Route) -> Option<Failure> {
        let _turn = match self.turn.try_lock() {
            Ok(turn) => turn,
            Err(_) => self.turn.lock().await,
        };
        let existing = self.runtime.borrow_mut().take();
        let mut runtime = match existing {
            Some(runtime) => runtime,
            None => match JsRuntime::new(self.root.clone()) {
                Ok(runtime) => Box::new(runtime),
                Err(err) => {
                    return Some(Failure::Threw {
                        message: format!("cannot create a JavaScript context: {err}"),
                        location: None,
                        stack: String::new(),
                    })
                }
            },
        };
        scope::enter(&mut runtime.context, Some(scope.clone()));
        runtime.host.request.set(runtime.host.request.get() + 1);
        let deadline = Instant::now() + self.timeout;
        let mut abandoned = Abandoned(Some(&route.relative));
        let failure = run_unit(&mut runtime, route, deadline).await;
        abandoned.0 = None;
        scope::enter(&mut runtime.context, None);
        runtime.jobs.clear();
        match &failure {
            // A stopped script may leave the Context mid-flight: start afresh.
            Some(Failure::Timeout | Failure::Limit(_)) => {
                tracing::warn!(
                    "{}: rebuilding this worker's JavaScript context",
                    route.relative
                );
            }
            _ => *self.runtime.borrow_mut() = Some(runtime),
        }
        failure
    }
}

/// Logs a script that was dropped mid-run: its connection closed before
/// the response started. It leaves its session as it was; the worker
/// builds a fresh context for the next request.
struct Abandoned<'a>(Option<&'a str>);

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if let Some(relative) = self.0 {
            tracing::info!("{relative}: stopped, the client went away");
        }
    }
}

async fn run_unit(runtime: &mut JsRuntime, route: &Route, deadline: Instant) -> Option<Failure> {
    let relative = route.relative.as_str();
    let unit = runtime.host.cache.borrow_mut().get(
        &route.file,
        route.stamp,
        relative,
        &mut runtime.context,
    );
    let unit = match unit {
        Ok(unit) => unit,
        Err(err) => {
            return Some(Failure::Threw {
                message: format!("cannot read {relative}: {err}"),
                location: None,
                stack: String::new(),
            })
        }
    };
    let context = &mut runtime.context;
    let value = match unit {
        Unit::Broken(description) => {
            return Some(Failure::Threw {
                message: description.to_string(),
                location: None,
                stack: String::new(),
            })
        }
        Unit::Json(_) => {
            return Some(Failure::Threw {
                message: format!("{relative} is JSON, not a script"),
                location: None,
                stack: String::new(),
            })
        }
        Unit::CommonJs(script) => {
            let evaluation = script.entry.evaluate_async_with_budget(context, BUDGET);
            match with_deadline(evaluation, deadline).await {
                None => return Some(Failure::Timeout),
                Some(Err(err)) => return Some(Failure::from_js(err, context)),
                Some(Ok(value)) => value,
            }
        }
        Unit::Esm(source) => {
            runtime.loader.begin_request();
            let module = match EsmLoader::parse(&source, relative, context) {
                Ok(module) => module,
                Err(err) => return Some(Failure::syntax(err, relative, false)),
            };
            module.load_link_evaluate(context).into()
        }
    };
    if let Err(err) = context.run_jobs() {
        return Some(Failure::from_js(err, context));
    }
    // A script (or module) whose result is a promise fails when it rejects.
    let promise = value
        .as_object()
        .and_then(|o| JsPromise::from_object(o).ok())?;
    match promise.state() {
        PromiseState::Rejected(reason) => {
            Some(Failure::from_js(JsError::from_opaque(reason), context))
        }
        _ => None,
    }
}

/// Polls `future` until it is ready or `deadline` passes. Evaluation with
/// a budget yields regularly, so the deadline is checked regularly.
async fn with_deadline<F: Future>(future: F, deadline: Instant) -> Option<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(value) => Poll::Ready(Some(value)),
        Poll::Pending if Instant::now() >= deadline => Poll::Ready(None),
        Poll::Pending => Poll::Pending,
    })
    .await
}
