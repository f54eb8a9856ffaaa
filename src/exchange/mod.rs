//! One request's life, from the request hyper hands over to the response it
//! gets back: admission, route, session load, the script run, the finish
//! (session write-back, end of the response) and the one exit every
//! response leaves through (`exit.rs`: default headers, the access log).

mod admit;
mod error_page;
mod exit;
mod file_cache;
mod static_file;

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH};
use hyper::{Method, Request, StatusCode};

use crate::auth::Auth;
use crate::config::Config;
use crate::db::Datasources;
use crate::engine::failure::Failure;
use crate::engine::limits::MemoryLimits;
use crate::engine::{Engine, Settings};
use crate::http::request::RequestData;
use crate::http::request_body::{BodyLimits, RequestBody};
use crate::http::response::{ResponseState, SessionHeaders, Started};
use crate::log_line;
use crate::modules::scope::Scope;
use crate::scripts::router::{Route, RouteError, Router, Stamp};
use crate::scripts::watch::Moment;
use crate::session::{cookie, RequestSession, Sessions};
pub use error_page::json as error_body;
use exit::Exit;
pub use exit::{refused_unparsed, HttpResponse};

/// What all worker threads share.
pub struct Shared {
    pub config: Config,
    /// Canonical scripts root.
    pub root: PathBuf,
    /// Canonical public folder, if any.
    pub public: Option<PathBuf>,
    pub sessions: Arc<Sessions>,
    pub datasources: Arc<Datasources>,
    pub body_limits: BodyLimits,
    pub auth: Arc<Auth>,
    static_files: file_cache::FileCache,
}

impl Shared {
    pub fn new(
        config: Config,
        root: PathBuf,
        public: Option<PathBuf>,
        sessions: Arc<Sessions>,
        auth: Arc<Auth>,
        datasources: Arc<Datasources>,
    ) -> Self {
        let body_limits = BodyLimits::new(
            config.max_body,
            config.body_timeout,
            config.body_min_rate,
            config.max_body_memory,
        );
        let static_files = file_cache::FileCache::new(config.static_cache);
        Shared {
            static_files,
            config,
            root,
            public,
            sessions,
            datasources,
            body_limits,
            auth,
        }
    }
}

/// The connections' side of a worker thread: everything a request needs
/// besides its connection. Not `Send`: each worker thread has one.
pub struct Worker {
    shared: Arc<Shared>,
    router: Router,
    engine: Engine,
    /// Requests admitted and not yet finished.
    in_flight: Rc<Cell<usize>>,
    /// What each script (at its current version) uses.
    scripts_use: RefCell<foldhash::HashMap<Arc<str>, Rc<Uses>>>,
}

/// What one version of a script was found to use.
struct Uses {
    stamp: Stamp,
    /// The session: it is loaded before the script runs, without blocking
    /// the thread.
    session: Cell<bool>,
    /// The request body (set by the first read): a body is then read
    /// before the script takes a context, so that clients sending bodies
    /// slowly hold connections, not the contexts every script needs.
    body: Rc<Cell<bool>>,
}

/// Where a connection is: its peer and our own address.
#[derive(Clone, Copy)]
pub struct Peers {
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

impl Worker {
    pub fn new(shared: Arc<Shared>) -> Self {
        Worker {
            router: Router::new(shared.root.clone(), shared.public.clone()),
            engine: Engine::new(engine_settings(&shared)).expect("checked at start"),
            shared,
            in_flight: Rc::default(),
            scripts_use: RefCell::default(),
        }
    }

    /// Called every second: drops the contexts idle past `--context-idle`.
    pub fn tidy(&self) {
        self.engine.tidy();
    }

