//! `utils/digest` (`Digest`): MD5, SHA-1, SHA-256, SHA-384 and SHA-512
//! of a string (its UTF-8) or bytes, from the RustCrypto crates. Digests
//! are arrays of signed bytes, as Commons Codec's `DigestUtils` gives
//! them through Dirigible; `md5Hex` and `sha1Hex` lower-case hexadecimal.

use boa_engine::{Context, JsResult, JsValue};
use sha2::Digest as _;

use crate::modules::registry::{Build, Native};
use crate::modules::{values, Method};

pub const MODULE: Native = Native {
    namespace: "utils",
    name: "digest",
    aliases: &[],
    exports: &["digest", "Digest"],
    build: Build::Methods(METHODS),
};

#[derive(Clone, Copy)]
enum Algorithm {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::Md5 => md5::Md5::digest(data).to_vec(),
            Algorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Algorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Algorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

const METHODS: &[Method] = &[
    ("md5", 1, |_, a, c| {
        bytes(Algorithm::Md5, "Digest.md5", a, c)
    }),
    ("md5AsNativeBytes", 1, |_, a, c| {
        bytes(Algorithm::Md5, "Digest.md5AsNativeBytes", a, c)
    }),
    ("md5Hex", 1, |_, a, c| {
        hex(Algorithm::Md5, "Digest.md5Hex", a, c)
    }),
    ("sha1", 1, |_, a, c| {
        bytes(Algorithm::Sha1, "Digest.sha1", a, c)
    }),
    ("sha1AsNativeBytes", 1, |_, a, c| {
        bytes(Algorithm::Sha1, "Digest.sha1AsNativeBytes", a, c)
    }),
    ("sha1Hex", 1, |_, a, c| {
        hex(Algorithm::Sha1, "Digest.sha1Hex", a, c)
    }),
    ("sha256", 1, |_, a, c| {
        bytes(Algorithm::Sha256, "Digest.sha256", a, c)
    }),
    ("sha256AsNativeBytes", 1, |_, a, c| {
        bytes(Algorithm::Sha256, "Digest.sha256AsNativeBytes", a, c)
    }),
    ("sha384", 1, |_, a, c| {
        bytes(Algorithm::Sha384, "Digest.sha384", a, c)
    }),
    ("sha384AsNativeBytes", 1, |_, a, c| {
        bytes(Algorithm::Sha384, "Digest.sha384AsNativeBytes", a, c)
    }),
    ("sha512", 1, |_, a, c| {
        bytes(Algorithm::Sha512, "Digest.sha512", a, c)
    }),
    ("sha512AsNativeBytes", 1, |_, a, c| {
        bytes(Algorithm::Sha512, "Digest.sha512AsNativeBytes", a, c)
    }),
];

fn digest(
    algorithm: Algorithm,
    what: &str,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<Vec<u8>> {
    let data = values::first_text_or_bytes(args, what, context)?;
    Ok(algorithm.hash(&data))
}

fn bytes(
    algorithm: Algorithm,
    what: &str,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let digest = digest(algorithm, what, args, context)?;
    Ok(values::signed_bytes(&digest, context))
}

fn hex(
    algorithm: Algorithm,
    what: &str,
    args: &[JsValue],
    context: &mut Context,
) -> JsResult<JsValue> {
    let digest = digest(algorithm, what, args, context)?;
    Ok(super::text(::hex::encode(digest)))
}
