// The waiting scenarios' peer: node:http whose handler awaits fetch() of the
// same slow upstream (GET /fetch?port=N), plus /hello.
// PORT=0 node fetch.js  ->  "listening on http://127.0.0.1:PORT" on stderr.
"use strict";
const http = require("node:http");

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/hello") {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end("Hello from blimp!\n");
    return;
  }
  if (url.pathname === "/fetch") {
    const upstream = await fetch(`http://127.0.0.1:${url.searchParams.get("port")}/`);
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(await upstream.text());
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.error(`listening on http://127.0.0.1:${server.address().port}`);
});
