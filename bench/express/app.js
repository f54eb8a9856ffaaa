// The blimp benchmark scenarios (bench/scripts/*.js) on Express +
// express-session with its default MemoryStore: the peer users know.
// PORT=0 node app.js  ->  "listening on http://127.0.0.1:PORT" on stderr.
// db (bench/scripts/db.js) only with a database, one of:
//   BENCH_SQLITE=/tmp/file.db   better-sqlite3 (WAL), one prepared statement
//   BENCH_PG=postgres://...     node-postgres pg.Pool, a named prepared statement
// The table items is created and filled (10,000 rows) before listening.
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
// db: before the session middleware (it would make a session object per
// request without a cookie), the same answer as bench/scripts/db.js.
const ROWS = 10000;
const starting = [];
const randomId = () => 1 + Math.floor(Math.random() * ROWS);
if (process.env.BENCH_SQLITE) {
  const Database = require("better-sqlite3");
  const db = new Database(process.env.BENCH_SQLITE);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL)");
  if (db.prepare("SELECT count(*) AS n FROM items").get().n === 0) {
    const insert = db.prepare("INSERT INTO items (id, name, price) VALUES (?, ?, ?)");
    db.transaction(() => {
      for (let i = 1; i <= ROWS; i++) insert.run(i, "item " + i, (i % 1000) / 10);
    })();
  }
  const byId = db.prepare("SELECT id, name, price FROM items WHERE id = ?");
  app.get("/db", (req, res) => {
    res.json(byId.get(randomId()));
  });
} else if (process.env.BENCH_PG) {
  const { Pool } = require("pg");
  // 16 connections: blimp's --db-pool default.
  const pool = new Pool({ connectionString: process.env.BENCH_PG, max: 16 });
  starting.push(
    (async () => {
      await pool.query("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL)");
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM items");
      if (rows[0].n === 0) {
        await pool.query(
          "INSERT INTO items (id, name, price) SELECT i, 'item ' || i, (i % 1000) / 10.0 FROM generate_series(1, $1::int) AS i",
          [ROWS]
        );
      }
    })()
  );
  // A name makes pg prepare it once per pooled connection and reuse it.
  const byId = { name: "items-by-id", text: "SELECT id, name, price FROM items WHERE id = $1" };
  app.get("/db", async (req, res, next) => {
    try {
      const { rows } = await pool.query({ ...byId, values: [randomId()] });
      res.json(rows[0]);
    } catch (err) {
      next(err);
    }
  });
}

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

let server;
Promise.all(starting).then(
  () => {
    server = app.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
      const { address, port } = server.address();
      process.stderr.write(`listening on http://${address}:${port}\n`);
    });
  },
  (err) => {
    process.stderr.write(`ERROR: could not prepare the database: ${err.message}\n`);
    process.exit(1);
  }
);
process.on("SIGTERM", () => (server ? server.close(() => process.exit(0)) : process.exit(0)));
