//! http/rs, http/utils and http/errors: REST services written the way
//! Dirigible's documentation writes them, run by the real server.

use crate::common::*;
use serde_json::json;

/// A request with optional headers and body, read whole.
fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let mut builder = plain().request(method.parse().unwrap(), url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if let Some(body) = body {
        builder = builder.body(body.to_string());
    }
    Reply::read(builder.send().unwrap())
}

fn body_json(reply: &Reply) -> serde_json::Value {
    json(&reply.text().unwrap())
}

/// The documentation's book service: CommonJS, `http/v4/rs`, the fluent API.
const BOOKS: &str = r#"
var rs = require("http/v4/rs");
var books = { "1": { id: "1", title: "Dune" } };

rs.service()
  .resource("")
    .get(function (ctx, request, response) {
      response.json({ books: Object.keys(books), query: ctx.queryParameters });
    })
    .produces(["application/json"])
    .post(function (ctx, request, response) {
      var book = request.getJSON();
      response.setStatus(response.CREATED);
      response.json({ created: book.title });
    })
    .consumes(["application/json", "text/json"])
  .resource("{id}")
    .get(function (ctx, request, response) {
      var book = books[ctx.pathParameters.id];
      if (!book) {
        ctx.httpErrorCode = response.NOT_FOUND;
        ctx.errorName = "Not Found";
        ctx.errorMessage = "no book " + ctx.pathParameters.id;
        ctx.suppressStack = true;
        throw new Error("missing");
      }
      response.json(book);
    })
    .produces(["application/json"])
    .remove(function (ctx, request, response) {
      response.setStatus(response.NO_CONTENT);
    })
  .resource("{id}/chapters/{chapter}")
    .get(function (ctx, request, response) {
      response.json(ctx.pathParameters);
    })
  .resource("files/{path*}")
    .get(function (ctx, request, response) {
      response.json(ctx.pathParameters);
    })
  .resource("numbers/:n(\\d+)")
    .get(function (ctx, request, response) {
      response.print("number " + ctx.pathParameters.n);
    })
  .resource("numbers/{word}")
    .get(function (ctx, request, response) {
      response.print("word " + ctx.pathParameters.word);
    })
.execute();
"#;

#[test]
fn a_rest_service_routes_by_path_template_with_path_and_query_parameters() {
    let blimp = Blimp::start(&[("api/books.js", BOOKS)], &[]);

    let all = call(
        "GET",
        &blimp.url("/api/books?limit=10&tag=a&tag=b&flag&q=a%26b"),
        &[],
        None,
    );
    assert_eq!(all.status(), 200, "{:?}", all.text());
    assert_eq!(
        body_json(&all),
        json!({"books": ["1"], "query": {"limit": "10", "tag": ["a", "b"], "flag": true, "q": "a&b"}})
    );

    // The script at its path plus the resource path, in every URL form.
    for path in [
        "/api/books/1",
        "/api/books.js/1",
        "/services/js/api/books.js/1",
        "/services/v4/js/api/books/1",
        "/api/books/1/",
    ] {
        let one = call("GET", &blimp.url(path), &[], None);
        assert_eq!(one.status(), 200, "{path}: {:?}", one.text());
        assert_eq!(
            body_json(&one),
            json!({"id": "1", "title": "Dune"}),
            "{path}"
        );
    }

    let nested = call(
        "GET",
        &blimp.url("/api/books/7/chapters/hello%20world"),
        &[],
        None,
    );
    assert_eq!(
        body_json(&nested),
        json!({"id": "7", "chapter": "hello world"})
    );

    let files = call("GET", &blimp.url("/api/books/files/a/b/c.txt"), &[], None);
    assert_eq!(body_json(&files), json!({"path": ["a", "b", "c.txt"]}));

    // A regex parameter wins where it matches; the plain template elsewhere.
    assert_eq!(
        call("GET", &blimp.url("/api/books/numbers/42"), &[], None)
            .text()
            .unwrap(),
        "number 42"
    );
    assert_eq!(
        call("GET", &blimp.url("/api/books/numbers/abc"), &[], None)
            .text()
            .unwrap(),
        "word abc"
    );

    let created = call(
        "POST",
        &blimp.url("/api/books"),
        &[("Content-Type", "application/json; charset=utf-8")],
        Some(r#"{"title":"Emma"}"#),
    );
    assert_eq!(created.status(), 201);
    assert_eq!(body_json(&created), json!({"created": "Emma"}));

    let deleted = call("DELETE", &blimp.url("/api/books/1"), &[], None);
    assert_eq!(deleted.status(), 204);

    // The handler's own error: ctx.httpErrorCode and friends, Dirigible's shape.
    let missing = call("GET", &blimp.url("/api/books/9"), &[], None);
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.header("content-type").unwrap(), "application/json");
    assert_eq!(
        body_json(&missing),
        json!({"error": "Not Found", "details": "no book 9"})
    );
    assert!(
        blimp.wait_for_log("finished in error: Not Found: no book 9"),
        "{}",
        blimp.log()
    );

    let head = call("HEAD", &blimp.url("/api/books/1"), &[], None);
    assert_eq!(head.status(), 200);
    assert_eq!(head.text().unwrap(), "");
}

