//! `utils/hex` (`Hex`): lower-case hexadecimal, as Commons Codec's `Hex`
//! writes it; decoding takes either case. Input is a string (its UTF-8)
//! or bytes; byte results are arrays of signed bytes. An odd length or a
//! character that is not a hex digit is an Error with Commons Codec's
//! message.

use boa_engine::{Context, JsNativeError, JsResult, JsValue};

use crate::modules::registry::{Build, Native};
use crate::modules::{values, Method};

pub const MODULE: Native = Native {
    namespace: "utils",
    name: "hex",
    aliases: &[],
    exports: &["hex", "Hex"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[
    ("encode", 1, encode),
    ("encodeAsBytes", 1, encode_as_bytes),
    ("encodeAsNativeBytes", 1, encode_as_bytes),
    ("decode", 1, decode),
    ("decodeAsNativeBytes", 1, decode),
];

fn encode(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let bytes = values::first_text_or_bytes(args, "Hex.encode", context)?;
    Ok(super::text(::hex::encode(bytes)))
}

fn encode_as_bytes(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let bytes = values::first_text_or_bytes(args, "Hex.encodeAsBytes", context)?;
    Ok(values::signed_bytes(
        ::hex::encode(bytes).as_bytes(),
        context,
    ))
}

/// `null` for `null`/`undefined`, as Dirigible's documentation says.
fn decode(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    if args.first().is_none_or(JsValue::is_null_or_undefined) {
        return Ok(JsValue::null());
    }
    let text = values::first_text_or_bytes(args, "Hex.decode", context)?;
    let bytes = ::hex::decode(&text).map_err(|e| {
        let message = match e {
            ::hex::FromHexError::OddLength => "Odd number of characters.".to_string(),
            ::hex::FromHexError::InvalidHexCharacter { c, index } => {
                format!("Illegal hexadecimal character {c} at index {index}")
            }
            other => other.to_string(),
        };
        JsNativeError::error().with_message(format!("Hex.decode: {message}"))
    })?;
    Ok(values::signed_bytes(&bytes, context))
}
