//! `io/streams` (`Streams`, `InputStream`, `OutputStream`): streams over
//! byte arrays, and over the request and response bodies
//! (`request.getInputStream()`, `response.getOutputStream()`), so that
//! `streams.copy(request.getInputStream(), response.getOutputStream())`
//! echoes a body. Bytes go in and out as in `io/bytes` (arrays of signed
//! bytes out); text is UTF-8.
//!
//! The request's input stream reads the body when it is first read (the
//! script waits for it as `request.getBytes()` does); the response's
//! output stream writes into the response as `response.write` does, and
//! its `close()` ends the response, as closing a servlet's stream does.
//! Both belong to their request: used in another one they throw.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use boa_engine::object::FunctionObjectBuilder;
use boa_engine::{
    js_string, Context, Finalize, JsData, JsNativeError, JsObject, JsResult, JsString, JsValue,
    NativeFunction, Trace,
};

use crate::modules::registry::{Build, Native};
use crate::modules::scope::{self, Scope};
use crate::modules::{module_object, values, Method};

pub const MODULE: Native = Native {
    namespace: "io",
    name: "streams",
    aliases: &[],
    exports: &["streams", "Streams", ".InputStream", ".OutputStream"],
    build: Build::With(build),
};

const METHODS: &[Method] = &[
    ("copy", 2, copy),
    ("copyLarge", 2, copy),
    ("createByteArrayInputStream", 1, create_input),
    ("createByteArrayOutputStream", 0, create_output),
    ("createInputStream", 1, |_, a, c| {
        adopt(a, true, "Streams.createInputStream", c)
    }),
    ("createOutputStream", 1, |_, a, c| {
        adopt(a, false, "Streams.createOutputStream", c)
    }),
    ("getResourceAsByteArrayInputStream", 1, |_, _, _| {
        Err(JsNativeError::error()
            .with_message("Streams.getResourceAsByteArrayInputStream: blimp has no class path resources; read the file with require or a request")
            .into())
    }),
];

const INPUT_METHODS: &[Method] = &[
    ("read", 0, read),
    ("readByte", 0, read),
    ("readBytes", 0, read_bytes),
    ("readBytesNative", 0, read_bytes),
    ("readText", 0, read_text),
    ("close", 0, close),
    ("isValid", 0, |_, _, _| Ok(true.into())),
];

const OUTPUT_METHODS: &[Method] = &[
    ("write", 1, write),
    ("writeByte", 1, write),
    ("writeBytes", 1, write_bytes),
    ("writeBytesNative", 1, write_bytes),
    ("writeText", 1, write_text),
    ("close", 0, close),
    ("getBytes", 0, get_bytes),
    ("getBytesNative", 0, get_bytes),
    ("getText", 0, get_text),
    ("isValid", 0, |_, _, _| Ok(true.into())),
];

/// A stream object's Rust side.
#[derive(Trace, Finalize, JsData)]
struct Stream {
    #[unsafe_ignore_trace]
    kind: RefCell<Kind>,
}

enum Kind {
    /// Bytes read from a position: a byte array, or the request body once read.
    Bytes { data: bytes::Bytes, at: usize },
    /// The body of the request whose scope this is, not read yet.
    Request(Weak<RefCell<Scope>>),
    /// A byte array output stream.
    Buffer(Vec<u8>),
    /// The response of the request whose scope this is.
    Response(Weak<RefCell<Scope>>),
}

impl Kind {
    fn is_input(&self) -> bool {
        matches!(self, Kind::Bytes { .. } | Kind::Request(_))
    }
}

/// The prototypes of input and output streams in one context.
#[derive(Clone)]
struct Prototypes {
    input: JsObject,
    output: JsObject,
}

fn build(context: &mut Context) -> JsResult<JsObject> {
    let module = module_object(context, METHODS);
    let prototypes = Prototypes {
        input: prototype(context, INPUT_METHODS),
        output: prototype(context, OUTPUT_METHODS),
    };
    for (name, proto, input) in [
        ("InputStream", &prototypes.input, true),
        ("OutputStream", &prototypes.output, false),
    ] {
        let constructor = constructor(name, proto, input, context)?;
        module.set(JsString::from(name), constructor, false, context)?;
    }
    context.insert_data(prototypes);
    Ok(module)
}

fn prototype(context: &mut Context, methods: &[Method]) -> JsObject {
    crate::modules::methods_object(context, methods)
}

