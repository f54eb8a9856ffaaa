//! `http/v4/session`: the session of the user who sent the request.
//! Every function translates to one `session::RequestSession` call.

use boa_engine::{Context, JsError, JsNativeError, JsResult, JsString, JsValue};

use super::registry::{Build, Native};
use super::scope::scope;
use super::{arg_string, string_array, values, Method};
use crate::session::{RequestSession, SessionError};

const METHODS: &[Method] = &[
    ("getAttribute", 1, |t, a, c| get_attribute(t, a, c, own)),
    ("setAttribute", 2, |t, a, c| set_attribute(t, a, c, own)),
    ("removeAttribute", 1, |t, a, c| {
        remove_attribute(t, a, c, own)
    }),
    ("getAttributeNames", 0, |t, a, c| {
        get_attribute_names(t, a, c, own)
    }),
    ("getId", 0, |t, _, c| {
        own(t, c, &mut |s, _| {
            Ok(JsString::from(s.id()?.to_string()).into())
        })
    }),
    ("isNew", 0, |t, _, c| {
        own(t, c, &mut |s, _| Ok(s.is_new()?.into()))
    }),
    ("getCreationTime", 0, |t, a, c| get_time(t, a, c, own, true)),
    ("getLastAccessedTime", 0, |t, a, c| {
        get_time(t, a, c, own, false)
    }),
    ("getMaxInactiveInterval", 0, |t, a, c| {
        get_max_inactive(t, a, c, own)
    }),
    ("setMaxInactiveInterval", 1, |t, a, c| {
        set_max_inactive(t, a, c, own)
    }),
    ("invalidate", 0, |t, a, c| invalidate(t, a, c, own)),
    ("regenerateId", 0, |t, _, c| {
        own(t, c, &mut |s, _| {
            Ok(JsString::from(s.regenerate_id()?.to_string()).into())
        })
    }),
    ("increment", 2, |t, a, c| increment(t, a, c, own)),
];

pub const MODULE: Native = Native {
    namespace: "http",
    name: "session",
    aliases: &[],
    exports: &["session", "Session"],
    build: Build::Methods(METHODS),
};

/// Runs `op` on a session and returns its JS result.
pub type Op<'a> = dyn FnMut(&mut RequestSession, &mut Context) -> Result<JsValue, Failure> + 'a;
/// Reaches a session (the request's own, or another by id) and runs an op.
pub type Access = fn(&JsValue, &mut Context, &mut Op<'_>) -> JsResult<JsValue>;

/// An op fails with a session error or a JS error.
pub enum Failure {
    Session(SessionError),
    Js(JsError),
}

impl From<SessionError> for Failure {
    fn from(e: SessionError) -> Self {
        Failure::Session(e)
    }
}

impl From<JsError> for Failure {
    fn from(e: JsError) -> Self {
        Failure::Js(e)
    }
}

/// The JS error for a session error: limits are RangeErrors.
pub fn js_error(error: &SessionError) -> JsError {
    let native = match error {
        SessionError::ValueTooLarge { .. }
        | SessionError::TooManyAttributes(_)
        | SessionError::SessionTooLarge { .. } => JsNativeError::range(),
        SessionError::NotANumber(_) => JsNativeError::typ(),
        _ => JsNativeError::error(),
    };
    native.with_message(error.to_string()).into()
}

/// The request's own session. Values are converted before the session is
/// borrowed, because conversion can run script code.
pub fn own(_this: &JsValue, context: &mut Context, op: &mut Op<'_>) -> JsResult<JsValue> {
    let scope = scope(context)?;
    // Not loaded ahead (the script reached it unexpectedly): lock and load
    // it now, waiting in the script's fiber.
    let load = scope.borrow_mut().session.load();
    if let Some(load) = load {
        let loaded = crate::fiber::wait(load).map_err(super::stopped)?;
        scope.borrow_mut().session.loaded(loaded);
    }
    let mut guard = scope.borrow_mut();
    let result = op(&mut guard.session, context);
    match result {
        Ok(value) => Ok(value),
        Err(Failure::Js(error)) => Err(error),
        Err(Failure::Session(error)) => {
            guard.note(&error);
            Err(js_error(&error))
        }
    }
}

pub fn get_attribute(
    this: &JsValue,
    args: &[JsValue],
    context: &mut Context,
    access: Access,
) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    access(this, context, &mut |s, c| match s.get(&name)? {
        Some(json) => {
            let json = json.to_string();
            Ok(values::from_json_text(&json, c)?)
        }
        None => Ok(JsValue::null()),
    })
}

