// URLSearchParams and URL#searchParams (see common.js).
(function (native, shared) {
  "use strict";

  const { expose, isObject, usv, required, initPairs, iteratorMaker, pairIterator, forEachPair } = shared;
  const formDecoder = new TextDecoder("utf-8", { ignoreBOM: true }); // the form parser keeps a BOM

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
      forEachPair(() => this.#pairs(), callback, thisArg, this, "URLSearchParams.forEach");
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

  Object.assign(shared, { isParams, paramsString });
})
