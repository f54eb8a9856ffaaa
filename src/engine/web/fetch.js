// Headers, Request, Response and fetch (see common.js). There are no
// streams: a body is a whole byte array, read at once.
(function (native, shared) {
  "use strict";

  const {
    define, expose, isObject, usv, byteString, required, dictionary, toUint16, initPairs, iteratorMaker,
    pairIterator, forEachPair, encoder, decoder, internal,
  } = shared;
  const forbiddenInValue = /[\0\r\n]/;
  const statusTextPattern = /^[\t\x20-\x7E\x80-\xFF]*$/;
  // Nothing is an AbortSignal or a URLSearchParams before its part ran.
  const isSignal = (v) => shared.isSignal !== undefined && shared.isSignal(v);
  const isParams = (v) => shared.isParams !== undefined && shared.isParams(v);
  const dependentSignal = (signals) => native.load("events").dependentSignal(signals);

  // ---- Headers ----

  const tokenPattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
  function headerName(v) {
    const s = byteString(v);
    if (!tokenPattern.test(s)) throw new TypeError(`Invalid header name: ${JSON.stringify(s)}`);
    return s.toLowerCase();
  }
  const isHTTPSpace = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  function headerValue(v) {
    const s = byteString(v);
    let start = 0;
    let end = s.length;
    while (start < end && isHTTPSpace(s.charCodeAt(start))) start++;
    while (end > start && isHTTPSpace(s.charCodeAt(end - 1))) end--;
    const value = s.slice(start, end);
    if (forbiddenInValue.test(value)) throw new TypeError(`Invalid header value: ${JSON.stringify(value)}`);
    return value;
  }
  // Sort and combine: by name, values of one name joined, set-cookie kept apart.
  function sortAndCombine(list) {
    const groups = new Map();
    for (const [name, value] of list) {
      const values = groups.get(name);
      if (values === undefined) groups.set(name, [value]);
      else values.push(value);
    }
    const pairs = [];
    for (const name of [...groups.keys()].sort()) {
      if (name === "set-cookie") for (const value of groups.get(name)) pairs.push([name, value]);
      else pairs.push([name, groups.get(name).join(", ")]);
    }
    return pairs;
  }

  const headersIterator = iteratorMaker("Headers Iterator");
  let headerList; // (headers) -> its [name, value] list, in insertion order
  let makeHeaders; // (list, immutable) -> Headers
  let copyHeaders; // (headers) -> a copy, as mutable as the original

  // Forbidden header names are not enforced: a server is not a browser page.
  class Headers {
    #list = []; // [lower-case name, value], in insertion order
    #immutable = false; // fetched responses, Response.error() and Response.redirect()
    #sorted = null; // the sort-and-combine view, until the next change
    constructor(init = undefined) {
      if (init === undefined) return;
      if (!isObject(init)) throw new TypeError("Headers: the init must be an object");
      if (#list in init) this.#list = init.#list.map(([n, v]) => [n, v]);
      else for (const [name, value] of initPairs(init, byteString, "Headers")) this.#append(name, value);
    }
    #change() {
      if (this.#immutable) throw new TypeError("Headers are immutable");
      this.#sorted = null;
    }
    #append(name, value) {
      name = headerName(name);
      value = headerValue(value);
      this.#change();
      this.#list.push([name, value]);
    }
    #pairs() { return (this.#sorted ??= sortAndCombine(this.#list)); }
    append(name, value) {
      required(arguments.length, 2, "Headers.append");
      this.#append(name, value);
    }
    delete(name) {
      required(arguments.length, 1, "Headers.delete");
      const n = headerName(name);
      this.#change();
      this.#list = this.#list.filter(([k]) => k !== n);
    }
    get(name) {
      required(arguments.length, 1, "Headers.get");
      const n = headerName(name);
      const values = this.#list.filter(([k]) => k === n).map(([, v]) => v);
      return values.length === 0 ? null : values.join(", ");
    }
    getSetCookie() { return this.#list.filter(([k]) => k === "set-cookie").map(([, v]) => v); }
    has(name) {
      required(arguments.length, 1, "Headers.has");
      const n = headerName(name);
      return this.#list.some(([k]) => k === n);
    }
    set(name, value) {
      required(arguments.length, 2, "Headers.set");
      const n = headerName(name);
      const v = headerValue(value);
      this.#change();
      const i = this.#list.findIndex(([k]) => k === n);
      if (i < 0) this.#list.push([n, v]);
      else this.#list = this.#list.filter(([k], j) => j <= i || k !== n).map((p, j) => (j === i ? [n, v] : p));
    }
    forEach(callback, thisArg = undefined) {
      required(arguments.length, 1, "Headers.forEach");
      forEachPair(() => this.#pairs(), callback, thisArg, this, "Headers.forEach");
    }
    keys() { return pairIterator(headersIterator, () => this.#pairs(), "keys"); }
    values() { return pairIterator(headersIterator, () => this.#pairs(), "values"); }
    entries() { return pairIterator(headersIterator, () => this.#pairs(), "entries"); }

    static {
      headerList = (headers) => headers.#list;
      makeHeaders = (list, immutable) => {
        const headers = new Headers();
        headers.#list = list;
        headers.#immutable = immutable;
        return headers;
      };
      copyHeaders = (headers) => makeHeaders(headers.#list.map(([n, v]) => [n, v]), headers.#immutable);
    }
  }
  expose(Headers);
  Object.defineProperty(Headers.prototype, Symbol.iterator, {
    value: Headers.prototype.entries, writable: true, configurable: true,
  });

  const hasHeader = (list, name) => list.some(([n]) => n === name);

  // ---- Bodies ----

  // A body to send: its bytes (a copy) and the Content-Type it implies, if any.
  function extractBody(body) {
    if (typeof body === "string") return { bytes: encoder.encode(body), type: "text/plain;charset=UTF-8" };
    if (isParams(body)) {
      return { bytes: encoder.encode(shared.paramsString(body)), type: "application/x-www-form-urlencoded;charset=UTF-8" };
    }
    if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice(), type: null };
    if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)), type: null };
    // Blob, FormData and streams do not exist here: like WebIDL's union, anything else is a string.
    return { bytes: encoder.encode(usv(body)), type: "text/plain;charset=UTF-8" };
  }
  const newBody = (bytes = null) => ({ bytes, used: false });
  // A clone's body: a copy of the bytes, unless they were read already.
  function copyBody(body, where) {
    if (body.used) throw new TypeError(`${where}: the body has already been used`);
    return newBody(body.bytes === null ? null : body.bytes.slice());
  }
  const emptyBytes = () => new Uint8Array(0);

  // The Body mixin of Request and Response. `stateOf` gets an object's
  // { bytes (null: no body), used } and throws for other objects. A null body
  // reads as empty and is never "used", as the spec says.
  function bodyMixin(C, stateOf) {
    function take(object) {
      const state = stateOf(object);
      if (state.used) throw new TypeError("Body has already been used");
      if (state.bytes === null) return emptyBytes();
      state.used = true;
      return state.bytes; // ours alone from here on: clones and extractions copied theirs
    }
    const methods = {
      get body() { stateOf(this); return null; }, // no ReadableStream here
      get bodyUsed() { return stateOf(this).used; },
      async arrayBuffer() {
        const b = take(this);
        return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer;
      },
      async bytes() { return take(this); },
      async json() { return JSON.parse(decoder.decode(take(this))); },
      async text() { return decoder.decode(take(this)); },
    };
    Object.defineProperties(C.prototype, Object.getOwnPropertyDescriptors(methods));
  }

  // ---- Request ----

  const normalMethods = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
  const forbiddenMethods = new Set(["CONNECT", "TRACE", "TRACK"]);
  function normalizeMethod(v) {
    const method = byteString(v);
    if (!tokenPattern.test(method)) throw new TypeError(`Invalid HTTP method: ${JSON.stringify(method)}`);
    const upper = method.toUpperCase();
    if (forbiddenMethods.has(upper)) throw new TypeError(`HTTP method ${method} is not allowed`);
    return normalMethods.has(upper) ? upper : method; // "patch" stays "patch", as the spec says
  }
  // There is no base URL here: a relative URL is an error.
  function parseURL(input, where) {
    const s = usv(input);
    try {
      return new URL(s);
    } catch {
      throw new TypeError(`${where}: invalid URL ${JSON.stringify(s)}`);
    }
  }
  const redirectModes = ["follow", "error", "manual"];

  // (input, init) -> what `new Request(input, init)` would hold, without
  // making one: { url, method, redirect, headers (a list of its own), body
  // (bytes or null), signal (to follow, or null) }. An input Request's body
  // moves, as its stream would.
  let requestInit;

  // Of RequestInit only method, headers, body, signal and redirect mean
  // something here (mode, credentials, cache... concern browsers).
  class Request {
    #url = "";
    #method = "GET";
    #headers = null;
    #signal = null;
    #redirect = "follow";
    #body = newBody();
    constructor(input, init = undefined) {
      if (input === internal) return; // an empty one, filled in by clone()
      required(arguments.length, 1, "Request");
      const parts = requestInit(input, init);
      this.#url = parts.url;
      this.#method = parts.method;
      this.#redirect = parts.redirect;
      this.#signal = dependentSignal(parts.signal === null ? [] : [parts.signal]);
      this.#headers = makeHeaders(parts.headers, false);
      this.#body = newBody(parts.body);
    }
    get method() { return this.#method; }
    get url() { return this.#url; }
    get headers() { return this.#headers; }
    get redirect() { return this.#redirect; }
    get signal() { return this.#signal; }
    clone() {
      const body = copyBody(this.#body, "Request.clone");
      const copy = new Request(internal);
      copy.#url = this.#url;
      copy.#method = this.#method;
      copy.#redirect = this.#redirect;
      copy.#headers = copyHeaders(this.#headers);
      copy.#signal = dependentSignal([this.#signal]);
      copy.#body = body;
      return copy;
    }
    static {
      bodyMixin(Request, (r) => r.#body);
      requestInit = (input, init) => {
        const source = isObject(input) && #url in input ? input : null;
        const parts = { url: "", method: "GET", redirect: "follow", headers: null, body: null, signal: null };
        if (source !== null) {
          parts.url = source.#url;
          parts.method = source.#method;
          parts.redirect = source.#redirect;
          parts.signal = source.#signal;
        } else {
          const url = parseURL(input, "Request");
          if (url.username !== "" || url.password !== "") throw new TypeError(`Request: the URL includes credentials: ${url.href}`);
          parts.url = url.href;
        }
        const { body, headers, method, redirect, signal } = dictionary(init, "Request");
        if (method !== undefined) parts.method = normalizeMethod(method);
        if (redirect !== undefined) {
          const mode = `${redirect}`;
          if (!redirectModes.includes(mode)) throw new TypeError(`Request: invalid redirect mode ${JSON.stringify(mode)}`);
          parts.redirect = mode;
        }
        if (signal !== undefined) {
          if (signal !== null && !isSignal(signal)) throw new TypeError("Request: the signal must be an AbortSignal");
          parts.signal = signal;
        }
        const list = headers !== undefined ? headerList(new Headers(headers)) : source !== null ? headerList(copyHeaders(source.#headers)) : [];
        parts.headers = list;

        const inputBody = source !== null && source.#body.bytes !== null ? source.#body : null;
        if ((body != null || inputBody !== null) && (parts.method === "GET" || parts.method === "HEAD")) {
          throw new TypeError("Request: a GET or HEAD request cannot have a body");
        }
        if (body != null) {
          const { bytes, type } = extractBody(body);
          parts.body = bytes;
          if (type !== null && !hasHeader(list, "content-type")) list.push(["content-type", type]);
        } else if (inputBody !== null) {
          if (inputBody.used) throw new TypeError("Request: the input's body has already been used");
          parts.body = inputBody.bytes;
          inputBody.used = true;
        }
        return parts;
      };
    }
  }
  expose(Request);

  // ---- Response ----

  const nullBodyStatus = new Set([101, 103, 204, 205, 304]);
  const redirectStatus = new Set([301, 302, 303, 307, 308]);
  let fetchedResponse; // (native result, method) -> Response

  class Response {
    #type = "default";
    #url = "";
    #redirected = false;
    #status = 200;
    #statusText = "";
    #headers;
    #body = newBody();
    constructor(body = null, init = undefined) {
      if (body === internal) return; // an empty one, filled in by the caller
      const { headers, status = 200, statusText = "" } = dictionary(init, "Response");
      this.#status = toUint16(status);
      if (this.#status < 200 || this.#status > 599) {
        throw new RangeError(`Response: status ${this.#status} is not in the range 200 to 599`);
      }
      const text = byteString(statusText);
      if (!statusTextPattern.test(text)) throw new TypeError(`Response: invalid statusText ${JSON.stringify(text)}`);
      this.#statusText = text;
      this.#headers = makeHeaders(headers === undefined ? [] : headerList(new Headers(headers)), false);
      if (body !== null && body !== undefined) this.#setBody(extractBody(body));
    }
    #setBody({ bytes, type }) {
      if (nullBodyStatus.has(this.#status)) throw new TypeError(`Response: a response with status ${this.#status} cannot have a body`);
      this.#body = newBody(bytes);
      const list = headerList(this.#headers);
      if (type !== null && !hasHeader(list, "content-type")) list.push(["content-type", type]);
    }
    get type() { return this.#type; }
    get url() { return this.#url; }
    get redirected() { return this.#redirected; }
    get status() { return this.#status; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get statusText() { return this.#statusText; }
    get headers() { return this.#headers; }
    clone() {
      const body = copyBody(this.#body, "Response.clone");
      const copy = new Response(internal);
      copy.#type = this.#type;
      copy.#url = this.#url;
      copy.#redirected = this.#redirected;
      copy.#status = this.#status;
      copy.#statusText = this.#statusText;
      copy.#headers = copyHeaders(this.#headers);
      copy.#body = body;
      return copy;
    }
    static error() {
      const response = new Response(internal);
      response.#type = "error";
      response.#status = 0;
      response.#headers = makeHeaders([], true);
      return response;
    }
    static redirect(url, status = 302) {
      required(arguments.length, 1, "Response.redirect");
      const location = parseURL(url, "Response.redirect").href;
      const code = toUint16(status);
      if (!redirectStatus.has(code)) throw new RangeError(`Response.redirect: ${code} is not a redirect status`);
      const response = new Response(internal);
      response.#status = code;
      response.#headers = makeHeaders([["location", location]], true);
      return response;
    }
    static json(data, init = undefined) {
      required(arguments.length, 1, "Response.json");
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError("Response.json: the data is not JSON serializable");
      const response = new Response(null, init);
      response.#setBody({ bytes: encoder.encode(text), type: "application/json" });
      return response;
    }
    static {
      bodyMixin(Response, (r) => r.#body);
      fetchedResponse = (result, method) => {
        const response = new Response(internal);
        const url = `${result.url}`;
        const hash = url.indexOf("#");
        response.#type = "basic";
        response.#url = hash < 0 ? url : url.slice(0, hash);
        response.#redirected = !!result.redirected;
        response.#status = result.status;
        response.#statusText = `${result.statusText}`;
        response.#headers = makeHeaders(result.headers, true); // [name, value] strings, a list of its own
        const empty = method === "HEAD" || nullBodyStatus.has(result.status);
        response.#body = newBody(empty ? null : result.body);
        return response;
      };
    }
  }
  expose(Response);

  // ---- fetch ----

  // redirect "manual" gives the 3xx response itself (as Deno does), not an
  // opaque one with status 0.
  function fetch(input, init = undefined) {
    try {
      required(arguments.length, 1, "fetch");
      const { method, url, headers, body, signal, redirect } = requestInit(input, init);
      if (signal !== null && signal.aborted) return Promise.reject(signal.reason);
      if (!hasHeader(headers, "accept")) headers.push(["accept", "*/*"]); // as fetch's spec does
      // The native side makes the Response with `respond` and settles its
      // promise with it: no extra promise step per fetch.
      const respond = (result) => fetchedResponse(result, method);
      const call = native.fetch(method, url, headers, body, redirect, respond);
      if (signal === null) return call.promise;
      return new Promise((resolve, reject) => {
        let settled = false;
        const stopWatching = shared.onAbort(signal, () => {
          if (settled) return;
          settled = true;
          call.cancel();
          reject(signal.reason);
        });
        call.promise.then(
          (response) => {
            if (settled) return;
            settled = true;
            stopWatching();
            resolve(response);
          },
          (error) => {
            if (settled) return;
            settled = true;
            stopWatching();
            reject(error);
          },
        );
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }
  define("fetch", fetch);
})
