//! ES module loading: Dirigible's module names map to the native modules,
//! relative imports to files under the scripts root. Never the working
//! directory, never outside the root.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use boa_engine::module::{ModuleLoader, Referrer};
use boa_engine::{Context, JsNativeError, JsResult, Module, Source};

use boa_engine::module::ModuleRequest;

use crate::modules;

pub struct EsmLoader {
    root: PathBuf,
    /// The SDK modules, built once per Context.
    sdk: RefCell<HashMap<String, Module>>,
    /// User modules of the current request: one instance per file per run.
    user: RefCell<HashMap<PathBuf, Module>>,
}

impl EsmLoader {
    pub fn new(root: PathBuf) -> Self {
        EsmLoader {
            root,
            sdk: RefCell::default(),
            user: RefCell::default(),
        }
    }

    /// Forgets the previous request's module instances.
    pub fn begin_request(&self) {
        self.user.borrow_mut().clear();
    }

    /// Parses a module file; `relative` names it in messages and stacks.
    pub fn parse(source: &str, relative: &str, context: &mut Context) -> JsResult<Module> {
        Module::parse(
            Source::from_bytes(source).with_path(Path::new(relative)),
            None,
            context,
        )
    }

    fn load(
        &self,
        referrer: &Referrer,
        specifier: &str,
        context: &mut Context,
    ) -> JsResult<Module> {
        if let Some(module) = self.sdk.borrow().get(specifier) {
            return Ok(module.clone());
        }
        if let Some(text) = modules::registry::esm_source(specifier, context)? {
            let module = Module::parse(Source::from_bytes(&text), None, context)?;
            self.sdk
                .borrow_mut()
                .insert(specifier.to_string(), module.clone());
            return Ok(module);
        }
        let not_found =
            || JsNativeError::typ().with_message(format!("Cannot find module '{specifier}'"));
        // Relative to the importing module; any other name is a project path
        // from the root of the scripts folder.
        let base = if specifier.starts_with("./") || specifier.starts_with("../") {
            referrer
                .path()
                .and_then(Path::parent)
                .unwrap_or(Path::new(""))
        } else if specifier.starts_with('/') {
            return Err(not_found().into());
        } else {
            Path::new("")
        };
        let named = self.root.join(base).join(specifier);
        let file = candidates(&named)
            .into_iter()
            .find_map(|c| {
                let file = c.canonicalize().ok()?;
                (file.starts_with(&self.root) && file.is_file()).then_some(file)
            })
            .ok_or_else(not_found)?;
        if let Some(module) = self.user.borrow().get(&file) {
            return Ok(module.clone());
        }
        let relative = file
            .strip_prefix(&self.root)
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        let source = std::fs::read_to_string(&file).map_err(|e| {
            JsNativeError::error().with_message(format!("cannot read {relative}: {e}"))
        })?;
        let module = Self::parse(&source, &relative, context)?;
        self.user.borrow_mut().insert(file, module.clone());
        Ok(module)
    }
}

/// The files an import may name: as written, then with `.mjs`, `.js`, or
/// as a folder's index (compiled TypeScript imports without extensions).
fn candidates(named: &Path) -> Vec<PathBuf> {
    let text = named.as_os_str().to_string_lossy();
    vec![
        named.to_path_buf(),
        PathBuf::from(format!("{text}.mjs")),
        PathBuf::from(format!("{text}.js")),
        named.join("index.mjs"),
        named.join("index.js"),
    ]
}

impl ModuleLoader for EsmLoader {
    fn load_imported_module(
        self: Rc<Self>,
        referrer: Referrer,
        request: ModuleRequest,
        context: &RefCell<&mut Context>,
    ) -> impl Future<Output = JsResult<Module>> {
        let specifier = request.specifier().to_std_string_escaped();
        let result = self.load(&referrer, &specifier, &mut context.borrow_mut());
        async { result }
    }
}
