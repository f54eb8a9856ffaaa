//! `utils/uuid` (`UUID`): `random()` is a version 4 UUID from the `uuid`
//! crate; `validate(s)` answers as Java's `UUID.fromString` does, which
//! Dirigible calls: five `-`-separated hexadecimal fields of any length
//! (at most 36 characters in all), so `1-2-3-4-5` is valid too.

use boa_engine::{Context, JsResult, JsValue};

use crate::modules::registry::{Build, Native};
use crate::modules::{values, Method};

pub const MODULE: Native = Native {
    namespace: "utils",
    name: "uuid",
    aliases: &[],
    exports: &["uuid", "UUID"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[("random", 0, random), ("validate", 1, validate)];

fn random(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Ok(super::text(::uuid::Uuid::new_v4().hyphenated().to_string()))
}

/// Anything but a string is not a UUID (Java would throw on `null`).
fn validate(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let valid = args
        .first()
        .and_then(JsValue::as_string)
        .is_some_and(|s| java_uuid(&values::string_of(&s)));
    Ok(valid.into())
}

/// `java.util.UUID.fromString` accepts it: at most 36 UTF-16 units, five
/// fields between dashes, each a `Long.parseLong(field, 16)` (an optional
/// sign, then hexadecimal digits, within 64 bits).
pub fn java_uuid(text: &str) -> bool {
    if text.encode_utf16().count() > 36 {
        return false;
    }
    let fields: Vec<&str> = text.split('-').collect();
    fields.len() == 5 && fields.iter().all(|f| java_hex_long(f).is_some())
}

fn java_hex_long(field: &str) -> Option<i64> {
    let (negative, digits) = match field.as_bytes().first()? {
        b'+' => (false, &field[1..]),
        b'-' => (true, &field[1..]),
        _ => (false, field),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, 16).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

#[cfg(test)]
mod tests {
    use super::java_uuid;

    #[test]
    fn validates_as_java_does() {
        assert!(java_uuid("14a3ddce-f86d-4f51-a2e0-6e497b94bbe5"));
        assert!(java_uuid("14A3DDCE-F86D-4F51-A2E0-6E497B94BBE5"));
        assert!(java_uuid("1-2-3-4-5"), "Java takes short fields");
        assert!(java_uuid("+1-2-3-4-5"), "and a sign");
        assert!(!java_uuid("14a3ddce-f86d-4f51-a2e0"));
        assert!(!java_uuid("14a3ddce-f86d-4f51-a2e0-6e497b94bbe5-1"));
        assert!(!java_uuid("14a3ddcg-f86d-4f51-a2e0-6e497b94bbe5"));
        assert!(
            !java_uuid("14a3ddce-f86d-4f51-a2e0-6e497b94bbe5a"),
            "37 characters"
        );
        assert!(!java_uuid("-1-2-3-4-5"));
        assert!(!java_uuid("1--3-4-5"));
        assert!(!java_uuid(""));
        assert!(!java_uuid("not a uuid"));
    }
}
