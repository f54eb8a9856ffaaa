//! `utils/url` (`URL`): `encode`/`decode` are Java's `URLEncoder` and
//! `URLDecoder` (`application/x-www-form-urlencoded`: space is `+`,
//! letters, digits and `.-*_` stay, everything else is `%XX` of the
//! charset's bytes); `escape`, `escapePath` and `escapeForm` are Guava's
//! URL fragment, path segment and form parameter escapers (UTF-8).

use boa_engine::{Context, JsNativeError, JsResult, JsValue};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::text_arg;
use crate::modules::registry::{Build, Native};
use crate::modules::Method;

pub const MODULE: Native = Native {
    namespace: "utils",
    name: "url",
    aliases: &[],
    exports: &["url", "URL"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[
    ("encode", 2, encode),
    ("decode", 2, decode),
    ("escape", 1, |_, a, c| {
        escaped(FRAGMENT, false, "URL.escape", a, c)
    }),
    ("escapePath", 1, |_, a, c| {
        escaped(PATH_SEGMENT, false, "URL.escapePath", a, c)
    }),
    ("escapeForm", 1, |_, a, c| {
        escaped(FORM, true, "URL.escapeForm", a, c)
    }),
];

/// Guava's `urlPathSegmentEscaper`: unreserved, sub-delims, `:` and `@` stay.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');
/// Guava's `urlFragmentEscaper`: the path segment's, and `/` and `?`.
const FRAGMENT: &AsciiSet = &PATH_SEGMENT.remove(b'/').remove(b'?');
/// Guava's `urlFormParameterEscaper` (and `URLEncoder` in UTF-8): `.-*_`
/// stay, and space, which becomes `+`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'*')
    .remove(b'_')
    .remove(b' ');

/// The charsets blimp encodes and decodes (Java knows more).
#[derive(Clone, Copy, PartialEq)]
enum Charset {
    Utf8,
    Latin1,
    Ascii,
}

fn charset(args: &[JsValue], what: &str, context: &mut Context) -> JsResult<Charset> {
    let name = match args.get(1) {
        Some(v) if !v.is_null_or_undefined() => v.to_string(context)?.to_std_string_lossy(),
        _ => return Ok(Charset::Utf8),
    };
    let key: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .collect::<String>()
        .to_ascii_lowercase();
    match key.as_str() {
        "utf8" => Ok(Charset::Utf8),
        "iso88591" | "latin1" | "iso8859_1" | "cp819" => Ok(Charset::Latin1),
        "usascii" | "ascii" => Ok(Charset::Ascii),
        _ => Err(JsNativeError::error()
            .with_message(format!(
                "{what}: unsupported charset {name:?} (UTF-8, ISO-8859-1 or US-ASCII)"
            ))
            .into()),
    }
}

fn escaped(
    set: &'static AsciiSet,
    plus_for_space: bool,
    what: &str,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let input = unpaired_checked(args, what, context)?;
    let out = utf8_percent_encode(&input, set).to_string();
    Ok(super::text(if plus_for_space {
        out.replace(' ', "+")
    } else {
        out
    }))
}

/// The string argument; an unpaired surrogate is an Error, as in Guava.
fn unpaired_checked(args: &[JsValue], what: &str, context: &mut Context) -> JsResult<String> {
    let value = args.first().cloned().unwrap_or_default();
    if let Some(text) = value.as_string() {
        return String::from_utf16(&text.to_vec()).map_err(|_| {
            JsNativeError::error()
                .with_message(format!("{what}: the text has an unpaired surrogate"))
                .into()
        });
    }
    text_arg(args, 0, what, context)
}

fn encode(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let input = text_arg(args, 0, "URL.encode", context)?;
    let charset = charset(args, "URL.encode", context)?;
    Ok(super::text(url_encode(&input, charset)))
}

fn decode(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let input = text_arg(args, 0, "URL.decode", context)?;
    let charset = charset(args, "URL.decode", context)?;
    let decoded = url_decode(&input, charset)
        .map_err(|e| JsNativeError::error().with_message(format!("URL.decode: {e}")))?;
    Ok(super::text(decoded))
}

/// `URLEncoder.encode(input, charset)`; a character the charset cannot
/// hold is `?`, as Java writes it.
fn url_encode(input: &str, charset: Charset) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '*' | '_') {
            out.push(c);
        } else if c == ' ' {
            out.push('+');
        } else {
            let mut utf8 = [0; 4];
            let bytes: &[u8] = match charset {
                Charset::Utf8 => c.encode_utf8(&mut utf8).as_bytes(),
                Charset::Latin1 if (c as u32) < 0x100 => {
                    utf8[0] = c as u32 as u8;
                    &utf8[..1]
                }
                Charset::Ascii if c.is_ascii() => {
                    utf8[0] = c as u8;
                    &utf8[..1]
                }
                _ => b"?",
            };
            for b in bytes {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `URLDecoder.decode(input, charset)`: `+` is a space, each run of `%XX`
/// is bytes of the charset (invalid UTF-8 becomes U+FFFD); a `%` not
/// followed by two hex digits is an Error, with Java's message.
fn url_decode(input: &str, charset: Charset) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut bytes = Vec::new();
    let mut rest = input;
    while let Some(c) = rest.chars().next() {
        match c {
            '+' => {
                out.push(' ');
                rest = &rest[1..];
            }
            '%' => {
                bytes.clear();
                while let Some(after) = rest.strip_prefix('%') {
                    let hex = after
                        .get(..2)
                        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                    match hex {
                        Some(hex) => {
                            bytes.push(u8::from_str_radix(hex, 16).unwrap_or_default());
                            rest = &after[2..];
                        }
                        None if after.len() < 2 => {
                            return Err(
                                "URLDecoder: Incomplete trailing escape (%) pattern".to_string()
                            )
                        }
                        None => {
                            return Err(format!(
                                "URLDecoder: Illegal hex characters in escape (%) pattern: %{}",
                                after.chars().take(2).collect::<String>()
                            ))
                        }
                    }
                }
                match charset {
                    Charset::Utf8 => out.push_str(&String::from_utf8_lossy(&bytes)),
                    Charset::Latin1 => out.extend(bytes.iter().map(|&b| char::from(b))),
                    Charset::Ascii => out.extend(bytes.iter().map(|&b| {
                        if b.is_ascii() {
                            char::from(b)
                        } else {
                            '\u{fffd}'
                        }
                    })),
                }
            }
            other => {
                out.push(other);
                rest = &rest[other.len_utf8()..];
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDATA: &str = r#"<![CDATA[<meta http-equiv="refresh" content="0;url=javascript:document.vulnerable=true;">]]>"#;
    const ENCODED: &str = "%3C%21%5BCDATA%5B%3Cmeta+http-equiv%3D%22refresh%22+content%3D%220%3Burl%3Djavascript%3Adocument.vulnerable%3Dtrue%3B%22%3E%5D%5D%3E";

    #[test]
    fn encodes_and_decodes_as_java_does() {
        assert_eq!(url_encode(CDATA, Charset::Utf8), ENCODED);
        assert_eq!(url_decode(ENCODED, Charset::Utf8).unwrap(), CDATA);
        assert_eq!(url_encode("Hello World!", Charset::Utf8), "Hello+World%21");
        assert_eq!(url_encode("é€", Charset::Utf8), "%C3%A9%E2%82%AC");
        assert_eq!(url_encode("é€", Charset::Latin1), "%E9%3F");
        assert_eq!(url_decode("%E9", Charset::Latin1).unwrap(), "é");
        assert_eq!(url_decode("a+b%20c", Charset::Utf8).unwrap(), "a b c");
        assert!(url_decode("100%", Charset::Utf8)
            .unwrap_err()
            .contains("Incomplete"));
        assert!(url_decode("%zz", Charset::Utf8)
            .unwrap_err()
            .contains("Illegal hex"));
    }

    #[test]
    fn escapes_as_guava_does() {
        let escape = |set, s: &str| utf8_percent_encode(s, set).to_string();
        assert_eq!(
            escape(PATH_SEGMENT, "my folder/file.txt"),
            "my%20folder%2Ffile.txt"
        );
        assert_eq!(
            escape(FORM, "name=John Doe&age=30").replace(' ', "+"),
            "name%3DJohn+Doe%26age%3D30"
        );
        assert_eq!(
            escape(FRAGMENT, "Hello World!/a?b#c"),
            "Hello%20World!/a?b%23c"
        );
    }
}
