//! `http/v4/sessions`: other live sessions, by id (after 4D's
//! `Session storage(id)`), and how many there are.

use boa_engine::{js_string, Context, JsNativeError, JsObject, JsResult, JsString, JsValue};

use super::registry::{Build, Native};
use super::scope::scope;
use super::session::{self, Failure, Op};
use super::{arg_string, module_object, Method};
use crate::fiber::wait;
use crate::session::{RequestSession, SessionId};

const METHODS: &[Method] = &[("get", 1, get), ("count", 0, count)];

/// Methods of a looked-up session: those of `session` but isNew and regenerateId.
const FOREIGN: &[Method] = &[
    ("getAttribute", 1, |t, a, c| {
        session::get_attribute(t, a, c, look)
    }),
    ("setAttribute", 2, |t, a, c| {
        session::set_attribute(t, a, c, foreign)
    }),
    ("removeAttribute", 1, |t, a, c| {
        session::remove_attribute(t, a, c, foreign)
    }),
    ("getAttributeNames", 0, |t, a, c| {
        session::get_attribute_names(t, a, c, look)
    }),
    ("getId", 0, |t, _, c| {
        Ok(JsString::from(foreign_id(t, c)?.to_string()).into())
    }),
    ("getCreationTime", 0, |t, a, c| {
        session::get_time(t, a, c, look, true)
    }),
    ("getLastAccessedTime", 0, |t, a, c| {
        session::get_time(t, a, c, look, false)
    }),
    ("getMaxInactiveInterval", 0, |t, a, c| {
        session::get_max_inactive(t, a, c, look)
    }),
    ("setMaxInactiveInterval", 1, |t, a, c| {
        session::set_max_inactive(t, a, c, foreign)
    }),
    ("invalidate", 0, |t, a, c| {
        session::invalidate(t, a, c, foreign)
    }),
    ("increment", 2, |t, a, c| {
        session::increment(t, a, c, foreign)
    }),
];

pub const MODULE: Native = Native {
    namespace: "http",
    name: "sessions",
    aliases: &[],
    exports: &["sessions", "Sessions"],
    build: Build::With(build),
};

fn build(context: &mut Context) -> JsResult<JsObject> {
    let module = module_object(context, METHODS);
    let prototype = module_object(context, FOREIGN);
    module.define_property_or_throw(
        js_string!("__prototype"),
        boa_engine::property::PropertyDescriptor::builder()
            .value(prototype)
            .writable(false)
            .enumerable(false)
            .configurable(false),
        context,
    )?;
    Ok(module)
}

fn get(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = arg_string(args, 0, context)?;
    let Some(id) = SessionId::parse(&text) else {
        return Ok(JsValue::null());
    };
    let scope = scope(context)?;
    let (sessions, own) = {
        let scope = scope.borrow();
        (scope.sessions.clone(), scope.session.incoming())
    };
    // The request's own session is already locked by this request.
    if own == Some(id) {
        let module = super::registry::require("http/session", context)?;
        return Ok(module.map_or(JsValue::undefined(), JsValue::from));
    }
    let exists =
        wait(RequestSession::look(&sessions, id, |s| s.exists())).map_err(super::stopped)?;
    match exists {
        Ok(true) => {}
        Ok(false) => return Ok(JsValue::null()),
        Err(error) => {
            scope.borrow_mut().note(&error);
            return Err(session::js_error(&error));
        }
    }
    let prototype = this
        .as_object()
        .map(|m| m.get(js_string!("__prototype"), context))
        .transpose()?
        .and_then(|p| p.as_object());
    let object = JsObject::with_object_proto(context.intrinsics());
    object.set_prototype(prototype);
    object.define_property_or_throw(
        js_string!("_id"),
        boa_engine::property::PropertyDescriptor::builder()
            .value(JsString::from(id.to_string()))
            .writable(false)
            .enumerable(false)
            .configurable(false),
        context,
    )?;
    Ok(object.into())
}

fn foreign_id(this: &JsValue, context: &mut Context) -> JsResult<SessionId> {
    let text = this
        .as_object()
        .map(|o| o.get(js_string!("_id"), context))
        .transpose()?
        .and_then(|v| v.as_string())
        .map(|s| s.to_std_string_escaped())
        .unwrap_or_default();
    SessionId::parse(&text).ok_or_else(|| {
        JsNativeError::typ()
            .with_message("not a session object from sessions.get()")
            .into()
    })
}

/// A call that changes another session is its own transaction.
fn foreign(this: &JsValue, context: &mut Context, op: &mut Op<'_>) -> JsResult<JsValue> {
    on_another(this, context, op, false)
}

/// A call that only reads another session reads it as last stored.
fn look(this: &JsValue, context: &mut Context, op: &mut Op<'_>) -> JsResult<JsValue> {
    on_another(this, context, op, true)
}

fn on_another(
    this: &JsValue,
    context: &mut Context,
    op: &mut Op<'_>,
    reading: bool,
) -> JsResult<JsValue> {
    let id = foreign_id(this, context)?;
    let scope = scope(context)?;
    let sessions = scope.borrow().sessions.clone();
    let mut failure = None;
    let run = |s: &mut RequestSession| match op(s, context) {
        Ok(value) => Ok(value),
        Err(Failure::Session(e)) => Err(e),
        Err(Failure::Js(e)) => {
            failure = Some(e);
            Ok(JsValue::undefined())
        }
    };
    let result = if reading {
        wait(RequestSession::look(&sessions, id, run))
    } else {
        wait(RequestSession::transact(&sessions, id, run))
    }
    .map_err(super::stopped)?;
    if let Some(error) = failure {
        return Err(error);
    }
    result.map_err(|error| {
        scope.borrow_mut().note(&error);
        session::js_error(&error)
    })
}

fn count(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let sessions = scope(context)?.borrow().sessions.clone();
    match wait(sessions.store.count()).map_err(super::stopped)? {
        Ok(n) => Ok((n as f64).into()),
        Err(error) => {
            let error = crate::session::SessionError::from(error);
            scope(context)?.borrow_mut().note(&error);
            Err(session::js_error(&error))
        }
    }
}
