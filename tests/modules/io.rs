//! `io/bytes` and `io/streams`: names, the documentation's examples, the
//! request and response bodies as streams, and bad input.

use crate::common::*;

const R: &str = "const response = require('http/v4/response');\n";

#[test]
fn bytes_and_streams_under_their_names_with_the_documented_results() {
    let blimp = Blimp::start(
        &[
            (
                "names.mjs",
                "import { bytes, Bytes, streams, Streams, InputStream, OutputStream } from 'sdk/io';\n\
                 import { Bytes as B2 } from '@aerokit/sdk/io';\n\
                 import { bytes as b3, streams as s3 } from '@dirigible/io';\n\
                 import { InputStream as I2, copy } from 'io/v4/streams';\n\
                 import { response } from 'sdk/http';\n\
                 const out = streams.createByteArrayOutputStream();\n\
                 response.json({ bytes: Bytes === bytes && B2 === bytes && b3 === bytes, streams: Streams === streams && s3 === streams,\n\
                   classes: typeof InputStream === 'function' && I2 === InputStream && typeof copy === 'function' && out instanceof OutputStream && !(out instanceof InputStream)\n\
                     && new OutputStream(out) === out && streams.createInputStream(streams.createByteArrayInputStream([1])) instanceof InputStream });",
            ),
            (
                "bytes.js",
                &format!(
                    "{R}const bytes = require('io/v4/bytes');\n\
                     if (require('io/bytes') !== bytes || require('@aerokit/sdk/io/bytes') !== bytes) throw new Error('names');\n\
                     response.json({{ text: bytes.textToByteArray('Hello World'), back: bytes.byteArrayToText([72, 101, 108, 108, 111, 32, 87, 111, 114, 108, 100]),\n\
                       utf8: bytes.textToByteArray('é'), utf8Back: bytes.byteArrayToText([-61, -87]), unsigned: bytes.byteArrayToText(new Uint8Array([195, 169])),\n\
                       big: bytes.intToByteArray(123456789, 'BIG_ENDIAN'), little: bytes.intToByteArray(123456789, 'LITTLE_ENDIAN'),\n\
                       roundTrip: bytes.byteArrayToInt(bytes.intToByteArray(123456789, 'BIG_ENDIAN'), 'BIG_ENDIAN'),\n\
                       negative: bytes.byteArrayToInt(bytes.intToByteArray(-2, 'LITTLE_ENDIAN'), 'LITTLE_ENDIAN'),\n\
                       java: bytes.toJavaScriptBytes(bytes.toJavaBytes([1, 255, -1])) }});"
                ),
            ),
            // io-streams.md's example, as written.
            (
                "streams.mjs",
                "import { streams } from 'sdk/io';\nimport { response } from 'sdk/http';\n\
                 let outputStream = streams.createByteArrayOutputStream();\n\
                 outputStream.writeText('Some text content');\n\
                 let bytes = outputStream.getBytes();\n\
                 response.println('[Stream Content as Bytes]: ' + bytes);\n\
                 let text = String.fromCharCode.apply(String, bytes);\n\
                 response.println('[Stream Content as Text]: ' + text);\n\
                 let inputStream = streams.createByteArrayInputStream(bytes);\n\
                 let outputStreamCopy = streams.createByteArrayOutputStream();\n\
                 streams.copy(inputStream, outputStreamCopy);\n\
                 let copiedBytes = outputStreamCopy.getBytes();\n\
                 let copiedText = String.fromCharCode.apply(String, copiedBytes);\n\
                 response.println('[Stream Copied Content as Text]: ' + copiedText);\n\
                 response.flush();\n\
                 response.close();",
            ),
            (
                "reads.js",
                &format!(
                    "{R}const streams = require('io/v3/streams');\n\
                     const input = streams.createByteArrayInputStream([104, 105, -61, -87]);\n\
                     const first = input.read(), second = input.readByte();\n\
                     const rest = input.readText(), end = input.read();\n\
                     input.close();\n\
                     const out = streams.createByteArrayOutputStream();\n\
                     out.write(65); out.writeByte(66 + 256); out.writeBytes([-61, -87]); out.writeText('!');\n\
                     response.json({{ first, second, rest, end, empty: input.readBytes(), text: out.getText(), bytes: out.getBytesNative(), valid: out.isValid() }});"
                ),
            ),
            (
                "echo.js",
                &format!(
                    "{R}const streams = require('io/streams');\nconst request = require('http/v4/request');\n\
                     response.setContentType('application/octet-stream');\n\
                     streams.copy(request.getInputStream(), response.getOutputStream());"
                ),
            ),
            (
                "text.mjs",
                "import { request, response } from 'sdk/http';\n\
                 const text = request.getInputStream().readText();\n\
                 const out = response.getOutputStream();\n\
                 out.writeText('got: ' + text);\n\
                 out.close();\n\
                 response.print(' (after close)');",
            ),
        ],
        &[],
    );
    let (status, body) = get(&plain(), &blimp.url("/names"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({"bytes": true, "streams": true, "classes": true})
    );

    let (status, body) = get(&plain(), &blimp.url("/bytes"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({
            "text": [72, 101, 108, 108, 111, 32, 87, 111, 114, 108, 100], "back": "Hello World",
            "utf8": [-61, -87], "utf8Back": "é", "unsigned": "é",
            "big": [7, 91, -51, 21], "little": [21, -51, 91, 7], "roundTrip": 123456789, "negative": -2,
            "java": [1, -1, -1]
        })
    );

    let (status, body) = get(&plain(), &blimp.url("/streams"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        "[Stream Content as Bytes]: 83,111,109,101,32,116,101,120,116,32,99,111,110,116,101,110,116\n\
         [Stream Content as Text]: Some text content\n\
         [Stream Copied Content as Text]: Some text content\n"
    );

    let (status, body) = get(&plain(), &blimp.url("/reads"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({"first": 104, "second": 105, "rest": "é", "end": -1, "empty": [],
            "text": "ABé!", "bytes": [65, 66, -61, -87, 33], "valid": true})
    );

    let binary: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let reply = Reply::read(
        plain()
            .post(blimp.url("/echo"))
            .body(binary.clone())
            .send()
            .unwrap(),
    );
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.bytes().unwrap(), binary, "the body, byte for byte");

    let reply = Reply::read(
        plain()
            .post(blimp.url("/text"))
            .body("héllo")
            .send()
            .unwrap(),
    );
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.text().unwrap(),
        "got: héllo",
        "closing the response's stream ends the response"
    );
}

#[test]
fn bad_input_to_streams_is_a_clear_error() {
    let cases = [
        ("streams.createByteArrayInputStream('text')", "Streams.createByteArrayInputStream: expected an array of bytes, not a string"),
        ("streams.createByteArrayInputStream([1, 999])", "element 1 is not a byte value"),
        ("streams.copy(streams.createByteArrayOutputStream(), streams.createByteArrayOutputStream())", "Streams.copy (its first argument): expected an input stream"),
        ("streams.copy(streams.createByteArrayInputStream([1]), {})", "Streams.copy (its second argument): expected an output stream"),
        ("response.getOutputStream().getBytes()", "the response's output stream keeps no bytes"),
        ("streams.createByteArrayOutputStream().writeText()", "OutputStream.writeText: expected a string, not undefined"),
        ("streams.createByteArrayOutputStream().writeText.call(streams.createByteArrayInputStream([1]), 'x')", "OutputStream.writeText called on something that is not an output stream"),
        ("streams.getResourceAsByteArrayInputStream('x')", "no class path resources"),
        ("bytes.byteArrayToInt([1, 2, 3, 4, 5], 'BIG_ENDIAN')", "5 bytes do not fit in an int"),
        ("bytes.byteArrayToText('x')", "Bytes.byteArrayToText: expected an array of bytes, not a string"),
        ("bytes.textToByteArray(null)", "Bytes.textToByteArray: expected a string, not null"),
    ];
    let script = crate::error_messages_script(
        &format!("{R}const streams = require('io/streams'), bytes = require('io/bytes');\n"),
        &cases,
    );
    let blimp = Blimp::start(
        &[
            ("bad.js", &script),
            (
                "keep.js",
                &format!("{R}globalThis.kept = require('http/v4/request').getInputStream();\nresponse.print('kept');"),
            ),
            (
                "reuse.js",
                &format!("{R}try {{ globalThis.kept.readText(); response.print('read'); }} catch (e) {{ response.print(e.message); }}"),
            ),
        ],
        &["--workers", "1", "--max-contexts", "1"],
    );
    let (status, body) = get(&plain(), &blimp.url("/bad"));
    assert_eq!(status, 200, "{body}");
    crate::assert_messages(&cases, &json(&body));
    assert_eq!(
        get(&plain(), &blimp.url("/keep")),
        (200, "kept".to_string())
    );
    assert_eq!(
        get(&plain(), &blimp.url("/reuse")),
        (200, "this stream belongs to another request".to_string())
    );
}
