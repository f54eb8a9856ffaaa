//! Every setting of the server, with its default, in one place.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Serve a folder of JavaScript service scripts over HTTP.
#[derive(Debug, Clone, Parser)]
#[command(name = "blimp", version, about, long_about = None)]
pub struct Config {
    /// Folder of .js/.mjs scripts: `/a/b` runs `a/b.js`.
    #[arg(long, default_value = "scripts", value_name = "DIR")]
    pub scripts: PathBuf,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on; 0 picks a free one (the log says which).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// Worker threads, each with its own JavaScript engine [default: CPU cores].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Seconds a script may run before it is stopped with 503.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub timeout: f64,

    /// Largest request body accepted; larger ones get 413.
    #[arg(long, default_value_t = 10 * 1024 * 1024, value_name = "BYTES")]
    pub max_body: u64,

    /// Development mode: error responses include the JavaScript stack.
    #[arg(long)]
    pub dev: bool,

    /// Trust X-Forwarded-For / X-Forwarded-Proto (only behind your own proxy).
    #[arg(long)]
    pub trust_proxy: bool,

    /// Requests in flight per worker before new ones get 503 with Retry-After.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_pending: usize,

    /// Where sessions live: `memory`, `sqlite:PATH` or `redis://HOST:PORT[/DB]`.
    #[arg(long, default_value = "sqlite:blimp-sessions.db", value_name = "STORE")]
    pub session_store: String,

    /// Key prefix of session hashes in Redis.
    #[arg(long, default_value = "blimp:s:", value_name = "PREFIX")]
    pub session_prefix: String,

    /// Name of the session cookie.
    #[arg(long, default_value = "sid", value_name = "NAME")]
    pub session_cookie: String,

    /// Mark the session cookie Secure even on plain HTTP (behind a TLS proxy).
    #[arg(long)]
    pub secure_cookies: bool,

    /// Idle timeout of a session in seconds (`setMaxInactiveInterval` overrides it).
    #[arg(long, default_value_t = 1800, value_name = "SECS")]
    pub session_idle: i64,

    /// Absolute lifetime of a session in seconds.
    #[arg(long, default_value_t = 86400, value_name = "SECS")]
    pub session_max_age: i64,

    /// Seconds a request waits for another request of the same session, then 503.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub session_lock_timeout: f64,

    /// Largest session attribute value, as JSON.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub session_max_value: usize,

    /// Most attributes one session may hold.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub session_max_attributes: usize,

    /// Most live sessions in the memory store; beyond it the least recently used is evicted.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub session_max_count: usize,
}

impl Config {
    pub fn workers(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout.max(0.001))
    }

    pub fn session_lock_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.session_lock_timeout.max(0.001))
    }
}
