//! One worker: a thread's long-lived Context, running one script at a time.
//! The script runs on the thread that owns the connection (no channel hop);
//! while it runs, the thread keeps serving I/O of its other connections.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::path::PathBuf;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::builtins::JsPromise;
use boa_engine::JsError;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, StatusCode};

use super::cache::Unit;
use super::context::JsRuntime;
use super::esm::EsmLoader;
use super::exchange::Exchange;
use super::failure::Failure;
use crate::config::Config;
use crate::server::request::RequestData;
use crate::server::response::{ResponseState, Started};
use crate::server::router::{Route, Stamp};
use crate::server::InFlight;
use crate::session::{cookie, RequestSession, Sessions};

/// Instructions between checks of the deadline (and chances for the
/// thread's other connections to make progress).
const BUDGET: u32 = 20_000;

/// What all workers share.
pub struct Shared {
    pub config: Config,
    /// Canonical scripts root.
    pub root: PathBuf,
    pub sessions: Arc<Sessions>,
}

pub struct Worker {
    shared: Arc<Shared>,
    /// One script at a time per Context.
    turn: tokio::sync::Mutex<()>,
    /// Boxed: a Context is large, and it moves in and out every request.
    runtime: RefCell<Option<Box<JsRuntime>>>,
    /// Which scripts (at which version) use the session: their sessions are
    /// loaded before they run, without blocking the thread.
    session_scripts: RefCell<foldhash::HashMap<String, (Stamp, bool)>>,
}

