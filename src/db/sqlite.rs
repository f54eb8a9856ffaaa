//! An embedded SQLite datasource: one file, WAL, nothing to install.
//!
//! Statements run right on the script's thread (they take microseconds; a
//! hop to another thread would cost more). What could hold the thread is
//! bounded instead:
//!
//! - a long statement: a progress handler checks the script's deadline
//!   every few thousand virtual-machine steps and interrupts it (the
//!   script then ends in the usual 503);
//! - another writer's lock: the busy timeout is 0, and a statement that
//!   finds the database locked waits in the script's fiber (a short sleep,
//!   then again) until the deadline. Its thread serves other requests
//!   meanwhile, the lock's holder among them when it is a suspended
//!   request of the same thread, which a sleeping busy handler would wait
//!   for forever.
//!
//! A transaction (auto-commit off) begins with `BEGIN IMMEDIATE` at its
//! first statement: it holds the write lock from the start, so a
//! read-then-write transaction never fails half-way on a newer snapshot.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ffi, Connection, ErrorCode, OpenFlags};

use super::{
    sql, time, Column, DbError, DbResult, Kind, Outcome, Params, RowLimits, Rows, System, Value,
};
use crate::fiber;

/// Virtual-machine steps between two looks at the deadline.
const PROGRESS_STEPS: i32 = 4000;
/// Idle connections kept per datasource.
const KEEP_IDLE: usize = 32;
/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;
/// The longest pause between two tries at a locked database.
const MAX_PAUSE: Duration = Duration::from_millis(8);
/// What `PRAGMA application_id` says in blimp's sessions file.
const SESSIONS_APPLICATION_ID: i32 = 0x626c_6d70;

const SEQUENCES: &str = "CREATE TABLE IF NOT EXISTS blimp_sequences (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID";
const NEXTVAL: &str = "INSERT INTO blimp_sequences (name, value) VALUES (?1, 1)
    ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value";

pub struct SqliteSource {
    path: PathBuf,
    /// SQLite's largest string or blob (`SQLITE_LIMIT_LENGTH`).
    max_length: i32,
    idle: Mutex<Vec<Connection>>,
}

pub struct SqliteConn {
    conn: Connection,
}

impl SqliteSource {
    /// Opens (creating when missing) the file at `path` in WAL mode.
    pub fn open(path: &Path, max_length: usize) -> Result<SqliteSource, String> {
        let max_length = max_length.min(i32::MAX as usize) as i32;
        let conn = connect(path, max_length).map_err(|e| e.to_string())?;
        let application: i32 = conn
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .map_err(|e| e.to_string())?;
        if application == SESSIONS_APPLICATION_ID {
            return Err(
                "this is blimp's sessions file: give the scripts' data a file of its own".into(),
            );
        }
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| e.to_string())?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("cannot use WAL mode (journal_mode is {mode})"));
        }
        Ok(SqliteSource {
            path: path.to_path_buf(),
            max_length,
            idle: Mutex::new(vec![conn]),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An idle connection, or a new one.
    pub fn take(&self) -> DbResult<SqliteConn> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => connect(&self.path, self.max_length).map_err(|e| error(&e))?,
        };
        Ok(SqliteConn { conn })
    }

    /// Takes a connection back, rolling back what it left open.
    pub fn give(&self, conn: SqliteConn) {
        let conn = conn.conn;
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            return; // closed instead: SQLite rolls back
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < KEEP_IDLE {
            idle.push(conn);
        }
    }
}

fn connect(path: &Path, max_length: i32) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::ZERO)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.progress_handler(PROGRESS_STEPS, Some(must_stop));
    // No string or blob larger than a script may hold: SQLite refuses to
    // make one ("string or blob too big") instead of allocating it.
    // SAFETY: the handle is this open connection's, used on this thread.
    unsafe {
        rusqlite::ffi::sqlite3_limit(
            conn.handle(),
            rusqlite::ffi::SQLITE_LIMIT_LENGTH,
            max_length,
        );
    }
    Ok(conn)
}

/// The progress handler: true interrupts the statement.
fn must_stop() -> bool {
    fiber::current().is_some_and(|state| state.stopped().is_some())
}

impl SqliteConn {
    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    pub fn begin(&mut self) -> DbResult<()> {
        patiently(|| self.conn.execute_batch("BEGIN IMMEDIATE"))
    }

