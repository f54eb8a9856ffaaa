//! Server-side sessions in plain Rust: ids, cookies, expiry, locking and the
//! stores. Nothing here knows about JavaScript; `modules::session` translates.

pub mod cookie;
pub mod holder;
pub mod id;
pub mod locks;
pub mod request;
pub mod store;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::config::Config;
pub use id::SessionId;
pub use request::RequestSession;
use store::{Expiry, SharedStore, StoreError};

/// How long a lock in a shared store (SQLite, Redis) outlives its holder:
/// the holder renews it every third of this while it holds it, so a lock of
/// a process that died is free again within this.
pub const LOCK_LEASE: Duration = Duration::from_secs(6);

/// Settings every request's session shares.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub cookie_name: String,
    pub secure_cookies: bool,
    pub idle_secs: i64,
    pub expiry: Expiry,
    pub lock_timeout: Duration,
    pub max_value: usize,
    pub max_attributes: usize,
    /// Bytes of names and values one session holds at most.
    pub max_size: usize,
}

impl SessionSettings {
    pub fn from_config(config: &Config) -> Self {
        SessionSettings {
            cookie_name: config.session_cookie.clone(),
            secure_cookies: config.secure_cookies,
            idle_secs: config.session_idle.as_secs() as i64,
            expiry: Expiry {
                max_age_ms: config.session_max_age.as_millis() as i64,
            },
            lock_timeout: config.session_lock_timeout(),
            max_value: config.session_max_value as usize,
            max_size: config.session_max_size as usize,
            max_attributes: config.session_max_attributes,
        }
    }
}

/// Errors a script can cause or meet when it touches a session.
#[derive(Debug, Clone, Error)]
pub enum SessionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("response already committed; touch the session before flush()")]
    Committed,
    #[error("session attribute \"{name}\" is {size} bytes as JSON, above the limit of {limit} (--session-max-value)")]
    ValueTooLarge {
        name: String,
        size: usize,
        limit: usize,
    },
    #[error("a session holds at most {0} attributes (--session-max-attributes)")]
    TooManyAttributes(usize),
    #[error(
        "the session would hold {size} bytes, above the limit of {limit} (--session-max-size)"
    )]
    SessionTooLarge { size: usize, limit: usize },
    #[error("that session no longer exists")]
    Gone,
    #[error("session attribute \"{0}\" is not a number")]
    NotANumber(String),
}

impl SessionError {
    /// True when the fault is the store's, not the script's (answered with 503).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SessionError::Store(_))
    }
}

/// The session service of one server: the store, the settings and a small
/// runtime of its own for store work that must not run on a worker thread.
pub struct Sessions {
    pub store: SharedStore,
    pub settings: SessionSettings,
    runtime: tokio::runtime::Handle,
}

impl Sessions {
    pub fn new(
        store: SharedStore,
        settings: SessionSettings,
        runtime: tokio::runtime::Handle,
    ) -> Arc<Self> {
        Arc::new(Sessions {
            store,
            settings,
            runtime,
        })
    }

    /// Deletes expired sessions every `every`, for as long as the runtime lives.
    pub fn start_sweeper(self: &Arc<Self>, every: Duration) {
        let sessions = Arc::downgrade(self);
        self.runtime.spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(sessions) = sessions.upgrade() else {
                    return;
                };
                let expiry = sessions.settings.expiry;
                match sessions.store.sweep(now_ms(), expiry).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(removed = n, "swept expired sessions"),
                    Err(err) => tracing::warn!("session sweep failed: {err}"),
                }
            }
        });
    }

    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How stale `accessed` may get before a read-only request rewrites it:
/// a tenth of the idle timeout, at most a minute. Reads stay reads.
pub fn touch_interval_ms(idle_secs: i64) -> i64 {
    if idle_secs <= 0 {
        60_000
    } else {
        (idle_secs * 100).min(60_000)
    }
}
