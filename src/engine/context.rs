//! Building a worker's long-lived Context: limits, job queue, module
//! loader, console, the native modules and the CommonJS prelude.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;

use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsNativeError, JsObject, JsResult, JsString};

use super::cache::ScriptCache;
use super::esm::EsmLoader;
use super::jobs::Jobs;
use super::regexp_replace;
use super::require::{self, Resolved};
use crate::modules;

/// Loop iterations one loop may run before the script is stopped: catches
/// runaway loops inside built-in callbacks, where the timeout cannot look.
const LOOP_ITERATION_LIMIT: u64 = 50_000_000;
const RECURSION_LIMIT: usize = 4_000;

/// What native functions reach through the Context.
pub struct Host {
    pub root: PathBuf,
    pub cache: RefCell<ScriptCache>,
    /// Counts requests: the prelude's per-request state belongs to one.
    pub request: Cell<u64>,
    /// Where relative `require`s led, by (folder, name).
    pub resolved: RefCell<foldhash::HashMap<(String, String), Resolved>>,
    /// The native modules, by each of their names.
    pub modules: RefCell<Vec<(JsString, JsObject)>>,
}

pub struct JsRuntime {
    pub context: Context,
    pub host: Rc<Host>,
    pub jobs: Rc<Jobs>,
    pub loader: Rc<EsmLoader>,
}

impl JsRuntime {
    pub fn new(root: PathBuf) -> JsResult<Self> {
        let jobs = Rc::new(Jobs::default());
        let loader = Rc::new(EsmLoader::new(root.clone()));
        let mut context = Context::builder()
            .job_executor(jobs.clone())
            .module_loader(loader.clone())
            .build()?;
        let limits = context.runtime_limits_mut();
        limits.set_loop_iteration_limit(LOOP_ITERATION_LIMIT);
        limits.set_recursion_limit(RECURSION_LIMIT);

        let host = Rc::new(Host {
            root,
            cache: RefCell::default(),
            request: Cell::default(),
            resolved: RefCell::default(),
            modules: RefCell::default(),
        });
        context.insert_data(host.clone());

        regexp_replace::install(&mut context)?;
        modules::console::install(&mut context)?;
        let natives = modules::install(&mut context)?;
        let blimp = require::install_prelude(&natives, &mut context)?;
        *host.modules.borrow_mut() = natives;
        context.register_global_property(
            js_string!("__blimp"),
            blimp,
            Attribute::empty(), // not writable, enumerable or configurable
        )?;
        Ok(JsRuntime {
            context,
            host,
            jobs,
            loader,
        })
    }
}

/// The host data of a Context.
pub fn host(context: &Context) -> Rc<Host> {
    context
        .get_data::<Rc<Host>>()
        .expect("every Context has a Host")
        .clone()
}

pub fn blimp_object(context: &mut Context) -> JsResult<JsObject> {
    context
        .global_object()
        .get(js_string!("__blimp"), context)?
        .as_object()
        .ok_or_else(|| {
            JsNativeError::error()
                .with_message("__blimp missing")
                .into()
        })
}
