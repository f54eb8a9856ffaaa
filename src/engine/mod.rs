//! Everything that touches Boa. Not `Send`: each worker thread owns one.

pub mod cache;
pub mod context;
pub mod esm;
pub mod failure;
pub mod jobs;
mod regexp_replace;
pub mod require;
pub mod worker;

pub use worker::Engine;
