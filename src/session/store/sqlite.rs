//! Sessions in a SQLite file: they survive restarts and crashes, and several
//! blimp processes on one machine can share the file.
//!
//! Schema (inspect it with `sqlite3 FILE .schema`):
//!
//! ```sql
//! sessions   (id TEXT PRIMARY KEY, created, accessed, idle, deadline)  -- index on deadline
//! attributes (session_id, name, value, seq, PRIMARY KEY (session_id, name))
//! locks      (session_id TEXT PRIMARY KEY, token, expires)
//! ```
//!
//! Times are Unix milliseconds, `idle` is in seconds, `deadline` is the
//! instant the session dies (`Expiry::deadline`), `value` is the JSON text
//! of an attribute and `seq` its first-set order within its session.
//!
//! The file runs in WAL mode with `synchronous=NORMAL`: a committed request
//! survives a crash of the process (not necessarily a power loss). Each
//! `apply` batch is one `BEGIN IMMEDIATE` transaction.
//!
//! Locking (`locked` has the protocol): a session's lock is a row in
//! `locks`, inserted only if absent or expired; writes are applied only
//! while the row still carries the writer's token, and the row is renewed
//! or deleted in the same transaction. A killed process leaves its rows
//! behind; they expire after the lock TTL.
//!
//! Each process uses one connection, behind a mutex: requests of one
//! process queue on the mutex rather than on SQLite's sleeping busy handler
//! (which made tail latencies jump to hundreds of milliseconds), and a call
//! runs right on the thread that makes it: statements take microseconds, a
//! hop to another thread would cost more. Another process's write
//! transaction can still make a statement wait, up to BUSY_TIMEOUT.
//!
//! At open, `PRAGMA quick_check` reads the whole file (about a second per
//! few hundred MB) and the tables are checked: a file that is not SQLite,
//! is damaged, or belongs to another program stops the start with an error
//! naming it. WAL needs every process on the same machine: never put the
//! file on a network filesystem.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::locked::{Backend, LockedStore, Then};
use super::{Expiry, Meta, StoreError, StoreResult, Stored, Write};
use crate::session::id::SessionId;
use crate::session::{holder, now_ms};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id       TEXT PRIMARY KEY NOT NULL,
    created  INTEGER NOT NULL,
    accessed INTEGER NOT NULL,
    idle     INTEGER NOT NULL,
    deadline INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_deadline ON sessions (deadline);
CREATE TABLE IF NOT EXISTS attributes (
    session_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (session_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locks (
    session_id TEXT PRIMARY KEY NOT NULL,
    token      TEXT NOT NULL,
    expires    INTEGER NOT NULL
) WITHOUT ROWID;
";

const SELECT_META: &str = "SELECT created, accessed, idle FROM sessions WHERE id = ?1";
const SELECT_ATTRS: &str =
    "SELECT name, value FROM attributes WHERE session_id = ?1 ORDER BY seq, name";
const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, created, accessed, idle, deadline) VALUES (?1, ?2, ?3, ?4, ?5)";
const EXISTS: &str = "SELECT 1 FROM sessions WHERE id = ?1";
const UPDATE_SESSION: &str =
    "UPDATE sessions SET accessed = ?2, idle = ?3, deadline = ?4 WHERE id = ?1";
const INSERT_ATTR: &str =
    "INSERT INTO attributes (session_id, name, value, seq) VALUES (?1, ?2, ?3, ?4)";
/// Sets a value; a new name goes after every other name of the session.
const UPSERT_ATTR: &str = "INSERT INTO attributes (session_id, name, value, seq)
    VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(seq), 0) + 1 FROM attributes WHERE session_id = ?1))
    ON CONFLICT (session_id, name) DO UPDATE SET value = excluded.value";
