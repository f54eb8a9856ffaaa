// GET /stream → five lines, one every 300 ms: flush() sends what is buffered.
// Try: curl -N localhost:8080/stream
const response = require("http/v4/response");

for (let i = 1; i <= 5; i++) {
  response.println(`tick ${i} at ${new Date().toISOString()}`);
  response.flush();
  const until = Date.now() + 300;
  while (Date.now() < until) {} // stand-in for real work
}
response.println("done");
