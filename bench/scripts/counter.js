// counter (fixed cookie) and counter-new (no cookie: a new session per request).
const session = require("http/v4/session");
const response = require("http/v4/response");
response.println("visits: " + session.increment("visits"));
