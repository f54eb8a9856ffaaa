//! Requests scripts make to other servers (`fetch`, `http/client`): reqwest
//! (hyper underneath, rustls with Mozilla's roots plus `--ca-file`),
//! `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` from the environment, redirects
//! as browsers follow them, responses no larger than `--fetch-max-response`,
//! and optionally no requests to loopback, private or link-local addresses
//! (`--fetch-deny-private`: scripts that fetch URLs their users give are an
//! SSRF risk). One client per worker thread, each with its own pool.

mod guard;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::{redirect, Certificate, Client, Method};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// The certificates of `--ca-file`, which blimp's connections to other
/// servers (PostgreSQL's too) trust besides the usual roots.
pub fn extra_roots(ca_file: Option<&Path>) -> Result<Vec<CertificateDer<'static>>, String> {
    let Some(path) = ca_file else {
        return Ok(Vec::new());
    };
    let failed = |e: &dyn std::fmt::Display| format!("--ca-file {}: {e}", path.display());
    let certificates = CertificateDer::pem_file_iter(path).map_err(|e| failed(&e))?;
    certificates.map(|c| c.map_err(|e| failed(&e))).collect()
}

/// Redirects followed at most, as browsers do.
const MAX_REDIRECTS: usize = 20;

#[derive(Debug, Clone)]
pub struct Settings {
    /// A PEM file of certificates to trust besides the usual roots.
    pub ca_file: Option<PathBuf>,
    /// Largest response body accepted.
    pub max_response: u64,
    /// Refuse loopback, private and link-local destinations.
    pub deny_private: bool,
}

/// What to do with a 3xx response (fetch's `redirect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Redirects {
    Follow,
    /// Hand the 3xx response back.
    Manual,
    /// A redirect is an error.
    Error,
}

/// One outgoing request.
#[derive(Debug)]
pub struct Call {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    pub redirects: Redirects,
    /// Accept any certificate (Dirigible's `sslTrustAllEnabled`).
    pub trust_all: bool,
}

/// Its answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub status_text: String,
    /// `HTTP/1.1`, `HTTP/2.0`…
    pub version: &'static str,
    /// Where the answer came from, after redirects.
    pub url: String,
    pub redirected: bool,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Why a request failed, in words a script can show.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CallError(String);

/// The client side of one worker thread.
pub struct Outbound {
    settings: Settings,
    roots: Vec<Certificate>,
    clients: RefCell<HashMap<(Redirects, bool), Client>>,
}

impl Outbound {
    /// Reads `--ca-file`; an unreadable file stops the start.
    pub fn new(settings: Settings) -> Result<Self, String> {
        let roots = extra_roots(settings.ca_file.as_deref())?
            .iter()
            .map(|der| Certificate::from_der(der).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        Ok(Outbound {
            settings,
            roots,
            clients: RefCell::default(),
        })
    }

    /// Sends `call` and reads the answer; runs anywhere (the future owns
    /// what it needs).
    pub fn send(&self, call: Call) -> impl Future<Output = Result<Reply, CallError>> + 'static {
        let client = self.client(call.redirects, call.trust_all);
        let settings = self.settings.clone();
        async move { send(client, call, settings).await }
    }

    fn client(&self, redirects: Redirects, trust_all: bool) -> Result<Client, CallError> {
        if let Some(client) = self.clients.borrow().get(&(redirects, trust_all)) {
            return Ok(client.clone());
        }
        let deny_private = self.settings.deny_private;
        let policy = match redirects {
            Redirects::Manual => redirect::Policy::none(),
            Redirects::Follow | Redirects::Error => redirect::Policy::custom(move |attempt| {
                if redirects == Redirects::Error {
                    return attempt.error("redirect with redirect: \"error\"");
                }
                if attempt.previous().len() > MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                if deny_private && guard::names_private(attempt.url()) {
                    return attempt.error("redirect to a private address (--fetch-deny-private)");
                }
                attempt.follow()
            }),
        };
        let mut builder = Client::builder()
            .redirect(policy)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30))
            .danger_accept_invalid_certs(trust_all);
        for root in &self.roots {
            builder = builder.add_root_certificate(root.clone());
        }
        if deny_private {
            builder = builder.dns_resolver(Arc::new(guard::PublicOnly));
        }
        let client = builder
            .build()
            .map_err(|e| CallError(format!("cannot make an HTTP client: {e}")))?;
        self.clients
            .borrow_mut()
            .insert((redirects, trust_all), client.clone());
        Ok(client)
    }
}

