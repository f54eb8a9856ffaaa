//! Every function of http/v4/response, through the real server.

mod common;
use common::*;

fn run(script: &str) -> Reply {
    run_script(script)
}

const R: &str = "const response = require('http/v4/response');\n";

#[test]
fn print_println_and_falsy_values() {
    let body = run(&format!("{R}response.print('a'); response.print(0); response.print(false); response.print(null); response.print(undefined); response.println('b'); response.println(); response.print({{toString(){{return 'obj'}}}});")).text().unwrap();
    assert_eq!(body, "a0falseb\n\nobj");
}

#[test]
fn write_bytes_in_every_accepted_shape() {
    let script = format!("{R}response.write(new Uint8Array([104, 105])); response.write(new Uint8Array([33]).buffer); response.write([32, -1, 255]);");
    let bytes = run(&script).bytes().unwrap();
    assert_eq!(&bytes[..], &[104, 105, 33, 32, 255, 255]);
}

#[test]
fn write_rejects_other_values() {
    for bad in ["'text'", "[256]", "[1.5]", "42", "{}"] {
        let script = format!("{R}try {{ response.write({bad}); response.print('no error'); }} catch (e) {{ response.print(e.name); }}");
        assert_eq!(run(&script).text().unwrap(), "TypeError", "write({bad})");
    }
}

#[test]
fn json_sets_content_type() {
    let response = run(&format!(
        "{R}response.json({{a: [1, 'x', null], b: true}});"
    ));
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().unwrap(), r#"{"a":[1,"x",null],"b":true}"#);
}

#[test]
fn status_get_set_and_range() {
    let response = run(&format!("{R}response.setStatus(response.CREATED); response.print(response.getStatus()); try {{ response.setStatus(99) }} catch (e) {{ response.print(' ' + e.name) }} try {{ response.setStatus(1000) }} catch (e) {{ response.print(' ' + e.name) }}"));
    assert_eq!(response.status(), 201);
    assert_eq!(response.text().unwrap(), "201 RangeError RangeError");
}

#[test]
fn status_constants_and_reasons() {
    let script = format!("{R}const r = response; r.print([r.OK, r.CREATED, r.NO_CONTENT, r.MOVED_TEMPORARILY, r.FOUND, r.BAD_REQUEST, r.UNAUTHORIZED, r.FORBIDDEN, r.NOT_FOUND, r.CONFLICT, r.INTERNAL_SERVER_ERROR, r.SERVICE_UNAVAILABLE].join(',') + ' ' + r.HttpCodesReasons.getReason(404) + ' ' + r.HttpCodesReasons.getReason('201')); try {{ r.HttpCodesReasons.getReason('abc') }} catch (e) {{ r.print(' threw') }}");
    assert_eq!(
        run(&script).text().unwrap(),
        "200,201,204,302,302,400,401,403,404,409,500,503 Not Found Created threw"
    );
}

#[test]
fn headers_set_add_get_and_names() {
    let script = format!("{R}response.setHeader('X-One', 'a'); response.setHeader('x-one', 'b'); response.addHeader('X-Many', '1'); response.addHeader('X-Many', '2');
response.print([response.getHeader('X-ONE'), response.getHeaders('x-many').join('+'), response.containsHeader('X-Many'), response.containsHeader('nope'), String(response.getHeader('nope')), response.getHeaderNames().join(',')].join(' '));");
    let response = run(&script);
    assert_eq!(response.headers()["x-one"], "b");
    let many: Vec<_> = response
        .headers()
        .get_all("x-many")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(many, ["1", "2"]);
    assert_eq!(
        response.text().unwrap(),
        "b 1+2 true false null x-one,x-many"
    );
}

#[test]
fn header_injection_is_refused() {
    let script = format!("{R}const out = []; for (const [n, v] of [['X-A', 'a\\r\\nSet-Cookie: evil=1'], ['X-B', 'b\\nx'], ['Bad Name', 'v'], ['X-C:', 'v']]) {{ try {{ response.setHeader(n, v); out.push('set'); }} catch (e) {{ out.push(e.name); }} }} response.print(out.join(','));");
    let response = run(&script);
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(
        response.text().unwrap(),
        "TypeError,TypeError,TypeError,TypeError"
    );
}

#[test]
fn content_type_and_encoding() {
    let response = run(&format!("{R}response.print(response.getContentType() + '|' + response.getCharacterEncoding()); response.setContentType('text/html'); response.setCharacterEncoding('ISO-8859-1'); response.print('|' + response.getContentType() + '|' + response.getCharacterEncoding());"));
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=ISO-8859-1"
    );
    assert_eq!(
        response.text().unwrap(),
        "text/plain; charset=utf-8|utf-8|text/html; charset=ISO-8859-1|ISO-8859-1"
    );
    assert_eq!(
        run(&format!("{R}response.print('x')")).headers()["content-type"],
        "text/plain; charset=utf-8"
    );
}