    pub fn commit(&mut self) -> DbResult<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        patiently(|| self.conn.execute_batch("COMMIT"))
    }

    pub fn rollback(&mut self) -> DbResult<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(|e| error(&e))
    }

    pub fn run(&mut self, text: &str, params: &Params, limits: RowLimits) -> DbResult<Outcome> {
        let (text, values) = sql::prepare(text, params, System::Sqlite)?;
        let conn = &self.conn;
        patiently(|| {
            let mut statement = conn.prepare_cached(&text)?;
            let expected = statement.parameter_count();
            if expected != values.len() {
                return Ok(Err(DbError::usage(format!(
                    "the statement has {expected} parameter{}, {} given",
                    if expected == 1 { "" } else { "s" },
                    values.len()
                ))));
            }
            for (i, value) in values.iter().enumerate() {
                statement.raw_bind_parameter(i + 1, Bound(value))?;
            }
            let count = statement.column_count();
            if count == 0 {
                let before = conn.total_changes();
                statement.raw_execute()?;
                let changed = if conn.total_changes() == before {
                    0
                } else {
                    conn.changes()
                };
                return Ok(Ok(Outcome::Changed(changed)));
            }
            let columns: Vec<(Column, Decl)> = statement
                .columns()
                .iter()
                .map(|c| {
                    let type_name = c.decl_type().unwrap_or("").to_string();
                    let decl = Decl::of(&type_name);
                    (
                        Column {
                            name: c.name().to_string(),
                            type_name,
                        },
                        decl,
                    )
                })
                .collect();
            let (mut rows, mut held) = (Vec::new(), 0);
            let mut cursor = statement.raw_query();
            while let Some(row) = cursor.next()? {
                let mut values = Vec::with_capacity(count);
                for (i, (_, decl)) in columns.iter().enumerate() {
                    let value = value_of(row.get_ref(i)?, *decl);
                    held += value.held();
                    values.push(value);
                }
                if let Err(err) = limits.check(rows.len() + 1, held) {
                    return Ok(Err(err));
                }
                rows.push(values);
            }
            Ok(Ok(Outcome::Rows(Rows {
                columns: columns.into_iter().map(|(c, _)| c).collect(),
                rows,
            })))
        })?
    }

    pub fn nextval(&mut self, name: &str) -> DbResult<i64> {
        let conn = &self.conn;
        let next = || {
            conn.prepare_cached(NEXTVAL)?
                .query_row([name], |row| row.get(0))
        };
        match patiently(next) {
            Err(e) if e.message.contains("no such table") => {
                patiently(|| conn.execute_batch(SEQUENCES))?;
                patiently(next)
            }
            other => other,
        }
    }

    pub fn create_sequence(&mut self, name: &str, start: i64) -> DbResult<()> {
        let conn = &self.conn;
        patiently(|| conn.execute_batch(SEQUENCES))?;
        let inserted = patiently(|| {
            conn.execute(
                "INSERT INTO blimp_sequences (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                rusqlite::params![name, start.saturating_sub(1)],
            )
        })?;
        if inserted == 0 {
            return Err(DbError {
                kind: Kind::Sql,
                message: format!("sequence {name} already exists"),
                code: Some("SQLITE_CONSTRAINT_PRIMARYKEY".into()),
            });
        }
        Ok(())
    }

    pub fn drop_sequence(&mut self, name: &str) -> DbResult<()> {
        let conn = &self.conn;
        let deleted =
            match patiently(|| conn.execute("DELETE FROM blimp_sequences WHERE name = ?1", [name]))
            {
                Err(e) if e.message.contains("no such table") => 0,
                other => other?,
            };
        if deleted == 0 {
            return Err(DbError {
                kind: Kind::Sql,
                message: format!("sequence {name} does not exist"),
                code: None,
            });
        }
        Ok(())
    }
}

/// Runs `op`, and again while the database is locked by another writer,
/// waiting in the script's fiber in between (the thread serves others),
/// until the script's deadline.
fn patiently<T>(mut op: impl FnMut() -> rusqlite::Result<T>) -> DbResult<T> {
    let mut pause = Duration::from_micros(500);
    loop {
        match op() {
            Ok(value) => return Ok(value),
            Err(err) if is_busy(&err) => {
                fiber::wait(tokio::time::sleep(pause)).map_err(DbError::stopped)?;
                pause = (pause * 2).min(MAX_PAUSE);
            }
            Err(err) => return Err(error(&err)),
        }
    }
}

/// Locked by another connection, in a way that waiting can cure (not a
/// snapshot that is already stale).
fn is_busy(err: &rusqlite::Error) -> bool {
    match err {
        rusqlite::Error::SqliteFailure(e, _) => {
            matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                && e.extended_code != ffi::SQLITE_BUSY_SNAPSHOT
        }
        _ => false,
    }
}

/// A rusqlite error as the script sees it.
fn error(err: &rusqlite::Error) -> DbError {
    match err {
        rusqlite::Error::SqliteFailure(e, message) => {
            if e.code == ErrorCode::OperationInterrupted {
                let stop = fiber::current()
                    .and_then(|s| s.stopped())
                    .unwrap_or(fiber::Stop::Timeout);
                return DbError::stopped(stop);
            }
            let kind = match e.code {
                ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
                | ErrorCode::DatabaseCorrupt
                | ErrorCode::NotADatabase
                | ErrorCode::DiskFull
                | ErrorCode::FileLockingProtocolFailed
                | ErrorCode::PermissionDenied
                | ErrorCode::OutOfMemory => Kind::Unavailable,
                _ => Kind::Sql,
            };
            DbError {
                kind,
                message: message.clone().unwrap_or_else(|| e.to_string()),
                code: Some(code_name(e.extended_code)),
            }
        }
        rusqlite::Error::SqlInputError {
            error, msg, offset, ..
        } => DbError {
            kind: Kind::Sql,
            message: format!("{msg} (at offset {offset} of the statement)"),
            code: Some(code_name(error.extended_code)),
        },
        other => DbError::new(Kind::Usage, other.to_string()),
    }
}