async fn send(
    client: Result<Client, CallError>,
    call: Call,
    settings: Settings,
) -> Result<Reply, CallError> {
    let client = client?;
    let url = reqwest::Url::parse(&call.url)
        .map_err(|e| CallError(format!("invalid URL {:?}: {e}", call.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CallError(format!(
            "unsupported URL scheme {:?} (http and https only)",
            url.scheme()
        )));
    }
    if settings.deny_private && guard::names_private(&url) {
        return Err(CallError(format!(
            "{} is a private address (--fetch-deny-private)",
            url.host_str().unwrap_or_default()
        )));
    }
    let mut request = client.request(call.method, url.clone());
    for (name, value) in &call.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = call.body {
        request = request.body(body);
    }
    let mut response = request.send().await.map_err(|e| explain(&e, &url))?;
    let max = settings.max_response;
    if response.content_length().is_some_and(|n| n > max) {
        return Err(too_large(max, &url));
    }
    let status = response.status();
    let version = match response.version() {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_2 => "HTTP/2.0",
        reqwest::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };
    let final_url = response.url().to_string();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| explain(&e, &url))? {
        if body.len() as u64 + chunk.len() as u64 > max {
            return Err(too_large(max, &url));
        }
        body.extend_from_slice(&chunk);
    }
    // What the server said after its code, when it is not the usual phrase.
    let status_text = match response.extensions().get::<hyper::ext::ReasonPhrase>() {
        Some(said) => String::from_utf8_lossy(said.as_bytes()).into_owned(),
        None => status.canonical_reason().unwrap_or("").to_string(),
    };
    Ok(Reply {
        status: status.as_u16(),
        status_text,
        version,
        redirected: final_url != url.as_str(),
        url: final_url,
        headers,
        body: body.freeze(),
    })
}

fn too_large(max: u64, url: &reqwest::Url) -> CallError {
    CallError(format!(
        "the response from {url} is larger than {max} bytes (--fetch-max-response)"
    ))
}

/// A TLS failure in words, with what to do where rustls's own are cryptic.
pub fn explain_tls(cause: &str) -> String {
    if cause.contains("CaUsedAsEndEntity") {
        return format!(
            "{cause}: the server's certificate is a CA certificate (CA:TRUE, what `openssl req -x509` makes by default); \
             make it with `-addext basicConstraints=critical,CA:FALSE`, or sign the server's certificate with a CA of its own"
        );
    }
    cause.to_string()
}

/// The cause of a failed request, named plainly (reqwest's own message
/// often says only "error sending request").
fn explain(error: &reqwest::Error, url: &reqwest::Url) -> CallError {
    let mut causes = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let all = causes.join(": ").to_ascii_lowercase();
    let host = url.host_str().unwrap_or_default();
    // The private-address refusal comes from our resolver: before the
    // lookup failures it is worded like.
    let cause = if all.contains("private address") {
        format!("{host} resolves to a private address (--fetch-deny-private)")
    } else if all.contains("connection refused") {
        format!("connection refused by {host}")
    } else if all.contains("dns error")
        || all.contains("failed to lookup")
        || all.contains("name or service not known")
    {
        format!("unknown host {host}")
    } else if error.is_redirect() {
        causes
            .last()
            .cloned()
            .unwrap_or_else(|| "redirect refused".into())
    } else if error.is_timeout() {
        format!("{host} did not answer in time")
    } else if all.contains("certificate") || all.contains("tls") {
        let last = causes.last().cloned().unwrap_or_default();
        format!("TLS with {host} failed: {}", explain_tls(&last))
    } else {
        causes.last().cloned().unwrap_or_else(|| error.to_string())
    };
    CallError(format!("fetch {url} failed: {cause}"))
}