const DELETE_ATTR: &str = "DELETE FROM attributes WHERE session_id = ?1 AND name = ?2";
const DELETE_ATTRS: &str = "DELETE FROM attributes WHERE session_id = ?1";
const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = ?1";
const RENAME_SESSION: &str = "UPDATE sessions SET id = ?2 WHERE id = ?1";
const RENAME_ATTRS: &str = "UPDATE attributes SET session_id = ?2 WHERE session_id = ?1";
const COUNT_LIVE: &str = "SELECT COUNT(*) FROM sessions WHERE deadline > ?1";
const EXPIRED: &str = "SELECT id FROM sessions WHERE deadline <= ?1 ORDER BY deadline LIMIT ?2";
const DELETE_STALE_LOCKS: &str = "DELETE FROM locks WHERE expires <= ?1";
/// Takes the lock if nobody holds it or the holder's lease ran out, or
/// renews it for the token that holds it.
const TAKE_LOCK: &str = "INSERT INTO locks (session_id, token, expires) VALUES (?1, ?2, ?3)
    ON CONFLICT (session_id) DO UPDATE SET token = excluded.token, expires = excluded.expires
    WHERE locks.expires <= ?4 OR locks.token = excluded.token";
const RELEASE_LOCK: &str = "DELETE FROM locks WHERE session_id = ?1 AND token = ?2";
const RENEW_LOCK: &str = "UPDATE locks SET expires = ?3 WHERE session_id = ?1 AND token = ?2";
const HOLDS_LOCK: &str = "SELECT 1 FROM locks WHERE session_id = ?1 AND token = ?2";
const LOCK_HOLDER: &str = "SELECT token FROM locks WHERE session_id = ?1";

/// Every statement, prepared once at open to prove the schema is ours.
const STATEMENTS: &[&str] = &[
    SELECT_META,
    SELECT_ATTRS,
    INSERT_SESSION,
    EXISTS,
    UPDATE_SESSION,
    INSERT_ATTR,
    UPSERT_ATTR,
    DELETE_ATTR,
    DELETE_ATTRS,
    DELETE_SESSION,
    RENAME_SESSION,
    RENAME_ATTRS,
    COUNT_LIVE,
    EXPIRED,
    DELETE_STALE_LOCKS,
    TAKE_LOCK,
    RELEASE_LOCK,
    RENEW_LOCK,
    HOLDS_LOCK,
    LOCK_HOLDER,
];

/// How long one statement waits for another process's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Sessions deleted per sweep transaction.
const SWEEP_BATCH: i64 = 256;

pub type SqliteStore = LockedStore<Sqlite>;

pub struct Sqlite {
    path: String,
    /// `None` after a failure: the next call opens a fresh connection.
    conn: Mutex<Option<Connection>>,
    expiry: Expiry,
    lock_ttl_ms: i64,
}

/// Why a database call failed.
enum Fail {
    Db(rusqlite::Error),
    Collision,
    LockLost,
}

impl From<rusqlite::Error> for Fail {
    fn from(err: rusqlite::Error) -> Self {
        Fail::Db(err)
    }
}

type DbResult<T> = Result<T, Fail>;

/// Opens (or creates) the session file at `path`. Fails with a message
/// naming the file when it is unreadable, not a SQLite database, corrupt,
/// read-only or holds tables of another shape: a store never silently
/// starts empty over a file it cannot use.
///
/// `lock_ttl` bounds how long a lock of a killed process blocks its
/// session; `runtime` is the session runtime.
pub fn open(
    path: &str,
    expiry: Expiry,
    lock_ttl: Duration,
    runtime: tokio::runtime::Handle,
) -> Result<SqliteStore, String> {
    if path.is_empty() {
        return Err(
            "session store sqlite: needs a file path, as in sqlite:/var/lib/blimp/sessions.db"
                .into(),
        );
    }
    if path == ":memory:" || path.starts_with("file:") {
        return Err(format!(
            "session store sqlite:{path}: needs a plain file path (for sessions in memory: --session-store memory)"
        ));
    }
    let conn = open_checked(path).map_err(|err| format!("session store sqlite:{path}: {err}"))?;
    let sqlite = Sqlite {
        path: path.to_string(),
        conn: Mutex::new(Some(conn)),
        expiry,
        lock_ttl_ms: i64::try_from(lock_ttl.as_millis()).unwrap_or(i64::MAX),
    };
    Ok(LockedStore::new(sqlite, runtime))
}

