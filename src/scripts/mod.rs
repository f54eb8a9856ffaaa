//! The scripts folder: which file a URL names (every path safety rule
//! lives in `router`), which version of a file a request sees, and whether
//! anything in the folder changed (`watch`, rung by `doorbell`); the
//! extension declarations it holds (`extensions`).

mod doorbell;
pub mod extensions;
pub mod router;
pub mod watch;
