//! `http/errors` (`errors` of the `http` barrel): the SDK's
//! `ValidationError` and `ForbiddenError`, written in JavaScript
//! (http_errors.js).

use boa_engine::{Context, JsObject, JsResult};

use super::js_module;
use super::registry::{Build, Native};

pub const MODULE: Native = Native {
    namespace: "http",
    name: "errors",
    aliases: &[],
    exports: &["errors"],
    build: Build::With(build),
};

fn build(context: &mut Context) -> JsResult<JsObject> {
    js_module("http/errors.js", include_str!("http_errors.js"), context)
}
