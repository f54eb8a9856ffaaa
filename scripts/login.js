// POST /login with user=NAME → starts a session for NAME.
// Try: curl -c jar -b jar -d user=ann localhost:8080/login
const request = require("http/v4/request");
const response = require("http/v4/response");
const session = require("http/v4/session");

const user = request.getParameter("user");
if (request.getMethod() !== "POST" || !user) {
  response.setStatus(response.BAD_REQUEST);
  response.json({ error: "POST a form field user=NAME" });
} else {
  session.regenerateId(); // a fresh id at login: no session fixation
  session.setAttribute("user", { name: user, since: new Date().toISOString() });
  response.json({ loggedIn: user });
}
