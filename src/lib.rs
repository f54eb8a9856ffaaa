//! blimp: drop `.js` service scripts into a folder, start one binary, and
//! each HTTP request runs its script in an embedded JavaScript engine.

pub mod access_log;
pub mod auth;
pub mod config;
pub mod db;
pub mod engine;
pub mod exchange;
pub mod fiber;
pub mod http;
pub mod log_line;
pub mod metrics;
pub mod modules;
pub mod outbound;
pub mod scripts;
pub mod server;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

pub use config::Config;
pub use server::{Server, StartError};
use session::store::{memory::MemoryStore, redis, sqlite, SharedStore};
use session::{SessionSettings, Sessions};

/// How often expired sessions are swept, at most (see `sweep_every`).
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// The runtime for session store work (connections, sweeper, signals).
pub fn store_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("blimp-sessions")
        .enable_all()
        .build()
        .expect("session runtime")
}

/// Opens the store `--session-store` names.
pub fn open_sessions(
    config: &Config,
    runtime: &tokio::runtime::Runtime,
) -> Result<Arc<Sessions>, StartError> {
    let settings = SessionSettings::from_config(config);
    let spec = config.session_store.as_str();
    let lock_ttl = session::LOCK_LEASE;
    let store: SharedStore = match spec {
        "memory" => Arc::new(MemoryStore::new(
            config.session_max_count,
            config.session_memory as usize,
            settings.expiry,
        )),
        _ if spec.starts_with("sqlite:") => {
            let path = &spec["sqlite:".len()..];
            let store = sqlite::open(path, settings.expiry, lock_ttl, runtime.handle().clone());
            Arc::new(store.map_err(StartError::Sessions)?)
        }
        _ if spec.starts_with("redis://")
            || spec.starts_with("rediss://")
            || spec.starts_with("redis+unix://") =>
        {
            let store = redis::open(
                spec,
                &config.session_prefix,
                settings.expiry,
                lock_ttl,
                runtime,
            );
            Arc::new(store.map_err(StartError::Sessions)?)
        }
        other => {
            return Err(StartError::Sessions(format!(
                "unknown session store {other:?}: use memory, sqlite:PATH or redis://HOST:PORT"
            )))
        }
    };
    let sessions = Sessions::new(store, settings, runtime.handle().clone());
    sessions.start_sweeper(sweep_every(config));
    Ok(sessions)
}

/// Opens the scripts' datasources (`--db`); PostgreSQL connections are
/// driven on `runtime`.
pub fn open_datasources(
    config: &Config,
    runtime: &tokio::runtime::Runtime,
) -> Result<Arc<db::Datasources>, StartError> {
    let settings = db::Settings {
        max_rows: config.db_max_rows.max(1),
        max_bytes: config.max_script_memory as usize,
        pool: config.db_pool.max(1),
        ca_file: config.ca_file.clone(),
    };
    db::Datasources::open(&config.db, &config.default_db(), settings, runtime.handle())
        .map(Arc::new)
        .map_err(StartError::Datasource)
}

/// Every 30 s, or as often as the shortest configured lifetime (idle
/// timeout or absolute lifetime) but at most once a second, so a short
/// `--session-idle` gets its dead sessions removed promptly.
fn sweep_every(config: &Config) -> Duration {
    let shortest = [config.session_idle, config.session_max_age]
        .into_iter()
        .filter(|d| !d.is_zero())
        .min();
    shortest.map_or(SWEEP_EVERY, |shortest| {
        SWEEP_EVERY.min(shortest).max(Duration::from_secs(1))
    })
}
