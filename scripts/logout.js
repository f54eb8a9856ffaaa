// GET /logout → a button; POST /logout → ends the session (the cookie is
// cleared) and goes home. Only POST: a link on another site cannot sign
// anyone out.
const request = require("http/v4/request");
const response = require("http/v4/response");
const session = require("http/v4/session");
const { page } = require("./_lib/page");

if (request.getMethod() === "POST") {
  session.invalidate();
  response.setStatus(303);
  response.setHeader("Location", "/");
} else {
  response.setContentType("text/html; charset=utf-8");
  response.print(page("Sign out", `
<form method="post" action="/logout"><p><button>Sign out</button></p></form>`));
}
