// Runs once per Context. `native` is provided by engine/require.rs.
// Builds CommonJS `require` on top of the native resolver, and the
// per-request module cache, reset the first time a request uses it, so a
// script that never requires a file pays nothing for it.
(function (native) {
  "use strict";
  const natives = Object.create(null); // native modules found so far, by name
  let stateOf = -1; // the request the state below belongs to
  let modules = null;
  let entryModule = null;
  const requires = new Map(); // one require function per folder

  function fresh() {
    const request = native.request();
    if (request !== stateOf) {
      stateOf = request;
      modules = null; // made when a file is required (a Map costs ~5k instructions)
      entryModule = null;
    }
  }

  function builtin(name) {
    let module = natives[name];
    if (module === undefined) {
      module = native.module(name);
      if (module !== undefined) natives[name] = module;
    }
    return module;
  }

  function requireFrom(dirname) {
    let require = requires.get(dirname);
    if (require !== undefined) return require;
    require = function require(name) {
      const native_ = builtin(String(name));
      if (native_ !== undefined) return native_;
      fresh();
      const found = native.resolve(String(name), dirname);
      if (found.entry) {
        // The request's own script, required back (a cycle): its exports so far.
        if (entryModule === null) entryModule = { exports: {}, filename: found.filename };
        return entryModule.exports;
      }
      if (modules === null) modules = new Map();
      const cached = modules.get(found.filename);
      if (cached !== undefined) return cached.exports;
      // Few properties: each one added to an object costs in Boa.
      const module = { exports: {}, filename: found.filename };
      modules.set(found.filename, module);
      if (found.json !== undefined) {
        module.exports = found.json;
      } else if (found.plain) {
        // It never names module or exports: nothing to pass, nothing to export.
        found.fn(requireFrom(found.dirname), found.filename, found.dirname);
      } else {
        const exports = module.exports;
        found.fn.call(exports, exports, requireFrom(found.dirname), module, found.filename, found.dirname);
      }
      return module.exports;
    };
    requires.set(dirname, require);
    return require;
  }

  return {
    native: builtin,
    requireFrom,
    // Runs an entry script that may use `module`, `exports` or `this`
    // (one that does not is called directly, without these objects).
    enter(fn, require, filename, dirname) {
      fresh();
      const module = { exports: {}, filename };
      entryModule = module;
      const exports = module.exports;
      return fn.call(exports, exports, require, module, filename, dirname);
    },
  };
})
