//! Users and sign-in: HTTP Basic against `--users`, a script signing a
//! user in for its session, the access rules of `--access`, and
//! `security/user` under Dirigible's names.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::*;

const WHOAMI: &str = r#"const user = require("security/v4/user");
const request = require("http/v4/request");
const response = require("http/v4/response");
response.json({
  name: user.getName(),
  admin: user.isInRole("admin"),
  dev: user.isInRole("dev"),
  type: user.getAuthType(),
  remote: request.getRemoteUser(),
  requestAdmin: request.isUserInRole("admin"),
  requestType: request.getAuthType(),
});"#;

/// `blimp hash-password`, the password on stdin.
fn hash_password(password: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_blimp"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn hash(password: &str) -> String {
    let out = hash_password(password);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A folder with the users file (`users`) and access rules (`access`).
fn files(users: &[(&str, &str, &str)], access: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = users
        .iter()
        .map(|(name, password, roles)| format!("{name}:{}:{roles}", hash(password)))
        .collect();
    let text = format!("# test users\n{}\n", lines.join("\n"));
    std::fs::write(dir.path().join("users"), text).unwrap();
    std::fs::write(dir.path().join("access"), access).unwrap();
    dir
}

fn path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).display().to_string()
}

fn basic(url: &str, user: &str, password: &str) -> Reply {
    Reply::read(
        plain()
            .get(url)
            .basic_auth(user, Some(password))
            .send()
            .unwrap(),
    )
}

fn with_header(url: &str, name: &str, value: &str) -> Reply {
    Reply::read(plain().get(url).header(name, value).send().unwrap())
}

fn body(reply: &Reply) -> serde_json::Value {
    json(&reply.text().unwrap())
}

fn assert_challenge(reply: &Reply, message: &str) {
    assert_eq!(reply.status(), 401, "{:?}", reply.text());
    assert_eq!(
        reply.header("www-authenticate").as_deref(),
        Some("Basic realm=\"blimp\", charset=\"UTF-8\"")
    );
    let body = body(reply);
    assert_eq!(body["status"], 401);
    assert!(
        body["message"].as_str().unwrap().contains(message),
        "{body}"
    );
}

#[test]
fn basic_credentials_sign_in_a_user_of_the_users_file_with_roles() {
    let dir = files(
        &[("ann", "correct horse", "admin,dev"), ("bob", "pw", "")],
        "",
    );
    let blimp = Blimp::start(
        &[("whoami.js", WHOAMI)],
        &["--users", &path(&dir, "users"), "--allow-basic-over-http"],
    );
    let url = blimp.url("/whoami");
    let anonymous = serde_json::json!({"name": null, "admin": false, "dev": false, "type": null,
        "remote": null, "requestAdmin": false, "requestType": null});
    assert_eq!(json(&get(&plain(), &url).1), anonymous);

    let ann = basic(&url, "ann", "correct horse");
    assert_eq!(ann.status(), 200);
    assert_eq!(
        body(&ann),
        serde_json::json!({"name": "ann", "admin": true, "dev": true, "type": "BASIC",
            "remote": "ann", "requestAdmin": true, "requestType": "BASIC"})
    );
    let bob = body(&basic(&url, "bob", "pw"));
    assert_eq!(
        (bob["name"].as_str(), bob["admin"].as_bool()),
        (Some("bob"), Some(false))
    );

    assert_challenge(&basic(&url, "ann", "wrong"), "wrong user name or password");
    assert_challenge(&basic(&url, "nobody", "pw"), "wrong user name or password");
    assert_challenge(
        &with_header(&url, "authorization", "Basic !!!"),
        "malformed",
    );
    // base64 of a value without a colon
    assert_challenge(
        &with_header(&url, "authorization", "Basic bm9jb2xvbg=="),
        "malformed",
    );
    // Another scheme is the script's business.
    assert_eq!(
        body(&with_header(&url, "authorization", "Bearer abc")),
        anonymous
    );

    // Still serving, and the right password still works (from the cache now).
    for _ in 0..3 {
        assert_eq!(body(&basic(&url, "ann", "correct horse"))["name"], "ann");
    }
    assert!(
        blimp.log().contains("failed Basic sign-in as \"nobody\""),
        "{}",
        blimp.log()
    );
}

