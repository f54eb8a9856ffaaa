//! Everything one request's script works on: the request, the response it
//! is building and its session. Plain Rust; the modules reach it through
//! the Context while the script runs.

use std::sync::Arc;

use crate::server::request::RequestData;
use crate::server::response::ResponseState;
use crate::session::{RequestSession, SessionError, Sessions};

pub struct Exchange {
    pub request: RequestData,
    pub response: ResponseState,
    pub session: RequestSession,
    pub sessions: Arc<Sessions>,
    /// Set when the session store failed the script: the request ends in 503.
    pub store_failure: Option<String>,
    /// Query and form parameters, decoded on first use.
    pub parameters: Option<Vec<(String, String)>>,
}

impl Exchange {
    /// Sends status, headers (with the session cookie) and the buffer.
    pub fn flush(&mut self) {
        if !self.response.is_committed() {
            let cookie = self.session.commit();
            self.response.commit(cookie);
        }
        self.response.flush();
    }

    /// Ends the response for the client.
    pub fn close(&mut self) {
        let cookie = if self.response.is_committed() {
            None
        } else {
            self.session.commit()
        };
        self.response.close(cookie);
    }

    /// Remembers a store failure so the request can end in 503.
    pub fn note(&mut self, error: &SessionError) {
        if error.is_unavailable() {
            self.store_failure = Some(error.to_string());
        }
    }
}
