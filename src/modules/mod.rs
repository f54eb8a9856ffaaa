//! The JavaScript modules scripts `require` and `import`. Each file builds
//! one module object of native functions that translate between JS values
//! and plain Rust (`http::`, `session::`), and declares the names it
//! answers to (`registry.rs`).

pub mod client;
pub mod configuration;
pub mod console;
pub mod db_database;
pub mod db_query;
pub mod db_result_set;
pub mod db_sequence;
pub mod db_update;
pub mod db_values;
pub mod extensions;
pub mod http_errors;
pub mod http_utils;
pub mod io;
mod json_writer;
pub mod registry;
pub mod request;
pub mod response;
pub mod rs;
pub mod scope;
pub mod session;
pub mod sessions;
pub mod upload;
pub mod user;
pub mod utils;
pub mod values;

use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsObject, JsResult, JsString, JsValue, NativeFunction};

use registry::Native;
use scope::in_request;

/// Every native module. Adding one is a file that declares its `MODULE`
/// and a line here.
const ALL: &[&Native] = &[
    &client::MODULE,
    &configuration::configurations::MODULE,
    &configuration::env::MODULE,
    &extensions::MODULE,
    &io::bytes::MODULE,
    &io::streams::MODULE,
    &http_errors::MODULE,
    &http_utils::MODULE,
    &db_database::MODULE,
    &db_query::MODULE,
    &db_sequence::MODULE,
    &db_update::MODULE,
    &request::MODULE,
    &response::MODULE,
    &rs::MODULE,
    &session::MODULE,
    &sessions::MODULE,
    &user::MODULE,
    &utils::alphanumeric::MODULE,
    &utils::base64::MODULE,
    &utils::digest::MODULE,
    &utils::escape::MODULE,
    &utils::hex::MODULE,
    &utils::url::MODULE,
    &utils::uuid::MODULE,
    &utils::xml::MODULE,
    &upload::MODULE,
];

/// A module written in JavaScript. `source` is one function expression,
/// `(function (require) { ...; return exports; })`: it is called with a
/// `require` that finds the native modules (by any of their names) and
/// returns the module object. `name` names it in stacks (`http/rs.js`).
pub fn js_module(name: &str, source: &str, context: &mut Context) -> JsResult<JsObject> {
    let factory = context
        .eval(boa_engine::Source::from_bytes(source).with_path(std::path::Path::new(name)))?;
    let factory = factory.as_callable().ok_or_else(|| {
        boa_engine::JsNativeError::error().with_message(format!("{name} is not a function"))
    })?;
    let require = boa_engine::object::FunctionObjectBuilder::new(
        context.realm(),
        NativeFunction::from_fn_ptr(require_native),
    )
    .name(js_string!("require"))
    .length(1)
    .build();
    factory
        .call(&JsValue::undefined(), &[require.into()], context)?
        .as_object()
        .ok_or_else(|| {
            boa_engine::JsNativeError::error()
                .with_message(format!("{name} returned no module object"))
                .into()
        })
}

/// The `require` of modules written in JavaScript: native modules only.
fn require_native(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    match registry::require(&name, context)? {
        Some(module) => Ok(module.into()),
        None => Err(boa_engine::JsNativeError::error()
            .with_message(format!("Cannot find native module '{name}'"))
            .into()),
    }
}

/// A native method: `name`, its arity and its body.
pub type Method = (
    &'static str,
    usize,
    fn(&JsValue, &[JsValue], &mut Context) -> JsResult<JsValue>,
);

/// A module object from its methods, plus `isValid()`.
pub fn module_object(context: &mut Context, methods: &[Method]) -> JsObject {
    let mut object = with_methods(context, methods);
    object.function(
        NativeFunction::from_fn_ptr(is_valid),
        js_string!("isValid"),
        0,
    );
    object.build()
}

/// An object of native methods (a class prototype's).
pub fn methods_object(context: &mut Context, methods: &[Method]) -> JsObject {
    with_methods(context, methods).build()
}

fn with_methods<'c>(context: &'c mut Context, methods: &[Method]) -> ObjectInitializer<'c> {
    let mut object = ObjectInitializer::new(context);
    for &(name, length, function) in methods {
        object.function(
            NativeFunction::from_fn_ptr(function),
            JsString::from(name),
            length,
        );
    }
    object
}

fn is_valid(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    Ok(in_request(context).into())
}

pub fn define(
    object: &JsObject,
    name: &str,
    value: impl Into<JsValue>,
    context: &mut Context,
) -> JsResult<()> {
    object.define_property_or_throw(
        JsString::from(name),
        boa_engine::property::PropertyDescriptor::builder()
            .value(value)
            .writable(false)
            .enumerable(true)
            .configurable(false),
        context,
    )?;
    Ok(())
}

/// Argument `i` as a Rust string (`undefined` → "undefined", like String()).
pub fn arg_string(args: &[JsValue], i: usize, context: &mut Context) -> JsResult<String> {
    match args.get(i) {
        Some(value) => Ok(values::string_of(&value.to_string(context)?)),
        None => Ok("undefined".to_string()),
    }
}

/// The error a native function throws when its wait was cut short (the
/// script's deadline passed, its client went away): uncatchable, the
/// script stops.
pub fn stopped(_: crate::fiber::Stop) -> boa_engine::JsError {
    boa_engine::error::RuntimeLimitError::Interrupted.into()
}

/// A JS string, or `null` for `None`.
pub fn string_or_null(value: Option<impl AsRef<str>>) -> JsValue {
    value.map_or(JsValue::null(), |s| JsString::from(s.as_ref()).into())
}

pub fn string_array(
    items: impl IntoIterator<Item = impl AsRef<str>>,
    context: &mut Context,
) -> JsValue {
    let values = items
        .into_iter()
        .map(|s| JsValue::from(JsString::from(s.as_ref())));
    boa_engine::object::builtins::JsArray::from_iter(values, context).into()
}

/// A plain object of string properties.
pub fn object_of(pairs: &[(&str, JsValue)], context: &mut Context) -> JsValue {
    let mut object = ObjectInitializer::new(context);
    for (name, value) in pairs {
        object.property(JsString::from(*name), value.clone(), Attribute::all());
    }
    object.build().into()
}
