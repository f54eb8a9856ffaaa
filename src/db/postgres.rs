//! A PostgreSQL datasource: `tokio-postgres` connections in a
//! `deadpool-postgres` pool, driven on the store runtime's thread. A
//! script's call waits in its fiber (`fiber::wait`), so its worker serves
//! other requests meanwhile.
//!
//! TLS (rustls) when the URL asks for it (`sslmode=require`, or `prefer`),
//! the server's certificate always verified against the usual roots and
//! `--ca-file`; without `sslmode`, plain TCP.
//! Parameters are bound in binary, converted to the type the server
//! inferred for each (`int4`, `numeric`, `timestamptz`, ...); result
//! columns are read by their type, see `decode`.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use deadpool_postgres::{Connect, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{FromSql, IsNull, Kind as PgKind, ToSql, Type};
use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{
    sql, time, Column, DbError, DbResult, Kind, Outcome, Params, RowLimits, Rows, Settings, System,
    Value,
};
use crate::fiber;

/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements a connection keeps before it forgets them all.
const STATEMENT_CACHE: usize = 256;
/// PostgreSQL's epoch (2000-01-01) in Unix milliseconds.
const PG_EPOCH_MS: i64 = 946_684_800_000;

pub struct PgSource {
    pool: Pool,
    described: String,
    runtime: tokio::runtime::Handle,
    tls: MakeRustlsConnect,
}

pub struct PgConn {
    client: Option<Object>,
    runtime: tokio::runtime::Handle,
    tls: MakeRustlsConnect,
    /// A wait was cut short mid-statement: the connection is not reused.
    interrupted: bool,
}

/// `url` without its password.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{scheme}://{name}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Connects on the store runtime, where the connection's task then runs.
struct OnRuntime(tokio::runtime::Handle, MakeRustlsConnect);

impl Connect for OnRuntime {
    fn connect(
        &self,
        config: &tokio_postgres::Config,
    ) -> BoxFuture<'_, Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>> {
        let config = config.clone();
        let (handle, tls) = (self.0.clone(), self.1.clone());
        Box::pin(async move {
            let connecting = handle.spawn(async move {
                let (client, connection) = config.connect(tls).await?;
                let task = tokio::spawn(async move {
                    if let Err(err) = connection.await {
                        tracing::warn!("a PostgreSQL connection ended: {err}");
                    }
                });
                Ok((client, task))
            });
            match connecting.await {
                Ok(connected) => connected,
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                // The runtime shuts down: the script's deadline ends the wait.
                Err(_) => std::future::pending().await,
            }
        })
    }
}

impl PgSource {
    /// A pool for `url`; one connection is made at once to prove it works.
    pub fn open(
        url: &str,
        settings: &Settings,
        runtime: &tokio::runtime::Handle,
    ) -> Result<PgSource, String> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
        // tokio-postgres would try TLS by default (`prefer`) and, unlike
        // libpq, not fall back to plain TCP when the certificate is not
        // trusted: TLS only when the URL asks for it.
        if !url.contains("sslmode=") {
            config.ssl_mode(SslMode::Disable);
        }
        let tls = tls(settings.ca_file.as_deref())?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("blimp");
        }
        let manager = Manager::from_connect(
            config,
            OnRuntime(runtime.clone(), tls.clone()),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool.max(1))
            .build()
            .map_err(|e| e.to_string())?;
        let proof = runtime.block_on(async {
            let client = pool.get().await.map_err(|e| pool_error(&e).message)?;
            client
                .simple_query("SELECT 1")
                .await
                .map(drop)
                .map_err(|e| error(&e).message)
        });
        proof?;
        Ok(PgSource {
            pool,
            described: redact(url),
            runtime: runtime.clone(),
            tls,
        })
    }

    pub fn describe(&self) -> &str {
        &self.described
    }

    /// A connection from the pool, waiting in the script's fiber.
    pub fn take(&self) -> DbResult<PgConn> {
        let client = fiber::wait(self.pool.get())
            .map_err(DbError::stopped)?
            .map_err(|e| pool_error(&e))?;
        Ok(PgConn {
            client: Some(client),
            runtime: self.runtime.clone(),
            tls: self.tls.clone(),
            interrupted: false,
        })
    }
}

