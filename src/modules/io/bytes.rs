//! `io/bytes` (`Bytes`). Dirigible's byte arrays are arrays of Java's
//! signed bytes (−128…127); blimp returns those too, and takes them, a
//! `Uint8Array`, an `ArrayBuffer` or numbers 0–255 wherever bytes go in.
//! Text is UTF-8 both ways (invalid bytes become U+FFFD). The "Java
//! bytes" of `toJavaBytes` are the same arrays: blimp has no Java.

use boa_engine::{Context, JsNativeError, JsResult, JsValue};

use crate::modules::registry::{Build, Native};
use crate::modules::{values, Method};

pub const MODULE: Native = Native {
    namespace: "io",
    name: "bytes",
    aliases: &[],
    exports: &["bytes", "Bytes"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[
    ("toJavaBytes", 1, |_, a, c| copy(a, "Bytes.toJavaBytes", c)),
    ("toJavaScriptBytes", 1, |_, a, c| {
        copy(a, "Bytes.toJavaScriptBytes", c)
    }),
    ("textToByteArray", 1, text_to_byte_array),
    ("byteArrayToText", 1, byte_array_to_text),
    ("intToByteArray", 2, int_to_byte_array),
    ("byteArrayToInt", 2, byte_array_to_int),
];

fn bytes_arg(args: &[JsValue], what: &str, context: &mut Context) -> JsResult<Vec<u8>> {
    let value = args.first().cloned().unwrap_or_default();
    if !value.is_object() {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "{what}: expected an array of bytes, not {}",
                values::type_name(&value)
            ))
            .into());
    }
    values::bytes_of(&value, context)
}

fn copy(args: &[JsValue], what: &str, context: &mut Context) -> JsResult<JsValue> {
    let bytes = bytes_arg(args, what, context)?;
    Ok(values::signed_bytes(&bytes, context))
}

fn text_to_byte_array(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = super::super::utils::text_arg(args, 0, "Bytes.textToByteArray", context)?;
    Ok(values::signed_bytes(text.as_bytes(), context))
}

fn byte_array_to_text(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let bytes = bytes_arg(args, "Bytes.byteArrayToText", context)?;
    Ok(crate::modules::utils::text(String::from_utf8_lossy(&bytes)))
}

/// `"BIG_ENDIAN"`, or anything else for little-endian, as Java's facade reads it.
fn big_endian(args: &[JsValue], context: &mut Context) -> JsResult<bool> {
    Ok(match args.get(1) {
        Some(v) if !v.is_null_or_undefined() => {
            v.to_string(context)?.to_std_string_lossy() == "BIG_ENDIAN"
        }
        _ => false,
    })
}

fn int_to_byte_array(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let value = args.first().cloned().unwrap_or_default().to_i32(context)?;
    let bytes = if big_endian(args, context)? {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    };
    Ok(values::signed_bytes(&bytes, context))
}

/// Up to four bytes (missing ones are zero, as in Java's ByteBuffer);
/// more is a RangeError.
fn byte_array_to_int(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let bytes = bytes_arg(args, "Bytes.byteArrayToInt", context)?;
    if bytes.len() > 4 {
        return Err(JsNativeError::range()
            .with_message(format!(
                "Bytes.byteArrayToInt: {} bytes do not fit in an int (4 at most)",
                bytes.len()
            ))
            .into());
    }
    let mut four = [0u8; 4];
    four[..bytes.len()].copy_from_slice(&bytes);
    let value = if big_endian(args, context)? {
        i32::from_be_bytes(four)
    } else {
        i32::from_le_bytes(four)
    };
    Ok(value.into())
}
