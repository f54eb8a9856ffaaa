//! `http/v4/request`: what the client sent. Attribute functions are added
//! by the prelude (they hold JavaScript values).

use std::rc::Rc;

use boa_engine::object::builtins::JsUint8Array;
use boa_engine::{Context, JsNativeError, JsResult, JsString, JsValue};
use bytes::Bytes;
use percent_encoding::percent_decode_str;

use super::registry::{Build, Native};
use super::response::locale_object;
use super::scope::scope;
use super::scope::Scope;
use super::{arg_string, object_of, string_array, string_or_null, values, Method};
use crate::http::multipart;

const METHODS: &[Method] = &[
    ("getMethod", 0, |_, _, c| {
        text(c, |e| Some(e.request.method.to_string()))
    }),
    ("getRequestURI", 0, |_, _, c| {
        text(c, |e| Some(e.request.path().to_string()))
    }),
    ("getRequestURL", 0, |_, _, c| {
        text(c, |e| Some(request_url(e)))
    }),
    ("getQueryString", 0, |_, _, c| {
        text(c, |e| e.request.query().map(str::to_string))
    }),
    ("getPathInfo", 0, |_, _, c| {
        text(c, |e| e.request.route.path_info.clone())
    }),
    ("getResourcePath", 0, |_, _, c| {
        text(c, |e| {
            Some(
                e.request
                    .route
                    .path_info
                    .as_deref()
                    .unwrap_or("")
                    .trim_start_matches('/')
                    .to_string(),
            )
        })
    }),
    ("getServicePath", 0, |_, _, c| {
        text(c, |e| Some(e.request.route.service_path.clone()))
    }),
    ("getPathTranslated", 0, |_, _, c| {
        text(c, |e| Some(e.request.route.relative.to_string()))
    }),
    ("getParameter", 1, get_parameter),
    ("getParameters", 0, get_parameters),
    ("getParameterNames", 0, get_parameter_names),
    ("getParameterValues", 1, get_parameter_values),
    ("getHeader", 1, get_header),
    ("getHeaders", 1, get_headers),
    ("getHeaderNames", 0, get_header_names),
    ("getCookies", 0, get_cookies),
    ("getText", 0, |_, _, c| {
        let body = body(c)?;
        Ok(JsString::from(String::from_utf8_lossy(&body).as_ref()).into())
    }),
    ("getJSON", 0, get_json),
    ("json", 0, get_json),
    ("getBytes", 0, get_bytes),
    ("getInputStream", 0, |_, _, c| {
        super::io::streams::request_input(c)
    }),
    ("getContentType", 0, |_, _, c| {
        text(c, |e| e.request.header("content-type").map(str::to_string))
    }),
    ("getContentLength", 0, get_content_length),
    ("getCharacterEncoding", 0, |_, _, c| {
        text(c, |e| {
            let content_type = e.request.header("content-type")?;
            crate::http::charset(content_type).map(str::to_string)
        })
    }),
    ("getProtocol", 0, |_, _, c| {
        text(c, |e| Some(e.request.version.to_string()))
    }),
    ("getScheme", 0, |_, _, c| {
        text(c, |e| Some(e.request.scheme.to_string()))
    }),
    ("isSecure", 0, |_, _, c| {
        Ok(scope(c)?.borrow().request.is_secure().into())
    }),
    ("getServerName", 0, |_, _, c| {
        text(c, |e| Some(e.request.server_name_port().0))
    }),
    ("getServerPort", 0, |_, _, c| {
        Ok(scope(c)?.borrow().request.server_name_port().1.into())
    }),
    ("getLocalName", 0, |_, _, c| {
        text(c, |e| Some(e.request.local.ip().to_string()))
    }),
    ("getLocalAddress", 0, |_, _, c| {
        text(c, |e| Some(e.request.local.ip().to_string()))
    }),
    ("getLocalPort", 0, |_, _, c| {
        Ok(scope(c)?.borrow().request.local.port().into())
    }),
    ("getRemoteAddress", 0, |_, _, c| {
        text(c, |e| Some(e.request.remote()))
    }),
    ("getRemoteHost", 0, |_, _, c| {
        text(c, |e| Some(e.request.remote()))
    }),
    ("getRemotePort", 0, |_, _, c| {
        Ok(scope(c)?.borrow().request.peer.port().into())
    }),
    ("getLocale", 0, get_locale),
    ("getAttribute", 1, get_attribute),
    ("setAttribute", 2, set_attribute),
    ("removeAttribute", 1, remove_attribute),
    ("getAttributeNames", 0, get_attribute_names),
    ("getRemoteUser", 0, |_, _, c| {
        Ok(string_or_null(
            super::user::current_user(c)?.map(|u| u.name),
        ))
    }),
    ("getAuthType", 0, super::user::get_auth_type),
    ("isUserInRole", 1, super::user::is_in_role),
];

