//! `console.*` → the server log, at the matching level, with the script path.

use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{js_string, Context, JsResult, JsValue, NativeFunction};

pub fn install(context: &mut Context) -> JsResult<()> {
    let console = ObjectInitializer::new(context)
        .function(
            NativeFunction::from_fn_ptr(|_, a, c| log(tracing::Level::INFO, a, c)),
            js_string!("log"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(|_, a, c| log(tracing::Level::INFO, a, c)),
            js_string!("info"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(|_, a, c| log(tracing::Level::WARN, a, c)),
            js_string!("warn"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(|_, a, c| log(tracing::Level::ERROR, a, c)),
            js_string!("error"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(|_, a, c| log(tracing::Level::DEBUG, a, c)),
            js_string!("debug"),
            0,
        )
        .function(
            NativeFunction::from_fn_ptr(|_, a, c| log(tracing::Level::TRACE, a, c)),
            js_string!("trace"),
            0,
        )
        .build();
    context.register_global_property(
        js_string!("console"),
        console,
        Attribute::WRITABLE | Attribute::CONFIGURABLE,
    )?;
    Ok(())
}

fn log(level: tracing::Level, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let mut parts = Vec::with_capacity(args.len());
    for arg in args {
        parts.push(match arg.as_string() {
            Some(s) => s.to_std_string_escaped(),
            // As JSON; never the engine's own display of an object, which
            // recurses without bound (a deep object panicked in it).
            None if arg.is_object() && !arg.is_callable() => {
                match super::values::stringify(arg, context) {
                    Ok(Some(json)) => json,
                    Ok(None) => "undefined".to_string(),
                    Err(err) => format!("[an object that cannot be shown: {err}]"),
                }
            }
            None => arg.display().to_string(),
        });
    }
    let line = crate::log_line::escape(&parts.join(" "));
    let script = super::scope::current(context)
        .map(|scope| scope.borrow().request.route.relative.clone())
        .unwrap_or_default();
    match level {
        tracing::Level::ERROR => tracing::error!(target: "script", "{script}: {line}"),
        tracing::Level::WARN => tracing::warn!(target: "script", "{script}: {line}"),
        tracing::Level::INFO => tracing::info!(target: "script", "{script}: {line}"),
        tracing::Level::DEBUG => tracing::debug!(target: "script", "{script}: {line}"),
        tracing::Level::TRACE => tracing::trace!(target: "script", "{script}: {line}"),
    }
    Ok(JsValue::undefined())
}