/// Opens the file, proves it is a usable blimp session database and sets
/// it up (WAL, schema).
fn open_checked(path: &str) -> Result<Connection, String> {
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        if !dir.is_dir() {
            return Err(format!("folder {} does not exist", dir.display()));
        }
    }
    let conn = connect(path).map_err(|err| explain("cannot open", err))?;
    // Reads every page: a file that is not SQLite, or a damaged one, fails here.
    let problems: Vec<String> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get::<_, String>(0))?.collect())
        .map_err(|err| explain("cannot read", err))?;
    if problems.iter().any(|p| p != "ok") {
        let lines: Vec<&str> = problems
            .iter()
            .flat_map(|p| p.lines())
            .filter(|l| !l.starts_with("***"))
            .collect();
        let more = if lines.len() > 3 {
            format!("; and {} more", lines.len() - 3)
        } else {
            String::new()
        };
        return Err(format!(
            "the database is corrupt (PRAGMA quick_check: {}{more}); {MOVE_AWAY}",
            lines[..lines.len().min(3)].join("; ")
        ));
    }
    let upgrade = identify(&conn)?;
    check_tables(&conn)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|err| explain("cannot switch to WAL mode", err))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("session store sqlite:{path}: journal mode is {mode}, not WAL");
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {VERSION}; COMMIT;"
    ))
    .map_err(|err| {
        let _ = conn.execute_batch("ROLLBACK");
        explain("cannot create the tables", err)
    })?;
    if let Some(from) = upgrade {
        tracing::info!("session store sqlite:{path}: upgraded from version {from} to {VERSION}");
    }
    for sql in STATEMENTS {
        conn.prepare_cached(sql).map_err(|err| {
            format!(
                "the tables are not blimp's ({}); {MOVE_AWAY}",
                first_line(&err)
            )
        })?;
    }
    Ok(conn)
}

const MOVE_AWAY: &str = "move the file away or choose another --session-store path";

/// What `PRAGMA application_id` says in a blimp session file ("blmp").
const APPLICATION_ID: i32 = 0x626c_6d70;
/// The layout's version (`PRAGMA user_version`): 1 had no application id
/// (and 0 is a file from before versions were written).
const VERSION: i32 = 2;

/// Proves, before anything is written, that the file is empty or a blimp
/// session file; `Some(version)` when it is one of an earlier layout.
fn identify(conn: &Connection) -> Result<Option<i32>, String> {
    let pragma = |name: &str| -> Result<i32, String> {
        conn.pragma_query_value(None, name, |row| row.get(0))
            .map_err(|err| explain("cannot read the file", err))
    };
    let (application, version) = (pragma("application_id")?, pragma("user_version")?);
    // Every table, view, index and trigger, by the table it belongs to.
    let objects: Vec<String> = conn
        .prepare("SELECT DISTINCT tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY tbl_name")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .map_err(|err| explain("cannot read the schema", err))?;
    match application {
        APPLICATION_ID if version > VERSION => Err(format!(
            "the file is a session file of a newer blimp (layout {version}; this one knows up to {VERSION}); {MOVE_AWAY}"
        )),
        APPLICATION_ID => Ok((version < VERSION).then_some(version)),
        0 if objects.is_empty() && version == 0 => Ok(None),
        0 if objects.is_empty() => Err(format!(
            "the file is a SQLite database of another program (user_version {version}); {MOVE_AWAY}"
        )),
        // Files of earlier blimps carry no application id: they have our
        // tables and nothing else (check_tables then checks the columns).
        0 if objects
            .iter()
            .all(|t| ["attributes", "locks", "sessions"].contains(&t.as_str())) =>
        {
            Ok(Some(version))
        }
        0 => Err(format!(
            "the file is a SQLite database of another program (its tables and views: {}); {MOVE_AWAY}",
            objects.join(", ")
        )),
        other => Err(format!(
            "the file is a SQLite database of another program (application_id {other:#x}); {MOVE_AWAY}"
        )),
    }
}