impl PgConn {
    fn client(&self) -> &Object {
        self.client.as_ref().expect("a client until released")
    }

    /// Waits for `future` in the script's fiber; a wait cut short marks
    /// the connection unusable and asks the server to cancel the statement.
    fn wait<T>(
        &mut self,
        future: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> DbResult<T> {
        match fiber::wait(future) {
            Ok(result) => result.map_err(|e| error(&e)),
            Err(stop) => {
                self.interrupted = true;
                Err(DbError::stopped(stop))
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.client.as_ref().is_none_or(|c| c.is_closed())
    }

    pub fn batch(&mut self, text: &str) -> DbResult<()> {
        let client = self.client.take().expect("a client until released");
        let done = self.wait(client.batch_execute(text));
        self.client = Some(client);
        done
    }

    pub fn version(&mut self) -> DbResult<String> {
        match self.run("SELECT version()", &Params::default(), ONE_ROW, false)? {
            Outcome::Rows(rows) => match rows.rows.first().and_then(|r| r.first()) {
                Some(Value::Text(text)) => Ok(text.clone()),
                _ => Ok(String::new()),
            },
            Outcome::Changed(_) => Ok(String::new()),
        }
    }

    /// Runs a statement, prepared once per connection. When the tables
    /// under a cached statement changed (a table made again with other
    /// types), it is prepared anew and run once more: always when a
    /// parameter no longer fits its prepared type (nothing was sent yet),
    /// and outside a transaction when the server refused it (inside one,
    /// that error has ended the transaction).
    pub fn run(
        &mut self,
        text: &str,
        params: &Params,
        limits: RowLimits,
        in_transaction: bool,
    ) -> DbResult<Outcome> {
        let (text, values) = sql::prepare(text, params, System::Postgres)?;
        match self.run_prepared(&text, &values, limits) {
            Err(err) if unbound(&err) || (!in_transaction && changed_under(&err)) => {
                self.client().statement_cache.remove(&text, &[]);
                self.run_prepared(&text, &values, limits)
            }
            other => other,
        }
    }

    fn run_prepared(
        &mut self,
        text: &str,
        values: &[&Value],
        limits: RowLimits,
    ) -> DbResult<Outcome> {
        let client = self.client.take().expect("a client until released");
        let outcome = self.run_on(&client, text, values, limits);
        self.client = Some(client);
        outcome
    }

    fn run_on(
        &mut self,
        client: &Object,
        text: &str,
        values: &[&Value],
        limits: RowLimits,
    ) -> DbResult<Outcome> {
        if client.statement_cache.size() >= STATEMENT_CACHE {
            client.statement_cache.clear();
        }
        let statement = self.wait(client.prepare_cached(text))?;
        let expected = statement.params().len();
        if expected != values.len() {
            return Err(DbError::usage(format!(
                "the statement has {expected} parameter{}, {} given",
                if expected == 1 { "" } else { "s" },
                values.len()
            )));
        }
        let bound = values.iter().map(|v| Bound(v));
        if statement.columns().is_empty() {
            let changed = self.wait(client.execute_raw(&statement, bound))?;
            return Ok(Outcome::Changed(changed));
        }
        let columns: Vec<Column> = statement
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_string(),
                type_name: c.type_().name().to_string(),
            })
            .collect();
        let stream = self.wait(client.query_raw(&statement, bound))?;
        let mut stream = std::pin::pin!(stream);
        let (mut rows, mut held) = (Vec::new(), 0);
        loop {
            let next = match fiber::wait(stream.next()) {
                Ok(next) => next,
                Err(stop) => {
                    self.interrupted = true;
                    return Err(DbError::stopped(stop));
                }
            };
            let Some(row) = next else { break };
            let row = row.map_err(|e| error(&e))?;
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                let Decoded(value) = row.try_get(i).map_err(|e| error(&e))?;
                held += value.held();
                values.push(value);
            }
            limits.check(rows.len() + 1, held)?;
            rows.push(values);
        }
        Ok(Outcome::Rows(Rows { columns, rows }))
    }

