//! The one way out: every response, errors included, leaves through an
//! `Exit`, which adds the default headers and writes the access-log line
//! once the body is done (with the bytes that actually left).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::{HeaderValue, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use hyper::{HeaderMap, Method, Response, StatusCode};

use crate::http::response::Start;
use crate::http::response_body::{Cut, ResponseBody};

pub type HttpResponse = Response<LoggedBody>;

/// What the access log says of a request.
struct Record {
    method: Method,
    path: String,
    began: Instant,
}

impl Record {
    fn new(method: &Method, path: &str, began: Instant) -> Self {
        Record {
            method: method.clone(),
            path: path.to_string(),
            began,
        }
    }
}

/// A request hyper could not parse, which it answered itself (400, 414,
/// 431, with no body) before any of ours saw it: logged and counted like
/// the others, with `-` for what was never read.
pub fn refused_unparsed(status: StatusCode) {
    if let Some(metrics) = crate::metrics::get() {
        metrics.refused(status.as_u16());
    }
    if tracing::enabled!(target: "access", tracing::Level::INFO) {
        crate::access_log::line(format_args!("- - {} 0 -", status.as_u16()));
    }
}

/// A request on its way to its one response.
pub struct Exit {
    /// None when the access log is off (its path is then never copied).
    /// Boxed here and below: hyper moves a response several times.
    record: Option<Box<Record>>,
    /// What answered, for the metrics (when they are on).
    meter: Option<Box<Meter>>,
}

impl Exit {
    pub fn new(method: &Method, path: &str, began: Instant) -> Self {
        let logged = tracing::enabled!(target: "access", tracing::Level::INFO);
        let meter = crate::metrics::get().map(|metrics| {
            metrics.in_flight.inc();
            Box::new(Meter {
                began,
                script: "none".to_string(),
            })
        });
        Exit {
            record: logged.then(|| Box::new(Record::new(method, path, began))),
            meter,
        }
    }

    /// Names what answers the request: a script's path, or `static`.
    pub fn answered_by(&mut self, script: &str) {
        if let Some(meter) = &mut self.meter {
            meter.script = script.to_string();
        }
    }

    /// The response a script (or the finish) started.
    pub fn respond(self, start: Start) -> HttpResponse {
        let mut response = Response::new(LoggedBody {
            inner: start.body,
            record: self.record,
            meter: self.meter,
            status: start.status,
            sent: 0,
        });
        *response.status_mut() = start.status;
        *response.headers_mut() = start.headers;
        // No content sniffing: a text/plain stream renders as it comes,
        // and a script's text is never taken for HTML.
        response
            .headers_mut()
            .insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        response
    }

    /// An error blimp answers itself: JSON, or a page for a browser (as
    /// the request's `headers` tell; read only when there is an error).
    pub fn error(self, status: StatusCode, message: &str, headers: &HeaderMap) -> HttpResponse {
        let html = super::error_page::wants_html(headers);
        let (kind, body) = super::error_page::render(status, message, None, html);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
        self.respond(Start {
            status,
            headers,
            body: ResponseBody::Full(Some(Bytes::from(body))),
        })
    }

    /// The server has no room for the request: 503 with Retry-After.
    pub fn saturated(self, headers: &HeaderMap) -> HttpResponse {
        let mut response = self.error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server saturated, retry shortly",
            headers,
        );
        response.headers_mut().extend(super::retry_after());
        response
    }
}

/// A response body that writes the access-log line when it is done or
/// dropped, with the bytes hyper took from it.
pub struct LoggedBody {
    inner: ResponseBody,
    record: Option<Box<Record>>,
    meter: Option<Box<Meter>>,
    status: StatusCode,
    sent: u64,
}

impl Body for LoggedBody {
    type Data = Bytes;
    type Error = Cut;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Cut>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.sent += data.len() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request as the metrics count it.
struct Meter {
    began: Instant,
    script: String,
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let (Some(meter), Some(metrics)) = (self.meter.take(), crate::metrics::get()) {
            metrics.in_flight.dec();
            let took = meter.began.elapsed();
            metrics.answered(self.status.as_u16(), &meter.script, took);
        }
        if let Some(record) = self.record.take() {
            crate::access_log::line(format_args!(
                "{} {} {} {} {:.3}ms",
                record.method,
                crate::log_line::escape(&record.path),
                self.status.as_u16(),
                self.sent,
                record.began.elapsed().as_secs_f64() * 1000.0
            ));
        }
    }
}
