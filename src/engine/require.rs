//! CommonJS `require`: the JavaScript half is prelude.js, this is the
//! native half that finds and compiles files under the scripts root.

use std::path::{Path, PathBuf};

use boa_engine::object::{FunctionObjectBuilder, ObjectInitializer};
use boa_engine::property::Attribute;
use boa_engine::{
    js_string, Context, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction,
    Source,
};
use boa_gc::{Finalize, Trace};

use super::cache::Unit;
use super::context::{host, Host};
use crate::modules;
use crate::scripts::router::Stamp;
use crate::scripts::watch::Moment;

const PRELUDE: &str = include_str!("prelude.js");

/// Evaluates the prelude with the native half; returns its `__blimp` object.
pub fn install_prelude(context: &mut Context) -> JsResult<JsObject> {
    let native = ObjectInitializer::new(context)
        .function(
            NativeFunction::from_fn_ptr(native_module),
            js_string!("module"),
            1,
        )
        .function(
            NativeFunction::from_fn_ptr(request),
            js_string!("request"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(resolve),
            js_string!("resolve"),
            2,
        )
        .build();
    let factory = context.eval(Source::from_bytes(PRELUDE))?;
    let factory = factory
        .as_callable()
        .ok_or_else(|| JsNativeError::error().with_message("prelude is not a function"))?;
    factory
        .call(&JsValue::undefined(), &[native.into()], context)?
        .as_object()
        .ok_or_else(|| {
            JsNativeError::error()
                .with_message("prelude returned no object")
                .into()
        })
}

/// What `resolve` and `entry` hand the prelude: `{filename, dirname, fn}`
/// (or `json` instead of `fn`).
pub fn found(filename: &Path, what: (&str, JsValue), context: &mut Context) -> JsObject {
    let dirname = filename.parent().unwrap_or(Path::new("/"));
    ObjectInitializer::new(context)
        .property(js_string!("filename"), js_path(filename), Attribute::all())
        .property(js_string!("dirname"), js_path(dirname), Attribute::all())
        .property(JsString::from(what.0), what.1, Attribute::all())
        .build()
}

fn js_path(path: &Path) -> JsValue {
    JsString::from(path.to_string_lossy().as_ref()).into()
}

/// The `require` of a script that only ever requires native modules by
/// name (`names`): a lookup in Rust, where the prelude's `require` is a
/// JavaScript call, which costs several times more. Anything else goes to
/// `usual`.
pub fn native_require(
    names: &[String],
    usual: JsObject,
    context: &mut Context,
) -> JsResult<JsValue> {
    let mut found = NativeModules {
        names: Vec::with_capacity(names.len()),
        modules: Vec::with_capacity(names.len()),
        usual,
    };
    for name in names {
        if let Some(module) = modules::registry::require(name, context)? {
            found.names.push(JsString::from(name.as_str()));
            found.modules.push(module);
        }
    }
    let require = NativeFunction::from_copy_closure_with_captures(
        |_, args, native: &NativeModules, context| {
            if let Some(name) = args.first().and_then(JsValue::as_string) {
                if let Some(at) = native.names.iter().position(|n| *n == name) {
                    return Ok(native.modules[at].clone().into());
                }
            }
            native.usual.call(&JsValue::undefined(), args, context)
        },
        found,
    );
    Ok(FunctionObjectBuilder::new(context.realm(), require)
        .name(js_string!("require"))
        .length(1)
        .constructor(true) // `new require(…)` works in Node too
        .build()
        .into())
}

#[derive(Trace, Finalize)]
struct NativeModules {
    #[unsafe_ignore_trace] // strings hold no objects
    names: Vec<JsString>,
    modules: Vec<JsObject>,
    usual: JsObject,
}

/// `native.request()`: a number that changes with every request, so the
/// prelude knows when its per-request state is stale.
fn request(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    Ok(JsValue::from(host(context).request.get() as f64))
}

/// `native.resolve(name, dirname)`: a relative module under the root.
fn resolve(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_string(context)?
        .to_std_string_escaped();
    let dirname = args
        .get(1)
        .cloned()
        .unwrap_or_default()
        .to_string(context)?
        .to_std_string_escaped();
    let host = host(context);
    let not_found = || {
        JsNativeError::error().with_message(format!(
            "Cannot find module '{name}' (require takes Dirigible's modules, such as http/v4/response, paths like ./lib/x, and project paths like crm/api/x under the scripts folder)"
        ))
    };
    // A name that is neither relative nor native is a project path: from
    // the root of the scripts folder, as Dirigible's registry resolves it.
    let relative = name.starts_with("./") || name.starts_with("../");
    if name.starts_with('/') || name.is_empty() {
        return Err(not_found().into());
    }
    let dirname = if relative {
        dirname
    } else {
        host.root.to_string_lossy().into_owned()
    };
    let (entry, now) = {
        let scope = crate::modules::scope::current(context)
            .ok_or_else(|| JsNativeError::error().with_message("require outside a request"))?;
        let scope = scope.borrow();
        (scope.request.route.clone(), scope.request.tree)
    };
    let (file, relative, stamp) =
        locate(&host, dirname, name.clone(), now).ok_or_else(not_found)?;
    let is_entry = entry.file == file;
    if is_entry {
        let found = ObjectInitializer::new(context)
            .property(js_string!("filename"), js_path(&file), Attribute::all())
            .property(js_string!("entry"), true, Attribute::all())
            .build();
        return Ok(found.into());
    }
    let unit = host
        .cache
        .borrow_mut()
        .get(&file, stamp, &relative, context)
        .map_err(|e| JsNativeError::error().with_message(format!("cannot read {relative}: {e}")))?;
    match unit {
        Unit::CommonJs(script) => Ok(script.record.clone().into()),
        Unit::Json(text) => {
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| JsNativeError::syntax().with_message(format!("{relative}: {e}")))?;
            let value = JsValue::from_json(&value, context)?;
            Ok(found(&file, ("json", value), context).into())
        }
        Unit::Esm(_) => Err(JsNativeError::error()
            .with_message(format!(
                "{relative} is an ES module: load it with import, not require"
            ))
            .into()),
        Unit::Broken(description) => Err(JsNativeError::syntax()
            .with_message(
                description
                    .strip_prefix("SyntaxError: ")
                    .unwrap_or(&description)
                    .to_string(),
            )
            .into()),
    }
}