#[test]
fn content_length_matching_and_mismatching() {
    let ok = run(&format!(
        "{R}response.setContentLength(5); response.print('hello');"
    ));
    assert_eq!(ok.headers()["content-length"], "5");
    assert_eq!(ok.text().unwrap(), "hello");
    let blimp = Blimp::start(
        &[
            (
                "t.js",
                &format!("{R}response.setContentLength(50); response.print('short');"),
            ),
            ("ok.js", ""),
        ],
        &[],
    );
    let complete = plain().get(blimp.url("/t")).send().and_then(|r| r.bytes());
    assert!(
        complete.is_err(),
        "a body shorter than Content-Length must not look complete"
    );
    assert!(blimp.wait_for_log("does not match setContentLength"));
    assert_eq!(
        get(&plain(), &blimp.url("/ok")).0,
        200,
        "the server keeps serving"
    );
}

#[test]
fn cookies_with_attributes_and_validation() {
    let script = format!("{R}response.addCookie({{name: 'a', value: '1', path: '/x', domain: 'example.com', maxAge: 60, secure: true, httpOnly: true, sameSite: 'Strict'}});
response.addCookie({{name: 'b', value: '2', isHttpOnly: true, expires: new Date(Date.UTC(2030, 0, 1))}});
const out = []; for (const c of [{{name: 'bad name', value: 'x'}}, {{name: 'c', value: 'a;b'}}, {{name: 'd', value: 'x\\r\\n'}}]) {{ try {{ response.addCookie(c); out.push('ok') }} catch (e) {{ out.push(e.name) }} }} response.print(out.join(','));");
    let response = run(&script);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for part in [
        "a=1",
        "Path=/x",
        "Domain=example.com",
        "Max-Age=60",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
    ] {
        assert!(cookies[0].contains(part), "{part} in {}", cookies[0]);
    }
    assert!(
        cookies[1].contains("b=2")
            && cookies[1].contains("HttpOnly")
            && cookies[1].contains("2030"),
        "{}",
        cookies[1]
    );
    assert_eq!(response.text().unwrap(), "TypeError,TypeError,TypeError");
}

#[test]
fn send_error_discards_buffer() {
    let response = run(&format!("{R}response.print('lost'); response.sendError(response.FORBIDDEN, 'go away'); response.print('ignored');"));
    assert_eq!(response.status(), 403);
    assert_eq!(response.text().unwrap(), "go away");
    let response = run(&format!("{R}response.sendError(404);"));
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().unwrap(), "Not Found");
}

#[test]
fn send_redirect() {
    let response = run(&format!(
        "{R}response.print('lost'); response.sendRedirect('/elsewhere?x=1');"
    ));
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/elsewhere?x=1");
}

#[test]
fn reset_before_and_after_commit() {
    let response = run(&format!("{R}response.setStatus(404); response.setHeader('X-Gone', '1'); response.print('lost'); response.reset(); response.print('kept');"));
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-gone").is_none());
    assert_eq!(response.text().unwrap(), "kept");
    let response = run(&format!("{R}response.print('a'); response.flush(); try {{ response.reset() }} catch (e) {{ response.print(' ' + e.name) }}"));
    assert_eq!(response.text().unwrap(), "a Error");
}

#[test]
fn changes_after_commit_are_ignored() {
    let response = run(&format!("{R}response.setHeader('X-Before', '1'); response.print(response.isCommitted()); response.flush(); response.setStatus(500); response.setHeader('X-After', '1'); response.print(' ' + response.isCommitted() + ' ' + response.getStatus());"));
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-before").is_some());
    assert!(response.headers().get("x-after").is_none());
    assert_eq!(response.text().unwrap(), "false true 200");
}

