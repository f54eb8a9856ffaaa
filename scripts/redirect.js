// GET /redirect → 302 to /hello (or to ?to=/somewhere).
const request = require("http/v4/request");
const response = require("http/v4/response");

response.sendRedirect(request.getParameter("to") || "/hello");
