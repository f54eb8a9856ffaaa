// json: POST a ~1 KB JSON order, parse it, answer JSON.
const request = require("http/v4/request");
const response = require("http/v4/response");

const order = request.getJSON();
if (order === null || !Array.isArray(order.items)) {
  response.setStatus(400);
  response.json({ ok: false, error: "expected a JSON object with an items array" });
} else {
  let total = 0;
  for (const item of order.items) total += item.price * item.qty;
  response.json({ ok: true, customer: order.customer, items: order.items.length, total: Math.round(total * 100) / 100 });
}
