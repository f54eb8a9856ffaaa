//! The web platform's globals a script expects besides the language.
//! From boa_runtime (the engine's own runtime crate): timers,
//! `queueMicrotask`, `structuredClone`, `TextEncoder` and `URL`. Ours, in
//! `web/*.js` over the natives below: `fetch` with `Request`, `Response`,
//! `Headers`, `AbortController`/`AbortSignal`, `URLSearchParams` (and
//! `URL.searchParams`), `Event`/`EventTarget`, `DOMException`. Ours in
//! Rust: `atob`/`btoa`, `crypto`, `performance`, `TextDecoder`
//! and `TextEncoder.prototype.encodeInto` (`web/text.rs`). boa_runtime's own fetch,
//! AbortController and atob were not taken: they lack request getters,
//! non-string bodies, `arrayBuffer()`, `AbortSignal.timeout`, and throw
//! strings instead of errors.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use boa_engine::job::{NativeAsyncJob, NativeJob};
use boa_engine::object::builtins::{
    JsArray, JsArrayBuffer, JsDataView, JsFunction, JsPromise, JsTypedArray, JsUint8Array,
};
use boa_engine::object::{FunctionObjectBuilder, ObjectInitializer};
use boa_engine::property::{Attribute, PropertyDescriptor};
use boa_engine::{
    js_string, Context, JsError, JsNativeError, JsObject, JsResult, JsString, JsValue,
    NativeFunction, Source,
};
use sha2::Digest;

use super::jobs::Jobs;
mod text;
use crate::outbound::{Call, Outbound, Redirects, Reply};

/// The web platform's globals written in JavaScript, in parts (web/*.js).
/// A part is compiled and run in a context the first time a script reads
/// one of its globals: all of them cost a context about 930 objects and 370
/// weak references (as many as the rest of a context), which every
/// collection on the thread walks again; fetch's part about 410 and 150.
struct Part {
    name: &'static str,
    source: &'static str,
    globals: &'static [&'static str],
}

/// What every part uses comes first.
const PARTS: &[Part] = &[
    Part {
        name: "common",
        source: include_str!("web/common.js"),
        globals: &[],
    },
    Part {
        name: "events",
        source: include_str!("web/events.js"),
        globals: &[
            "DOMException",
            "Event",
            "CustomEvent",
            "EventTarget",
            "AbortController",
            "AbortSignal",
        ],
    },
    Part {
        name: "params",
        source: include_str!("web/params.js"),
        globals: &["URLSearchParams"], // and URL.prototype.searchParams
    },
    Part {
        name: "fetch",
        source: include_str!("web/fetch.js"),
        globals: &["Headers", "Request", "Response", "fetch"],
    },
];

/// Largest `crypto.getRandomValues` request, as browsers cap it.
const MAX_RANDOM_BYTES: usize = 65_536;

pub fn install(context: &mut Context, outbound: Rc<Outbound>) -> JsResult<()> {
    boa_runtime::interval::register(context)?;
    boa_runtime::microtask::register(None, context)?;
    boa_runtime::clone::register(None, context)?;
    boa_runtime::text::register(None, context)?;
    text::register(context)?;
    boa_runtime::url::Url::register(None, context)?;
    context.insert_data(outbound);

    let global = Attribute::WRITABLE | Attribute::CONFIGURABLE;
    let atob_fn = function(context, atob, "atob", 1);
    context.register_global_property(js_string!("atob"), atob_fn, global)?;
    let btoa_fn = function(context, btoa, "btoa", 1);
    context.register_global_property(js_string!("btoa"), btoa_fn, global)?;
    let subtle = ObjectInitializer::new(context)
        .function(NativeFunction::from_fn_ptr(digest), js_string!("digest"), 2)
        .build();
    let crypto = ObjectInitializer::new(context)
        .function(
            NativeFunction::from_fn_ptr(get_random_values),
            js_string!("getRandomValues"),
            1,
        )
        .function(
            NativeFunction::from_fn_ptr(random_uuid),
            js_string!("randomUUID"),
            0,
        )
        .property(js_string!("subtle"), subtle, Attribute::all())
        .build();
    context.register_global_property(js_string!("crypto"), crypto, global)?;
    let performance = ObjectInitializer::new(context)
        .function(NativeFunction::from_fn_ptr(now), js_string!("now"), 0)
        .property(js_string!("timeOrigin"), origin().1, Attribute::READONLY)
        .build();
    context.register_global_property(js_string!("performance"), performance, global)?;

    for (index, part) in PARTS.iter().enumerate() {
        for name in part.globals {
            let global = context.global_object();
            lazy(&global, JsString::from(*name), index, context)?;
        }
    }
    let url = context.global_object().get(js_string!("URL"), context)?;
    if let Some(prototype) = url
        .as_object()
        .map(|u| u.get(js_string!("prototype"), context))
    {
        if let Some(prototype) = prototype?.as_object() {
            let params = part_named("params").expect("a part of that name");
            lazy(&prototype, js_string!("searchParams"), params, context)?;
        }
    }
    Ok(())
}

