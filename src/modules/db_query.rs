//! `db/query` (`db/v4/query`, `Query`): runs a SELECT and gives its rows
//! as an array of objects, one property per column.
//!
//! `execute(sql, parameters, datasourceName)`: `?` placeholders take the
//! parameters in order (values, or `{type, value}` objects); `:name`
//! placeholders take `{name, type, value}` objects (`executeNamed`), or an
//! object of named values. Parameters are always bound, never spliced
//! into the SQL. The statement runs on a connection of its own, in
//! auto-commit.

use boa_engine::{Context, JsResult, JsValue};

use super::db_values;
use super::registry::{Build, Native};
use super::Method;

pub const MODULE: Native = Native {
    namespace: "db",
    name: "query",
    aliases: &[],
    exports: &["query", "Query"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[("execute", 3, execute), ("executeNamed", 3, execute)];

fn execute(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let rows = db_values::execute(args, context, |c, sql, params| c.query(sql, params))?;
    db_values::rows_to_array(&rows, 0, usize::MAX, context)
}