/// `new InputStream(stream)` (and `OutputStream`): Dirigible wraps a Java
/// stream; blimp's streams are already what scripts use, so it gives back
/// the stream it is handed. `instanceof` works.
fn constructor(
    name: &str,
    proto: &JsObject,
    input: bool,
    context: &mut Context,
) -> JsResult<JsObject> {
    let function = if input {
        NativeFunction::from_fn_ptr(|_, a, c| adopt(a, true, "new InputStream", c))
    } else {
        NativeFunction::from_fn_ptr(|_, a, c| adopt(a, false, "new OutputStream", c))
    };
    let constructor = FunctionObjectBuilder::new(context.realm(), function)
        .name(JsString::from(name))
        .length(1)
        .constructor(true)
        .build();
    constructor.define_property_or_throw(
        js_string!("prototype"),
        boa_engine::property::PropertyDescriptor::builder()
            .value(proto.clone())
            .writable(false)
            .enumerable(false)
            .configurable(false),
        context,
    )?;
    proto.set(
        js_string!("constructor"),
        constructor.clone(),
        false,
        context,
    )?;
    Ok(constructor.into())
}

fn prototypes(context: &mut Context) -> JsResult<Prototypes> {
    if context.get_data::<Prototypes>().is_none() {
        crate::modules::registry::require("io/streams", context)?;
    }
    context.get_data::<Prototypes>().cloned().ok_or_else(|| {
        JsNativeError::error()
            .with_message("io/streams is not available")
            .into()
    })
}

fn new_stream(kind: Kind, context: &mut Context) -> JsResult<JsValue> {
    let prototypes = prototypes(context)?;
    let proto = if kind.is_input() {
        prototypes.input
    } else {
        prototypes.output
    };
    let stream = Stream {
        kind: RefCell::new(kind),
    };
    Ok(JsObject::from_proto_and_data(Some(proto), stream).into())
}

/// `request.getInputStream()`.
pub fn request_input(context: &mut Context) -> JsResult<JsValue> {
    let scope = scope::scope(context)?;
    new_stream(Kind::Request(Rc::downgrade(&scope)), context)
}

/// `response.getOutputStream()`.
pub fn response_output(context: &mut Context) -> JsResult<JsValue> {
    let scope = scope::scope(context)?;
    new_stream(Kind::Response(Rc::downgrade(&scope)), context)
}

fn create_input(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let value = args.first().cloned().unwrap_or_default();
    if !value.is_object() {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "Streams.createByteArrayInputStream: expected an array of bytes, not {}",
                values::type_name(&value)
            ))
            .into());
    }
    let data = values::bytes_of(&value, context)?.into();
    new_stream(Kind::Bytes { data, at: 0 }, context)
}

fn create_output(_: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    new_stream(Kind::Buffer(Vec::new()), context)
}

fn stream_of(value: &JsValue) -> Option<JsObject> {
    let object = value.as_object()?;
    object.downcast_ref::<Stream>()?;
    Some(object.clone())
}

fn is_input(object: &JsObject) -> bool {
    object
        .downcast_ref::<Stream>()
        .is_some_and(|s| s.kind.borrow().is_input())
}

/// The stream argument itself, if it is one of the kind asked for.
fn adopt(args: &[JsValue], input: bool, what: &str, _: &mut Context) -> JsResult<JsValue> {
    let value = args.first().cloned().unwrap_or_default();
    match stream_of(&value) {
        Some(object) if is_input(&object) == input => Ok(object.into()),
        _ => Err(JsNativeError::typ()
            .with_message(format!(
                "{what}: expected an {} stream of blimp's (from io/streams, request or response)",
                if input { "input" } else { "output" }
            ))
            .into()),
    }
}

/// The stream `this` is, of the kind asked for.
fn this_stream(this: &JsValue, input: bool, what: &str) -> JsResult<JsObject> {
    match stream_of(this) {
        Some(object) if is_input(&object) == input => Ok(object),
        _ => Err(JsNativeError::typ()
            .with_message(format!(
                "{what} called on something that is not an {} stream",
                if input { "input" } else { "output" }
            ))
            .into()),
    }
}

fn with_kind<R>(object: &JsObject, f: impl FnOnce(&mut Kind) -> R) -> R {
    let stream = object
        .downcast_ref::<Stream>()
        .expect("checked to be a stream");
    let mut kind = stream.kind.borrow_mut();
    f(&mut kind)
}

/// The scope `weak` names, if it is the request being served.
fn own_scope(weak: &Weak<RefCell<Scope>>, context: &Context) -> JsResult<Rc<RefCell<Scope>>> {
    let current = scope::scope(context)?;
    match weak.upgrade() {
        Some(scope) if Rc::ptr_eq(&scope, &current) => Ok(scope),
        _ => Err(JsNativeError::error()
            .with_message("this stream belongs to another request")
            .into()),
    }
}

