//! `db/database` (`db/v4/database`, `Database`): connections to the
//! datasources (`--db`), prepared statements, transactions and result
//! sets, after JDBC as Dirigible exposes it.
//!
//! A connection belongs to the request that opened it: when the script
//! ends, every connection it left open goes back to its pool, and a
//! transaction still open (auto-commit off, no `commit()`) is rolled back.

use std::cell::RefCell;
use std::rc::Rc;

use boa_engine::object::{FunctionObjectBuilder, ObjectInitializer};
use boa_engine::property::PropertyDescriptor;
use boa_engine::{
    js_string, Context, JsData, JsNativeError, JsObject, JsResult, JsString, JsValue,
    NativeFunction,
};
use boa_gc::{Finalize, Trace};

use super::db_result_set;
use super::db_values::{self, throw, ConnectionCell};
use super::registry::{Build, Native};
use super::{define, module_object, scope, string_array, values, Method};
use crate::db::{self, Outcome, Params, System, Value};

pub const MODULE: Native = Native {
    namespace: "db",
    name: "database",
    aliases: &[],
    exports: &[
        "database",
        "Database",
        ".Connection",
        ".PreparedStatement",
        ".CallableStatement",
        ".ResultSet",
        ".SQLTypes",
        ".DatabaseSystem",
    ],
    build: Build::With(build),
};

const METHODS: &[Method] = &[
    ("getConnection", 1, get_connection),
    ("getDataSources", 0, get_data_sources),
    ("getDatabaseTypes", 0, get_database_types),
    ("getMetadata", 1, get_metadata),
    ("getProductName", 1, get_product_name),
    ("createDataSource", 6, create_data_source),
];

/// Dirigible's `DatabaseSystem` names; blimp's connections are SQLITE or POSTGRESQL.
const SYSTEMS: &[&str] = &[
    "UNKNOWN",
    "SQLITE",
    "POSTGRESQL",
    "H2",
    "DERBY",
    "HANA",
    "MYSQL",
    "MARIADB",
    "SNOWFLAKE",
    "SYBASE",
    "MONGODB",
];

fn build(context: &mut Context) -> JsResult<JsObject> {
    let module = module_object(context, METHODS);
    let classes = classes(context)?;
    for (name, constructor) in &classes.constructors {
        define(&module, name, constructor.clone(), context)?;
    }
    let types = ObjectInitializer::new(context).build();
    for name in db_values::sql_type_names() {
        define(&types, name, JsString::from(name), context)?;
    }
    define(&module, "SQLTypes", types, context)?;
    let systems = ObjectInitializer::new(context).build();
    for name in SYSTEMS {
        define(&systems, name, JsString::from(*name), context)?;
    }
    define(&module, "DatabaseSystem", systems, context)?;
    Ok(module)
}