    /// Answers one request. Every response leaves through `Exit`.
    pub async fn serve(self: Rc<Self>, req: Request<Incoming>, peers: Peers) -> HttpResponse {
        let began = Instant::now();
        let (parts, body) = req.into_parts();
        let mut exit = Exit::new(&parts.method, parts.uri.path(), began);
        let config = &self.shared.config;
        if self.in_flight.get() >= config.max_pending {
            return exit.saturated(&parts.headers);
        }
        if parts.uri.path().starts_with("/_blimp/") {
            // Boxed, as every rare path here: the common one's future stays
            // small, and hyper moves it for every request.
            if let Some(answer) = Box::pin(self.operator(parts.uri.path())).await {
                exit.answered_by("_blimp");
                return exit.respond(answer);
            }
        }
        let tree = self.router.moment(began);
        let path = parts.uri.path();
        let route = match self.router.resolve(path, tree) {
            Ok(route) => route,
            Err(RouteError::NotFound) => {
                let message = format!("no script for {path}");
                return exit.error(StatusCode::NOT_FOUND, &message, &parts.headers);
            }
            Err(RouteError::BadRequest) => {
                return exit.error(
                    StatusCode::BAD_REQUEST,
                    "malformed request path",
                    &parts.headers,
                )
            }
        };
        exit.answered_by(if route.is_static {
            "static"
        } else {
            &route.relative
        });
        if route.is_static {
            let (gzip_max, cache) = (self.shared.config.gzip_max, &self.shared.static_files);
            let answer = Box::pin(static_file::respond(&route, &parts, gzip_max, cache)).await;
            return exit.respond(answer);
        }
        let max_body = config.max_body;
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body) {
            let message = format!("request body larger than {max_body} bytes (--max-body)");
            return exit.error(StatusCode::PAYLOAD_TOO_LARGE, &message, &parts.headers);
        }
        // Read when the script asks for it, not before (or, for a script
        // known to read it, before it runs).
        let uses = self.uses(&route);
        let body = RequestBody::Unread {
            incoming: body,
            limits: self.shared.body_limits.clone(),
            declared,
            wanted: uses.body.clone(),
        };
        let request = request_data(config, parts, body, (route, tree), peers, began);
        let started = Started::default();
        let scope = self.scope(request, started.clone());
        if self.shared.auth.is_active() {
            if let Err(denied) = Box::pin(admit::admit(&self.shared, &scope)).await {
                return admit::deny(exit, &denied, &scope.borrow().request.headers);
            }
        }
        self.run(scope, uses, started, exit).await
    }

    /// The operators' endpoints under `/_blimp/` (a path no script can
    /// take), when their flags turn them on; `None` lets the path go on to
    /// its usual 404.
    async fn operator(&self, path: &str) -> Option<crate::http::response::Start> {
        let config = &self.shared.config;
        let (kind, body) = match path {
            "/_blimp/health" if config.health => {
                ("application/json", r#"{"status":"ok"}"#.to_string())
            }
            "/_blimp/metrics" => {
                let metrics = crate::metrics::get()?;
                // Counted at scrape time: a shared store is asked once.
                if let Ok(count) = self.shared.sessions.store.count().await {
                    metrics.live_sessions.set(count);
                }
                let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
                (kind, metrics.text())
            }
            _ => return None,
        };
        let mut headers = hyper::HeaderMap::new();
        headers.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static(kind));
        headers.insert(
            hyper::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        Some(crate::http::response::Start {
            status: StatusCode::OK,
            headers,
            body: crate::http::response_body::ResponseBody::Full(Some(body.into())),
        })
    }

    /// What the script will work on: the request, its response to be, its
    /// session (not loaded yet). On the heap at once: it is large, and
    /// moving it from future to future costs.
    fn scope(&self, request: RequestData, started: Started) -> Rc<RefCell<Scope>> {
        let sessions = &self.shared.sessions;
        let cookies = request.headers.get_all(hyper::header::COOKIE);
        let incoming = cookie::incoming_id(
            cookies.iter().filter_map(|v| v.to_str().ok()),
            &sessions.settings.cookie_name,
        );
        let session = RequestSession::new(sessions.clone(), incoming, request.is_secure());
        Rc::new(RefCell::new(Scope {
            response: ResponseState::new(
                started,
                request.method == Method::HEAD,
                self.shared.config.response_buffer as usize,
            ),
            request,
            session,
            sessions: sessions.clone(),
            datasources: self.shared.datasources.clone(),
            connections: Vec::new(),
            fault: None,
            parameters: None,
            attributes: Vec::new(),
            user: None,
        }))
    }

    /// Runs the request's script. The script runs right here, in this
    /// connection's task; when it commits its response early (flush,
    /// close), the response goes out and the rest of the script runs on as
    /// a task of its own.
    async fn run(
        self: Rc<Self>,
        scope: Rc<RefCell<Scope>>,
        uses: Rc<Uses>,
        started: Started,
        exit: Exit,
    ) -> HttpResponse {
        let counted = InFlight::new(&self.in_flight);
        // Boxed: the request's future is large.
        let mut script = Some(Box::pin(self.clone().script(scope.clone(), uses, counted)));
        let start = poll_fn(|cx| {
            let running = script.as_mut().expect("polled after the end");
            if running.as_mut().poll(cx).is_ready() {
                script = None;
                return Poll::Ready(started.take());
            }
            match started.take() {
                Some(start) => Poll::Ready(Some(start)),
                None => Poll::Pending,
            }
        })
        .await;
        if let Some(rest) = script {
            tokio::task::spawn_local(rest);
        }
        match start {
            Some(start) => exit.respond(start),
            None => exit.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the script ended without a response",
                &scope.borrow().request.headers,
            ),
        }
    }

