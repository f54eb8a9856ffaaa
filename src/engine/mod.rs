//! Everything that touches Boa. Each in-flight script runs in a context of
//! its own, in a fiber of its own, on the worker thread that owns its
//! connection. Not `Send`: each worker thread has its own engine.

pub mod cache;
pub mod context;
pub mod esm;
pub mod failure;
mod jobs;
pub mod limits;
pub mod memory;
mod pool;
mod regexp_replace;
pub mod require;
mod run;
mod unhandled;
mod usage;
pub mod watch;
mod web;

pub use pool::{Engine, Settings};
