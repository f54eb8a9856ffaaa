//! `db/sequence` (`db/v4/sequence`, `Sequence`): named counters.
//!
//! - `nextval(name, second, datasourceName)`: the next value, 1 first; the
//!   sequence is created on first use. The second argument is Dirigible
//!   4's `databaseType` or the current SDK's `tableName`: either is
//!   accepted and ignored.
//! - `create(name, second, datasourceName)`: a number as the second
//!   argument is the first value (current SDK: `start`), anything else is
//!   Dirigible 4's `databaseType` and ignored; an existing sequence is an
//!   error.
//! - `drop(name, second, third)`: the current SDK's `drop(name,
//!   datasourceName)` and Dirigible 4's `drop(name, databaseType,
//!   datasourceName)`; a second argument names the datasource when it is
//!   one's name.
//!
//! Names are letters, digits and `_` (`schema.name` too), lower-cased as
//! PostgreSQL folds them. PostgreSQL uses its own sequences; SQLite keeps
//! them in a table `blimp_sequences`.

use boa_engine::{Context, JsNativeError, JsResult, JsValue};

use super::db_values::{self, integer_js, throw};
use super::registry::{Build, Native};
use super::{arg_string, Method};

pub const MODULE: Native = Native {
    namespace: "db",
    name: "sequence",
    aliases: &[],
    exports: &["sequence", "Sequence"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[
    ("nextval", 3, nextval),
    ("create", 3, create),
    ("drop", 3, drop_sequence),
];

fn name_arg(args: &[JsValue], context: &mut Context) -> JsResult<String> {
    match args.first() {
        Some(v) if !v.is_null_or_undefined() => arg_string(args, 0, context),
        _ => Err(JsNativeError::typ()
            .with_message("a sequence name is needed")
            .into()),
    }
}

fn nextval(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = name_arg(args, context)?;
    let datasource = db_values::optional_text(args, 2, context)?;
    let datasources = db_values::datasources(context)?;
    let value = datasources
        .nextval(datasource.as_deref(), &name)
        .map_err(|e| throw(e, context))?;
    Ok(integer_js(value))
}

fn create(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = name_arg(args, context)?;
    let start = match args.get(1).and_then(JsValue::as_number) {
        Some(n) if n.fract() == 0.0 && n.abs() < 9.2e18 => n as i64,
        Some(n) => {
            return Err(JsNativeError::range()
                .with_message(format!("a sequence starts at an integer, not {n}"))
                .into())
        }
        None => 1,
    };
    let datasource = db_values::optional_text(args, 2, context)?;
    let datasources = db_values::datasources(context)?;
    datasources
        .create_sequence(datasource.as_deref(), &name, start)
        .map_err(|e| throw(e, context))?;
    Ok(JsValue::undefined())
}

fn drop_sequence(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = name_arg(args, context)?;
    let datasources = db_values::datasources(context)?;
    let second = db_values::optional_text(args, 1, context)?;
    let third = db_values::optional_text(args, 2, context)?;
    let datasource = match (third, second) {
        (Some(third), _) => Some(third),
        (None, Some(second)) if datasources.names().contains(&second.as_str()) => Some(second),
        _ => None,
    };
    datasources
        .drop_sequence(datasource.as_deref(), &name)
        .map_err(|e| throw(e, context))?;
    Ok(JsValue::undefined())
}
