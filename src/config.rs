//! Every setting of the server, with its default, in one place. Sizes take
//! units (`10M`, `1G`: powers of 1024), times too (`30s`, `5m`, `500ms`; a
//! bare number is seconds).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;

/// The listening sockets the supervisor gave its server process (fd
/// numbers): a variable between the two, not a setting.
pub const LISTEN_FDS: &str = "BLIMP_LISTEN_FDS";
/// Where the server process tells the supervisor it is ready (an fd number).
pub const READY_FD: &str = "BLIMP_READY_FD";

/// Serve a folder of JavaScript service scripts over HTTP.
#[derive(Debug, Clone, Parser)]
#[command(name = "blimp", version, about, long_about = None)]
pub struct Config {
    /// The scripts folder, as the first argument (`blimp myapp`): the same
    /// as --scripts.
    #[arg(value_name = "DIR")]
    pub folder: Option<PathBuf>,

    /// Folder of .js/.mjs scripts: `/a/b` runs `a/b.js`.
    #[arg(
        long,
        env = "BLIMP_SCRIPTS",
        default_value = "scripts",
        value_name = "DIR"
    )]
    pub scripts: PathBuf,

    /// Folder of files served as they are (browser JavaScript included) at
    /// /<path> and /services/web/<path>; never run [default: public/ in the
    /// scripts folder, when it exists].
    #[arg(long, env = "BLIMP_PUBLIC", value_name = "DIR")]
    pub public: Option<PathBuf>,

    /// Serve Prometheus metrics at /_blimp/metrics (requests by status and
    /// script, latency, in flight, live sessions, store errors).
    #[arg(long, env = "BLIMP_METRICS")]
    pub metrics: bool,

    /// Answer /_blimp/health with 200 while the server serves.
    #[arg(long, env = "BLIMP_HEALTH")]
    pub health: bool,

    /// Address to listen on.
    #[arg(long, env = "BLIMP_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on; 0 picks a free one (the log says which).
    #[arg(long, env = "BLIMP_PORT", default_value_t = 8080)]
    pub port: u16,

    /// Worker threads [default: CPU cores].
    #[arg(long, env = "BLIMP_WORKERS", value_name = "N")]
    pub workers: Option<usize>,

    /// How long a script may run (waiting included) before it is stopped with 503.
    #[arg(long, env = "BLIMP_TIMEOUT", default_value = "30s", value_parser = parse_duration, value_name = "TIME")]
    pub timeout: Duration,

    /// Largest request body accepted; larger ones get 413.
    #[arg(long, env = "BLIMP_MAX_BODY", default_value = "10M", value_parser = parse_size, value_name = "SIZE")]
    pub max_body: u64,

    /// How long a client has to send a request's headers, counted from when
    /// the connection opened or its previous response ended (so it is also
    /// how long an idle keep-alive connection stays open).
    #[arg(long, env = "BLIMP_HEADER_TIMEOUT", default_value = "20s", value_parser = parse_duration, value_name = "TIME")]
    pub header_timeout: Duration,

    /// Longest wait for a client to take more of a response; then its
    /// connection is closed (a client that never reads).
    #[arg(long, env = "BLIMP_SEND_TIMEOUT", default_value = "60s", value_parser = parse_duration, value_name = "TIME")]
    pub send_timeout: Duration,

    /// Open connections the server keeps at most (all workers); beyond it a
    /// new connection is closed at once.
    #[arg(
        long,
        env = "BLIMP_MAX_CONNECTIONS",
        default_value_t = 10_000,
        value_name = "N"
    )]
    pub max_connections: usize,

    /// Longest wait for the next bytes of a request body; then 408.
    #[arg(long, env = "BLIMP_BODY_TIMEOUT", default_value = "20s", value_parser = parse_duration, value_name = "TIME")]
    pub body_timeout: Duration,

    /// Slowest average a request body may come at once its first
    /// `--body-timeout` is over (bytes a second; 0: no such bound). A body
    /// trickled a byte at a time gets 408, as with Apache's MinRate.
    #[arg(
        long,
        env = "BLIMP_BODY_MIN_RATE",
        default_value = "500",
        value_name = "BYTES"
    )]
    pub body_min_rate: u64,

    /// Request body bytes all requests together may hold in memory; a body
    /// that finds no room within a second gets 503 with Retry-After.
    #[arg(long, env = "BLIMP_MAX_BODY_MEMORY", default_value = "256M", value_parser = parse_size, value_name = "SIZE")]
    pub max_body_memory: u64,

    /// Response bytes a script may buffer before the response is sent
    /// (committed), and queue for a client that reads slowly before its
    /// `flush()` waits.
    #[arg(long, env = "BLIMP_RESPONSE_BUFFER", default_value = "256K", value_parser = parse_size, value_name = "SIZE")]
    pub response_buffer: u64,

    /// Largest static text file compressed (gzip) for a client that accepts
    /// it. 0: never compress.
    #[arg(long, env = "BLIMP_GZIP_MAX", default_value = "1M", value_parser = parse_size, value_name = "SIZE")]
    pub gzip_max: u64,

    /// Memory that keeps static files up to 256 KiB and gzipped text files,
    /// shared by all requests (a file is read and compressed once per
    /// change); a file over an eighth of it is not kept. 0: none.
    #[arg(long, env = "BLIMP_STATIC_CACHE", default_value = "64M", value_parser = parse_size, value_name = "SIZE")]
    pub static_cache: u64,

    /// Serve in this process, without the supervisor that replaces a server
    /// process that crashed or got stuck.
    #[arg(long, env = "BLIMP_NO_SUPERVISOR")]
    pub no_supervisor: bool,

    /// Development mode: error responses include the JavaScript stack.
    #[arg(long, env = "BLIMP_DEV")]
    pub dev: bool,

    /// Trust X-Forwarded-For / X-Forwarded-Proto (only behind your own proxy).
    #[arg(long, env = "BLIMP_TRUST_PROXY")]
    pub trust_proxy: bool,

    /// Requests in flight per worker before new ones get 503 with Retry-After.
    #[arg(
        long,
        env = "BLIMP_MAX_PENDING",
        default_value_t = 1024,
        value_name = "N"
    )]
    pub max_pending: usize,

    /// JavaScript contexts per worker: scripts running or waiting at once;
    /// beyond it requests queue (until their timeout, then 503).
    #[arg(
        long,
        env = "BLIMP_MAX_CONTEXTS",
        default_value_t = 64,
        value_name = "N"
    )]
    pub max_contexts: usize,

    /// How long a worker keeps a context no request uses (all but one):
    /// after a burst of waiting scripts their memory goes back, and the
    /// collector, which walks every context of its thread, walks fewer.
    #[arg(long, env = "BLIMP_CONTEXT_IDLE", default_value = "60s", value_parser = parse_duration, value_name = "TIME")]
    pub context_idle: Duration,

    /// Memory one script may hold; past it the script is stopped with 503.
    #[arg(long, env = "BLIMP_MAX_SCRIPT_MEMORY", default_value = "256M", value_parser = parse_size, value_name = "SIZE")]
    pub max_script_memory: u64,

    /// Memory the scripts of the whole server may hold together [default: 3/4 of the RAM or of the cgroup's limit; at most 1/4 of `ulimit -v`].
    #[arg(long, env = "BLIMP_MAX_MEMORY", value_parser = parse_size, value_name = "SIZE")]
    pub max_memory: Option<u64>,

    /// A PEM file of certificates `fetch`, `http/client` and PostgreSQL over TLS trust besides the usual roots.
    #[arg(long, env = "BLIMP_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Largest response `fetch` and `http/client` accept from another server.
    #[arg(long, env = "BLIMP_FETCH_MAX_RESPONSE", default_value = "16M", value_parser = parse_size, value_name = "SIZE")]
    pub fetch_max_response: u64,

    /// Refuse requests from scripts to loopback, private and link-local
    /// addresses (for scripts that fetch URLs their users give).
    #[arg(long, env = "BLIMP_FETCH_DENY_PRIVATE")]
    pub fetch_deny_private: bool,

    /// A `.env`-style file (`KEY=value` lines) of values for scripts'
    /// `core/configurations` and `core/env`, besides the process
    /// environment, which wins; a file that is missing or cannot be parsed
    /// stops the start.
    #[arg(long, env = "BLIMP_ENV_FILE", value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// Where sessions live: `memory`, `sqlite:PATH` or `redis://HOST:PORT[/DB]`.
    #[arg(
        long,
        env = "BLIMP_SESSION_STORE",
        default_value = "sqlite:blimp-sessions.db",
        value_name = "STORE"
    )]
    pub session_store: String,

    /// A datasource of the scripts (`db/*` modules), repeatable: `URL` sets
    /// the default one (DefaultDB), `NAME=URL` adds a named one. URL is
    /// `sqlite:PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
    /// [default: sqlite:blimp-data.db, beside a SQLite sessions file]
    #[arg(long = "db", env = "BLIMP_DB", value_name = "[NAME=]URL")]
    pub db: Vec<String>,

    /// Rows one query may return (they are held in memory); more is an error.
    #[arg(
        long,
        env = "BLIMP_DB_MAX_ROWS",
        default_value_t = 100_000,
        value_name = "N"
    )]
    pub db_max_rows: usize,

    /// Connections each PostgreSQL datasource keeps open at most (all workers).
    #[arg(long, env = "BLIMP_DB_POOL", default_value_t = 16, value_name = "N")]
    pub db_pool: usize,

    /// Key prefix of session hashes in Redis.
    #[arg(
        long,
        env = "BLIMP_SESSION_PREFIX",
        default_value = "blimp:s:",
        value_name = "PREFIX"
    )]
    pub session_prefix: String,

    /// Name of the session cookie.
    #[arg(
        long,
        env = "BLIMP_SESSION_COOKIE",
        default_value = "sid",
        value_name = "NAME"
    )]
    pub session_cookie: String,

    /// Mark the session cookie Secure even on plain HTTP (behind a TLS proxy).
    #[arg(long, env = "BLIMP_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Idle timeout of a session (`setMaxInactiveInterval` overrides it).
    #[arg(long, env = "BLIMP_SESSION_IDLE", default_value = "30m", value_parser = parse_duration, value_name = "TIME")]
    pub session_idle: Duration,

    /// Absolute lifetime of a session.
    #[arg(long, env = "BLIMP_SESSION_MAX_AGE", default_value = "24h", value_parser = parse_duration, value_name = "TIME")]
    pub session_max_age: Duration,

    /// How long a request waits for another request of the same session, then 503.
    #[arg(long, env = "BLIMP_SESSION_LOCK_TIMEOUT", default_value = "10s", value_parser = parse_duration, value_name = "TIME")]
    pub session_lock_timeout: Duration,

    /// Largest session attribute value, as JSON.
    #[arg(long, env = "BLIMP_SESSION_MAX_VALUE", default_value = "1M", value_parser = parse_size, value_name = "SIZE")]
    pub session_max_value: u64,

    /// Most attributes one session may hold.
    #[arg(
        long,
        env = "BLIMP_SESSION_MAX_ATTRIBUTES",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub session_max_attributes: usize,

    /// Most bytes one session may hold (its attributes' names and values, as JSON).
    #[arg(long, env = "BLIMP_SESSION_MAX_SIZE", default_value = "4M", value_parser = parse_size, value_name = "SIZE")]
    pub session_max_size: u64,

    /// Most live sessions in the memory store; beyond it the least recently used is evicted.
    #[arg(
        long,
        env = "BLIMP_SESSION_MAX_COUNT",
        default_value_t = 1_000_000,
        value_name = "N"
    )]
    pub session_max_count: usize,

    /// Most bytes the memory store's sessions hold together; beyond it the
    /// least recently used are evicted.
    #[arg(long, env = "BLIMP_SESSION_MEMORY", default_value = "256M", value_parser = parse_size, value_name = "SIZE")]
    pub session_memory: u64,

    /// Users for HTTP Basic: one a line, `name:HASH:role1,role2` (hashes
    /// from `blimp hash-password`); read again when it changes.
    #[arg(long, env = "BLIMP_USERS", value_name = "FILE")]
    pub users: Option<PathBuf>,

    /// Access rules checked before a script runs: one a line, `PATH ROLE[,ROLE...]`.
    #[arg(long, env = "BLIMP_ACCESS", value_name = "FILE")]
    pub access: Option<PathBuf>,

    /// Accept Basic credentials over plain HTTP (else only over HTTPS, as
    /// --trust-proxy learns it from X-Forwarded-Proto).
    #[arg(long, env = "BLIMP_ALLOW_BASIC_OVER_HTTP")]
    pub allow_basic_over_http: bool,

    /// Failed sign-ins of one name from one client within a minute before
    /// it gets 429 (a client may fail 4 times as often over all names, a
    /// name 10 times over all clients).
    #[arg(
        long,
        env = "BLIMP_SIGN_IN_FAILURES",
        default_value_t = 5,
        value_name = "N"
    )]
    pub sign_in_failures: u32,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `blimp` does instead of serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Read a password from stdin and print its hash for the --users file.
    HashPassword,
}

