// GET / → what the examples are.
const response = require("http/v4/response");
const { page } = require("./_lib/page");

response.setContentType("text/html; charset=utf-8");
response.print(page("blimp is running", `
<p>Each page below is a <code>.js</code> file in the scripts folder; the
stylesheet is <code>style.css</code> next to them, served as a file.</p>
<ul>
  <li><a href="/hello">/hello</a> — hello.js</li>
  <li><a href="/echo/some/path?x=1&amp;x=2">/echo</a> — echo.js: what the request carried</li>
  <li><a href="/stream">/stream</a> — stream.js: flush() streams</li>
  <li><a href="/redirect?to=/hello">/redirect</a> — redirect.js: to local paths only</li>
  <li><a href="/error">/error</a> — error.js: what a failing script looks like</li>
  <li><a href="/counter">/counter</a> — counter.js: a session counter</li>
  <li><a href="/login">/login</a>, <a href="/whoami">/whoami</a>, <a href="/logout">/logout</a> — signing in with a session</li>
  <li><a href="/guestbook">/guestbook</a> — guestbook.js: a form and a database</li>
</ul>`));