    pub fn nextval(&mut self, name: &str) -> DbResult<i64> {
        let params = Params::Positional(vec![Value::Text(name.to_string())]);
        let next = |conn: &mut PgConn| -> DbResult<i64> {
            match conn.run(
                "SELECT nextval($1::text::regclass)",
                &params,
                ONE_ROW,
                false,
            )? {
                Outcome::Rows(rows) => match rows.rows.first().and_then(|r| r.first()) {
                    Some(Value::Int(n)) => Ok(*n),
                    _ => Err(DbError::usage("nextval gave no number")),
                },
                Outcome::Changed(_) => Err(DbError::usage("nextval gave no number")),
            }
        };
        match next(self) {
            // 42P01: undefined_table, the sequence does not exist yet.
            Err(err) if err.code.as_deref() == Some("42P01") => {
                match self.batch(&format!("CREATE SEQUENCE IF NOT EXISTS {name}")) {
                    Err(err) if !lost_create_race(&err) => Err(err),
                    _ => next(self),
                }
            }
            other => other,
        }
    }

    /// Back to the pool; with a transaction open, rolled back first. A
    /// connection that cannot be rolled back, or whose statement was cut
    /// short, is closed instead (the server then rolls back itself).
    pub fn release(mut self, open: bool) {
        let Some(client) = self.client.take() else {
            return;
        };
        let mut reusable = !self.interrupted && !client.is_closed();
        if reusable && open {
            reusable = matches!(fiber::wait(client.batch_execute("ROLLBACK")), Ok(Ok(())));
        }
        if !reusable {
            if self.interrupted && !client.is_closed() {
                let (token, tls) = (client.cancel_token(), self.tls.clone());
                self.runtime.spawn(async move {
                    let _ = token.cancel_query(tls).await;
                });
            }
            drop(Object::take(client));
        }
    }
}

/// What a `CREATE … IF NOT EXISTS` gets when another session created the
/// same object at the same moment, which the clause does not guard
/// against: 23505 on a catalog's unique index, or 42P07 / 42710.
pub fn lost_create_race(err: &DbError) -> bool {
    matches!(err.code.as_deref(), Some("23505" | "42P07" | "42710"))
}

/// The TLS client: the usual roots (webpki-roots, as `fetch`), and those
/// of `--ca-file`.
fn tls(ca_file: Option<&std::path::Path>) -> Result<MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for certificate in crate::outbound::extra_roots(ca_file)? {
        roots
            .add(certificate)
            .map_err(|e| format!("--ca-file: {e}"))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// A pool's failure to lend a connection.
fn pool_error(err: &deadpool_postgres::PoolError) -> DbError {
    use deadpool_postgres::PoolError;
    let message = match err {
        PoolError::Backend(e) => return unreachable_server(e),
        PoolError::Timeout(_) => "timed out waiting for a PostgreSQL connection".to_string(),
        PoolError::Closed => "the PostgreSQL pool is closed".to_string(),
        other => other.to_string(),
    };
    DbError::new(Kind::Unavailable, message)
}

fn unreachable_server(err: &tokio_postgres::Error) -> DbError {
    if err.as_db_error().is_some() {
        // Refused by the server itself (authentication, no such database).
        let mut refused = error(err);
        refused.kind = Kind::Unavailable;
        return refused;
    }
    DbError::new(
        Kind::Unavailable,
        format!(
            "cannot connect to PostgreSQL: {}",
            crate::outbound::explain_tls(&with_sources(err))
        ),
    )
}

/// An error and its causes, in one line.
fn with_sources(err: &dyn StdError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A tokio-postgres error as the script sees it.
fn error(err: &tokio_postgres::Error) -> DbError {
    if let Some(db) = err.as_db_error() {
        let message = match db.detail() {
            Some(detail) => format!("{}: {detail}", db.message()),
            None => db.message().to_string(),
        };
        return DbError {
            kind: Kind::Sql,
            message,
            code: Some(db.code().code().to_string()),
        };
    }
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(Conversion(code, _)) = cause.downcast_ref::<Conversion>() {
            let mut usage = DbError::usage(with_sources(err));
            usage.code = Some(code.to_string());
            return usage;
        }
        source = cause.source();
    }
    if err.is_closed() {
        return DbError::new(Kind::Unavailable, "the connection to PostgreSQL was lost");
    }
    DbError::new(
        Kind::Unavailable,
        format!("PostgreSQL: {}", with_sources(err)),
    )
}

/// For the statements blimp runs itself, which answer one row.
const ONE_ROW: RowLimits = RowLimits {
    rows: 1,
    bytes: 1 << 20,
};

/// The server refused a prepared statement whose tables may have changed
/// under it: its result's types (0A000) or its parameters' (42804
/// datatype_mismatch).
fn changed_under(err: &DbError) -> bool {
    match err.code.as_deref() {
        Some("0A000") => err.message.contains("cached plan"),
        Some("42804") => err.kind == Kind::Sql,
        _ => false,
    }
}

/// A parameter that did not fit the type the statement was prepared with,
/// found before anything was sent (tokio-postgres names it so).
fn unbound(err: &DbError) -> bool {
    err.kind == Kind::Usage && err.message.starts_with("error serializing parameter")
}

/// A value that does not fit the type of its parameter or column, with
/// the SQLSTATE the server gives the same mistake.
#[derive(Debug)]
struct Conversion(&'static str, String);

/// 22P02 invalid_text_representation, 22003 numeric_value_out_of_range,
/// 22007 invalid_datetime_format, 42804 datatype_mismatch, 0A000
/// feature_not_supported, XX000 internal_error.
const INVALID_TEXT: &str = "22P02";
const OUT_OF_RANGE: &str = "22003";
const INVALID_DATE: &str = "22007";
const TYPE_MISMATCH: &str = "42804";
const NOT_SUPPORTED: &str = "0A000";
const INTERNAL: &str = "XX000";

impl fmt::Display for Conversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.1)
    }
}

