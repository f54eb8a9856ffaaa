// http/errors: the SDK's error classes. They carry no status: handlers
// tell them apart by `name` (HttpUtils.sendForbiddenRequest for a
// ForbiddenError, sendResponseBadRequest for a ValidationError).
(function () {
  "use strict";

  class ValidationError extends Error {
    constructor(message) {
      super(message);
      this.name = "ValidationError";
    }
  }

  class ForbiddenError extends Error {
    constructor(message = "You don't have permission to access this resource") {
      super(message);
      this.name = "ForbiddenError";
    }
  }

  return { ForbiddenError, ValidationError };
});
