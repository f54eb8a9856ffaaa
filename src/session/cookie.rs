//! The session cookie: reading the id a client sent, writing the one we issue.

use cookie::{Cookie, SameSite};

use super::SessionId;

/// The first well-formed session id among the request's Cookie headers.
/// Anything malformed is ignored, as if no cookie were sent.
pub fn incoming_id<'a>(
    cookie_headers: impl Iterator<Item = &'a str>,
    name: &str,
) -> Option<SessionId> {
    // Plain loops over bytes: a third of the instructions of the iterator
    // chain over `str::split` for the usual one short Cookie header.
    for header in cookie_headers {
        for pair in header.as_bytes().split(|&b| b == b';') {
            let Some(at) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = (&pair[..at], &pair[at + 1..]);
            if key.trim_ascii() == name.as_bytes() {
                let id = std::str::from_utf8(value.trim_ascii()).ok();
                if let Some(id) = id.and_then(SessionId::parse) {
                    return Some(id);
                }
            }
        }
    }
    None
}

/// `Set-Cookie` that hands the client its session id: ends with the browser.
pub fn issue(name: &str, id: &SessionId, secure: bool) -> String {
    base(name, id.to_string(), secure).to_string()
}

/// `Set-Cookie` that makes the client forget the session id.
pub fn clear(name: &str, secure: bool) -> String {
    let mut cookie = base(name, String::new(), secure);
    cookie.make_removal();
    cookie.to_string()
}

fn base(name: &str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name.to_string(), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_well_formed_id() {
        let id = SessionId::generate();
        let header = format!("a=1; sid=bogus; sid={id}");
        assert_eq!(incoming_id([header.as_str()].into_iter(), "sid"), Some(id));
        assert_eq!(incoming_id(["sid=bogus"].into_iter(), "sid"), None);
        let second = format!(" sid = {id} ;x=2");
        assert_eq!(
            incoming_id(["a=1", second.as_str()].into_iter(), "sid"),
            Some(id)
        );
        assert_eq!(incoming_id(["xsid=1; sid"].into_iter(), "sid"), None);
    }

    #[test]
    fn cookie_attributes() {
        let id = SessionId::generate();
        let set = issue("sid", &id, false);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
        assert!(!set.contains("Max-Age") && !set.contains("Secure"));
        assert!(issue("sid", &id, true).contains("Secure"));
        assert!(clear("sid", false).contains("Max-Age=0"));
    }
}
