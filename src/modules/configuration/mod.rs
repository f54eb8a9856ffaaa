//! Dirigible's `core/configurations` and `core/env`, over one snapshot of
//! the environment taken when the server starts: the process environment
//! over the values of `--env-file`. `env` reads that snapshot;
//! `configurations` starts from it and `set`/`remove` change it for the
//! whole server process (every worker thread, every later request) until
//! it stops; a restart, or the supervisor's new server process, starts
//! again from the environment.

pub mod configurations;
pub mod env;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{OnceLock, RwLock};

struct Environment {
    /// What `env` reads.
    snapshot: BTreeMap<String, String>,
    /// What `configurations` reads and changes.
    values: RwLock<BTreeMap<String, String>>,
}

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();

/// Takes the snapshot: the process environment over `env_file`'s values.
/// Called once at start; the error says what is wrong with the file.
pub fn load(env_file: Option<&Path>) -> Result<(), String> {
    let mut snapshot = BTreeMap::new();
    if let Some(path) = env_file {
        let shown = path.display();
        let lines = dotenvy::from_path_iter(path)
            .map_err(|e| format!("--env-file {shown}: {}", describe(e)))?;
        for line in lines {
            let (key, value) = line.map_err(|e| format!("--env-file {shown}: {}", describe(e)))?;
            snapshot.insert(key, value);
        }
    }
    snapshot.extend(process_environment());
    let _ = ENVIRONMENT.set(Environment {
        values: RwLock::new(snapshot.clone()),
        snapshot,
    });
    Ok(())
}

fn describe(error: dotenvy::Error) -> String {
    match error {
        dotenvy::Error::Io(e) => format!("cannot read it: {e}"),
        other => other.to_string(),
    }
}

/// The process environment, less the supervisor's own variables.
fn process_environment() -> impl Iterator<Item = (String, String)> {
    use crate::config::{LISTEN_FDS, READY_FD};
    std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .filter(|(k, _)| k != LISTEN_FDS && k != READY_FD)
}

fn environment() -> &'static Environment {
    ENVIRONMENT.get_or_init(|| {
        let snapshot: BTreeMap<String, String> = process_environment().collect();
        Environment {
            values: RwLock::new(snapshot.clone()),
            snapshot,
        }
    })
}
