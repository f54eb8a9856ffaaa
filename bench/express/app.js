// The blimp benchmark scenarios (bench/scripts/*.js) on Express +
// express-session with its default MemoryStore: the peer users know.
// PORT=0 node app.js  ->  "listening on http://127.0.0.1:PORT" on stderr.
"use strict";
const express = require("express");
const session = require("express-session");

const app = express();
app.disable("x-powered-by");
app.set("etag", false); // blimp's scripts send no ETag either
// static: the same 10 KB stylesheet blimp serves from its scripts folder,
// through express.static (which sends ETag and Last-Modified, as blimp does
// for files). Before the session: a file needs none.
app.use(express.static(require("path").join(__dirname, "..", "scripts"), { index: false }));
const store = new session.MemoryStore();
app.use(
  session({
    name: "sid",
    secret: "blimp-bench-not-a-secret",
    store,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: "lax" },
  })
);

// hello
app.get("/hello", (req, res) => {
  res.type("text/plain; charset=utf-8").send("Hello from blimp!\n");
});

// counter and counter-new
app.get("/counter", (req, res) => {
  req.session.visits = (req.session.visits || 0) + 1;
  res.type("text/plain; charset=utf-8").send("visits: " + req.session.visits + "\n");
});

// page: the same HTML as bench/scripts/page.js
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (value) => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
const first = (v) => (Array.isArray(v) ? v[0] : v);
app.get("/page", (req, res) => {
  let user = req.session.user;
  if (user === undefined) {
    user = "guest-" + req.session.id.slice(0, 8);
    req.session.user = user;
  }
  const title = first(req.query.title) || "Untitled";
  const count = Math.min(parseInt(first(req.query.items) || "5", 10) || 0, 50);
  const color = /^[a-z]+$/.test(first(req.query.color) || "") ? first(req.query.color) : "black";
  const rows = [];
  for (let i = 1; i <= count; i++) {
    rows.push(`  <li class="${i % 2 ? "odd" : "even"}">${esc(title)} #${i}</li>`);
  }
  res.type("text/html; charset=utf-8").send(`<!DOCTYPE html>
<html><head><title>${esc(title)}</title></head>
<body style="color: ${color}">
<h1>Hello, ${esc(user)}!</h1>
<ul>
${rows.join("\n")}
</ul>
<p>${count} items for ${esc(user)}.</p>
</body></html>
`);
});

// json
app.post("/json", express.json(), (req, res) => {
  const order = req.body;
  if (!order || !Array.isArray(order.items)) {
    res.status(400).json({ ok: false, error: "expected a JSON object with an items array" });
    return;
  }
  let total = 0;
  for (const item of order.items) total += item.price * item.qty;
  res.json({ ok: true, customer: order.customer, items: order.items.length, total: Math.round(total * 100) / 100 });
});

// not a scenario: live sessions, for the session-memory measurement
app.get("/sessions-count", (req, res) => {
  store.length((err, count) => res.json({ count: err ? null : count }));
});

const server = app.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  const { address, port } = server.address();
  process.stderr.write(`listening on http://${address}:${port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
