//! `http/v4/response`: output, status, headers and cookies of the response.

use boa_engine::object::builtins::JsDate;
use boa_engine::object::ObjectInitializer;
use boa_engine::{
    js_string, Context, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction,
};
use cookie::{Cookie, SameSite};
use hyper::StatusCode;

use super::registry::{Build, Native};
use std::cell::RefCell;
use std::rc::Rc;

use super::scope::{scope, Scope};
use super::{
    arg_string, define, module_object, object_of, string_array, string_or_null, values, Method,
};
use crate::http::response::{header_pair, DEFAULT_CONTENT_TYPE};

/// Dirigible's v4 status constants (those of the Servlet API).
const STATUS_CONSTANTS: &[(&str, u16)] = &[
    ("CONTINUE", 100),
    ("SWITCHING_PROTOCOLS", 101),
    ("OK", 200),
    ("CREATED", 201),
    ("ACCEPTED", 202),
    ("NON_AUTHORITATIVE_INFORMATION", 203),
    ("NO_CONTENT", 204),
    ("RESET_CONTENT", 205),
    ("PARTIAL_CONTENT", 206),
    ("MULTIPLE_CHOICES", 300),
    ("MOVED_PERMANENTLY", 301),
    ("MOVED_TEMPORARILY", 302),
    ("FOUND", 302),
    ("SEE_OTHER", 303),
    ("NOT_MODIFIED", 304),
    ("USE_PROXY", 305),
    ("TEMPORARY_REDIRECT", 307),
    ("BAD_REQUEST", 400),
    ("UNAUTHORIZED", 401),
    ("PAYMENT_REQUIRED", 402),
    ("FORBIDDEN", 403),
    ("NOT_FOUND", 404),
    ("METHOD_NOT_ALLOWED", 405),
    ("NOT_ACCEPTABLE", 406),
    ("PROXY_AUTHENTICATION_REQUIRED", 407),
    ("REQUEST_TIMEOUT", 408),
    ("CONFLICT", 409),
    ("GONE", 410),
    ("LENGTH_REQUIRED", 411),
    ("PRECONDITION_FAILED", 412),
    ("REQUEST_ENTITY_TOO_LARGE", 413),
    ("REQUEST_URI_TOO_LONG", 414),
    ("UNSUPPORTED_MEDIA_TYPE", 415),
    ("REQUESTED_RANGE_NOT_SATISFIABLE", 416),
    ("EXPECTATION_FAILED", 417),
    ("INTERNAL_SERVER_ERROR", 500),
    ("NOT_IMPLEMENTED", 501),
    ("BAD_GATEWAY", 502),
    ("SERVICE_UNAVAILABLE", 503),
    ("GATEWAY_TIMEOUT", 504),
    ("HTTP_VERSION_NOT_SUPPORTED", 505),
];

const METHODS: &[Method] = &[
    ("print", 1, print),
    ("println", 1, println),
    ("write", 1, write),
    ("getOutputStream", 0, |_, _, c| {
        super::io::streams::response_output(c)
    }),
    ("json", 1, json),
    ("flush", 0, flush),
    ("close", 0, close),
    ("isCommitted", 0, is_committed),
    ("setStatus", 1, set_status),
    ("getStatus", 0, get_status),
    ("sendError", 2, send_error),
    ("sendRedirect", 1, send_redirect),
    ("reset", 0, reset),
    ("setHeader", 2, set_header),
    ("addHeader", 2, add_header),
    ("getHeader", 1, get_header),
    ("getHeaders", 1, get_headers),
    ("getHeaderNames", 0, get_header_names),
    ("containsHeader", 1, contains_header),
    ("setContentType", 1, set_content_type),
    ("getContentType", 0, get_content_type),
    ("setCharacterEncoding", 1, set_character_encoding),
    ("getCharacterEncoding", 0, get_character_encoding),
    ("setContentLength", 1, set_content_length),
    ("addCookie", 1, add_cookie),
    ("encodeURL", 1, encode_url),
    ("encodeRedirectURL", 1, encode_url),
    ("setLocale", 3, set_locale),
    ("getLocale", 0, get_locale),
];

pub const MODULE: Native = Native {
    namespace: "http",
    name: "response",
    aliases: &[],
    exports: &["response", "Response"],
    build: Build::With(build),
};

