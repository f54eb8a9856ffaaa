//! blimp under attack: hostile clients and hostile scripts, each bounded in
//! count and time, on loopback, each against a server of its own. Every
//! case ends in a clear status, and `/hello` keeps answering within a
//! second, during the attack where it can run on and after it.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const HELLO: &str = "require('http/v4/response').print('hello');";
const ECHO: &str = "const request = require('http/v4/request');
require('http/v4/response').print(String(request.getBytes().length));";

/// `/hello` answers, and within a second.
fn serving(blimp: &Blimp) {
    let started = Instant::now();
    let (status, body) = get(&plain(), &blimp.url("/hello"));
    assert_eq!((status, body.as_str()), (200, "hello"));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "/hello took {:?}",
        started.elapsed()
    );
}

fn connect(blimp: &Blimp) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", blimp.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Whether the server closed `stream` (reading gives EOF or a reset, not
/// the read timeout of `connect`).
fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1024];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return true,
            Ok(_) => continue, // an error response first, then the close
            Err(err) => {
                use std::io::ErrorKind::{TimedOut, WouldBlock};
                return !matches!(err.kind(), WouldBlock | TimedOut);
            }
        }
    }
}

/// `n` connections that each ask for `path` and never read the answer.
fn asking(blimp: &Blimp, n: usize, path: &str) -> Vec<TcpStream> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    (0..n)
        .map(|_| {
            let mut stream = connect(blimp);
            stream.write_all(request.as_bytes()).unwrap();
            stream
        })
        .collect()
}

/// Sends `raw` on a new connection and reads the whole answer.
fn raw(blimp: &Blimp, raw: &[u8]) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut stream = connect(blimp);
    stream.write_all(raw).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer, started.elapsed())
}

/// The attacks that measure time or memory, or load the CPU, run one at a
/// time whatever RUST_TEST_THREADS says, so that they do not measure each
/// other.
fn alone() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------- clients

#[test]
fn request_bodies_are_bounded_together() {
    let _alone = alone();
    let blimp = Blimp::start(
        &[("echo.js", ECHO), ("hello.js", HELLO)],
        &["--max-body-memory", "16M", "--max-body", "4M"],
    );
    // 24 bodies of 3 MiB each want 72 MiB at once; 16 MiB fit.
    let size = 3 << 20;
    let started = Instant::now();
    let senders: Vec<_> = (0..24)
        .map(|_| {
            let port = blimp.port();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let head = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n");
                stream.write_all(head.as_bytes()).unwrap();
                // Half now, the rest after a while: the bodies overlap.
                let _ = stream.write_all(&vec![b'x'; size / 2]);
                std::thread::sleep(Duration::from_millis(1500));
                let _ = stream.write_all(&vec![b'x'; size - size / 2]);
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                answer
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    serving(&blimp); // during the attack
    let answers: Vec<String> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let took = started.elapsed();
    let read = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 200"))
        .count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 503"))
        .collect();
    report(
        "24 bodies of 3 MiB at once (--max-body-memory 16M)",
        &format!("{read} × 200, {} × 503 Retry-After: 1", refused.len()),
        took,
        Some(&blimp),
    );
    assert!(read >= 1, "some bodies fit: {answers:?}");
    assert!(!refused.is_empty(), "not all 72 MiB fit in 16 MiB");
    for answer in &refused {
        assert!(
            answer.to_ascii_lowercase().contains("retry-after: 1"),
            "{answer}"
        );
        assert!(answer.contains("--max-body-memory"), "{answer}");
    }
    assert!(
        peak_rss_mb(&blimp) < 150,
        "peak RSS {} MB",
        peak_rss_mb(&blimp)
    );
    serving(&blimp);
}

#[test]
fn a_body_nobody_reads_is_never_buffered() {
    let _alone = alone();
    let blimp = Blimp::start(&[("hello.js", HELLO)], &[]);
    // 50 connections announce 10 MiB bodies to a script that never reads them.
    let started = Instant::now();
    let mut streams: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut stream = connect(&blimp);
            stream
                .write_all(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n")
                .unwrap();
            let _ = stream.write_all(&vec![b'x'; 1 << 20]);
            stream
        })
        .collect();
    for stream in &mut streams {
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
    }
    report(
        "50 bodies of 10 MiB to a script that never reads them",
        "50 × 200, bodies not read",
        started.elapsed(),
        Some(&blimp),
    );
    serving(&blimp);
    assert!(
        peak_rss_mb(&blimp) < 150,
        "peak RSS {} MB",
        peak_rss_mb(&blimp)
    );
}

#[test]
fn bodies_read_under_an_address_space_limit_never_abort_the_process() {
    let _alone = alone();
    let dir = scripts(&[("echo.js", ECHO), ("hello.js", HELLO)]);
    // 3 GiB, as `ulimit -v 3145728`: the default --max-memory follows it.
    let blimp = Blimp::start_with_rlimit(dir.path(), libc::RLIMIT_AS, 3 << 30);
    let server = blimp.server_pid();
    let size = (10 << 20) - 1;
    let body = std::sync::Arc::new(vec![b'x'; size]);
    let started = Instant::now();
    let senders: Vec<_> = (0..100)
        .map(|_| {
            let (mut stream, body) = (connect(&blimp), body.clone());
            std::thread::spawn(move || {
                let head = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer);
                String::from_utf8_lossy(&answer).into_owned()
            })
        })
        .collect();
    let answers: Vec<String> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let took = started.elapsed();
    let read = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 200") && a.ends_with(&size.to_string()))
        .count();
    let busy = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 503"))
        .count();
    assert_eq!(
        read + busy,
        100,
        "every body answered: {:?}",
        answers
            .iter()
            .find(|a| !a.starts_with("HTTP/1.1 200") && !a.starts_with("HTTP/1.1 503"))
    );
    assert_eq!(
        blimp.server_pid(),
        server,
        "the server process was replaced: {}",
        blimp.log()
    );
    report(
        "100 bodies of 10 MiB read by a script, under a 3 GiB address-space limit",
        &format!("{read} × 200, {busy} × 503"),
        took,
        Some(&blimp),
    );
    serving(&blimp);
}

