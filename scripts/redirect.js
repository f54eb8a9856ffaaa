// GET /redirect?to=/somewhere → 302 there (default /hello). Local paths
// only: redirecting to any URL a link gives is an open redirect.
const request = require("http/v4/request");
const response = require("http/v4/response");

const to = request.getParameter("to") || "/hello";
if (/^\/(?![\/\\])[\x21-\x7e]*$/.test(to)) {
  response.sendRedirect(to);
} else {
  response.sendError(response.BAD_REQUEST, "redirects go to local paths only, like /hello");
}