impl StdError for Conversion {}

type BoxError = Box<dyn StdError + Sync + Send>;

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    Box::new(Conversion(
        TYPE_MISMATCH,
        format!(
            "cannot use a {} as a value of type {}",
            value.kind(),
            ty.name()
        ),
    ))
}

// Type ids of the built-in types read and written here.
mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
    pub const VOID: u32 = 2278;
}

/// Types whose binary form is their UTF-8 text.
fn is_text(ty: &Type) -> bool {
    matches!(
        ty.oid(),
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN | oid::XML
    ) || matches!(ty.kind(), PgKind::Enum(_))
        || matches!(ty.name(), "citext" | "ltree" | "lquery")
}

/// The base type of a domain.
fn base(ty: &Type) -> &Type {
    match ty.kind() {
        PgKind::Domain(inner) => base(inner),
        _ => ty,
    }
}

/// A value bound to a statement parameter.
#[derive(Debug)]
struct Bound<'a>(&'a Value);

impl ToSql for Bound<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        encode(self.0, base(ty), out)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn int_in(value: &Value, ty: &Type, min: i64, max: i64) -> Result<i64, BoxError> {
    let n = match value {
        Value::Int(i) => *i,
        Value::Bool(b) => i64::from(*b),
        Value::Real(f) if f.fract() == 0.0 && f.abs() < 9.3e18 => *f as i64,
        Value::Text(t) | Value::Decimal(t) => t.trim().parse().map_err(|_| {
            Conversion(
                INVALID_TEXT,
                format!("{t:?} is not an integer (type {})", ty.name()),
            )
        })?,
        _ => return Err(mismatch(value, ty)),
    };
    if n < min || n > max {
        return Err(Box::new(Conversion(
            OUT_OF_RANGE,
            format!("{n} is out of range for type {}", ty.name()),
        )));
    }
    Ok(n)
}

fn float_in(value: &Value, ty: &Type) -> Result<f64, BoxError> {
    Ok(match value {
        Value::Int(i) => *i as f64,
        Value::Real(f) => *f,
        Value::Text(t) | Value::Decimal(t) => t.trim().parse().map_err(|_| {
            Conversion(
                INVALID_TEXT,
                format!("{t:?} is not a number (type {})", ty.name()),
            )
        })?,
        _ => return Err(mismatch(value, ty)),
    })
}

