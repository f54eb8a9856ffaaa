//! Scripts' data: datasources in plain Rust, no Boa. The default one
//! (`DefaultDB`) is an embedded SQLite file; `--db` may name PostgreSQL
//! servers instead or besides. A script's calls are synchronous for it and
//! never block its worker thread: PostgreSQL waits in the script's fiber
//! (`fiber::wait`), SQLite runs in place and waits for another writer's
//! lock in the fiber too, and both stop at the script's deadline.

pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod time;

use std::fmt;
use std::sync::Arc;

use crate::fiber::Stop;

/// The name of the datasource a script gets when it names none.
pub const DEFAULT: &str = "DefaultDB";

/// A value going into a statement or coming out of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    /// An exact decimal number as text (PostgreSQL NUMERIC; a DECIMAL parameter).
    Decimal(String),
    Text(String),
    Blob(Vec<u8>),
    /// A point in time: milliseconds since the Unix epoch, UTC.
    Time(f64),
}

impl Value {
    /// What kind of value it is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::Real(_) | Value::Decimal(_) => "number",
            Value::Text(_) => "string",
            Value::Blob(_) => "byte array",
            Value::Time(_) => "date",
        }
    }
}

/// A column of a result.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// The database's name for its type (`INTEGER`, `int8`), empty when unknown.
    pub type_name: String,
}

/// Rows read whole (at most `--db-max-rows`).
#[derive(Debug, Default)]
pub struct Rows {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

/// What a statement gave: rows, or how many rows it changed.
pub enum Outcome {
    Rows(Rows),
    Changed(u64),
}

/// The database product behind a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Sqlite,
    Postgres,
}

impl System {
    /// Dirigible's `DatabaseSystem` name.
    pub fn name(self) -> &'static str {
        match self {
            System::Sqlite => "SQLITE",
            System::Postgres => "POSTGRESQL",
        }
    }

    pub fn product(self) -> &'static str {
        match self {
            System::Sqlite => "SQLite",
            System::Postgres => "PostgreSQL",
        }
    }
}

/// Why a database call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The database refused the statement (syntax, constraint, ...): the script's error.
    Sql,
    /// The database cannot be reached or failed underneath: 503.
    Unavailable,
    /// The script's wait was cut short (its deadline, its client gone).
    Stopped(Stop),
    /// A bound of blimp's (`--db-max-rows`).
    Limit,
    /// The call itself was wrong (parameters, a closed connection).
    Usage,
}

#[derive(Debug, Clone)]
pub struct DbError {
    pub kind: Kind,
    pub message: String,
    /// The database's code: PostgreSQL's SQLSTATE (`23505`), SQLite's
    /// result code name (`SQLITE_CONSTRAINT_UNIQUE`).
    pub code: Option<String>,
}

impl DbError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        DbError {
            kind,
            message: message.into(),
            code: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        DbError::new(Kind::Usage, message)
    }

    pub fn stopped(stop: Stop) -> Self {
        let message = match stop {
            Stop::Timeout => "the script ran longer than the timeout (--timeout)",
            Stop::Cancelled => "the script was stopped",
        };
        DbError::new(Kind::Stopped(stop), message)
    }

    pub fn is_unavailable(&self) -> bool {
        self.kind == Kind::Unavailable
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbError {}

pub type DbResult<T> = Result<T, DbError>;

/// Statement parameters: in order (`?`), or by name (`:name`).
#[derive(Debug, Clone)]
pub enum Params {
    Positional(Vec<Value>),
    Named(Vec<(String, Value)>),
}

impl Default for Params {
    fn default() -> Self {
        Params::Positional(Vec::new())
    }
}

/// Settings every datasource shares.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rows a query may return.
    pub max_rows: usize,
    /// Bytes a query's rows, or one value, may hold (the script's memory
    /// bound, `--max-script-memory`).
    pub max_bytes: usize,
    /// Connections a PostgreSQL datasource keeps at most.
    pub pool: usize,
    /// Certificates PostgreSQL over TLS trusts besides the usual roots.
    pub ca_file: Option<std::path::PathBuf>,
}

/// What the rows of one query may hold: `--db-max-rows` rows, and bytes
/// up to the script's memory bound, counted as they are read.
#[derive(Debug, Clone, Copy)]
pub struct RowLimits {
    pub rows: usize,
    pub bytes: usize,
}