/// Makes `object[name]` an accessor whose value its part makes the first
/// time it is read; assigning it replaces that value. The property stays an
/// accessor: turning it into a data property from inside its own getter
/// leaves Boa's global-name cache pointing at a stale slot (a panic).
fn lazy(object: &JsObject, name: JsString, part: usize, context: &mut Context) -> JsResult<()> {
    let get = NativeFunction::from_copy_closure_with_captures(
        |this, _, (name, part): &(JsString, usize), context| {
            let web = web_js(context)?;
            if web.overrides.has_own_property(name.clone(), context)? {
                return web.overrides.get(name.clone(), context);
            }
            load(&web, *part, context)?;
            let value = web.exports.get(name.clone(), context)?;
            if *name == js_string!("searchParams") {
                // URL.prototype's getter: params.js's function, for this URL.
                return match value.as_callable() {
                    Some(getter) => getter.call(this, &[], context),
                    None => Ok(JsValue::undefined()),
                };
            }
            Ok(value)
        },
        (name.clone(), part),
    );
    let set = NativeFunction::from_copy_closure_with_captures(
        |_, args, name: &JsString, context| {
            let web = web_js(context)?;
            let value = args.first().cloned().unwrap_or_default();
            web.overrides.set(name.clone(), value, false, context)?;
            Ok(JsValue::undefined())
        },
        name.clone(),
    );
    let get = FunctionObjectBuilder::new(context.realm(), get).build();
    let set = FunctionObjectBuilder::new(context.realm(), set).build();
    object.define_property_or_throw(
        name,
        PropertyDescriptor::builder()
            .get(get)
            .set(set)
            .enumerable(false)
            .configurable(true),
        context,
    )?;
    Ok(())
}

/// The web parts of a context: what they made, what scripts assigned over
/// it, and which parts ran.
#[derive(Clone)]
struct WebJs {
    exports: JsObject,
    overrides: JsObject,
    /// The parts' first argument: the natives, `load` and `exports`.
    native: JsObject,
    /// Their second: what they leave for each other.
    shared: JsObject,
    loaded: Rc<Cell<u8>>,
}

fn web_js(context: &mut Context) -> JsResult<WebJs> {
    if let Some(web) = context.get_data::<WebJs>() {
        return Ok(web.clone());
    }
    let exports = JsObject::with_null_proto();
    let native = ObjectInitializer::new(context)
        .function(NativeFunction::from_fn_ptr(fetch), js_string!("fetch"), 5)
        .function(NativeFunction::from_fn_ptr(timer), js_string!("timer"), 2)
        .function(
            NativeFunction::from_fn_ptr(load_part),
            js_string!("load"),
            1,
        )
        .property(js_string!("exports"), exports.clone(), Attribute::all())
        .build();
    let web = WebJs {
        exports,
        overrides: JsObject::with_null_proto(),
        native,
        shared: JsObject::with_null_proto(),
        loaded: Rc::default(),
    };
    context.insert_data(web.clone());
    Ok(web)
}

