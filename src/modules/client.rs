//! `http/client` (`http/v4/client`, `HttpClient`): Dirigible's synchronous
//! HTTP client. Synchronous for the script, never for the thread: the call
//! waits in the script's fiber while the worker serves others.

use std::rc::Rc;

use boa_engine::{js_string, Context, JsNativeError, JsResult, JsString, JsValue};

use super::registry::{Build, Native};
use super::{object_of, values, Method};
use crate::outbound::{Call, Outbound, Redirects};

pub const MODULE: Native = Native {
    namespace: "http",
    name: "client",
    aliases: &[],
    exports: &["client", "HttpClient"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[
    ("get", 2, |_, a, c| call(Some("GET"), a, c)),
    ("post", 2, |_, a, c| call(Some("POST"), a, c)),
    ("put", 2, |_, a, c| call(Some("PUT"), a, c)),
    ("patch", 2, |_, a, c| call(Some("PATCH"), a, c)),
    ("delete", 2, |_, a, c| call(Some("DELETE"), a, c)),
    ("del", 2, |_, a, c| call(Some("DELETE"), a, c)),
    ("head", 2, |_, a, c| call(Some("HEAD"), a, c)),
    ("trace", 2, |_, a, c| call(Some("TRACE"), a, c)),
    ("request", 2, |_, a, c| call(None, a, c)),
];

/// `method(url, options)`, or `request(url, options)` with `options.method`
/// (also `request(options)` with `options.url`).
fn call(method: Option<&str>, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let (url, options) = match args.first() {
        Some(first) if first.is_object() && method.is_none() => (None, first.as_object()),
        first => (first.cloned(), args.get(1).and_then(JsValue::as_object)),
    };
    let option = |name: &str, context: &mut Context| -> JsResult<JsValue> {
        match &options {
            Some(options) => options.get(JsString::from(name), context),
            None => Ok(JsValue::undefined()),
        }
    };
    let text_option = |name: &str, context: &mut Context| -> JsResult<Option<String>> {
        let value = option(name, context)?;
        if value.is_null_or_undefined() {
            return Ok(None);
        }
        Ok(Some(value.to_string(context)?.to_std_string_escaped()))
    };
    let url = match url {
        Some(url) if !url.is_null_or_undefined() => url.to_string(context)?.to_std_string_escaped(),
        _ => text_option("url", context)?
            .ok_or_else(|| JsNativeError::typ().with_message("the client needs a URL"))?,
    };
    let method = match method {
        Some(method) => method.to_string(),
        None => text_option("method", context)?
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase(),
    };
    let mut headers = name_values(&option("headers", context)?, context)?;
    let params = name_values(&option("params", context)?, context)?;
    let text = text_option("text", context)?;
    let data = option("data", context)?;
    let content_type = text_option("contentType", context)?;
    let charset = text_option("characterEncoding", context)?.unwrap_or_else(|| "UTF-8".into());
    let binary = option("binary", context)?.to_boolean();
    let trust_all = option("sslTrustAllEnabled", context)?.to_boolean();
    let follow = option("redirectsEnabled", context)?;
    let follow = follow.is_undefined() || follow.to_boolean();

    // Dirigible v4: `params` are the request's form body; a method without
    // a body (GET, HEAD, TRACE) gets them in its query string instead.
    let mut url = url;
    let has_body = !matches!(method.as_str(), "GET" | "HEAD" | "TRACE");
    let form = (!params.is_empty()).then(|| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish()
    });
    let mut body = None;
    if let (Some(form), false) = (&form, has_body) {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(form);
    }
    let has_type = |headers: &[(String, String)]| {
        headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    };
    if let Some(text) = text {
        let encoding =
            encoding_rs::Encoding::for_label(charset.trim().as_bytes()).ok_or_else(|| {
                JsNativeError::typ().with_message(format!("unknown characterEncoding {charset:?}"))
            })?;
        let media = content_type.clone().unwrap_or_else(|| "text/plain".into());
        if !has_type(&headers) {
            headers.push(("Content-Type".into(), format!("{media}; charset={charset}")));
        }
        // Characters the encoding lacks become numeric character references.
        let (bytes, _, _) = encoding.encode(&text);
        body = Some(bytes.into_owned().into());
    } else if !data.is_null_or_undefined() {
        body = Some(values::bytes_of(&data, context)?.into());
        if let (Some(media), false) = (&content_type, has_type(&headers)) {
            headers.push(("Content-Type".into(), media.clone()));
        }
    } else if let (Some(form), true) = (form, has_body) {
        if !has_type(&headers) {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        body = Some(form.into_bytes().into());
    }

    let call = Call {
        method: reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| JsNativeError::typ().with_message(format!("invalid method {method:?}")))?,
        url,
        headers,
        body,
        redirects: if follow {
            Redirects::Follow
        } else {
            Redirects::Manual
        },
        trust_all,
    };
    let outbound = context
        .get_data::<Rc<Outbound>>()
        .cloned()
        .ok_or_else(|| JsNativeError::error().with_message("no HTTP client"))?;
    let reply = crate::fiber::wait(outbound.send(call))
        .map_err(super::stopped)?
        .map_err(|e| JsNativeError::error().with_message(e.to_string()))?;

    let headers: Vec<JsValue> = reply
        .headers
        .iter()
        .map(|(name, value)| {
            object_of(
                &[
                    ("name", JsString::from(name.as_str()).into()),
                    ("value", JsString::from(value.as_str()).into()),
                ],
                context,
            )
        })
        .collect();
    let headers = values::js_array(headers, context);
    let (text, data) = if binary {
        let bytes: Vec<JsValue> = reply.body.iter().map(|b| JsValue::from(*b)).collect();
        (JsValue::null(), values::js_array(bytes, context))
    } else {
        let text = JsString::from(decode(&reply.body, &reply.headers).as_ref());
        (text.into(), values::js_array(Vec::new(), context))
    };
    let response = object_of(
        &[
            ("statusCode", reply.status.into()),
            (
                "statusMessage",
                JsString::from(reply.status_text.as_str()).into(),
            ),
            ("protocol", JsString::from(reply.version).into()),
            ("binary", binary.into()),
            ("text", text),
            ("data", data),
            ("headers", headers),
        ],
        context,
    );
    Ok(response)
}

/// A response's text, in the charset its Content-Type names (UTF-8 when it
/// names none, or one unknown).
fn decode<'a>(body: &'a [u8], headers: &[(String, String)]) -> std::borrow::Cow<'a, str> {
    let charset = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, value)| crate::http::charset(value));
    let encoding = charset
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode(body).0
}

/// `[{name, value}]` (Dirigible's headers and params) as pairs.
fn name_values(list: &JsValue, context: &mut Context) -> JsResult<Vec<(String, String)>> {
    let Some(list) = list.as_object() else {
        return Ok(Vec::new());
    };
    let length = values::length(&list, context)?;
    let mut pairs = Vec::with_capacity(length as usize);
    for i in 0..length {
        let item = list.get(i, context)?;
        let Some(item) = item.as_object() else {
            continue;
        };
        let name = item.get(js_string!("name"), context)?;
        let value = item.get(js_string!("value"), context)?;
        if name.is_null_or_undefined() {
            continue;
        }
        pairs.push((
            name.to_string(context)?.to_std_string_escaped(),
            value.to_string(context)?.to_std_string_escaped(),
        ));
    }
    Ok(pairs)
}
