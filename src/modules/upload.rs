//! `http/upload` (`upload` and `Upload` of the `http` barrel): the parts of
//! a multipart request. The body is read on demand like any other (under
//! `--max-body` and `--max-body-memory`) and parsed by `multer`
//! (`crate::http::multipart`); upload.js shapes the parts as Dirigible's
//! FileItems and FileItem.

use boa_engine::object::builtins::JsUint8Array;
use boa_engine::{Context, JsNativeError, JsObject, JsResult, JsString, JsValue, Source};
use hyper::StatusCode;

use super::registry::{Build, Native};
use super::scope::scope;
use super::{module_object, object_of, string_or_null, values, Method};
use crate::http::multipart;

pub const MODULE: Native = Native {
    namespace: "http",
    name: "upload",
    aliases: &[],
    exports: &["upload", "Upload"],
    build: Build::With(build),
};

const NATIVE: &[Method] = &[
    ("isMultipartContent", 0, is_multipart_content),
    ("parse", 0, parse),
];

fn build(context: &mut Context) -> JsResult<JsObject> {
    let native = module_object(context, NATIVE);
    let source = Source::from_bytes(include_str!("upload.js"))
        .with_path(std::path::Path::new("http/upload.js"));
    let factory = context.eval(source)?;
    let factory = factory
        .as_callable()
        .ok_or_else(|| JsNativeError::error().with_message("http/upload.js is not a function"))?;
    factory
        .call(&JsValue::undefined(), &[native.into()], context)?
        .as_object()
        .ok_or_else(|| {
            JsNativeError::error()
                .with_message("http/upload.js returned no module object")
                .into()
        })
}

/// A POST, PUT or PATCH with a `multipart/*` Content-Type.
fn is_multipart_content(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let scope = scope(context)?;
    let scope = scope.borrow();
    let request = &scope.request;
    let writes = matches!(request.method.as_str(), "POST" | "PUT" | "PATCH");
    Ok((writes && multipart::is_multipart(request.header("content-type"))).into())
}

/// The parts as plain records `{fieldName, fileName, contentType, headers,
/// bytes}`. A request that is not multipart, or a malformed body, is an
/// Error, and the request ends in 400 unless the script catches it.
fn parse(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let content_type = scope(context)?
        .borrow()
        .request
        .header("content-type")
        .map(str::to_string);
    let content_type = match content_type {
        Some(t) if multipart::is_multipart(Some(&t)) => t,
        other => {
            let sent = other.map_or("none".to_string(), |t| format!("'{t}'"));
            return Err(bad_request(
                format!("the request is not multipart (Content-Type: {sent})"),
                context,
            ));
        }
    };
    let body = super::request::body(context)?;
    let parts = match multipart::parse(&content_type, body) {
        Ok(parts) => parts,
        Err(error) => return Err(bad_request(error.to_string(), context)),
    };
    let mut records = Vec::with_capacity(parts.len());
    for part in parts {
        let headers: Vec<(&str, JsValue)> = part
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), JsString::from(value.as_str()).into()))
            .collect();
        let headers = object_of(&headers, context);
        let bytes = JsUint8Array::from_iter(part.bytes.iter().copied(), context)?;
        records.push(object_of(
            &[
                ("fieldName", string_or_null(part.field_name.as_deref())),
                ("fileName", string_or_null(part.file_name.as_deref())),
                ("contentType", string_or_null(part.content_type.as_deref())),
                ("headers", headers),
                ("bytes", bytes.into()),
            ],
            context,
        ));
    }
    Ok(values::js_array(records, context))
}

/// An Error that ends the request in 400 if the script lets it through.
fn bad_request(message: String, context: &mut Context) -> boa_engine::JsError {
    if let Ok(scope) = scope(context) {
        scope.borrow_mut().fault = Some((StatusCode::BAD_REQUEST, message.clone()));
    }
    JsNativeError::error().with_message(message).into()
}
