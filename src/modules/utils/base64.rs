//! `utils/base64` (`Base64`): the standard alphabet with padding, as
//! Commons Codec's `Base64` writes it. Input is a string (its UTF-8) or
//! bytes; byte results are arrays of signed bytes, as in Dirigible.
//! Decoding takes the standard and the URL-safe alphabet, with or without
//! padding, and ignores whitespace (line breaks of MIME text), as Commons
//! Codec does; another character is an Error naming it, where Commons
//! Codec silently skips it.

use ::base64::alphabet;
use ::base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use ::base64::engine::DecodePaddingMode;
use ::base64::Engine;
use boa_engine::{Context, JsNativeError, JsResult, JsValue};

use crate::modules::registry::{Build, Native};
use crate::modules::{values, Method};

pub const MODULE: Native = Native {
    namespace: "utils",
    name: "base64",
    aliases: &[],
    exports: &["base64", "Base64"],
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
    let bytes = values::first_text_or_bytes(args, "Base64.encode", context)?;
    Ok(super::text(STANDARD.encode(bytes)))
}

fn encode_as_bytes(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let bytes = values::first_text_or_bytes(args, "Base64.encodeAsBytes", context)?;
    Ok(values::signed_bytes(
        STANDARD.encode(bytes).as_bytes(),
        context,
    ))
}

/// `null` for `null`/`undefined`, as Dirigible returns.
fn decode(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    if args.first().is_none_or(JsValue::is_null_or_undefined) {
        return Ok(JsValue::null());
    }
    let text = values::first_text_or_bytes(args, "Base64.decode", context)?;
    let bytes = decode_lenient(&text).map_err(|e| {
        JsNativeError::error().with_message(format!("Base64.decode: not Base64 text: {e}"))
    })?;
    Ok(values::signed_bytes(&bytes, context))
}

/// Standard or URL-safe alphabet, padding optional, whitespace ignored.
pub fn decode_lenient(text: &[u8]) -> Result<Vec<u8>, ::base64::DecodeError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let normalized: Vec<u8> = text
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| match b {
            b'-' => b'+',
            b'_' => b'/',
            other => other,
        })
        .collect();
    LENIENT.decode(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_commons_codec_does() {
        assert_eq!(decode_lenient(b"YWRtaW46YWRtaW4=").unwrap(), b"admin:admin");
        assert_eq!(decode_lenient(b"YWRtaW46YWRtaW4").unwrap(), b"admin:admin");
        assert_eq!(
            decode_lenient(b"YWRt\r\naW46\nYWRtaW4=").unwrap(),
            b"admin:admin"
        );
        assert_eq!(decode_lenient(b"-_8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_lenient(b"+/8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_lenient(b"").unwrap(), b"");
        assert!(decode_lenient(b"YW!t").is_err());
    }
}
