//! HTTP: listen, accept, serve connections, shut down. Thread per core:
//! every worker thread accepts on its own SO_REUSEPORT socket and runs the
//! scripts of its own connections.

mod crash;
mod idle;
mod limits;
pub mod supervisor;

use std::convert::Infallible;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::Config;
use crate::db::Datasources;
use crate::exchange::{Peers, Shared, Worker};
use crate::session::Sessions;
use idle::Idle;
use limits::{Connections, Open, Seldom};

/// A worker thread's stack: deep JavaScript recursion ends at the
/// recursion limit, well within it.
const WORKER_STACK: usize = 256 << 20;

/// How long in-flight requests may run on after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("scripts folder {0}: {1}")]
    Scripts(String, std::io::Error),
    #[error("public folder {0}: {1}")]
    Public(String, std::io::Error),
    #[error("cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("{0}")]
    Sessions(String),
    #[error("{0}")]
    Datasource(String),
    #[error("{0}")]
    Config(String),
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Serves on `listeners` (see `listen`) with one worker thread each.
    pub fn start(
        config: Config,
        sessions: Arc<Sessions>,
        datasources: Arc<Datasources>,
        listeners: Vec<std::net::TcpListener>,
        supervised: bool,
    ) -> Result<Server, StartError> {
        let root = config
            .scripts
            .canonicalize()
            .map_err(|e| StartError::Scripts(config.scripts.display().to_string(), e))?;
        let public = match &config.public {
            Some(dir) => Some(
                dir.canonicalize()
                    .map_err(|e| StartError::Public(dir.display().to_string(), e))?,
            ),
            None => Some(root.join("public")).filter(|dir| dir.is_dir()),
        };
        crate::outbound::Outbound::new(crate::exchange::outbound_settings(&config))
            .map_err(StartError::Config)?;
        let addr = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .ok_or_else(|| {
                StartError::Listen(config.host.clone(), std::io::ErrorKind::NotFound.into())
            })?;
        watchdog(config.timeout() + STUCK_GRACE, supervised);
        crash::report_crashes();
        let fd_limit = limits::raise_fd_limit();
        let connections =
            Connections::new(limits::connection_cap(config.max_connections, fd_limit));
        let (header_timeout, send_timeout) = (config.header_timeout, config.send_timeout);
        if config.metrics {
            crate::metrics::enable();
        }
        let auth = crate::auth::Auth::open(&config).map_err(StartError::Config)?;
        let shared = Arc::new(Shared::new(
            config,
            root,
            public,
            sessions,
            auth,
            datasources,
        ));
        let watch = Arc::new(Watch {
            connections,
            header_timeout,
            send_timeout,
            full: Seldom::default(),
            failing: Seldom::default(),
            fd_limit,
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let threads = listeners
            .into_iter()
            .enumerate()
            .map(|(index, listener)| {
                let (shared, stopped, watch) = (shared.clone(), stopped.clone(), watch.clone());
                std::thread::Builder::new()
                    .name(format!("blimp-worker-{index}"))
                    .stack_size(WORKER_STACK)
                    .spawn(move || worker_thread(listener, shared, watch, stopped))
                    .map_err(|err| {
                        StartError::Config(format!(
                            "cannot start a worker thread: {err} (each reserves {} MiB of address space: is `ulimit -v` too low?)",
                            WORKER_STACK >> 20
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
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

/// How long past `--timeout` a script may run without pausing before its
/// worker counts as stuck (in native code that no limit reaches).
const STUCK_GRACE: Duration = Duration::from_secs(3);

/// Checks the workers five times a second. A stuck one cannot be freed
/// from outside its thread: a supervised server process ends, and its
/// supervisor starts a new one.
fn watchdog(limit: Duration, supervised: bool) {
    std::thread::Builder::new()
        .name("blimp-watchdog".into())
        .spawn(move || {
            let mut said = false;
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let Some((script, ran)) = crate::engine::watch::stuck(limit) else {
                    said = false;
                    continue;
                };
                let message = format!(
                    "{script}: a worker has run this script for {:.1} s without pausing (past --timeout and a grace of {} s)",
                    ran.as_secs_f64(),
                    STUCK_GRACE.as_secs()
                );
                if supervised {
                    // Written directly: the log's own writer may be stuck too.
                    eprintln!("{message}: ending this server process; the supervisor starts a new one");
                    std::process::exit(supervisor::STUCK);
                }
                if !said {
                    tracing::error!("{message}; without the supervisor it stays stuck");
                    said = true;
                }
            }
        })
        .expect("watchdog thread");
}

/// One socket per worker on the same port; the kernel spreads connections.
pub fn listen(config: &Config) -> Result<Vec<std::net::TcpListener>, StartError> {
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

/// A response body and what it keeps held until it is done.
struct Held<B, T>(B, T);

impl<B: hyper::body::Body + Unpin, T: Unpin> hyper::body::Body for Held<B, T> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        std::pin::Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.0.size_hint()
    }
}

/// A connection's place in the worker's books: it counts toward the cap
/// and the idle sweep until its task ends (or is aborted).
struct Registered {
    idle: Rc<Idle>,
    key: usize,
    _open: Open,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.idle.forget(self.key);
    }
}

/// What the workers watch together about their connections.
struct Watch {
    connections: Connections,
    header_timeout: Duration,
    send_timeout: Duration,
    /// The connection cap was reached (logged at most once a second).
    full: Seldom,
    /// Accepting failed (logged at most once a second).
    failing: Seldom,
    fd_limit: u64,
}

fn worker_thread(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    watch: Arc<Watch>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("worker runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("register listener");
        let worker = Rc::new(Worker::new(shared));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let idle = Idle::new(watch.header_timeout, watch.send_timeout);
        tokio::task::spawn_local(idle.clone().sweep());
        // Weak: the worker still ends with the serving loop.
        let tidy = Rc::downgrade(&worker);
        every(Duration::from_secs(1), move || {
            tidy.upgrade().map(|worker| worker.tidy()).is_some()
        });
        every(crate::access_log::FLUSH_EVERY, || {
            crate::access_log::flush();
            true
        });
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        if watch.failing.now() {
                            let files = if err.raw_os_error() == Some(libc::EMFILE) {
                                format!(" (the limit is {} open files)", watch.fd_limit)
                            } else {
                                String::new()
                            };
                            tracing::warn!("accept failed: {err}{files}; serving the open connections meanwhile");
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = stopped.changed() => break,
            };
            let Some(open) = watch.connections.admit() else {
                if watch.full.now() {
                    tracing::warn!(
                        "{} connections open (--max-connections): closing new ones at once",
                        watch.connections.cap()
                    );
                }
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let peers = Peers {
                peer,
                local: stream.local_addr().unwrap_or(peer),
            };
            let (key, state) = idle.open();
            let (worker, watched, closing) = (worker.clone(), idle.clone(), state.clone());
            let service = service_fn(move |req| {
                // Not idle from its headers to the end of its response.
                let busy = watched.busy(&state);
                let response = worker.clone().serve(req, peers);
                async move { Ok::<_, Infallible>(response.await.map(|body| Held(body, busy))) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(idle.watch_writes(stream, &closing)), service);
            let connection = graceful.watch(connection);
            let registered = Registered {
                idle: idle.clone(),
                key,
                _open: open,
            };
            let task = tokio::task::spawn_local(async move {
                let _registered = registered;
                if let Err(err) = connection.await {
                    match parser_answer(&err) {
                        Some(status) => crate::exchange::refused_unparsed(status),
                        None => tracing::debug!("connection ended: {err}"),
                    }
                }
            });
            closing.closed_by(task.abort_handle());
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
    crate::access_log::flush();
}

/// The status hyper answered a request it could not parse with, before
/// the connection ended with `err` (its `on_error`: too long a URI, too
/// large a head, anything else malformed).
fn parser_answer(err: &hyper::Error) -> Option<hyper::StatusCode> {
    let text = err.to_string();
    if !err.is_parse() || err.is_parse_version_h2() || text.contains("internal error") {
        return None;
    }
    Some(if !err.is_parse_too_large() {
        hyper::StatusCode::BAD_REQUEST
    } else if text.contains("URI too long") {
        hyper::StatusCode::URI_TOO_LONG
    } else {
        hyper::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    })
}

/// Runs `tick` on this worker every `period` for as long as it returns true.
fn every(period: Duration, mut tick: impl FnMut() -> bool + 'static) {
    tokio::task::spawn_local(async move {
        let mut interval = tokio::time::interval(period);
        loop {
            interval.tick().await;
            if !tick() {
                break;
            }
        }
    });
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
