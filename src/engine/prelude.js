// Runs once per worker Context. `native` is provided by engine/require.rs.
// Builds CommonJS `require` on top of the native resolver, and the
// per-request state (module cache, request attributes), created lazily so
// a script that uses neither pays for neither.
(function (native) {
  "use strict";
  const builtins = native.modules;
  let modules = null;
  let attributes = null;
  let entryModule = null;
  const requires = new Map(); // one require function per folder

  function requireFrom(dirname) {
    let require = requires.get(dirname);
    if (require !== undefined) return require;
    require = function require(name) {
      const builtin = builtins[name];
      if (builtin !== undefined) return builtin;
      const found = native.resolve(String(name), dirname);
      if (entryModule !== null && entryModule.filename === found.filename) return entryModule.exports;
      if (modules === null) modules = new Map();
      const cached = modules.get(found.filename);
      if (cached !== undefined) return cached.exports;
      // Few properties: each one added to an object costs microseconds in Boa.
      const module = { exports: {}, filename: found.filename };
      modules.set(found.filename, module);
      if (found.json !== undefined) {
        module.exports = found.json;
      } else {
        found.fn(module.exports, requireFrom(found.dirname), module, found.filename, found.dirname);
      }
      return module.exports;
    };
    requires.set(dirname, require);
    return require;
  }

  const request = builtins["http/v4/request"];
  const attrs = () => (attributes === null ? (attributes = new Map()) : attributes);
  request.getAttribute = (name) => {
    const value = attributes === null ? undefined : attributes.get(String(name));
    return value === undefined ? null : value;
  };
  request.setAttribute = (name, value) => { attrs().set(String(name), value); };
  request.removeAttribute = (name) => { attrs().delete(String(name)); };
  request.getAttributeNames = () => Array.from(attrs().keys());

  return {
    modules: builtins,
    // Fresh request state; ES modules call it directly.
    reset() {
      modules = null;
      attributes = null;
      entryModule = null;
    },
    main() {
      modules = null;
      attributes = null;
      const entry = native.entry();
      const module = { exports: {}, filename: entry.filename };
      entryModule = module;
      // The entry record lives as long as this version of the script.
      const require = entry.require || (entry.require = requireFrom(entry.dirname));
      return entry.fn(module.exports, require, module, entry.filename, entry.dirname);
    },
  };
})
