//! A request as plain data, handed from the HTTP layer to a worker's engine.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use hyper::{HeaderMap, Method};

use super::request_body::RequestBody;
use crate::scripts::router::Route;
use crate::scripts::watch::Moment;

pub struct RequestData {
    pub method: Method,
    /// Path and query as sent, still percent-encoded.
    pub uri: hyper::Uri,
    pub version: &'static str,
    pub headers: HeaderMap,
    pub body: RequestBody,
    pub route: Rc<Route>,
    /// The scripts folder as it was when the request was routed.
    pub tree: Moment,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// `https` as the client sees it (X-Forwarded-Proto only with --trust-proxy).
    pub scheme: &'static str,
    /// The client as X-Forwarded-For names it (only with --trust-proxy).
    pub forwarded_for: Option<String>,
    /// When the request arrived (for the access log).
    pub received: Instant,
}

impl RequestData {
    /// The path as sent, still percent-encoded.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The client address: X-Forwarded-For's first entry when trusted, else the peer.
    pub fn remote(&self) -> String {
        self.forwarded_for
            .clone()
            .unwrap_or_else(|| self.peer.ip().to_string())
    }

    pub fn is_secure(&self) -> bool {
        self.scheme == "https"
    }

    /// Host and port the client addressed, from Host, else the socket.
    pub fn server_name_port(&self) -> (String, u16) {
        let Some(host) = self.header("host") else {
            return (self.local.ip().to_string(), self.local.port());
        };
        let (name, port) = match host.strip_prefix('[') {
            Some(rest) => match rest.split_once(']') {
                Some((ip, tail)) => (format!("[{ip}]"), tail.strip_prefix(':')),
                None => (host.to_string(), None),
            },
            None => match host.rsplit_once(':') {
                Some((name, port)) => (name.to_string(), Some(port)),
                None => (host.to_string(), None),
            },
        };
        let default_port = if self.is_secure() { 443 } else { 80 };
        (
            name,
            port.and_then(|p| p.parse().ok()).unwrap_or(default_port),
        )
    }
}
