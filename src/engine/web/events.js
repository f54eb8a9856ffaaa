// DOMException, Event, CustomEvent, EventTarget, AbortSignal and
// AbortController (see common.js).
(function (native, shared) {
  "use strict";

  const { expose, constants, isObject, required, dictionary, enforceRange, internal } = shared;

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

  Object.assign(shared, { isSignal, onAbort, dependentSignal });
})
