//! `multipart/form-data` bodies (RFC 7578), parsed by `multer` from a body
//! already read whole, so under `--max-body` and `--max-body-memory`.

use bytes::Bytes;
use futures_util::FutureExt;

/// One part: a form field, or a file when it has a file name.
pub struct Part {
    pub field_name: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    /// Its own headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    pub bytes: Bytes,
}

impl Part {
    pub fn is_form_field(&self) -> bool {
        self.file_name.is_none()
    }
}

/// Why a body is no multipart body.
#[derive(Debug, thiserror::Error)]
#[error("malformed multipart body: {0}")]
pub struct Malformed(String);

/// Whether a Content-Type names a multipart body (`multipart/form-data`,
/// `multipart/mixed`, …), as commons-fileupload decides it.
pub fn is_multipart(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        t.trim_start()
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("multipart/"))
    })
}

/// Whether a Content-Type names `multipart/form-data`, whose fields are
/// request parameters.
pub fn is_form_data(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("multipart/form-data"))
    })
}

/// The parts of `body`, as its Content-Type's boundary delimits them.
pub fn parse(content_type: &str, body: Bytes) -> Result<Vec<Part>, Malformed> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| Malformed(e.to_string()))?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let parsing = async move {
        let mut parts = Vec::new();
        while let Some(field) = multipart.next_field().await? {
            let headers = field
                .headers()
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.to_string(), value)
                })
                .collect();
            let field_name = field.name().map(str::to_string);
            let file_name = field.file_name().map(str::to_string);
            let content_type = field.content_type().map(|t| t.to_string());
            let bytes = field.bytes().await?;
            parts.push(Part {
                field_name,
                file_name,
                content_type,
                headers,
                bytes,
            });
        }
        Ok::<_, multer::Error>(parts)
    };
    // The whole body is at hand: every poll completes at once.
    match parsing.now_or_never() {
        Some(Ok(parts)) => Ok(parts),
        Some(Err(error)) => Err(Malformed(error.to_string())),
        None => Err(Malformed("the parser waited for more input".to_string())),
    }
}