fn time_in(value: &Value, ty: &Type) -> Result<f64, BoxError> {
    Ok(match value {
        Value::Time(ms) | Value::Real(ms) => *ms,
        Value::Int(ms) => *ms as f64,
        Value::Text(t) => time::parse(t).ok_or_else(|| {
            Conversion(
                INVALID_DATE,
                format!("{t:?} is not a date (type {})", ty.name()),
            )
        })?,
        _ => return Err(mismatch(value, ty)),
    })
}

/// Microseconds since midnight, for a TIME parameter: a time of day as
/// text keeps its microseconds; a point in time gives its time of day in
/// UTC (as `getTime` reads it back).
fn time_of_day_in(value: &Value, ty: &Type) -> Result<i64, BoxError> {
    if let Value::Text(t) = value {
        if let Some(micros) = time::time_of_day(t) {
            return Ok(micros);
        }
    }
    let ms = time_in(value, ty)?;
    if !ms.is_finite() {
        return Err(Box::new(Conversion(INVALID_DATE, "an invalid time".into())));
    }
    Ok((ms.rem_euclid(86_400_000.0) * 1000.0).round() as i64)
}

/// A value's text, for text and JSON parameters.
fn text_of(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null | Value::Blob(_) => return None,
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Decimal(t) | Value::Text(t) => t.clone(),
        Value::Time(ms) => time::iso(*ms),
    })
}

fn encode(value: &Value, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    if *value == Value::Null {
        return Ok(IsNull::Yes);
    }
    match ty.oid() {
        oid::BOOL => {
            let b = match value {
                Value::Bool(b) => *b,
                Value::Int(i) => *i != 0,
                Value::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                    "true" | "t" | "yes" | "on" | "1" => true,
                    "false" | "f" | "no" | "off" | "0" => false,
                    _ => return Err(mismatch(value, ty)),
                },
                _ => return Err(mismatch(value, ty)),
            };
            out.put_u8(u8::from(b));
        }
        oid::INT2 => out.put_i16(int_in(value, ty, i16::MIN.into(), i16::MAX.into())? as i16),
        oid::INT4 => out.put_i32(int_in(value, ty, i32::MIN.into(), i32::MAX.into())? as i32),
        oid::INT8 => out.put_i64(int_in(value, ty, i64::MIN, i64::MAX)?),
        oid::OID => out.put_u32(int_in(value, ty, 0, u32::MAX.into())? as u32),
        oid::CHAR => out.put_i8(int_in(value, ty, i8::MIN.into(), i8::MAX.into())? as i8),
        oid::FLOAT4 => out.put_f32(float_in(value, ty)? as f32),
        oid::FLOAT8 => out.put_f64(float_in(value, ty)?),
        oid::NUMERIC => {
            let text = match value {
                Value::Real(f) if f.is_nan() => "NaN".to_string(),
                Value::Real(f) if f.is_infinite() => {
                    if *f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
                }
                Value::Int(_) | Value::Real(_) | Value::Decimal(_) | Value::Text(_) => {
                    text_of(value).unwrap_or_default()
                }
                _ => return Err(mismatch(value, ty)),
            };
            numeric_to_binary(&text, out)?;
        }
        oid::BYTEA => match value {
            Value::Blob(bytes) => out.put_slice(bytes),
            Value::Text(t) => out.put_slice(t.as_bytes()),
            _ => return Err(mismatch(value, ty)),
        },
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            let ms = time_in(value, ty)?;
            if !ms.is_finite() {
                return Err(Box::new(Conversion(INVALID_DATE, "an invalid date".into())));
            }
            out.put_i64(((ms - PG_EPOCH_MS as f64) * 1000.0).round() as i64);
        }
        oid::DATE => {
            let ms = time_in(value, ty)?;
            if !ms.is_finite() {
                return Err(Box::new(Conversion(INVALID_DATE, "an invalid date".into())));
            }
            let days = (ms / 86_400_000.0).floor() as i64 - PG_EPOCH_MS / 86_400_000;
            out.put_i32(days as i32);
        }
        oid::TIME => out.put_i64(time_of_day_in(value, ty)?),
        oid::UUID => {
            let Value::Text(t) = value else {
                return Err(mismatch(value, ty));
            };
            let hex: String = t.chars().filter(|c| *c != '-').collect();
            let bad = || Conversion(INVALID_TEXT, format!("{t:?} is not a UUID"));
            if hex.len() != 32 {
                return Err(Box::new(bad()));
            }
            for i in 0..16 {
                let byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
                out.put_u8(byte);
            }
        }
        oid::JSON | oid::JSONB => {
            let text = match value {
                Value::Text(t) => t.clone(),
                Value::Time(ms) => format!("\"{}\"", time::iso(*ms)),
                other => text_of(other).ok_or_else(|| mismatch(value, ty))?,
            };
            if ty.oid() == oid::JSONB {
                out.put_u8(1);
            }
            out.put_slice(text.as_bytes());
        }
        _ if is_text(ty) => {
            let text = text_of(value).ok_or_else(|| mismatch(value, ty))?;
            out.put_slice(text.as_bytes());
        }
        _ => {
            return Err(Box::new(Conversion(
                NOT_SUPPORTED,
                format!(
                    "parameters of type {} are not supported: cast it in SQL (?::text)",
                    ty.name()
                ),
            )))
        }
    }
    Ok(IsNull::No)
}

