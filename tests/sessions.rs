//! The session contract of API.md, one suite run against every store:
//! memory, SQLite and Redis (a real redis-server on a free port).

mod common;
use common::*;
use std::time::Duration;

/// Where a suite's sessions live; holds what must outlive the server.
pub struct Store {
    args: Vec<String>,
    _redis: Option<Redis>,
    _dir: Option<tempfile::TempDir>,
}

impl Store {
    fn memory() -> Store {
        Store {
            args: vec!["--session-store".into(), "memory".into()],
            _redis: None,
            _dir: None,
        }
    }

    fn sqlite() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!("sqlite:{}", dir.path().join("sessions.db").display());
        Store {
            args: vec!["--session-store".into(), spec],
            _redis: None,
            _dir: Some(dir),
        }
    }

    fn redis() -> Store {
        let redis = Redis::start();
        Store {
            args: vec!["--session-store".into(), redis.url()],
            _redis: Some(redis),
            _dir: None,
        }
    }

    fn start(&self, files: &[(&str, &str)], extra: &[&str]) -> Blimp {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        Blimp::start(files, &args)
    }
}

const S: &str = "const session = require('http/v4/session'), response = require('http/v4/response'), request = require('http/v4/request');\n";

/// The usual scripts: /set?n=&v= (JSON), /get?n=, /names, /info, /inc?n=, /incs.
fn kit() -> Vec<(&'static str, String)> {
    vec![
        ("set.js", format!("{S}session.setAttribute(request.getParameter('n'), JSON.parse(request.getParameter('v')));")),
        ("unset.js", format!("{S}session.setAttribute(request.getParameter('n'), undefined);")),
        ("remove.js", format!("{S}session.removeAttribute(request.getParameter('n'));")),
        ("get.js", format!("{S}response.json({{v: session.getAttribute(request.getParameter('n'))}});")),
        ("names.js", format!("{S}response.json(session.getAttributeNames());")),
        ("info.js", format!("{S}response.json({{isNew: session.isNew(), names: session.getAttributeNames(), idle: session.getMaxInactiveInterval()}});")),
        ("id.js", format!("{S}response.print(session.getId());")),
        ("inc.js", format!("{S}response.print(session.increment(request.getParameter('n') || 'n'));")),
        ("incs.js", format!("{S}response.print([session.increment('f', 0.5), session.increment('f'), session.increment('big', 2 ** 40),
  session.increment('neg', -3), Object.is(session.increment('z', 0), 0), 1 / session.increment('z', -0)].join());")),
        ("naive.js", format!("{S}session.setAttribute('n', (session.getAttribute('n') || 0) + 1);")),
        ("hello.js", format!("{S}response.print('hello');")),
        ("plain.js", "require('http/v4/response').print('plain');".to_string()),
        ("cached.js", format!("{S}response.setHeader('Cache-Control', 'private, max-age=60'); response.print(session.getAttribute('x'));")),
    ]
}

fn start_kit(store: &Store, extra: &[&str]) -> Blimp {
    let files = kit();
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    store.start(&files, extra)
}

fn set_cookie(reply: &Reply) -> Option<String> {
    reply.header("set-cookie")
}

fn sid_of(cookie: &str) -> String {
    cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("sid=")
        .to_string()
}

fn send(client: &reqwest::blocking::Client, url: &str) -> Reply {
    Reply::read(client.get(url).send().unwrap())
}

fn with_sid(url: &str, sid: &str) -> Reply {
    Reply::read(
        plain()
            .get(url)
            .header("Cookie", format!("sid={sid}"))
            .send()
            .unwrap(),
    )
}

