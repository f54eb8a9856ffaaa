// Not a scenario: bench/run asks it how many live sessions the store holds.
const response = require("http/v4/response");
response.json({ count: require("http/v4/sessions").count() });