impl Worker {
    pub fn new(shared: Arc<Shared>) -> Self {
        Worker {
            shared,
            turn: tokio::sync::Mutex::new(()),
            runtime: RefCell::new(None),
            session_scripts: RefCell::default(),
        }
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Runs the request's script and hands its response over in `started`.
    pub async fn serve(self: Rc<Self>, request: RequestData, started: Started, _: InFlight) {
        let sessions = &self.shared.sessions;
        let cookies = request.headers.get_all(hyper::header::COOKIE);
        let incoming = cookie::incoming_id(
            cookies.iter().filter_map(|v| v.to_str().ok()),
            &sessions.settings.cookie_name,
        );
        let mut session = RequestSession::new(sessions.clone(), incoming, request.is_secure());
        if incoming.is_some() && self.uses_session(&request.route) {
            session.preload().await;
        }
        let exchange = Rc::new(RefCell::new(Exchange {
            response: ResponseState::new(started, request.method == Method::HEAD),
            request,
            session,
            sessions: sessions.clone(),
            store_failure: None,
            parameters: None,
        }));

        let failure = {
            let _turn = match self.turn.try_lock() {
                Ok(turn) => turn,
                Err(_) => self.turn.lock().await,
            };
            self.run_script(&exchange).await
        };
        self.finish(&exchange, failure).await;
    }

    /// Whether a script mentions the session, judged from its source once
    /// per version (a module it requires may still touch it: then we learn).
    fn uses_session(&self, route: &Route) -> bool {
        if let Some(&(stamp, uses)) = self.session_scripts.borrow().get(&route.relative) {
            if stamp == route.stamp {
                return uses;
            }
        }
        let source = std::fs::read_to_string(&route.file).unwrap_or_default();
        let uses = source.contains("session") || source.contains("Session");
        self.session_scripts
            .borrow_mut()
            .insert(route.relative.clone(), (route.stamp, uses));
        uses
    }

    async fn run_script(&self, exchange: &Rc<RefCell<Exchange>>) -> Option<Failure> {
        let existing = self.runtime.borrow_mut().take();
        let mut runtime = match existing {
            Some(runtime) => runtime,
            None => match JsRuntime::new(self.shared.root.clone()) {
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
        let route = exchange.borrow().request.route.clone();
        *runtime.host.exchange.borrow_mut() = Some(exchange.clone());
        runtime.host.request.set(runtime.host.request.get() + 1);
        let deadline = Instant::now() + self.shared.config.timeout();
        let mut abandoned = Abandoned(Some(&route.relative));
        let failure = run_unit(&mut runtime, &route, deadline).await;
        abandoned.0 = None;
        *runtime.host.exchange.borrow_mut() = None;
        runtime.jobs.clear();

        if exchange.borrow().session.touched {
            // Learned for scripts that reach the session indirectly.
            self.session_scripts
                .borrow_mut()
                .insert(route.relative.clone(), (route.stamp, true));
        }
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

    /// Writes the session back, ends the response and logs the request.
    async fn finish(&self, cell: &RefCell<Exchange>, failure: Option<Failure>) {
        let (mut cut, mut cookie) = (false, None);
        let saving = match failure {
            Some(failure) => {
                cut = self.fail(&mut cell.borrow_mut(), failure);
                None
            }
            None => {
                let exchange = &mut *cell.borrow_mut();
                let session = &mut exchange.session;
                // The cookie is decided before the session is written away.
                if !exchange.response.is_committed() {
                    cookie = session.commit();
                }
                (!session.is_untouched()).then(|| session.finish())
            }
        };
        if let Some(saving) = saving {
            let saved = saving.await;
            let exchange = &mut *cell.borrow_mut();
            let (response, relative) = (&mut exchange.response, &exchange.request.route.relative);
            match saved {
                Ok(()) => {}
                Err(err) if response.is_committed() => {
                    tracing::error!(
                        "{relative}: session not saved: {err} (after commit: body cut short)"
                    );
                    cut = true;
                }
                Err(err) => {
                    tracing::error!("{relative}: session not saved: {err}");
                    self.error(
                        response,
                        StatusCode::SERVICE_UNAVAILABLE,
                        err.to_string(),
                        None,
                    );
                }
            }
        }
        if cut {
            let drained = cell.borrow().response.drained();
            drained.await;
            cell.borrow_mut().response.cut();
        }
        let exchange = &mut *cell.borrow_mut();
        exchange.response.close(cookie);
        let request = &exchange.request;
        tracing::info!(
            target: "access",
            "{} {} {} {} {:.3}ms",
            request.method,
            request.path(),
            exchange.response.status(),
            exchange.response.bytes_sent(),
            request.received.elapsed().as_secs_f64() * 1000.0
        );
    }

    /// Answers a script that failed with an error response; true when the
    /// response was already committed and its body must be cut short
    /// instead. Its session is left as it was.
    fn fail(&self, exchange: &mut Exchange, failure: Failure) -> bool {
        exchange.session.abandon();
        let (response, relative) = (&mut exchange.response, &exchange.request.route.relative);
        let (status, message) = match (&exchange.store_failure, &failure) {
            (Some(store), _) => (StatusCode::SERVICE_UNAVAILABLE, store.clone()),
            (None, Failure::Threw { .. }) => {
                (StatusCode::INTERNAL_SERVER_ERROR, failure.describe())
            }
            (None, _) => (StatusCode::SERVICE_UNAVAILABLE, failure.describe()),
        };
        let stack = match &failure {
            Failure::Threw { stack, .. } if !stack.is_empty() => Some(stack.as_str()),
            _ => None,
        };
        let cut = if response.is_committed() {
            " (after commit: body cut short)"
        } else {
            ""
        };
        match stack {
            Some(stack) => tracing::error!("{relative}: {message}{cut}\n{}", stack.trim_end()),
            None => tracing::error!("{relative}: {message}{cut}"),
        }
        if !response.is_committed() {
            self.error(response, status, message, stack);
        }
        response.is_committed()
    }

    fn error(
        &self,
        response: &mut ResponseState,
        status: StatusCode,
        message: String,
        stack: Option<&str>,
    ) {
        let body = error_body(status, &message, stack.filter(|_| self.shared.config.dev));
        response.replace(status, "application/json", body, &[]);
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

/// The JSON body of every error response.
pub fn error_body(status: StatusCode, message: &str, stack: Option<&str>) -> String {
    let mut body = serde_json::json!({ "status": status.as_u16(), "message": message });
    if let Some(stack) = stack {
        body["stack"] = stack.into();
    }
    body.to_string()
}

/// Extra headers of a 503 for saturation.
pub fn retry_after() -> [(HeaderName, HeaderValue); 1] {
    [(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"))]
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