/// SQLite's name for a (possibly extended) result code.
fn code_name(code: i32) -> String {
    let extended = match code {
        261 => Some("SQLITE_BUSY_RECOVERY"),
        517 => Some("SQLITE_BUSY_SNAPSHOT"),
        773 => Some("SQLITE_BUSY_TIMEOUT"),
        275 => Some("SQLITE_CONSTRAINT_CHECK"),
        531 => Some("SQLITE_CONSTRAINT_COMMITHOOK"),
        787 => Some("SQLITE_CONSTRAINT_FOREIGNKEY"),
        1043 => Some("SQLITE_CONSTRAINT_FUNCTION"),
        1299 => Some("SQLITE_CONSTRAINT_NOTNULL"),
        1555 => Some("SQLITE_CONSTRAINT_PRIMARYKEY"),
        1811 => Some("SQLITE_CONSTRAINT_TRIGGER"),
        2067 => Some("SQLITE_CONSTRAINT_UNIQUE"),
        2323 => Some("SQLITE_CONSTRAINT_VTAB"),
        2579 => Some("SQLITE_CONSTRAINT_ROWID"),
        3091 => Some("SQLITE_CONSTRAINT_DATATYPE"),
        264 => Some("SQLITE_READONLY_RECOVERY"),
        1032 => Some("SQLITE_READONLY_DBMOVED"),
        _ => None,
    };
    if let Some(name) = extended {
        return name.to_string();
    }
    let primary = match code & 0xff {
        1 => "SQLITE_ERROR",
        2 => "SQLITE_INTERNAL",
        3 => "SQLITE_PERM",
        4 => "SQLITE_ABORT",
        5 => "SQLITE_BUSY",
        6 => "SQLITE_LOCKED",
        7 => "SQLITE_NOMEM",
        8 => "SQLITE_READONLY",
        9 => "SQLITE_INTERRUPT",
        10 => "SQLITE_IOERR",
        11 => "SQLITE_CORRUPT",
        12 => "SQLITE_NOTFOUND",
        13 => "SQLITE_FULL",
        14 => "SQLITE_CANTOPEN",
        15 => "SQLITE_PROTOCOL",
        17 => "SQLITE_SCHEMA",
        18 => "SQLITE_TOOBIG",
        19 => "SQLITE_CONSTRAINT",
        20 => "SQLITE_MISMATCH",
        21 => "SQLITE_MISUSE",
        22 => "SQLITE_NOLFS",
        23 => "SQLITE_AUTH",
        25 => "SQLITE_RANGE",
        26 => "SQLITE_NOTADB",
        _ => return format!("SQLITE_{code}"),
    };
    primary.to_string()
}

/// What a column's declared type says about its values: SQLite keeps
/// booleans as 0/1 and dates as text, and a column declared BOOLEAN or
/// DATE/DATETIME/TIMESTAMP gives them back as such.
#[derive(Clone, Copy)]
enum Decl {
    Plain,
    Bool,
    Date,
}

impl Decl {
    fn of(declared: &str) -> Decl {
        let upper = declared.trim().to_ascii_uppercase();
        if upper == "BOOLEAN" || upper == "BOOL" {
            Decl::Bool
        } else if upper.starts_with("DATE") || upper.starts_with("TIMESTAMP") {
            Decl::Date
        } else {
            Decl::Plain
        }
    }
}

fn value_of(value: ValueRef<'_>, decl: Decl) -> Value {
    match (value, decl) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(i), Decl::Bool) => Value::Bool(i != 0),
        (ValueRef::Integer(i), _) => Value::Int(i),
        (ValueRef::Real(f), _) => Value::Real(f),
        (ValueRef::Text(t), Decl::Date) => {
            let text = String::from_utf8_lossy(t);
            match time::parse(&text) {
                Some(ms) => Value::Time(ms),
                None => Value::Text(text.into_owned()),
            }
        }
        (ValueRef::Text(t), _) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        (ValueRef::Blob(b), _) => Value::Blob(b.to_vec()),
    }
}

/// A value bound to a statement.
struct Bound<'a>(&'a Value);

impl rusqlite::ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(b) => ToSqlOutput::Owned(i64::from(*b).into()),
            Value::Int(i) => ToSqlOutput::Owned((*i).into()),
            Value::Real(f) => ToSqlOutput::Owned((*f).into()),
            Value::Decimal(text) | Value::Text(text) => {
                ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))
            }
            Value::Blob(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
            Value::Time(ms) => ToSqlOutput::Owned(time::iso(*ms).into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes_have_their_names() {
        assert_eq!(code_name(2067), "SQLITE_CONSTRAINT_UNIQUE");
        assert_eq!(code_name(1), "SQLITE_ERROR");
        assert_eq!(code_name(5 | (9 << 8)), "SQLITE_BUSY");
    }
}