/// Tables of ours that already exist must have our columns: a file of
/// another program is refused, never written to.
fn check_tables(conn: &Connection) -> Result<(), String> {
    let ours: [(&str, &[&str]); 3] = [
        (
            "sessions",
            &["id", "created", "accessed", "idle", "deadline"],
        ),
        ("attributes", &["session_id", "name", "value", "seq"]),
        ("locks", &["session_id", "token", "expires"]),
    ];
    for (table, columns) in ours {
        let found: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .and_then(|mut stmt| stmt.query_map([table], |row| row.get(0))?.collect())
            .map_err(|err| explain("cannot read the schema", err))?;
        if !found.is_empty() && columns.iter().any(|c| !found.iter().any(|f| f == c)) {
            return Err(format!(
                "the file has a table {table}({}) that blimp did not create; {MOVE_AWAY}",
                found.join(", ")
            ));
        }
    }
    Ok(())
}

/// An error at open, with what it means for the user.
fn explain(what: &str, err: rusqlite::Error) -> String {
    let text = first_line(&err);
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            format!("{what}: {text}: the file is not a SQLite database; {MOVE_AWAY}")
        }
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            format!("{what}: {text}: the database is corrupt; {MOVE_AWAY}")
        }
        Some(
            rusqlite::ErrorCode::ReadOnly
            | rusqlite::ErrorCode::CannotOpen
            | rusqlite::ErrorCode::PermissionDenied,
        ) => format!("{what}: {text} (blimp needs to write the file and its folder)"),
        _ => format!("{what}: {text}"),
    }
}

fn first_line(err: &rusqlite::Error) -> String {
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A connection with the per-connection settings.
fn connect(path: &str) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.set_prepared_statement_cache_capacity(STATEMENTS.len() + 4);
    Ok(conn)
}