/// Up to `max` bytes from the input (all that remain for `usize::MAX`);
/// the request body is read first if it was not yet.
fn take(object: &JsObject, max: usize, context: &mut Context) -> JsResult<bytes::Bytes> {
    let request = with_kind(object, |kind| match kind {
        Kind::Request(weak) => Some(weak.clone()),
        _ => None,
    });
    if let Some(weak) = request {
        own_scope(&weak, context)?;
        let data = crate::modules::request::body(context)?;
        with_kind(object, |kind| *kind = Kind::Bytes { data, at: 0 });
    }
    Ok(with_kind(object, |kind| match kind {
        Kind::Bytes { data, at } => {
            let end = at.saturating_add(max).min(data.len());
            let taken = data.slice(*at..end);
            *at = end;
            taken
        }
        _ => bytes::Bytes::new(),
    }))
}

fn read(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let object = this_stream(this, true, "InputStream.read")?;
    let byte = take(&object, 1, context)?;
    Ok(byte.first().map_or(-1, |&b| i32::from(b)).into())
}

fn read_bytes(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let object = this_stream(this, true, "InputStream.readBytes")?;
    let bytes = take(&object, usize::MAX, context)?;
    Ok(values::signed_bytes(&bytes, context))
}

fn read_text(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let object = this_stream(this, true, "InputStream.readText")?;
    let bytes = take(&object, usize::MAX, context)?;
    Ok(crate::modules::utils::text(String::from_utf8_lossy(&bytes)))
}

/// Closing a byte array stream does nothing (as in Java); closing the
/// response's output stream ends the response.
fn close(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let Some(object) = stream_of(this) else {
        return Err(JsNativeError::typ()
            .with_message("close called on something that is not a stream")
            .into());
    };
    let response = with_kind(&object, |kind| match kind {
        Kind::Response(weak) => Some(weak.clone()),
        _ => None,
    });
    if let Some(weak) = response {
        own_scope(&weak, context)?.borrow_mut().close();
    }
    Ok(JsValue::undefined())
}

/// Writes `bytes` to the output: its buffer, or the response (in pieces,
/// so a full response buffer is sent as `response.write` sends it).
fn put(object: &JsObject, bytes: &[u8], context: &mut Context) -> JsResult<()> {
    let response = with_kind(object, |kind| match kind {
        Kind::Buffer(buffer) => {
            buffer.extend_from_slice(bytes);
            None
        }
        Kind::Response(weak) => Some(weak.clone()),
        _ => None,
    });
    if let Some(weak) = response {
        own_scope(&weak, context)?;
        for piece in bytes.chunks(64 * 1024) {
            crate::modules::response::append(piece, context)?;
        }
    }
    Ok(())
}

fn write(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let object = this_stream(this, false, "OutputStream.write")?;
    let byte = args.first().cloned().unwrap_or_default().to_i32(context)?;
    put(&object, &[byte as u8], context)?;
    Ok(JsValue::undefined())
}

fn write_bytes(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let object = this_stream(this, false, "OutputStream.writeBytes")?;
    let value = args.first().cloned().unwrap_or_default();
    if !value.is_object() {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "OutputStream.writeBytes: expected an array of bytes, not {}",
                values::type_name(&value)
            ))
            .into());
    }
    let bytes = values::bytes_of(&value, context)?;
    put(&object, &bytes, context)?;
    Ok(JsValue::undefined())
}

fn write_text(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let object = this_stream(this, false, "OutputStream.writeText")?;
    let text = crate::modules::utils::text_arg(args, 0, "OutputStream.writeText", context)?;
    put(&object, text.as_bytes(), context)?;
    Ok(JsValue::undefined())
}

/// What a byte array output stream holds.
fn buffered(this: &JsValue, what: &str) -> JsResult<Vec<u8>> {
    let object = this_stream(this, false, what)?;
    with_kind(&object, |kind| {
        match kind {
        Kind::Buffer(buffer) => Ok(buffer.clone()),
        _ => Err(JsNativeError::typ()
            .with_message(format!(
                "{what}: the response's output stream keeps no bytes (only a byte array output stream does)"
            ))
            .into()),
    }
    })
}

fn get_bytes(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let bytes = buffered(this, "OutputStream.getBytes")?;
    Ok(values::signed_bytes(&bytes, context))
}

fn get_text(this: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let bytes = buffered(this, "OutputStream.getText")?;
    Ok(crate::modules::utils::text(String::from_utf8_lossy(&bytes)))
}

/// `Streams.copy(input, output)`: everything left in `input`.
fn copy(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let input = adopt(args, true, "Streams.copy (its first argument)", context)?;
    let output = adopt(
        &args[1.min(args.len())..],
        false,
        "Streams.copy (its second argument)",
        context,
    )?;
    let (Some(input), Some(output)) = (input.as_object(), output.as_object()) else {
        unreachable!("adopt returns objects");
    };
    let bytes = take(&input, usize::MAX, context)?;
    put(&output, &bytes, context)?;
    Ok(JsValue::undefined())
}
