//! Values between JavaScript and Rust. JSON strictly: what cannot round-trip
//! (functions, symbols, BigInt, cycles) is a TypeError, never silently lost.

use boa_engine::object::builtins::{JsArray, JsArrayBuffer, JsTypedArray};
use std::borrow::Cow;

use boa_engine::string::JsStrVariant;
use boa_engine::{
    js_string, Context, JsNativeError, JsObject, JsResult, JsString, JsValue, JsVariant,
};
use serde_json::{Map, Number, Value};

const MAX_DEPTH: usize = 200;

/// A JS value as JSON, for session attributes.
pub fn to_json(value: &JsValue, context: &mut Context) -> JsResult<Value> {
    let mut path = Vec::new();
    convert(value, context, &mut path, "value")
}

fn type_error(message: String) -> boa_engine::JsError {
    JsNativeError::typ().with_message(message).into()
}

fn convert(
    value: &JsValue,
    context: &mut Context,
    path: &mut Vec<JsObject>,
    at: &str,
) -> JsResult<Value> {
    Ok(match value.variant() {
        JsVariant::Null | JsVariant::Undefined => Value::Null,
        JsVariant::Boolean(b) => Value::Bool(b),
        JsVariant::Integer32(i) => Value::from(i),
        JsVariant::Float64(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        JsVariant::String(s) => Value::String(string_of(&s)),
        JsVariant::BigInt(_) => {
            return Err(type_error(format!(
                "{at} is a BigInt, which cannot be stored as JSON"
            )))
        }
        JsVariant::Symbol(_) => {
            return Err(type_error(format!(
                "{at} is a symbol, which cannot be stored"
            )))
        }
        JsVariant::Object(object) => {
            if object.is_callable() {
                return Err(type_error(format!(
                    "{at} is a function, which cannot be stored"
                )));
            }
            if path.iter().any(|seen| JsObject::equals(seen, &object)) {
                return Err(type_error(format!(
                    "{at} is a cycle (an object that contains itself)"
                )));
            }
            if path.len() >= MAX_DEPTH {
                return Err(type_error(format!(
                    "{at} is nested deeper than {MAX_DEPTH} levels"
                )));
            }
            // Dates and other objects with toJSON store what JSON.stringify would.
            let to_json = object.get(js_string!("toJSON"), context)?;
            if let Some(function) = to_json.as_callable() {
                let converted = function.call(value, &[], context)?;
                return convert(&converted, context, path, at);
            }
            path.push(object.clone());
            let result = if object.is_array() {
                let length = length(&object, context)?;
                let mut items = Vec::with_capacity(length as usize);
                for i in 0..length {
                    let item = object.get(i, context)?;
                    items.push(convert(&item, context, path, &format!("{at}[{i}]"))?);
                }
                Value::Array(items)
            } else {
                let mut map = Map::new();
                let object_constructor = context.intrinsics().constructors().object().constructor();
                let keys = object_constructor.get(js_string!("keys"), context)?;
                let keys = keys
                    .as_callable()
                    .ok_or_else(|| type_error("Object.keys is not a function".into()))?
                    .call(
                        &object_constructor.into(),
                        std::slice::from_ref(value),
                        context,
                    )?;
                let keys = keys
                    .as_object()
                    .ok_or_else(|| type_error("Object.keys failed".into()))?;
                for i in 0..length(&keys, context)? {
                    let name = keys.get(i, context)?.to_string(context)?;
                    let item = object.get(name.clone(), context)?;
                    if item.is_undefined() {
                        continue;
                    }
                    let name = string_of(&name);
                    let converted = convert(&item, context, path, &format!("{at}.{name}"))?;
                    map.insert(name, converted);
                }
                Value::Object(map)
            };
            path.pop();
            result
        }
    })
}

/// A number as a JS value: a whole one that fits 32 bits as Boa's integer,
/// which scripts see the same but which Boa prints without the float
/// formatter (ryu, ~650 instructions for `"visits: " + n`).
pub fn number(n: f64) -> JsValue {
    let whole = n as i32;
    if f64::from(whole) == n && (whole != 0 || n.is_sign_positive()) {
        JsValue::from(whole)
    } else {
        JsValue::from(n)
    }
}

/// A JSON text as a fresh JS value.
pub fn from_json_text(text: &str, context: &mut Context) -> JsResult<JsValue> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        JsNativeError::syntax().with_message(format!("stored value is not JSON: {e}"))
    })?;
    JsValue::from_json(&value, context)
}

pub use super::json_writer::stringify;

/// An array of strings from a JS array-like, for headers etc.
pub fn js_array(values: Vec<JsValue>, context: &mut Context) -> JsValue {
    JsArray::from_iter(values, context).into()
}

/// The `length` of an array-like object.
pub fn length(object: &JsObject, context: &mut Context) -> JsResult<u64> {
    let n = object
        .get(js_string!("length"), context)?
        .to_number(context)?;
    Ok(if n.is_finite() && n > 0.0 {
        n as u64
    } else {
        0
    })
}

