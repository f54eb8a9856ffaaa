//! Test harness: the real `blimp` binary on 127.0.0.1:0 with a temporary
//! scripts folder, and a real HTTP client.
#![allow(dead_code)]

pub mod browser;
pub mod upstream;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Blimp {
    pub child: Child,
    pub base: String,
    pub log: Arc<Mutex<String>>,
    pub scripts: PathBuf,
    _dir: Option<tempfile::TempDir>,
    /// Where the default datasource lives unless a test names one.
    _data: Option<tempfile::TempDir>,
}

/// A scripts folder with the given files.
pub fn scripts(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

pub fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

impl Blimp {
    /// Starts blimp on `files` with the memory store and `extra` flags.
    pub fn start(files: &[(&str, &str)], extra: &[&str]) -> Blimp {
        let dir = scripts(files);
        let mut blimp = Blimp::start_in(dir.path(), extra);
        blimp._dir = Some(dir);
        blimp
    }

    /// Starts blimp on an existing folder; flags in `extra` win.
    pub fn start_in(root: &Path, extra: &[&str]) -> Blimp {
        let mut args: Vec<String> = vec![
            "--port".into(),
            "0".into(),
            "--scripts".into(),
            root.display().to_string(),
        ];
        if !extra.contains(&"--session-store") {
            args.extend(["--session-store".into(), "memory".into()]);
        }
        if !extra.contains(&"--workers") {
            args.extend(["--workers".into(), "2".into()]);
        }
        // The default datasource in a folder of the test's own, not in the
        // working directory.
        let data = (!extra.contains(&"--db")).then(|| tempfile::tempdir().unwrap());
        if let Some(data) = &data {
            args.extend([
                "--db".into(),
                format!("sqlite:{}", data.path().join("data.db").display()),
            ]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut blimp = Blimp::spawn(&args, root);
        blimp._data = data;
        blimp
    }

    pub fn spawn(args: &[String], root: &Path) -> Blimp {
        Blimp::spawn_with(args, root, |_| {})
    }

    /// Starts blimp on `root` with the soft limit on `resource`
    /// (`libc::RLIMIT_NOFILE`, `libc::RLIMIT_AS`) at `soft`.
    pub fn start_with_rlimit(root: &Path, resource: Resource, soft: u64) -> Blimp {
        let args: Vec<String> = [
            "--port",
            "0",
            "--session-store",
            "memory",
            "--workers",
            "2",
            "--scripts",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([root.display().to_string()])
        .collect();
        Blimp::spawn_with(&args, root, move |command| {
            use std::os::unix::process::CommandExt;
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let mut limit = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    libc::getrlimit(resource, &mut limit);
                    limit.rlim_cur = soft.min(limit.rlim_max);
                    libc::setrlimit(resource, &limit);
                    Ok(())
                });
            }
        })
    }

    /// Starts blimp on `files` like `start`, with `env` set in its environment.
    pub fn start_with_env(files: &[(&str, &str)], extra: &[&str], env: &[(&str, &str)]) -> Blimp {
        let dir = scripts(files);
        let mut args: Vec<String> = ["--port", "0", "--session-store", "memory", "--workers", "2"]
            .iter()
            .map(|s| s.to_string())
            .chain(["--scripts".to_string(), dir.path().display().to_string()])
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut blimp = Blimp::spawn_with(&args, dir.path(), |command| {
            command.envs(env.iter().copied());
        });
        blimp._dir = Some(dir);
        blimp
    }

    pub fn spawn_with(args: &[String], root: &Path, prepare: impl FnOnce(&mut Command)) -> Blimp {
        let mut command = Command::new(env!("CARGO_BIN_EXE_blimp"));
        command
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        prepare(&mut command);
        let mut child = command.spawn().expect("start blimp");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let _ = tx.send(line[at + "listening on ".len()..].trim().to_string());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!("blimp did not start:\n{}", log.lock().unwrap());
            }
        };
        Blimp {
            child,
            base,
            log,
            scripts: root.to_path_buf(),
            _dir: None,
            _data: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_for_log(&self, needle: &str) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The process that serves requests (the supervisor's child, when
    /// there is one).
    pub fn server_pid(&self) -> u32 {
        let pid = self.child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(pid)
    }

    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Blimp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The serving process's peak resident memory (VmHWM), in MB.
pub fn peak_rss_mb(blimp: &Blimp) -> u64 {
    vm_hwm_kb(blimp.server_pid()).expect("VmHWM of the server process") / 1024
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// One row of the attack table (issue 13) on stderr, after `ATTACK `:
/// attack, status seen, time, peak RSS of the serving process, and whether
/// `/hello` answers right now (asked here, timed, never asserted). Without
/// a server (it refused to start) the last two are "–". Regenerate with
/// `cargo test --release --test hostile --test supervisor -- --nocapture
/// --test-threads=1 2>&1 | grep '^ATTACK' | sed 's/^ATTACK //'`.
pub fn report(attack: &str, status: &str, took: Duration, blimp: Option<&Blimp>) {
    let (rss, serving) = match blimp {
        None => ("–".to_string(), "–".to_string()),
        Some(blimp) => {
            let rss =
                vm_hwm_kb(blimp.server_pid()).map_or("?".into(), |kb| format!("{} MB", kb / 1024));
            let started = Instant::now();
            let hello = plain()
                .get(blimp.url("/hello"))
                .send()
                .map(|r| r.status().as_u16());
            let serving = match hello {
                Ok(200) => format!("yes, /hello in {} ms", started.elapsed().as_millis()),
                Ok(status) => format!("NO, /hello got {status}"),
                Err(err) => format!("NO, /hello failed: {err}"),
            };
            (rss, serving)
        }
    };
    let cells = [
        attack,
        status,
        &format!("{} ms", took.as_millis()),
        &rss,
        &serving,
    ];
    let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
    // On a line of its own: libtest's `test name ... ` has no newline yet.
    eprintln!("\nATTACK | {} |", cells.join(" | "));
}

/// A blocking client with a cookie jar.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A blocking client without cookies.
pub fn plain() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

pub fn get(client: &reqwest::blocking::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().unwrap();
    let status = response.status().as_u16();
    (status, response.text().unwrap())
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A response read whole, so the server can stop afterwards.
pub struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Result<Vec<u8>, String>,
}

impl Reply {
    pub fn read(response: reqwest::blocking::Response) -> Reply {
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response
                .bytes()
                .map(|b| b.to_vec())
                .map_err(|e| e.to_string()),
        }
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        self.body.clone()
    }

    pub fn text(&self) -> Result<String, String> {
        self.body
            .clone()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}

/// Runs one script (as /t) on a fresh server and reads the reply.
pub fn run_script(script: &str) -> Reply {
    let blimp = Blimp::start(&[("t.js", script)], &[]);
    Reply::read(plain().get(blimp.url("/t")).send().unwrap())
}

/// A redis-server of our own on `port`, without persistence; killed on drop.
pub struct Redis {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        Redis::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("/usr/bin/redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server)");
        let mut redis = Redis {
            child,
            port,
            _dir: dir,
        };
        let until = Instant::now() + Duration::from_secs(10);
        while redis.cli(&["PING"]) != "PONG" {
            assert!(
                Instant::now() < until,
                "redis-server did not start on port {port}"
            );
            assert!(
                redis.child.try_wait().unwrap().is_none(),
                "redis-server exited (port {port} taken?)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Sends `signal` (`"STOP"`, `"CONT"`) to the server, as `kill -SIGNAL`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal}");
    }

    pub fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A kind of process limit, as `getrlimit` takes it.
pub type Resource = libc::__rlimit_resource_t;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL server of the tests' own (Debian's `postgresql` package),
/// one per test binary, on a free port in a temporary folder; each test
/// takes a database of its own (`Postgres::database`). PostgreSQL refuses
/// to run as root: as root, the server runs as the `postgres` user. It is
/// stopped and its folder removed when the test binary exits.
pub struct Postgres {
    pub port: u16,
    pid: i32,
    dir: PathBuf,
}

static POSTGRES: std::sync::OnceLock<Postgres> = std::sync::OnceLock::new();

impl Postgres {
    /// The shared server, started on first use.
    pub fn shared() -> &'static Postgres {
        POSTGRES.get_or_init(|| {
            let server = Postgres::start_on(free_port());
            extern "C" fn stop_at_exit() {
                if let Some(server) = POSTGRES.get() {
                    server.stop_now();
                }
            }
            // SAFETY: registers a plain function to run at exit.
            unsafe {
                libc::atexit(stop_at_exit);
            }
            server
        })
    }

    /// A server of its own (stop it with `stop_now`).
    pub fn start_on(port: u16) -> Postgres {
        let bin = postgres_bin();
        let dir = tempfile::Builder::new()
            .prefix("blimp-pg-")
            .tempdir()
            .unwrap()
            .keep();
        let owner = postgres_user();
        if let Some((uid, gid)) = owner {
            let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: chown of a folder we just made.
            unsafe { libc::chown(path.as_ptr(), uid, gid) };
        }
        let data = dir.join("data");
        // TLS too, with a certificate made now (`ca_file` for clients).
        let made = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        std::fs::write(dir.join("ca.pem"), made.cert.pem()).unwrap();
        let key = dir.join("server.key");
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&key, Some(uid), Some(gid)).unwrap();
            }
        }
        let as_owner = |command: &mut Command| {
            use std::os::unix::process::CommandExt;
            if let Some((uid, gid)) = owner {
                command.uid(uid).gid(gid);
            }
            command.env("LC_ALL", "C").env_remove("PGDATA");
        };
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_owner(&mut initdb);
        let out = initdb.output().expect("initdb (Debian package postgresql)");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut server = Command::new(bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
                "-c",
                "ssl=on",
                "-c",
                &format!("ssl_cert_file={}", dir.join("ca.pem").display()),
                "-c",
                &format!("ssl_key_file={}", key.display()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        as_owner(&mut server);
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl only sets a flag of the child: it dies with the
            // thread that started it should the test binary die first.
            unsafe {
                server.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                    Ok(())
                });
            }
        }
        // Started by a thread that never ends: the server's parent-death
        // signal goes with the thread that started it, not the process.
        let (tell, told) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tell.send(server.spawn());
            loop {
                std::thread::park();
            }
        });
        let child = told.recv().unwrap().expect("postgres");
        let postgres = Postgres {
            port,
            pid: child.id() as i32,
            dir,
        };
        std::mem::forget(child);
        let until = Instant::now() + Duration::from_secs(30);
        while postgres.psql("postgres", "SELECT 1").is_err() {
            assert!(
                Instant::now() < until,
                "postgres did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        postgres
    }

    /// The certificate of its TLS (a PEM file for `--ca-file`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A fresh database: its URL.
    pub fn database(&self) -> String {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap();
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `sql` with psql; its output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(postgres_bin().join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", database, "-tAq", "-c", sql])
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Stops the server at once and removes its folder.
    pub fn stop_now(&self) {
        // SAFETY: signals and reaps our own child.
        unsafe {
            libc::kill(self.pid, libc::SIGQUIT);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, 0);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `/usr/lib/postgresql/<newest>/bin`.
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed: apt-get install postgresql")
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path())))
        .filter(|(_, p)| p.join("bin/postgres").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no PostgreSQL server under /usr/lib/postgresql: apt-get install postgresql")
        .1
        .join("bin")
}

/// As root: the `postgres` user's ids (PostgreSQL refuses to run as root).
fn postgres_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions; getpwnam reads the user database.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let name = std::ffi::CString::new("postgres").unwrap();
        let entry = libc::getpwnam(name.as_ptr());
        assert!(
            !entry.is_null(),
            "running as root needs a postgres user (apt-get install postgresql)"
        );
        Some(((*entry).pw_uid, (*entry).pw_gid))
    }
}
