// Adds Dirigible's loading helpers to the extensions module (`Extensions`,
// its native getExtensions; `importProject(path)` is `import(path)` from a
// referrer of its own). As in Dirigible's SDK: each registered module
// is required by its project path, or imported when it is an ES module;
// one that exports nothing, or lacks a required function, is skipped with
// an error in the log, or fails the call with `throwError`.
(function (Extensions, importProject) {
  "use strict";

  function logError(throwError, message, error) {
    if (error === undefined) console.error(message);
    else console.error(message, String(error && error.stack ? error.stack : error));
    if (throwError) throw new Error(message);
  }

  async function loadExtensionModules(extensionPoint, requiredFunctions = [], throwError = false) {
    const extensionModules = [];
    const extensions = Extensions.getExtensions(extensionPoint);
    for (let i = 0; i < extensions.length; i++) {
      const module = extensions[i];
      try {
        // A project path from the scripts folder; Dirigible's `.ts` modules
        // run as the `.js` (or `.mjs`) they compile to.
        const path = String(module).replace(/^\/+/, "").replace(/\.ts$/, "");
        let extensionModule;
        try {
          extensionModule = __blimp.requireFrom("/")(path);
        } catch (e) {
          if (!/is an ES module|Cannot find module/.test(String(e && e.message))) throw e;
          extensionModule = await importProject(path);
        }
        if (!extensionModule || Object.keys(extensionModule).length === 0) {
          logError(throwError, `Extension '${module}' for extension point '${extensionPoint}' doesn't provide any function(s) or was not properly loaded, consider publishing it.`);
          continue;
        }
        const required = requiredFunctions || [];
        let found = true;
        required.forEach((f) => {
          found &&= typeof extensionModule[f] === "function";
        });
        if (!found) {
          logError(throwError, `Extension '${module}' for extension point '${extensionPoint}', doesn't provide the following required function(s): [\n\t${required.join("(),\n\t")}()\n]`);
          continue;
        }
        extensionModules.push(extensionModule);
      } catch (e) {
        logError(throwError, `Error occurred while importing extension '${module}' for extension point '${extensionPoint}'.`, e);
      }
    }
    return extensionModules;
  }

  Object.defineProperty(Extensions, "loadExtensionModules", { value: loadExtensionModules, enumerable: true });
  Object.defineProperty(Extensions, "load", {
    value: function load(extensionPoint, requiredFunctions = [], throwError = false) {
      return loadExtensionModules(extensionPoint, requiredFunctions, throwError);
    },
    enumerable: true,
  });
})
