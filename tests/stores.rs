//! The shared stores as a user meets them: SQLite across restarts, crashes
//! and two processes on one file; Redis across instances, outages and
//! expiry. Each test runs real blimp processes (and a real redis-server).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{client, free_port, get, json, plain, Blimp, Redis};

const S: &str = "const session = require('http/v4/session'), response = require('http/v4/response'), request = require('http/v4/request');\n";

/// /set?n=&v= (v is JSON), /get?n=, /names, /id, /inc, /naive, /setk?k=,
/// /invalidate, /count, and /hello, which never touches the session.
fn kit() -> Vec<(&'static str, String)> {
    vec![
        (
            "set.js",
            format!("{S}session.setAttribute(request.getParameter('n'), JSON.parse(request.getParameter('v'))); response.print('ok');"),
        ),
        ("get.js", format!("{S}response.json({{v: session.getAttribute(request.getParameter('n'))}});")),
        ("names.js", format!("{S}response.json(session.getAttributeNames());")),
        ("id.js", format!("{S}response.print(session.getId());")),
        ("inc.js", format!("{S}response.print(session.increment('n'));")),
        (
            "naive.js",
            format!("{S}const n = (session.getAttribute('n') || 0) + 1; session.setAttribute('n', n); response.print(n);"),
        ),
        ("setk.js", format!("{S}session.setAttribute(request.getParameter('k'), 1); response.print('ok');")),
        ("invalidate.js", format!("{S}session.invalidate(); response.print('bye');")),
        ("count.js", format!("{S}response.print(require('http/v4/sessions').count());")),
        ("hello.js", "require('http/v4/response').print('hello');".to_string()),
    ]
}

fn start(args: &[&str]) -> Blimp {
    let files = kit();
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    Blimp::start(&files, args)
}

/// A second instance on the first one's scripts.
fn start_beside(first: &Blimp, args: &[&str]) -> Blimp {
    Blimp::start_in(&first.scripts, args)
}

fn ok(client: &reqwest::blocking::Client, url: &str) -> String {
    let (status, body) = get(client, url);
    assert_eq!(status, 200, "{url}: {body}");
    body
}

fn value(client: &reqwest::blocking::Client, blimp: &Blimp, name: &str) -> serde_json::Value {
    json(&ok(client, &blimp.url(&format!("/get?n={name}"))))["v"].clone()
}

fn names(client: &reqwest::blocking::Client, blimp: &Blimp) -> serde_json::Value {
    json(&ok(client, &blimp.url("/names")))
}

/// GET with an explicit session cookie, outside any cookie jar.
fn with_sid(url: &str, sid: &str) -> (u16, String) {
    let reply = plain()
        .get(url)
        .header("Cookie", format!("sid={sid}"))
        .send()
        .unwrap();
    (reply.status().as_u16(), reply.text().unwrap())
}

/// Sends `total` requests from `threads` threads; `url(i)` names the i-th.
/// Returns every (status, body).
fn storm(
    client: &reqwest::blocking::Client,
    total: usize,
    threads: usize,
    url: impl Fn(usize) -> String + Sync,
) -> Vec<(u16, String)> {
    let next = AtomicUsize::new(0);
    let replies = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    return;
                }
                let reply = get(client, &url(i));
                replies.lock().unwrap().push(reply);
            });
        }
    });
    replies.into_inner().unwrap()
}

fn all_ok(replies: &[(u16, String)]) {
    let failed: Vec<_> = replies
        .iter()
        .filter(|(status, _)| *status != 200)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed, e.g. {:?}",
        failed.len(),
        replies.len(),
        failed.first()
    );
}

// ---------------------------------------------------------------- SQLite

fn sqlite_spec(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("sessions.db").display())
}

#[test]
fn sqlite_session_survives_graceful_and_hard_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sqlite_spec(dir.path());
    let args = ["--session-store", spec.as_str()];
    let user = client();

    let mut blimp = start(&args);
    ok(&user, &blimp.url("/set?n=b&v=%22two%22"));
    ok(&user, &blimp.url("/set?n=a&v=1"));
    ok(
        &user,
        &blimp.url("/set?n=c&v=%7B%22x%22%3A%5B1%2Cnull%5D%7D"),
    );
    let scripts = blimp.scripts.clone();
    let status = blimp.terminate();
    assert!(status.success(), "graceful stop: {status:?}");

    // Same file, new process: everything is there, in first-set order.
    let mut blimp2 = Blimp::start_in(&scripts, &args);
    assert_eq!(names(&user, &blimp2), serde_json::json!(["b", "a", "c"]));
    assert_eq!(value(&user, &blimp2, "b"), serde_json::json!("two"));
    assert_eq!(
        value(&user, &blimp2, "c"),
        serde_json::json!({"x": [1, null]})
    );
    // A write right before a kill -9 is not lost.
    ok(&user, &blimp2.url("/set?n=d&v=true"));
    ok(&user, &blimp2.url("/set?n=a&v=5"));
    blimp2.child.kill().unwrap();
    blimp2.child.wait().unwrap();

    let blimp3 = Blimp::start_in(&scripts, &args);
    assert_eq!(
        names(&user, &blimp3),
        serde_json::json!(["b", "a", "c", "d"])
    );
    assert_eq!(value(&user, &blimp3, "a"), serde_json::json!(5));
    assert_eq!(value(&user, &blimp3, "d"), serde_json::json!(true));
    drop(blimp);
}

