//! `utils/alphanumeric` (`Alphanumeric`): Dirigible writes this module in
//! JavaScript, and so does blimp (`alphanumeric.js`, the same steps), so
//! its results are Dirigible's, quirks included: `alphanumeric(n)` and
//! `alpha(n)` without `lowercase` mix in upper case, a `length` below 1 is
//! 4, and `isNumeric("")` is `true`.

use boa_engine::{Context, JsObject, JsResult};

use crate::modules::js_module;
use crate::modules::registry::{Build, Native};

pub const MODULE: Native = Native {
    namespace: "utils",
    name: "alphanumeric",
    aliases: &[],
    exports: &["alphanumeric", "Alphanumeric"],
    build: Build::With(build),
};

fn build(context: &mut Context) -> JsResult<JsObject> {
    js_module(
        "utils/alphanumeric.js",
        include_str!("alphanumeric.js"),
        context,
    )
}
