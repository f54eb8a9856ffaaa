//! Compiled scripts of one worker. A file is parsed once and reused until it
//! changes on disk (its stamp: inode, modification time and size), so
//! editing, adding or deleting a script takes effect on the next request.

use std::path::Path;
use std::rc::Rc;

use boa_engine::object::builtins::JsFunction;
use boa_engine::{js_string, Context, JsObject, JsResult, JsString, JsValue, Script, Source};

use super::failure::Failure;
use super::usage::{Unusable, Usage};
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
    /// Runs the file as a request's own script: the wrapper itself for a
    /// plain script, else the prelude's `enter`, which makes its `module`.
    call: JsObject,
    /// The arguments of `call`, made once per version of the file.
    args: Vec<JsValue>,
}

impl CommonJs {
    /// Runs the file as a request's own script.
    pub fn run(&self, context: &mut Context) -> JsResult<JsValue> {
        self.call.call(&JsValue::undefined(), &self.args, context)
    }
}

#[derive(Default)]
pub struct ScriptCache {
    /// By path relative to the root (hashing a `Path` is slow).
    units: foldhash::HashMap<String, (Stamp, Unit)>,
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
        let unit = compile(file, relative, source, context);
        self.units
            .insert(relative.to_string(), (stamp, unit.clone()));
        Ok(unit)
    }
}

fn compile(file: &Path, relative: &str, source: String, context: &mut Context) -> Unit {
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if extension == "json" {
        return Unit::Json(source.into());
    }
    if extension == "mjs" {
        return Unit::Esm(source.into());
    }
    // A first line `#!…` is a comment, as in Node (same columns).
    let source = match source.strip_prefix("#!") {
        Some(rest) => format!("//{rest}"),
        None => source,
    };
    // A plain script (one whose code never names `module`, `exports`,
    // `this`, `arguments` or `eval`) cannot tell those from `undefined`: it
    // gets no objects for them, and its wrapper takes only the parameters
    // it names (each one costs a little on every call).
    let full = format!("{WRAP_PREFIX}{source}{WRAP_SUFFIX}");
    let usage = match Usage::of(&full, |name| modules::registry::find(name).is_some()) {
        Ok(usage) => Some(usage),
        Err(Unusable::Unparsed) => None,
        Err(Unusable::NotABody) => return not_a_body(relative),
    };
    let params = match &usage {
        Some(plain) if plain.plain() && plain.mentions("__dirname") => {
            &["require", "__filename", "__dirname"][..]
        }
        Some(plain) if plain.plain() && plain.mentions("__filename") => {
            &["require", "__filename"][..]
        }
        Some(plain) if plain.plain() => &["require"][..],
        _ => &["exports", "require", "module", "__filename", "__dirname"][..],
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
        // A `.js` file is an ES module when it parses as one and not as a
        // script: never a guess from prose that happens to say "import".
        Err(_) if is_module(&source, relative, context) => return Unit::Esm(source.into()),
        Err(error) => {
            return Unit::Broken(Failure::syntax(error, relative, true).describe().into())
        }
    };
    let function = match script
        .evaluate(context)
        .map(|f| f.as_object().and_then(JsFunction::from_object))
    {
        Ok(Some(function)) => function,
        _ => return not_a_body(relative),
    };
    let native = usage.and_then(|u| u.native_requires);
    for name in native.iter().flatten() {
        super::require::warn_if_hidden(name, context);
    }
    match entry(file, function, params, native, context) {
        Ok(unit) => Unit::CommonJs(Rc::new(unit)),
        Err(err) => Unit::Broken(format!("cannot prepare {relative}: {err}").into()),
    }
}

/// How to run a compiled wrapper that takes `params` as a request's
/// script; with `native` names, its `require` is `require::native_require`.
fn entry(
    file: &Path,
    function: JsFunction,
    params: &[&str],
    native: Option<Vec<String>>,
    context: &mut Context,
) -> JsResult<CommonJs> {
    let plain = params[0] == "require";
    let record = super::require::found(file, ("fn", function.clone().into()), context);
    record.set(js_string!("plain"), plain, false, context)?;
    let dirname = file.parent().unwrap_or(Path::new("/"));
    let prelude = |name: JsString, context: &mut Context| -> JsResult<JsObject> {
        super::context::blimp_object(context)?
            .get(name, context)?
            .as_callable()
            .ok_or_else(|| {
                boa_engine::JsNativeError::error()
                    .with_message("the prelude is missing a function")
                    .into()
            })
    };
    let dirname = JsValue::from(JsString::from(dirname.to_string_lossy().as_ref()));
    let filename = JsValue::from(JsString::from(file.to_string_lossy().as_ref()));
    let mut require = prelude(js_string!("requireFrom"), context)?.call(
        &JsValue::undefined(),
        std::slice::from_ref(&dirname),
        context,
    )?;
    if let (Some(names), Some(usual)) = (native, require.as_object()) {
        require = super::require::native_require(&names, usual.clone(), context)?;
    }
    let (call, args) = if plain {
        let mut args = vec![require, filename, dirname];
        args.truncate(params.len());
        (function.into(), args)
    } else {
        let enter = prelude(js_string!("enter"), context)?;
        (enter, vec![function.into(), require, filename, dirname])
    };
    Ok(CommonJs { record, call, args })
}

/// Source that closes the wrapper early (`…}); (function () {…`).
fn not_a_body(relative: &str) -> Unit {
    Unit::Broken(format!("SyntaxError: {relative} is not a valid script body").into())
}

fn is_module(source: &str, relative: &str, context: &mut Context) -> bool {
    let source = Source::from_bytes(source).with_path(Path::new(relative));
    boa_engine::Module::parse(source, None, context).is_ok()
}