#[test]
fn nothing_matching_answers_what_http_means_with_dirigibles_error_shape() {
    let blimp = Blimp::start(&[("api/books.js", BOOKS)], &[]);

    let none = call("GET", &blimp.url("/api/books/1/pages/2/x"), &[], None);
    assert_eq!(none.status(), 404, "{:?}", none.text());
    assert_eq!(none.header("content-type").unwrap(), "application/json");
    assert_eq!(
        body_json(&none),
        json!({"error": "Not Found", "details": "No resource matches the path '1/pages/2/x'."})
    );

    let wrong_method = call("PUT", &blimp.url("/api/books/1"), &[], Some("{}"));
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.header("allow").unwrap(), "GET, DELETE, HEAD");
    assert_eq!(body_json(&wrong_method)["error"], "Method Not Allowed");

    let unacceptable = call(
        "GET",
        &blimp.url("/api/books/1"),
        &[("Accept", "text/xml")],
        None,
    );
    assert_eq!(unacceptable.status(), 406);
    assert_eq!(
        body_json(&unacceptable),
        json!({"error": "Not Acceptable", "details": "This resource produces application/json."})
    );
    // Wildcards and q-values are compatible: */json and application/*.
    for accept in [
        "*/json",
        "application/*;q=0.5",
        "text/xml, application/json",
        "*/*",
    ] {
        let ok = call(
            "GET",
            &blimp.url("/api/books/1"),
            &[("Accept", accept)],
            None,
        );
        assert_eq!(ok.status(), 200, "Accept: {accept}");
    }

    let unsupported = call(
        "POST",
        &blimp.url("/api/books"),
        &[("Content-Type", "text/plain")],
        Some("Emma"),
    );
    assert_eq!(unsupported.status(), 415);
    assert_eq!(
        body_json(&unsupported),
        json!({"error": "Unsupported Media Type", "details": "This resource consumes application/json, text/json."})
    );
    let no_type = call("POST", &blimp.url("/api/books"), &[], Some("{}"));
    assert_eq!(no_type.status(), 415);
    let text_json = call(
        "POST",
        &blimp.url("/api/books"),
        &[("Content-Type", "text/json")],
        Some(r#"{"title":"Kim"}"#),
    );
    assert_eq!(text_json.status(), 201);

    // A browser asking for HTML gets Dirigible's text form.
    let browser = call(
        "GET",
        &blimp.url("/api/books/1/pages/2/x"),
        &[("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
        None,
    );
    assert_eq!(browser.status(), 404);
    assert_eq!(
        browser.text().unwrap(),
        "Not Found: No resource matches the path '1/pages/2/x'."
    );

    // The server keeps serving.
    assert_eq!(
        call("GET", &blimp.url("/api/books/1"), &[], None).status(),
        200
    );
}

#[test]
fn before_catch_and_finally_run_in_dirigibles_order() {
    let script = r#"
var rs = require("http/rs");
rs.service()
  .resource("guarded")
    .get()
      .before(function (ctx, request, response, resourceMethod, controller) {
        if (request.getHeader("X-Key") !== "secret") {
          controller.sendError(response.FORBIDDEN, "E42", "Forbidden", "X-Key is missing");
        }
      })
      .serve(function (ctx, request, response) {
        response.println("guarded content");
      })
      .finally(function () {
        console.info("guarded finished");
      })
  .resource("failing")
    .get()
      .serve(function (ctx, request, response) {
        response.println("half written");
        throw new TypeError("broken " + ctx.queryParameters.why);
      })
      .catch(function (ctx, err, request, response) {
        response.setStatus(response.CONFLICT);
        response.print("caught " + err.name + ": " + err.message);
      })
      .finally(function () {
        console.info("failing finished");
      })
  .resource("default")
    .get(function () {
      throw new RangeError("out of range");
    })
  .resource("thrown-string")
    .get(function () {
      throw "plain text";
    })
  .resource("bad-catch")
    .get(function () {
      throw new Error("first");
    })
    .catch(function () {
      throw new Error("the catch failed too");
    })
.execute();
"#;
    let blimp = Blimp::start(&[("svc.js", script)], &[]);

    let refused = call("GET", &blimp.url("/svc/guarded"), &[], None);
    assert_eq!(refused.status(), 403);
    assert_eq!(
        body_json(&refused),
        json!({"code": "E42", "error": "Forbidden", "details": "X-Key is missing"}),
        "before committed the response: serve did not run"
    );
    assert!(blimp.wait_for_log("guarded finished"));
    let allowed = call(
        "GET",
        &blimp.url("/svc/guarded"),
        &[("X-Key", "secret")],
        None,
    );
    assert_eq!(
        (allowed.status(), allowed.text().unwrap()),
        (200, "guarded content\n".to_string())
    );

    let caught = call("GET", &blimp.url("/svc/failing?why=today"), &[], None);
    assert_eq!(caught.status(), 409);
    assert_eq!(
        caught.text().unwrap(),
        "half written\ncaught TypeError: broken today"
    );
    assert!(blimp.wait_for_log("failing finished"));

    let default = call("GET", &blimp.url("/svc/default"), &[], None);
    assert_eq!(default.status(), 500);
    assert_eq!(
        body_json(&default),
        json!({"error": "RangeError", "details": "out of range"})
    );
    assert!(
        blimp.wait_for_log("out of range"),
        "the default catch logs the error"
    );

    let string = call("GET", &blimp.url("/svc/thrown-string"), &[], None);
    assert_eq!(string.status(), 500);
    assert_eq!(
        body_json(&string),
        json!({"error": "Error", "details": "plain text"})
    );

    // A catch callback that throws: blimp's own 500 for an uncaught error.
    let bad = call("GET", &blimp.url("/svc/bad-catch"), &[], None);
    assert_eq!(bad.status(), 500);
    let text = bad.text().unwrap();
    assert!(text.contains("the catch failed too"), "{text}");

    assert_eq!(
        call(
            "GET",
            &blimp.url("/svc/guarded"),
            &[("X-Key", "secret")],
            None
        )
        .status(),
        200
    );
}

#[test]
fn configuration_objects_and_shortcuts_configure_the_same_service() {
    let config = r#"
var rs = require("http/v3/rs");
var svc = rs.service({
  "": {
    "get": [{
      "serve": function (ctx, request, response) {
        response.println("Hello there!");
      }
    }]
  },
  "{id}": {
    "get": {
      "produces": ["application/json"],
      "serve": function (ctx, request, response) {
        response.json({ id: ctx.pathParameters.id });
      }
    },
    "post": [{ "serve": function () {} }]
  }
});
svc.resource("")
  .post()
    .serve(function (ctx, request, response) {
      response.print("posted " + request.getText());
    });
svc.mappings().disable("{id}", "post");
var found = svc.mappings().find("{id}", "get", undefined, ["application/json"]);
found.configuration().before = function (ctx, request, response) {
  response.setHeader("X-Found", "yes");
};
svc.execute();
"#;
    let shortcut = r#"
const rs = require("http/rs");
rs.service()
  .get("", function (ctx, request, response) { response.print("ok"); })
  .post("echo", function (ctx, request, response) { response.print(request.getText()); }, ["text/plain"], ["text/plain"])
  .execute();
"#;
    let readonly = r#"
const rs = require("http/rs");
const svc = rs.service();
svc.resource("")
  .post(function () {})
  .get(function (ctx, request, response) { response.print("read"); });
svc.mappings().readonly();
svc.execute();
"#;
    let blimp = Blimp::start(
        &[
            ("config.js", config),
            ("shortcut.js", shortcut),
            ("readonly.js", readonly),
        ],
        &[],
    );
    assert_eq!(
        call("GET", &blimp.url("/config"), &[], None)
            .text()
            .unwrap(),
        "Hello there!\n"
    );
    let one = call("GET", &blimp.url("/config/5"), &[], None);
    assert_eq!(body_json(&one), json!({"id": "5"}));
    assert_eq!(one.header("x-found").as_deref(), Some("yes"));
    assert_eq!(
        call("POST", &blimp.url("/config"), &[], Some("data"))
            .text()
            .unwrap(),
        "posted data"
    );
    let disabled = call("POST", &blimp.url("/config/5"), &[], Some("x"));
    assert_eq!(disabled.status(), 405);
    assert_eq!(disabled.header("allow").unwrap(), "GET, HEAD");

    assert_eq!(
        call("GET", &blimp.url("/shortcut"), &[], None)
            .text()
            .unwrap(),
        "ok"
    );
    let echo = call(
        "POST",
        &blimp.url("/shortcut/echo"),
        &[("Content-Type", "text/plain")],
        Some("back"),
    );
    assert_eq!(
        (echo.status(), echo.text().unwrap()),
        (200, "back".to_string())
    );
    let json_echo = call(
        "POST",
        &blimp.url("/shortcut/echo"),
        &[("Content-Type", "application/json")],
        Some("{}"),
    );
    assert_eq!(json_echo.status(), 415);

    assert_eq!(
        call("GET", &blimp.url("/readonly"), &[], None)
            .text()
            .unwrap(),
        "read"
    );
    assert_eq!(
        call("POST", &blimp.url("/readonly"), &[], Some("")).status(),
        405
    );
}

#[test]
fn the_es_module_names_serve_the_same_framework() {
    let sdk = r#"
import { rs } from "sdk/http";

rs.service()
    .resource("")
    .get(function (_ctx, _request, response) {
        response.println("Hello there!");
    })
    .resource("{name}")
    .get(function (ctx, _request, response) {
        response.println("Hello " + ctx.pathParameters.name);
    })
    .produces("[text/plain]")
    .execute();
"#;
    let aerokit = r#"
import { rs } from "@aerokit/sdk/http";
import { HttpUtils } from "@aerokit/sdk/http/utils";
import { ValidationError, ForbiddenError } from "@aerokit/sdk/http/errors";

rs.service()
    .resource("orders/{id}")
    .get((ctx) => {
        const id = ctx.pathParameters.id;
        try {
            if (!/^\d+$/.test(id)) throw new ValidationError(`Invalid id '${id}'`);
            if (id === "0") throw new ForbiddenError();
            HttpUtils.sendResponseOk({ id: Number(id) });
        } catch (e) {
            if (e instanceof ValidationError) HttpUtils.sendResponseBadRequest(e.message);
            else if (e instanceof ForbiddenError) HttpUtils.sendForbiddenRequest(e.message);
            else throw e;
        }
    })
    .execute();
"#;
    let sub = r#"
import { rs } from "@aerokit/sdk/http/rs";
rs.service().get("", (ctx, request, response) => response.print("sub-path")).execute();
"#;
    let blimp = Blimp::start(
        &[("hello.js", sdk), ("orders.mjs", aerokit), ("sub.js", sub)],
        &[],
    );
    assert_eq!(
        call("GET", &blimp.url("/hello"), &[], None).text().unwrap(),
        "Hello there!\n"
    );
    assert_eq!(
        call("GET", &blimp.url("/hello.js/Ann"), &[], None)
            .text()
            .unwrap(),
        "Hello Ann\n"
    );
    assert_eq!(
        call(
            "GET",
            &blimp.url("/hello/Ann"),
            &[("Accept", "application/json")],
            None
        )
        .status(),
        406,
        "produces(\"[text/plain]\") as the guide writes it is text/plain"
    );

    let ok = call("GET", &blimp.url("/orders/orders/12"), &[], None);
    assert_eq!((ok.status(), body_json(&ok)), (200, json!({"id": 12})));
    assert_eq!(ok.header("content-type").unwrap(), "application/json");
    let invalid = call("GET", &blimp.url("/orders/orders/x1"), &[], None);
    assert_eq!(invalid.status(), 400);
    assert_eq!(
        body_json(&invalid),
        json!({"code": 400, "message": "Invalid id 'x1'"})
    );
    let forbidden = call("GET", &blimp.url("/orders/orders/0"), &[], None);
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        body_json(&forbidden),
        json!({"code": 403, "message": "You don't have permission to access this resource"})
    );

    assert_eq!(
        call("GET", &blimp.url("/sub"), &[], None).text().unwrap(),
        "sub-path"
    );
}

#[test]
fn http_utils_helpers_answer_with_their_status_and_json_body() {
    let script = r#"
import { HttpUtils } from "@aerokit/sdk/http/utils";
import { utils, request } from "sdk/http";

const op = request.getParameter("op");
const helpers = request.getParameter("barrel") ? utils : HttpUtils;
switch (op) {
    case "ok": helpers.sendResponseOk({ id: "123", name: "Example" }); break;
    case "created": helpers.sendResponseCreated({ id: "124" }); break;
    case "nocontent": helpers.sendResponseNoContent(); break;
    case "bad": helpers.sendResponseBadRequest("Invalid input data"); break;
    case "forbidden": helpers.sendForbiddenRequest("No permission"); break;
    case "notfound": helpers.sendResponseNotFound("Resource not found"); break;
    case "error": helpers.sendInternalServerError("An unexpected error occurred"); break;
}
"#;
    let blimp = Blimp::start(&[("u.js", script)], &[]);
    let cases = [
        ("ok", 200, Some(json!({"id": "123", "name": "Example"}))),
        ("created", 201, Some(json!({"id": "124"}))),
        ("nocontent", 204, None),
        (
            "bad",
            400,
            Some(json!({"code": 400, "message": "Invalid input data"})),
        ),
        (
            "forbidden",
            403,
            Some(json!({"code": 403, "message": "No permission"})),
        ),
        (
            "notfound",
            404,
            Some(json!({"code": 404, "message": "Resource not found"})),
        ),
        (
            "error",
            500,
            Some(json!({"code": 500, "message": "An unexpected error occurred"})),
        ),
    ];
    for barrel in ["", "&barrel=1"] {
        for (op, status, body) in &cases {
            let reply = call("GET", &blimp.url(&format!("/u?op={op}{barrel}")), &[], None);
            assert_eq!(reply.status(), *status, "{op}{barrel}");
            match body {
                Some(body) => {
                    assert_eq!(reply.header("content-type").unwrap(), "application/json");
                    assert_eq!(reply.text().unwrap(), format!("{body}\n"), "{op}{barrel}");
                }
                None => assert_eq!(reply.text().unwrap(), "", "{op}{barrel}"),
            }
        }
    }
}

#[test]
fn http_errors_classes_are_errors_with_their_names() {
    let script = r#"
const { ValidationError, ForbiddenError } = require("http/errors");
const errors = require("sdk/http").errors;
const response = require("http/response");
const v = new ValidationError("Name is required");
const f = new ForbiddenError();
const g = new errors.ForbiddenError("Admins only");
let caught;
try { throw new ValidationError("thrown"); } catch (e) { caught = e; }
response.json({
  v: [v instanceof Error, v instanceof ValidationError, v instanceof ForbiddenError, v.name, v.message, String(v)],
  f: [f instanceof Error, f instanceof ForbiddenError, f.name, f.message],
  g: [g instanceof ForbiddenError, g.message],
  caught: [caught.name, caught.message, typeof caught.stack],
});
"#;
    let reply = run_script(script);
    assert_eq!(reply.status(), 200, "{:?}", reply.text());
    assert_eq!(
        json(&reply.text().unwrap()),
        json!({
            "v": [true, true, false, "ValidationError", "Name is required", "ValidationError: Name is required"],
            "f": [true, true, "ForbiddenError", "You don't have permission to access this resource"],
            "g": [true, "Admins only"],
            "caught": ["ValidationError", "thrown", "string"],
        })
    );
}