fn build(context: &mut Context) -> JsResult<JsObject> {
    let module = module_object(context, METHODS);
    for &(name, code) in STATUS_CONSTANTS {
        define(&module, name, code, context)?;
    }
    let reasons = ObjectInitializer::new(context)
        .function(
            NativeFunction::from_fn_ptr(get_reason),
            js_string!("getReason"),
            1,
        )
        .build();
    define(&module, "HttpCodesReasons", reasons, context)?;
    Ok(module)
}

fn type_error(message: impl Into<String>) -> boa_engine::JsError {
    JsNativeError::typ().with_message(message.into()).into()
}

fn undefined() -> JsResult<JsValue> {
    Ok(JsValue::undefined())
}

/// The text `print` appends: `String(x)`, nothing for null/undefined.
fn text_of(args: &[JsValue], context: &mut Context) -> JsResult<Option<JsString>> {
    match args.first() {
        None => Ok(None),
        Some(v) if v.is_null_or_undefined() => Ok(None),
        Some(v) => Ok(Some(v.to_string(context)?)),
    }
}

fn print(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    if let Some(text) = text_of(args, context)? {
        let scope = scope(context)?;
        scope.borrow_mut().response.append(&values::utf8_of(&text));
        when_full(&scope)?;
    }
    undefined()
}

fn println(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = text_of(args, context)?;
    let scope = scope(context)?;
    {
        let response = &mut scope.borrow_mut().response;
        if let Some(text) = text {
            response.append(&values::utf8_of(&text));
        }
        response.append(b"\n");
    }
    when_full(&scope)?;
    undefined()
}

fn write(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let bytes = values::bytes_of(&args.first().cloned().unwrap_or_default(), context)?;
    append(&bytes, context)?;
    undefined()
}

/// Appends raw bytes to the response, as `write` does (the response's
/// output stream writes through this).
pub(crate) fn append(bytes: &[u8], context: &mut Context) -> JsResult<()> {
    let scope = scope(context)?;
    scope.borrow_mut().response.append(bytes);
    when_full(&scope)
}

/// A full buffer is sent (the response commits), as a servlet's is.
fn when_full(scope: &Rc<RefCell<Scope>>) -> JsResult<()> {
    if scope.borrow().response.is_full() {
        send(scope)?;
    }
    Ok(())
}

/// Sends what is buffered; while the client has not taken what came
/// before, waits (the script's fiber, under its timeout).
fn send(scope: &Rc<RefCell<Scope>>) -> JsResult<()> {
    scope.borrow_mut().flush();
    let room = scope.borrow().response.room();
    if let Some(room) = room {
        crate::fiber::wait(room).map_err(super::stopped)?;
    }
    if scope.borrow().response.client_gone() {
        return Err(JsNativeError::error()
            .with_message("the client closed the connection")
            .into());
    }
    Ok(())
}

fn json(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = values::stringify(&args.first().cloned().unwrap_or_default(), context)?;
    let scope_of = scope(context)?;
    let mut scope = scope_of.borrow_mut();
    if !scope.response.is_committed() {
        scope.response.set_known_content_type("application/json");
    }
    scope.response.append(text.unwrap_or_default().as_bytes());
    drop(scope);
    when_full(&scope_of)?;
    undefined()
}

fn flush(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    send(&scope(context)?)?;
    undefined()
}

fn close(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    scope(context)?.borrow_mut().close();
    undefined()
}

fn is_committed(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    Ok(scope(context)?.borrow().response.is_committed().into())
}

fn status_arg(args: &[JsValue], context: &mut Context) -> JsResult<u16> {
    let n = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_number(context)?;
    if n.fract() != 0.0 || !(100.0..=999.0).contains(&n) {
        return Err(JsNativeError::range()
            .with_message(format!(
                "status code must be an integer from 100 to 999, not {n}"
            ))
            .into());
    }
    Ok(n as u16)
}

fn set_status(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let status = status_arg(args, context)?;
    scope(context)?.borrow_mut().response.set_status(status);
    undefined()
}

fn get_status(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    Ok(scope(context)?.borrow().response.status().into())
}

fn reason(code: u16) -> &'static str {
    StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
}

fn send_error(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let status = status_arg(args, context)?;
    let message = match args.get(1) {
        Some(m) if !m.is_null_or_undefined() => m.to_string(context)?.to_std_string_escaped(),
        _ => reason(status).to_string(),
    };
    let scope = scope(context)?;
    let mut scope = scope.borrow_mut();
    if scope.response.is_committed() {
        return Err(JsNativeError::error()
            .with_message("sendError() after the response was committed")
            .into());
    }
    scope.response.discard_buffer();
    scope.response.set_status(status);
    scope.response.set_known_content_type(DEFAULT_CONTENT_TYPE);
    scope.response.append(message.as_bytes());
    scope.close();
    undefined()
}

