//! Why a script did not finish, in words a client and a log can use.

use boa_engine::error::{EngineError, RuntimeLimitError, TryNativeError};
use boa_engine::{js_string, Context, JsError, JsValue};

use super::cache::WRAP_PREFIX;

#[derive(Debug)]
pub enum Failure {
    /// An exception nobody caught (or a syntax error).
    Threw {
        message: String,
        location: Option<String>,
        stack: String,
    },
    /// A runtime limit stopped the script; the text says which
    /// ("it exceeded the recursion limit").
    Limit(String),
    /// The script ran past --timeout.
    Timeout,
    /// Stopped from outside; the engine learns why (a timeout, memory, a
    /// client that went away) and replaces this with the reason.
    Interrupted,
    /// Its client went away before the response started.
    Cancelled,
    /// Every context of the worker stayed busy until the request's deadline.
    Busy,
    /// The engine panicked (a bug of its own); the log has the panic.
    Crashed,
}

impl Failure {
    pub fn from_js(error: JsError, context: &mut Context) -> Self {
        if let Err(TryNativeError::EngineError {
            source: EngineError::RuntimeLimit(limit),
        }) = error.try_native(context)
        {
            let which = match limit {
                RuntimeLimitError::Interrupted => return Failure::Interrupted,
                RuntimeLimitError::LoopIteration => "the loop iteration limit",
                RuntimeLimitError::Recursion => "the recursion limit",
                RuntimeLimitError::StackSize => "the stack size limit",
            };
            return Failure::Limit(format!("it exceeded {which}"));
        }
        let display = error.to_string();
        let value = match error.into_opaque(context) {
            Ok(value) => value,
            Err(_) => return Failure::Limit(format!("it failed: {display}")),
        };
        let Some(object) = value.as_object() else {
            return Failure::Threw {
                message: value.display().to_string(),
                location: first_location(&display),
                stack: display,
            };
        };
        let text = |key: &str, context: &mut Context| -> String {
            object
                .get(js_string!(key), context)
                .ok()
                .filter(|v| !v.is_undefined())
                .and_then(|v| v.to_string(context).ok())
                .map(|s| s.to_std_string_escaped())
                .unwrap_or_default()
        };
        let (name, message, stack) = (
            text("name", context),
            text("message", context),
            text("stack", context),
        );
        let message = match (name.is_empty(), message.is_empty()) {
            (false, false) => format!("{name}: {message}"),
            (false, true) => name,
            _ if !message.is_empty() => message,
            _ => JsValue::from(object.clone()).display().to_string(),
        };
        Failure::Threw {
            location: first_location(&stack),
            message,
            stack,
        }
    }

    /// A parse error: Boa says "... at line L, col C"; we say "(at file:L:C)".
    pub fn syntax(error: JsError, relative: &str, wrapped: bool) -> Self {
        let text = error.to_string();
        let text = text.strip_suffix(" (native)").unwrap_or(&text);
        let (message, location) = match text.rsplit_once(" at line ") {
            Some((message, position)) => {
                let mut parts = position.split(", col ");
                let line: usize = parts
                    .next()
                    .and_then(|l| l.trim().parse().ok())
                    .unwrap_or(0);
                let col: usize = parts
                    .next()
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or(0);
                let col = if wrapped && line == 1 {
                    col.saturating_sub(WRAP_PREFIX.len())
                } else {
                    col
                };
                (
                    message.to_string(),
                    Some(format!("{relative}:{line}:{col}")),
                )
            }
            None => (text.to_string(), None),
        };
        let message = if message.starts_with("SyntaxError") {
            message
        } else {
            format!("SyntaxError: {message}")
        };
        Failure::Threw {
            message,
            location,
            stack: String::new(),
        }
    }

    /// Stopped by a limit, or crashed: its context is made anew (what it
    /// held goes with it). A script stopped because its client went away
    /// unwound like any error: its context serves on.
    pub fn unsound(&self) -> bool {
        matches!(
            self,
            Failure::Limit(_) | Failure::Timeout | Failure::Interrupted | Failure::Crashed
        )
    }

    /// The one-line description a client sees.
    pub fn describe(&self) -> String {
        match self {
            Failure::Threw {
                message,
                location: Some(at),
                ..
            } => format!("{message} (at {at})"),
            Failure::Threw { message, .. } => message.clone(),
            Failure::Limit(what) => format!("script stopped: {what}"),
            Failure::Timeout | Failure::Interrupted => {
                "script stopped: it ran longer than the timeout (--timeout)".to_string()
            }
            Failure::Cancelled => "script stopped: the client went away".to_string(),
            Failure::Crashed => "internal error: the JavaScript engine failed".to_string(),
            Failure::Busy => {
                "server busy: every JavaScript context is in use (--max-contexts)".to_string()
            }
        }
    }
}

/// The first `(file:line:col)` of a stack that names a script file; the
/// column on line 1 is corrected for the CommonJS wrapper.
fn first_location(stack: &str) -> Option<String> {
    stack.lines().find_map(|line| {
        let inner = line.rsplit_once('(')?.1.strip_suffix(')')?;
        if inner.starts_with("unknown") || inner.starts_with("native") || inner.contains(":?") {
            return None;
        }
        let (rest, col) = inner.rsplit_once(':')?;
        let (file, line_no) = rest.rsplit_once(':')?;
        let (line_no, col): (usize, usize) = (line_no.parse().ok()?, col.parse().ok()?);
        let col = if line_no == 1 && !file.ends_with(".mjs") {
            col.saturating_sub(WRAP_PREFIX.len())
        } else {
            col
        };
        Some(format!("{file}:{line_no}:{col}"))
    })
}
