// http/rs: Dirigible's REST framework. A service (HttpController) holds
// resources by path template (ResourceMappings → Resource), each with
// handler specifications per HTTP method (ResourceMethod). execute() picks
// the specification that the request's resource path, method, Content-Type
// and Accept select, and runs its before, serve, catch and finally
// callbacks. Ported from Dirigible's http/rs; where nothing matches, it
// answers 404, 405, 406 or 415 where Dirigible answers 400 (docs/api.md).
(function (require) {
  "use strict";
  const request = require("http/request");
  const response = require("http/response");

  const noop = function () {};

  // ---- Configuration ----------------------------------------------------

  /** Same media type constraints: both absent, or the same types in any order. */
  function sameTypes(a, b) {
    if (a === b) return true;
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    const x = a.slice().sort();
    const y = b.slice().sort();
    return x.every((type, i) => type === y[i]);
  }

  function withConstraints(consumes, produces) {
    return (spec) => sameTypes(spec.consumes, consumes) && sameTypes(spec.produces, produces);
  }

  /** A resource path as a template key: without one leading "/", as Dirigible stores it. */
  function templateOf(path) {
    const text = path === undefined || path === null ? "" : String(path);
    return text.startsWith("/") ? text.slice(1) : text;
  }

  function typeList(text) {
    const list = /^\s*\[(.*)\]\s*$/.exec(text);
    return list ? list[1].split(",").map((type) => type.trim().replace(/^["']|["']$/g, "")).filter(Boolean) : [text];
  }

  function listOf(value) {
    return value === undefined || value === null ? [] : [].concat(value);
  }

  /** One handler specification of a resource's method, configured fluently. */
  class ResourceMethod {
    constructor(configuration, controller, resource, mappings) {
      this.cfg = configuration || {};
      this.controller = controller;
      this._resource = resource;
      this._mappings = mappings;
    }

    configuration() {
      return this.cfg;
    }

    execute(req, res) {
      if (this.controller) this.controller.execute(req, res);
    }

    // Chaining on: another resource, or another method of this one.
    resource(path, configuration) {
      return this._mappings.resource(path, configuration);
    }
    resourcePath(path, configuration) {
      return this.resource(path, configuration);
    }
    path(path, configuration) {
      return this.resource(path, configuration);
    }
    get(...args) {
      return this._resource.get(...args);
    }
    post(...args) {
      return this._resource.post(...args);
    }
    put(...args) {
      return this._resource.put(...args);
    }
    delete(...args) {
      return this._resource.delete(...args);
    }
    remove(...args) {
      return this._resource.remove(...args);
    }
    method(...args) {
      return this._resource.method(...args);
    }

    before(handler) {
      return this._callback("before", handler);
    }
    serve(handler) {
      return this._callback("serve", handler);
    }
    catch(handler) {
      return this._callback("catch", handler);
    }
    finally(handler) {
      return this._callback("finally", handler);
    }

    consumes(types) {
      return this._types("consumes", types);
    }
    produces(types) {
      return this._types("produces", types);
    }

    _callback(phase, handler) {
      if (handler !== undefined) {
        if (typeof handler !== "function") {
          throw new Error(`Invalid argument: ${phase} method argument must be a valid javascript function, but instead is ${typeof handler}`);
        }
        this.cfg[phase] = handler;
      }
      return this;
    }

    /**
     * Adds media types (one string or an array) to a constraint, without
     * duplicates. `undefined` adds nothing, as in http/v4; a string in
     * brackets (`"[application/json, text/json]"`, as the guide writes it)
     * is a list.
     */
    _types(setting, types) {
      if (types === undefined) return this;
      const added = typeof types === "string" ? typeList(types) : types;
      if (!Array.isArray(added)) {
        throw new Error(`Invalid argument: ${setting} mime type argument must be valid MIME type string or array of such strings, but instead is ${typeof types}`);
      }
      for (const type of added) {
        const parts = String(type).split("/");
        if (parts.length !== 2 || !parts[0] || !parts[1]) {
          throw new Error(`Invalid argument. Not a valid MIME type format type/subtype: ${type}`);
        }
      }
      const current = this.cfg[setting] || [];
      this.cfg[setting] = current.concat(added.filter((type) => !current.includes(type)));
      return this;
    }
  }

  /** A resource path template and its handler specifications by method. */
  class Resource {
    constructor(path, configuration, controller, mappings) {
      this.sPath = path;
      this.cfg = {};
      this.controller = controller;
      this.mappings = mappings;
      this._add(configuration);
    }

    path(path) {
      if (arguments.length === 0) return this.sPath;
      this.sPath = path;
      return this;
    }

    configuration() {
      return this.cfg;
    }

    execute(req, res) {
      if (this.controller) this.controller.execute(req, res);
    }

    /**
     * The specifications `configuration` gives (one object or an array) for
     * `verb`: each updates the one with the same constraints or is added.
     * Returns their ResourceMethods (one alone, not in an array).
     */
    method(verb, configuration) {
      if (verb === undefined) throw new Error(`Illegal sHttpMethod argument: ${verb}`);
      const method = String(verb).toLowerCase();
      const specs = this.cfg[method] || (this.cfg[method] = []);
      const methods = listOf(configuration || {}).map((spec) => {
        let known = specs.find(withConstraints(spec.consumes, spec.produces));
        if (known) Object.assign(known, spec);
        else specs.push((known = spec));
        return new ResourceMethod(known, this.controller, this, this.mappings);
      });
      return methods.length > 1 ? methods : methods[0];
    }

    get(...args) {
      return this._verb("get", args);
    }
    post(...args) {
      return this._verb("post", args);
    }
    put(...args) {
      return this._verb("put", args);
    }
    delete(...args) {
      return this._verb("delete", args);
    }
    remove(...args) {
      return this._verb("delete", args);
    }

    find(verb, consumes, produces) {
      const spec = listOf(this.cfg[String(verb).toLowerCase()]).find(withConstraints(consumes, produces));
      return spec && new ResourceMethod(spec, this.controller, this, this.mappings);
    }

    disable(verb, consumes, produces) {
      const disabled = withConstraints(consumes, produces);
      for (const method of Object.keys(this.cfg)) {
        if (verb === undefined || String(verb).toLowerCase() === method) {
          this.cfg[method] = listOf(this.cfg[method]).filter((spec) => !disabled(spec));
        }
      }
      return this;
    }

    readonly() {
      for (const method of Object.keys(this.cfg)) {
        if (!["get", "head", "trace"].includes(method)) delete this.cfg[method];
      }
      return this;
    }

    /** `get()`, `get(serve)`, `get(configuration)`. */
    _verb(method, args) {
      if (args.length === 0) return this.method(method);
      const first = args[0];
      if (typeof first === "function") return this.method(method).serve(first);
      if (first !== null && typeof first === "object") return this.method(method, first);
      throw new Error(`Invalid argument: Resource.${method} method first argument must be valid javascript function or configuration object, but instead is ${typeof first} ${first}`);
    }

    /** A configuration object's methods: `{get: [spec, …]}` or `{get: spec}`. */
    _add(configuration) {
      for (const verb of Object.keys(configuration || {})) {
        const specs = configuration[verb];
        if (specs !== null && typeof specs === "object") this.method(verb, specs);
      }
    }
  }

  /** The resources of a service, by path template. */
  class ResourceMappings {
    constructor(configuration, controller) {
      this.resources = {};
      this.controller = controller;
      for (const path of Object.keys(configuration || {})) this.resource(path, configuration[path]);
    }

    /** The resource at `path`, made on first use; `configuration` adds to it. */
    path(path, configuration) {
      const template = templateOf(path);
      const known = this.resources[template];
      if (known) {
        known._add(configuration);
        return known;
      }
      return (this.resources[template] = new Resource(template, configuration, this.controller, this));
    }
    resourcePath(path, configuration) {
      return this.path(path, configuration);
    }
    resource(path, configuration) {
      return this.path(path, configuration);
    }

    configuration() {
      const configuration = {};
      for (const template of Object.keys(this.resources)) {
        configuration[template] = this.resources[template].configuration();
      }
      return configuration;
    }

    readonly() {
      for (const template of Object.keys(this.resources)) this.resources[template].readonly();
      return this;
    }

    disable(path, verb, consumes, produces) {
      const resource = this.resources[templateOf(path)];
      if (resource) resource.disable(verb, consumes, produces);
      return this;
    }

    find(path, verb, consumes, produces) {
      const resource = this.resources[templateOf(path)];
      return resource ? resource.find(verb, consumes, produces) : undefined;
    }

    execute(req, res) {
      if (this.controller) this.controller.execute(req, res);
    }
  }

  // ---- The service ------------------------------------------------------

  class HttpController {
    constructor(mappings) {
      this.resourceMappings =
        mappings instanceof ResourceMappings
          ? mappings
          : new ResourceMappings(mappings !== null && typeof mappings === "object" ? mappings : undefined, this);
    }

    resource(path, configuration) {
      return this.resourceMappings.resource(path, configuration);
    }
    resourcePath(path, configuration) {
      return this.resource(path, configuration);
    }
    mappings() {
      return this.resourceMappings;
    }

    // Shortcuts: `get(path, serve[, consumes, produces])` configures
    // `resource(path).get(serve)` and returns the controller.
    get(...args) {
      return this._shortcut("get", args);
    }
    post(...args) {
      return this._shortcut("post", args);
    }
    put(...args) {
      return this._shortcut("put", args);
    }
    delete(...args) {
      return this._shortcut("delete", args);
    }
    remove(...args) {
      return this._shortcut("remove", args);
    }
    method(...args) {
      return this._shortcut("method", args);
    }

    listen(req, res) {
      this.execute(req, res);
    }

    /** Serves the request (by default the current one) with the handler it selects. */
    execute(req, res) {
      req = req || request;
      res = res || response;
      // sendError and closeResponse answer on these.
      this._request = req;
      this._response = res;
      const selected = select(this.resourceMappings.configuration(), req);
      if (selected.refusal) {
        const { status, error, details, allow } = selected.refusal;
        if (allow) res.setHeader("Allow", allow);
        this.sendError(status, undefined, error, details);
        return;
      }
      this._run(selected, req, res);
    }

    /**
     * Answers with Dirigible's error: `{code, error, details}` as JSON, or
     * `error[code]: details` as text to a client that asks for HTML.
     */
    sendError(httpErrorCode, applicationErrorCode, errorName, errorDetails) {
      const req = this._request || request;
      const res = this._response || response;
      const status = httpErrorCode || 500;
      // A committed response can no longer change; the default catch logged the error.
      if (!res.isCommitted()) {
        const accepts = mediaTypes(req.getHeader("Accept")) || ["application/json"];
        // Dirigible's test also takes */* for HTML; blimp answers */* with JSON.
        if (accepts.some((type) => type !== "*/*" && compatible("*/html", type))) {
          const code = applicationErrorCode !== undefined ? `[${applicationErrorCode}]` : "";
          res.sendError(status, errorName + code + (errorDetails ? `: ${errorDetails}` : ""));
        } else {
          const body = { code: applicationErrorCode, error: errorName, details: errorDetails };
          res.setStatus(status);
          res.setHeader("Content-Type", "application/json");
          res.print(JSON.stringify(body, null, 2));
        }
      }
      this.closeResponse();
    }

    closeResponse() {
      // blimp's close() flushes first; Dirigible's flush() then close()
      // would only make the response chunked.
      (this._response || response).close();
    }

    _shortcut(name, args) {
      if (args.length < 1) throw new Error(`Insufficient arguments provided to HttpController method ${name}.`);
      // `get(serve)`, as the guide's `rs.service().get(function(){})`: the service's own path.
      if (typeof args[0] === "function") args = [""].concat(args);
      const resource = this.resource(args[0] === undefined ? "" : args[0]);
      if (name === "method") {
        resource.method(args[1], args[2]);
        return this;
      }
      const method = args.length > 1 ? resource[name](args[1]) : resource[name]();
      if (method instanceof ResourceMethod) {
        if (args[2]) method.consumes(args[2]);
        if (args[3]) method.produces(args[3]);
      }
      return this;
    }

    /** Dirigible's flow: before, serve (unless before committed), catch, close, finally. */
    _run({ handler, pathParameters }, req, res) {
      const ctx = {
        pathParameters,
        queryParameters: queryParameters(req),
        response: res,
        res,
        request: req,
        req,
      };
      const before = handler.before || noop;
      const serve = handler.handler || handler.serve || noop;
      const onError = handler.catch || defaultCatch;
      const after = handler.finally || noop;
      const args = [ctx, req, res, handler, this];
      // A catch callback that throws ends the script with its error: the
      // response stays open for blimp's 500 (Dirigible closes it first and
      // the client sees an empty 200).
      let rethrown = false;
      try {
        before.apply(this, args);
        if (!res.isCommitted()) serve.apply(this, args);
      } catch (err) {
        try {
          onError.apply(this, [ctx, err, req, res, handler, this]);
        } catch (again) {
          rethrown = true;
          throw again;
        }
      } finally {
        if (!rethrown) this.closeResponse();
        try {
          after.apply(this, []);
        } catch (err) {
          console.error(`${where(req)}: the finally callback failed: ${describe(err)}`);
        }
      }
    }
  }

  /**
   * The catch callback when none is configured: logs the error and answers
   * with it, as 500 unless the handler set `ctx.httpErrorCode` (and
   * `ctx.errorCode`, `ctx.errorName`, `ctx.errorMessage`).
   */
  function defaultCatch(ctx, err, req) {
    if (ctx.suppressStack) {
      console.info(`${where(req)} finished in error: ${ctx.errorName || ""}${ctx.errorCode ? ` [${ctx.errorCode}]` : ""}${ctx.errorMessage ? `: ${ctx.errorMessage}` : ""}`);
    } else {
      console.error(`${where(req)} failed: ${describe(err)}`);
    }
    // A thrown non-Error (`throw "gone"`) is its own message.
    const isObject = err !== null && typeof err === "object";
    this.sendError(
      ctx.httpErrorCode || 500,
      ctx.errorCode,
      ctx.errorName || (isObject ? err.name : "Error"),
      ctx.errorMessage || (isObject ? err.message : String(err)),
    );
  }

  function where(req) {
    return `${req.getMethod()} resource '${req.getResourcePath() || ""}'`;
  }

  /** The error and its stack (Boa's `stack` holds only the frames). */
  function describe(err) {
    let text;
    try {
      text = String(err);
    } catch (_) {
      text = Object.prototype.toString.call(err);
    }
    const stack = err !== null && typeof err === "object" && err.stack ? String(err.stack) : "";
    return stack && !stack.includes(text) ? `${text}\n${stack}` : stack || text;
  }

  // ---- Selecting a handler ----------------------------------------------

  /**
   * The handler specification the request selects, with its path
   * parameters, or `{refusal}` saying why there is none. As in Dirigible:
   * among the templates that match the resource path and have handlers for
   * the method, the one with the fewest parameters wins (the first defined
   * on a tie); its first specification whose consumes and produces fit the
   * request's Content-Type and Accept serves. Dirigible answers every
   * refusal with 400; blimp with what HTTP means.
   */
  function select(configuration, req) {
    const path = req.getResourcePath() || "";
    const method = String(req.getMethod()).toLowerCase();
    const matches = Object.keys(configuration)
      .map((template) => ({ template, ...matchTemplate(compiled(template), path) }))
      .filter((match) => match.pathParameters)
      .sort((a, b) => a.count - b.count);
    if (matches.length === 0) {
      return refuse(404, "Not Found", `No resource matches the path '${path}'.`);
    }
    const serving = matches.filter((match) => handlersFor(configuration[match.template], method).length > 0);
    if (serving.length === 0) {
      const allowed = allowedMethods(matches.map((match) => configuration[match.template]));
      return refuse(405, "Method Not Allowed", `${method.toUpperCase()} is not allowed here; allowed: ${allowed.join(", ") || "none"}.`, allowed.join(", "));
    }
    const best = serving[0];
    const specs = handlersFor(configuration[best.template], method);
    const contentTypes = mediaTypes(req.getContentType ? req.getContentType() : req.getHeader("Content-Type"));
    const consumable = specs.filter((spec) => consumesFit(contentTypes, spec.consumes));
    if (consumable.length === 0) {
      return refuse(415, "Unsupported Media Type", `This resource consumes ${typesOf(specs, "consumes")}.`);
    }
    const accepts = mediaTypes(req.getHeader("Accept"));
    const handler = consumable.find((spec) => producesFit(accepts, spec.produces));
    if (!handler) {
      return refuse(406, "Not Acceptable", `This resource produces ${typesOf(consumable, "produces")}.`);
    }
    return { handler, pathParameters: best.pathParameters };
  }

  function refuse(status, error, details, allow) {
    return { refusal: { status, error, details, allow } };
  }

  /** A resource's specifications for `method`; HEAD is served by GET's when it has none. */
  function handlersFor(resource, method) {
    const specs = listOf(resource && resource[method]);
    return specs.length === 0 && method === "head" ? handlersFor(resource, "get") : specs;
  }

  /** For `Allow`: the methods that have specifications, HEAD with GET. */
  function allowedMethods(resources) {
    const methods = [];
    for (const resource of resources) {
      for (const method of Object.keys(resource || {})) {
        if (listOf(resource[method]).length > 0 && !methods.includes(method)) methods.push(method);
      }
    }
    if (methods.includes("get") && !methods.includes("head")) methods.push("head");
    return methods.map((method) => method.toUpperCase());
  }

  function typesOf(specs, setting) {
    const types = [];
    for (const spec of specs) {
      for (const type of listOf(spec[setting])) if (!types.includes(type)) types.push(type);
    }
    return types.join(", ");
  }

  // ---- Media types ------------------------------------------------------

  /** A Content-Type or Accept value as its types, without parameters (q=…). */
  function mediaTypes(header) {
    if (header === undefined || header === null) return undefined;
    return String(header)
      .split(",")
      .map((entry) => entry.replace("\\", "").split(";")[0].trim().toLowerCase())
      .filter((type) => type.length > 0);
  }

  /** Whether two media types can name the same thing, wildcards considered. */
  function compatible(a, b) {
    if (a === b || a === "*/*" || b === "*/*") return true;
    const [aType, aSubtype] = a.split("/");
    const [bType, bSubtype] = b.split("/");
    return (
      ((aType === "*" || bType === "*") && aSubtype === bSubtype) ||
      ((aSubtype === "*" || bSubtype === "*") && aType === bType)
    );
  }

  /** A request without Accept, or accepting anything, fits any produces. */
  function producesFit(accepts, produces) {
    const offered = listOf(produces).map((type) => String(type).toLowerCase());
    if (!accepts || accepts.length === 0 || accepts.includes("*/*") || offered.length === 0) return true;
    return accepts.some((accepted) => offered.some((type) => compatible(accepted, type)));
  }

  /** A consumes constraint needs a Content-Type that fits it. */
  function consumesFit(contentTypes, consumes) {
    const expected = listOf(consumes).map((type) => String(type).toLowerCase());
    if (expected.length === 0 || expected.includes("*/*")) return true;
    if (!contentTypes) return false;
    return contentTypes.some((sent) => expected.some((type) => compatible(sent, type)));
  }

  // ---- Query parameters -------------------------------------------------

  /**
   * `ctx.queryParameters`, as the SDK's request.getQueryParametersMap()
   * shapes them: a repeated name gives an array, a name without "=" gives
   * `true`. Each name and value is decoded on its own (the SDK decodes the
   * whole query first, which breaks values holding an encoded "&" or "=").
   */
  function queryParameters(req) {
    if (typeof req.getQueryParametersMap === "function") return req.getQueryParametersMap() || {};
    const parameters = {};
    for (const pair of (req.getQueryString() || "").split("&")) {
      if (pair === "") continue;
      const at = pair.indexOf("=");
      const name = decodeComponent(at < 0 ? pair : pair.slice(0, at)).trim();
      const value = at < 0 ? true : decodeComponent(pair.slice(at + 1)).trim();
      const known = parameters[name];
      if (known === undefined) parameters[name] = value;
      else if (Array.isArray(known)) known.push(value);
      else parameters[name] = [known, value];
    }
    return parameters;
  }

  function decodeComponent(text) {
    try {
      return decodeURIComponent(text.replace(/\+/g, " "));
    } catch (_) {
      return text; // malformed %-escapes stay as sent
    }
  }

  // ---- Path templates ---------------------------------------------------
  //
  // Dirigible turns "{name}" and "{name*}" into path-to-regexp's ":name" and
  // ":name*" and matches with path-to-regexp 6, whose defaults hold here:
  // case-insensitive, an optional trailing "/", parameters not decoded
  // further (blimp's resource path is decoded already). Its syntax:
  // ":name", ":name(regex)", "(regex)" (parameters "0", "1", …), the
  // modifiers "?", "*" and "+" (a repeated parameter is an array), groups
  // "{prefix:name suffix}", and "\\" escapes. A "/" or "." just before a
  // parameter belongs to it (so "books/:id?" matches "books").

  const SEGMENT = "[^\\/#\\?]+?";
  const compiledTemplates = new Map();

  function compiled(template) {
    let found = compiledTemplates.get(template);
    if (found === undefined) {
      if (compiledTemplates.size >= 1000) compiledTemplates.clear(); // templates made on the fly
      found = compileTemplate(template);
      compiledTemplates.set(template, found);
    }
    return found;
  }

  /** `{pathParameters, count}` when `path` matches, else `{}`. */
  function matchTemplate({ regexp, keys }, path) {
    const found = regexp.exec(path);
    if (!found) return {};
    const pathParameters = {};
    keys.forEach((key, i) => {
      const value = found[i + 1];
      if (value === undefined) return;
      const separator = key.prefix + key.suffix;
      const repeated = key.modifier === "*" || key.modifier === "+";
      pathParameters[key.name] = repeated ? (separator ? value.split(separator) : [value]) : value;
    });
    return { pathParameters, count: keys.length };
  }

  function compileTemplate(template) {
    const parts = parseTemplate(template, template.replace(/{(\w*\*?)}/g, ":$1"));
    const keys = [];
    let source = "^";
    for (const part of parts) {
      if (typeof part === "string") {
        source += escapeRegExp(part);
        continue;
      }
      const prefix = escapeRegExp(part.prefix);
      const suffix = escapeRegExp(part.suffix);
      const { pattern, modifier } = part;
      if (!pattern) {
        source += `(?:${prefix}${suffix})${modifier}`;
        continue;
      }
      keys.push(part);
      const repeated = modifier === "*" || modifier === "+";
      if (prefix || suffix) {
        source += repeated
          ? `(?:${prefix}((?:${pattern})(?:${suffix}${prefix}(?:${pattern}))*)${suffix})${modifier === "*" ? "?" : ""}`
          : `(?:${prefix}(${pattern})${suffix})${modifier}`;
      } else {
        source += repeated ? `((?:${pattern})${modifier})` : `(${pattern})${modifier}`;
      }
    }
    return { regexp: new RegExp(`${source}[\\/#\\?]?$`, "i"), keys };
  }

  function escapeRegExp(text) {
    return text.replace(/([.+*?=^!:${}()[\]|/\\])/g, "\\$1");
  }

  /** Literal strings and parameters `{name, prefix, suffix, pattern, modifier}`. */
  function parseTemplate(template, text) {
    const tokens = tokenize(template, text);
    const parts = [];
    let literal = "";
    let unnamed = 0;
    let k = 0;
    const next = (type) => (tokens[k].type === type ? tokens[k++] : null);
    const expect = (type) => {
      if (!next(type)) fail(template, `unexpected ${tokens[k].type} at ${tokens[k].at}, expected ${type}`);
    };
    const text_ = () => {
      let out = "";
      for (let token; (token = next("char") || next("escaped")); ) out += token.value;
      return out;
    };
    const modifier = () => (next("modifier") || { value: "" }).value;
    const endLiteral = () => {
      if (literal) parts.push(literal);
      literal = "";
    };
    while (k < tokens.length) {
      const char = next("char");
      const name = next("name");
      const pattern = next("pattern");
      if (name || pattern) {
        let prefix = char ? char.value : "";
        if (prefix !== "/" && prefix !== ".") {
          literal += prefix;
          prefix = "";
        }
        endLiteral();
        parts.push({
          name: name ? name.value : unnamed++,
          prefix,
          suffix: "",
          pattern: pattern ? pattern.value : SEGMENT,
          modifier: modifier(),
        });
        continue;
      }
      const plain = char || next("escaped");
      if (plain) {
        literal += plain.value;
        continue;
      }
      endLiteral();
      if (next("open")) {
        const prefix = text_();
        const groupName = next("name");
        const groupPattern = next("pattern");
        const suffix = text_();
        expect("close");
        parts.push({
          name: groupName ? groupName.value : groupPattern ? unnamed++ : "",
          prefix,
          suffix,
          pattern: groupPattern ? groupPattern.value : groupName ? SEGMENT : "",
          modifier: modifier(),
        });
        continue;
      }
      expect("end");
    }
    return parts;
  }

  function tokenize(template, text) {
    const tokens = [];
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === "*" || c === "+" || c === "?") {
        tokens.push({ type: "modifier", value: c, at: i });
        i += 1;
      } else if (c === "\\") {
        tokens.push({ type: "escaped", value: text[i + 1] || "", at: i });
        i += 2;
      } else if (c === "{" || c === "}") {
        tokens.push({ type: c === "{" ? "open" : "close", at: i });
        i += 1;
      } else if (c === ":") {
        const name = /^\w*/.exec(text.slice(i + 1))[0];
        if (!name) fail(template, `missing parameter name at ${i}`);
        tokens.push({ type: "name", value: name, at: i });
        i += 1 + name.length;
      } else if (c === "(") {
        const { pattern, end } = scanPattern(template, text, i);
        tokens.push({ type: "pattern", value: pattern, at: i });
        i = end;
      } else {
        tokens.push({ type: "char", value: c, at: i });
        i += 1;
      }
    }
    tokens.push({ type: "end", at: i });
    return tokens;
  }

  /** The regex of "(…)" at `start`: balanced, non-capturing groups only. */
  function scanPattern(template, text, start) {
    let depth = 1;
    let pattern = "";
    let j = start + 1;
    if (text[j] === "?") fail(template, `pattern cannot start with "?" at ${j}`);
    while (j < text.length) {
      const c = text[j];
      if (c === "\\") {
        pattern += c + (text[j + 1] || "");
        j += 2;
        continue;
      }
      if (c === ")") {
        depth -= 1;
        if (depth === 0) {
          j += 1;
          break;
        }
      } else if (c === "(") {
        depth += 1;
        if (text[j + 1] !== "?") fail(template, `capturing groups are not allowed at ${j}`);
      }
      pattern += c;
      j += 1;
    }
    if (depth) fail(template, `unbalanced pattern at ${start}`);
    if (!pattern) fail(template, `missing pattern at ${start}`);
    return { pattern, end: j };
  }

  function fail(template, problem) {
    throw new TypeError(`Invalid resource path template '${template}': ${problem}`);
  }

  // ---- The module -------------------------------------------------------

  /** A service, optionally from a configuration object or ResourceMappings. */
  function service(configuration) {
    return new HttpController(configuration !== null && typeof configuration === "object" ? configuration : undefined);
  }

  return { service, HttpController, ResourceMappings, Resource, ResourceMethod };
});
