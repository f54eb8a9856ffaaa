//! One request's view of its session. Loaded (and locked) before the script
//! runs when the request carries a session cookie, worked on locally while
//! the script runs, written back in one batch when it ends.

use std::sync::Arc;

use super::store::{Held, Leaving, Meta, SessionLock, StoreError, Stored, Write};
use super::{cookie, now_ms, touch_interval_ms, SessionError, SessionId, Sessions};

type Result<T> = std::result::Result<T, SessionError>;

pub struct RequestSession {
    sessions: Arc<Sessions>,
    incoming: Option<SessionId>,
    secure: bool,
    state: State,
    lock: Option<SessionLock>,
    live: Option<Live>,
    /// Stored sessions invalidated by this request.
    deleted: Vec<SessionId>,
    committed: bool,
    /// Another request's session (`sessions.get`): never created here.
    foreign: bool,
    /// The script touched the session (the engine learns from it).
    pub touched: bool,
}

enum State {
    Pending,
    Ready,
    Failed(StoreError),
}

struct Live {
    id: SessionId,
    /// The id it was loaded under; `None` for a session this request created.
    stored_as: Option<SessionId>,
    meta: Meta,
    attrs: Vec<(String, String)>,
    changed: Vec<String>,
    idle_changed: bool,
}

/// Locks and loads a session, as one unit that can run anywhere.
async fn open(
    sessions: Arc<Sessions>,
    id: SessionId,
) -> std::result::Result<(SessionLock, Option<Stored>), StoreError> {
    sessions
        .store
        .open(id, sessions.settings.lock_timeout)
        .await
}

impl RequestSession {
    pub fn new(sessions: Arc<Sessions>, incoming: Option<SessionId>, secure: bool) -> Self {
        RequestSession {
            sessions,
            incoming,
            secure,
            state: State::Pending,
            lock: None,
            live: None,
            deleted: Vec::new(),
            committed: false,
            foreign: false,
            touched: false,
        }
    }

    /// Another live session, looked up by id, worked on one call at a time.
    pub fn foreign(sessions: Arc<Sessions>, id: SessionId) -> Self {
        let mut session = Self::new(sessions, Some(id), false);
        session.foreign = true;
        session
    }

    /// Runs one reading operation on a foreign session, on the session as
    /// last stored: a read needs no lock (it sees the session as it was
    /// before the request that holds it, if any, like a read that came
    /// first), so it never waits behind another request.
    pub async fn look<T>(
        sessions: &Arc<Sessions>,
        id: SessionId,
        op: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let mut session = Self::foreign(sessions.clone(), id);
        let stored = sessions.store.read(id).await;
        session.found(stored);
        op(&mut session)
    }

    /// Runs one operation on a foreign session as a whole transaction:
    /// lock (waiting like any request of that session), load, change,
    /// write back, unlock.
    pub async fn transact<T>(
        sessions: &Arc<Sessions>,
        id: SessionId,
        op: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let mut session = Self::foreign(sessions.clone(), id);
        session.loaded(open(sessions.clone(), id).await);
        let value = op(&mut session)?;
        session.finish().await?;
        Ok(value)
    }

    /// The id the client sent, if well-formed.
    pub fn incoming(&self) -> Option<SessionId> {
        self.incoming
    }

    /// What locks and loads the session, when the request has one that is
    /// not loaded yet: await it, then hand the result to `loaded`. Every
    /// operation below needs the session loaded first.
    pub fn load(
        &mut self,
    ) -> Option<
        impl std::future::Future<
                Output = std::result::Result<(SessionLock, Option<Stored>), StoreError>,
            > + 'static,
    > {
        self.touched = true;
        match (&self.state, self.incoming) {
            (State::Pending, Some(id)) => Some(open(self.sessions.clone(), id)),
            _ => None,
        }
    }

    pub fn loaded(
        &mut self,
        result: std::result::Result<(SessionLock, Option<Stored>), StoreError>,
    ) {
        let stored = result.map(|(lock, stored)| {
            self.lock = Some(lock);
            stored
        });
        self.found(stored);
    }

    fn found(&mut self, stored: std::result::Result<Option<Stored>, StoreError>) {
        match stored {
            Ok(stored) => {
                let now = now_ms();
                let expiry = self.sessions.settings.expiry;
                self.live = stored
                    .filter(|s| !expiry.is_expired(&s.meta, now))
                    .map(|s| Live {
                        id: self.incoming.expect("loaded without an id"),
                        stored_as: self.incoming,
                        meta: s.meta,
                        attrs: s.attrs,
                        changed: Vec::new(),
                        idle_changed: false,
                    });
                self.state = State::Ready;
            }
            Err(err) => {
                tracing::warn!(
                    "session {}: {err}",
                    self.incoming.map(|i| i.tag()).unwrap_or_default()
                );
                self.state = State::Failed(err);
            }
        }
    }

