//! Scripts that wait: timers, fetch, the synchronous http/client, the web
//! globals, sessions.get waiting for a lock — and, while any of them waits,
//! the worker goes on serving everyone else.

mod common;
use common::upstream::Upstream;
use common::*;
use std::time::{Duration, Instant};

const HELLO: &str = "require('http/v4/response').print('hello');";

/// GETs `path` and returns (status, body, how long it took).
fn timed(blimp: &Blimp, path: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let (status, body) = get(&plain(), &blimp.url(path));
    (status, body, started.elapsed())
}

/// `path` answered while `slow` (another path) is being answered.
fn meanwhile(blimp: &Blimp, slow: &str, path: &str) -> Vec<Duration> {
    let url = blimp.url(slow);
    let waiting = std::thread::spawn(move || get(&plain(), &url));
    std::thread::sleep(Duration::from_millis(150));
    let times = (0..10).map(|_| timed(blimp, path).2).collect();
    let (status, _) = waiting.join().unwrap();
    assert_eq!(status, 200, "{slow}");
    times
}

#[test]
fn timers_run_in_order_and_a_request_ends_when_they_are_done() {
    let script = "const response = require('http/v4/response');
const log = [];
setTimeout(() => log.push('t30'), 30);
setTimeout(() => log.push('t0'), 0);
let n = 0;
const every = setInterval(() => { log.push('iv'); if (++n === 3) clearInterval(every); }, 5);
queueMicrotask(() => log.push('micro'));
Promise.resolve().then(() => log.push('promise'));
clearTimeout(setTimeout(() => log.push('never'), 10));
setTimeout((a, b) => { log.push(a + b); response.json(log); }, 60, 'ar', 'gs');
log.push('sync');";
    let blimp = Blimp::start(&[("t.js", script)], &[]);
    let (status, body, took) = timed(&blimp, "/t");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!(["sync", "micro", "promise", "t0", "iv", "iv", "iv", "t30", "args"])
    );
    assert!(took >= Duration::from_millis(60), "{took:?}");
}

#[test]
fn a_waiting_script_leaves_its_worker_to_others() {
    let sleeper = "setTimeout(() => require('http/v4/response').print('slept'), 1500);";
    let blimp = Blimp::start(
        &[("sleep.js", sleeper), ("hello.js", HELLO)],
        &["--workers", "1"],
    );
    let times = meanwhile(&blimp, "/sleep", "/hello");
    assert!(
        times.iter().all(|t| *t < Duration::from_millis(300)),
        "/hello waited for a sleeping script: {times:?}"
    );
}

