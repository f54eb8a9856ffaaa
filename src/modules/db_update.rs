//! `db/update` (`db/v4/update`, `Update`): runs an INSERT, UPDATE, DELETE
//! or DDL statement and gives how many rows it changed.
//!
//! `execute(sql, parameters, datasourceName)` binds its parameters as
//! `db/query` does, on a connection of its own, in auto-commit.

use boa_engine::{Context, JsResult, JsValue};

use super::db_values;
use super::registry::{Build, Native};
use super::{values, Method};

pub const MODULE: Native = Native {
    namespace: "db",
    name: "update",
    aliases: &[],
    exports: &["update", "Update"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[("execute", 3, execute), ("executeNamed", 3, execute)];

fn execute(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let changed = db_values::execute(args, context, |c, sql, params| c.update(sql, params))?;
    Ok(values::number(changed as f64))
}