pub const MODULE: Native = Native {
    namespace: "http",
    name: "request",
    aliases: &[],
    exports: &["request", "Request"],
    build: Build::Methods(METHODS),
};

/// A string (or null) computed from the scope.
fn text(context: &mut Context, f: impl FnOnce(&Scope) -> Option<String>) -> JsResult<JsValue> {
    let scope = scope(context)?;
    let value = f(&scope.borrow());
    Ok(string_or_null(value))
}

fn request_url(e: &Scope) -> String {
    let host = e
        .request
        .header("host")
        .map(str::to_string)
        .unwrap_or_else(|| e.request.local.to_string());
    format!("{}://{}{}", e.request.scheme, host, e.request.path())
}

/// The request body, read now if it was not yet (the script's fiber waits
/// for it). A body that cannot be read (too large, stalled) is an Error,
/// and the request ends with its status if the script does not catch it.
pub fn body(context: &mut Context) -> JsResult<Bytes> {
    let scope = scope(context)?;
    let reading = scope.borrow_mut().request.body.start();
    if let Some(reading) = reading {
        let read = crate::fiber::wait(reading).map_err(super::stopped)?;
        scope.borrow_mut().request.body.finish(read);
    }
    let read = scope.borrow().request.body.bytes();
    match read {
        Some(Ok(bytes)) => Ok(bytes),
        Some(Err(error)) => {
            scope.borrow_mut().fault = Some((error.status, error.message.clone()));
            Err(JsNativeError::error().with_message(error.message).into())
        }
        None => Err(JsNativeError::error()
            .with_message("the request body is being read")
            .into()),
    }
}

/// Query string, then a urlencoded form body, decoded as browsers encode.
fn parameters(context: &mut Context) -> JsResult<Rc<[(String, String)]>> {
    if let Some(known) = scope(context)?.borrow().parameters.clone() {
        return Ok(known);
    }
    let mut list = Vec::new();
    let (is_form, multipart) = {
        let scope = scope(context)?;
        let scope = scope.borrow();
        if let Some(query) = scope.request.query() {
            decode_form(query, &mut list);
        }
        let content_type = scope.request.header("content-type");
        let is_form = content_type.is_some_and(|t| {
            t.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        let multipart = content_type
            .filter(|t| multipart::is_form_data(Some(t)))
            .map(str::to_string);
        (is_form, multipart)
    };
    if is_form {
        let body = body(context)?;
        decode_form(&String::from_utf8_lossy(&body), &mut list);
    }
    // The fields of a multipart form, as servlets give them; files are
    // http/upload's.
    if let Some(content_type) = multipart {
        let body = body(context)?;
        match multipart::parse(&content_type, body) {
            Ok(parts) => list.extend(parts.into_iter().filter(|p| p.is_form_field()).map(|p| {
                let name = p.field_name.unwrap_or_default();
                (name, String::from_utf8_lossy(&p.bytes).into_owned())
            })),
            Err(error) => {
                let message = error.to_string();
                scope(context)?.borrow_mut().fault =
                    Some((hyper::StatusCode::BAD_REQUEST, message.clone()));
                return Err(JsNativeError::error().with_message(message).into());
            }
        }
    }
    let list: Rc<[(String, String)]> = list.into();
    scope(context)?.borrow_mut().parameters = Some(list.clone());
    Ok(list)
}

fn decode_form(text: &str, into: &mut Vec<(String, String)>) {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        into.push((decode(name), decode(value)));
    }
}

fn get_parameter(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    let params = parameters(context)?;
    Ok(string_or_null(
        params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone()),
    ))
}