#[test]
fn repeated_failed_sign_ins_get_429_without_a_hash() {
    let dir = files(&[("ann", "right", "admin"), ("bob", "bobs", "")], "");
    let blimp = Blimp::start(
        &[("whoami.js", WHOAMI)],
        &["--users", &path(&dir, "users"), "--allow-basic-over-http"],
    );
    let url = blimp.url("/whoami");
    for _ in 0..5 {
        assert_eq!(basic(&url, "ann", "guess").status(), 401);
    }
    for password in ["guess", "right"] {
        let refused = basic(&url, "ann", password);
        assert_eq!(refused.status(), 429, "{:?}", refused.text());
        let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(
            body(&refused),
            serde_json::json!({"status": 429, "message": "too many failed sign-ins, retry later"})
        );
    }
    // Another user from the same client, and anonymous requests, go on.
    assert_eq!(body(&basic(&url, "bob", "bobs"))["name"], "bob");
    assert_eq!(get(&plain(), &url).0, 200);

    // --sign-in-failures sets the bound.
    let strict = Blimp::start(
        &[("whoami.js", WHOAMI)],
        &[
            "--users",
            &path(&dir, "users"),
            "--allow-basic-over-http",
            "--sign-in-failures",
            "2",
        ],
    );
    let url = strict.url("/whoami");
    for _ in 0..2 {
        assert_eq!(basic(&url, "ann", "guess").status(), 401);
    }
    assert_eq!(basic(&url, "ann", "right").status(), 429);
    assert_eq!(body(&basic(&url, "bob", "bobs"))["name"], "bob");
}

#[test]
fn basic_over_plain_http_is_refused_unless_allowed_or_https_behind_a_proxy() {
    let dir = files(&[("ann", "pw", "admin")], "");
    let blimp = Blimp::start(
        &[("whoami.js", WHOAMI)],
        &["--users", &path(&dir, "users"), "--trust-proxy"],
    );
    let url = blimp.url("/whoami");
    let refused = basic(&url, "ann", "pw");
    assert_eq!(refused.status(), 403);
    assert_eq!(
        body(&refused),
        serde_json::json!({"status": 403, "message": "Basic credentials are accepted only over HTTPS"})
    );
    assert!(
        blimp.wait_for_log("over plain HTTP refused"),
        "{}",
        blimp.log()
    );
    let forwarded = Reply::read(
        plain()
            .get(&url)
            .basic_auth("ann", Some("pw"))
            .header("x-forwarded-proto", "https")
            .send()
            .unwrap(),
    );
    assert_eq!(
        body(&forwarded)["name"],
        "ann",
        "HTTPS as the proxy reports it"
    );
    assert_eq!(get(&plain(), &url).0, 200, "no credentials: served");
}

#[test]
fn hash_password_reads_stdin_and_its_hash_signs_in() {
    let first = hash("s3cret:with colon");
    assert!(first.starts_with("$argon2id$v=19$"), "{first}");
    assert_ne!(first, hash("s3cret:with colon"), "a fresh salt each time");
    let empty = hash_password("");
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no password"));
    // Never from the command line.
    let argv = Command::new(env!("CARGO_BIN_EXE_blimp"))
        .args(["hash-password", "s3cret"])
        .output()
        .unwrap();
    assert!(!argv.status.success());

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users"), format!("eve:{first}:ops\n")).unwrap();
    let blimp = Blimp::start(
        &[("whoami.js", WHOAMI)],
        &["--users", &path(&dir, "users"), "--allow-basic-over-http"],
    );
    let url = blimp.url("/whoami");
    assert_eq!(
        body(&basic(&url, "eve", "s3cret:with colon"))["name"],
        "eve"
    );
    assert_eq!(basic(&url, "eve", "s3cret").status(), 401);
}

