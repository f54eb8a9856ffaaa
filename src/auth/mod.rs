//! Who sent a request, and whether they may: HTTP Basic against a users
//! file (`--users`), the user a script signed in for its session, and the
//! access rules that require a role (`--access`). Plain Rust; the request
//! hook is `exchange/admit.rs`, the scripts' side `modules/user.rs`.

pub mod basic;
pub mod cache;
pub mod limiter;
pub mod password;
pub mod rules;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use basic::Credentials;
use rules::{Rule, Rules};
use users::UsersFile;

/// The session attribute that holds the user a script signed in.
pub const SESSION_ATTRIBUTE: &str = "blimp.user";

/// How the user signed in (Dirigible's `getAuthType()`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AuthType {
    /// `Authorization: Basic` against the users file.
    Basic,
    /// A script signed the user in for its session.
    Form,
}

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Basic => "BASIC",
            AuthType::Form => "FORM",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub roles: Vec<String>,
    pub auth_type: AuthType,
}

impl User {
    pub fn is_in_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The session attribute's JSON for a user signed in by a script.
    pub fn session_json(name: &str, roles: &[String]) -> String {
        serde_json::json!({ "name": name, "roles": roles }).to_string()
    }

    /// The user a session attribute names, if it is one.
    pub fn from_session_json(json: &str) -> Option<User> {
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        let name = value.get("name")?.as_str()?.to_string();
        let roles = value
            .get("roles")?
            .as_array()?
            .iter()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect();
        Some(User {
            name,
            roles,
            auth_type: AuthType::Form,
        })
    }
}

/// Why a request is turned away before its script runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    /// 401 with `WWW-Authenticate`: no user, or wrong credentials.
    Unauthorized(String),
    /// 403: a user without the role, or Basic over plain HTTP.
    Forbidden(String),
    /// 429 with `Retry-After`: too many failed sign-ins.
    TooMany(Duration),
    /// 503: the session store could not say who is signed in.
    Unavailable(String),
}

impl Denied {
    pub fn status(&self) -> u16 {
        match self {
            Denied::Unauthorized(_) => 401,
            Denied::Forbidden(_) => 403,
            Denied::TooMany(_) => 429,
            Denied::Unavailable(_) => 503,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Denied::Unauthorized(m) | Denied::Forbidden(m) | Denied::Unavailable(m) => m.clone(),
            Denied::TooMany(_) => "too many failed sign-ins, retry later".to_string(),
        }
    }

    /// Headers of the response besides its JSON body.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Denied::Unauthorized(_) => vec![("www-authenticate", CHALLENGE.to_string())],
            Denied::TooMany(wait) => vec![("retry-after", wait.as_secs().max(1).to_string())],
            _ => Vec::new(),
        }
    }
}

const CHALLENGE: &str = "Basic realm=\"blimp\", charset=\"UTF-8\"";

/// What all workers share for signing in.
pub struct Auth {
    users: Option<UsersFile>,
    pub rules: Rules,
    allow_basic_over_http: bool,
    verified: cache::Verified,
    attempts: limiter::Attempts,
    /// Hashes verified at once, at most (each holds 19 MiB for a moment).
    hashing: tokio::sync::Semaphore,
}

impl Auth {
    pub fn open(config: &Config) -> Result<Arc<Auth>, String> {
        let users = config.users.as_deref().map(UsersFile::open).transpose()?;
        let rules = match &config.access {
            Some(path) => Rules::open(path)?,
            None => Rules::default(),
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Arc::new(Auth {
            users,
            rules,
            allow_basic_over_http: config.allow_basic_over_http,
            verified: cache::Verified::default(),
            attempts: limiter::Attempts::new(config.sign_in_failures),
            hashing: tokio::sync::Semaphore::new(cores.clamp(1, 4)),
        }))
    }

    /// Whether anything here can apply to a request (else the hook is skipped).
    pub fn is_active(&self) -> bool {
        self.users.is_some() || !self.rules.is_empty()
    }

    /// The user an `Authorization: Basic` header proves, if any. The
    /// header counts only with `--users`; another scheme is left to the
    /// script. The password hash is verified on the blocking pool, never
    /// on the worker's thread.
    pub async fn basic(
        &self,
        header: Option<&[u8]>,
        secure: bool,
        client: &str,
    ) -> Result<Option<User>, Denied> {
        let Some(users) = &self.users else {
            return Ok(None);
        };
        let (name, password) = match basic::parse(header) {
            Credentials::None => return Ok(None),
            _ if !secure && !self.allow_basic_over_http => {
                tracing::warn!(
                    "Basic credentials from {client} over plain HTTP refused (--allow-basic-over-http)"
                );
                return Err(Denied::Forbidden(
                    "Basic credentials are accepted only over HTTPS".to_string(),
                ));
            }
            Credentials::Malformed => {
                return Err(Denied::Unauthorized(
                    "malformed Basic credentials".to_string(),
                ))
            }
            Credentials::Basic { name, password } => (name, password),
        };
        if let Some(wait) = self.attempts.refused(&name, client) {
            return Err(Denied::TooMany(wait));
        }
        let table = users.table();
        let entry = table.users.get(&name).cloned();
        let cached = entry.is_some() && self.verified.contains(&name, &password, table.generation);
        if !cached {
            let hash = entry
                .as_ref()
                .map_or_else(|| password::decoy().to_string(), |e| e.hash.clone());
            let matches = self.verify(password.clone(), hash).await;
            if !(matches && entry.is_some()) {
                self.attempts.failed(&name, client);
                tracing::warn!(
                    "failed Basic sign-in as {:?} from {client}",
                    crate::log_line::escape(&name)
                );
                return Err(Denied::Unauthorized(
                    "wrong user name or password".to_string(),
                ));
            }
            self.verified.insert(&name, &password, table.generation);
            self.attempts.succeeded(&name, client);
        }
        let roles = entry.map(|e| e.roles).unwrap_or_default();
        Ok(Some(User {
            name,
            roles,
            auth_type: AuthType::Basic,
        }))
    }

    async fn verify(&self, password: String, hash: String) -> bool {
        let Ok(_permit) = self.hashing.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || password::verify(&password, &hash))
            .await
            .unwrap_or(false)
    }
}

/// Whether `user` meets every rule in `needed`.
pub fn check(needed: &[&Rule], user: Option<&User>) -> Result<(), Denied> {
    let Some(rule) = needed.first() else {
        return Ok(());
    };
    let Some(user) = user else {
        return Err(Denied::Unauthorized(format!(
            "sign-in required for {}",
            if rule.roles.iter().any(|r| r == "*") {
                "this path"
            } else {
                "a role"
            }
        )));
    };
    match needed.iter().find(|rule| !rule.admits(&user.roles)) {
        Some(rule) => Err(Denied::Forbidden(format!(
            "user {} lacks the role {}",
            user.name,
            rule.roles.join(" or ")
        ))),
        None => Ok(()),
    }
}