/// A column value read by its type.
struct Decoded(Value);

impl<'a> FromSql<'a> for Decoded {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        decode(base(ty), raw).map(Decoded)
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Decoded(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn be<const N: usize>(raw: &[u8]) -> Result<[u8; N], BoxError> {
    raw.get(..N).and_then(|b| b.try_into().ok()).ok_or_else(|| {
        Box::new(Conversion(INTERNAL, "a value shorter than its type".into())) as BoxError
    })
}

fn decode(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    Ok(match ty.oid() {
        oid::BOOL => Value::Bool(be::<1>(raw)?[0] != 0),
        oid::INT2 => Value::Int(i16::from_be_bytes(be(raw)?).into()),
        oid::INT4 => Value::Int(i32::from_be_bytes(be(raw)?).into()),
        oid::INT8 => Value::Int(i64::from_be_bytes(be(raw)?)),
        oid::OID => Value::Int(u32::from_be_bytes(be(raw)?).into()),
        oid::CHAR => Value::Text(char::from(be::<1>(raw)?[0]).to_string()),
        // Through its shortest decimal form: a REAL 94.4 reads as 94.4, as
        // psql shows it, not as the f64 nearest the f32 (94.4000015258789).
        oid::FLOAT4 => {
            let real = f32::from_be_bytes(be(raw)?);
            Value::Real(real.to_string().parse().unwrap_or(real.into()))
        }
        oid::FLOAT8 => Value::Real(f64::from_be_bytes(be(raw)?)),
        oid::NUMERIC => Value::Decimal(numeric_from_binary(raw)?),
        oid::BYTEA => Value::Blob(raw.to_vec()),
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            let micros = i64::from_be_bytes(be(raw)?);
            match micros {
                i64::MAX => Value::Real(f64::INFINITY),
                i64::MIN => Value::Real(f64::NEG_INFINITY),
                _ => Value::Time(micros.div_euclid(1000) as f64 + PG_EPOCH_MS as f64),
            }
        }
        oid::DATE => {
            let days = i32::from_be_bytes(be(raw)?);
            match days {
                i32::MAX => Value::Real(f64::INFINITY),
                i32::MIN => Value::Real(f64::NEG_INFINITY),
                _ => Value::Time((i64::from(days) * 86_400_000 + PG_EPOCH_MS) as f64),
            }
        }
        oid::TIME => {
            let micros = i64::from_be_bytes(be(raw)?);
            let (s, frac) = (micros / 1_000_000, micros % 1_000_000);
            let mut text = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
            if frac != 0 {
                text.push_str(format!(".{frac:06}").trim_end_matches('0'));
            }
            Value::Text(text)
        }
        oid::UUID => {
            let b = be::<16>(raw)?;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Value::Text(format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            ))
        }
        oid::VOID => Value::Null,
        oid::JSON => Value::Text(String::from_utf8_lossy(raw).into_owned()),
        oid::JSONB => {
            Value::Text(String::from_utf8_lossy(raw.get(1..).unwrap_or_default()).into_owned())
        }
        _ if is_text(ty) => Value::Text(String::from_utf8_lossy(raw).into_owned()),
        _ => {
            return Err(Box::new(Conversion(
                NOT_SUPPORTED,
                format!(
                    "columns of type {} are not supported: cast it in SQL (x::text)",
                    ty.name()
                ),
            )))
        }
    })
}