#[test]
fn the_users_file_is_read_again_when_it_changes() {
    let dir = files(&[("ann", "pw", "admin")], "");
    let blimp = Blimp::start(
        &[("whoami.js", WHOAMI)],
        &["--users", &path(&dir, "users"), "--allow-basic-over-http"],
    );
    let url = blimp.url("/whoami");
    assert_eq!(body(&basic(&url, "ann", "pw"))["admin"], true);
    let text = format!("ann:{}:\nzoe:{}:admin\n", hash("new"), hash("zz"));
    std::fs::write(dir.path().join("users"), text).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(
        basic(&url, "ann", "pw").status(),
        401,
        "old password, even if cached"
    );
    let ann = body(&basic(&url, "ann", "new"));
    assert_eq!(
        (ann["name"].as_str(), ann["admin"].as_bool()),
        (Some("ann"), Some(false))
    );
    assert_eq!(body(&basic(&url, "zoe", "zz"))["admin"], true);
}

const LOGIN: &str = r#"const user = require("security/user");
const session = require("http/session");
const request = require("http/request");
const response = require("http/response");
const before = session.getId();
user.signIn(request.getParameter("name"), JSON.parse(request.getParameter("roles") || "[]"));
response.json({ before, after: session.getId(), name: user.getName(), type: user.getAuthType() });"#;

#[test]
fn a_script_signs_a_user_in_for_its_session_under_a_new_id() {
    let blimp = Blimp::start(
        &[
            ("whoami.js", WHOAMI),
            ("login.js", LOGIN),
            ("logout.js", "require('http/session').invalidate(); require('http/response').print('bye');"),
            ("signout.js", "const s = require('http/session'); s.setAttribute('kept', 1); require('security/user').signOut(); require('http/response').print(String(s.getAttribute('kept')));"),
            ("bad.js", "require('security/user').signIn('', ['x']);"),
            ("badroles.js", "require('security/user').signIn('ann', [1]);"),
        ],
        &[],
    );
    let browser = client();
    let whoami = || json(&get(&browser, &blimp.url("/whoami")).1);
    assert_eq!(whoami()["name"], serde_json::Value::Null);

    let login = json(&get(&browser, &blimp.url("/login?name=ann&roles=[\"admin\"]")).1);
    assert_ne!(
        login["before"], login["after"],
        "signing in renews the session id"
    );
    assert_eq!(
        (login["name"].as_str(), login["type"].as_str()),
        (Some("ann"), Some("FORM"))
    );
    let me = whoami();
    assert_eq!(
        me,
        serde_json::json!({"name": "ann", "admin": true, "dev": false, "type": "FORM",
            "remote": "ann", "requestAdmin": true, "requestType": "FORM"})
    );
    assert_eq!(
        json(&get(&plain(), &blimp.url("/whoami")).1)["name"],
        serde_json::Value::Null,
        "another client is not signed in"
    );

    assert_eq!(get(&browser, &blimp.url("/logout")).1, "bye");
    assert_eq!(
        whoami()["name"],
        serde_json::Value::Null,
        "invalidate signs out"
    );

    get(&browser, &blimp.url("/login?name=bob"));
    assert_eq!(whoami()["name"], "bob");
    assert_eq!(get(&browser, &blimp.url("/signout")).1, "1");
    assert_eq!(
        whoami()["name"],
        serde_json::Value::Null,
        "signOut keeps the rest"
    );

    for (script, message) in [
        ("/bad", "non-empty name"),
        ("/badroles", "array of strings"),
    ] {
        let (status, text) = get(&plain(), &blimp.url(script));
        assert_eq!(status, 500);
        assert!(
            json(&text)["message"].as_str().unwrap().contains(message),
            "{text}"
        );
    }
    assert_eq!(get(&browser, &blimp.url("/whoami")).0, 200);
}