fn send_redirect(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let location = arg_string(args, 0, context)?;
    let scope = scope(context)?;
    let mut scope = scope.borrow_mut();
    if scope.response.is_committed() {
        return Err(JsNativeError::error()
            .with_message("sendRedirect() after the response was committed")
            .into());
    }
    scope
        .response
        .set_header("location", &location, false)
        .map_err(|e| type_error(e.to_string()))?;
    scope.response.discard_buffer();
    scope.response.set_status(302);
    scope.close();
    undefined()
}

fn reset(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    scope(context)?
        .borrow_mut()
        .response
        .reset()
        .map_err(|e| JsNativeError::error().with_message(e))?;
    undefined()
}

fn header_args(args: &[JsValue], context: &mut Context) -> JsResult<(String, String)> {
    Ok((arg_string(args, 0, context)?, arg_string(args, 1, context)?))
}

fn put_header(args: &[JsValue], context: &mut Context, append: bool) -> JsResult<JsValue> {
    let (name, value) = header_args(args, context)?;
    scope(context)?
        .borrow_mut()
        .response
        .set_header(&name, &value, append)
        .map_err(|e| type_error(e.to_string()))?;
    undefined()
}

fn set_header(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    put_header(args, context, false)
}

fn add_header(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    put_header(args, context, true)
}

fn get_header(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    Ok(string_or_null(
        scope(context)?.borrow().response.header(&name),
    ))
}

fn get_headers(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    let values = scope(context)?.borrow().response.header_values(&name);
    Ok(string_array(values, context))
}

fn get_header_names(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let names = scope(context)?.borrow().response.header_names();
    Ok(string_array(names, context))
}

fn contains_header(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    Ok(scope(context)?
        .borrow()
        .response
        .header(&name)
        .is_some()
        .into())
}

fn set_content_type(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let value = arg_string(args, 0, context)?;
    scope(context)?
        .borrow_mut()
        .response
        .set_header("content-type", &value, false)
        .map_err(|e| type_error(e.to_string()))?;
    undefined()
}

fn content_type(context: &mut Context) -> JsResult<String> {
    let current = scope(context)?.borrow().response.header("content-type");
    Ok(current.unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()))
}

fn get_content_type(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    Ok(string_or_null(Some(content_type(context)?)))
}

fn set_character_encoding(
    _: &JsValue,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let charset = arg_string(args, 0, context)?;
    let current = content_type(context)?;
    let media = current.split(';').next().unwrap_or("text/plain").trim();
    let value = format!("{media}; charset={charset}");
    scope(context)?
        .borrow_mut()
        .response
        .set_header("content-type", &value, false)
        .map_err(|e| type_error(e.to_string()))?;
    undefined()
}

fn get_character_encoding(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let current = content_type(context)?;
    let charset = crate::http::charset(&current).unwrap_or("utf-8");
    Ok(string_or_null(Some(charset.to_string())))
}

fn set_content_length(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let n = args
        .first()
        .cloned()
        .unwrap_or_default()
        .to_number(context)?;
    if n.fract() != 0.0 || n < 0.0 {
        return Err(JsNativeError::range()
            .with_message("content length must be a non-negative integer")
            .into());
    }
    let value = (n as u64).to_string();
    let _ = scope(context)?
        .borrow_mut()
        .response
        .set_header("content-length", &value, false);
    undefined()
}

