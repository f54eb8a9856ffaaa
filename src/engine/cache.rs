//! Compiled scripts of one worker. A file is parsed once and reused until it
//! changes on disk (its stamp: inode, modification time and size), so
//! editing, adding or deleting a script takes effect on the next request.

use std::path::Path;
use std::rc::Rc;

use boa_engine::object::builtins::JsFunction;
use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsObject, JsResult, JsString, JsValue, Script, Source};

use super::failure::Failure;
use crate::modules;
use crate::scripts::router::Stamp;

/// Scripts run as the body of this function (CommonJS): top-level
/// declarations stay local to one run, and locals are fast.
pub const WRAP_PREFIX: &str = "(function (exports, require, module, __filename, __dirname) {";
const WRAP_SUFFIX: &str = "\n})";

#[derive(Clone)]
pub enum Unit {
    /// A CommonJS script, built once per version of the file.
    CommonJs(Rc<CommonJs>),
    /// An ES module's source: modules evaluate once, so each run parses anew.
    Esm(Rc<str>),
    /// A `.json` file's text.
    Json(Rc<str>),
    /// Did not compile; the description is kept until the file changes.
    Broken(Rc<str>),
}

pub struct CommonJs {
    /// `{fn, filename, dirname}`: the wrapper function, ready to call, with
    /// its names, for `require`.
    pub record: JsObject,
    /// Runs the file as a request's own script: calls the wrapper with its
    /// arguments, straight from globals that hold them (a Script can reach
    /// nothing else), so a request costs one evaluation and one call.
    pub entry: Script,
    /// The globals that hold the wrapper and its `require`.
    globals: [JsString; 2],
}

#[derive(Default)]
pub struct ScriptCache {
    /// By path relative to the root (hashing a `Path` is slow).
    units: foldhash::HashMap<String, (Stamp, Unit)>,
    /// Numbers the globals of CommonJS units.
    built: u64,
}

impl ScriptCache {
    /// The compiled form of `file` at version `stamp` (`relative` names it
    /// in messages).
    pub fn get(
        &mut self,
        file: &Path,
        stamp: Stamp,
        relative: &str,
        context: &mut Context,
    ) -> Result<Unit, std::io::Error> {
        if let Some((cached, unit)) = self.units.get(relative) {
            if *cached == stamp {
                return Ok(unit.clone());
            }
        }
        let source = std::fs::read_to_string(file)?;
        self.built += 1;
        let unit = compile(file, relative, source, self.built, context);
        let replaced = self
            .units
            .insert(relative.to_string(), (stamp, unit.clone()));
        if let Some((_, Unit::CommonJs(old))) = replaced {
            for name in &old.globals {
                let _ = context
                    .global_object()
                    .delete_property_or_throw(name.clone(), context);
            }
        }
        Ok(unit)
    }
}

fn compile(
    file: &Path,
    relative: &str,
    source: String,
    number: u64,
    context: &mut Context,
) -> Unit {
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if extension == "json" {
        return Unit::Json(source.into());
    }
    if extension == "mjs" || looks_like_esm(&source) {
        return Unit::Esm(source.into());
    }
    // A plain script (one that never names `module`, `exports`, `this`,
    // `arguments` or `eval`) cannot tell those from `undefined`: it gets
    // no objects for them, and its wrapper takes only the parameters it
    // names (each one costs a little on every call).
    let plain = !mentions_any(&source, &["module", "exports", "this", "arguments", "eval"]);
    let params = if !plain {
        &["exports", "require", "module", "__filename", "__dirname"][..]
    } else if mentions_any(&source, &["__dirname"]) {
        &["require", "__filename", "__dirname"][..]
    } else if mentions_any(&source, &["__filename"]) {
        &["require", "__filename"][..]
    } else {
        &["require"][..]
    };
    // The same length as the full prefix, so columns on line 1 stay right.
    let prefix = format!("(function ({}", params.join(", "));
    let wrapped = format!(
        "{prefix:<width$}) {{{source}{WRAP_SUFFIX}",
        width = WRAP_PREFIX.len() - 3
    );
    let parsed = Script::parse(
        Source::from_bytes(&wrapped).with_path(Path::new(relative)),
        None,
        context,
    );
    let script = match parsed {
        Ok(script) => script,
        Err(error) => {
            return Unit::Broken(Failure::syntax(error, relative, true).describe().into())
        }
    };
    let function = match script
        .evaluate(context)
        .map(|f| f.as_object().and_then(JsFunction::from_object))
    {
        Ok(Some(function)) => function,
        // Source that closes the wrapper early (`})(); (function(){`) is not a script body.
        _ => {
            return Unit::Broken(
                format!("SyntaxError: {relative} is not a valid script body").into(),
            )
        }
    };
    let native = requires_only_native_modules(&source);
    for name in native.iter().flatten() {
        super::require::warn_if_hidden(name, context);
    }
    match entry(file, function, params, native, number, context) {
        Ok(unit) => Unit::CommonJs(Rc::new(unit)),
        Err(err) => Unit::Broken(format!("cannot prepare {relative}: {err}").into()),
    }
}