#[test]
fn access_rules_want_a_user_with_the_role() {
    let dir = files(
        &[("ann", "pw", "admin"), ("bob", "pw", "")],
        "# rules\n/admin/*  admin\n/account *   # any user\n",
    );
    let blimp = Blimp::start(
        &[
            ("admin/panel.js", "require('http/response').print('panel');"),
            (
                "account.js",
                "require('http/response').print(require('security/user').getName());",
            ),
            ("public.js", "require('http/response').print('public');"),
            ("login.js", LOGIN),
        ],
        &[
            "--users",
            &path(&dir, "users"),
            "--access",
            &path(&dir, "access"),
            "--allow-basic-over-http",
        ],
    );
    for alias in [
        "/admin/panel",
        "/services/js/admin/panel",
        "/admin/panel.js",
        "/admin/panel/x",
    ] {
        assert_challenge(
            &Reply::read(plain().get(blimp.url(alias)).send().unwrap()),
            "sign-in required",
        );
        let bob = basic(&blimp.url(alias), "bob", "pw");
        assert_eq!(bob.status(), 403, "{alias}");
        assert_eq!(
            body(&bob),
            serde_json::json!({"status": 403, "message": "user bob lacks the role admin"})
        );
        assert_eq!(
            basic(&blimp.url(alias), "ann", "pw").text().unwrap(),
            "panel"
        );
    }
    assert_challenge(
        &basic(&blimp.url("/admin/panel"), "ann", "nope"),
        "wrong user name",
    );
    assert_challenge(
        &Reply::read(plain().get(blimp.url("/account")).send().unwrap()),
        "sign-in required",
    );
    assert_eq!(
        basic(&blimp.url("/account"), "bob", "pw").text().unwrap(),
        "bob"
    );
    assert_eq!(
        get(&plain(), &blimp.url("/public")),
        (200, "public".to_string())
    );

    // A user signed in for the session counts as well.
    let browser = client();
    get(&browser, &blimp.url("/login?name=tim"));
    assert_eq!(get(&browser, &blimp.url("/admin/panel")).0, 403);
    assert_eq!(
        get(&browser, &blimp.url("/account")),
        (200, "tim".to_string())
    );
    get(&browser, &blimp.url("/login?name=sam&roles=[\"admin\"]"));
    assert_eq!(
        get(&browser, &blimp.url("/admin/panel")),
        (200, "panel".to_string())
    );
}

#[test]
fn security_user_answers_to_dirigible_names() {
    let dir = files(&[("ann", "pw", "admin")], "");
    let blimp = Blimp::start(
        &[
            ("v4.js", "require('http/response').print(String(require('security/v4/user').getName()));"),
            ("v3.js", "require('http/response').print(require('security/v3/user').getName());"),
            ("sdk.mjs", "import { user } from 'sdk/security';\nimport { response } from 'sdk/http';\nresponse.print(user.getName() + ' ' + user.isInRole('admin'));"),
            ("aerokit.mjs", "import { User } from '@aerokit/sdk/security';\nimport { response } from '@aerokit/sdk/http';\nresponse.print(User.getName() + ' ' + User.getAuthType());"),
            ("dirigible.mjs", "import { user } from '@dirigible/security';\nimport { response } from 'sdk/http';\nresponse.print(user.getName());"),
        ],
        &["--users", &path(&dir, "users"), "--allow-basic-over-http"],
    );
    for (script, expected) in [
        ("/v4", "ann"),
        ("/v3", "ann"),
        ("/sdk", "ann true"),
        ("/aerokit", "ann BASIC"),
        ("/dirigible", "ann"),
    ] {
        let reply = basic(&blimp.url(script), "ann", "pw");
        assert_eq!(reply.text().unwrap(), expected, "{script}");
    }
    assert_eq!(get(&plain(), &blimp.url("/v4")).1, "null");
}
