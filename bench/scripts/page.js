// page: a small HTML page built from query parameters and a session value.
// GET /page?title=Fish+%26+Chips&items=10&color=teal with a fixed session cookie.
const request = require("http/v4/request");
const response = require("http/v4/response");
const session = require("http/v4/session");

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

let user = session.getAttribute("user");
if (user === null) {
  user = "guest-" + session.getId().slice(0, 8);
  session.setAttribute("user", user);
}
const title = request.getParameter("title") || "Untitled";
const count = Math.min(parseInt(request.getParameter("items") || "5", 10) || 0, 50);
const color = /^[a-z]+$/.test(request.getParameter("color") || "") ? request.getParameter("color") : "black";

const rows = [];
for (let i = 1; i <= count; i++) {
  rows.push(`  <li class="${i % 2 ? "odd" : "even"}">${esc(title)} #${i}</li>`);
}
response.setContentType("text/html; charset=utf-8");
response.print(`<!DOCTYPE html>
<html><head><title>${esc(title)}</title></head>
<body style="color: ${color}">
<h1>Hello, ${esc(user)}!</h1>
<ul>
${rows.join("\n")}
</ul>
<p>${count} items for ${esc(user)}.</p>
</body></html>
`);
