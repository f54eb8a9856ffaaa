// The layout of the example pages: a title, the stylesheet (a static file,
// style.css) and the favicon. `_lib` starts with "_": never a URL.
exports.page = function (title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<link rel="stylesheet" href="/style.css">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
<header><a href="/">blimp</a></header>
<main>
<h1>${escape(title)}</h1>
${body}
</main>
</body>
</html>
`;
};

// Text as HTML: what a visitor typed is shown, never run.
function escape(text) {
  return String(text).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]
  );
}
exports.escape = escape;
