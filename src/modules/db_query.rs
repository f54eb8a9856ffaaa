//! `db/query` (`db/v4/query`, `Query`): runs a SELECT and gives its rows
//! as an array of objects, one property per column.
//!
//! `execute(sql, parameters, datasourceName)`: `?` placeholders take the
//! parameters in order (values, or `{type, value}` objects); `:name`
//! placeholders take `{name, type, value}` objects (`executeNamed`), or an
//! object of named values. Parameters are always bound, never spliced
//! into the SQL. The statement runs on a connection of its own, in
//! auto-commit.

use boa_engine::{Context, JsObject, JsResult, JsValue};

use super::db_values::{self, throw};
use super::registry::Native;
use super::{module_object, Method};

pub const MODULE: Native = Native {
    namespace: "db",
    name: "query",
    aliases: &[],
    exports: &["query", "Query"],
    build,
};

const METHODS: &[Method] = &[("execute", 3, execute), ("executeNamed", 3, execute)];

fn build(context: &mut Context) -> JsResult<JsObject> {
    Ok(module_object(context, METHODS))
}

fn execute(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let sql = db_values::sql_arg(args, context)?;
    let params = db_values::params_of(args.get(1), context)?;
    let datasource = db_values::optional_text(args, 2, context)?;
    let datasources = db_values::datasources(context)?;
    let rows = datasources
        .connect(datasource.as_deref())
        .and_then(|mut connection| {
            let rows = connection.query(&sql, &params);
            connection.release();
            rows
        })
        .map_err(|e| throw(e, context))?;
    db_values::rows_to_array(&rows, 0, usize::MAX, context)
}