    fn ready(&mut self) -> Result<()> {
        self.touched = true;
        match (&self.state, self.incoming) {
            (State::Pending, None) => self.state = State::Ready,
            (State::Pending, Some(_)) => {
                debug_assert!(false, "session used before it was loaded");
                self.state = State::Failed(StoreError::Busy);
            }
            _ => {}
        }
        match &self.state {
            State::Failed(err) => Err(err.clone().into()),
            _ => Ok(()),
        }
    }

    fn live_or_create(&mut self) -> Result<&mut Live> {
        self.ready()?;
        if self.live.is_none() {
            if self.foreign {
                return Err(SessionError::Gone);
            }
            if self.committed {
                return Err(SessionError::Committed);
            }
            let now = now_ms();
            let id = SessionId::generate();
            tracing::debug!(session = %id.tag(), "session created");
            self.live = Some(Live {
                id,
                stored_as: None,
                meta: Meta {
                    created: now,
                    accessed: now,
                    idle: self.sessions.settings.idle_secs,
                },
                attrs: Vec::new(),
                changed: Vec::new(),
                idle_changed: false,
            });
        }
        Ok(self.live.as_mut().unwrap())
    }

    pub fn exists(&mut self) -> Result<bool> {
        self.ready()?;
        Ok(self.live.is_some())
    }

    pub fn get(&mut self, name: &str) -> Result<Option<&str>> {
        self.ready()?;
        Ok(self
            .live
            .as_ref()
            .and_then(|l| l.attrs.iter().find(|(k, _)| k == name))
            .map(|(_, v)| v.as_str()))
    }

    pub fn names(&mut self) -> Result<Vec<String>> {
        self.ready()?;
        Ok(self
            .live
            .as_ref()
            .map(|l| l.attrs.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default())
    }

    /// Stores the JSON text of a value.
    pub fn set(&mut self, name: &str, json: String) -> Result<()> {
        let limits = &self.sessions.settings;
        if json.len() > limits.max_value {
            return Err(SessionError::ValueTooLarge {
                name: name.to_string(),
                size: json.len(),
                limit: limits.max_value,
            });
        }
        let (max_attributes, max_size) = (limits.max_attributes, limits.max_size);
        let live = self.live_or_create()?;
        let old = live
            .attrs
            .iter()
            .find(|(k, _)| k == name)
            .map_or(0, |(k, v)| k.len() + v.len());
        let size = live.size() - old + name.len() + json.len();
        if size > max_size {
            return Err(SessionError::SessionTooLarge {
                size,
                limit: max_size,
            });
        }
        match live.attrs.iter().position(|(k, _)| k == name) {
            Some(at) => live.attrs[at].1 = json,
            None if live.attrs.len() >= max_attributes => {
                return Err(SessionError::TooManyAttributes(max_attributes))
            }
            None => live.attrs.push((name.to_string(), json)),
        }
        live.mark(name);
        Ok(())
    }

    pub fn remove(&mut self, name: &str) -> Result<()> {
        self.ready()?;
        if let Some(live) = &mut self.live {
            if let Some(at) = live.attrs.iter().position(|(k, _)| k == name) {
                live.attrs.remove(at);
                live.mark(name);
            }
        }
        Ok(())
    }

    /// Adds `delta` to a numeric attribute (missing counts as 0). Atomic:
    /// the request holds the session's lock.
    pub fn increment(&mut self, name: &str, delta: f64) -> Result<f64> {
        let current = match self.get(name)? {
            None => 0.0,
            Some(json) => json
                .parse::<f64>()
                .map_err(|_| SessionError::NotANumber(name.to_string()))?,
        };
        let next = current + delta;
        self.set(name, number_json(next))?;
        Ok(next)
    }

    pub fn id(&mut self) -> Result<SessionId> {
        Ok(self.live_or_create()?.id)
    }

    /// True when this request created the session, or there is none yet.
    pub fn is_new(&mut self) -> Result<bool> {
        self.ready()?;
        Ok(self.live.as_ref().is_none_or(|l| l.stored_as.is_none()))
    }

    /// Creation and last access (ms), or now when there is no session.
    pub fn times(&mut self) -> Result<(i64, i64)> {
        self.ready()?;
        let now = now_ms();
        Ok(self
            .live
            .as_ref()
            .map_or((now, now), |l| (l.meta.created, l.meta.accessed)))
    }

    pub fn max_inactive(&mut self) -> Result<i64> {
        self.ready()?;
        Ok(self
            .live
            .as_ref()
            .map_or(self.sessions.settings.idle_secs, |l| l.meta.idle))
    }

    pub fn set_max_inactive(&mut self, secs: i64) -> Result<()> {
        let live = self.live_or_create()?;
        live.meta.idle = secs;
        live.idle_changed = true;
        Ok(())
    }

    pub fn invalidate(&mut self) -> Result<()> {
        self.ready()?;
        if let Some(live) = self.live.take() {
            self.deleted.extend(live.stored_as);
            tracing::debug!(session = %live.id.tag(), "session invalidated");
            if self.committed {
                tracing::warn!("session invalidated after the response was committed: the cookie stays on the client (the session is gone)");
            }
        }
        Ok(())
    }

    /// A new id for the same session; the old one stops working.
    pub fn regenerate_id(&mut self) -> Result<SessionId> {
        if self.committed {
            self.ready()?;
            return Err(SessionError::Committed);
        }
        let live = self.live_or_create()?;
        live.id = SessionId::generate();
        Ok(live.id)
    }

    /// Called once when the response commits: the Set-Cookie to send, if
    /// any. Afterwards a new session can no longer reach the client.
    pub fn commit(&mut self) -> Option<String> {
        self.committed = true;
        let settings = &self.sessions.settings;
        let secure = self.secure || settings.secure_cookies;
        match &self.live {
            Some(live) if live.stored_as != Some(live.id) => {
                Some(cookie::issue(&settings.cookie_name, &live.id, secure))
            }
            None if !self.deleted.is_empty() => Some(cookie::clear(&settings.cookie_name, secure)),
            _ => None,
        }
    }

    /// Forgets what the request changed and releases the lock: a failed
    /// request leaves its session as it was.
    pub fn abandon(&mut self) {
        self.live = None;
        self.deleted.clear();
        if let (Some(lock), Some(id)) = (self.lock.take(), self.incoming) {
            let store = self.sessions.store.clone();
            self.sessions
                .runtime()
                .spawn(async move { store.unlock(id, lock).await });
        }
    }

    /// The request came with a session or touched one: its response may
    /// show that user's data.
    pub fn is_private(&self) -> bool {
        self.touched || self.incoming.is_some() || !self.is_untouched()
    }

    /// Nothing loaded, created or deleted: there is nothing to write back.
    pub fn is_untouched(&self) -> bool {
        self.lock.is_none() && self.live.is_none() && self.deleted.is_empty()
    }

    /// Writes what the request changed, in one batch, and releases the lock.
    /// The bookkeeping happens here, on the request's thread; the returned
    /// future may run anywhere.
    pub fn finish(&mut self) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
        let (writes, session) = self.leave();
        let held = self
            .incoming
            .zip(self.lock.take())
            .map(|(id, lock)| Held { id, lock, session });
        let store = self.sessions.store.clone();
        let leaving = Leaving { writes, held };
        async move { store.close(leaving).await.map_err(SessionError::from) }
    }