#[test]
fn close_ends_the_response_and_ignores_later_writes() {
    let response = run(&format!(
        "{R}response.print('done'); response.close(); response.print('late');"
    ));
    assert_eq!(response.text().unwrap(), "done");
}

#[test]
fn encode_url_locale_and_is_valid() {
    let response = run(&format!("{R}response.setLocale('de', 'AT'); const l = response.getLocale(); response.print([response.encodeURL('/a?b=1'), response.encodeRedirectURL('/c'), l.language, l.country, response.isValid()].join(' '));"));
    assert_eq!(response.headers()["content-language"], "de-AT");
    assert_eq!(response.text().unwrap(), "/a?b=1 /c de AT true");
}

#[test]
fn head_runs_the_script_and_sends_no_body() {
    let blimp = Blimp::start(
        &[(
            "t.js",
            &format!("{R}response.setHeader('X-Ran', 'yes'); response.print('body');"),
        )],
        &[],
    );
    let response = Reply::read(plain().head(blimp.url("/t")).send().unwrap());
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-ran"], "yes");
    assert_eq!(response.text().unwrap(), "");
}

#[test]
fn aliases_are_the_same_module() {
    let response = run(
        "const a = require('http/v4/response'), b = require('http/response'); b.print(a === b);",
    );
    assert_eq!(response.text().unwrap(), "true");
}

#[test]
fn json_writes_what_json_stringify_writes() {
    // response.json writes plain objects and arrays itself: its text must
    // be JSON.stringify's, whatever the value holds.
    let cases = [
        "{a: 1, b: 'x', c: null, d: true, e: [1, 2.5, -0, 1e21, 1e-7, NaN, Infinity]}",
        "[undefined, function () {}, Symbol('s'), , 4]",
        "{u: undefined, f() {}, [Symbol('k')]: 1, s: Symbol('v'), n: 1}",
        "{2: 'two', b: 'b', 1: 'one', a: 'a'}",
        "'quote \" backslash \\\\ newline \\n tab \\t bell \\u0007 del \\u007f é ü 中 😀'",
        "'lone \\ud800 surrogates \\udfff'",
        "{date: new Date(0), custom: {toJSON(key) { return 'key:' + key; }}}",
        "[{toJSON(key) { return typeof key + key; }}]",
        "{map: new Map([[1, 2]]), set: new Set([1]), num: new Number(3), str: new String('s'), bool: new Boolean(false)}",
        "new Proxy({a: 1, b: [2]}, {})",
        "(() => { class P { constructor() { this.x = 1; } get y() { return 2; } } return new P(); })()",
        "Object.defineProperty({a: 1}, 'hidden', {value: 2, enumerable: false})",
        "{get g() { return {deep: [1, {z: 'z'}]}; }}",
        "Object.assign(Object.create({inherited: 1}), {own: 2})",
        "new Uint8Array([1, 2])",
        "(() => { let v = []; for (let i = 0; i < 300; i++) v = [v]; return v; })()",
        "(() => { const a = [1]; a.extra = 'ignored'; return a; })()",
        "{nested: {empty: {}, list: []}}",
        "42",
        "'text'",
        "null",
    ];
    let script = format!(
        "{R}const request = require('http/v4/request');\n\
         const cases = [{}];\n\
         const value = cases[Number(request.getParameter('case'))];\n\
         if (request.getParameter('mode') === 'json') response.json(value);\n\
         else response.print(JSON.stringify(value));",
        cases.join(",\n")
    );
    let blimp = Blimp::start(&[("j.js", &script)], &[]);
    let client = plain();
    for (i, case) in cases.iter().enumerate() {
        let (status, ours) = get(&client, &blimp.url(&format!("/j?case={i}&mode=json")));
        let (_, expected) = get(&client, &blimp.url(&format!("/j?case={i}&mode=stringify")));
        assert_eq!(status, 200, "{case}: {ours}");
        assert_eq!(ours, expected, "{case}");
    }
    // What JSON.stringify refuses, response.json refuses too: a cycle.
    let cyclic = run(&format!(
        "{R}const a = {{}}; a.self = a; try {{ response.json(a); }} catch (e) {{ response.print(e.name); }}"
    ));
    assert_eq!(cyclic.text().unwrap(), "TypeError");
}
