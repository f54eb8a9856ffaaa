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
//! Locking: a request first takes the in-process lock of its session (so
//! requests of one process queue without polling), then a row in `locks`,
//! inserted only if absent or expired and retried with short sleeps until
//! the wait passes; it is released by deleting the row only if it still
//! carries the request's token, in the transaction of the writes. When
//! another request of the process waits, the row is handed to it instead
//! (it renews the lease). A killed process leaves its rows behind; they
//! expire after the lock TTL.
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
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{
    jitter, resume, After, Expiry, Meta, Resumed, SessionLock, SessionStore, StoreError,
    StoreResult, Stored, Write,
};
use crate::session::id::SessionId;
use crate::session::locks::{Kept, LocalLocks};
use crate::session::now_ms;

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
];

/// How long one statement waits for another process's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Sessions deleted per sweep transaction.
const SWEEP_BATCH: i64 = 256;
/// Longest pause between two attempts at another process's lock.
const MAX_POLL: Duration = Duration::from_millis(8);

pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: String,
    /// `None` after a failure: the next call opens a fresh connection.
    conn: Mutex<Option<Connection>>,
    locks: LocalLocks,
    expiry: Expiry,
    lock_ttl_ms: i64,
}

/// Why a database call failed.
enum Fail {
    Db(rusqlite::Error),
    Collision,
}

impl From<rusqlite::Error> for Fail {
    fn from(err: rusqlite::Error) -> Self {
        Fail::Db(err)
    }
}

type DbResult<T> = Result<T, Fail>;

impl SqliteStore {
    /// Opens (or creates) the session file at `path`. Fails with a message
    /// naming the file when it is unreadable, not a SQLite database,
    /// corrupt, read-only or holds tables of another shape: a store never
    /// silently starts empty over a file it cannot use.
    ///
    /// `lock_ttl` bounds how long a lock of a killed process blocks its
    /// session.
    pub fn open(path: &str, expiry: Expiry, lock_ttl: Duration) -> Result<SqliteStore, String> {
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
        let conn =
            open_checked(path).map_err(|err| format!("session store sqlite:{path}: {err}"))?;
        let inner = Arc::new_cyclic(|this: &Weak<Inner>| {
            // Releases a lock kept for a request that then gave up.
            let this = this.clone();
            let orphaned = move |id, token| {
                if let Some(inner) = this.upgrade() {
                    inner.release_logged(id, token);
                }
            };
            Inner {
                path: path.to_string(),
                conn: Mutex::new(Some(conn)),
                locks: LocalLocks::with_orphan_handler(Box::new(orphaned)),
                expiry,
                lock_ttl_ms: i64::try_from(lock_ttl.as_millis()).unwrap_or(i64::MAX),
            }
        });
        Ok(SqliteStore { inner })
    }

    /// Runs `op` with the connection, here and now.
    fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Inner, &mut Connection) -> DbResult<T> + Send + 'static,
    ) -> impl std::future::Future<Output = StoreResult<T>> + Send + 'static {
        std::future::ready(self.inner.with_conn(op))
    }
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
    check_tables(&conn)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|err| explain("cannot switch to WAL mode", err))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("session store sqlite:{path}: journal mode is {mode}, not WAL");
    }
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))
        .map_err(|err| {
            let _ = conn.execute_batch("ROLLBACK");
            explain("cannot create the tables", err)
        })?;
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

impl Inner {
    fn release_logged(&self, id: SessionId, token: String) {
        if let Err(err) = self.with_conn(move |_, conn| release(conn, id, &token)) {
            tracing::warn!(session = %id.tag(), "session lock not released (it expires by itself): {err}");
        }
    }

    /// Borrows a connection from the pool (or opens one), runs `op`, and
    /// gives the connection back unless it failed.
    fn with_conn<T>(
        &self,
        op: impl FnOnce(&Inner, &mut Connection) -> DbResult<T>,
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
        let taken = tx
            .prepare_cached(TAKE_LOCK)?
            .execute(params![key, token, expires, now])?
            == 1;
        let stored = if taken { Some(load(&tx, &key)?) } else { None };
        tx.commit()?;
        Ok(stored)
    }

