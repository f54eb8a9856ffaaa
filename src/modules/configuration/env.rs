//! `core/env` (`Env`): the environment variables of the server, as taken
//! at start (the process environment over `--env-file`'s values).
//! `get(name)` is a value or `undefined`; `list()` is an object of all of
//! them whose `toString()` is their JSON, so both `env.list().HOME` and
//! `JSON.parse(env.list())` work (Dirigible's v4 returned the JSON text,
//! the current one an object).

use boa_engine::{js_string, Context, JsObject, JsResult, JsString, JsValue, NativeFunction};

use crate::modules::registry::{Build, Native};
use crate::modules::{arg_string, values, Method};

pub const MODULE: Native = Native {
    namespace: "core",
    name: "env",
    aliases: &[],
    exports: &["env", "Env"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[("get", 1, get), ("list", 0, list)];

fn get(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    Ok(super::environment()
        .snapshot
        .get(&name)
        .map_or(JsValue::undefined(), |v| JsString::from(v.as_str()).into()))
}

fn list(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let object = JsObject::with_object_proto(context.intrinsics());
    for (name, value) in &super::environment().snapshot {
        object.set(
            JsString::from(name.as_str()),
            JsString::from(value.as_str()),
            false,
            context,
        )?;
    }
    let to_string = boa_engine::object::FunctionObjectBuilder::new(
        context.realm(),
        NativeFunction::from_fn_ptr(|this, _, context| {
            let text = values::stringify(this, context)?.unwrap_or_default();
            Ok(JsString::from(text).into())
        }),
    )
    .name(js_string!("toString"))
    .build();
    object.define_property_or_throw(
        js_string!("toString"),
        boa_engine::property::PropertyDescriptor::builder()
            .value(to_string)
            .writable(true)
            .enumerable(false)
            .configurable(true),
        context,
    )?;
    Ok(object.into())
}