/// Runs part `index` (and the common one first) unless it ran already.
fn load(web: &WebJs, index: usize, context: &mut Context) -> JsResult<()> {
    let bit = 1 << index;
    if web.loaded.get() & bit != 0 {
        return Ok(());
    }
    if index != 0 {
        load(web, 0, context)?;
    }
    web.loaded.set(web.loaded.get() | bit);
    let part = &PARTS[index];
    let ran = context
        .eval(Source::from_bytes(part.source))
        .and_then(|factory| {
            let factory = factory.as_callable().ok_or_else(|| {
                JsNativeError::error()
                    .with_message(format!("web/{}.js is not a function", part.name))
            })?;
            let args = [web.native.clone().into(), web.shared.clone().into()];
            factory.call(&JsValue::undefined(), &args, context)
        });
    if ran.is_err() {
        web.loaded.set(web.loaded.get() & !bit);
    }
    ran.map(drop)
}

fn part_named(name: &str) -> Option<usize> {
    PARTS.iter().position(|part| part.name == name)
}

/// `native.load(name)`: runs that part if it has not run; gives `shared`.
fn load_part(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(args, 0, context)?;
    let index = part_named(&name)
        .ok_or_else(|| JsNativeError::error().with_message(format!("no web part {name}")))?;
    let web = web_js(context)?;
    load(&web, index, context)?;
    Ok(web.shared.into())
}

/// Cancels the timers a request left: they never fire in another one.
pub fn clear_timers(context: &mut Context) {
    boa_runtime::interval::clear_all(context);
}

fn function(
    context: &mut Context,
    body: fn(&JsValue, &[JsValue], &mut Context) -> JsResult<JsValue>,
    name: &str,
    length: usize,
) -> JsValue {
    FunctionObjectBuilder::new(context.realm(), NativeFunction::from_fn_ptr(body))
        .name(JsString::from(name))
        .length(length)
        .build()
        .into()
}

/// A `DOMException` (events.js defines the class) as an error to throw.
fn dom_exception(name: &str, message: &str, context: &mut Context) -> JsError {
    let made = (|| {
        let class = context
            .global_object()
            .get(js_string!("DOMException"), context)?;
        let class = class
            .as_constructor()
            .ok_or_else(|| JsNativeError::typ().with_message("DOMException is missing"))?;
        let args = [JsString::from(message).into(), JsString::from(name).into()];
        class.construct(&args, None, context)
    })();
    match made {
        Ok(exception) => JsError::from_opaque(exception.into()),
        Err(error) => error,
    }
}

fn string_arg(args: &[JsValue], i: usize, context: &mut Context) -> JsResult<String> {
    Ok(js_string_arg(args, i, context)?.to_std_string_escaped())
}

/// Argument `i` as a JavaScript string (`"undefined"` when missing).
fn js_string_arg(args: &[JsValue], i: usize, context: &mut Context) -> JsResult<JsString> {
    args.get(i).cloned().unwrap_or_default().to_string(context)
}

/// `atob(data)`: the forgiving base64 decode of the HTML standard; each
/// byte becomes one character.
fn atob(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = string_arg(args, 0, context)?;
    let mut data: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if data.len().is_multiple_of(4) {
        let trimmed = data.strip_suffix("==").or_else(|| data.strip_suffix('='));
        data = trimmed.unwrap_or(&data).to_string();
    }
    let alphabet = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    if data.len() % 4 == 1 || !data.chars().all(alphabet) {
        return Err(dom_exception(
            "InvalidCharacterError",
            "atob: the string is not valid base64",
            context,
        ));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
    );
    let bytes = engine.decode(data.as_bytes()).map_err(|_| {
        dom_exception(
            "InvalidCharacterError",
            "atob: the string is not valid base64",
            context,
        )
    })?;
    let text: Vec<u16> = bytes.into_iter().map(u16::from).collect();
    Ok(JsString::from(&text[..]).into())
}