/// Where `require(name)` from `dirname` leads: the file, its path relative
/// to the root and its stamp. Looked up on disk once, then remembered while
/// the scripts folder is unchanged.
fn locate(
    host: &Host,
    dirname: String,
    name: String,
    now: Moment,
) -> Option<(PathBuf, String, Stamp)> {
    let key = (dirname, name);
    if let Some(known) = host.resolved.borrow().get(&key) {
        if known.confirmed.still_holds_at(now) {
            return Some((known.file.clone(), known.relative.clone(), known.stamp));
        }
    }
    let (file, stamp) = candidates(&Path::new(&key.0).join(&key.1))
        .into_iter()
        .find_map(|c| {
            let file = c.canonicalize().ok()?;
            let meta = std::fs::metadata(&file).ok()?;
            (host.may_require(&file) && meta.is_file()).then(|| (file, Stamp::of(&meta)))
        })?;
    let relative = file
        .strip_prefix(&host.root)
        .unwrap_or(&file)
        .to_string_lossy()
        .replace('\\', "/");
    let mut resolved = host.resolved.borrow_mut();
    if resolved.len() >= 10_000 {
        resolved.clear();
    }
    let known = Resolved {
        file: file.clone(),
        relative: relative.clone(),
        stamp,
        confirmed: now,
    };
    resolved.insert(key, known);
    Some((file, relative, stamp))
}

/// A relative `require` resolved (see `locate`).
pub struct Resolved {
    file: PathBuf,
    relative: String,
    stamp: Stamp,
    confirmed: Moment,
}

/// `native.module(name)`: the native module `name` names, or undefined.
/// A project file of the same name is hidden by it: the log says so, once.
fn native_module(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let found = modules::registry::native_fn(this, args, context)?;
    if !found.is_undefined() {
        if let Some(name) = args.first().and_then(JsValue::as_string) {
            warn_if_hidden(&name.to_std_string_escaped(), context);
        }
    }
    Ok(found)
}

/// Names, once, a project file that the native module `name` hides.
pub fn warn_if_hidden(name: &str, context: &Context) {
    let root = &host(context).root;
    static CHECKED: std::sync::Mutex<Option<std::collections::HashSet<String>>> =
        std::sync::Mutex::new(None);
    let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    if !checked
        .get_or_insert_with(Default::default)
        .insert(name.to_string())
    {
        return;
    }
    if let Some(file) = candidates(&root.join(name))
        .into_iter()
        .find(|c| c.is_file())
    {
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        tracing::warn!(
            "{shown} is hidden by the native module {name}: require(\"{name}\") gives the module; rename the file or require it as ./{shown}"
        );
    }
}

fn candidates(base: &Path) -> Vec<PathBuf> {
    let mut list = Vec::new();
    let extension = base.extension().and_then(|e| e.to_str());
    if matches!(extension, Some("js" | "json" | "cjs")) {
        list.push(base.to_path_buf());
    }
    let text = base.as_os_str().to_string_lossy();
    list.push(PathBuf::from(format!("{text}.js")));
    list.push(PathBuf::from(format!("{text}.json")));
    list.push(base.join("index.js"));
    list
}
