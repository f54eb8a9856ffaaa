//! http/upload: multipart uploads from a real client, parsed by the real
//! server, written the way Dirigible's documentation writes them.

use crate::common::*;
use serde_json::json;

const BOUNDARY: &str = "----blimpBoundary7MA4YWxkTrZu0gW";

/// One part: field name, `Some((file name, content type))` for a file, bytes.
type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A multipart/form-data body.
fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, file, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some((name, content_type)) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{field}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn post(url: &str, content_type: &str, body: Vec<u8>) -> Reply {
    Reply::read(
        plain()
            .post(url)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .unwrap(),
    )
}

fn form_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// The documentation's upload script (2023 page, CommonJS), answering JSON.
const LIST: &str = r#"
const upload = require('http/upload');
const request = require('http/request');
const response = require('http/response');

if (request.getMethod() === "POST") {
    if (upload.isMultipartContent()) {
        const fileItems = upload.parseRequest();
        const items = [];
        for (let i = 0; i < fileItems.size(); i++) {
            const fileItem = fileItems.get(i);
            items.push({
                field: fileItem.getFieldName(),
                name: fileItem.getName(),
                original: fileItem.getOriginalFilename(),
                formField: fileItem.isFormField(),
                type: fileItem.getContentType(),
                size: fileItem.getSize(),
                empty: fileItem.isEmpty(),
                text: fileItem.isFormField() ? fileItem.getText() : String.fromCharCode.apply(null, fileItem.getBytes().slice(0, 5)),
                disposition: fileItem.getHeaders().getHeader("Content-Disposition"),
            });
        }
        response.json({ items, title: request.getParameter("title"), tags: request.getParameterValues("tag") });
    } else {
        response.println("The request's content must be 'multipart'");
    }
} else if (request.getMethod() === "GET") {
    response.println("Use POST request.");
}
"#;

/// The current page's example (ECMA6, `sdk/http`): echoes the file back.
const ECHO: &str = r#"
import { upload, request, response } from "sdk/http";

if (request.getMethod() === "POST") {
    if (upload.isMultipartContent()) {
        const fileItems = upload.parseRequest();
        for (let i = 0; i < fileItems.size(); i++) {
            const fileItem = fileItems.get(i);
            const contentType = fileItem.getContentType();
            console.log(`Content Type: ${contentType}`);
            console.log(`Filename: ${fileItem.getOriginalFilename()}`);
            response.setContentType(contentType);
            response.write(fileItem.getBytesNative());
        }
    } else {
        response.println("The request's content must be 'multipart'");
    }
}
response.flush();
response.close();
"#;

#[test]
fn files_and_fields_arrive_as_file_items_and_fields_as_parameters() {
    let blimp = Blimp::start(&[("upload/list.js", LIST), ("upload/echo.js", ECHO)], &[]);
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let body = multipart(&[
        ("title", None, "Ünïcode title".as_bytes()),
        ("tag", None, b"a"),
        ("tag", None, b"b"),
        ("file", Some(("notes.txt", "text/plain")), b"hello file"),
        (
            "blob",
            Some(("data.bin", "application/octet-stream")),
            &binary,
        ),
        ("none", Some(("empty.txt", "text/plain")), b""),
    ]);
    let reply = post(&blimp.url("/upload/list"), &form_type(), body);
    assert_eq!(reply.status(), 200, "{:?}", reply.text());
    let got = json(&reply.text().unwrap());
    assert_eq!(got["title"], "Ünïcode title");
    assert_eq!(got["tags"], json!(["a", "b"]));
    let items = got["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert_eq!(
        items[0],
        json!({"field": "title", "name": null, "original": null, "formField": true, "type": null,
               "size": "Ünïcode title".len(), "empty": false, "text": "Ünïcode title",
               "disposition": "form-data; name=\"title\""})
    );
    assert_eq!(
        items[3],
        json!({"field": "file", "name": "notes.txt", "original": "notes.txt", "formField": false,
               "type": "text/plain", "size": 10, "empty": false, "text": "hello",
               "disposition": "form-data; name=\"file\"; filename=\"notes.txt\""})
    );
    assert_eq!(items[4]["size"], 70_000);
    assert_eq!(items[4]["text"], "\u{0}\u{1}\u{2}\u{3}\u{4}");
    assert_eq!(
        (items[5]["size"].clone(), items[5]["empty"].clone()),
        (json!(0), json!(true))
    );

    // The bytes come back unchanged.
    let echo = post(
        &blimp.url("/upload/echo"),
        &form_type(),
        multipart(&[(
            "blob",
            Some(("data.bin", "application/octet-stream")),
            &binary,
        )]),
    );
    assert_eq!(echo.status(), 200);
    assert_eq!(
        echo.header("content-type").unwrap(),
        "application/octet-stream"
    );
    assert_eq!(echo.bytes().unwrap(), binary);

    // Not multipart: the script's own answer.
    let form = post(
        &blimp.url("/upload/list"),
        "application/x-www-form-urlencoded",
        b"title=x".to_vec(),
    );
    assert_eq!(
        form.text().unwrap(),
        "The request's content must be 'multipart'\n"
    );
    assert_eq!(
        get(&plain(), &blimp.url("/upload/list")).1,
        "Use POST request.\n"
    );
}