/// `btoa(text)`: base64 of a string whose characters are all bytes.
fn btoa(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = js_string_arg(args, 0, context)?;
    let mut bytes = Vec::with_capacity(text.len());
    for unit in text.iter() {
        match u8::try_from(unit) {
            Ok(byte) => bytes.push(byte),
            Err(_) => {
                return Err(dom_exception(
                    "InvalidCharacterError",
                    "btoa: the string has characters outside Latin-1",
                    context,
                ))
            }
        }
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(JsString::from(encoded.as_str()).into())
}

/// `crypto.getRandomValues(typedArray)`: fills an integer array in place.
fn get_random_values(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let value = args.first().cloned().unwrap_or_default();
    let mismatch = |context: &mut Context| {
        dom_exception(
            "TypeMismatchError",
            "getRandomValues takes an integer typed array",
            context,
        )
    };
    if value
        .as_object()
        .is_some_and(|o| JsDataView::from_object(o.clone()).is_ok())
    {
        return Err(mismatch(context));
    }
    let typed = value
        .as_object()
        .and_then(|o| JsTypedArray::from_object(o.clone()).ok())
        .ok_or_else(|| {
            JsNativeError::typ().with_message("getRandomValues takes an integer typed array")
        })?;
    use boa_engine::builtins::typed_array::TypedArrayKind as Kind;
    if matches!(
        typed.kind(),
        Some(Kind::Float16 | Kind::Float32 | Kind::Float64)
    ) {
        return Err(mismatch(context));
    }
    let length = typed.byte_length(context)?;
    if length > MAX_RANDOM_BYTES {
        return Err(dom_exception(
            "QuotaExceededError",
            &format!("getRandomValues fills at most {MAX_RANDOM_BYTES} bytes at once"),
            context,
        ));
    }
    let mut random = vec![0u8; length];
    getrandom::fill(&mut random)
        .map_err(|e| JsNativeError::error().with_message(format!("no randomness: {e}")))?;
    bytes_mut(&typed, context, |target| target.copy_from_slice(&random))?;
    Ok(value)
}

/// Runs `write` on the bytes a typed array views, in place (none when its
/// buffer is detached).
fn bytes_mut<R>(
    typed: &JsTypedArray,
    context: &mut Context,
    write: impl FnOnce(&mut [u8]) -> R,
) -> JsResult<R> {
    let (offset, length) = (typed.byte_offset(context)?, typed.byte_length(context)?);
    let buffer = typed.buffer(context)?;
    let buffer = buffer
        .as_object()
        .and_then(|b| JsArrayBuffer::from_object(b.clone()).ok())
        .ok_or_else(|| JsNativeError::typ().with_message("the array has no buffer"))?;
    let mut data = buffer.data_mut();
    let target = data
        .as_deref_mut()
        .and_then(|data| data.get_mut(offset..offset + length))
        .unwrap_or_default();
    Ok(write(target))
}

fn random_uuid(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Ok(JsString::from(uuid::Uuid::new_v4().to_string().as_str()).into())
}

/// `crypto.subtle.digest(algorithm, data)`: a promise of the hash's bytes.
fn digest(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let digested = (|| {
        let algorithm = args.first().cloned().unwrap_or_default();
        let name = match algorithm.as_object() {
            Some(object) => object.get(js_string!("name"), context)?,
            None => algorithm,
        };
        let name = name.to_string(context)?.to_std_string_escaped();
        let data = bytes_of(&args.get(1).cloned().unwrap_or_default(), context)?;
        let hash = match name.to_ascii_uppercase().as_str() {
            "SHA-1" => sha1::Sha1::digest(&data).to_vec(),
            "SHA-256" => sha2::Sha256::digest(&data).to_vec(),
            "SHA-384" => sha2::Sha384::digest(&data).to_vec(),
            "SHA-512" => sha2::Sha512::digest(&data).to_vec(),
            _ => {
                return Err(dom_exception(
                    "NotSupportedError",
                    &format!(
                        "digest: unsupported algorithm {name:?} (SHA-1, SHA-256, SHA-384, SHA-512)"
                    ),
                    context,
                ))
            }
        };
        let bytes = JsUint8Array::from_iter(hash, context)?;
        bytes.buffer(context)
    })();
    let promise = match digested {
        Ok(buffer) => JsPromise::resolve(buffer, context)?,
        Err(error) => JsPromise::reject(error, context)?,
    };
    Ok(promise.into())
}

/// The bytes of an ArrayBuffer, a typed array or a DataView.
fn bytes_of(value: &JsValue, context: &mut Context) -> JsResult<Vec<u8>> {
    let not_bytes =
        || JsNativeError::typ().with_message("expected an ArrayBuffer or a typed array");
    let object = value.as_object().ok_or_else(not_bytes)?;
    if let Ok(buffer) = JsArrayBuffer::from_object(object.clone()) {
        return Ok(buffer.to_vec().unwrap_or_default());
    }
    let (buffer, offset, length) = if let Ok(typed) = JsTypedArray::from_object(object.clone()) {
        (
            typed.buffer(context)?,
            typed.byte_offset(context)?,
            typed.byte_length(context)?,
        )
    } else if let Ok(view) = JsDataView::from_object(object.clone()) {
        (
            view.buffer(context)?,
            view.byte_offset(context)? as usize,
            view.byte_length(context)? as usize,
        )
    } else {
        return Err(not_bytes().into());
    };
    let buffer = buffer
        .as_object()
        .and_then(|b| JsArrayBuffer::from_object(b.clone()).ok())
        .ok_or_else(not_bytes)?;
    let all = buffer.to_vec().unwrap_or_default();
    Ok(all
        .get(offset..offset + length)
        .unwrap_or_default()
        .to_vec())
}

/// The process's time origin: a monotonic instant and its Unix time (ms).
fn origin() -> (Instant, f64) {
    static ORIGIN: OnceLock<(Instant, f64)> = OnceLock::new();
    *ORIGIN.get_or_init(|| {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        (Instant::now(), unix)
    })
}

fn now(_: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    Ok(JsValue::from(origin().0.elapsed().as_secs_f64() * 1000.0))
}

/// `native.timer(callback, ms)`: a timer that does not keep the request
/// running; returns its cancel function.
fn timer(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let callback = args
        .first()
        .and_then(JsValue::as_object)
        .and_then(|o| JsFunction::from_object(o.clone()))
        .ok_or_else(|| JsNativeError::typ().with_message("timer needs a function"))?;
    let ms = args
        .get(1)
        .cloned()
        .unwrap_or_default()
        .to_number(context)?;
    let after = Duration::from_secs_f64((ms / 1000.0).clamp(0.0, 86_400.0 * 365.0));
    let jobs = context
        .downcast_job_executor::<Jobs>()
        .ok_or_else(|| JsNativeError::error().with_message("no job queue"))?;
    let job = NativeJob::new(move |context| callback.call(&JsValue::undefined(), &[], context));
    let cancelled = jobs.add_weak_timer(after, job);
    Ok(cancel_function(cancelled, context))
}

fn cancel_function(flag: Rc<Cell<bool>>, context: &mut Context) -> JsValue {
    // SAFETY of the capture: a Cell holds no GC object.
    let cancel = unsafe {
        NativeFunction::from_closure(move |_, _, _| {
            flag.set(true);
            Ok(JsValue::undefined())
        })
    };
    FunctionObjectBuilder::new(context.realm(), cancel)
        .name(js_string!("cancel"))
        .build()
        .into()
}

/// `native.fetch(method, url, headers, body, redirect, respond)`: starts
/// the request at once (a task of the worker's) and returns `{promise,
/// cancel}`; the promise settles with what `respond` makes of the reply.
fn fetch(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let call = Call {
        method: reqwest::Method::from_bytes(string_arg(args, 0, context)?.as_bytes())
            .map_err(|_| JsNativeError::typ().with_message("invalid method"))?,
        url: string_arg(args, 1, context)?,
        headers: header_pairs(args.get(2), context)?,
        body: match args.get(3) {
            Some(body) if !body.is_null_or_undefined() => Some(bytes_of(body, context)?.into()),
            _ => None,
        },
        redirects: match string_arg(args, 4, context)?.as_str() {
            "manual" => Redirects::Manual,
            "error" => Redirects::Error,
            _ => Redirects::Follow,
        },
        trust_all: false,
    };
    let outbound = context
        .get_data::<Rc<Outbound>>()
        .cloned()
        .ok_or_else(|| JsNativeError::error().with_message("no HTTP client"))?;
    let respond = args
        .get(5)
        .and_then(JsValue::as_callable)
        .ok_or_else(|| JsNativeError::typ().with_message("no respond function"))?;
    let task = AbortOnDrop(tokio::task::spawn_local(outbound.send(call)));
    let cancelled = Rc::new(Cell::new(false));
    let woken = Rc::new(tokio::sync::Notify::new());
    let (promise, resolvers) = JsPromise::new_pending(context);
    let (flag, wake) = (cancelled.clone(), woken.clone());
    let job = NativeAsyncJob::new(async move |context| {
        let mut task = task;
        let outcome = tokio::select! {
            joined = &mut task.0 => joined,
            _ = wake.notified() => return Ok(JsValue::undefined()),
        };
        if flag.get() {
            return Ok(JsValue::undefined());
        }
        let context = &mut context.borrow_mut();
        match outcome {
            Ok(Ok(reply)) => {
                let reply = reply_object(reply, context)?;
                match respond.call(&JsValue::undefined(), &[reply], context) {
                    Ok(response) => {
                        resolvers
                            .resolve
                            .call(&JsValue::undefined(), &[response], context)
                    }
                    Err(error) => {
                        let error = error.into_opaque(context)?;
                        resolvers
                            .reject
                            .call(&JsValue::undefined(), &[error], context)
                    }
                }
            }
            Ok(Err(error)) => {
                let error = JsNativeError::typ().with_message(error.to_string());
                let error = JsError::from(error).into_opaque(context)?;
                resolvers
                    .reject
                    .call(&JsValue::undefined(), &[error], context)
            }
            Err(_) => Ok(JsValue::undefined()),
        }
    });
    context.enqueue_job(job.into());
    let cancel = unsafe {
        // SAFETY of the capture: a Cell and a Notify hold no GC object.
        NativeFunction::from_closure(move |_, _, _| {
            cancelled.set(true);
            woken.notify_one();
            Ok(JsValue::undefined())
        })
    };
    let cancel = FunctionObjectBuilder::new(context.realm(), cancel)
        .name(js_string!("cancel"))
        .build();
    Ok(ObjectInitializer::new(context)
        .property(js_string!("promise"), promise, Attribute::all())
        .property(js_string!("cancel"), cancel, Attribute::all())
        .build()
        .into())
}

/// Stops a request's task when nobody waits for it any more (the script
/// ended or was stopped).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn header_pairs(value: Option<&JsValue>, context: &mut Context) -> JsResult<Vec<(String, String)>> {
    let Some(list) = value.and_then(JsValue::as_object) else {
        return Ok(Vec::new());
    };
    let length = list
        .get(js_string!("length"), context)?
        .to_length(context)?;
    let mut pairs = Vec::with_capacity(length as usize);
    for i in 0..length {
        let pair = list.get(i, context)?;
        let pair = pair
            .as_object()
            .ok_or_else(|| JsNativeError::typ().with_message("headers are [name, value] pairs"))?;
        let name = pair
            .get(0, context)?
            .to_string(context)?
            .to_std_string_escaped();
        let value = pair
            .get(1, context)?
            .to_string(context)?
            .to_std_string_escaped();
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn reply_object(reply: Reply, context: &mut Context) -> JsResult<JsValue> {
    let headers: Vec<JsValue> = reply
        .headers
        .into_iter()
        .map(|(name, value)| {
            let pair = [
                JsValue::from(JsString::from(name.as_str())),
                JsValue::from(JsString::from(value.as_str())),
            ];
            JsArray::from_iter(pair, context).into()
        })
        .collect();
    let headers = JsArray::from_iter(headers, context);
    let body = JsUint8Array::from_iter(reply.body.iter().copied(), context)?;
    Ok(ObjectInitializer::new(context)
        .property(js_string!("status"), reply.status, Attribute::all())
        .property(
            js_string!("statusText"),
            JsString::from(reply.status_text.as_str()),
            Attribute::all(),
        )
        .property(
            js_string!("url"),
            JsString::from(reply.url.as_str()),
            Attribute::all(),
        )
        .property(js_string!("redirected"), reply.redirected, Attribute::all())
        .property(js_string!("headers"), headers, Attribute::all())
        .property(js_string!("body"), body, Attribute::all())
        .build()
        .into())
}
