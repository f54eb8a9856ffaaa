//! The body of an error blimp answers itself: JSON for programs, a small
//! HTML page for a browser (a client that asks for `text/html` before JSON).

use hyper::header::ACCEPT;
use hyper::{HeaderMap, StatusCode};

/// Whether the client would rather read HTML than JSON: its `Accept` names
/// `text/html` before `application/json` (or without it). Browsers do;
/// curl (`*/*`) and `fetch` from scripts (`*/*`, or JSON) do not.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match (accept.find("text/html"), accept.find("application/json")) {
        (Some(html), Some(json)) => html < json,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Content type and body of an error response.
pub fn render(
    status: StatusCode,
    message: &str,
    stack: Option<&str>,
    html: bool,
) -> (&'static str, String) {
    if html {
        ("text/html; charset=utf-8", page(status, message, stack))
    } else {
        ("application/json", json(status, message, stack))
    }
}

/// `{"status": 404, "message": "…"}` (and `"stack"` in `--dev`).
pub fn json(status: StatusCode, message: &str, stack: Option<&str>) -> String {
    let mut body = serde_json::json!({ "status": status.as_u16(), "message": message });
    if let Some(stack) = stack {
        body["stack"] = stack.into();
    }
    body.to_string()
}

fn page(status: StatusCode, message: &str, stack: Option<&str>) -> String {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    let stack = stack
        .map(|s| format!("<pre>{}</pre>", escape(s)))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{code} {reason}</title><style>\
body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}}\
h1{{font-size:1.4rem;margin:0 0 .5rem}}p{{margin:0 0 1rem}}\
pre{{background:#f4f4f4;padding:.75rem;overflow:auto;font-size:.85rem}}\
</style></head><body><h1>{code} {reason}</h1><p>{}</p>{stack}</body></html>\n",
        escape(message)
    )
}

/// Text as HTML content: the message may carry what a client sent.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, value.parse().unwrap());
        headers
    }

    #[test]
    fn browsers_get_html_programs_json() {
        let chromium =
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        assert!(wants_html(&accept(chromium)));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("application/json, text/html")));
        assert!(!wants_html(&HeaderMap::new()));
    }

    #[test]
    fn the_page_escapes_the_message() {
        let (kind, body) = render(StatusCode::NOT_FOUND, "no script for /<b>", None, true);
        assert!(kind.starts_with("text/html"));
        assert!(body.contains("404 Not Found") && body.contains("/&lt;b&gt;"));
    }
}
