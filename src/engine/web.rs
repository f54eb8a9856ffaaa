//! The web platform's globals a script expects besides the language:
//! timers, `queueMicrotask`, `structuredClone`, `TextEncoder`/`TextDecoder`
//! and `URL`, from boa_runtime (the engine's own runtime crate).

use boa_engine::{Context, JsResult};

pub fn install(context: &mut Context) -> JsResult<()> {
    boa_runtime::interval::register(context)?;
    boa_runtime::microtask::register(None, context)?;
    boa_runtime::clone::register(None, context)?;
    boa_runtime::text::register(None, context)?;
    boa_runtime::url::Url::register(None, context)?;
    Ok(())
}

/// Cancels the timers a request left: they never fire in another one.
pub fn clear_timers(context: &mut Context) {
    boa_runtime::interval::clear_all(context);
}
