//! The users file of `--users`: one user a line, `name:HASH:role1,role2`,
//! `#` starts a comment. Read again when it changes (looked at no more
//! than once a second), so users and roles can change without a restart;
//! a file that no longer parses keeps the users it had, with an error in
//! the log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How often the file is looked at for changes, at most.
const LOOK_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub hash: String,
    pub roles: Vec<String>,
}

/// The users as last read, and which reading this is (a credential
/// verified under an earlier reading is verified again).
#[derive(Clone)]
pub struct Table {
    pub users: Arc<HashMap<String, Entry>>,
    pub generation: u64,
}

pub struct UsersFile {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    table: Table,
    /// Modification time and length of the file as read.
    version: Option<(SystemTime, u64)>,
    looked: Instant,
}

impl UsersFile {
    /// Reads the file; an unreadable or malformed file is a start error.
    pub fn open(path: &Path) -> Result<UsersFile, String> {
        let (users, version) = read(path)?;
        Ok(UsersFile {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                table: Table {
                    users: Arc::new(users),
                    generation: 0,
                },
                version,
                looked: Instant::now(),
            }),
        })
    }

    /// The users now, read again first if the file changed.
    pub fn table(&self) -> Table {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.looked.elapsed() >= LOOK_EVERY {
            state.looked = Instant::now();
            let now = version(&self.path);
            if now != state.version {
                match read(&self.path) {
                    Ok((users, version)) => {
                        tracing::info!("users file {} read again", self.path.display());
                        state.table = Table {
                            users: Arc::new(users),
                            generation: state.table.generation + 1,
                        };
                        state.version = version;
                    }
                    Err(err) => {
                        // Keep the users we have; try again when it changes.
                        tracing::error!("{err} (the users read before stay)");
                        state.version = now;
                    }
                }
            }
        }
        state.table.clone()
    }
}

fn version(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

type Read = (HashMap<String, Entry>, Option<(SystemTime, u64)>);

fn read(path: &Path) -> Result<Read, String> {
    let version = version(path);
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("users file {}: {e}", path.display()))?;
    let users = parse(&text).map_err(|e| format!("users file {}: {e}", path.display()))?;
    Ok((users, version))
}

pub fn parse(text: &str) -> Result<HashMap<String, Entry>, String> {
    let mut users = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.splitn(3, ':');
        let (name, hash, roles) = (
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
        );
        let line_no = n + 1;
        if name.is_empty() {
            return Err(format!("line {line_no}: a user needs a name"));
        }
        if argon2::password_hash::PasswordHash::new(hash).is_err() {
            return Err(format!(
                "line {line_no}: user {name:?} has no password hash (make one with `blimp hash-password`)"
            ));
        }
        let roles = roles
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        let entry = Entry {
            hash: hash.to_string(),
            roles,
        };
        if users.insert(name.to_string(), entry).is_some() {
            return Err(format!("line {line_no}: user {name:?} appears twice"));
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$5XhyTxbSP4CmqUdfSkGjP5H7sG0rWahldX0b6bKa4Nc";

    #[test]
    fn lines_name_a_hash_and_roles() {
        let text = format!("# users\n\nann:{HASH}:admin, dev\nbob:{HASH}:\n");
        let users = super::parse(&text).unwrap();
        assert_eq!(users["ann"].roles, ["admin", "dev"]);
        assert!(users["bob"].roles.is_empty());
        assert!(super::parse("carl:plain:admin")
            .unwrap_err()
            .contains("line 1"));
        assert!(super::parse(&format!("ann:{HASH}:\nann:{HASH}:"))
            .unwrap_err()
            .contains("twice"));
    }
}