/// The entry Script of a compiled wrapper that takes `params`; with
/// `native` names, its `require` is `require::native_require`.
fn entry(
    file: &Path,
    function: JsFunction,
    params: &[&str],
    native: Option<Vec<String>>,
    number: u64,
    context: &mut Context,
) -> JsResult<CommonJs> {
    let plain = params[0] == "require";
    let record = super::require::found(file, ("fn", function.clone().into()), context);
    record.set(js_string!("plain"), plain, false, context)?;
    let dirname = file.parent().unwrap_or(Path::new("/"));
    let requirer = super::context::blimp_object(context)?
        .get(js_string!("requireFrom"), context)?
        .as_callable()
        .ok_or_else(|| {
            boa_engine::JsNativeError::error().with_message("prelude has no requireFrom")
        })?;
    let mut require = requirer.call(
        &JsValue::undefined(),
        &[JsString::from(dirname.to_string_lossy().as_ref()).into()],
        context,
    )?;
    if let (Some(names), Some(usual)) = (native, require.as_object()) {
        require = super::require::native_require(&names, usual.clone(), context)?;
    }
    let (fn_global, require_global) = (format!("__blimp_u{number}"), format!("__blimp_u{number}r"));
    for (name, value) in [
        (&fn_global, JsValue::from(function)),
        (&require_global, require),
    ] {
        // Not enumerable or writable; configurable so a new version can drop it.
        context.register_global_property(
            JsString::from(name.as_str()),
            value,
            Attribute::CONFIGURABLE,
        )?;
    }
    let quoted = |path: &Path| serde_json::to_string(&path.to_string_lossy()).unwrap_or_default();
    let (filename, dirname) = (quoted(file), quoted(dirname));
    let code = if plain {
        let args = [require_global.as_str(), &filename, &dirname];
        format!("{fn_global}({})", args[..params.len()].join(", "))
    } else {
        format!("__blimp.enter({fn_global}, {require_global}, {filename}, {dirname})")
    };
    let entry = Script::parse(Source::from_bytes(&code), None, context)?;
    Ok(CommonJs {
        record,
        entry,
        globals: [
            JsString::from(fn_global.as_str()),
            JsString::from(require_global.as_str()),
        ],
    })
}

/// The names, when every `require` in `source` is a call with the literal
/// name of a native module, as in `require("http/v4/response")`.
fn requires_only_native_modules(source: &str) -> Option<Vec<String>> {
    let bytes = source.as_bytes();
    let mut names = Vec::new();
    for (at, word) in source.match_indices("require") {
        let end = at + word.len();
        if (at > 0 && is_name(bytes[at - 1])) || (end < bytes.len() && is_name(bytes[end])) {
            continue; // part of another name
        }
        let rest = source[end..].trim_start().strip_prefix('(')?.trim_start();
        let quote = rest.chars().next().filter(|q| matches!(q, '"' | '\''))?;
        let (name, rest) = rest[1..].split_once(quote)?;
        if modules::registry::find(name).is_none() || !rest.trim_start().starts_with(')') {
            return None;
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    Some(names)
}

fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

/// Whether `source` has one of `words` as a whole word (in code, a string
/// or a comment alike: a false alarm only costs the faster path).
fn mentions_any(source: &str, words: &[&str]) -> bool {
    let bytes = source.as_bytes();
    words.iter().any(|word| {
        source.match_indices(word).any(|(at, _)| {
            let end = at + word.len();
            (at == 0 || !is_name(bytes[at - 1])) && (end == bytes.len() || !is_name(bytes[end]))
        })
    })
}

/// A `.js` file written as an ES module: a line that starts with `import`
/// or `export` (a dynamic `import(` call does not count).
fn looks_like_esm(source: &str) -> bool {
    source.lines().map(str::trim_start).any(|line| {
        (line.starts_with("import ") || line.starts_with("import{") || line.starts_with("export "))
            && !line.starts_with("import(")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_literal_native_module_names_get_the_native_require() {
        for yes in [
            "const r = require('http/v4/response'); r.println(1);",
            "require ( \"http/session\" ).increment('n'); // required",
            "const a = obj.required; let requirement = 1;",
            "",
        ] {
            assert!(requires_only_native_modules(yes).is_some(), "{yes}");
        }
        for no in [
            "require('./lib')",
            "require('http/v4/response'); require(name)",
            "const r = require; r('http/v4/response')",
            "require(`http/v4/response`)",
            "// require('fs')",
            "require('http/v4/response' + '')",
        ] {
            assert!(requires_only_native_modules(no).is_none(), "{no}");
        }
    }
}
