// Any method, /echo/any/path?x=1 → what the request carried, as JSON.
// Try: curl -X POST 'localhost:8080/echo/a/b?x=1&x=2' -H 'content-type: application/json' -d '{"hi":true}'
const request = require("http/v4/request");
const response = require("http/v4/response");

const headers = {};
for (const name of request.getHeaderNames()) {
  headers[name] = request.getHeader(name);
}

response.json({
  method: request.getMethod(),
  path: request.getRequestURI(),
  pathInfo: request.getPathInfo(),
  parameters: request.getParameters(),
  headers,
  cookies: request.getCookies(),
  json: request.getJSON(),
  text: request.getText(),
});
