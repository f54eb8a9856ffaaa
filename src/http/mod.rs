//! One request and its response as plain data, between the exchange that
//! speaks HTTP and the modules that scripts call.

pub mod multipart;
pub mod request;
pub mod request_body;
pub mod response;
pub mod response_body;