    /// Applies `writes` and does `after` with the request's lock, in one
    /// transaction. With `After::Keep`: the session as it stands then, if
    /// the lock is still the request's.
    fn apply(
        &self,
        conn: &mut Connection,
        writes: Vec<Write>,
        after: After<'_>,
    ) -> DbResult<Option<Option<Stored>>> {
        if writes.is_empty() && matches!(after, After::Nothing) {
            return Ok(None);
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for write in writes {
            self.apply_one(&tx, write)?;
        }
        let kept = match after {
            After::Nothing => None,
            After::Release(id, token) => {
                tx.prepare_cached(RELEASE_LOCK)?
                    .execute(params![id.to_string(), token])?;
                None
            }
            After::Keep(id, token) => {
                let key = id.to_string();
                let expires = now_ms().saturating_add(self.lock_ttl_ms);
                let renewed = tx
                    .prepare_cached(RENEW_LOCK)?
                    .execute(params![key, token, expires])?
                    == 1;
                if renewed {
                    Some(load(&tx, &key)?)
                } else {
                    None
                }
            }
        };
        tx.commit()?;
        Ok(kept)
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

fn release(conn: &mut Connection, id: SessionId, token: &str) -> DbResult<()> {
    conn.prepare_cached(RELEASE_LOCK)?
        .execute(params![id.to_string(), token])?;
    Ok(())
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

/// A shared lock being taken: if the request gives up half-way (its future
/// is dropped after the row was written), the row is released anyway.
struct Taking {
    inner: Arc<Inner>,
    id: SessionId,
    token: Option<String>,
}

impl Drop for Taking {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            let id = self.id;
            let _ = self
                .inner
                .with_conn(move |_, conn| release(conn, id, &token));
        }
    }
}

impl SessionStore for SqliteStore {
    fn open(
        &self,
        id: SessionId,
        wait: Duration,
    ) -> BoxFuture<'_, StoreResult<(SessionLock, Option<Stored>)>> {
        async move {
            let until = Instant::now() + wait;
            let local = self.inner.locks.lock(id, wait).await?;
            let (local, token) = match resume(local) {
                Resumed::Ready(lock, stored) => return Ok((lock, stored)),
                Resumed::Lock(local, token) => (local, token),
            };
            let mut taking = Taking {
                inner: self.inner.clone(),
                id,
                token: Some(token.clone()),
            };
            let mut pause = Duration::from_millis(1);
            loop {
                let attempt = token.clone();
                let opened = self
                    .run(move |inner, conn| inner.lock_and_load(conn, id, &attempt))
                    .await;
                match opened {
                    Ok(Some(stored)) => {
                        taking.token = None;
                        let lock = SessionLock {
                            local: Some(local),
                            shared: Some(token),
                        };
                        return Ok((lock, stored));
                    }
                    Ok(None) => {}
                    // The transaction rolled back; a kept lock is released by `taking`.
                    Err(err) => return Err(err),
                }
                // Another process holds it: poll again shortly.
                let now = Instant::now();
                if now >= until {
                    taking.token = None;
                    return Err(StoreError::LockTimeout);
                }
                tokio::time::sleep(jitter(pause).min(until - now)).await;
                pause = (pause * 2).min(MAX_POLL);
            }
        }
        .boxed()
    }

    /// Writes and releases in one transaction; when another request of this
    /// process waits for the session, hands it the lock instead.
    fn close(
        &self,
        writes: Vec<Write>,
        held: Option<(SessionId, SessionLock)>,
    ) -> BoxFuture<'_, StoreResult<()>> {
        let apply = |writes, after| {
            self.inner
                .with_conn(|inner, conn| inner.apply(conn, writes, after))
        };
        let Some((id, SessionLock { local, shared })) = held else {
            return std::future::ready(apply(writes, After::Nothing).map(drop)).boxed();
        };
        let result = match (local, shared) {
            (Some(local), Some(token)) if local.has_waiters() => {
                let (result, session) = match apply(writes, After::Keep(id, &token)) {
                    Ok(session) => (Ok(()), session),
                    Err(err) => (Err(err), None),
                };
                if let Err((kept, local)) = local.hand_over(Kept { token, session }) {
                    self.inner.release_logged(id, kept.token);
                    drop(local);
                }
                result
            }
            (local, shared) => {
                let after = shared
                    .as_deref()
                    .map_or(After::Nothing, |token| After::Release(id, token));
                let result = apply(writes, after).map(drop);
                if let (Err(_), Some(token)) = (&result, shared) {
                    // A failed transaction released nothing.
                    self.inner.release_logged(id, token);
                }
                // Only now may the next request of this process try the shared lock.
                drop(local);
                result
            }
        };
        std::future::ready(result).boxed()
    }

    fn unlock(&self, id: SessionId, lock: SessionLock) -> BoxFuture<'_, ()> {
        let SessionLock { local, shared } = lock;
        if let Some(token) = shared {
            self.inner.release_logged(id, token);
        }
        drop(local);
        std::future::ready(()).boxed()
    }

    fn count(&self) -> BoxFuture<'_, StoreResult<u64>> {
        self.run(move |inner, conn| inner.count(conn, now_ms()))
            .boxed()
    }

    fn sweep(&self, now: i64, _rules: Expiry) -> BoxFuture<'_, StoreResult<u64>> {
        self.run(move |inner, conn| inner.sweep(conn, now)).boxed()
    }

    fn name(&self) -> &'static str {
        "sqlite"
    }
}