#[test]
fn many_scripts_wait_at_once_on_one_worker() {
    let sleeper = "setTimeout(() => require('http/v4/response').print('done'), 500);";
    let blimp = Blimp::start(&[("sleep.js", sleeper)], &["--workers", "1"]);
    let started = Instant::now();
    let waiting: Vec<_> = (0..40)
        .map(|_| {
            let url = blimp.url("/sleep");
            std::thread::spawn(move || get(&plain(), &url))
        })
        .collect();
    for request in waiting {
        assert_eq!(request.join().unwrap(), (200, "done".to_string()));
    }
    // One after another they would take 20 s.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// After a burst, contexts left idle past `--context-idle` are dropped, all
/// but one: the next burst gets fresh ones (a context's globals tell).
#[test]
fn idle_contexts_are_dropped_after_context_idle() {
    let script = "globalThis.runs = (globalThis.runs ?? 0) + 1;
setTimeout(() => require('http/v4/response').print(String(runs)), 1000);";
    let burst = |blimp: &Blimp| {
        let waiting: Vec<_> = (0..6)
            .map(|_| {
                let url = blimp.url("/t");
                std::thread::spawn(move || get(&plain(), &url))
            })
            .collect();
        let mut runs: Vec<String> = waiting
            .into_iter()
            .map(|request| {
                let (status, body) = request.join().unwrap();
                assert_eq!(status, 200, "{body}");
                body
            })
            .collect();
        runs.sort();
        runs.join(" ")
    };
    let kept = Blimp::start(&[("t.js", script)], &["--workers", "1"]);
    assert_eq!(burst(&kept), "1 1 1 1 1 1");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(burst(&kept), "2 2 2 2 2 2", "within --context-idle");

    let dropped = Blimp::start(
        &[("t.js", script)],
        &["--workers", "1", "--context-idle", "1s"],
    );
    assert_eq!(burst(&dropped), "1 1 1 1 1 1");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(burst(&dropped), "1 1 1 1 1 2", "the last one used is kept");
}

#[test]
fn beyond_max_contexts_requests_queue_and_then_get_503() {
    let sleeper = "setTimeout(() => require('http/v4/response').print('done'), 700);";
    let blimp = Blimp::start(
        &[("sleep.js", sleeper)],
        &["--workers", "1", "--max-contexts", "2", "--timeout", "1s"],
    );
    let waiting: Vec<_> = (0..6)
        .map(|_| {
            let url = blimp.url("/sleep");
            std::thread::spawn(move || {
                let reply = Reply::read(plain().get(url).send().unwrap());
                (
                    reply.status(),
                    reply.header("retry-after"),
                    reply.text().unwrap(),
                )
            })
        })
        .collect();
    let replies: Vec<_> = waiting.into_iter().map(|t| t.join().unwrap()).collect();
    let done = replies.iter().filter(|r| r.0 == 200).count();
    let busy: Vec<_> = replies.iter().filter(|r| r.0 == 503).collect();
    assert!(done >= 2, "{replies:?}");
    assert!(
        !busy.is_empty(),
        "six 700 ms scripts on two contexts within 1 s: {replies:?}"
    );
    for (_, retry, body) in busy {
        assert_eq!(retry.as_deref(), Some("1"), "{body}");
        assert!(body.contains("--max-contexts"), "{body}");
    }
    assert_eq!(
        get(&plain(), &blimp.url("/sleep")),
        (200, "done".to_string())
    );
}

#[test]
fn fetch_follows_the_spec_on_a_real_upstream() {
    let upstream = Upstream::start();
    let script = format!(
        "import {{ response }} from 'sdk/http';
const up = '{}';
const json = await (await fetch(up + '/json')).json();
const echo = await (await fetch(up + '/echo?x=1', {{ method: 'POST', headers: {{ 'X-Test': 'yes' }}, body: new URLSearchParams({{ a: '1 2', b: 'é' }}) }})).json();
const bytes = await (await fetch(up + '/echo', {{ method: 'PUT', body: new Uint8Array([104, 105]) }})).json();
const followed = await fetch(up + '/redirect/3');
const twenty = await fetch(up + '/redirect/20');
let tooMany = null;
try {{ await fetch(up + '/redirect/21'); }} catch (e) {{ tooMany = e.name + ': ' + e.message; }}
const manual = await fetch(up + '/redirect/1', {{ redirect: 'manual' }});
let refused = null;
try {{ await fetch(up + '/redirect/1', {{ redirect: 'error' }}); }} catch (e) {{ refused = e.name; }}
const binary = Array.from(new Uint8Array(await (await fetch(up + '/binary')).arrayBuffer()));
const missing = await fetch(up + '/status/404');
response.json({{
  json, echoMethod: echo.method, echoQuery: echo.query, echoHeader: echo.headers['x-test'],
  echoType: echo.headers['content-type'], echoBody: echo.body, bytes: bytes.body,
  followed: [followed.status, followed.redirected, await followed.text(), followed.url.endsWith('/redirect/0')],
  twenty: [twenty.status, await twenty.text()], tooMany,
  manual: [manual.status, manual.headers.get('location')], refused, binary,
  missing: [missing.status, missing.ok, missing.statusText, missing.headers.get('x-upstream'), await missing.text()],
}});",
        upstream.url("")
    );
    let blimp = Blimp::start(&[("t.mjs", &script)], &[]);
    let (status, body, _) = timed(&blimp, "/t");
    assert_eq!(status, 200, "{body}");
    let got = json(&body);
    assert_eq!(got["json"], serde_json::json!({"hello": "world", "n": 1}));
    assert_eq!(got["echoMethod"], "POST");
    assert_eq!(got["echoQuery"], "x=1");
    assert_eq!(got["echoHeader"], "yes");
    assert_eq!(
        got["echoType"],
        "application/x-www-form-urlencoded;charset=UTF-8"
    );
    assert_eq!(got["echoBody"], "a=1+2&b=%C3%A9");
    assert_eq!(got["bytes"], "hi");
    assert_eq!(
        got["followed"],
        serde_json::json!([200, true, "arrived", true])
    );
    // Twenty redirects are followed, as browsers do; the 21st is refused.
    assert_eq!(got["twenty"], serde_json::json!([200, "arrived"]));
    let too_many = got["tooMany"].as_str().unwrap_or_default();
    assert!(
        too_many.starts_with("TypeError") && too_many.contains("more than 20 redirects"),
        "{too_many}"
    );
    assert_eq!(got["manual"], serde_json::json!([302, "/redirect/0"]));
    assert_eq!(got["refused"], "TypeError");
    assert_eq!(got["binary"], serde_json::json!([0, 1, 2, 255]));
    assert_eq!(
        got["missing"],
        serde_json::json!([404, false, "Not Found", "yes", "status 404"])
    );
}

#[test]
fn fetch_failures_are_type_errors_naming_the_cause() {
    let upstream = Upstream::start();
    let closed = free_port();
    let script = format!(
        "import {{ response }} from 'sdk/http';
const failures = {{}};
for (const [name, url] of [['refused', 'http://127.0.0.1:{closed}/'], ['unknown', 'http://no-such-host.invalid/'], ['large', '{}'], ['chunked', '{}'], ['scheme', 'ftp://example.com/']]) {{
  try {{ await fetch(url); failures[name] = 'no error'; }}
  catch (e) {{ failures[name] = e.constructor.name + ': ' + e.message; }}
}}
response.json(failures);",
        upstream.url("/bytes/5000"),
        upstream.url("/chunked/5000")
    );
    let blimp = Blimp::start(&[("t.mjs", &script)], &["--fetch-max-response", "1K"]);
    let (status, body, _) = timed(&blimp, "/t");
    assert_eq!(status, 200, "{body}");
    let got = json(&body);
    let says = |name: &str, words: &str| {
        let text = got[name].as_str().unwrap();
        assert!(text.starts_with("TypeError: "), "{name}: {text}");
        assert!(text.contains(words), "{name}: {text}");
    };
    says("refused", "connection refused");
    says("unknown", "unknown host no-such-host.invalid");
    says("large", "larger than 1024 bytes (--fetch-max-response)");
    // No length announced: counted as it arrives.
    let direct = plain().get(upstream.url("/chunked/10")).send().unwrap();
    assert!(direct.headers().get("content-length").is_none());
    says("chunked", "larger than 1024 bytes (--fetch-max-response)");
    says("scheme", "unsupported URL scheme");
    assert_eq!(
        get(&plain(), &blimp.url("/t")).0,
        200,
        "and it keeps serving"
    );
}

#[test]
fn fetch_with_abort_signals() {
    let upstream = Upstream::start();
    let script = format!(
        "import {{ response }} from 'sdk/http';
const up = '{}';
const started = Date.now();
const controller = new AbortController();
setTimeout(() => controller.abort(), 100);
let aborted, timedOut, early;
try {{ await fetch(up + '/slow/3000', {{ signal: controller.signal }}); }} catch (e) {{ aborted = e.name; }}
try {{ await fetch(up + '/slow/3000', {{ signal: AbortSignal.timeout(100) }}); }} catch (e) {{ timedOut = e.name; }}
try {{ await fetch(up + '/json', {{ signal: AbortSignal.abort() }}); }} catch (e) {{ early = e.name; }}
// A timeout signal nobody waits for does not keep the request open.
AbortSignal.timeout(60000);
response.json({{ aborted, timedOut, early, fast: Date.now() - started < 2000 }});",
        upstream.url("")
    );
    let blimp = Blimp::start(&[("t.mjs", &script)], &[]);
    let (status, body, took) = timed(&blimp, "/t");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({"aborted": "AbortError", "timedOut": "TimeoutError", "early": "AbortError", "fast": true})
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// The web globals come in parts that a context runs when a script first
/// reads one of them; what one part needs of another works in any order.
#[test]
fn web_globals_work_whichever_is_read_first() {
    let upstream = Upstream::start();
    let cases = [
        // Request's signal comes from the events part, not read yet.
        (
            "const r = new Request('http://a.test/x');
require('http/v4/response').print(`${r.signal.aborted} ${r.signal instanceof AbortSignal}`);"
                .to_string(),
            "false true",
        ),
        // A form body is known as one once its part ran after fetch's.
        (
            "new Response(new URLSearchParams('a=1 2')).text().then(t => require('http/v4/response').print(t));"
                .to_string(),
            "a=1+2",
        ),
        // A signal made after fetch's part ran still aborts a fetch.
        (
            format!(
                "typeof fetch;
const signal = AbortSignal.timeout(50);
fetch('{}', {{ signal }}).catch(e => require('http/v4/response').print(e.name));",
                upstream.url("/slow/3000")
            ),
            "TimeoutError",
        ),
    ];
    for (script, answer) in cases {
        // A server of its own: a fresh context, where no part ran yet.
        let blimp = Blimp::start(&[("t.js", &script)], &[]);
        assert_eq!(
            get(&plain(), &blimp.url("/t")),
            (200, answer.to_string()),
            "{script}"
        );
    }
}

#[test]
fn a_fetch_still_running_at_the_timeout_is_cancelled() {
    let upstream = Upstream::start();
    let script = format!(
        "fetch('{}').then(r => r.text()).then(t => require('http/v4/response').print(t));",
        upstream.url("/slow/10000")
    );
    let blimp = Blimp::start(
        &[("t.js", &script), ("hello.js", HELLO)],
        &["--timeout", "1s"],
    );
    let (status, body, took) = timed(&blimp, "/t");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("--timeout"), "{body}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(
        get(&plain(), &blimp.url("/hello")),
        (200, "hello".to_string())
    );
}

#[test]
fn https_with_a_ca_file() {
    let upstream = Upstream::start_https();
    let script = format!(
        "import {{ response }} from 'sdk/http';
try {{ response.print(await (await fetch('{}')).text()); }}
catch (e) {{ response.print(e.constructor.name + ': ' + e.message); }}",
        upstream.url("/json")
    );
    let trusting = Blimp::start(&[("t.mjs", &script)], &["--ca-file", &upstream.ca_path()]);
    assert_eq!(
        get(&plain(), &trusting.url("/t")),
        (200, r#"{"hello":"world","n":1}"#.to_string())
    );
    let wary = Blimp::start(&[("t.mjs", &script)], &[]);
    let (status, body) = get(&plain(), &wary.url("/t"));
    assert_eq!(status, 200);
    assert!(
        body.starts_with("TypeError: ") && body.contains("TLS"),
        "{body}"
    );
    // A CA's certificate used as the server's own: refused, saying how to
    // make one that works.
    let as_ca = Upstream::start_https_as_ca();
    let script = script.replace(&upstream.url("/json"), &as_ca.url("/json"));
    let refused = Blimp::start(&[("t.mjs", &script)], &["--ca-file", &as_ca.ca_path()]);
    let (status, body) = get(&plain(), &refused.url("/t"));
    assert_eq!(status, 200);
    assert!(
        body.starts_with("TypeError: ") && body.contains("basicConstraints=critical,CA:FALSE"),
        "{body}"
    );
}

#[test]
fn an_unreadable_ca_file_stops_the_start() {
    let dir = scripts(&[("t.js", HELLO)]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_blimp"))
        .args([
            "--port",
            "0",
            "--ca-file",
            "/nonexistent/ca.pem",
            "--scripts",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("--ca-file /nonexistent/ca.pem"), "{log}");
}

#[test]
fn fetch_can_be_kept_from_private_addresses() {
    let upstream = Upstream::start();
    let script = format!(
        "import {{ response }} from 'sdk/http';
const results = [];
for (const url of ['{}', 'http://localhost:{}/json', 'http://[::1]:{}/json', {}]) {{
  try {{ await fetch(url); results.push('fetched'); }} catch (e) {{ results.push(e.message); }}
}}
response.json(results);",
        upstream.url("/json"),
        upstream.addr.port(),
        upstream.addr.port(),
        private_name_url(upstream.addr.port()),
    );
    let open = Blimp::start(&[("t.mjs", &script)], &[]);
    let (_, body) = get(&plain(), &open.url("/t"));
    assert_eq!(json(&body)[0], "fetched", "allowed by default: {body}");
    let served = upstream.served.load(std::sync::atomic::Ordering::SeqCst);
    let guarded = Blimp::start(&[("t.mjs", &script)], &["--fetch-deny-private"]);
    let (_, body) = get(&plain(), &guarded.url("/t"));
    for result in json(&body).as_array().unwrap() {
        assert!(
            result.as_str().unwrap().contains("--fetch-deny-private"),
            "{body}"
        );
    }
    let after = upstream.served.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(after, served, "no request got through");
}

/// A URL (a JS string literal) whose host is a name, not an address, that
/// resolves only to private addresses, refused by the resolver after the
/// lookup: the machine's own name does on Linux (`/etc/hosts`, or a
/// container's private address). Where it does not, the first URL again.
fn private_name_url(port: u16) -> String {
    use std::net::ToSocketAddrs;
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim();
    let private = |addr: std::net::SocketAddr| match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        std::net::IpAddr::V6(ip) => ip.is_loopback() || ip.is_unicast_link_local(),
    };
    let resolved: Vec<_> = (name, port)
        .to_socket_addrs()
        .into_iter()
        .flatten()
        .collect();
    if name.is_empty() || resolved.is_empty() || !resolved.into_iter().all(private) {
        eprintln!(
            "the machine's name ({name:?}) does not resolve to private addresses only: not tried"
        );
        return format!("'http://127.0.0.1:{port}/json'");
    }
    format!("'http://{name}:{port}/json'")
}

#[test]
fn the_synchronous_http_client() {
    let upstream = Upstream::start();
    let script = format!(
        "const client = require('http/v4/client');
const response = require('http/v4/response');
const up = '{}';
const json = client.get(up + '/json');
const form = client.post(up + '/echo', {{ params: [{{ name: 'a', value: '1' }}, {{ name: 'b', value: 'x y' }}], headers: [{{ name: 'X-Test', value: 'yes' }}] }});
const query = client.get(up + '/echo', {{ params: [{{ name: 'q', value: '1' }}] }});
const text = client.put(up + '/echo', {{ text: 'hello', contentType: 'text/csv' }});
const binary = client.get(up + '/binary', {{ binary: true }});
const generic = client.request({{ url: up + '/echo', method: 'PATCH' }});
const latin = client.post(up + '/echo', {{ text: 'café', characterEncoding: 'ISO-8859-1' }});
const latinReply = client.get(up + '/latin1');
let unknown;
try {{ client.post(up + '/echo', {{ text: 'x', characterEncoding: 'no-such' }}); }} catch (e) {{ unknown = e.name + ': ' + e.message; }}
let failed;
try {{ client.get('http://127.0.0.1:1/'); }} catch (e) {{ failed = e.message; }}
const echo = r => JSON.parse(r.text);
response.json({{
  json: [json.statusCode, json.statusMessage, json.protocol, json.binary, JSON.parse(json.text)],
  header: json.headers.find(h => h.name === 'x-upstream').value,
  form: [echo(form).body, echo(form).headers['content-type'], echo(form).headers['x-test']],
  query: echo(query).query,
  text: [echo(text).method, echo(text).body, echo(text).headers['content-type']],
  binary: [binary.binary, binary.data],
  generic: echo(generic).method,
  latin: [echo(latin).bytes, echo(latin).headers['content-type']],
  latinReply: [latinReply.statusMessage, latinReply.text],
  unknown,
  failed,
}});",
        upstream.url("")
    );
    let blimp = Blimp::start(&[("t.js", &script)], &[]);
    let (status, body) = get(&plain(), &blimp.url("/t"));
    assert_eq!(status, 200, "{body}");
    let got = json(&body);
    assert_eq!(
        got["json"],
        serde_json::json!([200, "OK", "HTTP/1.1", false, {"hello": "world", "n": 1}])
    );
    assert_eq!(got["header"], "yes");
    assert_eq!(
        got["form"],
        serde_json::json!(["a=1&b=x+y", "application/x-www-form-urlencoded", "yes"])
    );
    assert_eq!(got["query"], "q=1");
    assert_eq!(
        got["text"],
        serde_json::json!(["PUT", "hello", "text/csv; charset=UTF-8"])
    );
    assert_eq!(got["binary"], serde_json::json!([true, [0, 1, 2, 255]]));
    assert_eq!(got["generic"], "PATCH");
    // characterEncoding encodes the text; a response's charset decodes it.
    assert_eq!(
        got["latin"],
        serde_json::json!([[99, 97, 102, 0xe9], "text/plain; charset=ISO-8859-1"])
    );
    assert_eq!(
        got["latinReply"],
        serde_json::json!(["Everything Fine", "café"])
    );
    assert_eq!(
        got["unknown"],
        "TypeError: unknown characterEncoding \"no-such\""
    );
    assert!(
        got["failed"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{got}"
    );
}

#[test]
fn the_synchronous_client_waits_without_blocking_the_worker() {
    let upstream = Upstream::start();
    let script = format!(
        "require('http/v4/response').print(require('http/client').get('{}').text);",
        upstream.url("/slow/1500")
    );
    let blimp = Blimp::start(
        &[("sync.js", &script), ("hello.js", HELLO)],
        &["--workers", "1"],
    );
    let times = meanwhile(&blimp, "/sync", "/hello");
    assert!(
        times.iter().all(|t| *t < Duration::from_millis(300)),
        "/hello waited for client.get: {times:?}"
    );
}

#[test]
fn the_client_under_every_name() {
    let upstream = Upstream::start();
    let url = upstream.url("/json");
    let files = [
        (
            "v3.js",
            format!("require('http/response').print(require('http/v3/client').get('{url}').statusCode);"),
        ),
        (
            "sdk.mjs",
            format!("import {{ client, response }} from 'sdk/http'; response.print(client.get('{url}').statusCode);"),
        ),
        (
            "aerokit.mjs",
            format!("import {{ HttpClient }} from '@aerokit/sdk/http'; import {{ response }} from '@aerokit/sdk/http'; response.print(HttpClient.get('{url}').statusCode);"),
        ),
        (
            "file.mjs",
            format!("import {{ HttpClient }} from 'sdk/http/client'; import {{ response }} from '@dirigible/http'; response.print(HttpClient.get('{url}').statusCode);"),
        ),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let blimp = Blimp::start(&files, &[]);
    for path in ["/v3", "/sdk", "/aerokit", "/file"] {
        assert_eq!(
            get(&plain(), &blimp.url(path)),
            (200, "200".to_string()),
            "{path}"
        );
    }
}

#[test]
fn the_web_globals() {
    let script = "import { response } from 'sdk/http';
const hex = (buffer) => Array.from(new Uint8Array(buffer), b => b.toString(16).padStart(2, '0')).join('');
const url = new URL('https://user@example.com:8443/a/b?x=1&y=2#frag');
url.searchParams.append('z', 'ä b');
url.searchParams.delete('x');
const params = new URLSearchParams('b=2&a=1&a=0');
params.sort();
let invalid;
try { atob('!!!'); } catch (e) { invalid = [e instanceof DOMException, e.name]; }
const random = crypto.getRandomValues(new Uint8Array(32));
const t0 = performance.now();
const digests = {};
for (const name of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
  digests[name] = hex(await crypto.subtle.digest(name, new TextEncoder().encode('abc')));
}
const cloned = structuredClone({ when: new Date(0), map: new Map([[1, 'one']]) });
const headers = new Headers({ 'X-B': '2', 'x-a': '1' });
headers.append('x-a', 'again');
const made = new Response(JSON.stringify({ ok: 1 }), { status: 201, headers: { 'content-type': 'application/json' } });
const seen = [];
headers.forEach((v, k) => seen.push(k + '=' + v));
params.forEach((v, k) => seen.push(k + ':' + v));
const sent = new Request('http://x/', { method: 'POST', body: 'abc' });
const clones = [await sent.clone().text(), await sent.text()];
try { sent.clone(); } catch (e) { clones.push(e.message); }
const answered = new Response('r');
const answeredCopy = answered.clone();
clones.push(await answered.text(), await answeredCopy.text());
try { answered.clone(); } catch (e) { clones.push(e.message); }
response.json({
  seen,
  clones,
  url: [url.hostname, url.port, url.pathname, url.search, url.hash, url.href],
  params: params.toString(),
  text: new TextDecoder().decode(new TextEncoder().encode('héllo €')),
  decoding: (() => {
    const out = [];
    const fatal = new TextDecoder('utf-8', { fatal: true });
    try { fatal.decode(new Uint8Array([0xff])); out.push('no error'); } catch (e) { out.push(e.name); }
    out.push(new TextDecoder().decode(new Uint8Array([0xff])));
    const euro = new TextEncoder().encode('€');
    const streaming = new TextDecoder();
    out.push(streaming.decode(euro.slice(0, 1), { stream: true }) + streaming.decode(euro.slice(1)));
    out.push(new TextDecoder('latin1').decode(new Uint8Array([0x63, 0x61, 0x66, 0xe9])));
    out.push(new TextDecoder('utf-16le').decode(new Uint8Array([0x68, 0, 0x69, 0])));
    out.push([new TextDecoder('UTF8').encoding, fatal.fatal, new TextDecoder('utf-8', { ignoreBOM: true }).ignoreBOM]);
    try { new TextDecoder('nope'); } catch (e) { out.push(e.name); }
    out.push(new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68])));
    return out;
  })(),
  into: (() => {
    const room = new Uint8Array(5);
    const { read, written } = new TextEncoder().encodeInto('hé€', room);
    return [read, written, Array.from(room)];
  })(),
  base64: [btoa('hello'), atob('aGVsbG8='), atob(' aGV sbG8 ')],
  invalid,
  random: [random.length, random.some(b => b !== 0)],
  randomRefused: [new Float32Array(1), new DataView(new ArrayBuffer(1)), new Uint8Array(65537), 5].map((array) => {
    try { crypto.getRandomValues(array); return 'no error'; } catch (e) { return e.name; }
  }),
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
  digests,
  monotonic: performance.now() >= t0 && typeof performance.timeOrigin === 'number',
  cloned: [cloned.when instanceof Date, cloned.when.getTime(), cloned.map.get(1)],
  headers: [...headers],
  made: [made.status, made.ok, made.headers.get('content-type'), await made.json()],
  temporal: typeof Temporal,
});";
    let blimp = Blimp::start(&[("t.mjs", script)], &[]);
    let (status, body) = get(&plain(), &blimp.url("/t"));
    assert_eq!(status, 200, "{body}");
    let got = json(&body);
    assert_eq!(
        got["url"],
        serde_json::json!([
            "example.com",
            "8443",
            "/a/b",
            "?y=2&z=%C3%A4+b",
            "#frag",
            "https://user@example.com:8443/a/b?y=2&z=%C3%A4+b#frag"
        ])
    );
    assert_eq!(got["params"], "a=1&a=0&b=2");
    assert_eq!(got["text"], "héllo €");
    assert_eq!(
        got["decoding"],
        serde_json::json!([
            "TypeError",
            "\u{fffd}",
            "€",
            "café",
            "hi",
            ["utf-8", true, true],
            "RangeError",
            "h"
        ])
    );
    // Whole characters only: the € (3 bytes) does not fit after "hé" (3).
    assert_eq!(
        got["into"],
        serde_json::json!([2, 3, [104, 195, 169, 0, 0]])
    );
    assert_eq!(
        got["base64"],
        serde_json::json!(["aGVsbG8=", "hello", "hello"])
    );
    assert_eq!(
        got["invalid"],
        serde_json::json!([true, "InvalidCharacterError"])
    );
    assert_eq!(got["random"], serde_json::json!([32, true]));
    assert_eq!(
        got["randomRefused"],
        serde_json::json!([
            "TypeMismatchError",
            "TypeMismatchError",
            "QuotaExceededError",
            "TypeError"
        ])
    );
    assert_eq!(got["uuid"], true);
    assert_eq!(
        got["digests"]["SHA-1"],
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        got["digests"]["SHA-256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(got["digests"]["SHA-384"]
        .as_str()
        .unwrap()
        .starts_with("cb00753f45a35e8b"));
    assert!(got["digests"]["SHA-512"]
        .as_str()
        .unwrap()
        .starts_with("ddaf35a193617aba"));
    assert_eq!(got["monotonic"], true);
    assert_eq!(got["cloned"], serde_json::json!([true, 0, "one"]));
    assert_eq!(
        got["seen"],
        serde_json::json!(["x-a=1, again", "x-b=2", "a:1", "a:0", "b:2"])
    );
    assert_eq!(
        got["clones"],
        serde_json::json!([
            "abc",
            "abc",
            "Request.clone: the body has already been used",
            "r",
            "r",
            "Response.clone: the body has already been used"
        ])
    );
    assert_eq!(
        got["headers"],
        serde_json::json!([["x-a", "1, again"], ["x-b", "2"]])
    );
    assert_eq!(
        got["made"],
        serde_json::json!([201, true, "application/json", {"ok": 1}])
    );
    // Left out of the engine, as in Node 20 (docs/internals.md).
    assert_eq!(got["temporal"], "undefined");
}

#[test]
fn sessions_get_waits_for_a_lock_held_on_the_same_worker() {
    let files = [
        (
            "id.js",
            "require('http/v4/response').print(require('http/v4/session').getId());",
        ),
        (
            "hold.mjs",
            "import { session, response } from 'sdk/http';
session.setAttribute('holding', true);
await new Promise(resolve => setTimeout(resolve, 1000));
session.setAttribute('n', 1);
response.print('held');",
        ),
        (
            "poke.js",
            "const sessions = require('http/v4/sessions'), request = require('http/v4/request');
const other = sessions.get(request.getParameter('id'));
other.setAttribute('poked', other.getAttribute('n'));
require('http/v4/response').print('poked after ' + other.getAttribute('n'));",
        ),
        ("hello.js", HELLO),
    ];
    let blimp = Blimp::start(&files, &["--workers", "1"]);
    let client = client();
    let (_, id) = get(&client, &blimp.url("/id"));
    let holder = {
        let (client, url) = (client.clone(), blimp.url("/hold"));
        std::thread::spawn(move || get(&client, &url))
    };
    std::thread::sleep(Duration::from_millis(200));
    let poker = {
        let url = blimp.url(&format!("/poke?id={id}"));
        std::thread::spawn(move || {
            let started = Instant::now();
            (get(&plain(), &url), started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let hello = timed(&blimp, "/hello");
    assert!(hello.2 < Duration::from_millis(300), "{hello:?}");
    assert_eq!(holder.join().unwrap(), (200, "held".to_string()));
    let ((status, body), took) = poker.join().unwrap();
    assert_eq!(
        (status, body.as_str()),
        (200, "poked after 1"),
        "it waited for the lock"
    );
    assert!(took >= Duration::from_millis(500), "{took:?}");
}

/// Two requests that each hold their own session and change the other's
/// wait for each other: one ends at `--session-lock-timeout` (503), and
/// the other then gets its lock and answers. The worker serves on.
#[test]
fn two_requests_waiting_for_each_others_sessions_end_at_the_lock_timeout() {
    let files = [
        (
            "id.js",
            "require('http/v4/response').print(require('http/v4/session').getId());",
        ),
        (
            "swap.mjs",
            "import { session, request, response } from 'sdk/http';
import { sessions } from 'sdk/http';
session.setAttribute('mine', true);
await new Promise(resolve => setTimeout(resolve, 300));
sessions.get(request.getParameter('other')).setAttribute('touched', true);
response.print('swapped');",
        ),
        ("hello.js", HELLO),
    ];
    let blimp = Blimp::start(&files, &["--workers", "1", "--session-lock-timeout", "1s"]);
    let (first, second) = (client(), client());
    let (_, a) = get(&first, &blimp.url("/id"));
    let (_, b) = get(&second, &blimp.url("/id"));
    let swap = |client: reqwest::blocking::Client, other: &str| {
        let url = blimp.url(&format!("/swap?other={other}"));
        std::thread::spawn(move || get(&client, &url))
    };
    let (one, two) = (swap(first, &b), swap(second, &a));
    std::thread::sleep(Duration::from_millis(500));
    let hello = timed(&blimp, "/hello");
    assert!(hello.2 < Duration::from_millis(300), "{hello:?}");
    let mut answers = [one.join().unwrap(), two.join().unwrap()];
    answers.sort();
    assert_eq!(answers[0], (200, "swapped".to_string()), "{answers:?}");
    assert_eq!(answers[1].0, 503, "{answers:?}");
    assert!(
        answers[1].1.contains("--session-lock-timeout"),
        "{answers:?}"
    );
    assert_eq!(timed(&blimp, "/hello").0, 200, "and it serves on");
}

#[test]
fn what_a_script_leaves_pending() {
    let files = [
        (
            "forever.js",
            "new Promise(() => {}); require('http/v4/response').print('ended');",
        ),
        (
            "interval.js",
            "const response = require('http/v4/response');
setInterval(() => {}, 10);
response.print('closed');
response.close();",
        ),
        (
            "arm.js",
            "globalThis.fired = false;
setTimeout(() => { globalThis.fired = true; }, 100);
throw new Error('failed with a timer set');",
        ),
        (
            "lost.js",
            "async function save() { throw new Error('lost on the way'); }
save();
const late = Promise.reject(new Error('handled later'));
setTimeout(() => late.catch(() => {}), 10);
require('http/v4/response').print('answered');",
        ),
        (
            "many.js",
            "for (let i = 0; i < 25; i++) Promise.reject(new Error('many ' + i + '!'));
require('http/v4/response').print('answered');",
        ),
        (
            "check.js",
            "setTimeout(() => require('http/v4/response').print(String(globalThis.fired)), 300);",
        ),
    ];
    let blimp = Blimp::start(
        &files,
        &["--workers", "1", "--max-contexts", "1", "--timeout", "1s"],
    );
    let (status, body, took) = timed(&blimp, "/forever");
    assert_eq!((status, body.as_str()), (200, "ended"));
    assert!(took < Duration::from_millis(500), "{took:?}");

    let (status, body, took) = timed(&blimp, "/interval");
    assert_eq!((status, body.as_str()), (200, "closed"));
    assert!(
        took < Duration::from_millis(500),
        "the response is sent at close(): {took:?}"
    );
    assert!(blimp.wait_for_log("interval.js: script stopped: it ran longer than the timeout"));
    assert!(
        blimp.wait_for_log("(after the response was closed: the client has it whole)"),
        "{}",
        blimp.log()
    );

    // A rejection nothing handles is a warning, not a failed request.
    assert_eq!(timed(&blimp, "/lost").0, 200);
    assert!(
        blimp.wait_for_log(
            "lost.js: a promise was rejected and nothing handled it: Error: lost on the way"
        ),
        "{}",
        blimp.log()
    );
    assert!(!blimp.log().contains("handled later"), "{}", blimp.log());
    // Reported ten at a time at most.
    assert_eq!(timed(&blimp, "/many").0, 200);
    assert!(
        blimp.wait_for_log("many.js: and 15 more such promises"),
        "{}",
        blimp.log()
    );
    assert!(blimp.log().contains("Error: many 9!"), "{}", blimp.log());
    assert!(!blimp.log().contains("Error: many 10!"), "{}", blimp.log());

    assert_eq!(timed(&blimp, "/arm").0, 500);
    let (status, body, _) = timed(&blimp, "/check");
    assert_eq!(
        (status, body.as_str()),
        (200, "false"),
        "a timer never fires in another request"
    );
}

#[test]
fn limits_hold_for_scripts_that_wait() {
    let files = [
        (
            "sleepy.js",
            "setTimeout(() => require('http/v4/response').print('late'), 10000);",
        ),
        (
            "jobs.js",
            "function again() { Promise.resolve().then(again); } again();",
        ),
        (
            "later.js",
            "setTimeout(() => { let s = 'x'; for (;;) s += s; }, 10);",
        ),
        ("hello.js", HELLO),
    ];
    // Room enough for the memory limit to come first on a loaded machine.
    let blimp = Blimp::start(&files, &["--timeout", "2s", "--max-script-memory", "16M"]);
    for path in ["/sleepy", "/jobs"] {
        let (status, body, took) = timed(&blimp, path);
        assert_eq!(status, 503, "{path}: {body}");
        assert!(body.contains("--timeout"), "{path}: {body}");
        assert!(took < Duration::from_secs(6), "{path}: {took:?}");
    }
    let (status, body, _) = timed(&blimp, "/later");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("--max-script-memory"), "{body}");
    assert_eq!(
        get(&plain(), &blimp.url("/hello")),
        (200, "hello".to_string())
    );
}

/// `HTTP_PROXY` and `NO_PROXY`, as the environment names them: requests go
/// through the proxy (here a server that answers whatever it is asked for),
/// but for the hosts `NO_PROXY` names.
#[test]
fn fetch_and_the_client_use_the_proxy_of_the_environment() {
    let proxy = Upstream::start();
    let script = "import { response, client } from 'sdk/http';
const results = {};
try { results.fetch = await (await fetch('http://through.invalid/json')).json(); } catch (e) { results.fetch = e.message; }
try { results.client = JSON.parse(client.get('http://through.invalid/json').text); } catch (e) { results.client = e.message; }
try { await fetch('http://direct.invalid/json'); results.direct = 'fetched'; } catch (e) { results.direct = e.message; }
response.json(results);";
    let address = format!("http://{}", proxy.addr);
    let blimp = Blimp::start_with_env(
        &[("t.mjs", script)],
        &[],
        &[("HTTP_PROXY", &address), ("NO_PROXY", "direct.invalid")],
    );
    let (status, body) = get(&plain(), &blimp.url("/t"));
    assert_eq!(status, 200, "{body}");
    let got = json(&body);
    let upstream_json = serde_json::json!({"hello": "world", "n": 1});
    assert_eq!(got["fetch"], upstream_json, "{got}");
    assert_eq!(got["client"], upstream_json, "{got}");
    assert!(
        got["direct"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown host direct.invalid"),
        "{got}"
    );
    assert_eq!(proxy.served.load(std::sync::atomic::Ordering::SeqCst), 2);
}
