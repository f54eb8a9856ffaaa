//! HTTP: listen, accept, route, read bodies, stream responses, shut down.
//! Thread per core: every worker thread accepts on its own SO_REUSEPORT
//! socket and runs the scripts of its own connections.

pub mod body;
mod doorbell;
pub mod request;
pub mod response;
pub mod router;
pub mod watch;

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::Config;
use crate::engine::{error_body, retry_after, Shared, Worker};
use crate::session::Sessions;
use body::ResponseBody;
use request::RequestData;
use response::Started;
use router::{Route, RouteError, Router};
use watch::Moment;

/// How long in-flight requests may run on after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("scripts folder {0}: {1}")]
    Scripts(String, std::io::Error),
    #[error("cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("{0}")]
    Sessions(String),
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    pub fn start(config: Config, sessions: Arc<Sessions>) -> Result<Server, StartError> {
        let root = config
            .scripts
            .canonicalize()
            .map_err(|e| StartError::Scripts(config.scripts.display().to_string(), e))?;
        let listeners = listen(&config)?;
        let addr = listeners[0]
            .local_addr()
            .map_err(|e| StartError::Listen(config.host.clone(), e))?;
        let shared = Arc::new(Shared {
            config,
            root,
            sessions,
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let threads = listeners
            .into_iter()
            .enumerate()
            .map(|(index, listener)| {
                let (shared, stopped) = (shared.clone(), stopped.clone());
                std::thread::Builder::new()
                    .name(format!("blimp-worker-{index}"))
                    // Deep JavaScript recursion ends at the recursion limit, well within this.
                    .stack_size(256 * 1024 * 1024)
                    .spawn(move || worker_thread(listener, shared, stopped))
                    .expect("spawn worker thread")
            })
            .collect();
        Ok(Server {
            addr,
            stop,
            threads,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish (up to a bound) and returns.
    pub fn shutdown(self) {
        let _ = self.stop.send(true);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// One socket per worker on the same port; the kernel spreads connections.
fn listen(config: &Config) -> Result<Vec<std::net::TcpListener>, StartError> {
    let err = |e| StartError::Listen(format!("{}:{}", config.host, config.port), e);
    let mut addr = (config.host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(err)?
        .next()
        .ok_or_else(|| err(std::io::ErrorKind::AddrNotAvailable.into()))?;
    // SO_REUSEPORT would let a second server silently share the port: make
    // sure nobody else listens on it first.
    if addr.port() != 0 {
        let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(err)?;
        probe.set_reuse_address(true).map_err(err)?;
        probe.bind(&addr.into()).map_err(err)?;
    }
    let mut listeners = Vec::new();
    for _ in 0..config.workers() {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(err)?;
        socket.set_reuse_address(true).map_err(err)?;
        socket.set_reuse_port(true).map_err(err)?;
        socket.set_nonblocking(true).map_err(err)?;
        socket.bind(&addr.into()).map_err(err)?;
        socket.listen(1024).map_err(err)?;
        let listener: std::net::TcpListener = socket.into();
        // Port 0: the others join the port the first one got.
        addr = listener.local_addr().map_err(err)?;
        listeners.push(listener);
    }
    Ok(listeners)
}

fn worker_thread(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("worker runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("register listener");
        let router = Rc::new(Router::new(shared.root.clone()));
        let worker = Rc::new(Worker::new(shared));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let in_flight = Rc::new(std::cell::Cell::new(0usize));
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        tracing::warn!("accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = stopped.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let local_addr = stream.local_addr().unwrap_or(peer);
            let (worker, router, in_flight) = (worker.clone(), router.clone(), in_flight.clone());
            let service = service_fn(move |req| {
                let connection = Connection {
                    worker: worker.clone(),
                    router: router.clone(),
                    in_flight: in_flight.clone(),
                    peer,
                    local: local_addr,
                };
                handle(connection, req)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::task::spawn_local(async move {
                if let Err(err) = connection.await {
                    tracing::debug!("connection ended: {err}");
                }
            });
        }
        drop(listener);
        if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                "requests still running {SHUTDOWN_GRACE:?} after shutdown began: closing them"
            );
        }
    });
}

type HttpResponse = Response<ResponseBody>;

/// What a request needs of its connection and worker.
struct Connection {
    worker: Rc<Worker>,
    router: Rc<Router>,
    in_flight: Rc<std::cell::Cell<usize>>,
    peer: SocketAddr,
    local: SocketAddr,
}

/// Counts a request in flight for as long as it lives.
pub struct InFlight(Rc<std::cell::Cell<usize>>);

impl InFlight {
    fn new(count: &Rc<std::cell::Cell<usize>>) -> Self {
        count.set(count.get() + 1);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

async fn handle(
    connection: Connection,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let began = Instant::now();
    let Connection {
        worker,
        router,
        in_flight,
        peer,
        local,
    } = connection;
    let shared = worker.shared();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let quick = |status: StatusCode, message: &str| {
        let method = &parts.method;
        tracing::info!(target: "access", "{method} {path} {} 0 {:.3}ms", status.as_u16(), began.elapsed().as_secs_f64() * 1000.0);
        json_response(status, message)
    };
    if in_flight.get() >= shared.config.max_pending {
        let mut response = json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "server saturated, retry shortly",
        )?;
        response.headers_mut().extend(retry_after());
        return Ok(response);
    }
    let tree = router.moment(began);
    let route = match router.resolve(path, tree) {
        Ok(route) => route,
        Err(RouteError::NotFound) => {
            return quick(StatusCode::NOT_FOUND, &format!("no script for {path}"))
        }
        Err(RouteError::BadRequest) => {
            return quick(StatusCode::BAD_REQUEST, "malformed request path")
        }
    };
    let max_body = shared.config.max_body;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let too_large = || format!("request body larger than {max_body} bytes (--max-body)");
    if declared.is_some_and(|n| n > max_body) {
        return quick(StatusCode::PAYLOAD_TOO_LARGE, &too_large());
    }
    let body = match Limited::new(body, max_body as usize).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            return quick(StatusCode::PAYLOAD_TOO_LARGE, &too_large())
        }
        Err(_) => return quick(StatusCode::BAD_REQUEST, "could not read the request body"),
    };
    let request = request_data(shared, parts, body, (route, tree), (peer, local), began);

    let started = Started::default();
    let counted = InFlight::new(&in_flight);
    // Boxed: the request's future is large.
    let mut script = Some(Box::pin(worker.serve(request, started.clone(), counted)));
    // The script runs right here, in this connection's task. When it
    // commits its response early (flush, close), the response goes out and
    // the rest of the script runs on as a task of its own.
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
        Some(start) => {
            let mut response = Response::new(start.body);
            *response.status_mut() = start.status;
            *response.headers_mut() = start.headers;
            Ok(response)
        }
        None => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the script ended without a response",
        ),
    }
}

fn request_data(
    shared: &Shared,
    parts: hyper::http::request::Parts,
    body: Bytes,
    (route, tree): (Rc<Route>, Moment),
    (peer, local): (SocketAddr, SocketAddr),
    received: Instant,
) -> RequestData {
    // The X-Forwarded headers count only behind a proxy we were told to trust.
    let trusted = |name: &str| {
        let value = shared.config.trust_proxy.then(|| parts.headers.get(name));
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
        peer,
        local,
        scheme,
        forwarded_for,
        received,
    }
}

fn json_response(status: StatusCode, message: &str) -> Result<HttpResponse, Infallible> {
    let body = error_body(status, message, None);
    let mut response = Response::new(ResponseBody::Full(Some(Bytes::from(body))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// Runs until SIGINT or SIGTERM, then shuts down gracefully.
pub fn run_until_signal(server: Server, runtime: &tokio::runtime::Runtime) {
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    tracing::info!("shutting down: finishing in-flight requests");
    server.shutdown();
    tracing::info!("stopped");
}
