//! Dirigible's `io/*` modules: `bytes` (byte arrays) and `streams`
//! (input and output streams, on byte arrays and on the request and
//! response bodies).

pub mod bytes;
pub mod streams;
