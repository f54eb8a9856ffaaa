//! One request and its response as plain data, between the exchange that
//! speaks HTTP and the modules that scripts call.

pub mod multipart;
pub mod request;
pub mod request_body;
pub mod response;
pub mod response_body;

/// The `charset` a Content-Type names (`text/plain; charset="utf-8"`).
pub fn charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        let charset = key.trim().eq_ignore_ascii_case("charset");
        charset.then(|| value.trim().trim_matches('"'))
    })
}
