//! Building a context: limits, job queue, module loader, console, the web
//! globals, the native modules and the CommonJS prelude. A context lives in
//! one fiber and serves one request at a time, for many requests.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsNativeError, JsObject, JsResult};

use super::cache::ScriptCache;
use super::esm::EsmLoader;
use super::jobs::Jobs;
use super::limits::Hooks;
use super::regexp_replace;
use super::require::{self, Resolved};
use super::web;
use crate::modules;
use crate::outbound::Outbound;

/// Nested calls a script may make before a RangeError.
const RECURSION_LIMIT: usize = 4_000;
/// Values on the VM's own stack (heap memory): enough that the recursion
/// limit, not this one, is what deep recursion meets.
const VM_STACK_LIMIT: usize = 200_000;

/// What native functions reach through the Context.
pub struct Host {
    pub root: PathBuf,
    pub public: Option<PathBuf>,
    pub cache: RefCell<ScriptCache>,
    /// Counts requests: the prelude's per-request state belongs to one.
    pub request: Cell<u64>,
    /// Where relative `require`s led, by (folder, name).
    pub resolved: RefCell<foldhash::HashMap<(String, String), Resolved>>,
}

impl Host {
    /// Whether `file` (canonical) may be required: inside the scripts
    /// folder, outside the public folder (browser files, never run).
    pub fn may_require(&self, file: &Path) -> bool {
        may_require(&self.root, self.public.as_deref(), file)
    }
}

pub fn may_require(root: &Path, public: Option<&Path>, file: &Path) -> bool {
    file.starts_with(root) && !public.is_some_and(|public| file.starts_with(public))
}

pub struct JsRuntime {
    pub context: Context,
    pub host: Rc<Host>,
    pub jobs: Rc<Jobs>,
    pub loader: Rc<EsmLoader>,
}

impl JsRuntime {
    /// A context for the fiber whose native stack ends at `stack_floor`
    /// (nested built-ins past it throw a RangeError instead of overflowing).
    pub fn new(
        root: PathBuf,
        public: Option<PathBuf>,
        hooks: Rc<Hooks>,
        outbound: Rc<Outbound>,
        stack_floor: usize,
    ) -> JsResult<Self> {
        let jobs = Rc::new(Jobs::default());
        let loader = Rc::new(EsmLoader::new(root.clone(), public.clone()));
        let mut context = Context::builder()
            .job_executor(jobs.clone())
            .module_loader(loader.clone())
            .host_hooks(hooks)
            .build()?;
        let limits = context.runtime_limits_mut();
        limits.set_recursion_limit(RECURSION_LIMIT);
        limits.set_stack_size_limit(VM_STACK_LIMIT);
        context.set_native_stack_floor(stack_floor);

        let host = Rc::new(Host {
            root,
            public,
            cache: RefCell::default(),
            request: Cell::default(),
            resolved: RefCell::default(),
        });
        context.insert_data(host.clone());

        regexp_replace::install(&mut context)?;
        web::install(&mut context, outbound)?;
        modules::console::install(&mut context)?;
        let blimp = require::install_prelude(&mut context)?;
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
