// GET /login → the form; POST /login (user=NAME) → signs NAME in for this
// session and redirects to /whoami.
// Try: curl -c jar -b jar -d user=ann localhost:8080/login
const request = require("http/v4/request");
const response = require("http/v4/response");
const session = require("http/v4/session");
const { page } = require("./_lib/page");

const user = (request.getParameter("user") || "").trim();
if (request.getMethod() === "POST" && user && user.length <= 40) {
  session.regenerateId(); // a fresh id at login: no session fixation
  session.setAttribute("user", { name: user, since: new Date().toISOString() });
  response.setStatus(303); // See Other: the browser GETs /whoami
  response.setHeader("Location", "/whoami");
} else {
  if (request.getMethod() === "POST") response.setStatus(response.BAD_REQUEST);
  response.setContentType("text/html; charset=utf-8");
  response.print(page("Sign in", `
${request.getMethod() === "POST" ? '<p class="problem">Give a name of 40 characters at most.</p>' : ""}
<form method="post" action="/login">
  <p><label>Name <input name="user" maxlength="40" required autofocus></label></p>
  <p><button>Sign in</button></p>
</form>`));
}
