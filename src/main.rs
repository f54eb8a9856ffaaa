// Boa allocates for nearly every object and string; mimalloc serves those
// small, short-lived allocations faster than the system allocator. Counted,
// so that a script that allocates too much is stopped (engine/memory.rs).
#[global_allocator]
static ALLOCATOR: blimp::engine::memory::Counting = blimp::engine::memory::Counting;

use std::process::ExitCode;

use blimp::server::supervisor::{self, Role};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    blimp::engine::memory::no_huge_pages();
    // Log lines are written by a background thread: a request never waits
    // for stderr. It writes the lines it has at hand in one system call,
    // not one each (the buffer is flushed whenever none are left). The
    // guard flushes what is left at exit.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let stderr = std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr());
    let (writer, _flush_at_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(stderr);
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(writer.clone())
        .with_ansi(terminal)
        .init();
    blimp::access_log::init(writer, terminal);
    let config = blimp::Config::from_args();
    if let Some(blimp::config::Command::HashPassword) = config.command {
        return hash_password();
    }
    // Before anything listens: a bad --env-file stops the start here.
    if let Err(err) = blimp::modules::configuration::load(config.env_file.as_deref()) {
        tracing::error!("{err}");
        return ExitCode::FAILURE;
    }
    let listeners = match supervisor::role(&config) {
        Role::Supervised(listeners) => return serve(config, listeners, true),
        Role::Alone => blimp::server::listen(&config),
        Role::Supervisor => blimp::server::listen(&config),
    };
    let listeners = match listeners {
        Ok(listeners) => listeners,
        Err(err) => {
            tracing::error!("{err}");
            return ExitCode::FAILURE;
        }
    };
    if config.no_supervisor {
        serve(config, listeners, false)
    } else {
        supervisor::run(listeners)
    }
}

/// Runs the server on `listeners` until SIGINT or SIGTERM.
fn serve(
    config: blimp::Config,
    listeners: Vec<std::net::TcpListener>,
    supervised: bool,
) -> ExitCode {
    let runtime = blimp::store_runtime();
    let started = blimp::open_sessions(&config, &runtime).and_then(|sessions| {
        tracing::info!("sessions: {} store", sessions.store.name());
        let datasources = blimp::open_datasources(&config, &runtime)?;
        for name in datasources.names() {
            if let Ok(source) = datasources.get(Some(name)) {
                tracing::info!("datasource {name}: {}", source.describe());
            }
        }
        blimp::Server::start(config, sessions, datasources, listeners, supervised)
    });
    match started {
        Ok(server) => {
            if supervised {
                supervisor::ready();
            } else {
                tracing::info!("listening on http://{}", server.addr());
            }
            blimp::server::run_until_signal(server, &runtime);
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

/// `blimp hash-password`: the password from stdin (never from the command
/// line, where `ps` and shell history would show it), its hash on stdout.
fn hash_password() -> ExitCode {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        eprint!("password (shown as typed): ");
    }
    let mut line = String::new();
    if let Err(err) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("cannot read the password: {err}");
        return ExitCode::FAILURE;
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        eprintln!("no password on stdin");
        return ExitCode::FAILURE;
    }
    match blimp::auth::password::hash(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("cannot hash the password: {err}");
            ExitCode::FAILURE
        }
    }
}
