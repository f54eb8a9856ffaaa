//! Another server for scripts to call: hyper on 127.0.0.1:0 in a thread of
//! its own, plain or HTTPS with a certificate made at test time.
//!
//! - `/slow/MS`: answers "slow MS" after MS milliseconds
//! - `/echo`: the request as JSON (method, path, query, headers, body)
//! - `/json`: `{"hello":"world","n":1}`
//! - `/status/CODE`: that status, body "status CODE"
//! - `/redirect/N`: 302 to `/redirect/N-1`; `/redirect/0` says "arrived"
//! - `/bytes/N`: N bytes of `x`; `/chunked/N` the same without a length
//! - `/binary`: the bytes 0, 1, 2, 255
//! - `/latin1`: "café" in ISO-8859-1, with the reason phrase "Everything Fine"

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

pub struct Upstream {
    pub addr: SocketAddr,
    pub https: bool,
    /// Requests answered so far.
    pub served: Arc<AtomicUsize>,
    /// With HTTPS: the certificate, as a PEM file for `--ca-file`.
    pub ca_file: Option<tempfile::NamedTempFile>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Upstream {
    pub fn start() -> Upstream {
        Upstream::spawn(None)
    }

    /// HTTPS for `localhost` and 127.0.0.1, with a self-signed certificate.
    pub fn start_https() -> Upstream {
        Upstream::https(false)
    }

    /// The same with a certificate that says it is a CA's, as
    /// `openssl req -x509` makes them.
    pub fn start_https_as_ca() -> Upstream {
        Upstream::https(true)
    }

    fn https(as_ca: bool) -> Upstream {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        if as_ca {
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        let signing_key = rcgen::KeyPair::generate().unwrap();
        let made = params.self_signed(&signing_key).unwrap();
        let cert_pem = made.pem();
        let key = signing_key.serialize_der();
        let cert = made.der().clone();
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert],
            tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .unwrap();
        let mut upstream = Upstream::spawn(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))));
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), cert_pem).unwrap();
        upstream.ca_file = Some(file);
        upstream
    }

    fn spawn(tls: Option<tokio_rustls::TlsAcceptor>) -> Upstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let counter = served.clone();
        let https = tls.is_some();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let accepting = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let (counter, tls) = (counter.clone(), tls.clone());
                        tokio::spawn(async move {
                            let service = service_fn(move |req| {
                                counter.fetch_add(1, Ordering::SeqCst);
                                answer(req)
                            });
                            let builder = hyper::server::conn::http1::Builder::new();
                            match tls {
                                Some(tls) => {
                                    if let Ok(stream) = tls.accept(stream).await {
                                        let _ = builder
                                            .serve_connection(TokioIo::new(stream), service)
                                            .await;
                                    }
                                }
                                None => {
                                    let _ = builder
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await;
                                }
                            }
                        });
                    }
                };
                tokio::select! {
                    _ = accepting => {}
                    _ = stopped => {}
                }
            });
        });
        Upstream {
            addr,
            https,
            served,
            ca_file: None,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.addr.port())
    }

    pub fn ca_path(&self) -> String {
        self.ca_file.as_ref().unwrap().path().display().to_string()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let reply = |status: u16, content_type: &str, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .header("x-upstream", "yes")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let response = match segments.as_slice() {
        ["slow", ms] => {
            let ms: u64 = ms.parse().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            reply(200, "text/plain", format!("slow {ms}").into_bytes())
        }
        ["echo"] => {
            let headers: serde_json::Map<String, serde_json::Value> = parts
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").into()))
                .collect();
            let echoed = serde_json::json!({
                "method": parts.method.as_str(),
                "path": path,
                "query": parts.uri.query(),
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
                "bytes": body.to_vec(),
            });
            reply(200, "application/json", echoed.to_string().into_bytes())
        }
        ["json"] => reply(
            200,
            "application/json",
            br#"{"hello":"world","n":1}"#.to_vec(),
        ),
        ["status", code] => {
            let code: u16 = code.parse().unwrap_or(500);
            reply(code, "text/plain", format!("status {code}").into_bytes())
        }
        ["redirect", n] => {
            let n: u32 = n.parse().unwrap_or(0);
            if n == 0 {
                reply(200, "text/plain", b"arrived".to_vec())
            } else {
                Response::builder()
                    .status(302)
                    .header("location", format!("/redirect/{}", n - 1))
                    .body(Full::new(Bytes::new()))
                    .unwrap()
            }
        }
        ["bytes", n] => reply(200, "text/plain", vec![b'x'; n.parse().unwrap_or(0)]),
        ["chunked", n] => {
            let mut response = reply(200, "text/plain", vec![b'x'; n.parse().unwrap_or(0)]);
            response
                .headers_mut()
                .insert("transfer-encoding", "chunked".parse().unwrap());
            response
        }
        ["binary"] => reply(200, "application/octet-stream", vec![0, 1, 2, 255]),
        ["latin1"] => {
            let mut response = reply(200, "text/plain; charset=ISO-8859-1", b"caf\xe9".to_vec());
            response
                .extensions_mut()
                .insert(hyper::ext::ReasonPhrase::from_static(b"Everything Fine"));
            response
        }
        _ => reply(404, "text/plain", b"no such upstream path".to_vec()),
    };
    Ok(response)
}
