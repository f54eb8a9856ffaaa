//! `http/utils` (`utils` of the `http` barrel): the SDK's `HttpUtils`, JSON
//! response helpers written in JavaScript (http_utils.js).

use boa_engine::{Context, JsObject, JsResult};

use super::js_module;
use super::registry::{Build, Native};

pub const MODULE: Native = Native {
    namespace: "http",
    name: "utils",
    aliases: &[],
    exports: &["utils", "HttpUtils"],
    build: Build::With(build),
};

fn build(context: &mut Context) -> JsResult<JsObject> {
    js_module("http/utils.js", include_str!("http_utils.js"), context)
}
