//! One request and its response as plain data, between the exchange that
//! speaks HTTP and the modules that scripts call.

pub mod body;
pub mod request;
pub mod response;
