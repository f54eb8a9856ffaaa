//! What a browser meets: static files next to the scripts and in the
//! public folder.

mod common;

use common::*;

const P: &str = "const response = require('http/v4/response');\n";

fn ask(blimp: &Blimp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = plain().get(blimp.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::read(request.send().unwrap())
}

#[test]
fn gzip_max_bounds_which_files_are_compressed() {
    let css = "body { color: #333 }\n".repeat(500); // 10.5 KB
    let files = [("small.css", "a { b: c }\n"), ("site.css", css.as_str())];
    let gzip = [("Accept-Encoding", "gzip")];
    let encoding = |blimp: &Blimp, path: &str| ask(blimp, path, &gzip).header("content-encoding");
    let bounded = Blimp::start(&files, &["--gzip-max", "1K"]);
    assert_eq!(encoding(&bounded, "/small.css").as_deref(), Some("gzip"));
    assert_eq!(
        encoding(&bounded, "/site.css"),
        None,
        "larger than --gzip-max"
    );
    let off = Blimp::start(&files, &["--gzip-max", "0"]);
    assert_eq!(
        encoding(&off, "/small.css"),
        None,
        "--gzip-max 0 compresses nothing"
    );
    assert_eq!(ask(&off, "/site.css", &gzip).text().unwrap(), css);
}

#[test]
fn kept_static_files_follow_changes() {
    let gzip = [("Accept-Encoding", "gzip")];
    let gunzip = |reply: Reply| {
        let mut text = String::new();
        let bytes = reply.bytes().unwrap();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        text
    };
    for cache in ["64M", "0"] {
        let blimp = Blimp::start(&[("a.css", "one {}")], &["--static-cache", cache]);
        for round in ["one {}", "two {} /* longer */", "333 {}"] {
            write(&blimp.scripts, "a.css", round);
            for _ in 0..2 {
                assert_eq!(ask(&blimp, "/a.css", &[]).text().unwrap(), round, "{cache}");
                assert_eq!(gunzip(ask(&blimp, "/a.css", &gzip)), round, "{cache}");
            }
            // Same length as the round before: the time tells them apart.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

#[test]
fn static_files_are_served_with_types_validators_ranges_and_gzip() {
    let css = "body { color: #333 }\n".repeat(500);
    let blimp = Blimp::start(
        &[
            ("css/site.css", &css),
            ("img/dot.png", "\u{89}PNG fake"),
            ("docs/index.html", "<h1>docs</h1>"),
            ("app.js", &format!("{P}response.print('script ' + require('http/v4/request').getPathInfo());")),
            ("app/x.css", "x {}"),
            ("secret.json", "{\"key\": 1}"),
            ("data.db", "rows"),
            ("_private/p.css", "private"),
            ("public/client.js", "console.log('in the browser');"),
            ("public/app/y.css", "y {}"),
            ("public/page.js", "document.title = 'public';"),
            ("page.js", &format!("{P}response.print('the script');")),
            ("requires_public.js", &format!("{P}try {{ require('./public/client') }} catch (e) {{ response.print(e.message) }}")),
        ],
        &[],
    );
    let reply = ask(&blimp, "/css/site.css", &[]);
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        reply.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let etag = reply.header("etag").expect("an ETag");
    let modified = reply.header("last-modified").expect("a Last-Modified");
    assert_eq!(reply.text().unwrap(), css);
    // Validators: 304 with no body.
    assert_eq!(
        ask(&blimp, "/css/site.css", &[("If-None-Match", &etag)]).status(),
        304
    );
    assert_eq!(
        ask(&blimp, "/css/site.css", &[("If-Modified-Since", &modified)]).status(),
        304
    );
    assert_eq!(
        ask(&blimp, "/css/site.css", &[("If-None-Match", "\"other\"")]).status(),
        200
    );
    // Ranges.
    let part = ask(&blimp, "/css/site.css", &[("Range", "bytes=0-3")]);
    assert_eq!(part.status(), 206);
    assert_eq!(part.text().unwrap(), "body");
    // HEAD: the length, no body.
    let head = Reply::read(plain().head(blimp.url("/css/site.css")).send().unwrap());
    assert_eq!(head.status(), 200);
    assert_eq!(head.header("content-length"), Some(css.len().to_string()));
    // gzip for a client that accepts it (this client does not decode).
    let gzipped = ask(&blimp, "/css/site.css", &[("Accept-Encoding", "gzip, br")]);
    assert_eq!(gzipped.header("content-encoding").as_deref(), Some("gzip"));
    let bytes = gzipped.bytes().unwrap();
    assert!(bytes.len() < css.len() / 10, "{} bytes", bytes.len());
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    assert_eq!(text, css);
    // Types from the table; Dirigible's prefix; a folder's index.html.
    assert_eq!(
        ask(&blimp, "/img/dot.png", &[])
            .header("content-type")
            .as_deref(),
        Some("image/png")
    );
    assert_eq!(
        ask(&blimp, "/services/web/css/site.css", &[])
            .text()
            .unwrap(),
        css
    );
    assert_eq!(ask(&blimp, "/docs/", &[]).text().unwrap(), "<h1>docs</h1>");
    // A file beats a shorter script's path info; the script keeps the rest.
    assert_eq!(ask(&blimp, "/app/x.css", &[]).text().unwrap(), "x {}");
    assert_eq!(
        ask(&blimp, "/app/y.css", &[]).text().unwrap(),
        "y {}",
        "public file over path info"
    );
    assert_eq!(
        ask(&blimp, "/app/other", &[]).text().unwrap(),
        "script /other"
    );
    // Server code, configuration, data and private files are never sent.
    assert_eq!(
        ask(&blimp, "/app.js", &[]).text().unwrap(),
        "script null",
        "run, not sent"
    );
    for path in [
        "/secret.json",
        "/data.db",
        "/_private/p.css",
        "/services/web/app.js",
        "/services/web/secret.json",
    ] {
        let reply = ask(&blimp, path, &[]);
        assert_eq!(reply.status(), 404, "{path}");
        assert!(!reply.text().unwrap().contains("response.print"), "{path}");
    }
    // The public folder: files only, .js included; never run.
    let client = ask(&blimp, "/client.js", &[]);
    assert_eq!(
        client.header("content-type").as_deref(),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(client.text().unwrap(), "console.log('in the browser');");
    assert_eq!(
        ask(&blimp, "/services/web/client.js", &[]).text().unwrap(),
        "console.log('in the browser');"
    );
    assert_eq!(
        ask(&blimp, "/public/client.js", &[]).status(),
        404,
        "not a script, not a file of the scripts folder"
    );
    assert!(
        ask(&blimp, "/requires_public", &[])
            .text()
            .unwrap()
            .contains("Cannot find module"),
        "never required"
    );
    // A script beats a public file at its own path, except under /services/web.
    assert_eq!(ask(&blimp, "/page", &[]).text().unwrap(), "the script");
    assert_eq!(ask(&blimp, "/page.js", &[]).text().unwrap(), "the script");
    assert_eq!(
        ask(&blimp, "/services/web/page.js", &[]).text().unwrap(),
        "document.title = 'public';"
    );
}

#[test]
fn static_files_follow_the_safety_rules() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "outside.css", "outside");
    let blimp = Blimp::start(&[("ok.css", "ok"), ("_private/secret.css", "secret")], &[]);
    let root = &blimp.scripts;
    std::os::unix::fs::symlink(outside.path().join("outside.css"), root.join("link.css")).unwrap();
    std::os::unix::fs::symlink(root.join("_private/secret.css"), root.join("alias.css")).unwrap();
    for path in [
        "/link.css",
        "/alias.css",
        "/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/services/web/_private/secret.css",
        "/.hidden.css",
    ] {
        let reply = ask(&blimp, path, &[]);
        assert!(
            matches!(reply.status(), 400 | 404),
            "{path}: {}",
            reply.status()
        );
    }
    assert_eq!(
        ask(&blimp, "/ok.css", &[]).text().unwrap(),
        "ok",
        "still serving"
    );
}

/// The examples in headless Chromium: sign in with the form, post to the
/// guestbook and see the flash once, an error page, sign out by POST, and
/// Back after sign-out does not show the user's page again.
#[test]
fn the_examples_in_a_real_browser() {
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let blimp = Blimp::start_in(&scripts, &[]);
    let browser = common::browser::Browser::start();

    browser.go(&blimp.url("/"));
    assert!(browser.text().contains("blimp is running"));
    let styled = browser.eval("return getComputedStyle(document.body).maxWidth");
    assert_ne!(styled, "none", "the stylesheet (a static file) applies");

    browser.go(&blimp.url("/login"));
    browser.type_into("input[name=user]", "Ann <b>");
    browser.submit("button", "/whoami");
    assert!(browser.text().contains("Ann <b>"), "{}", browser.text());

    browser.go(&blimp.url("/guestbook"));
    browser.type_into("input[name=author]", "Ann");
    browser.type_into("textarea[name=message]", "Hello <script>alert(1)</script>");
    browser.submit("form button", "/guestbook");
    let page = browser.text();
    assert!(page.contains("Thanks, Ann: your post is up."), "{page}");
    assert!(
        page.contains("Hello <script>alert(1)</script>"),
        "shown as text: {page}"
    );
    browser.go(&blimp.url("/guestbook"));
    assert!(
        !browser.text().contains("Thanks, Ann"),
        "the flash is shown once"
    );

    browser.go(&blimp.url("/no/such/page"));
    assert!(
        browser.text().contains("404 Not Found"),
        "an HTML error page: {}",
        browser.text()
    );

    browser.go(&blimp.url("/whoami"));
    browser.go(&blimp.url("/logout"));
    assert!(
        browser.text().contains("Sign out"),
        "a GET only shows the button"
    );
    browser.submit("form button", &blimp.url("/"));
    browser.back(); // the logout page
    browser.back(); // whoami: fetched again (no-store), not shown from cache
    browser.wait_for_url("/whoami");
    assert!(
        !browser.text().contains("Ann <b>"),
        "Back after sign-out: {}",
        browser.text()
    );
}

#[test]
fn metrics_and_health_for_operators_when_turned_on() {
    let files = [
        ("t.js", "require('http/v4/response').print('t');"),
        ("s.js", "require('http/v4/session').setAttribute('a', 1);"),
        ("site.css", "b {}"),
    ];
    let off = Blimp::start(&files, &[]);
    for path in ["/_blimp/health", "/_blimp/metrics"] {
        assert_eq!(
            ask(&off, path, &[]).status(),
            404,
            "{path} is off by default"
        );
    }
    let blimp = Blimp::start(&files, &["--metrics", "--health"]);
    let health = ask(&blimp, "/_blimp/health", &[]);
    assert_eq!(
        (health.status(), health.text().unwrap()),
        (200, r#"{"status":"ok"}"#.to_string())
    );
    for path in ["/t", "/t", "/s", "/site.css", "/nothing"] {
        ask(&blimp, path, &[]);
    }
    let scraped = ask(&blimp, "/_blimp/metrics", &[]);
    assert_eq!(scraped.status(), 200);
    assert!(scraped
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = scraped.text().unwrap();
    for line in [
        r#"blimp_requests_total{status="200",script="t.js"} 2"#,
        r#"blimp_requests_total{status="200",script="s.js"} 1"#,
        r#"blimp_requests_total{status="200",script="static"} 1"#,
        r#"blimp_requests_total{status="404",script="none"} 1"#,
        r#"blimp_requests_total{status="200",script="_blimp"} 1"#,
        "blimp_request_duration_seconds_count 6",
        "blimp_in_flight 1",
        "blimp_live_sessions 1",
        "blimp_session_store_errors_total 0",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
}

#[test]
fn a_public_folder_given_by_flag_and_one_that_is_missing() {
    let public = tempfile::tempdir().unwrap();
    write(public.path(), "app.js", "console.log('browser code');");
    let folder = public.path().display().to_string();
    let blimp = Blimp::start(
        &[("t.js", "require('http/v4/response').print('t');")],
        &["--public", &folder],
    );
    assert_eq!(
        ask(&blimp, "/app.js", &[]).text().unwrap(),
        "console.log('browser code');"
    );
    assert_eq!(ask(&blimp, "/t", &[]).text().unwrap(), "t");
    let scripts = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_blimp"))
        .args([
            "--port",
            "0",
            "--no-supervisor",
            "--session-store",
            "memory",
            "--public",
            "/no/such/folder",
        ])
        .arg("--db")
        .arg(format!("sqlite:{}/data.db", scripts.path().display()))
        .arg(scripts.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("public folder /no/such/folder"), "{log}");
}
