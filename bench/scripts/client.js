// GET /client?port=N: the same wait through Dirigible's synchronous HTTP client.
const client = require("http/v4/client");
const request = require("http/v4/request");
const response = require("http/v4/response");

response.print(client.get(`http://127.0.0.1:${request.getParameter("port")}/`).text);
