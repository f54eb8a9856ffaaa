//! `core/configurations` (`Configurations`): the server's configuration
//! values, starting from the environment taken at start (the process
//! environment over `--env-file`'s values). `set` and `remove` change a
//! value for the whole server process: every worker thread sees it from
//! the next call on, until the server stops (a restart starts again from
//! the environment). `env.get` keeps the value from the start.

use boa_engine::{Context, JsNativeError, JsResult, JsString, JsValue};

use crate::modules::registry::{Build, Native};
use crate::modules::{arg_string, string_array, Method};

pub const MODULE: Native = Native {
    namespace: "core",
    name: "configurations",
    aliases: &[],
    exports: &["configurations", "Configurations"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[
    ("get", 2, get),
    ("set", 2, set),
    ("remove", 1, remove),
    ("getKeys", 0, get_keys),
    ("load", 1, |_, _, _| {
        Err(JsNativeError::error()
            .with_message("Configurations.load: blimp reads configuration from the environment and --env-file only")
            .into())
    }),
    ("update", 0, |_, _, _| Ok(JsValue::undefined())),
    ("getOS", 0, |_, _, _| Ok(JsString::from(os_name()).into())),
    ("isOSWindows", 0, |_, _, _| {
        Ok(os_lower().contains("win").into())
    }),
    ("isOSMac", 0, |_, _, _| {
        Ok(os_lower().contains("mac").into())
    }),
    ("isOSUNIX", 0, |_, _, _| {
        let os = os_lower();
        Ok((os.contains("nix") || os.contains("nux") || os.contains("aix")).into())
    }),
    ("isOSSolaris", 0, |_, _, _| {
        Ok(os_lower().contains("sunos").into())
    }),
];

fn read() -> std::sync::RwLockReadGuard<'static, std::collections::BTreeMap<String, String>> {
    super::environment()
        .values
        .read()
        .unwrap_or_else(|e| e.into_inner())
}

fn write() -> std::sync::RwLockWriteGuard<'static, std::collections::BTreeMap<String, String>> {
    super::environment()
        .values
        .write()
        .unwrap_or_else(|e| e.into_inner())
}

/// The value, else the default as given, else `undefined`.
fn get(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let key = arg_string(args, 0, context)?;
    if let Some(value) = read().get(&key) {
        return Ok(JsString::from(value.as_str()).into());
    }
    Ok(args
        .get(1)
        .filter(|d| !d.is_null_or_undefined())
        .cloned()
        .unwrap_or_default())
}

/// `String(value)`; `null` or `undefined` removes the key.
fn set(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let key = arg_string(args, 0, context)?;
    match args.get(1) {
        Some(value) if !value.is_null_or_undefined() => {
            let value = value.to_string(context)?.to_std_string_lossy();
            write().insert(key, value);
        }
        _ => {
            write().remove(&key);
        }
    }
    Ok(JsValue::undefined())
}

fn remove(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let key = arg_string(args, 0, context)?;
    write().remove(&key);
    Ok(JsValue::undefined())
}

/// Sorted.
fn get_keys(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let keys: Vec<String> = read().keys().cloned().collect();
    Ok(string_array(keys, context))
}

/// Java's `os.name`.
fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Mac OS X",
        "windows" => "Windows",
        "freebsd" => "FreeBSD",
        "solaris" | "illumos" => "SunOS",
        other => other,
    }
}

fn os_lower() -> String {
    os_name().to_ascii_lowercase()
}
