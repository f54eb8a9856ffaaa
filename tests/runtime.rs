//! Routing, require, ES modules, errors, limits, traversal, hot reload,
//! streaming and shutdown: the runtime as a user meets it.

mod common;
use common::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const P: &str = "const response = require('http/v4/response');\n";

fn say(text: &str) -> String {
    format!("{P}response.print('{text}');")
}

#[test]
fn url_rules() {
    let files = [
        ("index.js", say("root")),
        (
            "a/b.js",
            format!("{P}response.print('b ' + require('http/v4/request').getPathInfo());"),
        ),
        (
            "m.mjs",
            "import { response } from 'sdk/http'; response.print('mjs');".to_string(),
        ),
        ("dir/index.js", say("dir index")),
        ("_lib/x.js", say("private")),
        (".hidden.js", say("hidden")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let blimp = Blimp::start(&files, &[]);
    let client = plain();
    let check = |path: &str, status: u16, body: &str| {
        let (s, b) = get(&client, &blimp.url(path));
        assert_eq!(s, status, "{path}: {b}");
        if status == 200 {
            assert_eq!(b, body, "{path}");
        } else {
            assert_eq!(json(&b)["status"], status, "{path}");
        }
    };
    check("/", 200, "root");
    check("/a/b", 200, "b null");
    check("/a/b.js", 200, "b null");
    check("/a/b/x/y", 200, "b /x/y");
    check("/m", 200, "mjs");
    check("/m.mjs", 200, "mjs");
    check("/dir", 200, "dir index");
    check("/dir/", 200, "dir index");
    check("/dir/deeper", 404, "");
    check("/nothing", 404, "");
    check("/services/js/a/b", 200, "b null");
    check("/services/v4/js/a/b/z", 200, "b /z");
    check("/services/js/", 200, "root");
    check("/_lib/x", 404, "");
    check("/.hidden", 404, "");
}

#[test]
fn traversal_is_impossible() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.js", &say("SECRET"));
    let blimp = Blimp::start(&[("ok.js", &say("ok"))], &[]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.js"),
        blimp.scripts.join("link.js"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), blimp.scripts.join("linkdir")).unwrap();
    let secret = outside.path().join("secret").display().to_string();
    let raw_paths = [
        "/../secret".to_string(),
        "/%2e%2e/secret".to_string(),
        "/%2E%2E/%2e%2e/etc/passwd".to_string(),
        "/a%2f..%2f..%2fsecret".to_string(),
        "/..%5csecret".to_string(),
        "/ok%00".to_string(),
        format!("/{}", secret.trim_start_matches('/')),
        format!("/%2f{}", secret.trim_start_matches('/')),
        "/link".to_string(),
        "/linkdir/secret".to_string(),
        "/.%2e/secret".to_string(),
    ];
    for path in raw_paths {
        let (status, body) = raw_get(&blimp, &path);
        assert!(status == 404 || status == 400, "{path}: {status} {body}");
        assert!(!body.contains("SECRET"), "{path}");
    }
    // A backslash is not even a valid request target.
    let (status, _) = raw_get(&blimp, "/..\\secret");
    assert!(status == 404 || status == 400);
    assert_eq!(get(&plain(), &blimp.url("/ok")).1, "ok", "still serving");
}

/// Sends the path exactly as given (clients normalize `..` away).
fn raw_get(blimp: &Blimp, path: &str) -> (u16, String) {
    let mut stream =
        std::net::TcpStream::connect(blimp.base.trim_start_matches("http://")).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn require_native_relative_json_cycle_and_missing() {
    let blimp = Blimp::start(
        &[
            ("t.js", &format!("{P}
const util = require('./_lib/util'), again = require('./_lib/util.js'), data = require('./_lib/data.json');
const a = require('./_lib/cycle_a');
let missing; try {{ require('./_lib/nope') }} catch (e) {{ missing = e.message }}
let bare; try {{ require('left-pad') }} catch (e) {{ bare = e.message }}
response.json({{same: util === again, sum: util.add(2, 3), data, cycle: a.fromB, loaded: a.done, missing, bare,
  native: require('http/request') === require('http/v4/request'), session: typeof require('http/v4/session').getAttribute,
  filename: __filename.endsWith('t.js'), dirname: __dirname === require('./_lib/util').dir.replace(/\\/_lib$/, ''), count: util.count()}});")),
            ("_lib/util.js", "let n = 0; exports.add = (a, b) => a + b; exports.count = () => ++n; exports.dir = __dirname;"),
            ("_lib/data.json", r#"{"list": [1, 2], "ok": true}"#),
            ("_lib/cycle_a.js", "exports.done = false; const b = require('./cycle_b'); exports.fromB = b.sawA; exports.done = true;"),
            ("_lib/cycle_b.js", "const a = require('./cycle_a'); exports.sawA = a.done;"),
        ],
        &[],
    );
    for _ in 0..2 {
        let body = json(&get(&plain(), &blimp.url("/t")).1);
        assert_eq!(body["same"], true);
        assert_eq!(body["sum"], 5);
        assert_eq!(
            body["data"],
            serde_json::json!({"list": [1, 2], "ok": true})
        );
        assert_eq!(body["cycle"], false, "a cycle sees the partial exports");
        assert_eq!(body["loaded"], true);
        assert!(
            body["missing"].as_str().unwrap().contains("./_lib/nope"),
            "{body}"
        );
        assert!(
            body["bare"].as_str().unwrap().contains("left-pad"),
            "{body}"
        );
        assert_eq!(body["native"], true);
        assert_eq!(body["session"], "function");
        assert_eq!(body["filename"], true);
        assert_eq!(body["dirname"], true);
        assert_eq!(body["count"], 1, "modules are evaluated once per request");
    }
}

#[test]
fn the_entry_script_is_a_commonjs_module() {
    let blimp = Blimp::start(
        &[
            // Uses module, exports and this: gets the real objects.
            ("main.js", &format!("{P}exports.early = 1; this.viaThis = 2;
const back = require('./_lib/back');
response.json({{ back: back.seen, same: this === module.exports, viaThis: module.exports.viaThis, args: arguments.length }});")),
            ("_lib/back.js", "exports.seen = require('../main').early;"),
            // Uses none of them; required back, it is not run a second time.
            ("plain.js", &format!("{P}response.print('run;'); response.print(require('./_lib/back2').seen);")),
            ("_lib/back2.js", "const plain = require('../plain'); exports.seen = typeof plain + ':' + Object.keys(plain).length;"),
            // Only native modules, by literal names.
            ("native.js", "const a = require('http/request'), b = require('http/v4/request');\nrequire('http/v4/response').print(String(a === b) + ' ' + typeof require);"),
            // Names in comments and strings do not count: this one is plain.
            ("commented.js", &format!("{P}// module.exports, this and arguments are not used here\nresponse.print(typeof require + ' exports');")),
            // A first line `#!` is a comment, as in Node.
            ("hashbang.js", &format!("#!/usr/bin/env node\n{P}response.print(new require('http/v4/response') === response);")),
        ],
        &[],
    );
    for _ in 0..2 {
        let body = json(&get(&plain(), &blimp.url("/main")).1);
        assert_eq!(
            body,
            serde_json::json!({"back": 1, "same": true, "viaThis": 2, "args": 5}),
            "a module requiring the entry back sees its exports so far"
        );
        assert_eq!(get(&plain(), &blimp.url("/plain")).1, "run;object:0");
        assert_eq!(get(&plain(), &blimp.url("/native")).1, "true function");
        assert_eq!(
            get(&plain(), &blimp.url("/commented")).1,
            "function exports"
        );
        assert_eq!(get(&plain(), &blimp.url("/hashbang")), (200, "true".into()));
    }
}

#[test]
fn require_cannot_leave_the_root() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "evil.js", "exports.x = 'EVIL';");
    let blimp = Blimp::start(&[("t.js", &format!("{P}const path = require('http/v4/request').getParameter('p'); try {{ response.print(require(path).x) }} catch (e) {{ response.print('refused: ' + e.message) }}"))], &[]);
    let escape = format!(
        "../../../../../../../../..{}",
        outside.path().join("evil").display()
    );
    for path in [escape.as_str(), "../evil", "/etc/passwd"] {
        let url = format!("{}?p={}", blimp.url("/t"), path.replace('/', "%2F"));
        let (_, body) = get(&plain(), &url);
        assert!(body.starts_with("refused"), "{path}: {body}");
    }
}

#[test]
fn es_modules_and_promises() {
    let blimp = Blimp::start(
        &[
            ("m.mjs", "import { request, response, Response } from 'sdk/http';\nimport resp from 'sdk/http/response';\nimport { Request } from 'sdk/http/request';\nimport { session, Session } from 'sdk/http';\nimport helper from './_lib/h.mjs';\nresponse.print([request === Request, resp === Response, session === Session, helper(), await Promise.resolve('awaited')].join(' '));"),
            ("_lib/h.mjs", "export default () => 'helped';"),
            ("uses_import.js", "import { response } from 'sdk/http';\nresponse.print('esm in .js');"),
            // Prose that starts lines with "import" and "export" inside a
            // template string: a script, with require.
            ("help.js", "const response = require('http/v4/response');\nconst text = `Steps:\nimport the CSV file\nexport { it } when done\n`;\nresponse.print(text.split('\\n')[1]);"),
            ("top_await.js", "import { response } from 'sdk/http';\nresponse.print(await Promise.resolve('awaited in .js'));"),
            ("async.js", &format!("{P}async function later() {{ await null; return 'later'; }}\n(async () => {{ response.print(await later()); }})();")),
            ("then.js", &format!("{P}Promise.resolve(1).then(v => response.print('then ' + v));")),
            ("reject.mjs", "await Promise.reject(new RangeError('nope'));"),
            ("_lib/n.mjs", "let n = 0; export const next = () => ++n;"),
            ("static_n.mjs", "import { response } from 'sdk/http';\nimport { next } from './_lib/n.mjs';\nresponse.print(next());"),
            ("dynamic_n.js", &format!("{P}import('./_lib/n.mjs').then(m => response.print(m.next()));")),
        ],
        &[],
    );
    // A module's state lives as long as its request, imported either way,
    // and a change to it counts from the next request.
    for path in ["/static_n", "/dynamic_n", "/static_n", "/dynamic_n"] {
        assert_eq!(get(&plain(), &blimp.url(path)).1, "1", "{path}");
    }
    write(
        &blimp.scripts,
        "_lib/n.mjs",
        "let n = 10; export const next = () => ++n;",
    );
    for path in ["/static_n", "/dynamic_n"] {
        assert_eq!(get(&plain(), &blimp.url(path)).1, "11", "{path}");
    }
    assert_eq!(
        get(&plain(), &blimp.url("/m")).1,
        "true true true helped awaited"
    );
    assert_eq!(get(&plain(), &blimp.url("/uses_import")).1, "esm in .js");
    assert_eq!(get(&plain(), &blimp.url("/help")).1, "import the CSV file");
    assert_eq!(get(&plain(), &blimp.url("/top_await")).1, "awaited in .js");
    assert_eq!(get(&plain(), &blimp.url("/async")).1, "later");
    assert_eq!(get(&plain(), &blimp.url("/then")).1, "then 1");
    let (status, body) = get(&plain(), &blimp.url("/reject"));
    assert_eq!(status, 500);
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap()
            .contains("RangeError: nope"),
        "{body}"
    );
}

#[test]
fn errors_are_json_with_location_and_no_stack() {
    let blimp = Blimp::start(
        &[
            ("syntax.js", "const ok = 1;\nlet broken = ;\n"),
            (
                "throws.js",
                "const x = 1;\nfunction f() {\n  throw new TypeError('bad thing');\n}\nf();\n",
            ),
            ("throws_value.js", "throw 'just a string';"),
            // The engine's own errors point at the name, as a script's do.
            ("undefined.js", "const x = 1;\n\nundefinedThing();\n"),
            (
                "not_declared.mjs",
                "const x = 1;\nawait 0;\nconst y = x + notDeclared;\n",
            ),
            ("lib_syntax.js", "require('./_lib/broken');"),
            ("_lib/broken.js", "}{"),
            ("ok.js", &say("ok")),
            // Closes the wrapper early: its last function must not run.
            (
                "closes.js",
                &format!("{P}response.print(1) }}); (function () {{ response.print(2)"),
            ),
        ],
        &[],
    );
    let (status, body) = get(&plain(), &blimp.url("/closes"));
    assert_eq!(
        (status, json(&body)["message"].as_str()),
        (
            500,
            Some("SyntaxError: closes.js is not a valid script body")
        )
    );
    let (status, body) = get(&plain(), &blimp.url("/syntax"));
    assert_eq!(status, 500);
    let message = json(&body)["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("SyntaxError:") && message.contains("(at syntax.js:2:"),
        "{message}"
    );
    let (status, body) = get(&plain(), &blimp.url("/throws"));
    assert_eq!(status, 500);
    let body = json(&body);
    assert_eq!(body["message"], "TypeError: bad thing (at throws.js:3:9)");
    assert!(body.get("stack").is_none());
    for (path, message) in [
        (
            "/undefined",
            "ReferenceError: undefinedThing is not defined (at undefined.js:3:1)",
        ),
        (
            "/not_declared.mjs",
            "ReferenceError: notDeclared is not defined (at not_declared.mjs:3:15)",
        ),
    ] {
        let (status, body) = get(&plain(), &blimp.url(path));
        assert_eq!(
            (status, json(&body)["message"].as_str()),
            (500, Some(message))
        );
    }
    let (status, body) = get(&plain(), &blimp.url("/throws_value"));
    assert_eq!(status, 500);
    assert!(json(&body)["message"]
        .as_str()
        .unwrap()
        .contains("just a string"));
    let (status, body) = get(&plain(), &blimp.url("/lib_syntax"));
    assert_eq!(status, 500);
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap()
            .contains("_lib/broken.js"),
        "{body}"
    );
    assert!(blimp.wait_for_log("throws.js: TypeError: bad thing"));
    assert!(
        blimp.log().contains("at f (throws.js:3:9)"),
        "the log has the stack"
    );
    assert_eq!(get(&plain(), &blimp.url("/ok")).1, "ok");
}

#[test]
fn a_browser_gets_error_pages_in_html() {
    let blimp = Blimp::start(
        &[
            ("throws.js", "throw new TypeError('bad <thing>');"),
            (
                "own.js",
                &format!("{P}response.setStatus(404); response.json({{mine: true}});"),
            ),
        ],
        &[],
    );
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let ask = |path: &str, accept: &str| {
        Reply::read(
            plain()
                .get(blimp.url(path))
                .header("Accept", accept)
                .send()
                .unwrap(),
        )
    };
    for (path, status, text) in [
        ("/nothing/here", 404, "no script for /nothing/here"),
        (
            "/throws",
            500,
            "TypeError: bad &lt;thing&gt; (at throws.js:1:7)",
        ),
    ] {
        let page = ask(path, browser);
        assert_eq!(page.status(), status, "{path}");
        assert_eq!(
            page.header("content-type").as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            page.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        let body = page.text().unwrap();
        assert!(
            body.starts_with("<!doctype html>") && body.contains(text),
            "{body}"
        );
        // The same error for a program: JSON.
        for accept in ["*/*", "application/json, text/html"] {
            let reply = ask(path, accept);
            assert_eq!(reply.status(), status);
            assert_eq!(
                reply.header("content-type").as_deref(),
                Some("application/json")
            );
            assert!(json(&reply.text().unwrap())["message"].is_string());
        }
    }
    // What a script writes itself keeps its shape.
    let own = ask("/own", browser);
    assert_eq!(
        (own.status(), own.text().unwrap()),
        (404, r#"{"mine":true}"#.to_string())
    );
}

#[test]
fn dev_mode_adds_the_stack() {
    let blimp = Blimp::start(
        &[("t.js", "function f() { throw new Error('x') }\nf();")],
        &["--dev"],
    );
    let (status, body) = get(&plain(), &blimp.url("/t"));
    assert_eq!(status, 500);
    assert!(
        json(&body)["stack"]
            .as_str()
            .unwrap()
            .contains("at f (t.js:1:"),
        "{body}"
    );
}

#[test]
fn exception_after_flush_cuts_the_body() {
    let blimp = Blimp::start(
        &[
            (
                "t.js",
                &format!(
                    "{P}response.print('partial'); response.flush(); throw new Error('late');"
                ),
            ),
            ("ok.js", &say("ok")),
        ],
        &[],
    );
    let response = plain().get(blimp.url("/t")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.bytes().is_err(),
        "the client must see an incomplete body"
    );
    assert!(blimp.wait_for_log("Error: late"));
    assert_eq!(get(&plain(), &blimp.url("/ok")).1, "ok");
}

#[test]
fn runaway_scripts_end_in_503_and_the_worker_recovers() {
    let blimp = Blimp::start(
        &[
            ("spin.js", "while (true) {}"),
            ("nested.js", "for (;;) { for (let i = 0; i < 1000; i++) {} }"),
            // No loop at all: only the timeout can stop it.
            ("calls.js", "function f(n) { if (n > 0) { f(n - 1); f(n - 1); } }\nf(100);"),
            ("callback.js", "[1].forEach(() => { while (true) {} });"),
            ("recurse.js", "function r(n) { return r(n + 1) + 1; }\nr(0);"),
            ("ok.js", &format!("{P}let total = 0; for (let i = 0; i < 10; i++) total += i; response.print('ok ' + total);")),
        ],
        &["--timeout", "2", "--workers", "1"],
    );
    // Whichever comes first, the loop limit or the timeout, stops a spin.
    for (path, limit) in [
        ("/spin", "script stopped"),
        ("/nested", "script stopped"),
        ("/calls", "timeout"),
        ("/callback", "script stopped"),
        ("/recurse", "limit"),
    ] {
        let started = Instant::now();
        let (status, body) = get(&plain(), &blimp.url(path));
        assert_eq!(status, 503, "{path}: {body}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path} took {:?}",
            started.elapsed()
        );
        let message = json(&body)["message"].as_str().unwrap().to_string();
        assert!(message.contains(limit), "{path}: {message}");
        // Same (only) worker, fresh context, correct answer.
        assert_eq!(get(&plain(), &blimp.url("/ok")).1, "ok 45");
    }
    assert!(
        blimp.log().contains("nested.js: script stopped"),
        "the log names the script"
    );
}

#[test]
fn a_client_that_hangs_up_mid_script_costs_nothing_lasting() {
    let blimp = Blimp::start(
        &[
            ("slow.js", &format!("{P}const end = Date.now() + 1500; while (Date.now() < end) {{}} response.print('done');")),
            ("ok.js", &format!("{P}response.print('ok');")),
        ],
        &["--workers", "1", "--max-pending", "1"],
    );
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", blimp.port())).unwrap();
    raw.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(raw);
    // The one request slot comes back, and the worker serves on.
    let started = Instant::now();
    loop {
        let (status, body) = get(&plain(), &blimp.url("/ok"));
        if status == 200 {
            assert_eq!(body, "ok");
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never served again"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..3 {
        assert_eq!(get(&plain(), &blimp.url("/ok")), (200, "ok".to_string()));
    }
    assert!(blimp.wait_for_log("slow.js: stopped, the client went away"));
}

#[test]
fn flush_streams_before_the_script_ends() {
    let blimp = Blimp::start(&[("t.js", &format!("{P}response.println('first'); response.flush(); const end = Date.now() + 1000; while (Date.now() < end) {{}} response.println('second');"))], &[]);
    let started = Instant::now();
    let mut response = plain().get(blimp.url("/t")).send().unwrap();
    let mut first = [0u8; 6];
    response.read_exact(&mut first).unwrap();
    let first_at = started.elapsed();
    assert_eq!(&first, b"first\n");
    let mut rest = String::new();
    response.read_to_string(&mut rest).unwrap();
    let end_at = started.elapsed();
    assert_eq!(rest, "second\n");
    assert!(
        first_at < Duration::from_millis(500),
        "first chunk after {first_at:?}"
    );
    assert!(end_at >= Duration::from_millis(900), "end after {end_at:?}");
}

#[test]
fn close_finishes_the_response_while_the_script_runs_on() {
    let blimp = Blimp::start(&[("t.js", &format!("{P}response.print('done'); response.close(); const end = Date.now() + 1500; while (Date.now() < end) {{}} console.log('script finished');"))], &[]);
    let started = Instant::now();
    assert_eq!(get(&plain(), &blimp.url("/t")).1, "done");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "took {:?}",
        started.elapsed()
    );
    assert!(blimp.wait_for_log("t.js: script finished"));
}

#[test]
fn hot_reload_edit_add_delete() {
    let blimp = Blimp::start(&[("t.js", &say("one"))], &[]);
    assert_eq!(get(&plain(), &blimp.url("/t")).1, "one");
    write(&blimp.scripts, "t.js", &say("two, a longer version"));
    assert_eq!(get(&plain(), &blimp.url("/t")).1, "two, a longer version");
    write(&blimp.scripts, "t.js", &say("tri, a longer version"));
    assert_eq!(
        get(&plain(), &blimp.url("/t")).1,
        "tri, a longer version",
        "same size, new content"
    );
    write(&blimp.scripts, "new.js", &say("new"));
    assert_eq!(get(&plain(), &blimp.url("/new")).1, "new");
    write(&blimp.scripts, "_lib/dep.js", "exports.v = 1;");
    write(
        &blimp.scripts,
        "uses.js",
        &format!("{P}response.print(require('./_lib/dep').v);"),
    );
    assert_eq!(get(&plain(), &blimp.url("/uses")).1, "1");
    write(&blimp.scripts, "_lib/dep.js", "exports.v = 2;");
    assert_eq!(
        get(&plain(), &blimp.url("/uses")).1,
        "2",
        "required modules reload too"
    );
    std::fs::remove_file(blimp.scripts.join("new.js")).unwrap();
    assert_eq!(get(&plain(), &blimp.url("/new")).0, 404);

    // A more specific script takes over at once, in folders made after the start.
    write(&blimp.scripts, "a.js", &say("a"));
    for _ in 0..4 {
        assert_eq!(get(&plain(), &blimp.url("/a/b/c")).1, "a");
    }
    write(&blimp.scripts, "a/b/c.js", &say("c"));
    for _ in 0..4 {
        assert_eq!(get(&plain(), &blimp.url("/a/b/c")).1, "c");
    }
    // An index file gives way to a script named after its folder.
    write(&blimp.scripts, "d/index.js", &say("index"));
    assert_eq!(get(&plain(), &blimp.url("/d")).1, "index");
    write(&blimp.scripts, "d.js", &say("d.js"));
    for _ in 0..4 {
        assert_eq!(get(&plain(), &blimp.url("/d")).1, "d.js");
    }
}

#[test]
fn console_goes_to_the_log_and_every_request_is_logged() {
    let blimp = Blimp::start(
        &[(
            "t.js",
            "console.log('hello', {a: 1}); console.warn('careful'); console.error('bad');",
        )],
        &[],
    );
    assert_eq!(get(&plain(), &blimp.url("/t")).0, 200);
    assert!(blimp.wait_for_log("t.js: bad"));
    let log = blimp.log();
    assert!(
        log.contains("INFO") && log.contains("t.js: hello {\"a\":1}"),
        "{log}"
    );
    assert!(log.contains("WARN") && log.contains("t.js: careful"));
    assert!(log.contains("ERROR") && log.contains("t.js: bad"));
    assert!(
        blimp.wait_for_log("GET /t 200 0"),
        "access log line: method, path, status, bytes, duration"
    );
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests() {
    let mut blimp = Blimp::start(&[("slow.js", &format!("{P}const end = Date.now() + 1000; while (Date.now() < end) {{}} response.print('finished');"))], &[]);
    let url = blimp.url("/slow");
    let request = std::thread::spawn(move || get(&plain(), &url));
    std::thread::sleep(Duration::from_millis(300));
    let status = blimp.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(request.join().unwrap(), (200, "finished".to_string()));
}

#[test]
fn many_concurrent_requests_are_all_answered() {
    let blimp = Blimp::start(
        &[(
            "t.js",
            &format!("{P}response.print(require('http/v4/request').getParameter('i'));"),
        )],
        &[],
    );
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let base = blimp.url("/t");
            std::thread::spawn(move || {
                let client = plain();
                for i in 0..50 {
                    let n = t * 100 + i;
                    assert_eq!(get(&client, &format!("{base}?i={n}")).1, n.to_string());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn a_port_in_use_is_an_error_not_a_shared_port() {
    let first = Blimp::start(&[("ok.js", &say("one"))], &[]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_blimp"))
        .args([
            "--port",
            &first.port().to_string(),
            "--session-store",
            "memory",
            "--scripts",
        ])
        .arg(&first.scripts)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("Address already in use"));
    assert_eq!(get(&plain(), &first.url("/ok")).1, "one");
}

#[test]
fn the_folder_as_first_argument_and_settings_from_the_environment() {
    let dir = scripts(&[
        ("t.js", &format!("{P}response.print('ok');")),
        ("throws.js", "function f() { throw new Error('x') }\nf();"),
    ]);
    let args: Vec<String> = [
        dir.path().display().to_string(),
        "--session-store".into(),
        "memory".into(),
    ]
    .into();
    let blimp = Blimp::spawn_with(&args, dir.path(), |command| {
        command
            .env("BLIMP_PORT", "0")
            .env("BLIMP_MAX_BODY", "1K")
            .env("BLIMP_DEV", "true")
            .env("BLIMP_WORKERS", "1");
    });
    assert_eq!(
        get(&plain(), &blimp.url("/t")).1,
        "ok",
        "the folder came as the first argument"
    );
    let reply = Reply::read(
        plain()
            .post(blimp.url("/t"))
            .body(vec![b'x'; 2000])
            .send()
            .unwrap(),
    );
    assert_eq!(reply.status(), 413);
    assert!(
        reply.text().unwrap().contains("larger than 1024 bytes"),
        "BLIMP_MAX_BODY=1K"
    );
    let thrown = json(&get(&plain(), &blimp.url("/throws")).1);
    assert!(thrown["stack"].is_string(), "BLIMP_DEV=true: {thrown}");
    assert_eq!(get(&plain(), &blimp.url("/t")).1, "ok");
}

/// The engine's substring search (patched to run in linear time) gives
/// what the definition gives, for Latin-1, UTF-16 and mixed strings.
#[test]
fn string_searches_agree_with_their_definition() {
    let script = r#"
function indexOf(h, n, from) {
  for (let i = Math.min(Math.max(from, 0), h.length); i + n.length <= h.length; i++)
    if (h.substr(i, n.length) === n) return i;
  return -1;
}
function lastIndexOf(h, n, from) {
  for (let i = Math.min(Math.max(from, 0), h.length - n.length); i >= 0; i--)
    if (h.substr(i, n.length) === n) return i;
  return -1;
}
const alphabets = ['ab', 'a\u0100', '\u0100\u0101', 'a\u00ff', '\u6161\u6262'];
let seed = 7;
const random = (k) => (seed = (seed * 1103515245 + 12345) % 2147483648) % k;
const word = (letters, length) => Array.from({ length }, () => letters[random(letters.length)]).join('');
const wrong = [];
for (let t = 0; t < 20000; t++) {
  const h = word(alphabets[random(5)], random(12)), n = word(alphabets[random(5)], 1 + random(3));
  const from = random(14) - 1;
  const ok = h.indexOf(n, from) === indexOf(h, n, from)
    && h.lastIndexOf(n, from) === lastIndexOf(h, n, from)
    && h.lastIndexOf(n) === lastIndexOf(h, n, Infinity)
    && h.includes(n, from) === indexOf(h, n, from) >= 0
    && h.split(n).length === h.replaceAll(n, '\n').split('\n').length
    && h.split(n).join(n) === h;
  if (!ok) wrong.push([h, n, from]);
}
const odd = '\u6162'.repeat(1000);
const found = [odd.indexOf('\u6261'.repeat(10)), odd.indexOf('\u6162', 999), 'x\u0101'.indexOf('\u0101'), 'ab'.indexOf('\u0101')];
require('http/v4/response').print(JSON.stringify({ wrong: wrong.slice(0, 3), found }));
"#;
    let blimp = Blimp::start(&[("search.js", script)], &[]);
    let (status, body) = get(&plain(), &blimp.url("/search"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"wrong":[],"found":[-1,999,1,-1]}"#);
}

/// `JSON.parse` (read in one pass by the patched engine) gives what the
/// JavaScript parser gives: numbers, key order, `__proto__`, escapes,
/// errors, and the reviver's path.
#[test]
fn json_parse_reads_what_the_script_parser_reads() {
    let script = r#"
let seed = 11;
const random = (k) => (seed = (seed * 1103515245 + 12345) % 2147483648) % k;
let numbers = 0, differ = [];
for (let i = 0; i < 5000; i++) {
  const digits = String(random(1e9)) + String(random(1e9));
  for (const f of [digits, '-' + digits, '0.' + digits, digits.slice(0, 5) + '.' + digits.slice(5),
                   digits.slice(0, 9) + 'e' + (random(600) - 300), (random(1e6) / 7).toString()]) {
    numbers++;
    if (!Object.is(JSON.parse(f), eval('(' + f + ')'))) differ.push(f);
  }
}
const v = JSON.parse('{"b":1,"a":[1,2,{"x":null,"2":true,"1":false}],"__proto__":{"p":1},"b":2,"u":"\\ud83d\\ude00\\u00e9\\n","big":12345678901234567890,"neg":-0.0,"e":1E3}');
const refused = ['', '{', '[1,]', '{"a":1,}', "{'a':1}", '01', 'NaN', '1 2', 'tru'].map((t) => {
  try { JSON.parse(t); return 'accepted'; } catch (e) { return e.name; }
});
require('http/v4/response').print(JSON.stringify({
  numbers, differ: differ.slice(0, 3),
  keys: [Object.keys(v), Object.keys(v.a[2])],
  proto: [Object.getPrototypeOf(v) === Object.prototype, Object.hasOwn(v, '__proto__'), v.__proto__.p],
  values: [v.b, v.u, v.big, Object.is(v.neg, -0), v.e],
  refused: [...new Set(refused)],
  revived: JSON.parse('{"a":1,"b":[2]}', (k, x) => typeof x === 'number' ? x + 1 : x),
}));
"#;
    let blimp = Blimp::start(&[("json.js", script)], &[]);
    let (status, body) = get(&plain(), &blimp.url("/json"));
    assert_eq!(status, 200, "{body}");
    let got = json(&body);
    assert_eq!(got["numbers"], 30000);
    assert_eq!(got["differ"], serde_json::json!([]));
    assert_eq!(
        got["keys"],
        serde_json::json!([
            ["b", "a", "__proto__", "u", "big", "neg", "e"],
            ["1", "2", "x"]
        ])
    );
    assert_eq!(got["proto"], serde_json::json!([true, true, 1]));
    assert_eq!(
        got["values"],
        serde_json::json!([2, "😀é\n", 12345678901234567000u64, true, 1000])
    );
    assert_eq!(got["refused"], serde_json::json!(["SyntaxError"]));
    assert_eq!(got["revived"], serde_json::json!({"a": 2, "b": [3]}));
}
