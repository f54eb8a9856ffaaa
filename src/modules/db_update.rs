//! `db/update` (`db/v4/update`, `Update`): runs an INSERT, UPDATE, DELETE
//! or DDL statement and gives how many rows it changed.
//!
//! `execute(sql, parameters, datasourceName)` binds its parameters as
//! `db/query` does, on a connection of its own, in auto-commit.

use boa_engine::{Context, JsObject, JsResult, JsValue};

use super::db_values::{self, throw};
use super::registry::Native;
use super::{module_object, values, Method};

pub const MODULE: Native = Native {
    namespace: "db",
    name: "update",
    aliases: &[],
    exports: &["update", "Update"],
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
    let changed = datasources
        .connect(datasource.as_deref())
        .and_then(|mut connection| {
            let changed = connection.update(&sql, &params);
            connection.release();
            changed
        })
        .map_err(|e| throw(e, context))?;
    Ok(values::number(changed as f64))
}
