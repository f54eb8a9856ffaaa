// GET /guestbook → the posts and a form; POST /guestbook → adds a post,
// then redirects back (so reloading the page never posts twice), with a
// one-time "thanks" message kept in the session (a flash message).
// The posts live in the default datasource: an SQLite file next to the
// sessions file (blimp-data.db), or PostgreSQL with --db postgres://...
const request = require("http/v4/request");
const response = require("http/v4/response");
const query = require("db/v4/query");
const update = require("db/v4/update");
const sequence = require("db/v4/sequence");
const session = require("http/v4/session");
const { page: layout, escape } = require("./_lib/page");

// The same SQL runs on SQLite and PostgreSQL; ids come from a sequence.
update.execute(`CREATE TABLE IF NOT EXISTS guestbook (
  id      BIGINT PRIMARY KEY,
  author  VARCHAR(40) NOT NULL,
  message VARCHAR(500) NOT NULL,
  posted  TIMESTAMP NOT NULL
)`);

if (request.getMethod() === "POST") {
  const author = (request.getParameter("author") || "").trim();
  const message = (request.getParameter("message") || "").trim();
  if (!author || !message || author.length > 40 || message.length > 500) {
    response.setStatus(response.BAD_REQUEST);
    page("Give a name (40 characters at most) and a message (500 at most).");
  } else {
    // Parameters are bound, never pasted into the SQL.
    update.execute(
      "INSERT INTO guestbook (id, author, message, posted) VALUES (?, ?, ?, ?)",
      [sequence.nextval("guestbook_ids"), author, message, new Date()]
    );
    session.setAttribute("flash", `Thanks, ${author}: your post is up.`);
    response.setStatus(303); // See Other: the browser GETs the page
    response.setHeader("Location", "/guestbook");
  }
} else {
  page("");
}

function page(problem) {
  const flash = session.getAttribute("flash");
  if (flash) session.removeAttribute("flash"); // shown once
  const posts = query.execute(
    "SELECT author, message, posted FROM guestbook ORDER BY id DESC LIMIT 50"
  );
  const items = posts
    .map(
      (post) =>
        `<li><b>${escape(post.author)}</b> <small>${post.posted.toISOString().slice(0, 16).replace("T", " ")} UTC</small><br>${escape(post.message)}</li>`
    )
    .join("\n");
  response.setContentType("text/html; charset=utf-8");
  response.print(layout("Guestbook", `
${flash ? `<p class="flash">${escape(flash)}</p>` : ""}
${problem ? `<p class="problem">${escape(problem)}</p>` : ""}
<form method="post" action="/guestbook">
  <p><input name="author" placeholder="your name" maxlength="40" required></p>
  <p><textarea name="message" placeholder="your message" maxlength="500" rows="3" cols="50" required></textarea></p>
  <p><button>Post</button></p>
</form>
<ul class="posts">
${items || "<li>No posts yet: be the first.</li>"}
</ul>`));
}