#[test]
fn sqlite_two_processes_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sqlite_spec(dir.path());
    let args = ["--session-store", spec.as_str()];
    let a = start(&args);
    let b = start_beside(&a, &args);
    let user = client();

    ok(&user, &a.url("/set?n=cart&v=%5B%22apple%22%5D"));
    assert_eq!(value(&user, &b, "cart"), serde_json::json!(["apple"]));
    ok(
        &user,
        &b.url("/set?n=cart&v=%5B%22apple%22%2C%22pear%22%5D"),
    );
    ok(&user, &b.url("/set?n=user&v=%22ann%22"));
    assert_eq!(
        value(&user, &a, "cart"),
        serde_json::json!(["apple", "pear"])
    );
    assert_eq!(names(&user, &a), serde_json::json!(["cart", "user"]));

    let sid = ok(&user, &a.url("/id"));
    assert_eq!(
        with_sid(&a.url("/get?n=user"), &sid),
        (200, r#"{"v":"ann"}"#.to_string())
    );
    assert_eq!(ok(&user, &b.url("/invalidate")), "bye");
    // The cookie is cleared, and the old id gets nothing on A either.
    assert_eq!(value(&user, &a, "cart"), serde_json::Value::Null);
    assert_eq!(
        with_sid(&a.url("/get?n=cart"), &sid),
        (200, r#"{"v":null}"#.to_string())
    );
    assert_eq!(with_sid(&a.url("/names"), &sid), (200, "[]".to_string()));
}

/// A request that gives up while another process holds its session's lock
/// leaves nothing behind: no false alarm in the log, and the session works
/// for the next request.
#[test]
fn sqlite_request_that_gives_up_waiting_for_another_process_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sqlite_spec(dir.path());
    let args = [
        "--session-store",
        spec.as_str(),
        "--session-lock-timeout",
        "10",
    ];
    let a = start(&args);
    common::write(
        &a.scripts,
        "slow.js",
        &format!("{S}session.setAttribute('slow', 1); const end = Date.now() + 1500; while (Date.now() < end) {{}}"),
    );
    let b = start_beside(&a, &args);
    let sid = ok(&plain(), &a.url("/id"));
    // B learns that /inc uses the session, so it locks it before the script.
    assert_eq!(with_sid(&b.url("/inc"), &sid), (200, "1".to_string()));

    let slow = {
        let (url, sid) = (a.url("/slow"), sid.clone());
        std::thread::spawn(move || with_sid(&url, &sid).0)
    };
    std::thread::sleep(Duration::from_millis(300));
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gave_up = impatient
        .get(b.url("/inc"))
        .header("Cookie", format!("sid={sid}"))
        .send();
    assert!(gave_up.is_err(), "B waits for A's lock");
    assert_eq!(slow.join().unwrap(), 200);
    assert_eq!(with_sid(&b.url("/inc"), &sid), (200, "2".to_string()));
    assert!(
        !b.log().contains("not released"),
        "false alarm in B's log:\n{}",
        b.log()
    );
}

/// Two instances on one store; 200 requests to `path` (which prints the
/// new count) spread over both from 16 threads on one session: each must
/// see the previous one's write, and the count ends at exactly 200.
fn counts_across_two_instances(args: &[&str], path: &str) {
    let a = start(args);
    let b = start_beside(&a, args);
    let user = client();
    ok(&user, &a.url("/id"));

    let replies = storm(&user, 200, 16, |i| {
        if i % 2 == 0 {
            a.url(path)
        } else {
            b.url(path)
        }
    });
    all_ok(&replies);
    let mut seen: Vec<i64> = replies
        .iter()
        .map(|(_, body)| body.parse().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=200).collect::<Vec<i64>>(),
        "each request saw the previous one's write"
    );
    assert_eq!(value(&user, &a, "n"), serde_json::json!(200));
    assert_eq!(value(&user, &b, "n"), serde_json::json!(200));
}

