//! `security/v4/user`: the user who sent the request — proved by Basic
//! credentials (`--users`), or signed in for the session by a script with
//! `signIn(name, roles)` (a blimp extension, like `signOut()` and
//! `getRoles()`). The session keeps that user in its attribute
//! `blimp.user`, so `session.invalidate()` signs out too.

use boa_engine::{Context, JsNativeError, JsResult, JsString, JsValue};

use super::registry::{Build, Native};
use super::scope::scope;
use super::session::own;
use super::{arg_string, string_array, string_or_null, Method};
use crate::auth::{User, SESSION_ATTRIBUTE};

const METHODS: &[Method] = &[
    ("getName", 0, |_, _, c| {
        Ok(string_or_null(current_user(c)?.map(|u| u.name)))
    }),
    ("isInRole", 1, is_in_role),
    ("getAuthType", 0, get_auth_type),
    ("getRoles", 0, |_, _, c| {
        let roles = current_user(c)?.map(|u| u.roles).unwrap_or_default();
        Ok(string_array(roles, c))
    }),
    ("getTimeout", 0, |_, _, c| {
        own(&JsValue::undefined(), c, &mut |s, _| {
            let idle = if s.exists()? { s.max_inactive()? } else { 0 };
            Ok((idle as f64).into())
        })
    }),
    ("getSecurityToken", 0, get_security_token),
    ("getInvocationCount", 0, |_, _, _| Ok(JsValue::null())),
    ("getLanguage", 0, get_language),
    ("signIn", 2, sign_in),
    ("signOut", 0, sign_out),
];

pub const MODULE: Native = Native {
    namespace: "security",
    name: "user",
    aliases: &[],
    exports: &["user", "User"],
    build: Build::Methods(METHODS),
};

/// The request's user: its Basic user, else the session's (the session
/// is loaded if it was not yet).
pub fn current_user(context: &mut Context) -> JsResult<Option<User>> {
    let scope = scope(context)?;
    if let Some(user) = scope.borrow().user.clone() {
        return Ok(Some(user));
    }
    let mut found = None;
    own(&JsValue::undefined(), context, &mut |s, _| {
        found = s.get(SESSION_ATTRIBUTE)?.and_then(User::from_session_json);
        Ok(JsValue::undefined())
    })?;
    Ok(found)
}

pub fn is_in_role(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let role = arg_string(args, 0, context)?;
    Ok(current_user(context)?
        .is_some_and(|u| u.is_in_role(&role))
        .into())
}

pub fn get_auth_type(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    Ok(string_or_null(
        current_user(context)?.map(|u| u.auth_type.as_str()),
    ))
}

/// The Authorization header's credentials without their scheme, or "".
fn get_security_token(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let scope = scope(context)?;
    let scope = scope.borrow();
    let header = scope.request.header("authorization").unwrap_or("");
    let token = header.split_once(' ').map_or("", |(_, t)| t.trim());
    Ok(JsString::from(token).into())
}

/// The first language range of Accept-Language, lowercase; `*` without one.
fn get_language(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let scope = scope(context)?;
    let scope = scope.borrow();
    let header = scope.request.header("accept-language").unwrap_or("");
    let first = header.split(',').next().unwrap_or("");
    let range = first
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let range = if range.is_empty() {
        "*".to_string()
    } else {
        range
    };
    Ok(JsString::from(range).into())
}

/// `signIn(name, roles)`: the user of this session from now on, under a
/// new session id (so an id planted before the sign-in is worth nothing).
fn sign_in(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = match args.first().and_then(JsValue::as_string) {
        Some(name) if !name.is_empty() => name.to_std_string_escaped(),
        _ => {
            return Err(JsNativeError::typ()
                .with_message("signIn(name, roles) takes a non-empty name")
                .into())
        }
    };
    let roles = roles_of(args.get(1), context)?;
    let json = User::session_json(&name, &roles);
    own(&JsValue::undefined(), context, &mut |s, _| {
        s.regenerate_id()?;
        s.set(SESSION_ATTRIBUTE, json.clone())?;
        Ok(JsValue::undefined())
    })
}

/// An array of strings (or one string, or nothing) as role names.
fn roles_of(value: Option<&JsValue>, context: &mut Context) -> JsResult<Vec<String>> {
    let not_roles = || {
        JsNativeError::typ().with_message("signIn(name, roles): roles must be an array of strings")
    };
    let Some(value) = value.filter(|v| !v.is_null_or_undefined()) else {
        return Ok(Vec::new());
    };
    if let Some(role) = value.as_string() {
        return Ok(vec![role.to_std_string_escaped()]);
    }
    let array = value
        .as_object()
        .and_then(|o| boa_engine::object::builtins::JsArray::from_object(o).ok())
        .ok_or_else(not_roles)?;
    let length = array.length(context)?;
    let mut roles = Vec::new();
    for i in 0..length {
        let role = array.get(i, context)?;
        let role = role.as_string().ok_or_else(not_roles)?;
        roles.push(role.to_std_string_escaped());
    }
    Ok(roles)
}

/// `signOut()`: the session no longer has a user (its other attributes stay).
fn sign_out(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    own(&JsValue::undefined(), context, &mut |s, _| {
        s.remove(SESSION_ATTRIBUTE)?;
        Ok(JsValue::undefined())
    })
}