pub fn set_attribute(
    this: &JsValue,
    args: &[JsValue],
    context: &mut Context,
    access: Access,
) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    let value = args.get(1).cloned().unwrap_or_default();
    if value.is_undefined() {
        return access(this, context, &mut |s, _| {
            Ok(s.remove(&name).map(|_| JsValue::undefined())?)
        });
    }
    let json = values::to_json(&value, context)
        .map_err(|e| rename_error(e, &name))?
        .to_string();
    let mut json = Some(json);
    access(this, context, &mut |s, _| {
        s.set(&name, json.take().unwrap_or_default())?;
        Ok(JsValue::undefined())
    })
}

/// "value.x is a function" → "session attribute "a": value.x is a function".
fn rename_error(error: JsError, name: &str) -> JsError {
    match error.as_native() {
        Some(native) => JsNativeError::typ()
            .with_message(format!(
                "session attribute \"{name}\": {}",
                native.message()
            ))
            .into(),
        None => error,
    }
}

pub fn remove_attribute(
    this: &JsValue,
    args: &[JsValue],
    context: &mut Context,
    access: Access,
) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    access(this, context, &mut |s, _| {
        Ok(s.remove(&name).map(|_| JsValue::undefined())?)
    })
}

pub fn get_attribute_names(
    this: &JsValue,
    _: &[JsValue],
    context: &mut Context,
    access: Access,
) -> JsResult<JsValue> {
    access(this, context, &mut |s, c| Ok(string_array(s.names()?, c)))
}

pub fn get_time(
    this: &JsValue,
    _: &[JsValue],
    context: &mut Context,
    access: Access,
    creation: bool,
) -> JsResult<JsValue> {
    access(this, context, &mut |s, c| {
        let (created, accessed) = s.times()?;
        let millis = if creation { created } else { accessed };
        let date = c.intrinsics().constructors().date().constructor();
        Ok(date.construct(&[(millis as f64).into()], None, c)?.into())
    })
}

pub fn get_max_inactive(
    this: &JsValue,
    _: &[JsValue],
    context: &mut Context,
    access: Access,
) -> JsResult<JsValue> {
    access(this, context, &mut |s, _| {
        Ok((s.max_inactive()? as f64).into())
    })
}

pub fn set_max_inactive(
    this: &JsValue,
    args: &[JsValue],
    context: &mut Context,
    access: Access,
) -> JsResult<JsValue> {
    let secs = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_number(context)?;
    if !secs.is_finite() {
        return Err(JsNativeError::range()
            .with_message("max inactive interval must be a finite number of seconds")
            .into());
    }
    access(this, context, &mut |s, _| {
        s.set_max_inactive(secs as i64)?;
        Ok(JsValue::undefined())
    })
}

pub fn invalidate(
    this: &JsValue,
    _: &[JsValue],
    context: &mut Context,
    access: Access,
) -> JsResult<JsValue> {
    access(this, context, &mut |s, _| {
        s.invalidate()?;
        Ok(JsValue::undefined())
    })
}

pub fn increment(
    this: &JsValue,
    args: &[JsValue],
    context: &mut Context,
    access: Access,
) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    let delta = match args.get(1) {
        None => 1.0,
        Some(v) if v.is_undefined() => 1.0,
        Some(v) => v.as_number().filter(|n| n.is_finite()).ok_or_else(|| {
            JsError::from(
                JsNativeError::typ().with_message("increment() takes a finite number as delta"),
            )
        })?,
    };
    access(this, context, &mut |s, _| {
        Ok(values::number(s.increment(&name, delta)?))
    })
}