/// NUMERIC's binary form as decimal text.
fn numeric_from_binary(raw: &[u8]) -> Result<String, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        Ok(u16::from_be_bytes(be(raw.get(i..).unwrap_or_default())?))
    };
    let (ndigits, weight, sign, dscale) = (
        word(0)? as usize,
        word(2)? as i16 as i64,
        word(4)?,
        word(6)? as usize,
    );
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let mut digits = Vec::with_capacity(ndigits);
    for k in 0..ndigits {
        digits.push(word(8 + 2 * k)?);
    }
    let digit = |k: i64| -> u16 {
        if k >= 0 && (k as usize) < digits.len() {
            digits[k as usize]
        } else {
            0
        }
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        for k in 0..=weight {
            if k == 0 {
                text.push_str(&digit(k).to_string());
            } else {
                text.push_str(&format!("{:04}", digit(k)));
            }
        }
    }
    if dscale > 0 {
        let mut fraction = String::new();
        let mut k = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", digit(k)));
            k += 1;
        }
        fraction.truncate(dscale);
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

/// Decimal text (`-12.5`, `1e3`, `NaN`) as NUMERIC's binary form.
fn numeric_to_binary(text: &str, out: &mut BytesMut) -> Result<(), BoxError> {
    let t = text.trim();
    let special = match t {
        "NaN" => Some(0xC000u16),
        "Infinity" | "+Infinity" => Some(0xD000),
        "-Infinity" => Some(0xF000),
        _ => None,
    };
    if let Some(sign) = special {
        out.put_u16(0);
        out.put_i16(0);
        out.put_u16(sign);
        out.put_u16(0);
        return Ok(());
    }
    let bad = || {
        Box::new(Conversion(
            INVALID_TEXT,
            format!("{t:?} is not a number (type numeric)"),
        )) as BoxError
    };
    let (negative, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (
            &rest[..at],
            rest[at + 1..].parse::<i64>().map_err(|_| bad())?,
        ),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
        || exponent.abs() > 100_000
    {
        return Err(bad());
    }
    let mut digits: Vec<u8> = whole
        .bytes()
        .chain(fraction.bytes())
        .map(|b| b - b'0')
        .collect();
    // Digits before the decimal point.
    let mut point = whole.len() as i64 + exponent;
    let dscale = (fraction.len() as i64 - exponent).max(0) as u16;
    if point < 0 {
        let mut padded = vec![0; (-point) as usize];
        padded.extend(digits);
        digits = padded;
        point = 0;
    }
    while (digits.len() as i64) < point {
        digits.push(0);
    }
    let lead = ((4 - point % 4) % 4) as usize;
    let mut padded = vec![0; lead];
    padded.extend(digits);
    point += lead as i64;
    while !padded.len().is_multiple_of(4) {
        padded.push(0);
    }
    let mut groups: Vec<i16> = padded
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |n, &d| n * 10 + i16::from(d)))
        .collect();
    let mut weight = point / 4 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_u16(groups.len() as u16);
    out.put_i16(weight as i16);
    out.put_u16(if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    });
    out.put_u16(dscale);
    for group in groups {
        out.put_i16(group);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let mut out = BytesMut::new();
        numeric_to_binary(text, &mut out).unwrap();
        numeric_from_binary(&out).unwrap()
    }

    #[test]
    fn numeric_text_survives_the_binary_form() {
        for text in [
            "0",
            "1",
            "-1",
            "12345",
            "99.99",
            "0.0001",
            "-0.5",
            "123456789012345678901234567890",
            "10000",
            "1.10",
            "NaN",
        ] {
            assert_eq!(round_trip(text), text);
        }
        assert_eq!(round_trip("1e3"), "1000");
        assert_eq!(round_trip("1.5e-3"), "0.0015");
        assert_eq!(round_trip("+7"), "7");
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
