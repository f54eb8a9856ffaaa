// GET /error → an uncaught exception: 500 with the message and its location
// as JSON (add --dev to also see the stack). GET /error?status=418 → sendError.
const request = require("http/v4/request");
const response = require("http/v4/response");

const status = request.getParameter("status");
if (status) {
  response.sendError(Number(status), "sent on purpose");
} else {
  throw new Error("something went wrong on purpose");
}
