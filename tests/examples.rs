//! The example scripts a newcomer runs first do what their comments say.

mod common;
use common::*;

fn examples() -> Blimp {
    Blimp::start_in(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scripts")
            .as_path(),
        &[],
    )
}

#[test]
fn hello_echo_stream_redirect_error() {
    let blimp = examples();
    let client = plain();
    assert_eq!(
        get(&client, &blimp.url("/hello")),
        (200, "Hello from blimp!\n".to_string())
    );
    assert!(get(&client, &blimp.url("/")).1.contains("blimp is running"));
    let reply = Reply::read(
        client
            .post(blimp.url("/echo/a/b?x=1&x=2"))
            .header("content-type", "application/json")
            .body(r#"{"hi":true}"#)
            .send()
            .unwrap(),
    );
    let echo = json(&reply.text().unwrap());
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["pathInfo"], "/a/b");
    assert_eq!(echo["parameters"]["x"], serde_json::json!(["1", "2"]));
    assert_eq!(echo["json"], serde_json::json!({"hi": true}));
    assert_eq!(echo["headers"]["content-type"], "application/json");
    // Path info may hold what a file name may not.
    let echo = json(&get(&client, &blimp.url("/echo/_me/2026-12-02T10:00Z")).1);
    assert_eq!(echo["pathInfo"], "/_me/2026-12-02T10:00Z");
    let stream = get(&client, &blimp.url("/stream")).1;
    assert_eq!(stream.lines().count(), 6);
    assert!(stream.ends_with("done\n"));
    let reply = Reply::read(client.get(blimp.url("/redirect")).send().unwrap());
    assert_eq!(
        (reply.status(), reply.header("location").as_deref()),
        (302, Some("/hello"))
    );
    for elsewhere in [
        "https://elsewhere.example/",
        "//elsewhere.example/",
        "/\\elsewhere.example",
        "/%09/elsewhere.example",
    ] {
        let url = format!(
            "{}?to={}",
            blimp.url("/redirect"),
            elsewhere.replace('/', "%2F")
        );
        let reply = Reply::read(client.get(url).send().unwrap());
        assert_eq!(reply.status(), 400, "{elsewhere}: no open redirect");
        assert!(reply.header("location").is_none());
    }
    // The index page's stylesheet and icon are static files.
    let index = get(&client, &blimp.url("/")).1;
    assert!(
        index.contains("href=\"/style.css\"") && index.contains("/login"),
        "{index}"
    );
    let css = Reply::read(client.get(blimp.url("/style.css")).send().unwrap());
    assert_eq!(
        css.header("content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    let icon = Reply::read(client.get(blimp.url("/favicon.svg")).send().unwrap());
    assert_eq!(
        icon.header("content-type").as_deref(),
        Some("image/svg+xml")
    );
    let (status, body) = get(&client, &blimp.url("/error"));
    assert_eq!(status, 500);
    assert_eq!(
        json(&body)["message"],
        "Error: something went wrong on purpose (at error.js:10:9)"
    );
    assert_eq!(get(&client, &blimp.url("/error?status=418")).0, 418);
}

#[test]
fn counter_and_login_whoami_logout() {
    let blimp = examples();
    let browser = client();
    assert_eq!(get(&browser, &blimp.url("/counter")).1, "visits: 1\n");
    assert_eq!(get(&browser, &blimp.url("/counter")).1, "visits: 2\n");
    assert_eq!(
        get(&plain(), &blimp.url("/counter")).1,
        "visits: 1\n",
        "another browser"
    );
    assert_eq!(get(&browser, &blimp.url("/whoami")).0, 401);
    let (status, form) = get(&browser, &blimp.url("/login"));
    assert_eq!(status, 200);
    assert!(
        form.contains("<form method=\"post\" action=\"/login\">"),
        "{form}"
    );
    let reply = Reply::read(
        browser
            .post(blimp.url("/login"))
            .form(&[("user", "ann")])
            .send()
            .unwrap(),
    );
    assert_eq!(reply.status(), 303);
    assert_eq!(reply.header("location").as_deref(), Some("/whoami"));
    let (status, body) = get(&browser, &blimp.url("/whoami"));
    assert_eq!(status, 200);
    assert_eq!(json(&body)["name"], "ann");
    assert_eq!(
        get(&browser, &blimp.url("/counter")).1,
        "visits: 3\n",
        "login keeps the session's data"
    );
    // A GET (a link from anywhere) only shows the button.
    let (status, button) = get(&browser, &blimp.url("/logout"));
    assert_eq!(status, 200);
    assert!(button.contains("method=\"post\""), "{button}");
    assert_eq!(
        get(&browser, &blimp.url("/whoami")).0,
        200,
        "still signed in"
    );
    let reply = Reply::read(browser.post(blimp.url("/logout")).send().unwrap());
    assert_eq!(
        (reply.status(), reply.header("location").as_deref()),
        (303, Some("/"))
    );
    assert_eq!(get(&browser, &blimp.url("/whoami")).0, 401);
}

/// The guestbook on the default SQLite datasource, and the same script on
/// PostgreSQL (`--db postgres://...`).
#[test]
fn guestbook_posts_then_redirects_and_escapes() {
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let postgres = Postgres::shared().database();
    for extra in [vec![], vec!["--db", postgres.as_str()]] {
        let blimp = Blimp::start_in(&scripts, &extra);
        let client = client();
        let empty = get(&client, &blimp.url("/guestbook"));
        assert_eq!(empty.0, 200, "{}", empty.1);
        assert!(empty.1.contains("No posts yet"), "{}", empty.1);
        for (author, message) in [
            ("Ann", "Hello <script>alert(1)</script>"),
            ("Bob & Co", "'; DROP TABLE guestbook; --"),
        ] {
            let reply = Reply::read(
                client
                    .post(blimp.url("/guestbook"))
                    .form(&[("author", author), ("message", message)])
                    .send()
                    .unwrap(),
            );
            assert_eq!(reply.status(), 303, "{:?}", reply.text());
            assert_eq!(reply.header("location").as_deref(), Some("/guestbook"));
        }
        let (status, page) = get(&client, &blimp.url("/guestbook"));
        assert_eq!(status, 200);
        assert!(
            page.contains("Thanks, Bob &amp; Co: your post is up."),
            "a flash after the redirect: {page}"
        );
        assert!(
            !get(&client, &blimp.url("/guestbook")).1.contains("Thanks"),
            "shown once"
        );
        assert!(
            page.contains("Hello &lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("<b>Bob &amp; Co</b>"), "{page}");
        assert!(page.contains("&#39;; DROP TABLE guestbook; --"), "{page}");
        assert!(
            page.find("Bob &amp; Co").unwrap() < page.find("<b>Ann</b>").unwrap(),
            "newest first"
        );
        let reply = Reply::read(
            client
                .post(blimp.url("/guestbook"))
                .form(&[("author", ""), ("message", "x")])
                .send()
                .unwrap(),
        );
        assert_eq!(reply.status(), 400);
    }
}

/// The guestbook's first posts may arrive together, on a database that has
/// neither its table nor its sequence yet: each makes them or finds them
/// made, and every post is kept.
#[test]
fn the_guestbook_takes_its_first_posts_at_once() {
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let postgres = Postgres::shared().database();
    for extra in [vec![], vec!["--db", postgres.as_str()]] {
        let blimp = Blimp::start_in(&scripts, &extra);
        let statuses: Vec<u16> = std::thread::scope(|threads| {
            let posts: Vec<_> = (0..8)
                .map(|i| {
                    let url = blimp.url("/guestbook");
                    threads.spawn(move || {
                        let author = format!("Writer {i}");
                        let reply = Reply::read(
                            plain()
                                .post(url)
                                .form(&[("author", author.as_str()), ("message", "first!")])
                                .send()
                                .unwrap(),
                        );
                        reply.status()
                    })
                })
                .collect();
            posts.into_iter().map(|p| p.join().unwrap()).collect()
        });
        assert_eq!(statuses, vec![303; 8], "{extra:?}");
        let (status, page) = get(&plain(), &blimp.url("/guestbook"));
        assert_eq!(status, 200);
        for i in 0..8 {
            assert!(page.contains(&format!("<b>Writer {i}</b>")), "{page}");
        }
    }
}
