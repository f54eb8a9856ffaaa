// GET / → what the examples are.
const response = require("http/v4/response");

response.setContentType("text/html; charset=utf-8");
response.print(`<!doctype html>
<title>blimp</title>
<h1>blimp is running</h1>
<p>Each page below is a .js file in the scripts folder:</p>
<ul>
  <li><a href="/hello">/hello</a> — hello.js</li>
  <li><a href="/echo/some/path?x=1&amp;x=2">/echo</a> — echo.js: what the request carried</li>
  <li><a href="/stream">/stream</a> — stream.js: flush() streams</li>
  <li><a href="/redirect">/redirect</a> — redirect.js</li>
  <li><a href="/error">/error</a> — error.js: what a failing script looks like</li>
  <li><a href="/counter">/counter</a> — counter.js: a session counter</li>
  <li><a href="/whoami">/whoami</a>, /login (POST user=NAME), <a href="/logout">/logout</a> — sessions</li>
  <li><a href="/guestbook">/guestbook</a> — guestbook.js: a form and a database table</li>
</ul>`);
