//! Dirigible's modules beyond request, response and session, each in a
//! file of its own, in one test binary (each binary costs a link).

#[path = "../common/mod.rs"]
mod common;

mod db;
mod project;
