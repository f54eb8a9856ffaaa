//! A static file's response: hyper-staticfile builds it (content type,
//! `ETag`, `Last-Modified` and `If-Modified-Since`, `Range`, `HEAD`); we add
//! `If-None-Match` (it has no 304 for an ETag) and gzip for text. Small
//! files and gzipped ones come from the shared `FileCache`.

use std::io::Write;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{HeaderMap, StatusCode};
use hyper_staticfile::util::FileResponseBuilder;
use hyper_staticfile::ResolvedFile;

use super::file_cache::{FileCache, Form, Version};
use crate::http::response::Start;
use crate::http::response_body::ResponseBody;
use crate::scripts::router::Route;

/// Files up to this size are read at once, on the worker thread: from the
/// page cache that takes microseconds, where each read of `tokio::fs` is a
/// trip to the blocking thread pool.
const READ_AT_ONCE_MAX: u64 = 256 * 1024;

/// Text files up to `gzip_max` bytes (`--gzip-max`) are compressed for a
/// client that accepts gzip (read whole, compressed at level 6: about 1 ms
/// per 100 KB).
pub async fn respond(route: &Route, request: &Parts, gzip_max: u64, cache: &FileCache) -> Start {
    match open(route).await {
        Ok(file) => build(file, request, gzip_max, cache).await,
        // Gone between routing and opening.
        Err(_) => not_found(),
    }
}

async fn open(route: &Route) -> std::io::Result<ResolvedFile<tokio::fs::File>> {
    let handle = std::fs::File::open(&route.file)?;
    let meta = handle.metadata()?;
    let handle = tokio::fs::File::from_std(handle);
    let content_type = mime_guess::from_path(&route.file)
        .first()
        .map(|mime| match mime.type_() {
            mime_guess::mime::TEXT => format!("{mime}; charset=utf-8"),
            _ if mime.subtype() == mime_guess::mime::JAVASCRIPT => {
                format!("{mime}; charset=utf-8")
            }
            _ => mime.to_string(),
        })
        .unwrap_or_else(|| "application/octet-stream".to_string());
    Ok(ResolvedFile {
        handle,
        path: route.file.clone(),
        size: meta.len(),
        modified: meta.modified().ok(),
        content_type: Some(content_type),
        encoding: None,
    })
}

async fn build(
    file: ResolvedFile<tokio::fs::File>,
    request: &Parts,
    gzip_max: u64,
    cache: &FileCache,
) -> Start {
    let (path, size) = (file.path.clone(), file.size);
    let version = Version {
        size,
        modified: file.modified,
    };
    let text = file.content_type.as_deref().is_some_and(is_text);
    let built = FileResponseBuilder::new()
        .request_parts(&request.method, &request.headers)
        .build(file);
    let Ok(response) = built else {
        return not_found();
    };
    let (mut parts, body) = response.into_parts();
    if parts.status == StatusCode::OK && etag_matches(&request.headers, &parts.headers) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        return Start {
            status: parts.status,
            headers: parts.headers,
            body: ResponseBody::empty(),
        };
    }
    if text && parts.status == StatusCode::OK && size <= gzip_max && gzip_max > 0 {
        parts
            .headers
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if accepts_gzip(&request.headers) {
            let gzipped = match cache.get(&path, Form::Gzip, version) {
                Some(kept) => Some(kept),
                None => gzip(&path).await.inspect(|fresh| {
                    cache.put(&path, Form::Gzip, version, fresh.clone());
                }),
            };
            if let Some(gzipped) = gzipped {
                parts
                    .headers
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                parts.headers.remove(header::ACCEPT_RANGES);
                parts
                    .headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(gzipped.len()));
                let body = (request.method != hyper::Method::HEAD).then_some(gzipped);
                return Start {
                    status: parts.status,
                    headers: parts.headers,
                    body: ResponseBody::Full(body),
                };
            }
        }
    }
    let whole = parts.status == StatusCode::OK && size <= READ_AT_ONCE_MAX;
    let body = match whole.then(|| read_whole(&path, version, cache)).flatten() {
        Some(bytes) => {
            let head = request.method == hyper::Method::HEAD;
            ResponseBody::Full((!head).then_some(bytes))
        }
        None => ResponseBody::File(Box::new(body)),
    };
    Start {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// The whole file, kept or read now; `None` if it is no longer `version`.
fn read_whole(path: &std::path::Path, version: Version, cache: &FileCache) -> Option<Bytes> {
    if let Some(kept) = cache.get(path, Form::Plain, version) {
        return Some(kept);
    }
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() as u64 != version.size {
        return None;
    }
    let bytes = Bytes::from(bytes);
    cache.put(path, Form::Plain, version, bytes.clone());
    Some(bytes)
}

fn not_found() -> Start {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = super::error_page::json(StatusCode::NOT_FOUND, "file not found", None);
    Start {
        status: StatusCode::NOT_FOUND,
        headers,
        body: ResponseBody::Full(Some(Bytes::from(body))),
    }
}

fn is_text(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || ["javascript", "json", "xml", "svg"]
            .iter()
            .any(|kind| content_type.contains(kind))
}

fn etag_matches(request: &HeaderMap, response: &HeaderMap) -> bool {
    let (Some(wanted), Some(etag)) = (
        request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok()),
        response.get(header::ETAG).and_then(|v| v.to_str().ok()),
    ) else {
        return false;
    };
    // Weak comparison (RFC 9110 13.1.2): `W/` does not count.
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    wanted
        .split(',')
        .any(|tag| tag.trim() == "*" || bare(tag) == bare(etag))
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// The file, gzipped, off the worker thread.
async fn gzip(path: &std::path::Path) -> Option<Bytes> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let data = std::fs::read(path).ok()?;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        encoder.write_all(&data).ok()?;
        encoder.finish().ok().map(Bytes::from)
    })
    .await
    .ok()
    .flatten()
}
