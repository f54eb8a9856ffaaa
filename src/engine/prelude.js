// Runs once per worker Context. `native` is provided by engine/require.rs.
// Builds CommonJS `require` on top of the native resolver, and the
// per-request state (module cache, request attributes).
(function (native) {
  "use strict";
  const builtins = native.modules;
  let state = { modules: new Map(), attributes: new Map() };

  function instantiate(found, module) {
    if (found.json !== undefined) {
      module.exports = found.json;
    } else {
      found.fn(module.exports, requireFrom(found.dirname), module, found.filename, found.dirname);
    }
    module.loaded = true;
    return module.exports;
  }

  function requireFrom(dirname) {
    return function require(name) {
      const builtin = builtins[name];
      if (builtin !== undefined) return builtin;
      const found = native.resolve(String(name), dirname);
      const cached = state.modules.get(found.filename);
      if (cached !== undefined) return cached.exports;
      const module = { exports: {}, id: found.filename, filename: found.filename, loaded: false };
      state.modules.set(found.filename, module);
      return instantiate(found, module);
    };
  }

  const request = builtins["http/v4/request"];
  request.getAttribute = (name) => {
    const value = state.attributes.get(String(name));
    return value === undefined ? null : value;
  };
  request.setAttribute = (name, value) => { state.attributes.set(String(name), value); };
  request.removeAttribute = (name) => { state.attributes.delete(String(name)); };
  request.getAttributeNames = () => Array.from(state.attributes.keys());

  return {
    modules: builtins,
    // ES modules get fresh request state too, without a CommonJS entry.
    reset() {
      state = { modules: new Map(), attributes: new Map() };
    },
    main() {
      this.reset();
      const entry = native.entry();
      const module = { exports: {}, id: entry.filename, filename: entry.filename, loaded: false };
      state.modules.set(entry.filename, module);
      const result = entry.fn(module.exports, requireFrom(entry.dirname), module, entry.filename, entry.dirname);
      module.loaded = true;
      return result;
    },
  };
})
