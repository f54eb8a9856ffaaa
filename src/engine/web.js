// Runs at most once per Context, as this one function expression, which the
// Rust side calls with `native` ({ fetch, timer, exports }) the first time a
// script touches one of the globals it defines. Installs the web platform's globals
// written in JavaScript: DOMException, Event, CustomEvent, EventTarget,
// AbortController, AbortSignal, URLSearchParams (and URL#searchParams),
// Headers, Request, Response and fetch. There are no streams: a body is a
// whole byte array, read at once.
(function (native) {
  "use strict";

  // What this file defines goes to `native.exports`; the globals of the
  // same names read it from there (engine/web.rs).
  const define = (name, value) => {
    native.exports[name] = value;
  };

  // WebIDL: attributes and operations are enumerable, and the prototype's tag
  // names the interface.
  function expose(C) {
    const proto = C.prototype;
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key !== "constructor") Object.defineProperty(proto, key, { enumerable: true });
    }
    Object.defineProperty(proto, Symbol.toStringTag, { value: C.name, configurable: true });
    define(C.name, C);
  }

  // Read-only, enumerable constants on the interface and its prototype.
  function constants(C, names) {
    names.forEach((name, i) => {
      if (name === "") return;
      const d = { value: i, enumerable: true, writable: false, configurable: false };
      Object.defineProperty(C, name, d);
      Object.defineProperty(C.prototype, name, d);
    });
  }

  // ---- WebIDL conversions ----

  const isObject = (v) => (typeof v === "object" && v !== null) || typeof v === "function";
  const usv = (v) => `${v}`.toWellFormed(); // a template literal is ToString: a Symbol throws
  // Patterns live here, not inline: Boa compiles a literal each time it is evaluated.
  const beyondLatin1 = /[^\x00-\xFF]/;
  const forbiddenInValue = /[\0\r\n]/;
  const statusTextPattern = /^[\t\x20-\x7E\x80-\xFF]*$/;
  function byteString(v) {
    const s = `${v}`;
    if (beyondLatin1.test(s)) throw new TypeError(`Cannot convert ${JSON.stringify(s)} to a ByteString`);
    return s;
  }
  function required(count, n, where) {
    if (count < n) throw new TypeError(`${where}: ${n} argument${n > 1 ? "s" : ""} required, but only ${count} present`);
  }
  function dictionary(v, where) {
    if (v === undefined || v === null) return {};
    if (!isObject(v)) throw new TypeError(`${where}: the options must be an object`);
    return v;
  }
  const toUint16 = (v) => {
    const n = Math.trunc(Number(v));
    return Number.isFinite(n) ? ((n % 65536) + 65536) % 65536 : 0;
  };
  function enforceRange(v, where) { // [EnforceRange] unsigned long long
    const n = Number(v);
    if (!Number.isFinite(n)) throw new TypeError(`${where}: ${v} is not a finite number`);
    const t = Math.trunc(n);
    if (t < 0 || t > Number.MAX_SAFE_INTEGER) throw new TypeError(`${where}: ${v} is outside the accepted range`);
    return t + 0; // -0 becomes 0
  }
  // A sequence<sequence<T>> or a record<String, T>: the [name, value] pairs of an init.
  function initPairs(init, convert, where) {
    const method = init[Symbol.iterator];
    const pairs = [];
    if (method !== undefined) {
      if (typeof method !== "function") throw new TypeError(`${where}: the init's @@iterator is not a function`);
      const it = method.call(init);
      for (let step = it.next(); !step.done; step = it.next()) {
        if (!isObject(step.value) || typeof step.value[Symbol.iterator] !== "function") {
          throw new TypeError(`${where}: each pair must be an iterable`);
        }
        const pair = Array.from(step.value, convert);
        if (pair.length !== 2) throw new TypeError(`${where}: each pair must have exactly two items`);
        pairs.push(pair);
      }
      return pairs;
    }
    const record = new Map(); // keys that convert alike (lone surrogates) keep the first place, last value
    for (const key of Reflect.ownKeys(init)) {
      const desc = Reflect.getOwnPropertyDescriptor(init, key);
      if (desc !== undefined && desc.enumerable) {
        const name = convert(key); // a Symbol key throws, as WebIDL says
        record.set(name, convert(init[key]));
      }
    }
    return [...record];
  }

  // A WebIDL pair iterator: `step()` gives each result; the prototype has the tag.
  const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
  function iteratorMaker(tag) {
    const steps = new WeakMap();
    const proto = Object.create(IteratorPrototype, {
      next: {
        value: function next() {
          const step = steps.get(this);
          if (step === undefined) throw new TypeError(`next() called on an object that is not a ${tag}`);
          return step();
        },
        writable: true, enumerable: true, configurable: true,
      },
      [Symbol.toStringTag]: { value: tag, configurable: true },
    });
    return (step) => {
      const it = Object.create(proto);
      steps.set(it, step);
      return it;
    };
  }
  // Iterates `pairs()` (read again at each step, so changes show) as keys, values or entries.
  function pairIterator(make, pairs, kind) {
    let i = 0;
    return make(() => {
      const list = pairs();
      if (i >= list.length) return { value: undefined, done: true };
      const [k, v] = list[i++];
      return { value: kind === "keys" ? k : kind === "values" ? v : [k, v], done: false };
    });
  }

  const encoder = new TextEncoder();
  const decoder = new TextDecoder(); // a body's text(): UTF-8 decode, dropping a BOM
  const formDecoder = new TextDecoder("utf-8", { ignoreBOM: true }); // the form parser keeps it

  // ---- DOMException ----

  // The legacy codes, by position: names without a code are left empty.
  const codeNames = ",IndexSize,,HierarchyRequest,WrongDocument,InvalidCharacter,,NoModificationAllowed,NotFound,NotSupported,InUseAttribute,InvalidState,Syntax,InvalidModification,Namespace,InvalidAccess,,TypeMismatch,Security,Network,Abort,URLMismatch,QuotaExceeded,Timeout,InvalidNodeType,DataClone".split(",");
  const codes = new Map(codeNames.flatMap((n, i) => (n ? [[`${n}Error`, i]] : [])));

  // Extends Error so it has a stack; `message` is an own property (browsers
  // have a prototype getter).
  class DOMException extends Error {
    #name;
    #code;
    constructor(message = "", name = "Error") {
      super(`${message}`);
      this.#name = `${name}`;
      this.#code = codes.get(this.#name) ?? 0;
    }
    get name() { return this.#name; }
    get code() { return this.#code; }
  }
  constants(DOMException, ",INDEX_SIZE_ERR,DOMSTRING_SIZE_ERR,HIERARCHY_REQUEST_ERR,WRONG_DOCUMENT_ERR,INVALID_CHARACTER_ERR,NO_DATA_ALLOWED_ERR,NO_MODIFICATION_ALLOWED_ERR,NOT_FOUND_ERR,NOT_SUPPORTED_ERR,INUSE_ATTRIBUTE_ERR,INVALID_STATE_ERR,SYNTAX_ERR,INVALID_MODIFICATION_ERR,NAMESPACE_ERR,INVALID_ACCESS_ERR,VALIDATION_ERR,TYPE_MISMATCH_ERR,SECURITY_ERR,NETWORK_ERR,ABORT_ERR,URL_MISMATCH_ERR,QUOTA_EXCEEDED_ERR,TIMEOUT_ERR,INVALID_NODE_TYPE_ERR,DATA_CLONE_ERR".split(","));
  expose(DOMException);

  // ---- Event, CustomEvent, EventTarget ----

  const now = () => (typeof performance === "object" && performance !== null ? performance.now() : Date.now());
  // An error thrown by a listener is reported, and the other listeners still run.
  const report = (error) => { if (typeof console === "object" && console !== null) console.error(error); };

  function removeEntry(list, entry) {
    entry.removed = true;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (entry.unwatch) entry.unwatch();
  }

  let isEvent;
  let trusted; // marks an event the platform fires
  let dispatch; // (event, target, listeners) -> !canceled

  class Event {
    #type;
    #bubbles;
    #cancelable;
    #composed;
    #timeStamp = now();
    #target = null;
    #currentTarget = null;
    #phase = 0;
    #canceled = false;
    #passive = false;
    #stop = false;
    #stopNow = false;
    #dispatching = false;
    #trusted = false;
    constructor(type, init = undefined) {
      required(arguments.length, 1, "Event");
      this.#type = `${type}`;
      const o = dictionary(init, "Event");
      this.#bubbles = !!o.bubbles;
      this.#cancelable = !!o.cancelable;
      this.#composed = !!o.composed;
    }
    get type() { return this.#type; }
    get target() { return this.#target; }
    get srcElement() { return this.#target; }
    get currentTarget() { return this.#currentTarget; }
    composedPath() { return this.#currentTarget === null ? [] : [this.#currentTarget]; }
    get eventPhase() { return this.#phase; }
    stopPropagation() { this.#stop = true; }
    get cancelBubble() { return this.#stop; }
    set cancelBubble(value) { if (value) this.#stop = true; }
    stopImmediatePropagation() { this.#stop = this.#stopNow = true; }
    get bubbles() { return this.#bubbles; }
    get cancelable() { return this.#cancelable; }
    get returnValue() { return !this.#canceled; }
    set returnValue(value) { if (!value) this.preventDefault(); }
    preventDefault() { if (this.#cancelable && !this.#passive) this.#canceled = true; }
    get defaultPrevented() { return this.#canceled; }
    get composed() { return this.#composed; }
    get isTrusted() { return this.#trusted; }
    get timeStamp() { return this.#timeStamp; }

    static {
      isEvent = (v) => isObject(v) && #type in v;
      trusted = (event) => { event.#trusted = true; return event; };
      // A target here has no parents: the path is the target alone, where
      // capturing listeners run first, then the others.
      dispatch = (event, target, listeners) => {
        if (event.#dispatching) throw new DOMException("The event is already being dispatched", "InvalidStateError");
        event.#dispatching = true;
        event.#target = event.#currentTarget = target;
        event.#phase = 2; // AT_TARGET
        if (listeners !== undefined) {
          const snapshot = listeners.slice(); // listeners added during dispatch do not run
          for (const capture of [true, false]) {
            if (event.#stop) break;
            for (const entry of snapshot) {
              if (entry.removed || entry.capture !== capture) continue;
              if (entry.once) removeEntry(listeners, entry);
              event.#passive = entry.passive;
              try {
                const callback = entry.callback;
                if (typeof callback === "function") callback.call(target, event);
                else {
                  const handle = callback.handleEvent;
                  if (typeof handle !== "function") throw new TypeError("The listener's handleEvent is not a function");
                  handle.call(callback, event);
                }
              } catch (error) {
                report(error);
              }
              event.#passive = false;
              if (event.#stopNow) break;
            }
          }
        }
        event.#phase = 0;
        event.#currentTarget = null;
        event.#dispatching = event.#stop = event.#stopNow = false;
        return !event.#canceled;
      };
    }
  }
  constants(Event, ["NONE", "CAPTURING_PHASE", "AT_TARGET", "BUBBLING_PHASE"]);
  expose(Event);

  class CustomEvent extends Event {
    #detail;
    constructor(type, init = undefined) {
      required(arguments.length, 1, "CustomEvent");
      super(type, init);
      const detail = dictionary(init, "CustomEvent").detail;
      this.#detail = detail === undefined ? null : detail;
    }
    get detail() { return this.#detail; }
  }
  expose(CustomEvent);

  let isSignal; // brand check, set by AbortSignal below
  let onAbort; // (signal, fn) -> stop: internal abort steps

  // Options of add/removeEventListener: a boolean means `capture`.
  function listenerOptions(options) {
    if (!isObject(options)) return { capture: !!options, once: false, passive: false, signal: undefined };
    const { capture, once, passive, signal } = options;
    if (signal !== undefined && !isSignal(signal)) throw new TypeError("addEventListener: the signal option must be an AbortSignal");
    return { capture: !!capture, once: !!once, passive: !!passive, signal };
  }
  function checkCallback(callback, where) {
    if (callback !== null && !isObject(callback)) throw new TypeError(`${where}: the listener must be an object or a function`);
  }

  class EventTarget {
    #listeners = new Map(); // type -> [{ callback, capture, once, passive, removed, unwatch }]
    addEventListener(type, callback, options = undefined) {
      required(arguments.length, 2, "EventTarget.addEventListener");
      type = `${type}`;
      checkCallback(callback, "EventTarget.addEventListener");
      const { capture, once, passive, signal } = listenerOptions(options);
      if (callback === null || (signal !== undefined && signal.aborted)) return;
      let list = this.#listeners.get(type);
      if (list === undefined) this.#listeners.set(type, (list = []));
      if (list.some((e) => e.callback === callback && e.capture === capture)) return;
      const entry = { callback, capture, once, passive, removed: false, unwatch: null };
      list.push(entry);
      if (signal !== undefined) entry.unwatch = onAbort(signal, () => removeEntry(list, entry));
    }
    removeEventListener(type, callback, options = undefined) {
      required(arguments.length, 2, "EventTarget.removeEventListener");
      type = `${type}`;
      checkCallback(callback, "EventTarget.removeEventListener");
      const capture = isObject(options) ? !!options.capture : !!options;
      const list = this.#listeners.get(type);
      const entry = list && list.find((e) => e.callback === callback && e.capture === capture);
      if (entry) removeEntry(list, entry);
    }
    dispatchEvent(event) {
      required(arguments.length, 1, "EventTarget.dispatchEvent");
      if (!isEvent(event)) throw new TypeError("EventTarget.dispatchEvent: the argument is not an Event");
      return dispatch(event, this, this.#listeners.get(event.type));
    }
  }
  expose(EventTarget);
  const addListener = EventTarget.prototype.addEventListener;
  const removeListener = EventTarget.prototype.removeEventListener;
  const dispatchEvent = EventTarget.prototype.dispatchEvent;

  // ---- AbortSignal, AbortController ----

  const internal = Symbol("internal"); // lets this file construct what scripts cannot
  let abortSignal; // (signal, reason)
  let dependentSignal; // (signals) -> a signal that aborts when any of them does

  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #algorithms = new Set(); // internal abort steps (fetch, listeners' signal option), run before the event
    #sources = []; // what a dependent signal follows
    #dependents = new Set(); // held strongly until this aborts (the spec holds them weakly)
    #dependent = false;
    #onabort = null;
    #runHandler = null;
    constructor(key = undefined) {
      if (key !== internal) throw new TypeError("Illegal constructor");
      super();
    }
    get aborted() { return this.#aborted; }
    get reason() { return this.#reason; }
    throwIfAborted() { if (this.#aborted) throw this.#reason; }
    get onabort() { return this.#onabort; }
    set onabort(value) {
      // An event handler: a listener added when first set, removed when set to null.
      const handler = isObject(value) ? value : null;
      this.#runHandler ??= (event) => Reflect.apply(this.#onabort, this, [event]);
      if (handler !== null && this.#onabort === null) addListener.call(this, "abort", this.#runHandler);
      else if (handler === null && this.#onabort !== null) removeListener.call(this, "abort", this.#runHandler);
      this.#onabort = handler;
    }
    static abort(reason = undefined) {
      const signal = new AbortSignal(internal);
      signal.#aborted = true;
      signal.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
      return signal;
    }
    static timeout(milliseconds) {
      required(arguments.length, 1, "AbortSignal.timeout");
      const ms = enforceRange(milliseconds, "AbortSignal.timeout");
      const signal = new AbortSignal(internal);
      // native.timer, unlike setTimeout, does not keep the request waiting for it.
      native.timer(() => signal.#abort(new DOMException("signal timed out", "TimeoutError")), ms);
      return signal;
    }
    static any(signals) {
      required(arguments.length, 1, "AbortSignal.any");
      if (!isObject(signals) || typeof signals[Symbol.iterator] !== "function") {
        throw new TypeError("AbortSignal.any: the argument must be an iterable of AbortSignal");
      }
      const list = Array.from(signals);
      for (const s of list) if (!isSignal(s)) throw new TypeError("AbortSignal.any: every item must be an AbortSignal");
      return dependentSignal(list);
    }

    #abort(reason) {
      if (this.#aborted) return;
      this.#aborted = true;
      this.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
      const dependents = [];
      for (const d of this.#dependents) {
        if (!d.#aborted) {
          d.#aborted = true;
          d.#reason = this.#reason;
          dependents.push(d);
        }
      }
      this.#dependents.clear();
      this.#runAbortSteps();
      for (const d of dependents) d.#runAbortSteps();
    }
    #runAbortSteps() {
      const algorithms = [...this.#algorithms];
      this.#algorithms.clear();
      for (const run of algorithms) {
        try { run(); } catch (error) { report(error); }
      }
      // An aborted signal follows nothing any more.
      for (const source of this.#sources) source.#dependents.delete(this);
      this.#sources = [];
      dispatchEvent.call(this, trusted(new Event("abort")));
    }

    static {
      isSignal = (v) => isObject(v) && #aborted in v;
      abortSignal = (signal, reason) => signal.#abort(reason);
      onAbort = (signal, run) => {
        const step = () => run(); // its own identity, so one function may be added twice
        signal.#algorithms.add(step);
        return () => signal.#algorithms.delete(step);
      };
      dependentSignal = (signals) => {
        const result = new AbortSignal(internal);
        for (const s of signals) {
          if (s.#aborted) {
            result.#aborted = true;
            result.#reason = s.#reason;
            return result;
          }
        }
        result.#dependent = true;
        for (const s of signals) {
          // Follow the sources themselves, so chains of any() stay one step deep.
          for (const source of s.#dependent ? s.#sources : [s]) {
            if (!result.#sources.includes(source)) {
              result.#sources.push(source);
              source.#dependents.add(result);
            }
          }
        }
        return result;
      };
    }
  }
  expose(AbortSignal);

  class AbortController {
    #signal = new AbortSignal(internal);
    get signal() { return this.#signal; }
    abort(reason = undefined) { abortSignal(this.#signal, reason); }
  }
  expose(AbortController);

  // ---- URLSearchParams (application/x-www-form-urlencoded) ----

  // `+` is a space, escapes are decoded as bytes and the bytes as UTF-8 with
  // replacement: a malformed `%` stays as it is, nothing throws.
  function formDecode(s) {
    if (s.includes("+")) s = s.replaceAll("+", " ");
    if (!s.includes("%")) return s;
    try {
      return decodeURIComponent(s); // the same where it succeeds (strings here are well-formed)
    } catch {
      // Each run of escapes alone: the characters around them are whole UTF-8
      // sequences, so splitting there changes nothing.
      return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
        const bytes = new Uint8Array(run.length / 3);
        for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(3 * i + 1, 3 * i + 3), 16);
        return formDecoder.decode(bytes);
      });
    }
  }
  function formParse(input) {
    const list = [];
    for (const part of input.split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      list.push(eq < 0 ? [formDecode(part), ""] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))]);
    }
    return list;
  }
  // encodeURIComponent escapes the UTF-8 bytes of all but the form's safe
  // characters and !'()~, which the form escapes too; a space becomes `+`.
  // (Strings here are well-formed, so it does not throw.)
  const formEscape = (s) =>
    /^[\w*.-]*$/.test(s)
      ? s
      : encodeURIComponent(s).replaceAll("%20", "+").replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const formSerialize = (list) => list.map(([k, v]) => `${formEscape(k)}=${formEscape(v)}`).join("&");
  const byName = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0); // UTF-16 code units

  const paramsIterator = iteratorMaker("URLSearchParams Iterator");
  let linkParams; // (url, its search) -> the URLSearchParams of that URL object
  let isParams;
  let paramsString;

  class URLSearchParams {
    #list = [];
    #url = null; // the URL object whose query this is, if any
    #query = ""; // that URL's search as last seen, to notice changes made through the URL
    constructor(init = "") {
      if (isObject(init) && #list in init) this.#list = init.#pairs().map(([k, v]) => [k, v]);
      else if (isObject(init)) this.#list = initPairs(init, usv, "URLSearchParams");
      else {
        const s = usv(init);
        this.#list = formParse(s.startsWith("?") ? s.slice(1) : s);
      }
    }
    // The list, parsed again first if the URL's query was changed through the URL.
    #pairs() {
      if (this.#url !== null) {
        const search = this.#url.search;
        if (search !== this.#query) {
          this.#query = search;
          this.#list = formParse(search.slice(1));
        }
      }
      return this.#list;
    }
    // After a change: the URL's query follows (none when there are no pairs).
    #update() {
      if (this.#url === null) return;
      this.#url.search = formSerialize(this.#list);
      this.#query = this.#url.search;
    }
    get size() { return this.#pairs().length; }
    append(name, value) {
      required(arguments.length, 2, "URLSearchParams.append");
      this.#pairs().push([usv(name), usv(value)]);
      this.#update();
    }
    delete(name, value = undefined) {
      required(arguments.length, 1, "URLSearchParams.delete");
      const n = usv(name);
      const v = value === undefined ? undefined : usv(value);
      this.#list = this.#pairs().filter(([k, x]) => k !== n || (v !== undefined && x !== v));
      this.#update();
    }
    get(name) {
      required(arguments.length, 1, "URLSearchParams.get");
      const n = usv(name);
      const found = this.#pairs().find(([k]) => k === n);
      return found === undefined ? null : found[1];
    }
    getAll(name) {
      required(arguments.length, 1, "URLSearchParams.getAll");
      const n = usv(name);
      return this.#pairs().filter(([k]) => k === n).map(([, v]) => v);
    }
    has(name, value = undefined) {
      required(arguments.length, 1, "URLSearchParams.has");
      const n = usv(name);
      const v = value === undefined ? undefined : usv(value);
      return this.#pairs().some(([k, x]) => k === n && (v === undefined || x === v));
    }
    set(name, value) {
      required(arguments.length, 2, "URLSearchParams.set");
      const n = usv(name);
      const v = usv(value);
      const list = this.#pairs();
      const i = list.findIndex(([k]) => k === n);
      if (i < 0) list.push([n, v]);
      else this.#list = list.filter(([k], j) => j <= i || k !== n).map((p, j) => (j === i ? [n, v] : p));
      this.#update();
    }
    sort() {
      this.#pairs().sort(byName); // Array.prototype.sort is stable
      this.#update();
    }
    toString() { return formSerialize(this.#pairs()); }
    forEach(callback, thisArg = undefined) {
      required(arguments.length, 1, "URLSearchParams.forEach");
      if (typeof callback !== "function") throw new TypeError("URLSearchParams.forEach: the callback is not a function");
      for (let i = 0; i < this.#pairs().length; i++) {
        const [k, v] = this.#pairs()[i];
        callback.call(thisArg, v, k, this);
      }
    }
    keys() { return pairIterator(paramsIterator, () => this.#pairs(), "keys"); }
    values() { return pairIterator(paramsIterator, () => this.#pairs(), "values"); }
    entries() { return pairIterator(paramsIterator, () => this.#pairs(), "entries"); }

    static {
      isParams = (v) => isObject(v) && #list in v;
      paramsString = (params) => formSerialize(params.#pairs());
      linkParams = (url, search) => {
        const params = new URLSearchParams(search);
        params.#url = url;
        params.#query = search;
        return params;
      };
    }
  }
  expose(URLSearchParams);
  Object.defineProperty(URLSearchParams.prototype, Symbol.iterator, {
    value: URLSearchParams.prototype.entries, writable: true, configurable: true,
  });

  if (typeof URL === "function") {
    // The Rust URL's getter throws: this one gives each URL object one
    // URLSearchParams, kept in step with the URL both ways.
    const paramsOf = new WeakMap();
    const getSearch = Object.getOwnPropertyDescriptor(URL.prototype, "search").get;
    native.exports.searchParams = Object.getOwnPropertyDescriptor({
      get searchParams() {
        let params = paramsOf.get(this);
        if (params === undefined) {
          let search;
          try {
            search = getSearch.call(this);
          } catch {
            throw new TypeError("URL.prototype.searchParams: the object is not a URL"); // Boa throws a bare string
          }
          paramsOf.set(this, (params = linkParams(this, search)));
        }
        return params;
      },
    }, "searchParams").get;
    if (typeof URL.prototype.toJSON !== "function") {
      Object.defineProperty(URL.prototype, "toJSON", {
        value: function toJSON() { return this.href; }, writable: true, enumerable: true, configurable: true,
      });
    }
  }

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
      if (typeof callback !== "function") throw new TypeError("Headers.forEach: the callback is not a function");
      for (let i = 0; i < this.#pairs().length; i++) {
        const [name, value] = this.#pairs()[i];
        callback.call(thisArg, value, name, this);
      }
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
      return { bytes: encoder.encode(paramsString(body)), type: "application/x-www-form-urlencoded;charset=UTF-8" };
    }
    if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice(), type: null };
    if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)), type: null };
    // Blob, FormData and streams do not exist here: like WebIDL's union, anything else is a string.
    return { bytes: encoder.encode(usv(body)), type: "text/plain;charset=UTF-8" };
  }
  const newBody = (bytes = null) => ({ bytes, used: false });
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
      if (this.#body.used) throw new TypeError("Request.clone: the body has already been used");
      const copy = new Request(internal);
      copy.#url = this.#url;
      copy.#method = this.#method;
      copy.#redirect = this.#redirect;
      copy.#headers = copyHeaders(this.#headers);
      copy.#signal = dependentSignal([this.#signal]);
      copy.#body = newBody(this.#body.bytes === null ? null : this.#body.bytes.slice());
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
      if (this.#body.used) throw new TypeError("Response.clone: the body has already been used");
      const copy = new Response(internal);
      copy.#type = this.#type;
      copy.#url = this.#url;
      copy.#redirected = this.#redirected;
      copy.#status = this.#status;
      copy.#statusText = this.#statusText;
      copy.#headers = copyHeaders(this.#headers);
      copy.#body = newBody(this.#body.bytes === null ? null : this.#body.bytes.slice());
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
      const call = native.fetch(method, url, headers, body, redirect);
      const respond = (result) => fetchedResponse(result, method);
      if (signal === null) return call.promise.then(respond);
      return new Promise((resolve, reject) => {
        let settled = false;
        const stopWatching = onAbort(signal, () => {
          if (settled) return;
          settled = true;
          call.cancel();
          reject(signal.reason);
        });
        call.promise.then(
          (result) => {
            if (settled) return;
            settled = true;
            stopWatching();
            try {
              resolve(respond(result));
            } catch (error) {
              reject(error);
            }
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

  return undefined;
})
