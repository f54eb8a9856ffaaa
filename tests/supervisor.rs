//! The supervisor: a server process that crashes, is killed or gets stuck
//! is replaced on the same port, and what SQLite acknowledged survives.

mod common;
use common::*;
use std::time::{Duration, Instant};

const HELLO: &str = "require('http/v4/response').print('hello');";
const COUNTER: &str =
    "require('http/v4/response').print(require('http/v4/session').increment('n'));";

/// Waits until `/hello` answers again; how long that took.
fn back(blimp: &Blimp) -> Duration {
    let started = Instant::now();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    loop {
        if let Ok(response) = client.get(blimp.url("/hello")).send() {
            if response.status() == 200 {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never came back"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sqlite_flags(dir: &tempfile::TempDir) -> String {
    format!("sqlite:{}", dir.path().join("sessions.db").display())
}

#[test]
fn a_killed_server_process_is_replaced_and_sqlite_keeps_its_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_flags(&dir);
    let blimp = Blimp::start(
        &[("hello.js", HELLO), ("count.js", COUNTER)],
        &["--session-store", &store],
    );
    let client = client();
    assert_eq!(get(&client, &blimp.url("/count")), (200, "1".to_string()));
    assert_eq!(get(&client, &blimp.url("/count")), (200, "2".to_string()));
    let first = blimp.server_pid();
    assert_ne!(first, blimp.child.id(), "a supervised server process");
    let killed = Instant::now();
    std::process::Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    let took = back(&blimp);
    assert!(took < Duration::from_secs(1), "back after {took:?}");
    assert!(killed.elapsed() < Duration::from_secs(2));
    assert_ne!(blimp.server_pid(), first);
    assert!(blimp.wait_for_log("killed by signal 9): starting a new one"));
    assert_eq!(get(&client, &blimp.url("/count")), (200, "3".to_string()));
    report(
        "the server process killed (SIGKILL), SQLite sessions",
        "replaced on the same port, session kept (count 3)",
        took,
        Some(&blimp),
    );
}

#[test]
fn a_crash_no_limit_reaches_is_contained_by_the_supervisor() {
    // The engine's parser recurses natively without a bound: source nested
    // 100,000 deep overflows its stack, and the process dies (SIGSEGV).
    let nested = "eval('['.repeat(100000) + ']'.repeat(100000));";
    let blimp = Blimp::start(&[("hello.js", HELLO), ("nested.js", nested)], &[]);
    let first = blimp.server_pid();
    let crashed = plain().get(blimp.url("/nested")).send();
    assert!(crashed.is_err(), "the connection dies with the process");
    let took = back(&blimp);
    assert!(took < Duration::from_secs(1), "back after {took:?}");
    assert_ne!(blimp.server_pid(), first);
    assert!(blimp.wait_for_log("killed by signal 11): starting a new one"));
    assert!(
        blimp.wait_for_log("nested.js: the server process crashed running this script (SIGSEGV)")
    );
    report(
        "a crash no limit reaches: eval of source nested 100,000 deep (SIGSEGV)",
        "connection dropped, process replaced",
        took,
        Some(&blimp),
    );
    // A client that sends it again and again: each time back within a second.
    for _ in 0..7 {
        assert!(plain().get(blimp.url("/nested")).send().is_err());
        let took = back(&blimp);
        assert!(took < Duration::from_secs(1), "back after {took:?}");
    }
}

#[test]
fn a_stuck_worker_is_found_and_its_process_replaced() {
    // A BigInt's decimal digits come from one native call that checks
    // nothing while it runs: 25 million digits keep a worker busy far past
    // the watchdog's 4 s here (8 million took 4.7 s).
    let stuck = "(7n ** 30000000n).toString();";
    let blimp = Blimp::start(
        &[("hello.js", HELLO), ("stuck.js", stuck)],
        &["--timeout", "1s", "--workers", "2"],
    );
    let first = blimp.server_pid();
    let url = blimp.url("/stuck");
    let started = Instant::now();
    let stuck_request = std::thread::spawn(move || plain().get(url).send().map(|r| r.status()));
    // Until the watchdog acts, the other worker serves (it may take the
    // stuck one's turn in the kernel's choice, hence a few tries).
    std::thread::sleep(Duration::from_millis(500));
    let _ = back(&blimp);
    assert!(blimp.wait_for_log("stuck.js: a worker has run this script for"));
    let took = back(&blimp);
    let replaced = started.elapsed();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(took < Duration::from_secs(1), "back after {took:?}");
    assert_ne!(blimp.server_pid(), first);
    assert!(blimp.wait_for_log("(a worker was stuck): starting a new one"));
    assert!(
        stuck_request.join().unwrap().is_err(),
        "its connection died with the process"
    );
    report(
        "a worker stuck in native code: a BigInt of 25 million digits to text (--timeout 1s)",
        "found by the watchdog, connection dropped, process replaced",
        replaced,
        Some(&blimp),
    );
}

#[test]
fn without_the_supervisor_one_process_serves() {
    let blimp = Blimp::start(&[("hello.js", HELLO)], &["--no-supervisor"]);
    assert_eq!(blimp.server_pid(), blimp.child.id());
    assert_eq!(
        get(&plain(), &blimp.url("/hello")),
        (200, "hello".to_string())
    );
}

/// The heap is kept off transparent huge pages (`engine/memory.rs`), in
/// the supervisor and in the server process it starts.
#[test]
fn both_processes_run_without_transparent_huge_pages() {
    let blimp = Blimp::start(&[("hello.js", HELLO)], &[]);
    assert_ne!(blimp.server_pid(), blimp.child.id(), "supervised");
    for pid in [blimp.child.id(), blimp.server_pid()] {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let thp = status
            .lines()
            .find_map(|line| line.strip_prefix("THP_enabled:"))
            .expect("the kernel reports THP_enabled");
        assert_eq!(thp.trim(), "0", "process {pid}");
    }
}
