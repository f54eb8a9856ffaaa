//! blimp: drop `.js` service scripts into a folder, start one binary, and
//! each HTTP request runs its script in an embedded JavaScript engine.

pub mod config;
pub mod engine;
pub mod modules;
pub mod server;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

pub use config::Config;
pub use server::{Server, StartError};
use session::store::{memory::MemoryStore, SharedStore};
use session::{SessionSettings, Sessions};

/// How often expired sessions are swept.
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
pub fn open_sessions(config: &Config, runtime: &tokio::runtime::Runtime) -> Result<Arc<Sessions>, StartError> {
    let settings = SessionSettings::from_config(config);
    let spec = config.session_store.as_str();
    let store: SharedStore = match spec {
        "memory" => Arc::new(MemoryStore::new(config.session_max_count, settings.expiry)),
        other => return Err(StartError::Sessions(format!("unknown session store {other:?}: use memory, sqlite:PATH or redis://HOST:PORT"))),
    };
    let sessions = Sessions::new(store, settings, runtime.handle().clone());
    sessions.start_sweeper(SWEEP_EVERY);
    Ok(sessions)
}