impl RowLimits {
    /// Whether `rows` rows holding `bytes` are within the bounds.
    pub fn check(&self, rows: usize, bytes: usize) -> DbResult<()> {
        if rows > self.rows {
            let max = self.rows;
            return Err(DbError::new(
                Kind::Limit,
                format!("the query returned more than {max} rows (--db-max-rows): add a LIMIT, or read it in pages"),
            ));
        }
        if bytes > self.bytes {
            let mib = self.bytes >> 20;
            return Err(DbError::new(
                Kind::Limit,
                format!("the query's rows hold more than {mib} MiB (--max-script-memory): add a LIMIT, or read it in pages"),
            ));
        }
        Ok(())
    }
}

impl Value {
    /// About what it holds in memory.
    pub fn held(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::Decimal(t) | Value::Text(t) => t.len(),
                Value::Blob(b) => b.len(),
                _ => 0,
            }
    }
}

/// One datasource.
pub enum Source {
    Sqlite(sqlite::SqliteSource),
    Postgres(postgres::PgSource),
}

impl Source {
    pub fn system(&self) -> System {
        match self {
            Source::Sqlite(_) => System::Sqlite,
            Source::Postgres(_) => System::Postgres,
        }
    }

    /// Where it is, without a password.
    pub fn describe(&self) -> String {
        match self {
            Source::Sqlite(source) => format!("sqlite:{}", source.path().display()),
            Source::Postgres(source) => source.describe().to_string(),
        }
    }
}

/// Every datasource of the server, by name.
pub struct Datasources {
    sources: Vec<(String, Arc<Source>)>,
    settings: Settings,
}

/// What `--db` says: `URL` (the default datasource) or `NAME=URL`.
fn parse_spec(spec: &str) -> (Option<&str>, &str) {
    if let Some((name, url)) = spec.split_once('=') {
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if plain {
            return (Some(name), url);
        }
    }
    (None, spec)
}

impl Datasources {
    /// Opens every datasource `specs` name (`--db`), the default one being
    /// `default_url` unless a spec sets it. PostgreSQL connections are
    /// driven on `runtime`. Fails naming the datasource that cannot be opened.
    pub fn open(
        specs: &[String],
        default_url: &str,
        settings: Settings,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Datasources, String> {
        let mut named: Vec<(String, String)> = Vec::new();
        for spec in specs {
            let (name, url) = parse_spec(spec);
            let name = name.unwrap_or(DEFAULT);
            if named.iter().any(|(n, _)| n == name) {
                let what = if name == DEFAULT {
                    "the default datasource".to_string()
                } else {
                    format!("datasource {name}")
                };
                return Err(format!("--db: {what} is given twice"));
            }
            named.push((name.to_string(), url.to_string()));
        }
        if !named.iter().any(|(n, _)| n == DEFAULT) {
            named.insert(0, (DEFAULT.to_string(), default_url.to_string()));
        }
        let mut sources = Vec::with_capacity(named.len());
        for (name, url) in named {
            let source = Self::open_one(&url, &settings, runtime)
                .map_err(|e| format!("datasource {name} ({}): {e}", postgres::redact(&url)))?;
            sources.push((name, Arc::new(source)));
        }
        Ok(Datasources { sources, settings })
    }

    fn open_one(
        url: &str,
        settings: &Settings,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Source, String> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("sqlite: needs a file path (sqlite:data.db)".into());
            }
            return sqlite::SqliteSource::open(path.as_ref(), settings.max_bytes)
                .map(Source::Sqlite);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return postgres::PgSource::open(url, settings, runtime).map(Source::Postgres);
        }
        Err("unknown kind of datasource: use sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE".into())
    }

    /// The names of the datasources, the default first.
    pub fn names(&self) -> Vec<&str> {
        self.sources.iter().map(|(n, _)| n.as_str()).collect()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The datasource `name` names (`None` or empty: the default).
    pub fn get(&self, name: Option<&str>) -> DbResult<&Arc<Source>> {
        let name = name.filter(|n| !n.is_empty()).unwrap_or(DEFAULT);
        self.sources
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .ok_or_else(|| {
                DbError::usage(format!(
                    "no datasource named {name:?} (known: {}; add one with --db {name}=URL)",
                    self.names().join(", ")
                ))
            })
    }

    /// A connection of datasource `name`, from its pool. Waits in the
    /// script's fiber when it must (PostgreSQL).
    pub fn connect(&self, name: Option<&str>) -> DbResult<Connection> {
        let source = self.get(name)?;
        let inner = match &**source {
            Source::Sqlite(sqlite) => Inner::Sqlite(sqlite.take()?),
            Source::Postgres(pg) => Inner::Postgres(pg.take()?),
        };
        Ok(Connection {
            inner: Some(inner),
            source: source.clone(),
            auto_commit: true,
            in_transaction: false,
            aborted: false,
            limits: RowLimits {
                rows: self.settings.max_rows,
                bytes: self.settings.max_bytes,
            },
        })
    }

    /// The next value of sequence `name`, created at 1 on first use.
    pub fn nextval(&self, datasource: Option<&str>, name: &str) -> DbResult<i64> {
        let mut connection = self.connect(datasource)?;
        let value = connection.nextval(name);
        connection.release();
        value
    }

    /// Creates sequence `name` whose first value is `start`.
    pub fn create_sequence(
        &self,
        datasource: Option<&str>,
        name: &str,
        start: i64,
    ) -> DbResult<()> {
        let mut connection = self.connect(datasource)?;
        let done = connection.create_sequence(name, start);
        connection.release();
        done
    }

    pub fn drop_sequence(&self, datasource: Option<&str>, name: &str) -> DbResult<()> {
        let mut connection = self.connect(datasource)?;
        let done = connection.drop_sequence(name);
        connection.release();
        done
    }
}

