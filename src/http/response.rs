//! The response a script builds: status, headers and a buffer, committed
//! (head sent) at the first flush, streamed after that. Plain data; the
//! `http/v4/response` module drives it. At most `buffer_limit` bytes wait
//! in the buffer (past it, the response commits, as a servlet's does when
//! its buffer fills) and at most as many in the pipe to the client.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{HeaderMap, StatusCode};

use super::response_body::{Cut, Pipe, ResponseBody};

pub const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Where the start of a response waits for the connection to take it.
pub type Started = Rc<Cell<Option<Start>>>;

/// The start of a response, handed to hyper once.
pub struct Start {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: ResponseBody,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HeaderError {
    #[error("invalid header name {0:?}")]
    Name(String),
    #[error("invalid value for header {0}: CR, LF and control characters are not allowed")]
    Value(String),
}

/// What the buffer starts with at the first output.
const FIRST_BUFFER: usize = 1024;

pub struct ResponseState {
    status: u16,
    headers: HeaderMap,
    buffer: BytesMut,
    head_only: bool,
    started: Started,
    /// To the connection, once committed.
    stream: Option<Rc<Pipe>>,
    /// Bytes the buffer, and the pipe, may hold (`--response-buffer`).
    buffer_limit: usize,
    committed: bool,
    closed: bool,
    declared_length: Option<u64>,
    sent: u64,
}

/// What the request's session adds to its response.
#[derive(Default)]
pub struct SessionHeaders {
    /// The session cookie to set or clear.
    pub set_cookie: Option<String>,
    /// The request has or touched a session: `Cache-Control: no-store`.
    pub private: bool,
}

impl ResponseState {
    pub fn new(started: Started, head_only: bool, buffer_limit: usize) -> Self {
        ResponseState {
            status: 200,
            headers: HeaderMap::new(),
            buffer: BytesMut::new(),
            head_only,
            started,
            stream: None,
            buffer_limit,
            committed: false,
            closed: false,
            declared_length: None,
            sent: 0,
        }
    }

    pub fn is_committed(&self) -> bool {
        self.committed
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// More is buffered than the buffer may hold: time to flush.
    pub fn is_full(&self) -> bool {
        self.buffer.len() > self.buffer_limit
    }

    /// Resolves when the pipe to the client has room again; `None` when it
    /// has room now. Check `client_gone` after.
    pub fn room(&self) -> Option<impl Future<Output = ()> + 'static> {
        let pipe = self.stream.as_ref()?;
        (pipe.queued() > self.buffer_limit).then(|| pipe.clone().room(self.buffer_limit))
    }