impl Config {
    /// The command line (and `BLIMP_*` variables), with the folder given as
    /// the first argument taken for `--scripts`.
    pub fn from_args() -> Config {
        let mut config = Config::parse();
        if let Some(folder) = config.folder.take() {
            config.scripts = folder;
        }
        config
    }

    pub fn workers(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout.max(Duration::from_millis(1))
    }

    pub fn session_lock_timeout(&self) -> Duration {
        self.session_lock_timeout.max(Duration::from_millis(1))
    }

    /// The default datasource when `--db` sets none: `blimp-data.db` in the
    /// folder of a SQLite sessions file, else in the working directory.
    pub fn default_db(&self) -> String {
        const FILE: &str = "blimp-data.db";
        let folder = self
            .session_store
            .strip_prefix("sqlite:")
            .map(std::path::Path::new)
            .and_then(std::path::Path::parent)
            .filter(|p| !p.as_os_str().is_empty());
        match folder {
            Some(folder) => format!("sqlite:{}", folder.join(FILE).display()),
            None => format!("sqlite:{FILE}"),
        }
    }

    /// Bytes the scripts of the server may hold together.
    pub fn max_memory(&self) -> u64 {
        self.max_memory.unwrap_or_else(default_max_memory)
    }
}

/// 3/4 of the memory the process may use: the RAM, or its cgroup's limit
/// when lower. Under an address-space limit (`ulimit -v`), a quarter of
/// it at most: the idle server already reserves about 2 GB of address
/// space it does not use (the allocator's arenas, thread stacks).
fn default_max_memory() -> u64 {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|cgroups| cgroup_memory_limit(&cgroups, Path::new("/sys/fs/cgroup")));
    let memory = physical_memory().min(cgroup.unwrap_or(u64::MAX));
    (memory / 4 * 3).min(address_space_limit().map_or(u64::MAX, |limit| limit / 4))
}

