//! Every function of http/v4/request, through the real server.

mod common;
use common::*;

const Q: &str =
    "const request = require('http/v4/request'), response = require('http/v4/response');\n";

fn server(script: &str) -> Blimp {
    Blimp::start(&[("a/b.js", &format!("{Q}{script}"))], &[])
}

#[test]
fn method_uri_url_query_and_paths() {
    let blimp = server("response.json({m: request.getMethod(), uri: request.getRequestURI(), url: request.getRequestURL(), q: request.getQueryString(), info: request.getPathInfo(), res: request.getResourcePath(), svc: request.getServicePath(), file: request.getPathTranslated()});");
    let body = json(&get(&plain(), &blimp.url("/a/b/x/y?k=v")).1);
    assert_eq!(body["m"], "GET");
    assert_eq!(body["uri"], "/a/b/x/y");
    assert_eq!(body["url"], format!("{}/a/b/x/y", blimp.base));
    assert_eq!(body["q"], "k=v");
    assert_eq!(body["info"], "/x/y");
    assert_eq!(body["res"], "x/y");
    assert_eq!(body["svc"], "/a/b");
    assert_eq!(body["file"], "a/b.js");
    let body = json(&get(&plain(), &blimp.url("/a/b")).1);
    assert_eq!(body["q"], serde_json::Value::Null);
    assert_eq!(body["info"], serde_json::Value::Null);
    assert_eq!(body["res"], "");
}

#[test]
fn every_method_reaches_the_script() {
    let blimp = server("response.print(request.getMethod());");
    let client = plain();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let reply = Reply::read(client.request(m, blimp.url("/a/b")).send().unwrap());
        assert_eq!(reply.text().unwrap(), method);
    }
}

