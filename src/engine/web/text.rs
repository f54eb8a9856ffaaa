//! Text encodings: `TextDecoder` on `encoding_rs` (the WHATWG Encoding
//! standard's labels and decoders), replacing boa_runtime's, which ignores
//! `fatal` and `stream` and knows only the UTF encodings; and
//! `TextEncoder.prototype.encodeInto`, which boa_runtime's encoder lacks.

use std::cell::RefCell;

use boa_engine::class::{Class, ClassBuilder};
use boa_engine::object::builtins::JsUint8Array;
use boa_engine::object::{FunctionObjectBuilder, ObjectInitializer};
use boa_engine::property::Attribute;
use boa_engine::{
    js_string, Context, JsData, JsNativeError, JsResult, JsString, JsValue, NativeFunction,
};
use boa_gc::{Finalize, Trace};
use encoding_rs::{CoderResult, DecoderResult, Encoding};

use super::function;

/// What one of its attributes reads.
type Getter = fn(&TextDecoder) -> JsValue;

#[derive(Trace, Finalize, JsData)]
pub struct TextDecoder {
    #[unsafe_ignore_trace] // a static table
    encoding: &'static Encoding,
    fatal: bool,
    ignore_bom: bool,
    /// What a `stream: true` call left unfinished (a character cut in two).
    #[unsafe_ignore_trace] // holds no JavaScript values
    pending: RefCell<Option<encoding_rs::Decoder>>,
}

impl Class for TextDecoder {
    const NAME: &'static str = "TextDecoder";
    const LENGTH: usize = 0;
    const ATTRIBUTES: Attribute = Attribute::WRITABLE.union(Attribute::CONFIGURABLE);

    fn init(class: &mut ClassBuilder<'_>) -> JsResult<()> {
        class.method(
            js_string!("decode"),
            0,
            NativeFunction::from_fn_ptr(Self::decode),
        );
        let getters: [(&str, Getter); 3] = [
            ("encoding", |d| {
                JsString::from(d.encoding.name().to_ascii_lowercase()).into()
            }),
            ("fatal", |d| d.fatal.into()),
            ("ignoreBOM", |d| d.ignore_bom.into()),
        ];
        for (name, read) in getters {
            let getter =
                NativeFunction::from_copy_closure(move |this, _, _| Self::with(this, read));
            let realm = class.context().realm().clone();
            let getter = FunctionObjectBuilder::new(&realm, getter)
                .name(JsString::from(format!("get {name}")))
                .build();
            class.accessor(
                JsString::from(name),
                Some(getter),
                None,
                Attribute::CONFIGURABLE | Attribute::ENUMERABLE,
            );
        }
        Ok(())
    }

    fn data_constructor(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<Self> {
        let label = match args.first() {
            Some(label) if !label.is_undefined() => {
                label.to_string(context)?.to_std_string_escaped()
            }
            _ => "utf-8".into(),
        };
        let encoding =
            Encoding::for_label_no_replacement(label.trim().as_bytes()).ok_or_else(|| {
                JsNativeError::range().with_message(format!(
                    "The encoding label provided ('{label}') is invalid."
                ))
            })?;
        let option = |name: &str, context: &mut Context| -> JsResult<bool> {
            match args.get(1).and_then(JsValue::as_object) {
                Some(options) => Ok(options.get(JsString::from(name), context)?.to_boolean()),
                None => Ok(false),
            }
        };
        Ok(TextDecoder {
            encoding,
            fatal: option("fatal", context)?,
            ignore_bom: option("ignoreBOM", context)?,
            pending: RefCell::new(None),
        })
    }
}

impl TextDecoder {
    /// Runs `read` on the decoder `this` is.
    fn with<R>(this: &JsValue, read: impl FnOnce(&Self) -> R) -> JsResult<R> {
        let not = || JsNativeError::typ().with_message("not a TextDecoder");
        let object = this.as_object().ok_or_else(not)?;
        let decoder = object.downcast_ref::<Self>().ok_or_else(not)?;
        Ok(read(&decoder))
    }

