//! The body hyper sends: a whole buffer when the script ended before
//! flushing (with Content-Length), or a stream of flushed chunks through a
//! `Pipe` that counts the bytes still queued, so a script whose client does
//! not read waits instead of piling output up.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// A body cut short: hyper closes the connection instead of ending the
/// response cleanly, so the client can tell it is incomplete.
#[derive(Debug, thiserror::Error)]
#[error("response cut short")]
pub struct Cut;

pub enum ResponseBody {
    Full(Option<Bytes>),
    Stream(Reader),
    /// A static file, read as the connection takes it.
    File(Box<hyper_staticfile::Body>),
}

impl ResponseBody {
    pub fn empty() -> Self {
        ResponseBody::Full(None)
    }
}

/// Chunks on their way from a script to its connection.
#[derive(Default)]
pub struct Pipe {
    chunks: RefCell<VecDeque<Result<Bytes, Cut>>>,
    /// Bytes sent and not yet taken by the connection.
    queued: Cell<usize>,
    /// The writer is done: no more chunks.
    ended: Cell<bool>,
    /// The connection dropped the body (its client went away).
    gone: Cell<bool>,
    /// The connection, waiting for a chunk.
    reader: RefCell<Option<Waker>>,
    /// Writers waiting for the queue to drain.
    drained: tokio::sync::Notify,
}

impl Pipe {
    /// A pipe and the body that reads it.
    pub fn new() -> (Rc<Pipe>, ResponseBody) {
        let pipe = Rc::new(Pipe::default());
        (pipe.clone(), ResponseBody::Stream(Reader(pipe)))
    }

    pub fn send(&self, chunk: Result<Bytes, Cut>) {
        if self.gone.get() || self.ended.get() {
            return;
        }
        if let Ok(bytes) = &chunk {
            self.queued.set(self.queued.get() + bytes.len());
        }
        let cut = chunk.is_err();
        self.chunks.borrow_mut().push_back(chunk);
        if cut {
            self.ended.set(true);
        }
        self.wake_reader();
    }

    pub fn end(&self) {
        self.ended.set(true);
        self.wake_reader();
    }

    pub fn queued(&self) -> usize {
        self.queued.get()
    }

    pub fn is_gone(&self) -> bool {
        self.gone.get()
    }

    /// Resolves once at most `limit` bytes are queued, or the client is gone.
    pub async fn room(self: Rc<Self>, limit: usize) {
        loop {
            let drained = self.drained.notified();
            if self.queued.get() <= limit || self.gone.get() {
                return;
            }
            drained.await;
        }
    }

    fn wake_reader(&self) {
        if let Some(waker) = self.reader.borrow_mut().take() {
            waker.wake();
        }
    }
}

/// The connection's end of a pipe.
pub struct Reader(Rc<Pipe>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.gone.set(true);
        self.0.chunks.borrow_mut().clear();
        self.0.queued.set(0);
        self.0.drained.notify_waiters();
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
            ResponseBody::Stream(Reader(pipe)) => {
                let next = pipe.chunks.borrow_mut().pop_front();
                match next {
                    Some(chunk) => {
                        if let Ok(bytes) = &chunk {
                            pipe.queued.set(pipe.queued.get() - bytes.len());
                            pipe.drained.notify_waiters();
                        }
                        Poll::Ready(Some(chunk.map(Frame::data)))
                    }
                    None if pipe.ended.get() => Poll::Ready(None),
                    None => {
                        *pipe.reader.borrow_mut() = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            }
            ResponseBody::File(file) => match Pin::new(file.as_mut()).poll_frame(cx) {
                Poll::Ready(Some(Err(err))) => {
                    tracing::warn!("static file read failed: {err}");
                    Poll::Ready(Some(Err(Cut)))
                }
                polled => polled.map_err(|_| Cut),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Full(bytes) => bytes.is_none(),
            ResponseBody::File(file) => file.is_end_stream(),
            ResponseBody::Stream(..) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            ResponseBody::Stream(..) => SizeHint::default(),
            ResponseBody::File(file) => file.size_hint(),
        }
    }
}
