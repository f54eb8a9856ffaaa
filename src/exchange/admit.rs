//! The sign-in hook: before a script runs, the user its Basic credentials
//! prove, and whether the access rules let the request in (the user a
//! script signed in for the session counts there too).

use std::cell::RefCell;
use std::rc::Rc;

use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION};
use hyper::StatusCode;

use super::exit::{Exit, HttpResponse};
use super::Shared;
use crate::auth::{self, rules, Denied, User};
use crate::modules::scope::Scope;

/// Ok when the script may run; the Basic user is in the scope then.
pub async fn admit(shared: &Shared, scope: &Rc<RefCell<Scope>>) -> Result<(), Denied> {
    let auth = &shared.auth;
    let (header, secure, client, paths) = {
        let scope = scope.borrow();
        let request = &scope.request;
        let route = &request.route;
        let canonical = route.file.strip_prefix(&shared.root).ok();
        let paths = rules::script_paths(
            &route.relative,
            canonical.and_then(|c| c.to_str()),
            route.path_info.as_deref(),
        );
        let header = request
            .headers
            .get(AUTHORIZATION)
            .map(|v| v.as_bytes().to_vec());
        (header, request.is_secure(), request.remote(), paths)
    };
    let basic = auth.basic(header.as_deref(), secure, &client).await?;
    let needed = auth.rules.needed(&paths);
    let user = match &basic {
        Some(user) => Some(user.clone()),
        None if !needed.is_empty() => session_user(scope).await?,
        None => None,
    };
    scope.borrow_mut().user = basic;
    let checked = auth::check(&needed, user.as_ref());
    if checked.is_err() {
        // Loaded for the check: release it, the script will not run.
        scope.borrow_mut().session.abandon();
    }
    checked
}

/// The user a script signed in for the request's session, if any.
async fn session_user(scope: &Rc<RefCell<Scope>>) -> Result<Option<User>, Denied> {
    super::load_session(scope).await;
    let mut scope = scope.borrow_mut();
    match scope.session.get(auth::SESSION_ATTRIBUTE) {
        Ok(json) => Ok(json.and_then(User::from_session_json)),
        Err(err) => Err(Denied::Unavailable(err.to_string())),
    }
}

/// The JSON error response of a denial, with its challenge or Retry-After.
pub fn deny(exit: Exit, denied: &Denied, headers: &hyper::HeaderMap) -> HttpResponse {
    let status = StatusCode::from_u16(denied.status()).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = exit.error(status, &denied.message(), headers);
    for (name, value) in denied.headers() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}