    /// The writes of this request, and the session under the id it locked
    /// as they leave it (`None`: there is none under that id).
    fn leave(&mut self) -> (Vec<Write>, Option<Stored>) {
        // The deletions, then at most a rename and an update (or a create).
        let mut writes = Vec::with_capacity(self.deleted.len() + 2);
        writes.extend(self.deleted.iter().map(|&id| Write::Delete { id }));
        let Some(mut live) = self.live.take() else {
            return (writes, None);
        };
        let now = now_ms();
        let Some(stored_as) = live.stored_as else {
            let meta = Meta {
                accessed: now,
                ..live.meta
            };
            writes.push(Write::Create {
                id: live.id,
                stored: Stored {
                    meta,
                    attrs: live.attrs,
                },
            });
            return (writes, None);
        };
        let renamed = stored_as != live.id;
        if renamed {
            writes.push(Write::Rename {
                from: stored_as,
                to: live.id,
            });
        }
        let stale = now - live.meta.accessed >= touch_interval_ms(live.meta.idle);
        if renamed || stale || live.idle_changed || !live.changed.is_empty() {
            let (set, remove) = live.changes();
            writes.push(Write::Update {
                id: live.id,
                accessed: Some(now),
                idle: live.idle_changed.then_some(live.meta.idle),
                set,
                remove,
            });
            live.meta.accessed = now;
        }
        let left = (!renamed).then_some(Stored {
            meta: live.meta,
            attrs: live.attrs,
        });
        (writes, left)
    }
}

impl Drop for RequestSession {
    /// A request that ended without `finish` (it failed) still releases its lock.
    fn drop(&mut self) {
        self.abandon();
    }
}

impl Live {
    /// Bytes of its names and values.
    fn size(&self) -> usize {
        self.attrs.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    fn mark(&mut self, name: &str) {
        if !self.changed.iter().any(|n| n == name) {
            self.changed.push(name.to_string());
        }
    }

    fn changes(&self) -> (Vec<(String, String)>, Vec<String>) {
        let mut set = Vec::with_capacity(self.changed.len());
        let mut remove = Vec::new();
        for name in &self.changed {
            match self.attrs.iter().find(|(k, _)| k == name) {
                Some((k, v)) => set.push((k.clone(), v.clone())),
                None => remove.push(name.clone()),
            }
        }
        (set, remove)
    }
}

/// JSON for a number, integral ones without a fraction.
pub fn number_json(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        (n as i64).to_string()
    } else {
        serde_json::Number::from_f64(n).map_or_else(|| "null".into(), |n| n.to_string())
    }
}