/// Each name once, in the order first seen, with its values: one pass, so a
/// form of many thousands of fields costs no more than reading it.
fn grouped(params: &[(String, String)]) -> Vec<(&str, Vec<&str>)> {
    let mut at: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, value) in params {
        let index = *at.entry(name.as_str()).or_insert_with(|| {
            groups.push((name.as_str(), Vec::new()));
            groups.len() - 1
        });
        groups[index].1.push(value.as_str());
    }
    groups
}

fn get_parameters(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let params = parameters(context)?;
    let pairs: Vec<(&str, JsValue)> = grouped(&params)
        .into_iter()
        .map(|(name, values)| (name, string_array(values, context)))
        .collect();
    Ok(object_of(&pairs, context))
}

fn get_parameter_names(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let params = parameters(context)?;
    let names = grouped(&params).into_iter().map(|(name, _)| name);
    Ok(string_array(names, context))
}

fn get_parameter_values(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    let params = parameters(context)?;
    let values: Vec<&String> = params
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .collect();
    if values.is_empty() {
        return Ok(JsValue::null());
    }
    Ok(string_array(values, context))
}

fn get_header(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    text(context, |e| {
        e.request
            .headers
            .get(name.as_str())
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    })
}

fn get_headers(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    let values: Vec<String> = scope(context)?
        .borrow()
        .request
        .headers
        .get_all(name.as_str())
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    Ok(string_array(values, context))
}

fn get_header_names(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let names: Vec<String> = scope(context)?
        .borrow()
        .request
        .headers
        .keys()
        .map(|k| k.to_string())
        .collect();
    Ok(string_array(names, context))
}

fn get_cookies(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let pairs: Vec<(String, String)> = {
        let scope = scope(context)?;
        let scope = scope.borrow();
        scope
            .request
            .headers
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect()
    };
    let cookies: Vec<JsValue> = pairs
        .into_iter()
        .map(|(name, value)| {
            object_of(
                &[
                    ("name", JsString::from(name).into()),
                    ("value", JsString::from(value).into()),
                ],
                context,
            )
        })
        .collect();
    Ok(values::js_array(cookies, context))
}

fn get_json(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body(context)?).ok();
    match parsed {
        Some(value) => JsValue::from_json(&value, context),
        None => Ok(JsValue::null()),
    }
}

fn get_bytes(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let body = body(context)?;
    Ok(JsUint8Array::from_iter(body.iter().copied(), context)?.into())
}

fn get_content_length(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let length = scope(context)?
        .borrow()
        .request
        .header("content-length")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(-1.0);
    Ok(length.into())
}

fn get_locale(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let first = scope(context)?
        .borrow()
        .request
        .header("accept-language")
        .and_then(|v| {
            v.split(',')
                .next()
                .map(|t| t.split(';').next().unwrap_or("").trim().to_string())
        });
    match first.filter(|t| !t.is_empty() && t != "*") {
        Some(tag) => Ok(locale_object(&tag, context)),
        None => Ok(JsValue::null()),
    }
}

/// Request attributes: any value, for this request and the modules it requires.
fn get_attribute(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    let scope = scope(context)?;
    let scope = scope.borrow();
    let value = scope.attributes.iter().find(|(n, _)| *n == name);
    Ok(value.map_or(JsValue::null(), |(_, v)| v.clone()))
}

fn set_attribute(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    let value = args.get(1).cloned().unwrap_or_default();
    let scope = scope(context)?;
    let attributes = &mut scope.borrow_mut().attributes;
    match attributes.iter_mut().find(|(n, _)| *n == name) {
        Some(entry) => entry.1 = value,
        None => attributes.push((name, value)),
    }
    Ok(JsValue::undefined())
}

fn remove_attribute(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = arg_string(args, 0, context)?;
    scope(context)?
        .borrow_mut()
        .attributes
        .retain(|(n, _)| *n != name);
    Ok(JsValue::undefined())
}

fn get_attribute_names(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let names: Vec<String> = scope(context)?
        .borrow()
        .attributes
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    Ok(string_array(names, context))
}
