//! The body hyper sends: a whole buffer when the script ended before
//! flushing (with Content-Length), or a stream of flushed chunks.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc::UnboundedReceiver;

/// A body cut short: hyper closes the connection instead of ending the
/// response cleanly, so the client can tell it is incomplete.
#[derive(Debug, thiserror::Error)]
#[error("response cut short")]
pub struct Cut;

pub enum ResponseBody {
    Full(Option<Bytes>),
    /// Chunks, and how many of them are still queued (shared with the sender).
    Stream(UnboundedReceiver<Result<Bytes, Cut>>, Arc<AtomicUsize>),
}

impl ResponseBody {
    pub fn empty() -> Self {
        ResponseBody::Full(None)
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Cut;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Cut>>> {
        match self.get_mut() {
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Stream(rx, queued) => rx.poll_recv(cx).map(|item| {
                queued.fetch_sub(item.is_some() as usize, Ordering::Relaxed);
                item.map(|r| r.map(Frame::data))
            }),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            ResponseBody::Stream(..) => SizeHint::default(),
        }
    }
}