enum Inner {
    Sqlite(sqlite::SqliteConn),
    Postgres(postgres::PgConn),
}

/// A connection lent to a script. Back to its pool when released or
/// dropped; a transaction still open then is rolled back.
pub struct Connection {
    /// `None` once given back.
    inner: Option<Inner>,
    source: Arc<Source>,
    auto_commit: bool,
    /// A transaction is open (begun by us, or by the script's own `BEGIN`).
    in_transaction: bool,
    /// PostgreSQL: a statement of the open transaction failed, so the
    /// server will roll it back whatever comes (its `COMMIT` answers
    /// `ROLLBACK` without an error): `commit` must say so.
    aborted: bool,
    limits: RowLimits,
}

impl Connection {
    pub fn system(&self) -> System {
        self.source.system()
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    pub fn auto_commit(&self) -> bool {
        self.auto_commit
    }

    fn inner(&mut self) -> DbResult<&mut Inner> {
        self.inner
            .as_mut()
            .ok_or_else(|| DbError::usage("the connection is closed"))
    }

    /// Opens the transaction a connection without auto-commit works in,
    /// before its first statement.
    fn begin_if_needed(&mut self) -> DbResult<()> {
        if self.auto_commit || self.in_transaction {
            return Ok(());
        }
        match self.inner()? {
            Inner::Sqlite(conn) => conn.begin()?,
            Inner::Postgres(conn) => conn.batch("BEGIN")?,
        }
        self.in_transaction = true;
        Ok(())
    }

    /// Runs one statement: its rows when it has result columns, else how
    /// many rows it changed.
    pub fn run(&mut self, sql: &str, params: &Params) -> DbResult<Outcome> {
        self.begin_if_needed()?;
        let (limits, in_transaction) = (self.limits, self.in_transaction);
        let outcome = match self.inner()? {
            Inner::Sqlite(conn) => conn.run(sql, params, limits),
            Inner::Postgres(conn) => match conn.run(sql, params, limits, in_transaction) {
                // Made at the same moment by another session: what the
                // clause asked for holds (outside a transaction, which the
                // error has ended).
                Err(err)
                    if !self.in_transaction
                        && postgres::lost_create_race(&err)
                        && sql::creates_if_not_exists(sql) =>
                {
                    Ok(Outcome::Changed(0))
                }
                other => other,
            },
        };
        // Only an error the server sent (it has a code) dooms its transaction.
        let refused = matches!(&outcome, Err(e) if e.kind == Kind::Sql && e.code.is_some());
        self.follow(sql, outcome.is_ok(), refused);
        outcome
    }

    /// Runs a query: its rows (none for a statement without result columns).
    pub fn query(&mut self, sql: &str, params: &Params) -> DbResult<Rows> {
        match self.run(sql, params)? {
            Outcome::Rows(rows) => Ok(rows),
            Outcome::Changed(_) => Ok(Rows::default()),
        }
    }

    /// Runs an update: how many rows it changed (for a query, how many it returned).
    pub fn update(&mut self, sql: &str, params: &Params) -> DbResult<u64> {
        match self.run(sql, params)? {
            Outcome::Rows(rows) => Ok(rows.rows.len() as u64),
            Outcome::Changed(n) => Ok(n),
        }
    }

    /// Notes a transaction the script opened or ended with its own SQL,
    /// and (PostgreSQL) one that a failed statement doomed.
    fn follow(&mut self, sql: &str, succeeded: bool, refused: bool) {
        if let Some(Inner::Sqlite(conn)) = &self.inner {
            self.in_transaction = conn.in_transaction();
            return;
        }
        match sql::leading_keyword(sql).as_deref() {
            Some("BEGIN" | "START") if succeeded => self.in_transaction = true,
            Some("COMMIT" | "END" | "ABORT") => self.in_transaction = false,
            Some("ROLLBACK") if !sql::is_rollback_to(sql) => self.in_transaction = false,
            // Back to a savepoint: the transaction goes on.
            Some("ROLLBACK") if succeeded => self.aborted = false,
            _ if refused && self.in_transaction => self.aborted = true,
            _ => {}
        }
        if !self.in_transaction {
            self.aborted = false;
        }
    }

    /// JDBC's setAutoCommit: turning it back on commits what is open.
    pub fn set_auto_commit(&mut self, on: bool) -> DbResult<()> {
        if on && !self.auto_commit && self.in_transaction {
            self.commit()?;
        }
        self.auto_commit = on;
        Ok(())
    }

    pub fn commit(&mut self) -> DbResult<()> {
        if !self.in_transaction {
            return Ok(());
        }
        if self.aborted {
            self.rollback()?;
            let mut err = DbError::new(
                Kind::Sql,
                "the transaction was rolled back, not committed: a statement in it failed \
                 (PostgreSQL ends a transaction at its first error; use a savepoint to go on after one)",
            );
            err.code = Some("25P02".into());
            return Err(err);
        }
        match self.inner()? {
            Inner::Sqlite(conn) => conn.commit()?,
            Inner::Postgres(conn) => conn.batch("COMMIT")?,
        }
        self.in_transaction = false;
        Ok(())
    }

    pub fn rollback(&mut self) -> DbResult<()> {
        if !self.in_transaction {
            return Ok(());
        }
        let done = match self.inner()? {
            Inner::Sqlite(conn) => conn.rollback(),
            Inner::Postgres(conn) => conn.batch("ROLLBACK"),
        };
        self.in_transaction = false;
        self.aborted = false;
        done
    }

    /// Whether the connection still works (PostgreSQL: its socket is open).
    pub fn is_valid(&self) -> bool {
        match &self.inner {
            None => false,
            Some(Inner::Sqlite(_)) => true,
            Some(Inner::Postgres(conn)) => !conn.is_closed(),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.inner.is_none()
    }

    /// The server's version (`SELECT version()` on PostgreSQL).
    pub fn version(&mut self) -> DbResult<String> {
        match self.inner()? {
            Inner::Sqlite(_) => Ok(rusqlite::version().to_string()),
            Inner::Postgres(conn) => conn.version(),
        }
    }

    fn nextval(&mut self, name: &str) -> DbResult<i64> {
        let name = sql::sequence_name(name)?;
        match self.inner()? {
            Inner::Sqlite(conn) => conn.nextval(&name),
            Inner::Postgres(conn) => conn.nextval(&name),
        }
    }

    fn create_sequence(&mut self, name: &str, start: i64) -> DbResult<()> {
        let name = sql::sequence_name(name)?;
        match self.inner()? {
            Inner::Sqlite(conn) => conn.create_sequence(&name, start),
            Inner::Postgres(conn) => {
                conn.batch(&format!("CREATE SEQUENCE {name} START WITH {start}"))
            }
        }
    }

    fn drop_sequence(&mut self, name: &str) -> DbResult<()> {
        let name = sql::sequence_name(name)?;
        match self.inner()? {
            Inner::Sqlite(conn) => conn.drop_sequence(&name),
            Inner::Postgres(conn) => conn.batch(&format!("DROP SEQUENCE {name}")),
        }
    }

    /// Gives the connection back to its pool, rolling back what is open.
    /// A PostgreSQL connection whose rollback cannot be waited for (the
    /// script was stopped) is closed instead: the server rolls back.
    pub fn release(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let open = self.in_transaction;
        self.in_transaction = false;
        match (inner, &*self.source) {
            (Inner::Sqlite(conn), Source::Sqlite(source)) => source.give(conn),
            (Inner::Postgres(conn), _) => conn.release(open),
            (Inner::Sqlite(_), _) => {}
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.release();
    }
}