#[test]
fn sqlite_naive_increments_across_two_processes_are_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sqlite_spec(dir.path());
    counts_across_two_instances(&["--session-store", spec.as_str()], "/naive");
}

#[test]
fn sqlite_corrupt_file_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();

    // Garbage bytes: not a SQLite file at all.
    let file = dir.path().join("garbage.db");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &garbage).unwrap();
    let log = refused(&file);
    assert!(
        log.contains("not a SQLite database"),
        "the error says what is wrong:\n{log}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        garbage,
        "the file is left as it was"
    );

    // A real SQLite file with damaged pages: found by the integrity check.
    let file = dir.path().join("damaged.db");
    {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (x);
             WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 5000)
             INSERT INTO t SELECT hex(randomblob(50)) FROM r;",
        )
        .unwrap();
    }
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[3 * 4096 + 100..3 * 4096 + 3100].fill(0xff);
    std::fs::write(&file, &bytes).unwrap();
    let log = refused(&file);
    assert!(
        log.contains("corrupt"),
        "the error says what is wrong:\n{log}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bytes,
        "the file is left as it was"
    );
}

/// Starts blimp on `file`, expects it to exit with an error; returns its log.
fn refused(file: &Path) -> String {
    let scripts = common::scripts(&[("hello.js", "require('http/v4/response').print('hello');")]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_blimp"))
        .args(["--port", "0", "--workers", "1", "--scripts"])
        .arg(scripts.path())
        .arg("--session-store")
        .arg(format!("sqlite:{}", file.display()))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(20));
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        !status.success(),
        "blimp must not start on a corrupt file:\n{log}"
    );
    assert!(!log.contains("listening on"), "{log}");
    assert!(log.contains("ERROR"), "{log}");
    assert!(
        log.contains(&file.display().to_string()),
        "the error names the file:\n{log}"
    );
    log
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("blimp kept running on a corrupt session file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sqlite_expired_sessions_are_deleted_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sqlite_spec(dir.path());
    let db = dir.path().join("sessions.db");
    let blimp = start(&["--session-store", spec.as_str(), "--session-idle", "1"]);
    let rows = || {
        let conn =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        (
            count("SELECT COUNT(*) FROM sessions"),
            count("SELECT COUNT(*) FROM attributes"),
        )
    };
    for _ in 0..3 {
        let user = client();
        ok(&user, &blimp.url("/set?n=a&v=1"));
        ok(&user, &blimp.url("/set?n=b&v=2"));
    }
    assert_eq!(rows(), (3, 6));
    assert_eq!(ok(&plain(), &blimp.url("/count")), "3");

    // Idle for 1 s: dead, and the sweeper (every second here) removes them.
    let until = Instant::now() + Duration::from_secs(10);
    while rows() != (0, 0) {
        assert!(
            Instant::now() < until,
            "expired sessions still in the file: {:?}",
            rows()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(ok(&plain(), &blimp.url("/count")), "0");
}

// ----------------------------------------------------------------- Redis

#[test]
fn redis_session_is_shared_between_instances() {
    let redis = Redis::start();
    let url = redis.url();
    let args = ["--session-store", url.as_str()];
    let a = start(&args);
    let b = start_beside(&a, &args);
    let user = client();

    ok(&user, &a.url("/set?n=cart&v=%5B%22apple%22%5D"));
    ok(&user, &a.url("/set?n=user&v=%22ann%22"));
    assert_eq!(value(&user, &b, "cart"), serde_json::json!(["apple"]));
    ok(
        &user,
        &b.url("/set?n=cart&v=%5B%22apple%22%2C%22pear%22%5D"),
    );
    ok(&user, &b.url("/set?n=theme&v=%22dark%22"));
    assert_eq!(
        value(&user, &a, "cart"),
        serde_json::json!(["apple", "pear"])
    );
    assert_eq!(
        names(&user, &a),
        serde_json::json!(["cart", "user", "theme"])
    );

    let sid = ok(&user, &a.url("/id"));
    assert_eq!(ok(&user, &b.url("/invalidate")), "bye");
    assert_eq!(value(&user, &a, "cart"), serde_json::Value::Null);
    assert_eq!(
        with_sid(&a.url("/get?n=cart"), &sid),
        (200, r#"{"v":null}"#.to_string())
    );
    assert_eq!(with_sid(&a.url("/names"), &sid), (200, "[]".to_string()));
    // Nothing left behind: no session hash, no lock.
    assert_eq!(redis.cli(&["--scan", "--pattern", "blimp:s:*"]), "");
}

#[test]
fn redis_concurrent_increments_across_instances() {
    let redis = Redis::start();
    counts_across_two_instances(&["--session-store", redis.url().as_str()], "/inc");
}

#[test]
fn redis_attributes_set_concurrently_are_all_kept() {
    let redis = Redis::start();
    let url = redis.url();
    let args = ["--session-store", url.as_str()];
    let a = start(&args);
    let b = start_beside(&a, &args);
    let user = client();
    ok(&user, &a.url("/id"));

    let replies = storm(&user, 100, 16, |i| {
        let blimp = if i % 2 == 0 { &a } else { &b };
        blimp.url(&format!("/setk?k=a{i}"))
    });
    all_ok(&replies);
    let mut got: Vec<String> = serde_json::from_value(names(&user, &b)).unwrap();
    got.sort();
    let mut want: Vec<String> = (0..100).map(|i| format!("a{i}")).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn redis_naive_increments_across_instances_are_never_lost() {
    let redis = Redis::start();
    counts_across_two_instances(&["--session-store", redis.url().as_str()], "/naive");
}

#[test]
fn redis_outage_gives_503_and_recovers_without_restart() {
    let redis = Redis::start();
    let url = redis.url();
    let blimp = start(&["--session-store", url.as_str()]);
    let user = client();
    ok(&user, &blimp.url("/set?n=a&v=1"));
    assert_eq!(value(&user, &blimp, "a"), serde_json::json!(1));

    let port = redis.stop();
    for _ in 0..3 {
        let began = Instant::now();
        let (status, body) = get(&user, &blimp.url("/get?n=a"));
        assert_eq!(status, 503, "{body}");
        let message = json(&body)["message"].as_str().unwrap().to_string();
        assert!(
            message.contains("session store") && message.contains("redis"),
            "{message}"
        );
        assert!(
            began.elapsed() < Duration::from_secs(4),
            "failed slowly: {:?}",
            began.elapsed()
        );
        // Scripts that never touch the session are unaffected.
        assert_eq!(ok(&user, &blimp.url("/hello")), "hello");
    }
    let (status, _) = get(&plain(), &blimp.url("/id"));
    assert_eq!(status, 503);

    // Redis is back (empty: no persistence): sessions work again at once.
    let redis = Redis::start_on(port);
    assert_eq!(ok(&user, &blimp.url("/set?n=a&v=2")), "ok");
    assert_eq!(value(&user, &blimp, "a"), serde_json::json!(2));
    drop(redis);
}

#[test]
fn redis_down_at_start_then_up() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let blimp = start(&["--session-store", url.as_str()]);
    assert!(
        blimp.wait_for_log("redis is unreachable"),
        "{}",
        blimp.log()
    );
    assert!(
        blimp.log().contains(&format!("127.0.0.1:{port}")),
        "{}",
        blimp.log()
    );
    let user = client();
    assert_eq!(ok(&user, &blimp.url("/hello")), "hello");
    let (status, body) = get(&user, &blimp.url("/id"));
    assert_eq!(status, 503, "{body}");
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap()
            .contains("session store"),
        "{body}"
    );

    let redis = Redis::start_on(port);
    std::thread::sleep(Duration::from_millis(300));
    ok(&user, &blimp.url("/set?n=a&v=%22up%22"));
    assert_eq!(value(&user, &blimp, "a"), serde_json::json!("up"));
    assert!(blimp.wait_for_log("works again"), "{}", blimp.log());
    drop(redis);
}

#[test]
fn redis_keys_expire_with_the_session() {
    let redis = Redis::start();
    let url = redis.url();
    let blimp = start(&[
        "--session-store",
        url.as_str(),
        "--session-idle",
        "2",
        "--session-prefix",
        "app1:sess:",
    ]);
    let user = client();
    let id = ok(&user, &blimp.url("/id"));
    ok(&user, &blimp.url("/set?n=a&v=1"));
    let key = format!("app1:sess:{id}");

    let pttl: i64 = redis.cli(&["PTTL", &key]).parse().unwrap();
    assert!(pttl > 0 && pttl <= 2000, "PTTL of {key} is {pttl}");
    assert_eq!(redis.cli(&["HGET", &key, "a:a"]), "1");
    assert_eq!(
        redis.cli(&["--scan", "--pattern", "app1:sess:lock:*"]),
        "",
        "locks are released"
    );
    assert_eq!(ok(&plain(), &blimp.url("/count")), "1");

    std::thread::sleep(Duration::from_millis(2300));
    assert_eq!(
        redis.cli(&["EXISTS", &key]),
        "0",
        "the key expired with the session"
    );
    assert_eq!(value(&user, &blimp, "a"), serde_json::Value::Null);
    assert_eq!(ok(&plain(), &blimp.url("/count")), "0");
}