    /// Reads the body (for a script known to read it), loads the session,
    /// runs the script and finishes the exchange; the response is handed
    /// over (through the scope's `Started`) as soon as it starts.
    async fn script(self: Rc<Self>, scope: Rc<RefCell<Scope>>, uses: Rc<Uses>, _: InFlight) {
        if uses.body.get() {
            let reading = scope.borrow_mut().request.body.start();
            if let Some(reading) = reading {
                let read = reading.await;
                scope.borrow_mut().request.body.finish(read);
            }
        }
        if uses.session.get() {
            load_session(&scope).await;
        }
        let route = scope.borrow().request.route.clone();
        let failure = self.engine.run(scope.clone(), route).await;
        if scope.borrow().session.touched {
            // Learned for scripts that reach the session indirectly.
            uses.session.set(true);
        }
        self.finish(&scope, failure).await;
    }

    /// What a script uses, as known for its version. Whether it mentions
    /// the session is judged from its source once per version (a module it
    /// requires may still touch it: then we learn).
    fn uses(&self, route: &Route) -> Rc<Uses> {
        if let Some(uses) = self.scripts_use.borrow().get(&*route.relative) {
            if uses.stamp == route.stamp {
                return uses.clone();
            }
        }
        let source = std::fs::read_to_string(&route.file).unwrap_or_default();
        let uses = Rc::new(Uses {
            stamp: route.stamp,
            session: Cell::new(source.contains("session") || source.contains("Session")),
            body: Rc::default(),
        });
        self.scripts_use
            .borrow_mut()
            .insert(route.relative.clone(), uses.clone());
        uses
    }

    /// Writes the session back and ends the response.
    async fn finish(&self, cell: &RefCell<Scope>, failure: Option<Failure>) {
        let (mut cut, mut session_headers) = (false, SessionHeaders::default());
        let saving = match failure {
            Some(failure) => {
                cut = self.fail(&mut cell.borrow_mut(), failure);
                None
            }
            None => {
                let scope = &mut *cell.borrow_mut();
                // The cookie is decided before the session is written away.
                if !scope.response.is_committed() {
                    session_headers = scope.session_headers();
                }
                let session = &mut scope.session;
                (!session.is_untouched()).then(|| session.finish())
            }
        };
        if let Some(saving) = saving {
            let saved = saving.await;
            let scope = &mut *cell.borrow_mut();
            let (response, relative) = (&mut scope.response, &scope.request.route.relative);
            match saved {
                Ok(()) => {}
                Err(err) if response.is_committed() => {
                    let late = too_late(response);
                    tracing::error!("{relative}: session not saved: {err}{late}");
                    cut = true;
                }
                Err(err) => {
                    tracing::error!("{relative}: session not saved: {err}");
                    if let Some(metrics) = crate::metrics::get() {
                        metrics.store_errors.inc();
                    }
                    let html = error_page::wants_html(&scope.request.headers);
                    let status = StatusCode::SERVICE_UNAVAILABLE;
                    let (kind, body) = error_page::render(status, &err.to_string(), None, html);
                    response.replace(status, kind, body, &[]);
                }
            }
        }
        if cut {
            let drained = cell.borrow().response.drained();
            drained.await;
            cell.borrow_mut().response.cut();
        }
        cell.borrow_mut().response.close(session_headers);
    }