#[test]
fn slow_bodies_do_not_hold_the_contexts_other_scripts_need() {
    let _alone = alone();
    // 2 workers of 64 contexts: more slow bodies than contexts.
    let blimp = Blimp::start(&[("echo.js", ECHO), ("hello.js", HELLO)], &[]);
    let started = Instant::now();
    let slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut stream = connect(&blimp);
            stream
                .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab")
                .unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    serving(&blimp);
    report(
        "200 bodies sent slowly to a script that reads them (2 × 64 contexts)",
        "bodies wait outside the contexts",
        started.elapsed(),
        Some(&blimp),
    );
    drop(slow);
    let (status, answer, _) = raw(
        &blimp,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(status, 200, "{answer}");
    assert!(answer.ends_with("\r\n\r\n5"), "{answer}");
}

#[test]
fn a_large_json_body_parsed_by_a_script_does_not_hold_its_worker() {
    let _alone = alone();
    let parse = "const text = require('http/v4/request').getText();
require('http/v4/response').print(Object.keys(JSON.parse(text)).length);";
    let blimp = Blimp::start(
        &[("parse.js", parse), ("hello.js", HELLO)],
        &["--workers", "1"],
    );
    // 9.5 MB: 800,000 keys, under the default --max-body of 10 MiB.
    let body: String = format!(
        "{{{}}}",
        (0..800_000)
            .map(|i| format!("\"k{i}\":1"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let started = Instant::now();
    let url = blimp.url("/parse");
    let parsing = std::thread::spawn(move || {
        let reply = plain().post(url).body(body).send().unwrap();
        (reply.status().as_u16(), reply.text().unwrap())
    });
    std::thread::sleep(Duration::from_millis(300));
    serving(&blimp); // the one worker is parsing
    let (status, answer) = parsing.join().unwrap();
    let took = started.elapsed();
    assert_eq!((status, answer.as_str()), (200, "800000"));
    report(
        "JSON.parse of a 9.5 MB body of 800,000 keys (one worker)",
        &format!("{status}, /hello served meanwhile"),
        took,
        Some(&blimp),
    );
}

#[test]
fn a_stalled_body_gets_408() {
    let _alone = alone();
    let blimp = Blimp::start(
        &[("echo.js", ECHO), ("hello.js", HELLO)],
        &["--body-timeout", "1s"],
    );
    let (status, answer, took) = raw(
        &blimp,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
    );
    assert_eq!(status, 408, "{answer}");
    assert!(answer.contains("--body-timeout"), "{answer}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    report(
        "a body stalled after 10 of 100 bytes (--body-timeout 1s)",
        &status.to_string(),
        took,
        Some(&blimp),
    );
    serving(&blimp);
}

#[test]
fn a_trickled_body_gets_408() {
    let _alone = alone();
    let blimp = Blimp::start(
        &[("echo.js", ECHO), ("hello.js", HELLO)],
        &["--body-timeout", "1s", "--body-min-rate", "100"],
    );
    let started = Instant::now();
    let mut stream = connect(&blimp);
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        .unwrap();
    // A byte every 300 ms: never a stall of --body-timeout.
    let trickle = std::thread::spawn({
        let mut stream = stream.try_clone().unwrap();
        move || {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(300));
                if stream.write_all(b"x").is_err() {
                    break;
                }
            }
        }
    });
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let took = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("slower than 100 bytes a second (--body-min-rate)"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    report(
        "a body trickled a byte every 300 ms (--body-timeout 1s, --body-min-rate 100)",
        "408",
        took,
        Some(&blimp),
    );
    serving(&blimp);
    trickle.join().unwrap();
}

#[test]
fn a_path_of_32000_segments_is_answered_at_once() {
    let _alone = alone();
    let blimp = Blimp::start(&[("hello.js", HELLO)], &[]);
    let path = "/a".repeat(32_000);
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let attacks: Vec<_> = (0..8)
        .map(|_| {
            let (request, port) = (request.clone(), blimp.port());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.write_all(request.as_bytes()).unwrap();
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                (answer, started.elapsed())
            })
        })
        .collect();
    serving(&blimp);
    let (mut statuses, mut slowest) = (Vec::new(), Duration::ZERO);
    for attack in attacks {
        let (answer, took) = attack.join().unwrap();
        statuses.push(answer.get(9..12).unwrap_or("none").to_string());
        slowest = slowest.max(took);
        assert!(
            answer.starts_with("HTTP/1.1 404") || answer.starts_with("HTTP/1.1 414"),
            "{}",
            &answer[..answer.len().min(200)]
        );
        // Generous for a loaded machine: the quadratic router took 3.3 s.
        assert!(took < Duration::from_millis(500), "{took:?}");
    }
    statuses.sort();
    statuses.dedup();
    report(
        "8 paths of 32,000 segments at once (slowest)",
        &format!("8 × {}", statuses.join("/")),
        slowest,
        Some(&blimp),
    );
}

#[test]
fn a_form_of_100000_fields_is_read_in_one_pass() {
    let _alone = alone();
    let script = "const request = require('http/v4/request');
require('http/v4/response').print(Object.keys(request.getParameters()).length + ' ' + request.getParameterNames().length);";
    let blimp = Blimp::start(
        &[("t.js", script), ("hello.js", HELLO)],
        &["--timeout", "2s"],
    );
    let form: Vec<String> = (0..100_000).map(|i| format!("k{i}=1")).collect();
    let started = Instant::now();
    let answer = plain()
        .post(blimp.url("/t"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.join("&"))
        .send()
        .unwrap();
    let took = started.elapsed();
    let status = answer.status().as_u16();
    assert_eq!(
        (status, answer.text().unwrap()),
        (200, "100000 100000".into())
    );
    report(
        "a form of 100,000 fields read by getParameters (--timeout 2s)",
        "200",
        took,
        Some(&blimp),
    );
    serving(&blimp);
}

#[test]
fn slow_and_idle_connections_are_closed_at_the_header_timeout() {
    let _alone = alone();
    let blimp = Blimp::start(&[("hello.js", HELLO)], &["--header-timeout", "2s"]);
    let attacked = Instant::now();
    let mut slow: Vec<TcpStream> = (0..300)
        .map(|i| {
            let mut stream = connect(&blimp);
            match i % 3 {
                0 => stream
                    .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .unwrap(),
                1 => {} // idle from the start
                _ => {
                    // Keep-alive, then idle.
                    stream
                        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                        .unwrap();
                    let mut head = [0u8; 12];
                    stream.read_exact(&mut head).unwrap();
                }
            }
            stream
        })
        .collect();
    serving(&blimp); // during the attack
    let started = Instant::now();
    for stream in &mut slow {
        assert!(closed(stream));
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    report(
        "300 slow-header and idle connections (--header-timeout 2s)",
        "all 300 closed",
        attacked.elapsed(),
        Some(&blimp),
    );
    serving(&blimp);
}

#[test]
fn a_client_that_never_reads_is_closed_at_the_send_timeout() {
    let _alone = alone();
    let big = "x".repeat(8 << 20);
    let blimp = Blimp::start(
        &[("hello.js", HELLO), ("public/big.txt", &big)],
        &["--send-timeout", "1s"],
    );
    let started = Instant::now();
    let mut readers = asking(&blimp, 10, "/big.txt");
    serving(&blimp); // during the attack
    std::thread::sleep(Duration::from_secs(3));
    // Closed: what the kernel held arrives, then the end. Left open, the
    // whole file would come and then the read time out.
    for stream in &mut readers {
        assert!(closed(stream), "closed at the send timeout");
    }
    report(
        "10 clients that never read an 8 MB static file (`--send-timeout 1s`)",
        "all 10 closed (checked after 3 s)",
        started.elapsed(),
        Some(&blimp),
    );
    serving(&blimp);
}

#[test]
fn connections_beyond_the_cap_are_closed_at_once() {
    let _alone = alone();
    let blimp = Blimp::start(&[("hello.js", HELLO)], &["--max-connections", "40"]);
    let mut held: Vec<TcpStream> = (0..40).map(|_| connect(&blimp)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut extra: Vec<TcpStream> = (0..20).map(|_| connect(&blimp)).collect();
    for stream in &mut extra {
        assert!(closed(stream));
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2));
    assert!(blimp.wait_for_log("40 connections open (--max-connections)"));
    let warnings = blimp.log().matches("(--max-connections)").count();
    assert!(warnings <= 2, "logged at most once a second: {warnings}");
    held.clear();
    std::thread::sleep(Duration::from_millis(200));
    report(
        "60 connections held against --max-connections 40",
        &format!("20 beyond the cap closed at once, {warnings} warning(s) logged"),
        took,
        Some(&blimp),
    );
    serving(&blimp);
}

#[test]
fn the_file_descriptor_limit_is_raised_at_start() {
    // Started with the common soft limit of 1,024 open files.
    let dir = scripts(&[("hello.js", HELLO)]);
    let blimp = Blimp::start_with_rlimit(dir.path(), libc::RLIMIT_NOFILE, 1024);
    let started = Instant::now();
    let idle: Vec<TcpStream> = (0..1100).map(|_| connect(&blimp)).collect();
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    serving(&blimp);
    assert!(!blimp.log().contains("accept failed"), "{}", blimp.log());
    report(
        "1,100 idle connections, started with a soft fd limit of 1,024",
        "all accepted, no accept failure",
        took,
        Some(&blimp),
    );
    drop(idle);
}

#[test]
fn the_access_log_has_the_bytes_sent_and_no_forged_lines() {
    let forger = "const r = require('http/v4/request');
console.log('user said: ' + r.getParameter('q'));
throw new Error('bad input: ' + r.getParameter('q'));";
    let blimp = Blimp::start(
        &[("hello.js", HELLO), ("forge.js", forger)],
        &["--max-pending", "0"],
    );
    let reply = Reply::read(plain().get(blimp.url("/hello")).send().unwrap());
    assert_eq!(reply.status(), 503, "--max-pending 0 saturates at once");
    assert!(
        blimp.wait_for_log("GET /hello 503"),
        "saturation 503s are logged"
    );
    let line = blimp
        .log()
        .lines()
        .find(|l| l.contains("GET /hello 503"))
        .unwrap()
        .to_string();
    let sent = reply.bytes().unwrap().len();
    assert!(
        line.contains(&format!(" 503 {sent} ")),
        "{line} ({sent} bytes)"
    );

    // Requests hyper cannot parse, which it answers itself.
    let blimp = Blimp::start(&[("hello.js", HELLO)], &[]);
    let many_headers: String = (0..101).map(|i| format!("x-{i}: y\r\n")).collect();
    let cases = [
        (
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)),
            414,
        ),
        (
            format!("GET / HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n"),
            431,
        ),
        ("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), 400),
    ];
    for (request, expected) in cases {
        let (status, answer, _) = raw(&blimp, request.as_bytes());
        assert_eq!(status, expected, "{answer}");
        assert!(
            blimp.wait_for_log(&format!("access: - - {expected} 0 -")),
            "{expected} is in the access log: {}",
            blimp.log()
        );
    }
    serving(&blimp);

    let blimp = Blimp::start(&[("forge.js", forger), ("hello.js", HELLO)], &[]);
    let injected = "x%0A2026-12-01T00:00:00Z%20%20INFO%20blimp:%20forged";
    let started = Instant::now();
    let (status, _) = get(&plain(), &blimp.url(&format!("/forge?q={injected}")));
    let took = started.elapsed();
    assert_eq!(status, 500);
    assert!(blimp.wait_for_log("GET /forge"));
    let log = blimp.log();
    assert!(log.contains("user said: x\\n2026"), "{log}");
    assert!(
        !log.lines().any(|l| l.starts_with("2026-12-01T00:00:00Z")),
        "a forged line: {log}"
    );
    report(
        "a forged log line (%0A) in console.log and an error",
        &format!("{status}, newline logged as \\n, no forged line"),
        took,
        Some(&blimp),
    );
}

#[test]
fn a_symlink_into_a_private_folder_is_private() {
    let blimp = Blimp::start(
        &[
            (
                "_private/secret.js",
                "require('http/v4/response').print('SECRET');",
            ),
            ("hello.js", HELLO),
        ],
        &[],
    );
    std::os::unix::fs::symlink(
        blimp.scripts.join("_private/secret.js"),
        blimp.scripts.join("public.js"),
    )
    .unwrap();
    std::os::unix::fs::symlink(blimp.scripts.join("_private"), blimp.scripts.join("open")).unwrap();
    for (path, what) in [("/public", "file"), ("/open/secret", "folder")] {
        let started = Instant::now();
        let (status, body) = get(&plain(), &blimp.url(path));
        let took = started.elapsed();
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("SECRET"));
        report(
            &format!("a symlinked {what} into _private ({path})"),
            &format!("{status}, secret not shown"),
            took,
            Some(&blimp),
        );
    }
    serving(&blimp);
}

// ---------------------------------------------------------------- scripts

/// Runs `script` as /t with `flags`: its status, body and time.
fn attack(script: &str, flags: &[&str]) -> (u16, String, Duration, Blimp) {
    let blimp = Blimp::start(&[("t.js", script), ("hello.js", HELLO)], flags);
    let started = Instant::now();
    let (status, body) = get(&plain(), &blimp.url("/t"));
    let took = started.elapsed();
    (status, body, took, blimp)
}

#[test]
fn every_script_ends_by_its_timeout() {
    let _alone = alone();
    let cases = [
        (
            "promise-job loop",
            "function f() { Promise.resolve().then(f); } f();",
        ),
        (
            "split/reverse/join loop on 1 MB",
            "let s = 'ab'.repeat(500000); for (;;) s = s.split('').reverse().join('');",
        ),
        (
            "endless forEach callback",
            "[1].forEach(() => { for (;;) {} });",
        ),
        (
            "endless sort comparator",
            "[3, 2, 1].sort(() => { for (;;) {} });",
        ),
        (
            "catastrophic regexp /^(a+)+$/",
            "const q = require('http/v4/request').getParameter('q'); /^(a+)+$/.test(q);",
        ),
        (
            "endless getter",
            "const o = { get x() { for (;;) {} } }; o.x;",
        ),
        (
            "indexOf loop, 5,000,000-character needle in 10 MB",
            "const s = 'a'.repeat(1e7) + 'b', n = 'a'.repeat(5e6) + 'c'; for (;;) s.indexOf(n);",
        ),
        (
            "regexp /\\d+px/ on 100,000 digits (quadratic, never backtracks)",
            "/\\d+px/.test('1'.repeat(1e5));",
        ),
    ];
    for (name, script) in cases {
        let blimp = Blimp::start(
            &[("t.js", script), ("hello.js", HELLO)],
            &["--timeout", "1s"],
        );
        let query = format!("/t?q={}!", "a".repeat(40));
        let started = Instant::now();
        let url = blimp.url(&query);
        let running = std::thread::spawn(move || get(&plain(), &url));
        std::thread::sleep(Duration::from_millis(300));
        serving(&blimp); // the thread is shared: time slices let /hello in
        let (status, body) = running.join().unwrap();
        let took = started.elapsed();
        assert_eq!(status, 503, "{name}: {body}");
        assert!(body.contains("--timeout"), "{name}: {body}");
        assert!(took < Duration::from_secs(2), "{name}: {took:?}");
        report(
            &format!("script: {name} (--timeout 1s)"),
            &format!("{status} (--timeout)"),
            took,
            Some(&blimp),
        );
        serving(&blimp);
    }
}

#[test]
fn memory_is_bounded_per_script() {
    let _alone = alone();
    let cases = [
        ("doubling string", "let s = 'x'; for (;;) s += s;"),
        (
            "distinct strings",
            "const keep = []; for (let i = 0; ; i++) keep.push(String(i).padEnd(1 << 20, '.'));",
        ),
        (
            "array",
            "const a = []; for (;;) a.push({ n: a.length, s: 'x' + a.length });",
        ),
        (
            "buffers",
            "const keep = []; for (;;) keep.push(new Uint8Array(1 << 20));",
        ),
        (
            "one padEnd to a billion characters",
            "'x'.padEnd(2 ** 30 - 1, 'ab');",
        ),
        ("one buffer of 1 GB", "new Uint8Array(1 << 30);"),
        (
            "a typed array mapped (stopped inside a builtin)",
            "new Float64Array(7e6).map(() => Math.random()).sort();",
        ),
    ];
    for (name, script) in cases {
        let (status, body, took, blimp) = attack(script, &["--max-script-memory", "64M"]);
        assert_eq!(status, 503, "{name}: {body}");
        assert!(
            body.contains("more than 64 MiB of memory (--max-script-memory)"),
            "{name}: {body}"
        );
        assert!(took < Duration::from_secs(10), "{name}: {took:?}");
        assert!(
            peak_rss_mb(&blimp) < 600,
            "{name}: peak RSS {} MB",
            peak_rss_mb(&blimp)
        );
        report(
            &format!("script: {name} (--max-script-memory 64M)"),
            &format!("{status} (--max-script-memory)"),
            took,
            Some(&blimp),
        );
        serving(&blimp);
    }
}

#[test]
fn deep_native_recursion_is_a_range_error() {
    let _alone = alone();
    let deep = "let a = []; for (let i = 0; i < 1000000; i++) a = [a];\n";
    let cases = [
        ("String of an array 1,000,000 deep", "String(a);"),
        (
            "JSON.stringify of an array 1,000,000 deep",
            "JSON.stringify(a);",
        ),
        (
            "flat(Infinity) of an array 1,000,000 deep",
            "a.flat(Infinity);",
        ),
        (
            "200,000 nested proxies",
            "let p = {}; for (let i = 0; i < 200000; i++) p = new Proxy(p, {}); p.x;",
        ),
        (
            "a prototype chain 200,000 long",
            "let o = {}; for (let i = 0; i < 200000; i++) o = Object.create(o); o.x;",
        ),
    ];
    for (name, tail) in cases {
        let script = format!("{deep}try {{ {tail} require('http/v4/response').print('no error'); }} catch (e) {{ require('http/v4/response').print(e.name + ': ' + e.message); }}");
        let (status, body, took, blimp) = attack(&script, &[]);
        assert_eq!(
            (status, body.as_str()),
            (200, "RangeError: Maximum call stack size exceeded"),
            "{name}"
        );
        report(
            &format!("script: {name}"),
            &format!("{status}, RangeError caught by the script"),
            took,
            Some(&blimp),
        );
        serving(&blimp);
    }
}

#[test]
fn console_log_of_a_deep_object_is_one_short_line() {
    let _alone = alone();
    let script = "let o = {}; for (let i = 0; i < 100000; i++) o = { o };
console.log(o);
require('http/v4/response').print('logged');";
    let (status, body, took, blimp) = attack(script, &[]);
    assert_eq!((status, body.as_str()), (200, "logged"));
    assert!(blimp.wait_for_log("t.js: [an object that cannot be shown: "));
    report(
        "script: `console.log` of an object 100,000 deep",
        "200, a short line logged",
        took,
        Some(&blimp),
    );
    serving(&blimp);
}

#[test]
fn huge_lengths_are_no_huge_allocations() {
    let _alone = alone();
    let cases = [
        "new Array(2 ** 32 - 1).join();",
        "JSON.stringify(new Array(2 ** 32 - 1));",
    ];
    for script in cases {
        let (status, body, took, blimp) =
            attack(script, &["--timeout", "1s", "--max-script-memory", "64M"]);
        assert_eq!(status, 503, "{script}: {body}");
        let bound = ["--timeout", "--max-script-memory"]
            .into_iter()
            .find(|flag| body.contains(flag))
            .unwrap_or("?");
        report(
            &format!("script: `{script}` (--timeout 1s, --max-script-memory 64M)"),
            &format!("{status} ({bound})"),
            took,
            Some(&blimp),
        );
        serving(&blimp);
    }
}

#[test]
fn output_is_bounded_when_the_client_does_not_read() {
    let _alone = alone();
    let flood = "const response = require('http/v4/response');
const chunk = 'x'.repeat(1 << 20);
for (;;) { response.print(chunk); response.flush(); }";
    let blimp = Blimp::start(
        &[("flood.js", flood), ("hello.js", HELLO)],
        &["--timeout", "2s"],
    );
    // Ten clients ask and never read.
    let started = Instant::now();
    let mut clients = asking(&blimp, 10, "/flood");
    std::thread::sleep(Duration::from_millis(500));
    serving(&blimp);
    assert!(blimp.wait_for_log("flood.js: script stopped: it ran longer than the timeout"));
    // Each client pins what its script holds (a 1 MiB string), its buffer
    // and a chunk on its way; the allocator keeps some of the churn.
    assert!(
        peak_rss_mb(&blimp) < 400,
        "peak RSS {} MB",
        peak_rss_mb(&blimp)
    );
    for stream in &mut clients {
        assert!(closed(stream), "the response was cut at the timeout");
    }
    report(
        "10 clients that never read a script's endless output (--timeout 2s)",
        "cut at the timeout, all 10 closed",
        started.elapsed(),
        Some(&blimp),
    );
    serving(&blimp);
}

// ---------------------------------------------------------------- sessions and stores

const SET: &str = "const request = require('http/v4/request'), session = require('http/v4/session');
try { session.setAttribute(request.getParameter('name'), 'x'.repeat(Number(request.getParameter('size')))); require('http/v4/response').print('set'); }
catch (e) { require('http/v4/response').print(e.name + ': ' + e.message); }";
const GET: &str = "const v = require('http/v4/session').getAttribute(require('http/v4/request').getParameter('name'));
require('http/v4/response').print(v === null ? 'none' : String(v.length));";

#[test]
fn a_session_holds_a_bounded_number_of_bytes() {
    let blimp = Blimp::start(
        &[("set.js", SET), ("get.js", GET), ("hello.js", HELLO)],
        &["--session-max-size", "100K"],
    );
    let client = client();
    let set = |name: &str| get(&client, &blimp.url(&format!("/set?name={name}&size=40000")));
    assert_eq!(set("a"), (200, "set".to_string()));
    assert_eq!(set("b"), (200, "set".to_string()));
    let started = Instant::now();
    let (status, body) = set("c");
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(
        body.starts_with("RangeError: the session would hold")
            && body.contains("(--session-max-size)"),
        "{body}"
    );
    assert_eq!(
        get(&client, &blimp.url("/get?name=c")),
        (200, "none".to_string())
    );
    assert_eq!(set("a"), (200, "set".to_string()), "replacing a value fits");
    report(
        "a third 40 kB session value (--session-max-size 100K)",
        &format!("{status}, RangeError to the script, not stored"),
        took,
        Some(&blimp),
    );
    serving(&blimp);
}

#[test]
fn the_memory_store_holds_a_bounded_number_of_bytes() {
    let blimp = Blimp::start(
        &[("set.js", SET), ("get.js", GET), ("hello.js", HELLO)],
        &["--session-memory", "2M"],
    );
    let clients: Vec<_> = (0..60).map(|_| client()).collect();
    let started = Instant::now();
    for client in &clients {
        assert_eq!(
            get(client, &blimp.url("/set?name=v&size=100000")),
            (200, "set".to_string())
        );
    }
    let kept = clients
        .iter()
        .filter(|c| get(c, &blimp.url("/get?name=v")).1 == "100000")
        .count();
    let took = started.elapsed();
    // 60 sessions of 100 kB do not fit in 2 MiB: the oldest went.
    assert!(kept > 0 && kept < 25, "{kept} sessions kept");
    assert_eq!(
        get(&clients[59], &blimp.url("/get?name=v")).1,
        "100000",
        "the newest stays"
    );
    assert!(blimp.wait_for_log("(--session-max-count or --session-memory)"));
    report(
        "60 sessions of 100 kB (--session-memory 2M)",
        &format!("60 × 200, {kept} kept, the oldest evicted"),
        took,
        Some(&blimp),
    );
    serving(&blimp);
}

#[test]
fn sqlite_refuses_a_file_of_another_program_and_upgrades_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('ann');").unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    let started = Instant::now();
    let log = refused_store(&format!("sqlite:{}", other.display()));
    let took = started.elapsed();
    assert!(
        log.contains("another program (its tables and views: customers)"),
        "{log}"
    );
    assert_eq!(
        std::fs::read(&other).unwrap(),
        before,
        "the file is left as it was"
    );
    assert!(
        !dir.path().join("other.db-wal").exists(),
        "not switched to WAL"
    );
    report(
        "--session-store: a SQLite file of another program",
        "refused to start, file untouched",
        took,
        None,
    );

    let marked = dir.path().join("marked.db");
    {
        let conn = rusqlite::Connection::open(&marked).unwrap();
        conn.execute_batch("PRAGMA application_id = 1234;").unwrap();
    }
    let started = Instant::now();
    let log = refused_store(&format!("sqlite:{}", marked.display()));
    assert!(log.contains("application_id 0x4d2"), "{log}");
    report(
        "--session-store: a SQLite file with another application_id",
        "refused to start",
        started.elapsed(),
        None,
    );

    // Nothing but a view, or nothing but a user_version: another program's too.
    for (name, sql, says) in [
        (
            "view.db",
            "CREATE VIEW v AS SELECT 1;",
            "its tables and views: v",
        ),
        ("versioned.db", "PRAGMA user_version = 7;", "user_version 7"),
    ] {
        let file = dir.path().join(name);
        rusqlite::Connection::open(&file)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        let before = std::fs::read(&file).unwrap();
        let log = refused_store(&format!("sqlite:{}", file.display()));
        assert!(log.contains(says), "{log}");
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "{name} left as it was"
        );
    }

    // A file of an earlier blimp: its tables, no application id.
    let earlier = dir.path().join("earlier.db");
    {
        let conn = rusqlite::Connection::open(&earlier).unwrap();
        conn.execute_batch(
            "CREATE TABLE sessions (id TEXT PRIMARY KEY NOT NULL, created INTEGER NOT NULL, accessed INTEGER NOT NULL, idle INTEGER NOT NULL, deadline INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE attributes (session_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (session_id, name)) WITHOUT ROWID;
             CREATE TABLE locks (session_id TEXT PRIMARY KEY NOT NULL, token TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
    }
    let spec = format!("sqlite:{}", earlier.display());
    let blimp = Blimp::start(&[("hello.js", HELLO)], &["--session-store", &spec]);
    serving(&blimp);
    assert!(blimp.wait_for_log("upgraded from version 0"));
    drop(blimp);
    let conn = rusqlite::Connection::open(&earlier).unwrap();
    let id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(id, 0x626c_6d70);
}

/// Starts blimp on `store`, expects it to refuse; returns its log.
fn refused_store(store: &str) -> String {
    let dir = scripts(&[("hello.js", HELLO)]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_blimp"))
        .args(["--port", "0", "--session-store", store, "--scripts"])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const HOLD: &str = "const session = require('http/v4/session');
session.increment('n');
setTimeout(() => require('http/v4/response').print('held ' + session.getAttribute('n')), 5000);";
const COUNT: &str = "require('http/v4/response').print(require('http/v4/session').increment('n'));";

/// Kills the server process while a request holds a session's lock; how
/// long the next request of that session takes.
fn killed_holding_a_lock(store: &str) -> (u16, String, Duration, Blimp) {
    let blimp = Blimp::start(
        &[("hold.js", HOLD), ("count.js", COUNT), ("hello.js", HELLO)],
        &["--session-store", store],
    );
    let client = client();
    assert_eq!(get(&client, &blimp.url("/count")), (200, "1".to_string()));
    let holder = {
        let (client, url) = (client.clone(), blimp.url("/hold"));
        std::thread::spawn(move || client.get(url).send().is_ok())
    };
    std::thread::sleep(Duration::from_millis(500));
    std::process::Command::new("kill")
        .args(["-KILL", &blimp.server_pid().to_string()])
        .status()
        .unwrap();
    assert!(!holder.join().unwrap(), "the holder died with its process");
    let started = Instant::now();
    let (status, body) = get(&client, &blimp.url("/count"));
    (status, body, started.elapsed(), blimp)
}

#[test]
fn a_sqlite_lock_of_a_dead_process_is_broken_at_once() {
    let _alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let (status, body, took, blimp) = killed_holding_a_lock(&store);
    // 1 before; the killed request's increment was never stored.
    assert_eq!((status, body.as_str()), (200, "2"));
    assert!(took < Duration::from_secs(2), "{took:?}");
    report(
        "SQLite session lock of a killed process (next request)",
        &format!("{status}, lock broken, count {body}"),
        took,
        Some(&blimp),
    );
}

#[test]
fn a_redis_lock_of_a_dead_process_ends_with_its_short_lease() {
    let redis = Redis::start();
    let (status, body, took, blimp) = killed_holding_a_lock(&redis.url());
    assert_eq!((status, body.as_str()), (200, "2"));
    assert!(took < Duration::from_secs(8), "the lease is 6 s: {took:?}");
    report(
        "Redis session lock of a killed process (next request)",
        &format!("{status} after the 6 s lease, count {body}"),
        took,
        Some(&blimp),
    );
}

#[test]
fn the_first_request_after_a_redis_stall_succeeds() {
    let redis = Redis::start();
    let blimp = Blimp::start(
        &[("count.js", COUNT), ("hello.js", HELLO)],
        &["--session-store", &redis.url()],
    );
    let client = client();
    assert_eq!(get(&client, &blimp.url("/count")), (200, "1".to_string()));
    redis.signal("STOP");
    // Session requests on every worker, with connections made before and
    // during the stall.
    let url = blimp.url("/count");
    let stalled: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || get(&plain(), &url).0)
        })
        .collect();
    for request in stalled {
        assert_eq!(request.join().unwrap(), 503);
    }
    let (status, body) = get(&client, &url);
    assert_eq!(status, 503, "{body}");
    // Redis answers again: at once, the same user.
    redis.signal("CONT");
    let started = Instant::now();
    let (status, body) = get(&client, &url);
    let took = started.elapsed();
    assert_eq!((status, body.as_str()), (200, "2"));
    serving(&blimp);
    for _ in 0..4 {
        assert_eq!(get(&plain(), &url), (200, "1".to_string()));
    }
    report(
        "the first request after a Redis stall",
        &format!("{status}, count {body}"),
        took,
        Some(&blimp),
    );
}

#[test]
fn the_first_request_after_redis_returns_succeeds() {
    let redis = Redis::start();
    let port = redis.port;
    let blimp = Blimp::start(
        &[("count.js", COUNT), ("hello.js", HELLO)],
        &["--session-store", &redis.url()],
    );
    let client = client();
    assert_eq!(get(&client, &blimp.url("/count")), (200, "1".to_string()));
    redis.stop();
    let started = Instant::now();
    assert_eq!(get(&client, &blimp.url("/count")).0, 503);
    report(
        "Redis stopped under a session",
        "503",
        started.elapsed(),
        Some(&blimp),
    );
    serving(&blimp);
    let _back = Redis::start_on(port);
    // The data went with that Redis: the session starts again.
    let started = Instant::now();
    assert_eq!(get(&plain(), &blimp.url("/count")), (200, "1".to_string()));
    report(
        "the first request after Redis returns",
        "200, a new session",
        started.elapsed(),
        Some(&blimp),
    );
}
