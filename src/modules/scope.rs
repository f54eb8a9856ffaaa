//! Everything one request's script works on: the request, the response it
//! is building and its session. Plain Rust; the modules reach it through
//! the Context while the script runs.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use boa_engine::{Context, JsNativeError, JsResult, JsValue};
use hyper::StatusCode;

use super::db_values::ConnectionCell;
use crate::db::Datasources;
use crate::http::request::RequestData;
use crate::http::response::{ResponseState, SessionHeaders};
use crate::session::{RequestSession, SessionError, Sessions};

pub struct Scope {
    pub request: RequestData,
    pub response: ResponseState,
    pub session: RequestSession,
    pub sessions: Arc<Sessions>,
    /// The scripts' databases (`--db`).
    pub datasources: Arc<Datasources>,
    /// The connections the script opened (`database.getConnection`), given
    /// back when it ends (`end_script`).
    pub connections: Vec<Rc<ConnectionCell>>,
    /// A fault outside the script (the session store, a database, the
    /// request body) that decides the status when the script then fails.
    pub fault: Option<(StatusCode, String)>,
    /// Query and form parameters, decoded on first use.
    pub parameters: Option<std::rc::Rc<[(String, String)]>>,
    /// `request.setAttribute` values, in the order they were first set.
    pub attributes: Vec<(String, JsValue)>,
    /// The user its Basic credentials proved (`--users`); a user signed
    /// in for the session is read from the session.
    pub user: Option<crate::auth::User>,
}

impl Scope {
    /// Sends status, headers (with the session cookie) and the buffer.
    pub fn flush(&mut self) {
        if !self.response.is_committed() {
            let session = self.session_headers();
            self.response.commit(session);
        }
        self.response.flush();
    }

    /// Ends the response for the client.
    pub fn close(&mut self) {
        let session = if self.response.is_committed() {
            SessionHeaders::default()
        } else {
            self.session_headers()
        };
        self.response.close(session);
    }

    /// Called once, when the response commits.
    pub fn session_headers(&mut self) -> SessionHeaders {
        SessionHeaders {
            set_cookie: self.session.commit(),
            private: self.session.is_private(),
        }
    }

    /// Remembers a store failure so the request can end in 503.
    pub fn note(&mut self, error: &SessionError) {
        if error.is_unavailable() {
            self.fault = Some((StatusCode::SERVICE_UNAVAILABLE, error.to_string()));
        }
    }
}

/// What ends with the script rather than with the response: its database
/// connections go back to their pools, an open transaction rolled back.
pub fn end_script(context: &Context) {
    if let Some(scope) = current(context) {
        let connections = std::mem::take(&mut scope.borrow_mut().connections);
        super::db_values::release_all(connections);
    }
}

/// The scope of the request a Context serves, kept in the Context's data.
#[derive(Default)]
pub struct Current(RefCell<Option<Rc<RefCell<Scope>>>>);

/// Makes `scope` the one the modules of `context` reach (None: between requests).
pub fn enter(context: &mut Context, scope: Option<Rc<RefCell<Scope>>>) {
    match context.get_data::<Current>() {
        Some(current) => *current.0.borrow_mut() = scope,
        None => {
            context.insert_data(Current(RefCell::new(scope)));
        }
    }
}

/// The scope of the request being served, if any.
pub fn current(context: &Context) -> Option<Rc<RefCell<Scope>>> {
    context.get_data::<Current>()?.0.borrow().clone()
}

/// The scope of the request being served, or an Error outside one.
pub fn scope(context: &Context) -> JsResult<Rc<RefCell<Scope>>> {
    current(context).ok_or_else(|| {
        JsNativeError::error()
            .with_message("not inside a request")
            .into()
    })
}

pub fn in_request(context: &Context) -> bool {
    current(context).is_some()
}
