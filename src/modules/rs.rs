//! `http/rs` (`http/v4/rs`, `rs` of the `http` barrel): Dirigible's REST
//! framework, written in JavaScript (rs.js) over the request and response
//! modules.

use boa_engine::{Context, JsObject, JsResult};

use super::js_module;
use super::registry::{Build, Native};

pub const MODULE: Native = Native {
    namespace: "http",
    name: "rs",
    aliases: &[],
    exports: &["rs"],
    build: Build::With(build),
};

fn build(context: &mut Context) -> JsResult<JsObject> {
    js_module("http/rs.js", include_str!("rs.js"), context)
}
