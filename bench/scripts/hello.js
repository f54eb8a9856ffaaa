// hello: a constant body, the cheapest possible script.
const response = require("http/v4/response");
response.println("Hello from blimp!");
