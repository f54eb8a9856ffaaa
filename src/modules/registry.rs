//! Which name finds which native module. A module declares its namespace
//! and name once (`http` and `request`); it then answers to every
//! generation of Dirigible's names for it: `http/request`,
//! `http/v3/request`, `http/v4/request`, `sdk/http/request`,
//! `@dirigible/http/request`, `@aerokit/sdk/http/request`, and the
//! namespace barrels `sdk/http`, `@dirigible/http`, `@aerokit/sdk/http`
//! hold it under its export names (`request`, `Request`). Modules are built
//! in a context the first time a script asks for them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use boa_engine::{Context, JsObject, JsResult, JsString, JsValue};

/// A native module, as its file declares it.
pub struct Native {
    /// Dirigible's namespace (`http`).
    pub namespace: &'static str,
    /// Its name in the namespace (`request`).
    pub name: &'static str,
    /// Other names it answers to (a module that moved between namespaces).
    pub aliases: &'static [&'static str],
    /// Its names in the namespace barrel (`import { request } from "sdk/http"`),
    /// each the module itself; `.Name` exports the module's property `Name`
    /// under that name instead (`.InputStream` of `io/streams`).
    pub exports: &'static [&'static str],
    pub build: Build,
}

/// How a module's object is made, once per context.
pub enum Build {
    /// An object of these native methods (and `isValid`).
    Methods(&'static [super::Method]),
    /// By this function: modules with JavaScript, constants or classes.
    With(fn(&mut Context) -> JsResult<JsObject>),
}

/// What a name finds.
#[derive(Clone, Copy)]
pub enum Found {
    Module(&'static Native),
    /// Every module of a namespace, by export name.
    Barrel(&'static str),
}

/// Prefixes of the names of a namespace's barrel.
const BARRELS: [&str; 3] = ["sdk/", "@dirigible/", "@aerokit/sdk/"];

fn index() -> &'static HashMap<String, Found> {
    static INDEX: OnceLock<HashMap<String, Found>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = HashMap::new();
        for &native in super::ALL {
            let (ns, name) = (native.namespace, native.name);
            let names = [
                format!("{ns}/{name}"),
                format!("{ns}/v3/{name}"),
                format!("{ns}/v4/{name}"),
            ]
            .into_iter()
            .chain(BARRELS.iter().map(|prefix| format!("{prefix}{ns}/{name}")))
            .chain(native.aliases.iter().map(|alias| alias.to_string()));
            for name in names {
                index.insert(name, Found::Module(native));
            }
            for prefix in BARRELS {
                index.insert(format!("{prefix}{ns}"), Found::Barrel(ns));
            }
        }
        index
    })
}

/// The native module (or barrel) `name` finds, if any.
pub fn find(name: &str) -> Option<Found> {
    index().get(name).copied()
}

/// The modules built in one context, by namespace and name (a barrel's
/// name is empty).
#[derive(Default)]
struct Built(RefCell<HashMap<(&'static str, &'static str), JsObject>>);

/// The object `name` finds in `context` (built on first use), or `None`
/// when `name` is not a native module.
pub fn require(name: &str, context: &mut Context) -> JsResult<Option<JsObject>> {
    match find(name) {
        None => Ok(None),
        Some(Found::Module(native)) => module(native, context).map(Some),
        Some(Found::Barrel(namespace)) => barrel(namespace, context).map(Some),
    }
}

type Key = (&'static str, &'static str);

fn cached(key: Key, context: &Context) -> Option<JsObject> {
    context.get_data::<Built>()?.0.borrow().get(&key).cloned()
}

fn remember(key: Key, object: &JsObject, context: &mut Context) {
    if context.get_data::<Built>().is_none() {
        context.insert_data(Built::default());
    }
    if let Some(built) = context.get_data::<Built>() {
        built.0.borrow_mut().insert(key, object.clone());
    }
}

fn module(native: &'static Native, context: &mut Context) -> JsResult<JsObject> {
    let key = (native.namespace, native.name);
    if let Some(object) = cached(key, context) {
        return Ok(object);
    }
    let object = match native.build {
        Build::Methods(methods) => super::module_object(context, methods),
        Build::With(build) => build(context)?,
    };
    remember(key, &object, context);
    Ok(object)
}

fn barrel(namespace: &'static str, context: &mut Context) -> JsResult<JsObject> {
    if let Some(object) = cached((namespace, ""), context) {
        return Ok(object);
    }
    let object = JsObject::with_object_proto(context.intrinsics());
    for &native in super::ALL.iter().filter(|n| n.namespace == namespace) {
        let module = module(native, context)?;
        for export in native.exports {
            let (name, value) = match export.strip_prefix('.') {
                Some(property) => (property, module.get(JsString::from(property), context)?),
                None => (*export, module.clone().into()),
            };
            object.set(JsString::from(name), value, false, context)?;
        }
    }
    remember((namespace, ""), &object, context);
    Ok(object)
}

/// The source of an ES module that re-exports the native module `name`
/// finds: as `default`, under its barrel names, and each of its own
/// properties by name (`import { println } from "sdk/http/response"`).
pub fn esm_source(name: &str, context: &mut Context) -> JsResult<Option<String>> {
    let Some(object) = require(name, context)? else {
        return Ok(None);
    };
    let quoted = serde_json::to_string(name).unwrap_or_default();
    let mut source = format!("const m = __blimp.native({quoted});\nexport default m;\n");
    let mut exported = vec!["default".to_string()];
    if let Some(Found::Module(native)) = find(name) {
        for export in native.exports {
            let (name, value) = match export.strip_prefix('.') {
                Some(property) => (property, format!("m.{property}")),
                None => (*export, "m".to_string()),
            };
            source.push_str(&format!("export const {name} = {value};\n"));
            exported.push(name.to_string());
        }
    }
    for key in object.own_property_keys(context)? {
        let key = match key {
            boa_engine::property::PropertyKey::String(key) => key.to_std_string_escaped(),
            _ => continue,
        };
        if is_identifier(&key) && !exported.contains(&key) {
            source.push_str(&format!("export const {key} = m.{key};\n"));
            exported.push(key);
        }
    }
    Ok(Some(source))
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !matches!(
            name,
            "default" | "delete" | "new" | "class" | "function" | "import" | "export" | "this"
        )
}

/// The prelude's `native.module(name)`: the module, or undefined.
pub fn native_fn(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = args
        .first()
        .and_then(JsValue::as_string)
        .map(|s| s.to_std_string_escaped())
        .unwrap_or_default();
    Ok(require(&name, context)?.map_or(JsValue::undefined(), JsValue::from))
}
