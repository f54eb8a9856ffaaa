//! Connection timeouts. The header timeout, for a request's headers and
//! for an idle keep-alive connection alike: a connection that is not in the
//! middle of a request (from its headers to the end of its response) for
//! `--header-timeout` is closed. hyper's own `header_read_timeout` arms a
//! timer for every request, about 700 instructions of the 21,000 a `hello`
//! request costs; here a request only flips a flag, and one sweep per
//! worker thread every half second finds the connections idle for too
//! long. The send timeout the same way: a connection whose client has
//! taken nothing of its response for `--send-timeout` is closed.

use std::cell::{Cell, RefCell};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How often a worker looks for connections idle for too long.
const SWEEP: Duration = Duration::from_millis(500);

/// The connections of one worker thread.
pub struct Idle {
    /// Sweeps so far: the clock connections are timed by.
    sweeps: Cell<u32>,
    /// Sweeps a connection may stay idle.
    allowed: u32,
    /// Sweeps a write may wait for the client.
    send_allowed: u32,
    connections: RefCell<slab::Slab<Rc<Connection>>>,
}

/// One connection's state, shared by its task and the sweep.
pub struct Connection {
    /// Requests in progress (headers received, response not yet done).
    busy: Cell<u32>,
    /// The sweep count when it last became idle.
    idle_since: Cell<u32>,
    /// The sweep count when a write found the client's window full, until
    /// the client takes more.
    blocked_since: Cell<Option<u32>>,
    abort: RefCell<Option<tokio::task::AbortHandle>>,
}

/// A request in progress on a connection; the connection is idle again
/// when it is dropped (its response is done).
pub struct Busy(Rc<Connection>, Rc<Idle>);

impl Drop for Busy {
    fn drop(&mut self) {
        let connection = &self.0;
        connection.busy.set(connection.busy.get() - 1);
        connection.idle_since.set(self.1.sweeps.get());
    }
}

impl Idle {
    pub fn new(timeout: Duration, send_timeout: Duration) -> Rc<Idle> {
        let sweeps = |time: Duration| (time.as_millis() / SWEEP.as_millis()).max(1) as u32;
        Rc::new(Idle {
            sweeps: Cell::new(0),
            allowed: sweeps(timeout),
            send_allowed: sweeps(send_timeout),
            connections: RefCell::default(),
        })
    }

    /// A new connection, idle from now; `forget` it when it ends.
    pub fn open(self: &Rc<Self>) -> (usize, Rc<Connection>) {
        let connection = Rc::new(Connection {
            busy: Cell::new(0),
            idle_since: Cell::new(self.sweeps.get()),
            blocked_since: Cell::new(None),
            abort: RefCell::new(None),
        });
        let key = self.connections.borrow_mut().insert(connection.clone());
        (key, connection)
    }

    pub fn forget(&self, key: usize) {
        self.connections.borrow_mut().try_remove(key);
    }

    /// `stream`, its writes timed for the send timeout.
    pub fn watch_writes<S>(self: &Rc<Self>, stream: S, connection: &Rc<Connection>) -> Writes<S> {
        Writes {
            stream,
            connection: connection.clone(),
            idle: self.clone(),
        }
    }

    pub fn busy(self: &Rc<Self>, connection: &Rc<Connection>) -> Busy {
        connection.busy.set(connection.busy.get() + 1);
        Busy(connection.clone(), self.clone())
    }

    /// Sweeps until the worker stops: closes connections idle too long.
    pub async fn sweep(self: Rc<Self>) {
        let mut every = tokio::time::interval(SWEEP);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now = self.sweeps.get().wrapping_add(1);
            self.sweeps.set(now);
            for (_, connection) in self.connections.borrow().iter() {
                let idle_for = now.wrapping_sub(connection.idle_since.get());
                let blocked_for = connection
                    .blocked_since
                    .get()
                    .map_or(0, |since| now.wrapping_sub(since));
                if (connection.busy.get() == 0 && idle_for > self.allowed)
                    || blocked_for > self.send_allowed
                {
                    if let Some(abort) = connection.abort.borrow_mut().take() {
                        abort.abort();
                    }
                }
            }
        }
    }
}

impl Connection {
    /// How the sweep closes it: by aborting its task.
    pub fn closed_by(&self, abort: tokio::task::AbortHandle) {
        *self.abort.borrow_mut() = Some(abort);
    }
}

/// A connection's stream whose writes note when the client stops taking
/// them, for the sweep.
pub struct Writes<S> {
    stream: S,
    connection: Rc<Connection>,
    idle: Rc<Idle>,
}

impl<S> Writes<S> {
    fn note<T>(&self, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        let blocked = &self.connection.blocked_since;
        match &poll {
            Poll::Pending if blocked.get().is_none() => blocked.set(Some(self.idle.sweeps.get())),
            Poll::Ready(_) => blocked.set(None),
            Poll::Pending => {}
        }
        poll
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Writes<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Writes<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.note(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.note(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
