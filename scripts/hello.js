// GET /hello → a plain-text greeting.
const response = require("http/v4/response");

response.println("Hello from blimp!");
