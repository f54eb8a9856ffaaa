// The web platform's globals written in JavaScript, in four parts, each
// compiled and run in a context the first time a script reads one of its
// globals (engine/web.rs): this one, the helpers the others share; events.js
// (DOMException, Event, CustomEvent, EventTarget, AbortSignal,
// AbortController); params.js (URLSearchParams, URL#searchParams); fetch.js
// (Headers, Request, Response, fetch). Each part is a function expression
// called with `native` ({ fetch, timer, load, exports }) and `shared`, where
// the parts leave what the others use.
(function (native, shared) {
  "use strict";

  // What the parts define goes to `native.exports`; the globals of the
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
  // Patterns live outside functions: Boa compiles a literal each time it is evaluated.
  const beyondLatin1 = /[^\x00-\xFF]/;
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

  // `forEach` of a list of pairs: `callback(value, key, owner)` for each,
  // reading `pairs()` again at each step, so changes show.
  function forEachPair(pairs, callback, thisArg, owner, where) {
    if (typeof callback !== "function") throw new TypeError(`${where}: the callback is not a function`);
    for (let i = 0; i < pairs().length; i++) {
      const [k, v] = pairs()[i];
      callback.call(thisArg, v, k, owner);
    }
  }

  const encoder = new TextEncoder();
  const decoder = new TextDecoder(); // a body's text(): UTF-8 decode, dropping a BOM

  Object.assign(shared, {
    define, expose, constants, isObject, usv, byteString, required, dictionary, toUint16, enforceRange,
    initPairs, iteratorMaker, pairIterator, forEachPair, encoder, decoder,
    internal: Symbol("internal"), // lets the parts construct what scripts cannot
  });
})