#[test]
fn too_large_and_malformed_uploads_get_clear_errors_and_the_server_keeps_serving() {
    let blimp = Blimp::start(&[("list.js", LIST)], &["--max-body", "4096"]);

    let big = vec![b'x'; 10_000];
    let too_large = post(
        &blimp.url("/list"),
        &form_type(),
        multipart(&[("file", Some(("big.txt", "text/plain")), &big)]),
    );
    assert_eq!(too_large.status(), 413);
    assert!(
        too_large.text().unwrap().contains("--max-body"),
        "{:?}",
        too_large.text()
    );

    let truncated = {
        let mut body = multipart(&[("file", Some(("a.txt", "text/plain")), b"cut short")]);
        body.truncate(body.len() - 20);
        body
    };
    let malformed = post(&blimp.url("/list"), &form_type(), truncated);
    assert_eq!(malformed.status(), 400);
    let text = malformed.text().unwrap();
    assert!(text.contains("malformed multipart body"), "{text}");

    let no_boundary = post(
        &blimp.url("/list"),
        "multipart/form-data",
        b"--x\r\n\r\n--x--".to_vec(),
    );
    assert_eq!(no_boundary.status(), 400);
    let text = no_boundary.text().unwrap();
    assert!(
        text.contains("malformed multipart body") && text.contains("boundary"),
        "{text}"
    );

    let ok = post(
        &blimp.url("/list"),
        &form_type(),
        multipart(&[("title", None, b"fine")]),
    );
    assert_eq!(ok.status(), 200);
    assert_eq!(json(&ok.text().unwrap())["title"], "fine");
}

#[test]
fn a_script_may_catch_a_malformed_upload_and_answer_itself() {
    let script = r#"
import { Upload } from "@aerokit/sdk/http";
import { response } from "@aerokit/sdk/http";
try {
    const items = Upload.parseRequest();
    response.print("parts: " + items.size());
} catch (e) {
    response.setStatus(422);
    response.print("rejected: " + e.message);
}
"#;
    let blimp = Blimp::start(&[("up.mjs", script)], &[]);
    let bad = post(&blimp.url("/up"), &form_type(), b"no parts at all".to_vec());
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .unwrap()
            .starts_with("rejected: malformed multipart body"),
        "{:?}",
        bad.text()
    );
    let not_multipart = post(&blimp.url("/up"), "text/plain", b"x".to_vec());
    assert_eq!(not_multipart.status(), 422);
    assert_eq!(
        not_multipart.text().unwrap(),
        "rejected: the request is not multipart (Content-Type: 'text/plain')"
    );
    let good = post(
        &blimp.url("/up"),
        &form_type(),
        multipart(&[("a", None, b"1"), ("b", None, b"2")]),
    );
    assert_eq!(
        (good.status(), good.text().unwrap()),
        (200, "parts: 2".to_string())
    );
}
