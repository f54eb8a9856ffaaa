// db: read one row by primary key from a 10,000-row table in the default
// datasource (SQLite, or PostgreSQL with --db postgres://...), answer it as
// JSON. The first request makes the table; the SQL is the same on both.
const response = require("http/v4/response");
const query = require("db/v4/query");
const database = require("db/v4/database");

const ROWS = 10000;
const id = 1 + Math.floor(Math.random() * ROWS);
let rows;
try {
  rows = query.execute("SELECT id, name, price FROM items WHERE id = ?", [id]);
} catch (e) {
  fill();
  rows = query.execute("SELECT id, name, price FROM items WHERE id = ?", [id]);
}
response.json(rows[0]);

function fill() {
  const c = database.getConnection();
  c.prepareStatement("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL)").executeUpdate();
  c.setAutoCommit(false); // one transaction, holding the write lock: one filler
  const count = c.prepareStatement("SELECT count(*) AS n FROM items").executeQuery();
  count.next();
  if (count.getInt("n") === 0) {
    // Should two requests fill at once (PostgreSQL does not lock the
    // table for this), the second one's rows are skipped, not an error.
    const insert = c.prepareStatement("INSERT INTO items (id, name, price) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING");
    for (let i = 1; i <= ROWS; i++) {
      insert.setInt(1, i);
      insert.setString(2, "item " + i);
      insert.setDouble(3, (i % 1000) / 10);
      insert.executeUpdate();
    }
  }
  c.commit();
  c.close();
}
