//! The supervisor: the process `blimp` starts as. It holds the listening
//! sockets and runs the server in a child process of its own (the same
//! binary, given the sockets), the way nginx, PHP-FPM and unicorn keep a
//! master process. A server process that dies (a crash where no limit
//! reaches, a stuck worker that its watchdog ends) is replaced at once, on
//! the same sockets: clients queue in the backlog meanwhile. What SQLite or
//! Redis acknowledged is kept; requests in flight and the memory store's
//! sessions are lost with the process.

use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use crate::config::{Config, LISTEN_FDS, READY_FD};

/// Code a server process exits with when its watchdog found it stuck.
pub const STUCK: i32 = 70;

/// What this process is.
pub enum Role {
    /// It supervises server processes.
    Supervisor,
    /// It serves, on the sockets its supervisor gave it.
    Supervised(Vec<std::net::TcpListener>),
    /// It serves alone (`--no-supervisor`).
    Alone,
}

pub fn role(config: &Config) -> Role {
    let Ok(fds) = std::env::var(LISTEN_FDS) else {
        return if config.no_supervisor {
            Role::Alone
        } else {
            Role::Supervisor
        };
    };
    // Die with the supervisor, whatever kills it.
    // SAFETY: prctl with these arguments only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let listeners = fds
        .split(',')
        .filter_map(|fd| fd.parse::<i32>().ok())
        // SAFETY: the supervisor passed these descriptors to us, open, and
        // nothing else in this process owns them.
        .map(|fd| unsafe { std::net::TcpListener::from_raw_fd(fd) })
        .collect();
    Role::Supervised(listeners)
}

/// A supervised server process tells its supervisor it is serving.
pub fn ready() {
    let Some(fd) = std::env::var(READY_FD)
        .ok()
        .and_then(|fd| fd.parse::<i32>().ok())
    else {
        return;
    };
    // SAFETY: the supervisor passed this descriptor to us; we own it from here.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(fd) };
    let _ = std::io::Write::write_all(&mut pipe, b"ready");
}

/// Supervises server processes on `listeners` until SIGTERM or SIGINT.
pub fn run(listeners: Vec<std::net::TcpListener>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("supervisor runtime");
    runtime.block_on(supervise(listeners))
}

async fn supervise(listeners: Vec<std::net::TcpListener>) -> ExitCode {
    let address = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map_or_else(|| "?".to_string(), |a| a.to_string());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    let mut first = true;
    let mut restarts: Vec<Instant> = Vec::new();
    loop {
        let (pid, mut ended, mut ready) = match spawn(&listeners) {
            Ok(spawned) => spawned,
            Err(err) => {
                tracing::error!("cannot start a server process: {err}");
                return ExitCode::FAILURE;
            }
        };
        let mut said = [0u8; 5];
        let mut serving = false;
        let status = loop {
            tokio::select! {
                status = &mut ended => break status.unwrap_or_else(|_| Err(std::io::ErrorKind::Other.into())),
                read = ready.read_exact(&mut said), if !serving => {
                    serving = read.is_ok();
                    match (serving, first) {
                        (true, true) => tracing::info!("listening on http://{address}"),
                        (true, false) => tracing::info!("server process {pid} serves"),
                        _ => {}
                    }
                }
                _ = tokio::signal::ctrl_c() => return stop(pid, ended).await,
                _ = term.recv() => return stop(pid, ended).await,
            }
        };
        let status = status.map_or_else(|e| format!("unknown ({e})"), describe);
        if !serving && first {
            // It never served: the settings or the scripts folder are wrong,
            // and a new process would fail the same way. It said why.
            return ExitCode::FAILURE;
        }
        first = false;
        tracing::error!("server process {pid} ended ({status}): starting a new one");
        // A process that keeps dying before it serves is not restarted in
        // a tight loop; one that served (and met a request that crashed
        // it) is replaced at once, however often.
        restarts.retain(|at| at.elapsed() < Duration::from_secs(10));
        restarts.push(Instant::now());
        if !serving && restarts.len() > 5 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

type Ended = tokio::sync::oneshot::Receiver<std::io::Result<ExitStatus>>;

/// Forwards the stop to the server process and waits for it.
async fn stop(pid: u32, ended: Ended) -> ExitCode {
    // SAFETY: kill only sends a signal to our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    match ended.await {
        Ok(Ok(status)) if status.success() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(STUCK), _) => "a worker was stuck".to_string(),
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// Starts a server process on the same sockets; returns its pid, what
/// says when it ended (a thread waits for it) and the pipe on which it
/// says it is ready.
fn spawn(
    listeners: &[std::net::TcpListener],
) -> std::io::Result<(u32, Ended, tokio::net::UnixStream)> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    let fds: Vec<String> = listeners
        .iter()
        .map(|l| l.as_raw_fd().to_string())
        .collect();
    let inherited: Vec<i32> = listeners
        .iter()
        .map(|l| l.as_raw_fd())
        .chain([theirs.as_raw_fd()])
        .collect();
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .args(std::env::args_os().skip(1))
        .env(LISTEN_FDS, fds.join(","))
        .env(READY_FD, theirs.as_raw_fd().to_string());
    // SAFETY: between fork and exec this only clears close-on-exec flags
    // with fcntl, which is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            for &fd in &inherited {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    drop(theirs);
    let pid = child.id();
    let (tell, ended) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("blimp-server-wait".into())
        .spawn(move || {
            let _ = tell.send(child.wait());
        })?;
    ours.set_nonblocking(true)?;
    Ok((pid, ended, tokio::net::UnixStream::from_std(ours)?))
}