/// The prototypes of the objects this module hands out, made once per context.
#[derive(Clone)]
pub struct Classes {
    connection: JsObject,
    statement: JsObject,
    pub result_set: JsObject,
    /// The `toString` of `toJson()`'s array: its JSON text.
    pub json_text: JsObject,
    constructors: Vec<(&'static str, JsObject)>,
}

pub fn classes(context: &mut Context) -> JsResult<Classes> {
    if let Some(classes) = context.get_data::<Classes>() {
        return Ok(classes.clone());
    }
    let connection = prototype(context, CONNECTION);
    let statement = prototype(context, STATEMENT);
    let result_set = prototype(context, db_result_set::METHODS);
    let json_text = FunctionObjectBuilder::new(
        context.realm(),
        NativeFunction::from_fn_ptr(db_result_set::json_text),
    )
    .name(js_string!("toString"))
    .length(0)
    .build()
    .into();
    let mut constructors = Vec::new();
    for (name, proto) in [
        ("Connection", &connection),
        ("PreparedStatement", &statement),
        ("CallableStatement", &statement),
        ("ResultSet", &result_set),
    ] {
        constructors.push((name, constructor(name, proto, context)?));
    }
    let classes = Classes {
        connection,
        statement,
        result_set,
        json_text,
        constructors,
    };
    context.insert_data(classes.clone());
    Ok(classes)
}

fn prototype(context: &mut Context, methods: &[Method]) -> JsObject {
    super::methods_object(context, methods)
}

/// A function whose `prototype` is `proto`, for `instanceof`; calling it
/// is an error (objects come from `getConnection` and the like).
fn constructor(name: &'static str, proto: &JsObject, context: &mut Context) -> JsResult<JsObject> {
    let function: JsObject = FunctionObjectBuilder::new(
        context.realm(),
        NativeFunction::from_fn_ptr(|_, _, _| {
            Err(JsNativeError::typ()
                .with_message("use database.getConnection() and the objects it gives")
                .into())
        }),
    )
    .name(JsString::from(name))
    .length(0)
    .build()
    .into();
    function.define_property_or_throw(
        js_string!("prototype"),
        PropertyDescriptor::builder()
            .value(proto.clone())
            .writable(false)
            .enumerable(false)
            .configurable(false),
        context,
    )?;
    proto.define_property_or_throw(
        js_string!("constructor"),
        PropertyDescriptor::builder()
            .value(function.clone())
            .writable(true)
            .enumerable(false)
            .configurable(true),
        context,
    )?;
    Ok(function)
}

// ---- the module's functions ----

fn get_connection(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    // Dirigible 3/4 took (databaseType, datasourceName); later just the name.
    let name = match args.len() {
        0 | 1 => db_values::optional_text(args, 0, context)?,
        _ => db_values::optional_text(args, 1, context)?,
    };
    let datasources = db_values::datasources(context)?;
    let connection = datasources
        .connect(name.as_deref())
        .map_err(|e| throw(e, context))?;
    let system = connection.system();
    let cell = Rc::new(RefCell::new(Some(connection)));
    scope::scope(context)?
        .borrow_mut()
        .connections
        .push(cell.clone());
    let proto = classes(context)?.connection;
    let object = JsObject::from_proto_and_data(
        proto,
        ConnectionObject {
            cell,
            system,
            datasource: name.unwrap_or_else(|| db::DEFAULT.to_string()),
        },
    );
    Ok(object.into())
}

fn get_data_sources(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let datasources = db_values::datasources(context)?;
    Ok(string_array(datasources.names(), context))
}

/// Deprecated in Dirigible: the kinds of database behind the datasources.
fn get_database_types(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let datasources = db_values::datasources(context)?;
    let mut kinds: Vec<&str> = Vec::new();
    for name in datasources.names() {
        if let Ok(source) = datasources.get(Some(name)) {
            let kind = source.system().name();
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    Ok(string_array(kinds, context))
}

fn get_metadata(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = db_values::optional_text(args, 0, context)?;
    let datasources = db_values::datasources(context)?;
    let mut connection = datasources
        .connect(name.as_deref())
        .map_err(|e| throw(e, context))?;
    let version = connection.version();
    let system = connection.system();
    let url = connection.source().describe();
    connection.release();
    let version = version.map_err(|e| throw(e, context))?;
    Ok(metadata(
        system,
        &version,
        &url,
        name.as_deref().unwrap_or(db::DEFAULT),
        context,
    ))
}

fn metadata(
    system: System,
    version: &str,
    url: &str,
    name: &str,
    context: &mut Context,
) -> JsValue {
    super::object_of(
        &[
            (
                "databaseProductName",
                JsString::from(system.product()).into(),
            ),
            ("databaseProductVersion", JsString::from(version).into()),
            ("databaseSystem", JsString::from(system.name()).into()),
            ("driverName", js_string!("blimp").into()),
            (
                "driverVersion",
                JsString::from(env!("CARGO_PKG_VERSION")).into(),
            ),
            ("url", JsString::from(url).into()),
            ("datasource", JsString::from(name).into()),
        ],
        context,
    )
}

fn get_product_name(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = db_values::optional_text(args, 0, context)?;
    let datasources = db_values::datasources(context)?;
    let source = datasources
        .get(name.as_deref())
        .map_err(|e| throw(e, context))?;
    Ok(JsString::from(source.system().product()).into())
}

fn create_data_source(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Err(JsNativeError::error()
        .with_message(
            "datasources are declared when blimp starts: --db NAME=URL (sqlite:PATH or postgres://...)",
        )
        .into())
}

// ---- Connection ----

#[derive(Trace, Finalize, JsData)]
struct ConnectionObject {
    #[unsafe_ignore_trace] // holds no JavaScript values
    cell: Rc<ConnectionCell>,
    #[unsafe_ignore_trace]
    system: System,
    #[unsafe_ignore_trace]
    datasource: String,
}

const CONNECTION: &[Method] = &[
    ("prepareStatement", 1, prepare_statement),
    ("prepareCall", 1, prepare_statement),
    ("close", 0, close_connection),
    ("commit", 0, |t, _, c| {
        with_connection(t, c, |conn| conn.commit()).map(|()| JsValue::undefined())
    }),
    ("rollback", 0, |t, _, c| {
        with_connection(t, c, |conn| conn.rollback()).map(|()| JsValue::undefined())
    }),
    ("getAutoCommit", 0, |t, _, c| {
        with_connection(t, c, |conn| Ok(conn.auto_commit())).map(JsValue::from)
    }),
    ("setAutoCommit", 1, set_auto_commit),
    ("isClosed", 0, |t, _, _| {
        Ok(connection_cell(t)?
            .borrow()
            .as_ref()
            .is_none_or(db::Connection::is_closed)
            .into())
    }),
    ("isValid", 0, |t, _, _| {
        Ok(connection_cell(t)?
            .borrow()
            .as_ref()
            .is_some_and(db::Connection::is_valid)
            .into())
    }),
    ("isReadOnly", 0, |_, _, _| Ok(false.into())),
    ("setReadOnly", 1, |_, _, _| Ok(JsValue::undefined())),
    ("getCatalog", 0, |_, _, _| Ok(JsValue::null())),
    ("setCatalog", 1, |_, _, _| Ok(JsValue::undefined())),
    ("getSchema", 0, get_schema),
    ("setSchema", 1, |_, _, _| Ok(JsValue::undefined())),
    // JDBC's TRANSACTION_SERIALIZABLE (SQLite) / TRANSACTION_READ_COMMITTED (PostgreSQL).
    ("getTransactionIsolation", 0, |t, _, _| {
        Ok(JsValue::from(match connection_data(t)?.1 {
            System::Sqlite => 8,
            System::Postgres => 2,
        }))
    }),
    ("setTransactionIsolation", 1, |_, _, _| {
        Ok(JsValue::undefined())
    }),
    ("getDatabaseSystem", 0, |t, _, _| {
        Ok(JsString::from(connection_data(t)?.1.name()).into())
    }),
    ("isOfType", 1, |t, a, c| {
        let wanted = super::arg_string(a, 0, c)?;
        Ok(wanted
            .eq_ignore_ascii_case(connection_data(t)?.1.name())
            .into())
    }),
    ("getMetaData", 0, connection_metadata),
];

fn connection_data(this: &JsValue) -> JsResult<(Rc<ConnectionCell>, System, String)> {
    let object = this.as_object();
    let data = object
        .as_ref()
        .and_then(|o| o.downcast_ref::<ConnectionObject>())
        .ok_or_else(|| JsNativeError::typ().with_message("not a Connection"))?;
    Ok((data.cell.clone(), data.system, data.datasource.clone()))
}

fn connection_cell(this: &JsValue) -> JsResult<Rc<ConnectionCell>> {
    Ok(connection_data(this)?.0)
}

/// Runs `f` on the open connection behind `cell`.
pub fn on_connection<T>(
    cell: &ConnectionCell,
    context: &mut Context,
    f: impl FnOnce(&mut db::Connection) -> db::DbResult<T>,
) -> JsResult<T> {
    let result = {
        let mut held = cell
            .try_borrow_mut()
            .map_err(|_| JsNativeError::error().with_message("the connection is in use"))?;
        let connection = held
            .as_mut()
            .ok_or_else(|| JsNativeError::error().with_message("the connection is closed"))?;
        f(connection)
    };
    result.map_err(|e| throw(e, context))
}

fn with_connection<T>(
    this: &JsValue,
    context: &mut Context,
    f: impl FnOnce(&mut db::Connection) -> db::DbResult<T>,
) -> JsResult<T> {
    let cell = connection_cell(this)?;
    on_connection(&cell, context, f)
}

fn close_connection(this: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let cell = connection_cell(this)?;
    let taken = cell.try_borrow_mut().ok().and_then(|mut held| held.take());
    if let Some(mut connection) = taken {
        connection.release();
    }
    Ok(JsValue::undefined())
}

fn set_auto_commit(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let on = args.first().is_none_or(JsValue::to_boolean);
    with_connection(this, context, |conn| conn.set_auto_commit(on))?;
    Ok(JsValue::undefined())
}

fn get_schema(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let (cell, system, _) = connection_data(this)?;
    let sql = match system {
        System::Sqlite => return Ok(js_string!("main").into()),
        System::Postgres => "SELECT current_schema()",
    };
    let rows = on_connection(&cell, context, |conn| conn.query(sql, &Params::default()))?;
    match rows.rows.first().and_then(|r| r.first()) {
        Some(value) => db_values::to_js(value, context),
        None => Ok(JsValue::null()),
    }
}

fn connection_metadata(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let (cell, system, datasource) = connection_data(this)?;
    let (version, url) = on_connection(&cell, context, |conn| {
        Ok((conn.version()?, conn.source().describe()))
    })?;
    Ok(metadata(system, &version, &url, &datasource, context))
}

fn prepare_statement(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let (cell, _, _) = connection_data(this)?;
    if cell.borrow().is_none() {
        return Err(JsNativeError::error()
            .with_message("the connection is closed")
            .into());
    }
    let sql = db_values::sql_arg(args, context)?;
    let proto = classes(context)?.statement;
    let object = JsObject::from_proto_and_data(
        proto,
        StatementObject {
            state: RefCell::new(Statement {
                cell,
                sql,
                params: Vec::new(),
                batch: Vec::new(),
                closed: false,
                last: None,
                update_count: -1,
            }),
        },
    );
    Ok(object.into())
}

// ---- PreparedStatement ----

#[derive(Trace, Finalize, JsData)]
struct StatementObject {
    #[unsafe_ignore_trace] // holds no JavaScript values
    state: RefCell<Statement>,
}

struct Statement {
    cell: Rc<ConnectionCell>,
    sql: String,
    /// By 1-based index less one; `None` where nothing was set.
    params: Vec<Option<Value>>,
    batch: Vec<Vec<Option<Value>>>,
    closed: bool,
    /// The rows of the last `execute()`.
    last: Option<Rc<db::Rows>>,
    update_count: i64,
}

/// `setX(index, value)` for SQL type `X`.
macro_rules! setter {
    ($name:literal, $type:literal) => {
        ($name, 2, |t, a, c| set_typed(t, a, c, $type))
    };
}

const STATEMENT: &[Method] = &[
    ("execute", 0, execute),
    ("executeQuery", 0, execute_query),
    ("executeUpdate", 0, execute_update),
    ("getResultSet", 0, get_result_set),
    ("getUpdateCount", 0, |t, _, _| {
        with_statement(t, |s| Ok(JsValue::from(s.update_count as f64)))
    }),
    ("getMoreResults", 0, |_, _, _| Ok(false.into())),
    ("addBatch", 0, add_batch),
    ("executeBatch", 0, execute_batch),
    ("clearParameters", 0, |t, _, _| {
        with_statement(t, |s| {
            s.params.clear();
            Ok(JsValue::undefined())
        })
    }),
    ("close", 0, |t, _, _| {
        with_statement(t, |s| {
            s.closed = true;
            s.last = None;
            Ok(JsValue::undefined())
        })
    }),
    ("isClosed", 0, |t, _, _| {
        with_statement(t, |s| Ok(s.closed.into()))
    }),
    ("getSQLWarning", 0, |_, _, _| Ok(JsValue::null())),
    ("getMetaData", 0, |_, _, _| Ok(JsValue::null())),
    ("getParameterMetaData", 0, |t, _, c| {
        let count = with_statement(t, |s| Ok(s.params.len()))?;
        Ok(super::object_of(
            &[("parameterCount", JsValue::from(count as f64))],
            c,
        ))
    }),
    ("setNull", 2, set_null),
    ("setObject", 2, set_object),
    setter!("setString", "VARCHAR"),
    setter!("setNString", "NVARCHAR"),
    setter!("setClob", "CLOB"),
    setter!("setNClob", "NCLOB"),
    setter!("setInt", "INTEGER"),
    setter!("setLong", "BIGINT"),
    setter!("setShort", "SMALLINT"),
    setter!("setByte", "TINYINT"),
    setter!("setDouble", "DOUBLE"),
    setter!("setFloat", "FLOAT"),
    setter!("setBigDecimal", "DECIMAL"),
    setter!("setBoolean", "BOOLEAN"),
    setter!("setDate", "DATE"),
    setter!("setTime", "TIME"),
    setter!("setTimestamp", "TIMESTAMP"),
    setter!("setBytes", "BLOB"),
    setter!("setBytesNative", "BLOB"),
    setter!("setBlob", "BLOB"),
    setter!("setBinaryStream", "BLOB"),
];

fn with_statement<T>(this: &JsValue, f: impl FnOnce(&mut Statement) -> JsResult<T>) -> JsResult<T> {
    let object = this.as_object();
    let data = object
        .as_ref()
        .and_then(|o| o.downcast_ref::<StatementObject>())
        .ok_or_else(|| JsNativeError::typ().with_message("not a PreparedStatement"))?;
    let mut state = data.state.borrow_mut();
    f(&mut state)
}

fn index_arg(args: &[JsValue], context: &mut Context) -> JsResult<usize> {
    let n = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_number(context)?;
    if n.fract() != 0.0 || !(1.0..=65_535.0).contains(&n) {
        return Err(JsNativeError::range()
            .with_message("parameter indexes start at 1")
            .into());
    }
    Ok(n as usize)
}

fn set_param(this: &JsValue, index: usize, value: Value) -> JsResult<JsValue> {
    with_statement(this, |s| {
        if s.params.len() < index {
            s.params.resize(index, None);
        }
        s.params[index - 1] = Some(value);
        Ok(JsValue::undefined())
    })
}

fn set_typed(
    this: &JsValue,
    args: &[JsValue],
    context: &mut Context,
    kind: &str,
) -> JsResult<JsValue> {
    let index = index_arg(args, context)?;
    let value = db_values::as_type(kind, &args.get(1).cloned().unwrap_or_default(), context)?;
    set_param(this, index, value)
}

fn set_null(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let index = index_arg(args, context)?;
    set_param(this, index, Value::Null)
}

fn set_object(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let index = index_arg(args, context)?;
    let value = match args.get(2) {
        Some(kind) if !kind.is_null_or_undefined() => {
            db_values::typed(kind, &args.get(1).cloned().unwrap_or_default(), context)?
        }
        _ => db_values::value_of(&args.get(1).cloned().unwrap_or_default(), context)?,
    };
    set_param(this, index, value)
}

/// The statement's connection, text and parameters, checked complete.
fn prepared(this: &JsValue) -> JsResult<(Rc<ConnectionCell>, String, Params)> {
    with_statement(this, |s| {
        if s.closed {
            return Err(JsNativeError::error()
                .with_message("the statement is closed")
                .into());
        }
        Ok((s.cell.clone(), s.sql.clone(), complete(&s.params)?))
    })
}

fn complete(params: &[Option<Value>]) -> JsResult<Params> {
    let mut values = Vec::with_capacity(params.len());
    for (i, value) in params.iter().enumerate() {
        match value {
            Some(value) => values.push(value.clone()),
            None => {
                return Err(JsNativeError::error()
                    .with_message(format!("parameter {} is not set", i + 1))
                    .into())
            }
        }
    }
    Ok(Params::Positional(values))
}

fn run(this: &JsValue, context: &mut Context) -> JsResult<Outcome> {
    let (cell, sql, params) = prepared(this)?;
    on_connection(&cell, context, |conn| conn.run(&sql, &params))
}

fn execute(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let outcome = run(this, context)?;
    with_statement(this, |s| {
        Ok(match outcome {
            Outcome::Rows(rows) => {
                s.last = Some(Rc::new(rows));
                s.update_count = -1;
                true
            }
            Outcome::Changed(n) => {
                s.last = None;
                s.update_count = n as i64;
                false
            }
        }
        .into())
    })
}

fn execute_query(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let rows = match run(this, context)? {
        Outcome::Rows(rows) => rows,
        Outcome::Changed(_) => db::Rows::default(),
    };
    db_result_set::new(Rc::new(rows), context)
}

fn execute_update(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let changed = match run(this, context)? {
        Outcome::Rows(rows) => rows.rows.len() as u64,
        Outcome::Changed(n) => n,
    };
    with_statement(this, |s| {
        s.update_count = changed as i64;
        Ok(())
    })?;
    Ok(values::number(changed as f64))
}

fn get_result_set(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    match with_statement(this, |s| Ok(s.last.clone()))? {
        Some(rows) => db_result_set::new(rows, context),
        None => Ok(JsValue::null()),
    }
}

fn add_batch(this: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    with_statement(this, |s| {
        let params = std::mem::take(&mut s.params);
        s.batch.push(params);
        Ok(JsValue::undefined())
    })
}

fn execute_batch(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let (cell, sql, batch) = with_statement(this, |s| {
        if s.closed {
            return Err(JsNativeError::error()
                .with_message("the statement is closed")
                .into());
        }
        Ok((s.cell.clone(), s.sql.clone(), std::mem::take(&mut s.batch)))
    })?;
    let mut counts = Vec::with_capacity(batch.len());
    for params in batch {
        let params = complete(&params)?;
        let changed = on_connection(&cell, context, |conn| conn.update(&sql, &params))?;
        counts.push(values::number(changed as f64));
    }
    Ok(values::js_array(counts, context))
}