impl Sqlite {
    /// Borrows a connection from the pool (or opens one), runs `op`, and
    /// gives the connection back unless it failed.
    fn with_conn<T>(
        &self,
        op: impl FnOnce(&Sqlite, &mut Connection) -> DbResult<T>,
    ) -> StoreResult<T> {
        let mut slot = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some(connect(&self.path).map_err(unavailable)?);
        }
        match op(self, slot.as_mut().expect("connection just opened")) {
            Ok(value) => Ok(value),
            Err(Fail::Collision) => Err(StoreError::Collision),
            Err(Fail::LockLost) => Err(StoreError::LockLost),
            Err(Fail::Db(err)) => {
                *slot = None;
                Err(unavailable(err))
            }
        }
    }

    /// Takes (or renews) the lock of `id` for `token` and reads the session,
    /// in one transaction; `None` while another process holds the lock.
    fn lock_and_load(
        &self,
        conn: &mut Connection,
        id: SessionId,
        token: &str,
    ) -> DbResult<Option<Option<Stored>>> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = id.to_string();
        let now = now_ms();
        let expires = now.saturating_add(self.lock_ttl_ms);
        let take = |tx: &rusqlite::Transaction| -> DbResult<bool> {
            Ok(tx
                .prepare_cached(TAKE_LOCK)?
                .execute(params![key, token, expires, now])?
                == 1)
        };
        let mut taken = take(&tx)?;
        if !taken {
            // Held by a process of this machine that is gone: break it now
            // rather than wait out its lease.
            let holder: Option<String> = tx
                .prepare_cached(LOCK_HOLDER)?
                .query_row(params![key], |row| row.get(0))
                .optional()?;
            if let Some(holder) = holder.filter(|h| holder::is_dead(h)) {
                tx.prepare_cached(RELEASE_LOCK)?
                    .execute(params![key, holder])?;
                tracing::info!(session = %id.tag(), "broke the session lock of a process that is gone");
                taken = take(&tx)?;
            }
        }
        let stored = if taken { Some(load(&tx, &key)?) } else { None };
        tx.commit()?;
        Ok(stored)
    }

    /// Applies `writes` in one transaction: with `lock`, only while its
    /// token holds the lock, which is then renewed or released.
    fn apply(
        &self,
        conn: &mut Connection,
        writes: Vec<Write>,
        lock: Option<(SessionId, &str, Then)>,
    ) -> DbResult<()> {
        if writes.is_empty() && lock.is_none() {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some((id, token, _)) = lock {
            let held = tx
                .prepare_cached(HOLDS_LOCK)?
                .exists(params![id.to_string(), token])?;
            if !held {
                return Err(Fail::LockLost);
            }
        }
        for write in writes {
            self.apply_one(&tx, write)?;
        }
        match lock {
            Some((id, token, Then::Release)) => {
                tx.prepare_cached(RELEASE_LOCK)?
                    .execute(params![id.to_string(), token])?;
            }
            Some((id, token, Then::Renew)) => {
                let expires = now_ms().saturating_add(self.lock_ttl_ms);
                tx.prepare_cached(RENEW_LOCK)?
                    .execute(params![id.to_string(), token, expires])?;
            }
            None => {}
        }
        tx.commit()?;
        Ok(())
    }

    fn apply_one(&self, tx: &rusqlite::Transaction<'_>, write: Write) -> DbResult<()> {
        match write {
            Write::Create { id, stored } => {
                let key = id.to_string();
                if exists(tx, &key)? {
                    return Err(Fail::Collision);
                }
                let meta = stored.meta;
                tx.prepare_cached(INSERT_SESSION)?.execute(params![
                    key,
                    meta.created,
                    meta.accessed,
                    meta.idle,
                    self.expiry.deadline(&meta)
                ])?;
                let mut insert = tx.prepare_cached(INSERT_ATTR)?;
                for (seq, (name, value)) in stored.attrs.iter().enumerate() {
                    insert.execute(params![key, name, value, seq as i64 + 1])?;
                }
            }
            Write::Update {
                id,
                accessed,
                idle,
                set,
                remove,
            } => {
                let key = id.to_string();
                let meta = select_meta(tx, &key)?;
                // Deleted meanwhile (expired or invalidated elsewhere): stays deleted.
                let Some(mut meta) = meta else {
                    return Ok(());
                };
                meta.accessed = accessed.unwrap_or(meta.accessed);
                meta.idle = idle.unwrap_or(meta.idle);
                tx.prepare_cached(UPDATE_SESSION)?.execute(params![
                    key,
                    meta.accessed,
                    meta.idle,
                    self.expiry.deadline(&meta)
                ])?;
                let mut delete = tx.prepare_cached(DELETE_ATTR)?;
                for name in &remove {
                    delete.execute(params![key, name])?;
                }
                let mut upsert = tx.prepare_cached(UPSERT_ATTR)?;
                for (name, value) in &set {
                    upsert.execute(params![key, name, value])?;
                }
            }
            Write::Delete { id } => {
                let key = id.to_string();
                tx.prepare_cached(DELETE_ATTRS)?.execute(params![key])?;
                tx.prepare_cached(DELETE_SESSION)?.execute(params![key])?;
            }
            Write::Rename { from, to } => {
                let (from, to) = (from.to_string(), to.to_string());
                if !exists(tx, &from)? {
                    return Ok(());
                }
                if exists(tx, &to)? {
                    return Err(Fail::Collision);
                }
                tx.prepare_cached(RENAME_SESSION)?
                    .execute(params![from, to])?;
                tx.prepare_cached(RENAME_ATTRS)?
                    .execute(params![from, to])?;
            }
        }
        Ok(())
    }

    fn count(&self, conn: &mut Connection, now: i64) -> DbResult<u64> {
        let n: i64 = conn
            .prepare_cached(COUNT_LIVE)?
            .query_row(params![now], |row| row.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Deletes expired sessions in small transactions, so requests of this
    /// and other processes get the file in between; the cost follows what
    /// expired. Stale locks of killed processes go too.
    fn sweep(&self, conn: &mut Connection, now: i64) -> DbResult<u64> {
        let mut removed = 0u64;
        loop {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let ids = tx
                .prepare_cached(EXPIRED)?
                .query_map(params![now, SWEEP_BATCH], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            {
                let mut attrs = tx.prepare_cached(DELETE_ATTRS)?;
                let mut session = tx.prepare_cached(DELETE_SESSION)?;
                for id in &ids {
                    attrs.execute(params![id])?;
                    session.execute(params![id])?;
                }
            }
            if removed == 0 {
                tx.prepare_cached(DELETE_STALE_LOCKS)?
                    .execute(params![now])?;
            }
            tx.commit()?;
            removed += ids.len() as u64;
            if (ids.len() as i64) < SWEEP_BATCH {
                return Ok(removed);
            }
        }
    }
}

fn exists(tx: &rusqlite::Transaction<'_>, key: &str) -> rusqlite::Result<bool> {
    tx.prepare_cached(EXISTS)?.exists(params![key])
}

fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {err}"))
}

/// The session `key` as stored.
fn load(conn: &Connection, key: &str) -> rusqlite::Result<Option<Stored>> {
    let Some(meta) = select_meta(conn, key)? else {
        return Ok(None);
    };
    let attrs = conn
        .prepare_cached(SELECT_ATTRS)?
        .query_map(params![key], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
    Ok(Some(Stored { meta, attrs }))
}

/// The metadata row of a session, if it exists.
fn select_meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<Meta>> {
    conn.prepare_cached(SELECT_META)?
        .query_row(params![key], |row| {
            Ok(Meta {
                created: row.get(0)?,
                accessed: row.get(1)?,
                idle: row.get(2)?,
            })
        })
        .optional()
}

impl Backend for Sqlite {
    fn renew<'a>(&'a self, id: SessionId, token: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let renewed = self.with_conn(|this, conn| {
            let expires = now_ms().saturating_add(this.lock_ttl_ms);
            Ok(conn
                .prepare_cached(RENEW_LOCK)?
                .execute(params![id.to_string(), token, expires])?
                == 1)
        });
        std::future::ready(renewed).boxed()
    }

    fn lock_and_load<'a>(
        &'a self,
        id: SessionId,
        token: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Option<Stored>>>> {
        // Statements take microseconds: they run right here (a hop to
        // another thread would cost more).
        std::future::ready(self.with_conn(|this, conn| this.lock_and_load(conn, id, token))).boxed()
    }

    fn load(&self, id: SessionId) -> BoxFuture<'_, StoreResult<Option<Stored>>> {
        let read = self.with_conn(|_, conn| {
            // One snapshot for both statements.
            let tx = conn.transaction()?;
            let stored = load(&tx, &id.to_string())?;
            tx.commit()?;
            Ok(stored)
        });
        std::future::ready(read).boxed()
    }

    fn commit<'a>(
        &'a self,
        writes: Vec<Write>,
        lock: Option<(SessionId, &'a str, Then)>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        std::future::ready(self.with_conn(|this, conn| this.apply(conn, writes, lock))).boxed()
    }

    fn count(&self) -> BoxFuture<'_, StoreResult<u64>> {
        std::future::ready(self.with_conn(|this, conn| this.count(conn, now_ms()))).boxed()
    }

    fn sweep(&self, now: i64) -> BoxFuture<'_, StoreResult<u64>> {
        std::future::ready(self.with_conn(|this, conn| this.sweep(conn, now))).boxed()
    }

    fn name(&self) -> &'static str {
        "sqlite"
    }
}