    /// Answers a script that failed with an error response; true when the
    /// response was already committed and its body must be cut short
    /// instead. Its session is left as it was.
    fn fail(&self, scope: &mut Scope, failure: Failure) -> bool {
        scope.session.abandon();
        let (response, relative) = (&mut scope.response, &scope.request.route.relative);
        let (status, message) = match (&scope.fault, &failure) {
            (Some((status, message)), _) => (*status, message.clone()),
            (None, Failure::Threw { .. } | Failure::Crashed) => {
                (StatusCode::INTERNAL_SERVER_ERROR, failure.describe())
            }
            (None, _) => (StatusCode::SERVICE_UNAVAILABLE, failure.describe()),
        };
        let stack = match &failure {
            Failure::Threw { stack, .. } if !stack.is_empty() => Some(stack.as_str()),
            _ => None,
        };
        let cut = too_late(response);
        let logged = log_line::escape(&message);
        match stack {
            Some(stack) => {
                tracing::error!("{relative}: {logged}{cut}\n{}", log_line::indented(stack))
            }
            None => tracing::error!("{relative}: {logged}{cut}"),
        }
        if !response.is_committed() {
            // Full, not broken: the client may come back.
            let retry = matches!(failure, Failure::Busy) || message.contains("retry shortly");
            let extra = if retry { &retry_after()[..] } else { &[] };
            let stack = stack.filter(|_| self.shared.config.dev);
            let html = error_page::wants_html(&scope.request.headers);
            let (kind, body) = error_page::render(status, &message, stack, html);
            response.replace(status, kind, body, extra);
        }
        response.is_committed()
    }
}

/// What a failure after the response started did to it, for the log.
fn too_late(response: &ResponseState) -> &'static str {
    if response.is_closed() {
        " (after the response was closed: the client has it whole)"
    } else if response.is_committed() {
        " (after commit: body cut short)"
    } else {
        ""
    }
}

/// Locks and loads the request's session, if it has one not loaded yet,
/// without blocking the thread.
async fn load_session(scope: &RefCell<Scope>) {
    let load = scope.borrow_mut().session.load();
    if let Some(load) = load {
        let loaded = load.await;
        if let (Err(_), Some(metrics)) = (&loaded, crate::metrics::get()) {
            metrics.store_errors.inc();
        }
        scope.borrow_mut().session.loaded(loaded);
    }
}

fn engine_settings(shared: &Shared) -> Settings {
    let config = &shared.config;
    Settings {
        root: shared.root.clone(),
        public: shared.public.clone(),
        timeout: config.timeout(),
        contexts: config.max_contexts.max(1),
        context_idle: config.context_idle,
        memory: MemoryLimits {
            script: config.max_script_memory as i64,
            server: config.max_memory() as i64,
        },
        outbound: outbound_settings(config),
    }
}

pub fn outbound_settings(config: &Config) -> crate::outbound::Settings {
    crate::outbound::Settings {
        ca_file: config.ca_file.clone(),
        max_response: config.fetch_max_response,
        deny_private: config.fetch_deny_private,
    }
}

/// Counts a request in flight for as long as it lives.
struct InFlight(Rc<Cell<usize>>);

impl InFlight {
    fn new(count: &Rc<Cell<usize>>) -> Self {
        count.set(count.get() + 1);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

fn request_data(
    config: &Config,
    parts: hyper::http::request::Parts,
    body: RequestBody,
    (route, tree): (Rc<Route>, Moment),
    peers: Peers,
    received: Instant,
) -> RequestData {
    // The X-Forwarded headers count only behind a proxy we were told to trust.
    let trusted = |name: &str| {
        let value = config.trust_proxy.then(|| parts.headers.get(name));
        value.flatten().and_then(|v| v.to_str().ok()).map(str::trim)
    };
    let scheme = match trusted("x-forwarded-proto") {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let forwarded_for = trusted("x-forwarded-for")
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string());
    RequestData {
        version: match parts.version {
            hyper::Version::HTTP_10 => "HTTP/1.0",
            hyper::Version::HTTP_2 => "HTTP/2.0",
            _ => "HTTP/1.1",
        },
        uri: parts.uri,
        method: parts.method,
        headers: parts.headers,
        body,
        route,
        tree,
        peer: peers.peer,
        local: peers.local,
        scheme,
        forwarded_for,
        received,
    }
}

/// Extra headers of a 503 for saturation.
pub fn retry_after() -> [(HeaderName, HeaderValue); 1] {
    [(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"))]
}
