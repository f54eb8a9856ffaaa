// GET /fetch?port=N: waits on fetch() of a local upstream (bench/lib/upstream.py).
const request = require("http/v4/request");
const response = require("http/v4/response");

fetch(`http://127.0.0.1:${request.getParameter("port")}/`)
  .then((upstream) => upstream.text())
  .then((text) => response.print(text));
