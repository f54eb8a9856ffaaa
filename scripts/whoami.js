// GET /whoami → the logged-in user, or 401.
const response = require("http/v4/response");
const session = require("http/v4/session");

const user = session.getAttribute("user");
if (user) {
  response.json(user);
} else {
  response.setStatus(response.UNAUTHORIZED);
  response.json({ error: "not logged in: POST /login with user=NAME" });
}