    /// `decode(input, { stream })`.
    fn decode(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
        let bytes = match args.first() {
            Some(input) if !input.is_undefined() => super::bytes_of(input, context)?,
            _ => Vec::new(),
        };
        let stream = match args.get(1).and_then(JsValue::as_object) {
            Some(options) => options.get(js_string!("stream"), context)?.to_boolean(),
            None => false,
        };
        let text = Self::with(this, |decoder| decoder.run(&bytes, !stream))??;
        Ok(JsString::from(text.as_str()).into())
    }

    /// Decodes `bytes`, after what an unfinished call left; `last` ends
    /// the stream.
    fn run(&self, bytes: &[u8], last: bool) -> JsResult<String> {
        let mut pending = self.pending.borrow_mut();
        let state = pending.get_or_insert_with(|| {
            if self.ignore_bom {
                self.encoding.new_decoder_without_bom_handling()
            } else {
                self.encoding.new_decoder_with_bom_removal()
            }
        });
        let room = state
            .max_utf8_buffer_length(bytes.len())
            .ok_or_else(|| JsNativeError::range().with_message("too much to decode at once"))?;
        let mut text = String::with_capacity(room);
        let malformed = if self.fatal {
            let (result, _) = state.decode_to_string_without_replacement(bytes, &mut text, last);
            matches!(result, DecoderResult::Malformed(..))
        } else {
            let (result, _, _) = state.decode_to_string(bytes, &mut text, last);
            debug_assert!(matches!(result, CoderResult::InputEmpty));
            false
        };
        if last || malformed {
            *pending = None;
        }
        if malformed {
            return Err(JsNativeError::typ()
                .with_message(format!(
                    "The encoded data was not valid for encoding {}",
                    self.encoding.name().to_ascii_lowercase()
                ))
                .into());
        }
        Ok(text)
    }
}

/// Replaces boa_runtime's `TextDecoder` global with this one and adds
/// `encodeInto` to its `TextEncoder`.
pub fn register(context: &mut Context) -> JsResult<()> {
    context.register_global_class::<TextDecoder>()?;
    add_encode_into(context)
}

/// `TextEncoder.prototype.encodeInto`.
fn add_encode_into(context: &mut Context) -> JsResult<()> {
    let encoder = context
        .global_object()
        .get(js_string!("TextEncoder"), context)?;
    let prototype = match encoder.as_object() {
        Some(encoder) => encoder.get(js_string!("prototype"), context)?,
        None => return Ok(()),
    };
    if let Some(prototype) = prototype.as_object() {
        let encode_into = function(context, encode_into, "encodeInto", 2);
        prototype.set(js_string!("encodeInto"), encode_into, true, context)?;
    }
    Ok(())
}

/// Writes the UTF-8 of as many whole characters of `source` as fit into
/// the Uint8Array `destination`: `{ read, written }`, `read` in UTF-16
/// code units (a lone surrogate is written as U+FFFD).
fn encode_into(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let source = super::js_string_arg(args, 0, context)?;
    let destination = args
        .get(1)
        .and_then(JsValue::as_object)
        .and_then(|o| JsUint8Array::from_object(o.clone()).ok())
        .ok_or_else(|| JsNativeError::typ().with_message("encodeInto writes into a Uint8Array"))?;
    let (read, written) = super::bytes_mut(&destination, context, |target| {
        let (mut read, mut written) = (0usize, 0usize);
        let mut units = [0u8; 4];
        for c in char::decode_utf16(source.iter()) {
            let (c, width) = match c {
                Ok(c) => (c, c.len_utf16()),
                Err(_) => (char::REPLACEMENT_CHARACTER, 1),
            };
            let bytes = c.encode_utf8(&mut units).as_bytes();
            let Some(slot) = target.get_mut(written..written + bytes.len()) else {
                break;
            };
            slot.copy_from_slice(bytes);
            written += bytes.len();
            read += width;
        }
        (read, written)
    })?;
    let result = ObjectInitializer::new(context)
        .property(js_string!("read"), read, Attribute::all())
        .property(js_string!("written"), written, Attribute::all())
        .build();
    Ok(result.into())
}
