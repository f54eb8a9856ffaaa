// http/utils: the SDK's HttpUtils, static helpers that answer with JSON.
// Scripts import the class (`import { HttpUtils } from
// "@aerokit/sdk/http/utils"`) while the `http` barrel exports the class
// itself as `utils`: the module object carries both the class and its
// functions.
(function (require) {
  "use strict";
  const response = require("http/response");

  class HttpUtils {
    static sendResponseOk(entity) {
      HttpUtils.sendResponse(200, entity);
    }

    static sendResponseCreated(entity) {
      HttpUtils.sendResponse(201, entity);
    }

    static sendResponseNoContent() {
      HttpUtils.sendResponse(204);
    }

    static sendResponseBadRequest(message) {
      HttpUtils.sendResponse(400, { code: 400, message });
    }

    static sendForbiddenRequest(message) {
      HttpUtils.sendResponse(403, { code: 403, message });
    }

    static sendResponseNotFound(message) {
      HttpUtils.sendResponse(404, { code: 404, message });
    }

    static sendInternalServerError(message) {
      HttpUtils.sendResponse(500, { code: 500, message });
    }

    /** Private in the SDK. As there, a falsy body (0, "", null) sends no body. */
    static sendResponse(status, body) {
      response.setContentType("application/json");
      response.setStatus(status);
      if (body) response.println(JSON.stringify(body));
    }
  }

  const exports = { HttpUtils };
  for (const name of Object.getOwnPropertyNames(HttpUtils)) {
    if (typeof HttpUtils[name] === "function") exports[name] = HttpUtils[name];
  }
  return exports;
});
