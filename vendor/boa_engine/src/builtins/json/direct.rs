//! `JSON.parse` without a reviver, read in one pass (a patch of blimp's).
//!
//! The engine's own path checks the text with serde_json, then parses it
//! again as a script, compiles and runs that: a 10 MB object of 800,000
//! keys held its thread for 3 s in native code, out of reach of any time
//! limit, and took more than 256 MiB on the way. Here serde_json's reader
//! hands each value over as it reads it, in the text's order, and the
//! host is asked every 4,096 values whether the script may go on. What it
//! accepts and refuses is what that first check accepted and refused.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::{
    Context, JsError, JsResult, JsString, JsValue, builtins::Array, error::JsNativeError,
    object::JsObject,
};

/// Values read between two asks of the host.
const ASK_EVERY: u32 = 4096;

/// The value of the JSON text `text`.
pub(super) fn parse(text: &str, context: &mut Context) -> JsResult<JsValue> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let mut build = Build {
        context,
        failure: None,
        until_ask: ASK_EVERY,
    };
    let read = (&mut build)
        .deserialize(&mut reader)
        .and_then(|value| reader.end().map(|()| value));
    read.map_err(|err| {
        build
            .failure
            .take()
            .unwrap_or_else(|| JsNativeError::syntax().with_message(err.to_string()).into())
    })
}

/// Makes the values as they are read.
struct Build<'c> {
    context: &'c mut Context,
    /// The engine's error that stopped the reading.
    failure: Option<JsError>,
    until_ask: u32,
}

impl Build<'_> {
    /// Counts one value; asks the host every `ASK_EVERY`.
    fn made<E: de::Error>(&mut self) -> Result<(), E> {
        self.until_ask -= 1;
        if self.until_ask == 0 {
            self.until_ask = ASK_EVERY;
            self.context.check_interrupt().map_err(|err| self.fail(err))?;
        }
        Ok(())
    }

    fn fail<E: de::Error>(&mut self, err: JsError) -> E {
        self.failure = Some(err);
        E::custom("stopped")
    }
}

impl<'de> DeserializeSeed<'de> for &mut Build<'_> {
    type Value = JsValue;

    fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<JsValue, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Build<'_> {
    type Value = JsValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<JsValue, E> {
        Ok(JsValue::null())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<JsValue, E> {
        Ok(value.into())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<JsValue, E> {
        Ok(i32::try_from(value).map_or_else(|_| JsValue::new(value as f64), JsValue::new))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<JsValue, E> {
        Ok(i32::try_from(value).map_or_else(|_| JsValue::new(value as f64), JsValue::new))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<JsValue, E> {
        Ok(JsValue::new(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<JsValue, E> {
        Ok(JsString::from(value).into())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<JsValue, A::Error> {
        let mut list = Vec::new();
        while let Some(item) = items.next_element_seed(&mut *self)? {
            list.push(item);
            self.made()?;
        }
        Ok(Array::create_array_from_list(list, self.context).into())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<JsValue, A::Error> {
        let object = JsObject::with_object_proto(self.context.intrinsics());
        while let Some(key) = entries.next_key::<std::borrow::Cow<'de, str>>()? {
            let value = entries.next_value_seed(&mut *self)?;
            object
                .create_data_property_or_throw(JsString::from(&*key), value, self.context)
                .map_err(|err| self.fail::<A::Error>(err))?;
            self.made()?;
        }
        Ok(object.into())
    }
}
