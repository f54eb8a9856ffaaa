// GET or POST /logout → ends the session; the cookie is cleared.
const response = require("http/v4/response");
const session = require("http/v4/session");

session.invalidate();
response.json({ loggedOut: true });
