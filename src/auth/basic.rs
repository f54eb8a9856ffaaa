//! The `Authorization: Basic` header.

use base64::Engine;

/// What an Authorization header holds.
#[derive(Debug, PartialEq)]
pub enum Credentials {
    /// No header, or another scheme (a script may handle Bearer tokens itself).
    None,
    /// `Basic` with a value that is not base64 of `name:password` in UTF-8.
    Malformed,
    Basic {
        name: String,
        password: String,
    },
}

pub fn parse(header: Option<&[u8]>) -> Credentials {
    let Some(header) = header else {
        return Credentials::None;
    };
    let text = String::from_utf8_lossy(header);
    let text = text.trim();
    let (scheme, value) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Credentials::None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((name, password)) if !name.is_empty() => Credentials::Basic {
            name: name.to_string(),
            password: password.to_string(),
        },
        _ => Credentials::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_headers_parse() {
        assert_eq!(parse(None), Credentials::None);
        assert_eq!(parse(Some(b"Bearer abc")), Credentials::None);
        assert_eq!(parse(Some(b"Basic !!!")), Credentials::Malformed);
        assert_eq!(parse(Some(b"Basic bm9jb2xvbg==")), Credentials::Malformed);
        assert_eq!(
            parse(Some(b"basic YTpiOmM=")),
            Credentials::Basic {
                name: "a".into(),
                password: "b:c".into()
            }
        );
    }
}