/// The lowest memory limit on this process's cgroup and its ancestors
/// (v2 `memory.max`, v1 `memory.limit_in_bytes`), given the text of
/// `/proc/self/cgroup` and where the cgroup file systems are mounted.
fn cgroup_memory_limit(cgroups: &str, mounted: &Path) -> Option<u64> {
    // "max" (v2) is no number: no limit.
    let limit_in = |file: PathBuf| {
        std::fs::read_to_string(file)
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
    };
    cgroups
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':').skip(1);
            let (controllers, path) = (fields.next()?, fields.next()?);
            let (folder, file) = match controllers {
                "" => (mounted.to_path_buf(), "memory.max"),
                list if list.split(',').any(|c| c == "memory") => {
                    (mounted.join("memory"), "memory.limit_in_bytes")
                }
                _ => return None,
            };
            Path::new(path.trim())
                .ancestors()
                .filter_map(|group| {
                    limit_in(
                        folder
                            .join(group.strip_prefix("/").unwrap_or(group))
                            .join(file),
                    )
                })
                .min()
        })
        .min()
}

/// The soft address-space limit (`ulimit -v`), when there is one.
fn address_space_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    (read && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// The machine's RAM (4 GiB when it cannot be read).
fn physical_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map_or(4 << 30, |kb| kb * 1024)
}

