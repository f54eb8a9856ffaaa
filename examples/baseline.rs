//! The ceiling for `bench/run`: a bare hyper server with blimp's thread
//! layout (one current-thread tokio runtime per worker, each accepting on its
//! own SO_REUSEPORT socket), HTTP/1.1 keep-alive, answering every request
//! with the constant body of `scripts/hello.js` and no JavaScript at all.
//!
//! ```text
//! cargo build --release --example baseline
//! target/release/examples/baseline --port 0 --workers 2
//! ```
//!
//! It prints `listening on http://127.0.0.1:PORT` on stderr, like blimp.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use socket2::{Domain, Protocol, Socket, Type};

const BODY: &[u8] = b"Hello from blimp!\n";

fn usage() -> ! {
    eprintln!("usage: baseline [--port N] [--workers N] [--host ADDR]\n  --port N     port to listen on, 0 = a free one (default 8080)\n  --workers N  worker threads (default: CPU cores)\n  --host ADDR  address to listen on (default 127.0.0.1)");
    std::process::exit(2);
}

fn main() {
    let mut port: u16 = 8080;
    let mut host = String::from("127.0.0.1");
    let mut workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--workers" => workers = value().parse::<usize>().unwrap_or_else(|_| usage()).max(1),
            "--host" => host = value(),
            _ => usage(),
        }
    }

    let mut addr: SocketAddr = format!("{host}:{port}").parse().unwrap_or_else(|_| usage());
    let mut listeners = Vec::with_capacity(workers);
    for _ in 0..workers {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .expect("socket");
        socket.set_reuse_address(true).expect("SO_REUSEADDR");
        socket.set_reuse_port(true).expect("SO_REUSEPORT");
        socket.set_nonblocking(true).expect("non-blocking");
        if let Err(err) = socket.bind(&addr.into()) {
            eprintln!("cannot listen on {addr}: {err}");
            std::process::exit(1);
        }
        socket.listen(1024).expect("listen");
        let listener: std::net::TcpListener = socket.into();
        // Port 0: the other workers join the port the first one got.
        addr = listener.local_addr().expect("local address");
        listeners.push(listener);
    }
    eprintln!("listening on http://{addr}");

    let threads: Vec<_> = listeners
        .into_iter()
        .enumerate()
        .map(|(index, listener)| {
            std::thread::Builder::new()
                .name(format!("baseline-worker-{index}"))
                .spawn(move || worker(listener))
                .expect("spawn worker")
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}

fn worker(listener: std::net::TcpListener) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("register listener");
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    eprintln!("accept failed: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::task::spawn_local(async move {
                let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
                    response.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    Ok::<_, Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
