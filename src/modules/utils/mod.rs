//! Dirigible's `utils/*` modules: each file is one module, with
//! Dirigible's function names and results (its Java facades call Apache
//! Commons Codec, Commons Lang, Guava and `java.util.UUID`; where a Rust
//! crate gives the same results it does the work, where none does the
//! file holds a small translation of the Java behaviour).

pub mod alphanumeric;
pub mod base64;
pub mod digest;
pub mod escape;
pub mod hex;
pub mod url;
pub mod uuid;
pub mod xml;

use boa_engine::{Context, JsNativeError, JsResult, JsString, JsValue};

/// A string argument, as a Java `String` parameter takes it: numbers and
/// booleans as their text; `null`/`undefined` (and objects, which Java
/// would refuse) a TypeError naming `what`.
pub fn text_arg(args: &[JsValue], i: usize, what: &str, context: &mut Context) -> JsResult<String> {
    let value = args.get(i).cloned().unwrap_or_default();
    if value.is_null_or_undefined() || value.is_object() || value.is_symbol() {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "{what}: expected a string, not {}",
                super::values::type_name(&value)
            ))
            .into());
    }
    Ok(value.to_string(context)?.to_std_string_lossy())
}

pub fn text(value: impl AsRef<str>) -> JsValue {
    JsString::from(value.as_ref()).into()
}
