//! Dirigible's modules beyond request, response and session, each in a
//! file of its own, in one test binary (each binary costs a link).

#[path = "../common/mod.rs"]
mod common;

mod config;
mod db;
mod extensions;
mod io;
mod project;
mod rs;
mod upload;
mod user;
mod utils;