    /// The connection dropped the response (its client went away).
    pub fn client_gone(&self) -> bool {
        self.stream.as_ref().is_some_and(|pipe| pipe.is_gone())
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    /// Ignored (with a warning) after commit, as in servlets.
    pub fn set_status(&mut self, status: u16) {
        if self.warn_if_committed("setStatus") {
            self.status = status;
        }
    }

    pub fn append(&mut self, bytes: &[u8]) {
        if self.closed {
            tracing::warn!("write after close() ignored");
            return;
        }
        if self.buffer.capacity() == 0 {
            // One allocation for the usual small body, not one per print.
            self.buffer.reserve(bytes.len().max(FIRST_BUFFER));
        }
        self.buffer.extend_from_slice(bytes);
    }

    pub fn set_header(&mut self, name: &str, value: &str, append: bool) -> Result<(), HeaderError> {
        let (name, value) = header_pair(name, value)?;
        if !self.warn_if_committed("setHeader") {
            return Ok(());
        }
        if name == header::CONTENT_LENGTH {
            self.declared_length = value.to_str().ok().and_then(|v| v.trim().parse().ok());
        }
        if append {
            self.headers.append(name, value);
        } else {
            self.headers.insert(name, value);
        }
        Ok(())
    }

    /// Sets the Content-Type blimp itself chose (nothing to validate).
    pub fn set_known_content_type(&mut self, kind: &'static str) {
        if self.warn_if_committed("setHeader") {
            self.headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        }
    }

    pub fn remove_header(&mut self, name: &str) {
        if self.warn_if_committed("setHeader") {
            self.headers.remove(name);
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    pub fn header_names(&self) -> Vec<String> {
        self.headers
            .keys()
            .map(|k| k.as_str().to_string())
            .collect()
    }

    /// Clears buffer, status and headers; an error once committed.
    pub fn reset(&mut self) -> Result<(), &'static str> {
        if self.committed {
            return Err("cannot reset() a response that is already committed");
        }
        self.status = 200;
        self.headers.clear();
        self.buffer.clear();
        self.declared_length = None;
        Ok(())
    }

    /// Discards what is buffered (sendError, sendRedirect).
    pub fn discard_buffer(&mut self) {
        self.buffer.clear();
    }

    /// Sends status and headers now, with the session's and the defaults;
    /// later output streams.
    pub fn commit(&mut self, session: SessionHeaders) {
        if self.committed {
            return;
        }
        let (pipe, body) = Pipe::new();
        self.stream = Some(pipe);
        let headers = self.final_headers(session);
        // The script runs on and may still read the headers it set.
        self.headers = headers.clone();
        self.send_start(headers, body);
    }

    /// Sends what is buffered (committing first if needed: see `commit`).
    pub fn flush(&mut self) {
        if self.closed {
            return;
        }
        let chunk = self.buffer.split().freeze();
        self.sent += chunk.len() as u64;
        if let Some(stream) = &self.stream {
            if !chunk.is_empty() && !self.head_only {
                stream.send(Ok(chunk));
            }
        }
    }

    /// Ends the response for the client. Before commit, the whole body goes
    /// out at once with a Content-Length.
    pub fn close(&mut self, session: SessionHeaders) {
        if self.closed {
            return;
        }
        if !self.committed {
            let body = self.buffer.split().freeze();
            self.sent = body.len() as u64;
            let mut headers = self.final_headers(session);
            let body = if self.length_mismatch() {
                let (pipe, stream) = Pipe::new();
                pipe.send(Ok(body));
                pipe.send(Err(Cut));
                stream
            } else {
                // hyper sets Content-Length from a whole body; a HEAD
                // response has none, so it gets the length it would have.
                if self.head_only && !headers.contains_key(header::CONTENT_LENGTH) {
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
                }
                ResponseBody::Full((!self.head_only && !body.is_empty()).then_some(body))
            };
            self.send_start(headers, body);
        } else {
            self.flush();
            if self.length_mismatch() {
                self.cut();
            }
        }
        if let Some(stream) = self.stream.take() {
            stream.end();
        }
        self.closed = true;
    }

    /// Resolves once the connection has taken every flushed chunk (or 2 s
    /// passed): a `cut` after it still lets the client get all of them.
    pub fn drained(&self) -> impl Future<Output = ()> + 'static {
        let pipe = self.stream.clone();
        async move {
            if let Some(pipe) = pipe {
                let drained = pipe.room(0);
                let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drained).await;
            }
            tokio::task::yield_now().await;
        }
    }

    /// Ends a committed response abruptly: the client sees it incomplete.
    pub fn cut(&mut self) {
        if let Some(stream) = self.stream.take() {
            stream.send(Err(Cut));
        }
        self.closed = true;
    }

    /// Replaces an uncommitted response with a complete error response.
    pub fn replace(
        &mut self,
        status: StatusCode,
        content_type: &str,
        body: String,
        extra: &[(HeaderName, HeaderValue)],
    ) {
        if self.committed {
            self.cut();
            return;
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("static content type"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        for (name, value) in extra {
            headers.insert(name.clone(), value.clone());
        }
        self.sent = body.len() as u64;
        let body = (!self.head_only && !body.is_empty()).then(|| Bytes::from(body));
        self.status = status.as_u16();
        self.send_start(headers, ResponseBody::Full(body));
        self.closed = true;
    }

    fn length_mismatch(&self) -> bool {
        match self.declared_length {
            Some(declared) if declared != self.sent && !self.head_only => {
                tracing::error!(
                    declared,
                    sent = self.sent,
                    "body length does not match setContentLength: connection closed"
                );
                true
            }
            _ => false,
        }
    }

    fn final_headers(&mut self, session: SessionHeaders) -> HeaderMap {
        let mut headers = std::mem::take(&mut self.headers);
        if !headers.contains_key(header::CONTENT_TYPE) {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(DEFAULT_CONTENT_TYPE),
            );
        }
        let cookie = session.set_cookie.as_deref();
        if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(c).ok()) {
            headers.append(header::SET_COOKIE, cookie);
        }
        // A page of a session is that user's: no cache keeps it (the Back
        // button after logout included), unless the script decided.
        if (session.private || cookie.is_some()) && !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        headers
    }

    fn send_start(&mut self, headers: HeaderMap, body: ResponseBody) {
        self.committed = true;
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.started.set(Some(Start {
            status,
            headers,
            body,
        }));
    }

    fn warn_if_committed(&self, what: &str) -> bool {
        if self.committed {
            tracing::warn!("{what} after the response was committed is ignored");
        }
        !self.committed
    }
}

/// Validates a header a script wants to set: no injection through names or values.
pub fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), HeaderError> {
    let header_name =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| HeaderError::Name(name.to_string()))?;
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(HeaderError::Value(name.to_string()));
    }
    let header_value = HeaderValue::from_bytes(value.as_bytes())
        .map_err(|_| HeaderError::Value(name.to_string()))?;
    Ok((header_name, header_value))
}