fn add_cookie(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let spec = args
        .first()
        .and_then(JsValue::as_object)
        .ok_or_else(|| type_error("addCookie() takes an object {name, value, path, ...}"))?;
    let field =
        |name: &str, context: &mut Context| spec.get(boa_engine::JsString::from(name), context);
    let text = |v: JsValue, context: &mut Context| -> JsResult<Option<String>> {
        if v.is_null_or_undefined() {
            return Ok(None);
        }
        Ok(Some(v.to_string(context)?.to_std_string_escaped()))
    };
    let name = text(field("name", context)?, context)?.unwrap_or_default();
    let value = text(field("value", context)?, context)?.unwrap_or_default();
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(type_error(format!("invalid cookie name {name:?}")));
    }
    if !value.bytes().all(is_cookie_value_byte) {
        return Err(type_error(format!("invalid value for cookie {name}: use letters, digits and !#$%&'()*+-./:<=>?@[]^_`{{|}}~ (encode others)")));
    }
    let mut cookie = Cookie::new(name.clone(), value);
    for (key, is_path) in [("path", true), ("domain", false)] {
        if let Some(v) = text(field(key, context)?, context)? {
            if v.bytes().any(|b| b == b';' || b.is_ascii_control()) {
                return Err(type_error(format!("invalid {key} for cookie {name}")));
            }
            if is_path {
                cookie.set_path(v);
            } else {
                cookie.set_domain(v);
            }
        }
    }
    let max_age = field("maxAge", context)?;
    if !max_age.is_null_or_undefined() {
        let secs = max_age.to_number(context)?;
        if secs.is_finite() {
            cookie.set_max_age(cookie::time::Duration::seconds(secs as i64));
        }
    }
    let expires = field("expires", context)?;
    if !expires.is_null_or_undefined() {
        let millis = match expires
            .as_object()
            .and_then(|o| JsDate::from_object(o).ok())
        {
            Some(date) => date.get_time(context)?.to_number(context)?,
            None => expires.to_number(context)?,
        };
        if millis.is_finite() {
            let at = cookie::time::OffsetDateTime::from_unix_timestamp((millis / 1000.0) as i64)
                .map_err(|_| type_error(format!("cookie {name}: expires is out of range")))?;
            cookie.set_expires(at);
        }
    }
    if field("secure", context)?.to_boolean() {
        cookie.set_secure(true);
    }
    if field("httpOnly", context)?.to_boolean() || field("isHttpOnly", context)?.to_boolean() {
        cookie.set_http_only(true);
    }
    if let Some(same_site) = text(field("sameSite", context)?, context)? {
        cookie.set_same_site(match same_site.to_ascii_lowercase().as_str() {
            "strict" => SameSite::Strict,
            "lax" => SameSite::Lax,
            "none" => SameSite::None,
            _ => {
                return Err(type_error(format!(
                    "cookie {name}: sameSite must be Strict, Lax or None"
                )))
            }
        });
    }
    let header = cookie.to_string();
    scope(context)?
        .borrow_mut()
        .response
        .set_header("set-cookie", &header, true)
        .map_err(|e| type_error(e.to_string()))?;
    undefined()
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 6265 cookie-octet.
fn is_cookie_value_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

fn encode_url(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Ok(args.first().cloned().unwrap_or_default())
}

fn set_locale(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let mut parts = Vec::new();
    for i in 0..3 {
        match args.get(i) {
            Some(v) if !v.is_null_or_undefined() => {
                let part = v.to_string(context)?.to_std_string_escaped();
                if !part.is_empty() {
                    parts.push(part);
                }
            }
            _ => {}
        }
    }
    let value = parts.join("-");
    let (name, value) =
        header_pair("content-language", &value).map_err(|e| type_error(e.to_string()))?;
    let value = value.to_str().unwrap_or_default().to_string();
    let _ = scope(context)?
        .borrow_mut()
        .response
        .set_header(name.as_str(), &value, false);
    undefined()
}

fn get_locale(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let Some(language) = scope(context)?.borrow().response.header("content-language") else {
        return Ok(JsValue::null());
    };
    Ok(locale_object(&language, context))
}

/// `{language, country, variant}` from a tag like `en-US`.
pub fn locale_object(tag: &str, context: &mut Context) -> JsValue {
    let mut parts = tag.split(['-', '_']);
    let mut next = || boa_engine::JsString::from(parts.next().unwrap_or("")).into();
    let (language, country, variant) = (next(), next(), next());
    object_of(
        &[
            ("language", language),
            ("country", country),
            ("variant", variant),
        ],
        context,
    )
}

fn get_reason(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let code = args.first().cloned().unwrap_or_default();
    let n = if code.is_number() {
        code.as_number().unwrap_or(f64::NAN)
    } else {
        code.to_string(context)?
            .to_std_string_escaped()
            .trim()
            .parse::<f64>()
            .unwrap_or(f64::NAN)
    };
    if !n.is_finite() {
        return Err(JsNativeError::error()
            .with_message(format!("not a status code: {}", code.display()))
            .into());
    }
    Ok(string_or_null(
        StatusCode::from_u16(n as u16)
            .ok()
            .and_then(|s| s.canonical_reason()),
    ))
}
