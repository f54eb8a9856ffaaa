//! One request's script in a context: evaluate it, then run what it
//! started until nothing can run any more (or a limit stops it).

use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::builtins::JsPromise;
use boa_engine::{JsError, JsValue};

use super::cache::Unit;
use super::context::JsRuntime;
use super::esm::EsmLoader;
use super::failure::Failure;
use super::jobs::Halt;
use super::limits::{Meter, Reason};
use super::unhandled;
use super::web;
use crate::modules::scope;
use crate::scripts::router::Route;

/// Runs `route`'s script for the scope the context has entered; what went
/// wrong, if anything.
pub fn run(runtime: &mut JsRuntime, route: &Route, meter: &Meter) -> Option<Failure> {
    runtime.host.request.set(runtime.host.request.get() + 1);
    let mut result = JsValue::undefined();
    let failure = match evaluate(runtime, route) {
        Err(failure) => Some(failure),
        Ok(value) => {
            let jobs = runtime.jobs.clone();
            result = value;
            match jobs.settle(&mut runtime.context) {
                Ok(()) => rejected(&result, runtime),
                Err(Halt::Threw(error)) => Some(Failure::from_js(error, &mut runtime.context)),
                Err(Halt::Stopped(stop)) => {
                    meter.stop(stop.into());
                    Some(Failure::Interrupted)
                }
            }
        }
    };
    let context = &mut runtime.context;
    unhandled::report(context, &result, &route.relative);
    if runtime.jobs.timers_were_set() {
        web::clear_timers(context);
    }
    runtime.jobs.clear();
    scope::end_script(context);
    scope::enter(context, None);
    // A wait cut short stops the script without the meter knowing why. (A
    // script that ended past its deadline unnoticed has still ended.)
    let waited = || crate::fiber::current()?.was_stopped().map(Reason::from);
    match (failure, meter.reason().or_else(waited)) {
        // Also when the stop surfaced as an engine error (a builtin that
        // expected no error there: "Get cannot fail here").
        (Some(Failure::Interrupted | Failure::Limit(_)), Some(reason)) => {
            Some(stopped(reason, meter))
        }
        // Stopped where it could not be told (a regex search given up on
        // as its last step): it still failed.
        (None, Some(reason)) => Some(stopped(reason, meter)),
        (failure, _) => failure,
    }
}

fn stopped(reason: Reason, meter: &Meter) -> Failure {
    match reason {
        Reason::Timeout => Failure::Timeout,
        Reason::Cancelled => Failure::Cancelled,
        Reason::Memory => Failure::Limit(format!(
            "it used more than {} MiB of memory (--max-script-memory)",
            meter.limits().script >> 20
        )),
        Reason::ServerMemory => Failure::Limit(format!(
            "the server's scripts hold more than {} MiB together (--max-memory)",
            meter.limits().server >> 20
        )),
    }
}

/// Evaluates the script itself (an ES module's top level included).
fn evaluate(runtime: &mut JsRuntime, route: &Route) -> Result<JsValue, Failure> {
    let relative = &*route.relative;
    let unit = runtime.host.cache.borrow_mut().get(
        &route.file,
        route.stamp,
        relative,
        &mut runtime.context,
    );
    let threw = |message: String| Failure::Threw {
        message,
        location: None,
        stack: String::new(),
    };
    let unit = unit.map_err(|err| threw(format!("cannot read {relative}: {err}")))?;
    // Every request gets its own instances of the ES modules it imports,
    // `import()` from a script included.
    runtime.loader.begin_request();
    let context = &mut runtime.context;
    match unit {
        Unit::Broken(description) => Err(threw(description.to_string())),
        Unit::Json(_) => Err(threw(format!("{relative} is JSON, not a script"))),
        Unit::CommonJs(script) => script
            .run(context)
            .map_err(|err| Failure::from_js(err, context)),
        Unit::Esm(source) => {
            let module = EsmLoader::parse(&source, relative, context)
                .map_err(|err| Failure::syntax(err, relative, false))?;
            Ok(module.load_link_evaluate(context).into())
        }
    }
}

/// A script (or module) whose result is a promise fails when it rejects.
fn rejected(value: &JsValue, runtime: &mut JsRuntime) -> Option<Failure> {
    let promise = value
        .as_object()
        .and_then(|o| JsPromise::from_object(o).ok())?;
    match promise.state() {
        PromiseState::Rejected(reason) => Some(Failure::from_js(
            JsError::from_opaque(reason),
            &mut runtime.context,
        )),
        _ => None,
    }
}
