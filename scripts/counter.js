// GET /counter → how many times this browser (its session) has been here.
// Try: curl -c jar -b jar localhost:8080/counter (twice)
const session = require("http/v4/session");
const response = require("http/v4/response");

response.println(`visits: ${session.increment("visits")}`);
