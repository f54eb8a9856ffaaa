//! A request body, read when the script first asks for it (`getText`, a
//! form's `getParameter`…): a script that never reads its body never holds
//! it. (A script seen asking once has its bodies read before it runs.) Every body byte held in memory is counted against one bound for the
//! whole server; a body that does not fit waits briefly for room, then the
//! request gets 503; one that stalls gets 408.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a body waits for room under `--max-body-memory`.
const ROOM_WAIT: Duration = Duration::from_secs(1);

/// Body bytes the semaphore counts per permit (it counts in kibibytes).
const UNIT: u64 = 1024;

/// The bounds every body is read under.
#[derive(Debug, Clone)]
pub struct BodyLimits {
    /// Largest body (`--max-body`).
    pub max: u64,
    /// Longest wait for the next bytes of a body (`--body-timeout`).
    pub timeout: Duration,
    /// Slowest average after the first `timeout`, bytes a second
    /// (`--body-min-rate`; 0: none).
    pub min_rate: u64,
    /// Room for the body bytes of all requests together (`--max-body-memory`).
    pub memory: Arc<Semaphore>,
    /// Its size in bytes, for messages.
    pub memory_bytes: u64,
}

impl BodyLimits {
    pub fn new(max: u64, timeout: Duration, min_rate: u64, memory: u64) -> Self {
        let permits = (memory / UNIT).min(Semaphore::MAX_PERMITS as u64) as usize;
        BodyLimits {
            max,
            timeout,
            min_rate,
            memory: Arc::new(Semaphore::new(permits)),
            memory_bytes: memory,
        }
    }
}

/// Why a body could not be read: the status the request then ends with.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BodyError {
    pub status: StatusCode,
    pub message: String,
}

pub enum RequestBody {
    Unread {
        incoming: Incoming,
        limits: BodyLimits,
        /// From Content-Length, when the client said.
        declared: Option<u64>,
        /// Set when the body is first asked for.
        wanted: Rc<Cell<bool>>,
    },
    /// Being read by a script right now.
    Reading,
    /// Read; the permit keeps its bytes counted until the request ends.
    Read(Bytes, Option<OwnedSemaphorePermit>),
    Failed(BodyError),
}

impl RequestBody {
    /// The body as read, or `None` while it was never asked for.
    pub fn bytes(&self) -> Option<Result<Bytes, BodyError>> {
        match self {
            RequestBody::Read(bytes, _) => Some(Ok(bytes.clone())),
            RequestBody::Failed(error) => Some(Err(error.clone())),
            RequestBody::Unread { .. } | RequestBody::Reading => None,
        }
    }

    /// What reads the body when it is not read yet: await it, then hand the
    /// result to `finish`.
    pub fn start(&mut self) -> Option<impl std::future::Future<Output = Self> + 'static> {
        if !matches!(self, RequestBody::Unread { .. }) {
            return None;
        }
        let RequestBody::Unread {
            incoming,
            limits,
            declared,
            wanted,
        } = std::mem::replace(self, RequestBody::Reading)
        else {
            unreachable!("checked above")
        };
        wanted.set(true);
        Some(read(incoming, limits, declared))
    }

    pub fn finish(&mut self, read: RequestBody) {
        *self = read;
    }
}

async fn read(mut incoming: Incoming, limits: BodyLimits, declared: Option<u64>) -> RequestBody {
    let too_large = || BodyError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("request body larger than {} bytes (--max-body)", limits.max),
    };
    let no_room = || {
        BodyError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: format!(
            "server busy: request bodies fill the {} MiB they may hold (--max-body-memory); retry shortly",
            limits.memory_bytes >> 20
        ),
    }
    };
    if declared.is_some_and(|n| n > limits.max) {
        return RequestBody::Failed(too_large());
    }
    // Room for what the client declared up front; for the rest as it comes.
    let mut permit = match room(&limits, declared.unwrap_or(0)).await {
        Some(permit) => permit,
        None => return RequestBody::Failed(no_room()),
    };
    let mut held = units(declared.unwrap_or(0));
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
    let started = tokio::time::Instant::now();
    loop {
        // The next bytes within the timeout, and the whole body no slower
        // on average than the minimum rate once the first timeout is over.
        let mut wait = limits.timeout;
        let mut slow = false;
        if limits.min_rate > 0 {
            let allowed = limits.timeout.as_secs_f64() + body.len() as f64 / limits.min_rate as f64;
            let left = Duration::from_secs_f64(allowed).saturating_sub(started.elapsed());
            slow = left < wait;
            wait = wait.min(left);
        }
        let frame = match tokio::time::timeout(wait, incoming.frame()).await {
            Err(_) => {
                let message = if slow {
                    format!(
                        "the request body came slower than {} bytes a second (--body-min-rate)",
                        limits.min_rate
                    )
                } else {
                    format!(
                        "the request body stalled for {:?} (--body-timeout)",
                        limits.timeout
                    )
                };
                return RequestBody::Failed(BodyError {
                    status: StatusCode::REQUEST_TIMEOUT,
                    message,
                });
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                return RequestBody::Failed(BodyError {
                    status: StatusCode::BAD_REQUEST,
                    message: "could not read the request body".to_string(),
                })
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let total = body.len() as u64 + data.len() as u64;
        if total > limits.max {
            return RequestBody::Failed(too_large());
        }
        if units(total) > held {
            match room(&limits, total - held * UNIT).await {
                Some(more) => {
                    held += more.num_permits() as u64;
                    permit.merge(more);
                }
                None => return RequestBody::Failed(no_room()),
            }
        }
        body.extend_from_slice(&data);
    }
    RequestBody::Read(body.freeze(), Some(permit))
}

fn units(bytes: u64) -> u64 {
    bytes.div_ceil(UNIT)
}

/// Permits for `bytes` more body bytes, waiting briefly for them.
async fn room(limits: &BodyLimits, bytes: u64) -> Option<OwnedSemaphorePermit> {
    let wanted = units(bytes).max(1).min(u32::MAX as u64) as u32;
    let acquire = limits.memory.clone().acquire_many_owned(wanted);
    tokio::time::timeout(ROOM_WAIT, acquire).await.ok()?.ok()
}