/// A string as Rust text: one-byte (Latin-1) text, the common case, maps
/// byte to char without the formatter; a lone surrogate becomes `\uXXXX`.
pub fn string_of(text: &JsString) -> String {
    match text.variant() {
        JsStrVariant::Latin1(bytes) if bytes.is_ascii() => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        JsStrVariant::Latin1(bytes) => bytes.iter().map(|&b| char::from(b)).collect(),
        JsStrVariant::Utf16(_) => text.to_std_string_escaped(),
    }
}

/// The UTF-8 bytes of a string, borrowed when it is ASCII (the common case);
/// a lone surrogate becomes U+FFFD.
pub fn utf8_of(text: &JsString) -> Cow<'_, [u8]> {
    match text.variant() {
        JsStrVariant::Latin1(bytes) if bytes.is_ascii() => Cow::Borrowed(bytes),
        JsStrVariant::Latin1(bytes) => Cow::Owned(
            bytes
                .iter()
                .map(|&b| char::from(b))
                .collect::<String>()
                .into_bytes(),
        ),
        JsStrVariant::Utf16(units) => Cow::Owned(String::from_utf16_lossy(units).into_bytes()),
    }
}

/// Bytes from a Uint8Array, an ArrayBuffer, or an array of numbers 0–255
/// (−128…−1 as signed bytes).
pub fn bytes_of(value: &JsValue, context: &mut Context) -> JsResult<Vec<u8>> {
    let expected = "expected a Uint8Array, an ArrayBuffer or an array of byte values";
    let object = value
        .as_object()
        .ok_or_else(|| JsNativeError::typ().with_message(expected))?;
    if let Ok(buffer) = JsArrayBuffer::from_object(object.clone()) {
        return Ok(buffer.to_vec().unwrap_or_default());
    }
    if let Ok(typed) = JsTypedArray::from_object(object.clone()) {
        let offset = typed.byte_offset(context)?;
        let length = typed.byte_length(context)?;
        let buffer = typed
            .buffer(context)?
            .as_object()
            .and_then(|b| JsArrayBuffer::from_object(b).ok());
        let all = buffer.and_then(|b| b.to_vec()).unwrap_or_default();
        return Ok(all
            .get(offset..offset + length)
            .unwrap_or_default()
            .to_vec());
    }
    if object.is_array() {
        let length = length(&object, context)?;
        let mut bytes = Vec::with_capacity(length as usize);
        for i in 0..length {
            let n = object.get(i, context)?.as_number().unwrap_or(f64::NAN);
            if n.fract() != 0.0 || !(-128.0..=255.0).contains(&n) {
                return Err(JsNativeError::typ()
                    .with_message(format!(
                        "element {i} is not a byte value (0–255, or −128…−1)"
                    ))
                    .into());
            }
            bytes.push(n as i16 as u8);
        }
        return Ok(bytes);
    }
    Err(JsNativeError::typ().with_message(expected).into())
}

/// Bytes as Dirigible hands them to scripts: a plain array of Java's
/// signed byte values (−128…127), so `[72, 105]` for "Hi" and `-61, -87`
/// for "é".
pub fn signed_bytes(bytes: &[u8], context: &mut Context) -> JsValue {
    let values = bytes.iter().map(|&b| JsValue::from(i32::from(b as i8)));
    JsArray::from_iter(values, context).into()
}

/// `text_or_bytes` of a function's first argument (`undefined` if none).
pub fn first_text_or_bytes(
    args: &[JsValue],
    what: &str,
    context: &mut Context,
) -> JsResult<Vec<u8>> {
    text_or_bytes(args.first().unwrap_or(&JsValue::undefined()), what, context)
}

/// What Dirigible's "text or byte array" parameters take: a string (its
/// UTF-8 bytes) or bytes (`bytes_of`). `what` names the function in the
/// TypeError for anything else.
pub fn text_or_bytes(value: &JsValue, what: &str, context: &mut Context) -> JsResult<Vec<u8>> {
    if let Some(text) = value.as_string() {
        return Ok(utf8_of(&text).into_owned());
    }
    if value.is_object() && !value.is_callable() {
        return bytes_of(value, context);
    }
    Err(JsNativeError::typ()
        .with_message(format!(
            "{what}: expected a string or an array of bytes, not {}",
            type_name(value)
        ))
        .into())
}

/// `typeof`-like name of a value for messages (`null` as itself).
pub fn type_name(value: &JsValue) -> &'static str {
    match value.variant() {
        JsVariant::Null => "null",
        JsVariant::Undefined => "undefined",
        JsVariant::Boolean(_) => "a boolean",
        JsVariant::Integer32(_) | JsVariant::Float64(_) => "a number",
        JsVariant::String(_) => "a string",
        JsVariant::BigInt(_) => "a BigInt",
        JsVariant::Symbol(_) => "a symbol",
        JsVariant::Object(o) if o.is_callable() => "a function",
        JsVariant::Object(_) => "an object",
    }
}