#[test]
fn parameters_from_query_and_form_body() {
    let blimp = server("response.json({one: request.getParameter('a'), missing: request.getParameter('zz'), all: request.getParameters(), names: request.getParameterNames(), values: request.getParameterValues('a'), none: request.getParameterValues('zz')});");
    let reply = plain()
        .post(blimp.url("/a/b?a=1&a=2&sp=x+y&enc=%C3%A9%26"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=3&f=hello+world&e=")
        .send()
        .unwrap();
    let body = json(&reply.text().unwrap());
    assert_eq!(body["one"], "1");
    assert_eq!(body["missing"], serde_json::Value::Null);
    assert_eq!(body["all"]["a"], serde_json::json!(["1", "2", "3"]));
    assert_eq!(body["all"]["sp"], serde_json::json!(["x y"]));
    assert_eq!(body["all"]["enc"], serde_json::json!(["é&"]));
    assert_eq!(body["all"]["f"], serde_json::json!(["hello world"]));
    assert_eq!(body["all"]["e"], serde_json::json!([""]));
    assert_eq!(
        body["names"],
        serde_json::json!(["a", "sp", "enc", "f", "e"])
    );
    assert_eq!(body["values"], serde_json::json!(["1", "2", "3"]));
    assert_eq!(body["none"], serde_json::Value::Null);
}

#[test]
fn headers_and_cookies() {
    let blimp = server("response.json({h: request.getHeader('x-test'), H: request.getHeader('X-TEST'), none: request.getHeader('nope'), many: request.getHeaders('x-many'), names: request.getHeaderNames().includes('x-test'), cookies: request.getCookies()});");
    let reply = plain()
        .get(blimp.url("/a/b"))
        .header("X-Test", "v")
        .header("X-Many", "1")
        .header("X-Many", "2")
        .header("Cookie", "a=1; b=two")
        .send()
        .unwrap();
    let body = json(&reply.text().unwrap());
    assert_eq!(body["h"], "v");
    assert_eq!(body["H"], "v");
    assert_eq!(body["none"], serde_json::Value::Null);
    assert_eq!(body["many"], serde_json::json!(["1", "2"]));
    assert_eq!(body["names"], true);
    assert_eq!(
        body["cookies"],
        serde_json::json!([{"name": "a", "value": "1"}, {"name": "b", "value": "two"}])
    );
    let body = json(&get(&plain(), &blimp.url("/a/b")).1);
    assert_eq!(body["cookies"], serde_json::json!([]));
}

#[test]
fn bodies_as_text_json_and_bytes() {
    let blimp = server("const b = request.getBytes(); response.json({text: request.getText(), again: request.getText(), json: request.getJSON(), alias: request.json(), bytes: Array.from(b), isU8: b instanceof Uint8Array, type: request.getContentType(), length: request.getContentLength(), charset: request.getCharacterEncoding()});");
    let reply = plain()
        .post(blimp.url("/a/b"))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"k":[1,2]}"#)
        .send()
        .unwrap();
    let body = json(&reply.text().unwrap());
    assert_eq!(body["text"], r#"{"k":[1,2]}"#);
    assert_eq!(body["again"], body["text"]);
    assert_eq!(body["json"], serde_json::json!({"k": [1, 2]}));
    assert_eq!(body["alias"], body["json"]);
    assert_eq!(body["bytes"].as_array().unwrap().len(), 11);
    assert_eq!(body["isU8"], true);
    assert_eq!(body["type"], "application/json; charset=utf-8");
    assert_eq!(body["length"], 11);
    assert_eq!(body["charset"], "utf-8");
    // Not JSON → null; no body → length -1.
    let reply = plain()
        .post(blimp.url("/a/b"))
        .body("not json")
        .send()
        .unwrap();
    assert_eq!(
        json(&reply.text().unwrap())["json"],
        serde_json::Value::Null
    );
    let body = json(&get(&plain(), &blimp.url("/a/b")).1);
    assert_eq!(body["length"], -1);
    assert_eq!(body["type"], serde_json::Value::Null);
}

#[test]
fn connection_facts() {
    let blimp = server("response.json({proto: request.getProtocol(), scheme: request.getScheme(), secure: request.isSecure(), server: request.getServerName(), port: request.getServerPort(), localAddr: request.getLocalAddress(), localName: request.getLocalName(), localPort: request.getLocalPort(), remote: request.getRemoteAddress(), remoteHost: request.getRemoteHost(), remotePort: request.getRemotePort(), locale: request.getLocale(), user: request.getRemoteUser(), auth: request.getAuthType(), role: request.isUserInRole('admin'), valid: request.isValid()});");
    let reply = plain()
        .get(blimp.url("/a/b"))
        .header("Accept-Language", "fr-CA,fr;q=0.9")
        .header("X-Forwarded-For", "203.0.113.9")
        .header("X-Forwarded-Proto", "https")
        .send()
        .unwrap();
    let body = json(&reply.text().unwrap());
    assert_eq!(body["proto"], "HTTP/1.1");
    assert_eq!(
        body["scheme"], "http",
        "X-Forwarded-Proto is ignored without --trust-proxy"
    );
    assert_eq!(body["secure"], false);
    assert_eq!(body["server"], "127.0.0.1");
    assert_eq!(body["port"], blimp.port());
    assert_eq!(body["localAddr"], "127.0.0.1");
    assert_eq!(body["localName"], "127.0.0.1");
    assert_eq!(body["localPort"], blimp.port());
    assert_eq!(
        body["remote"], "127.0.0.1",
        "X-Forwarded-For is ignored without --trust-proxy"
    );
    assert_eq!(body["remoteHost"], "127.0.0.1");
    assert!(body["remotePort"].as_u64().unwrap() > 0);
    assert_eq!(
        body["locale"],
        serde_json::json!({"language": "fr", "country": "CA", "variant": ""})
    );
    assert_eq!(body["user"], serde_json::Value::Null);
    assert_eq!(body["auth"], serde_json::Value::Null);
    assert_eq!(body["role"], false);
    assert_eq!(body["valid"], true);
}

#[test]
fn trust_proxy_honours_forwarded_headers() {
    let blimp = Blimp::start(&[("t.js", &format!("{Q}response.print([request.getScheme(), request.isSecure(), request.getRemoteAddress()].join(' '));"))], &["--trust-proxy"]);
    let reply = plain()
        .get(blimp.url("/t"))
        .header("X-Forwarded-For", "203.0.113.9, 10.0.0.1")
        .header("X-Forwarded-Proto", "https")
        .send()
        .unwrap();
    assert_eq!(reply.text().unwrap(), "https true 203.0.113.9");
}

#[test]
fn attributes_are_per_request_and_shared_with_modules() {
    let blimp = Blimp::start(
        &[
            ("t.js", &format!("{Q}const before = request.getAttribute('x'); request.setAttribute('x', {{n: 1}}); request.setAttribute('y', 2); require('./_lib/m'); request.removeAttribute('y'); response.json({{before, x: request.getAttribute('x'), seen: request.getAttribute('seen'), names: request.getAttributeNames()}});")),
            ("_lib/m.js", "const request = require('http/v4/request'); request.setAttribute('seen', request.getAttribute('x').n + request.getAttribute('y'));"),
        ],
        &[],
    );
    for _ in 0..2 {
        let body = json(&get(&plain(), &blimp.url("/t")).1);
        assert_eq!(
            body["before"],
            serde_json::Value::Null,
            "attributes do not leak between requests"
        );
        assert_eq!(body["x"], serde_json::json!({"n": 1}));
        assert_eq!(body["seen"], 3);
        assert_eq!(body["names"], serde_json::json!(["x", "seen"]));
    }
}

#[test]
fn oversized_body_gets_413_and_server_keeps_serving() {
    let blimp = Blimp::start(
        &[(
            "t.js",
            &format!("{Q}response.print(request.getText().length);"),
        )],
        &["--max-body", "1000"],
    );
    let reply = Reply::read(
        plain()
            .post(blimp.url("/t"))
            .body(vec![b'x'; 5000])
            .send()
            .unwrap(),
    );
    assert_eq!(reply.status(), 413);
    assert!(json(&reply.text().unwrap())["message"]
        .as_str()
        .unwrap()
        .contains("--max-body"));
    // Chunked (no Content-Length) too.
    let chunks = futures_util_stream(vec![vec![b'y'; 800], vec![b'y'; 800]]);
    let reply = Reply::read(plain().post(blimp.url("/t")).body(chunks).send().unwrap());
    assert_eq!(reply.status(), 413);
    let reply = Reply::read(
        plain()
            .post(blimp.url("/t"))
            .body(vec![b'x'; 1000])
            .send()
            .unwrap(),
    );
    assert_eq!(reply.text().unwrap(), "1000");
}

/// A body of unknown length, sent chunked.
fn futures_util_stream(chunks: Vec<Vec<u8>>) -> reqwest::blocking::Body {
    let reader = std::io::Cursor::new(chunks.concat());
    reqwest::blocking::Body::new(reader)
}