fn lazy_creation_and_cookie_attributes(store: Store) {
    let blimp = start_kit(&store, &[]);
    let client = client();
    for path in ["/get?n=x", "/names", "/info", "/hello"] {
        let reply = send(&client, &blimp.url(path));
        assert_eq!(reply.status(), 200, "{path}");
        assert!(
            set_cookie(&reply).is_none(),
            "{path} must not create a session"
        );
    }
    let reply = send(&client, &blimp.url("/set?n=x&v=1"));
    let cookie = set_cookie(&reply).expect("a write creates the session");
    for part in ["sid=", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    for absent in ["Max-Age", "Expires", "Secure"] {
        assert!(!cookie.contains(absent), "{absent} in {cookie}");
    }
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    let id = sid_of(&cookie);
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4", "UUID v4");
    // Known session: no new cookie, value there, and still never cached
    // (the Back button after logout must not show it).
    let reply = send(&client, &blimp.url("/get?n=x"));
    assert!(set_cookie(&reply).is_none());
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(json(&reply.text().unwrap())["v"], 1);
    let reply = send(&client, &blimp.url("/hello"));
    assert_eq!(
        reply.header("cache-control").as_deref(),
        Some("no-store"),
        "the request has a session"
    );
    assert_eq!(
        reply.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let reply = send(&client, &blimp.url("/cached"));
    assert_eq!(
        reply.header("cache-control").as_deref(),
        Some("private, max-age=60"),
        "the script decides"
    );
    let reply = send(&plain(), &blimp.url("/plain"));
    assert!(
        reply.header("cache-control").is_none(),
        "no session, no opinion"
    );
    let reply = send(&client, &blimp.url("/plain"));
    assert_eq!(
        reply.header("cache-control").as_deref(),
        Some("no-store"),
        "a request with a session"
    );
    // getId creates too.
    assert!(set_cookie(&send(&plain(), &blimp.url("/id"))).is_some());
    // The log never holds a whole id.
    assert!(!blimp.log().contains(&id), "full session id in the log");
}

fn every_json_value_round_trips(store: Store) {
    let blimp = start_kit(&store, &[]);
    let client = client();
    let values = [
        r#""text with ünïcode ✓""#,
        "42",
        "-3.25",
        "0",
        "true",
        "false",
        "null",
        "[1,\"a\",[2,{\"b\":null}]]",
        r#"{"nested":{"deep":{"list":[1,2,3],"flag":true}},"empty":{},"arr":[]}"#,
    ];
    for (i, value) in values.iter().enumerate() {
        let url = format!("{}?n=k{i}&v={}", blimp.url("/set"), urlencode(value));
        assert_eq!(send(&client, &url).status(), 200);
    }
    for (i, value) in values.iter().enumerate() {
        let body = json(
            &send(&client, &blimp.url(&format!("/get?n=k{i}")))
                .text()
                .unwrap(),
        );
        assert_eq!(body["v"], json(value), "k{i}");
    }
    // undefined removes; removeAttribute removes.
    send(&client, &blimp.url("/unset?n=k0"));
    send(&client, &blimp.url("/remove?n=k1"));
    let names = json(&send(&client, &blimp.url("/names")).text().unwrap());
    assert_eq!(
        names,
        serde_json::json!(["k2", "k3", "k4", "k5", "k6", "k7", "k8"]),
        "first-set order"
    );
    // Overwriting keeps the position.
    send(&client, &blimp.url("/set?n=k2&v=7"));
    let names = json(&send(&client, &blimp.url("/names")).text().unwrap());
    assert_eq!(names[0], "k2");
    // Counts come back as JavaScript numbers, whole or not.
    let counts = send(&client, &blimp.url("/incs")).text().unwrap();
    assert_eq!(counts, "0.5,1.5,1099511627776,-3,true,Infinity");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn unstorable_values_are_type_errors(store: Store) {
    let script = format!("{S}session.setAttribute('ok', 1); const out = [];
const cyclic = {{}}; cyclic.self = cyclic;
for (const [name, v] of [['f', () => 1], ['s', Symbol('x')], ['b', 10n], ['c', cyclic], ['nested', {{a: {{f() {{}}}}}}]]) {{
  try {{ session.setAttribute(name, v); out.push(name + ':stored'); }} catch (e) {{ out.push(name + ':' + e.name); }}
}}
response.json({{out, names: session.getAttributeNames()}});");
    let blimp = store.start(&[("t.js", &script), ("ok.js", "")], &[]);
    let body = json(&send(&client(), &blimp.url("/t")).text().unwrap());
    assert_eq!(
        body["out"],
        serde_json::json!([
            "f:TypeError",
            "s:TypeError",
            "b:TypeError",
            "c:TypeError",
            "nested:TypeError"
        ])
    );
    assert_eq!(body["names"], serde_json::json!(["ok"]), "nothing stored");
    assert_eq!(send(&plain(), &blimp.url("/ok")).status(), 200);
}

fn is_new_id_and_times(store: Store) {
    let script = format!("{S}const before = session.isNew(); session.setAttribute('x', 1);
const c = session.getCreationTime(), a = session.getLastAccessedTime();
response.json({{before, after: session.isNew(), id: session.getId(), dates: c instanceof Date && a instanceof Date, created: c.getTime(), accessed: a.getTime(), valid: session.isValid()}});");
    let blimp = store.start(&[("t.js", &script)], &[]);
    let client = client();
    let first = json(&send(&client, &blimp.url("/t")).text().unwrap());
    assert_eq!(first["before"], true);
    assert_eq!(first["after"], true);
    assert_eq!(first["dates"], true);
    assert_eq!(first["valid"], true);
    std::thread::sleep(Duration::from_millis(20));
    let second = json(&send(&client, &blimp.url("/t")).text().unwrap());
    assert_eq!(second["before"], false);
    assert_eq!(second["after"], false);
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["created"], first["created"]);
    assert!(second["accessed"].as_f64() >= first["accessed"].as_f64());
    assert!(first["created"].as_f64().unwrap() > 1.7e12, "a real Date");
}

fn invalidate_then_new_session(store: Store) {
    let blimp = store.start(
        &[
            ("login.js", &format!("{S}session.setAttribute('user', 'ann'); response.print(session.getId());")),
            ("logout.js", &format!("{S}session.invalidate(); response.json({{after: session.getAttribute('user'), names: session.getAttributeNames()}});")),
            ("relogin.js", &format!("{S}session.invalidate(); session.setAttribute('user', 'bob'); response.print(session.getId());")),
            ("who.js", &format!("{S}response.json({{user: session.getAttribute('user')}});")),
        ],
        &[],
    );
    let client = client();
    let old = send(&client, &blimp.url("/login")).text().unwrap();
    let reply = send(&client, &blimp.url("/logout"));
    assert_eq!(
        json(&reply.text().unwrap()),
        serde_json::json!({"after": null, "names": []})
    );
    let cookie = set_cookie(&reply).expect("logout clears the cookie");
    assert!(
        cookie.contains("Max-Age=0") && cookie.contains("HttpOnly") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert_eq!(
        json(&with_sid(&blimp.url("/who"), &old).text().unwrap())["user"],
        serde_json::Value::Null,
        "the old id is dead"
    );
    // Invalidate then write in the same request: a new, different session.
    let client = common::client();
    let first = send(&client, &blimp.url("/login")).text().unwrap();
    let second = send(&client, &blimp.url("/relogin")).text().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        json(&send(&client, &blimp.url("/who")).text().unwrap())["user"],
        "bob"
    );
    assert_eq!(
        json(&with_sid(&blimp.url("/who"), &first).text().unwrap())["user"],
        serde_json::Value::Null
    );
}

fn regenerate_id_keeps_attributes(store: Store) {
    let blimp = store.start(
        &[
            ("login.js", &format!("{S}session.setAttribute('user', 'ann'); response.print(session.getId());")),
            ("regen.js", &format!("{S}const old = session.getId(); const fresh = session.regenerateId(); response.json({{old, fresh, id: session.getId(), user: session.getAttribute('user')}});")),
            ("who.js", &format!("{S}response.json({{user: session.getAttribute('user')}});")),
        ],
        &[],
    );
    let client = client();
    let old = send(&client, &blimp.url("/login")).text().unwrap();
    let reply = send(&client, &blimp.url("/regen"));
    let cookie = set_cookie(&reply).expect("the new id is sent");
    let body = json(&reply.text().unwrap());
    assert_eq!(body["old"], old.as_str());
    assert_ne!(body["fresh"], old.as_str());
    assert_eq!(body["id"], body["fresh"]);
    assert_eq!(sid_of(&cookie), body["fresh"].as_str().unwrap());
    assert_eq!(body["user"], "ann");
    assert_eq!(
        json(&send(&client, &blimp.url("/who")).text().unwrap())["user"],
        "ann",
        "attributes kept"
    );
    assert_eq!(
        json(&with_sid(&blimp.url("/who"), &old).text().unwrap())["user"],
        serde_json::Value::Null,
        "old id dead at once"
    );
}

fn sessions_lookup_and_count(store: Store) {
    let blimp = store.start(
        &[
            ("login.js", &format!("{S}session.setAttribute('user', request.getParameter('u')); response.print(session.getId());")),
            ("admin.js", &format!("{S}const sessions = require('http/v4/sessions');
const other = sessions.get(request.getParameter('id'));
if (other === null) {{ response.json({{found: false}}); }} else {{
  const before = other.getAttribute('user'); other.setAttribute('flag', true); other.increment('hits');
  response.json({{found: true, id: other.getId(), before, names: other.getAttributeNames(), idle: other.getMaxInactiveInterval(), created: other.getCreationTime() instanceof Date, count: sessions.count(), isNew: typeof other.isNew, regen: typeof other.regenerateId}});
}}")),
            ("kill.js", &format!("{S}require('http/v4/sessions').get(request.getParameter('id')).invalidate();")),
            ("who.js", &format!("{S}response.json({{user: session.getAttribute('user'), flag: session.getAttribute('flag'), hits: session.getAttribute('hits')}});")),
        ],
        &[],
    );
    let ann = client();
    let ann_id = send(&ann, &blimp.url("/login?u=ann")).text().unwrap();
    let bob = client();
    send(&bob, &blimp.url("/login?u=bob"));
    let body = json(
        &send(&bob, &blimp.url(&format!("/admin?id={ann_id}")))
            .text()
            .unwrap(),
    );
    assert_eq!(body["found"], true);
    assert_eq!(body["id"], ann_id.as_str());
    assert_eq!(body["before"], "ann");
    assert_eq!(body["names"], serde_json::json!(["user", "flag", "hits"]));
    assert_eq!(body["idle"], 1800);
    assert_eq!(body["created"], true);
    assert!(body["count"].as_f64().unwrap() >= 2.0);
    assert_eq!(body["isNew"], "undefined");
    assert_eq!(body["regen"], "undefined");
    assert_eq!(
        json(&send(&ann, &blimp.url("/who")).text().unwrap()),
        serde_json::json!({"user": "ann", "flag": true, "hits": 1})
    );
    for unknown in ["0b7e5e6a-1f2d-4c3b-9a8e-7d6c5b4a3f2e", "not-an-id", ""] {
        let body = json(
            &send(&bob, &blimp.url(&format!("/admin?id={unknown}")))
                .text()
                .unwrap(),
        );
        assert_eq!(body["found"], false, "{unknown}");
    }
    send(&bob, &blimp.url(&format!("/kill?id={ann_id}")));
    assert_eq!(
        json(&send(&ann, &blimp.url("/who")).text().unwrap())["user"],
        serde_json::Value::Null
    );
}

fn idle_and_absolute_expiry(store: Store) {
    let blimp = start_kit(&store, &["--session-idle", "1"]);
    let client = client();
    send(&client, &blimp.url("/set?n=x&v=1"));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        json(&send(&client, &blimp.url("/get?n=x")).text().unwrap())["v"],
        1,
        "still alive"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let reply = send(&client, &blimp.url("/info"));
    assert_eq!(
        json(&reply.text().unwrap())["names"],
        serde_json::json!([]),
        "expired after idling"
    );
    assert!(
        set_cookie(&reply).is_none(),
        "reading an expired session creates nothing"
    );
    drop(blimp);

    // Per-session idle timeout.
    let script = format!("{S}if (request.getParameter('short')) session.setMaxInactiveInterval(1); session.setAttribute('x', 1); response.print(session.getMaxInactiveInterval());");
    let blimp = store.start(
        &[
            ("t.js", &script),
            (
                "get.js",
                &format!("{S}response.print(String(session.getAttribute('x')));"),
            ),
        ],
        &[],
    );
    let short = common::client();
    assert_eq!(send(&short, &blimp.url("/t?short=1")).text().unwrap(), "1");
    let long = common::client();
    assert_eq!(send(&long, &blimp.url("/t")).text().unwrap(), "1800");
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(send(&short, &blimp.url("/get")).text().unwrap(), "null");
    assert_eq!(send(&long, &blimp.url("/get")).text().unwrap(), "1");
    drop(blimp);

    // Absolute lifetime, even while active.
    let blimp = start_kit(&store, &["--session-max-age", "2"]);
    let client = common::client();
    send(&client, &blimp.url("/set?n=x&v=1"));
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            json(&send(&client, &blimp.url("/get?n=x")).text().unwrap())["v"],
            1
        );
    }
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        json(&send(&client, &blimp.url("/get?n=x")).text().unwrap())["v"],
        serde_json::Value::Null
    );
}

fn forged_and_malformed_ids_are_never_adopted(store: Store) {
    let blimp = start_kit(&store, &[]);
    for forged in [
        "0b7e5e6a-1f2d-4c3b-9a8e-7d6c5b4a3f2e",
        "../../etc",
        "AAAAAAAA-1F2D-4C3B-9A8E-7D6C5B4A3F2E",
        "x".repeat(5000).as_str(),
    ] {
        let info = json(&with_sid(&blimp.url("/info"), forged).text().unwrap());
        assert_eq!(info["isNew"], true, "{forged}");
        let reply = with_sid(&blimp.url("/set?n=x&v=1"), forged);
        let cookie = set_cookie(&reply).expect("a write creates a session");
        assert_ne!(sid_of(&cookie), forged, "the client's id is not adopted");
    }
}

fn secure_cookie_on_https(store: Store) {
    let blimp = start_kit(&store, &["--secure-cookies"]);
    assert!(set_cookie(&send(&plain(), &blimp.url("/id")))
        .unwrap()
        .contains("Secure"));
    drop(blimp);
    let blimp = start_kit(&store, &["--trust-proxy", "--session-cookie", "APPSESSION"]);
    let reply = Reply::read(
        plain()
            .get(blimp.url("/id"))
            .header("X-Forwarded-Proto", "https")
            .send()
            .unwrap(),
    );
    let cookie = set_cookie(&reply).unwrap();
    assert!(
        cookie.starts_with("APPSESSION=") && cookie.contains("Secure"),
        "{cookie}"
    );
    let reply = send(&plain(), &blimp.url("/id"));
    assert!(!set_cookie(&reply).unwrap().contains("Secure"));
}

/// Fires `n` requests at once from `threads` threads, all with one cookie.
fn storm(urls: Vec<String>, sid: &str, threads: usize) {
    let urls = std::sync::Arc::new(std::sync::Mutex::new(urls));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (urls, sid) = (urls.clone(), sid.to_string());
            std::thread::spawn(move || {
                let client = plain();
                loop {
                    let Some(url) = urls.lock().unwrap().pop() else {
                        return;
                    };
                    let reply = Reply::read(
                        client
                            .get(&url)
                            .header("Cookie", format!("sid={sid}"))
                            .send()
                            .unwrap(),
                    );
                    assert_eq!(reply.status(), 200, "{url}: {:?}", reply.text());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

fn concurrent_writes_are_never_lost(store: Store) {
    let blimp = start_kit(&store, &[]);
    let client = client();
    let sid = send(&client, &blimp.url("/id")).text().unwrap();
    let mut urls = Vec::new();
    for i in 0..100 {
        urls.push(blimp.url(&format!("/set?n=a{i}&v={i}")));
        urls.push(blimp.url("/inc?n=n"));
    }
    storm(urls, &sid, 32);
    let names = json(&send(&client, &blimp.url("/names")).text().unwrap());
    for i in 0..100 {
        assert!(
            names
                .as_array()
                .unwrap()
                .contains(&serde_json::json!(format!("a{i}"))),
            "a{i} lost"
        );
    }
    assert_eq!(
        json(&send(&client, &blimp.url("/get?n=n")).text().unwrap())["v"],
        100
    );
    // The naive read-modify-write loses nothing either.
    storm(vec![blimp.url("/naive"); 200], &sid, 32);
    assert_eq!(
        json(&send(&client, &blimp.url("/get?n=n")).text().unwrap())["v"],
        300
    );
}

fn bounds_have_clear_errors(store: Store) {
    let script = format!(
        "{S}const what = request.getParameter('what'); try {{
  if (what === 'big') session.setAttribute('big', 'x'.repeat(200));
  if (what === 'many') for (let i = 0; i < 5; i++) session.setAttribute('k' + i, i);
  if (what === 'nan') {{ session.setAttribute('s', 'text'); session.increment('s'); }}
  if (what === 'delta') session.increment('n', 'one');
  response.print('stored');
}} catch (e) {{ response.print(e.name + ': ' + e.message); }}"
    );
    let late = format!("{S}response.print('x'); response.flush(); try {{ session.setAttribute('a', 1); }} catch (e) {{ response.print(' ' + e.message); }}");
    let blimp = store.start(
        &[("t.js", &script), ("late.js", &late), ("ok.js", "")],
        &[
            "--session-max-value",
            "100",
            "--session-max-attributes",
            "3",
        ],
    );
    let run = |what: &str| {
        send(&client(), &blimp.url(&format!("/t?what={what}")))
            .text()
            .unwrap()
    };
    let big = run("big");
    assert!(
        big.starts_with("RangeError") && big.contains("--session-max-value"),
        "{big}"
    );
    let many = run("many");
    assert!(
        many.starts_with("RangeError") && many.contains("at most 3"),
        "{many}"
    );
    assert!(run("nan").starts_with("TypeError"), "increment of text");
    assert!(
        run("delta").starts_with("TypeError"),
        "increment by a string"
    );
    assert_eq!(
        send(&plain(), &blimp.url("/late")).text().unwrap(),
        "x response already committed; touch the session before flush()"
    );
    assert_eq!(send(&plain(), &blimp.url("/ok")).status(), 200);
}

fn lock_wait_is_bounded(store: Store) {
    let slow = format!("{S}session.setAttribute('x', 1); const end = Date.now() + 2000; while (Date.now() < end) {{}}");
    let blimp = store.start(
        &[
            ("slow.js", &slow),
            ("id.js", &format!("{S}response.print(session.getId());")),
            (
                "get.js",
                &format!("{S}response.print(String(session.getAttribute('x')));"),
            ),
            ("hello.js", &format!("{S}response.print('hi');")),
        ],
        &["--session-lock-timeout", "0.5"],
    );
    let sid = send(&plain(), &blimp.url("/id")).text().unwrap();
    // Warm both workers' knowledge that these scripts use the session.
    for _ in 0..4 {
        with_sid(&blimp.url("/get"), &sid);
    }
    let url = blimp.url("/slow");
    let sid2 = sid.clone();
    let holder = std::thread::spawn(move || with_sid(&url, &sid2).status());
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let reply = with_sid(&blimp.url("/get"), &sid);
    assert_eq!(reply.status(), 503, "{:?}", reply.text());
    assert!(json(&reply.text().unwrap())["message"]
        .as_str()
        .unwrap()
        .contains("another request of this session"));
    assert!(started.elapsed() < Duration::from_millis(1800));
    // Other sessions never wait.
    assert_eq!(send(&plain(), &blimp.url("/hello")).text().unwrap(), "hi");
    assert_eq!(holder.join().unwrap(), 200);
    assert_eq!(with_sid(&blimp.url("/get"), &sid).text().unwrap(), "1");
}

/// A request that fails while another of its session waits: the waiting
/// one gets the session as it was, and the failed one's changes are gone.
fn a_failed_request_leaves_the_session_to_the_next(store: Store) {
    let failing = format!("{S}session.getAttribute('a'); session.setAttribute('a', 'lost'); const end = Date.now() + 600; while (Date.now() < end) {{}} throw new Error('boom');");
    let blimp = store.start(
        &[
            ("fail.js", &failing),
            ("set.js", &format!("{S}session.setAttribute('a', 'kept');")),
            (
                "get.js",
                &format!("{S}response.print(String(session.getAttribute('a')));"),
            ),
        ],
        &["--workers", "1"],
    );
    let sid = sid_of(&set_cookie(&send(&plain(), &blimp.url("/set"))).unwrap());
    // Learned once: both scripts use the session (loaded before they run).
    assert_eq!(with_sid(&blimp.url("/get"), &sid).text().unwrap(), "kept");
    let url = blimp.url("/fail");
    let holder = {
        let sid = sid.clone();
        std::thread::spawn(move || with_sid(&url, &sid).status())
    };
    std::thread::sleep(Duration::from_millis(200));
    let reply = with_sid(&blimp.url("/get"), &sid);
    assert_eq!(holder.join().unwrap(), 500);
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.text().unwrap(), "kept");
    assert_eq!(with_sid(&blimp.url("/get"), &sid).text().unwrap(), "kept");
}

/// `sessions.get` of a session that requests on the same worker hold or
/// wait for: a read never waits for the lock; a change that would wait
/// forever fails at once. Nothing hangs, and no count is lost.
fn another_busy_session_never_stalls_the_worker(store: Store) {
    let lookup = "const sessions = require('http/v4/sessions'), request = require('http/v4/request'), response = require('http/v4/response');\nconst other = sessions.get(request.getParameter('id'));\n";
    let mut files = kit();
    files.push((
        "peek.js",
        format!("{lookup}response.print(String(other.getAttribute('n')));"),
    ));
    files.push((
        "poke.js",
        format!("{lookup}other.setAttribute('poked', true); response.print('poked');"),
    ));
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let blimp = store.start(&files, &["--workers", "1", "--session-lock-timeout", "5"]);
    let sid = send(&plain(), &blimp.url("/id")).text().unwrap();
    assert_eq!(with_sid(&blimp.url("/inc?n=n"), &sid).text().unwrap(), "1");
    let owners: Vec<_> = (0..4)
        .map(|_| {
            let (url, sid) = (blimp.url("/inc?n=n"), sid.clone());
            std::thread::spawn(move || {
                for _ in 0..100 {
                    assert_eq!(with_sid(&url, &sid).status(), 200);
                }
            })
        })
        .collect();
    let lookers: Vec<_> = ["/peek", "/poke"]
        .into_iter()
        .map(|path| {
            let url = blimp.url(&format!("{path}?id={sid}"));
            std::thread::spawn(move || {
                let client = plain();
                for _ in 0..100 {
                    let started = std::time::Instant::now();
                    let reply = send(&client, &url);
                    assert!(started.elapsed() < Duration::from_secs(2), "{url} stalled");
                    let body = reply.text().unwrap();
                    match (path, reply.status()) {
                        ("/peek", 200) => assert!(body.parse::<u32>().is_ok(), "{body}"),
                        ("/poke", 200) => assert_eq!(body, "poked"),
                        ("/poke", 503) => assert!(
                            body.contains("in use by another request on this worker"),
                            "{body}"
                        ),
                        (_, status) => panic!("{path}: {status} {body}"),
                    }
                }
            })
        })
        .collect();
    for thread in owners.into_iter().chain(lookers) {
        thread.join().unwrap();
    }
    assert_eq!(
        with_sid(&blimp.url("/get?n=n"), &sid).text().unwrap(),
        r#"{"v":401}"#
    );
}

macro_rules! suite {
    ($store:ident) => {
        mod $store {
            use super::*;
            #[test]
            fn lazy_creation_and_cookie_attributes() {
                super::lazy_creation_and_cookie_attributes(Store::$store())
            }
            #[test]
            fn every_json_value_round_trips() {
                super::every_json_value_round_trips(Store::$store())
            }
            #[test]
            fn unstorable_values_are_type_errors() {
                super::unstorable_values_are_type_errors(Store::$store())
            }
            #[test]
            fn is_new_id_and_times() {
                super::is_new_id_and_times(Store::$store())
            }
            #[test]
            fn invalidate_then_new_session() {
                super::invalidate_then_new_session(Store::$store())
            }
            #[test]
            fn regenerate_id_keeps_attributes() {
                super::regenerate_id_keeps_attributes(Store::$store())
            }
            #[test]
            fn sessions_lookup_and_count() {
                super::sessions_lookup_and_count(Store::$store())
            }
            #[test]
            fn idle_and_absolute_expiry() {
                super::idle_and_absolute_expiry(Store::$store())
            }
            #[test]
            fn forged_and_malformed_ids_are_never_adopted() {
                super::forged_and_malformed_ids_are_never_adopted(Store::$store())
            }
            #[test]
            fn secure_cookie_on_https() {
                super::secure_cookie_on_https(Store::$store())
            }
            #[test]
            fn concurrent_writes_are_never_lost() {
                super::concurrent_writes_are_never_lost(Store::$store())
            }
            #[test]
            fn bounds_have_clear_errors() {
                super::bounds_have_clear_errors(Store::$store())
            }
            #[test]
            fn lock_wait_is_bounded() {
                super::lock_wait_is_bounded(Store::$store())
            }
            #[test]
            fn a_failed_request_leaves_the_session_to_the_next() {
                super::a_failed_request_leaves_the_session_to_the_next(Store::$store())
            }
            #[test]
            fn another_busy_session_never_stalls_the_worker() {
                super::another_busy_session_never_stalls_the_worker(Store::$store())
            }
        }
    };
}

suite!(memory);
suite!(sqlite);
suite!(redis);

#[test]
fn memory_store_evicts_at_its_cap() {
    let store = Store::memory();
    let blimp = start_kit(&store, &["--session-max-count", "32"]);
    for _ in 0..200 {
        send(&plain(), &blimp.url("/id"));
    }
    assert!(blimp.wait_for_log("evicted the least recently used session(s)"));
    assert_eq!(
        blimp
            .log()
            .matches("evicted the least recently used")
            .count(),
        1,
        "said once, not at every eviction"
    );
    let counter = format!("{S}response.print(require('http/v4/sessions').count());");
    write(&blimp.scripts, "count.js", &counter);
    let n: u64 = send(&plain(), &blimp.url("/count"))
        .text()
        .unwrap()
        .parse()
        .unwrap();
    assert!(n <= 32, "{n} sessions live");
}