/// `1024`, `64K`, `10M`, `1G`, `1.5G` (also `KB`/`KiB`…): bytes, in powers of 1024.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!("{text:?} is not a size: use a number with an optional unit, like 10M")
    })?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => return Err(format!("unknown size unit {other:?}: use K, M, G or T")),
    };
    Ok((number * (1u64 << shift) as f64) as u64)
}

/// `30` (seconds), `30s`, `500ms`, `5m`, `2h`, `1d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!("{text:?} is not a time: use a number with an optional unit, like 30s")
    })?;
    let seconds = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => return Err(format!("unknown time unit {other:?}: use ms, s, m, h or d")),
    };
    Duration::try_from_secs_f64(number * seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lowest_cgroup_memory_limit_of_either_version() {
        let mounted = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let file = mounted.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        };
        write("app/web/memory.max", "max\n");
        write("app/memory.max", "1073741824\n");
        assert_eq!(
            cgroup_memory_limit("0::/app/web\n", mounted.path()),
            Some(1 << 30),
            "a parent's limit holds for its children"
        );
        write("memory/job/memory.limit_in_bytes", "536870912\n");
        assert_eq!(
            cgroup_memory_limit("4:memory:/job\n3:cpu:/job\n", mounted.path()),
            Some(512 << 20)
        );
        assert_eq!(cgroup_memory_limit("0::/elsewhere\n", mounted.path()), None);
        assert_eq!(cgroup_memory_limit("", mounted.path()), None);
    }

    #[test]
    fn sizes_and_times_take_units() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("2 MiB"), Ok(2 << 20));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10X").is_err());
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86400)));
        assert!(parse_duration("5 fortnights").is_err());
        assert!(parse_duration("-1").is_err());
    }
}
