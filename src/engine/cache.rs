//! Compiled scripts of one worker. A file is parsed once and reused until it
//! changes on disk (checked by modification time and size on every use), so
//! editing, adding or deleting a script takes effect on the next request.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use boa_engine::object::builtins::JsFunction;
use boa_engine::{Context, JsObject, Script, Source};

use super::failure::Failure;
use crate::server::router::Stamp;

/// Scripts run as the body of this function (CommonJS): top-level
/// declarations stay local to one run, and locals are fast.
pub const WRAP_PREFIX: &str = "(function (exports, require, module, __filename, __dirname) {";
const WRAP_SUFFIX: &str = "\n})";

#[derive(Clone)]
pub enum Unit {
    /// `{fn, filename, dirname}`: the CommonJS wrapper function, ready to
    /// call, with its names; built once per version of the file.
    CommonJs(JsObject),
    /// An ES module's source: modules evaluate once, so each run parses anew.
    Esm(Rc<str>),
    /// A `.json` file's text.
    Json(Rc<str>),
    /// Did not compile; the description is kept until the file changes.
    Broken(Rc<str>),
}

#[derive(Default)]
pub struct ScriptCache {
    units: HashMap<PathBuf, (Stamp, Unit)>,
}

impl ScriptCache {
    /// The compiled form of `file` (`relative` names it in messages).
    pub fn get(
        &mut self,
        file: &Path,
        relative: &str,
        context: &mut Context,
    ) -> Result<Unit, std::io::Error> {
        let stamp = Stamp::of(&std::fs::metadata(file)?);
        self.get_stamped(file, stamp, relative, context)
    }

    /// Like `get`, with the stamp the caller already read.
    pub fn get_stamped(
        &mut self,
        file: &Path,
        stamp: Stamp,
        relative: &str,
        context: &mut Context,
    ) -> Result<Unit, std::io::Error> {
        if let Some((cached, unit)) = self.units.get(file) {
            if *cached == stamp {
                return Ok(unit.clone());
            }
        }
        let source = std::fs::read_to_string(file)?;
        let unit = compile(file, relative, source, context);
        self.units.insert(file.to_path_buf(), (stamp, unit.clone()));
        Ok(unit)
    }
}

fn compile(file: &Path, relative: &str, source: String, context: &mut Context) -> Unit {
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if extension == "json" {
        return Unit::Json(source.into());
    }
    if extension == "mjs" || looks_like_esm(&source) {
        return Unit::Esm(source.into());
    }
    let wrapped = format!("{WRAP_PREFIX}{source}{WRAP_SUFFIX}");
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
    match script
        .evaluate(context)
        .map(|f| f.as_object().and_then(JsFunction::from_object))
    {
        Ok(Some(function)) => Unit::CommonJs(super::require::found(
            file,
            ("fn", function.into()),
            context,
        )),
        // Source that closes the wrapper early (`})(); (function(){`) is not a script body.
        _ => Unit::Broken(format!("SyntaxError: {relative} is not a valid script body").into()),
    }
}

/// A `.js` file written as an ES module: a line that starts with `import`
/// or `export` (a dynamic `import(` call does not count).
fn looks_like_esm(source: &str) -> bool {
    source.lines().map(str::trim_start).any(|line| {
        (line.starts_with("import ") || line.starts_with("import{") || line.starts_with("export "))
            && !line.starts_with("import(")
    })
}
