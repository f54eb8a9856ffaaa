//! `extensions/extensions` (`Extensions`; Dirigible 4–7 called it
//! `core/v4/extensions`): the extension points and extensions declared by
//! the `*.extensionpoint` and `*.extension` files of the scripts folder
//! (`scripts/extensions.rs`). `getExtensions(point)` gives the `module`
//! of each extension of `point` (in the order of the files' paths), which
//! scripts then `require` or `import` by that project path;
//! `getExtensionPoints()` the names of the extension points.
//! `loadExtensionModules(point, requiredFunctions, throwError)` (and its
//! alias `load`) does the loading as Dirigible's SDK does (`extensions.js`).

use boa_engine::{Context, JsNativeError, JsObject, JsResult, JsValue};

use super::registry::{Build, Native};
use super::scope::scope;
use super::{arg_string, module_object, string_array, Method};
use crate::scripts::extensions;

pub const MODULE: Native = Native {
    namespace: "extensions",
    name: "extensions",
    aliases: &[
        "core/extensions",
        "core/v3/extensions",
        "core/v4/extensions",
    ],
    exports: &["extensions", "Extensions"],
    build: Build::With(build),
};

const METHODS: &[Method] = &[
    ("getExtensions", 1, get_extensions),
    ("getExtensionPoints", 0, get_extension_points),
];

fn build(context: &mut Context) -> JsResult<JsObject> {
    let module = module_object(context, METHODS);
    let source = include_str!("extensions.js");
    let install = context.eval(
        boa_engine::Source::from_bytes(source)
            .with_path(std::path::Path::new("extensions/extensions.js")),
    )?;
    let install = install.as_callable().ok_or_else(|| {
        JsNativeError::error().with_message("extensions/extensions.js is not a function")
    })?;
    let import = boa_engine::object::FunctionObjectBuilder::new(
        context.realm(),
        boa_engine::NativeFunction::from_fn_ptr(import_project),
    )
    .name(boa_engine::js_string!("importProject"))
    .length(1)
    .build();
    install.call(
        &JsValue::undefined(),
        &[module.clone().into(), import.into()],
        context,
    )?;
    Ok(module)
}

/// `import(path)` from a Script of its own: an import's referrer keeps
/// the module it loaded for each name, and must get the same one every
/// time, while a project's modules are loaded afresh for each request; a
/// long-lived referrer (this module's own code) would hold the first one.
fn import_project(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let path = arg_string(args, 0, context)?;
    let quoted = serde_json::to_string(&path).unwrap_or_default();
    context.eval(boa_engine::Source::from_bytes(&format!("import({quoted})")))
}

fn registrations(context: &mut Context) -> JsResult<std::rc::Rc<extensions::Registrations>> {
    let scope = scope(context)?;
    let scope = scope.borrow();
    let root = extensions::root_of(&scope.request.route);
    Ok(extensions::registrations(&root, scope.request.tree))
}

fn get_extensions(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let point = arg_string(args, 0, context)?;
    let modules = registrations(context)?.modules_of(&point);
    Ok(string_array(modules, context))
}

fn get_extension_points(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let points = registrations(context)?.points.clone();
    Ok(string_array(points, context))
}
