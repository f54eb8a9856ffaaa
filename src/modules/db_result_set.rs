//! The ResultSet of `db/database`: rows read whole (at most
//! `--db-max-rows`), walked with `next()` and read with JDBC's getters.
//! A column is named (case-insensitively) or numbered from 1. As in JDBC,
//! the numeric getters give 0 and `getBoolean` false for SQL NULL
//! (`wasNull()` tells), the others null.

use std::cell::Cell;
use std::rc::Rc;

use boa_engine::{
    js_string, Context, JsBigInt, JsData, JsNativeError, JsObject, JsResult, JsString, JsValue,
};
use boa_gc::{Finalize, Trace};

use super::db_database::classes;
use super::db_values::{self, decimal_js, integer_js, to_js};
use super::{values, Method};
use crate::db::{self, Value};

/// Rows `toJson(true)` gives at most.
const LIMITED: usize = 100;

#[derive(Trace, Finalize, JsData)]
struct ResultSetObject {
    #[unsafe_ignore_trace] // holds no JavaScript values
    rows: Rc<db::Rows>,
    /// 0: before the first row; n: on row n (1-based); past the end: len + 1.
    #[unsafe_ignore_trace]
    cursor: Cell<usize>,
    #[unsafe_ignore_trace]
    closed: Cell<bool>,
    #[unsafe_ignore_trace]
    was_null: Cell<bool>,
}

pub fn new(rows: Rc<db::Rows>, context: &mut Context) -> JsResult<JsValue> {
    let proto = classes(context)?.result_set;
    Ok(JsObject::from_proto_and_data(
        proto,
        ResultSetObject {
            rows,
            cursor: Cell::new(0),
            closed: Cell::new(false),
            was_null: Cell::new(false),
        },
    )
    .into())
}

/// A getter of a column's value, converted.
macro_rules! getter {
    ($name:literal, $convert:expr) => {
        ($name, 1, |t, a, c| get(t, a, c, $convert))
    };
}

pub const METHODS: &[Method] = &[
    ("next", 0, next),
    ("close", 0, |t, _, _| {
        with(t, |rs| {
            rs.closed.set(true);
            Ok(JsValue::undefined())
        })
    }),
    ("isClosed", 0, |t, _, _| {
        with(t, |rs| Ok(rs.closed.get().into()))
    }),
    ("isBeforeFirst", 0, |t, _, _| {
        with(t, |rs| {
            Ok((rs.cursor.get() == 0 && !rs.rows.rows.is_empty()).into())
        })
    }),
    ("isAfterLast", 0, |t, _, _| {
        with(t, |rs| {
            Ok((rs.cursor.get() > rs.rows.rows.len() && !rs.rows.rows.is_empty()).into())
        })
    }),
    ("isFirst", 0, |t, _, _| {
        with(t, |rs| Ok((rs.cursor.get() == 1).into()))
    }),
    ("isLast", 0, |t, _, _| {
        with(t, |rs| {
            Ok((rs.cursor.get() != 0 && rs.cursor.get() == rs.rows.rows.len()).into())
        })
    }),
    ("wasNull", 0, |t, _, _| {
        with(t, |rs| Ok(rs.was_null.get().into()))
    }),
    ("findColumn", 1, |t, a, c| {
        let rows = with(t, |rs| Ok(rs.rows.clone()))?;
        Ok(JsValue::from((column(&rows, a, c)? + 1) as f64))
    }),
    ("getMetaData", 0, metadata),
    ("toJson", 2, to_json),
    getter!("getString", |v, _| Ok(
        string_of(v).map_or(JsValue::null(), |s| JsString::from(s).into())
    )),
    getter!("getNString", |v, _| Ok(
        string_of(v).map_or(JsValue::null(), |s| JsString::from(s).into())
    )),
    getter!("getClob", |v, _| Ok(
        string_of(v).map_or(JsValue::null(), |s| JsString::from(s).into())
    )),
    getter!("getNClob", |v, _| Ok(
        string_of(v).map_or(JsValue::null(), |s| JsString::from(s).into())
    )),
    getter!("getInt", |v, _| Ok(values::number(number_of(v).trunc()))),
    getter!("getShort", |v, _| Ok(values::number(number_of(v).trunc()))),
    getter!("getByte", |v, _| Ok(values::number(number_of(v).trunc()))),
    getter!("getLong", |v, _| Ok(long_of(v))),
    getter!("getDouble", |v, _| Ok(JsValue::from(number_of(v)))),
    getter!("getFloat", |v, _| Ok(JsValue::from(number_of(v)))),
    getter!("getBigDecimal", |v, _| Ok(match v {
        Value::Null => JsValue::null(),
        Value::Decimal(text) => decimal_js(text),
        Value::Int(i) => integer_js(*i),
        other => JsValue::from(number_of(other)),
    })),
    getter!("getBoolean", |v, _| Ok(boolean_of(v).into())),
    getter!("getDate", date_of),
    getter!("getTime", date_of),
    getter!("getTimestamp", date_of),
    getter!("getBytes", bytes_of),
    getter!("getBytesNative", bytes_of),
    getter!("getBlob", bytes_of),
    getter!("getBlobNative", bytes_of),
    getter!("getObject", to_js),
];

fn with<T>(this: &JsValue, f: impl FnOnce(&ResultSetObject) -> JsResult<T>) -> JsResult<T> {
    let object = this.as_object();
    let data = object
        .as_ref()
        .and_then(|o| o.downcast_ref::<ResultSetObject>())
        .ok_or_else(|| JsNativeError::typ().with_message("not a ResultSet"))?;
    f(&data)
}

fn open(rs: &ResultSetObject) -> JsResult<()> {
    if rs.closed.get() {
        return Err(JsNativeError::error()
            .with_message("the result set is closed")
            .into());
    }
    Ok(())
}

fn next(this: &JsValue, _: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    with(this, |rs| {
        open(rs)?;
        let len = rs.rows.rows.len();
        let at = (rs.cursor.get() + 1).min(len + 1);
        rs.cursor.set(at);
        Ok((at <= len).into())
    })
}

/// The index of the column `args[0]` names (a name or a number from 1).
fn column(rows: &db::Rows, args: &[JsValue], context: &mut Context) -> JsResult<usize> {
    let id = args.first().cloned().unwrap_or_default();
    if let Some(n) = id.as_number() {
        if n.fract() == 0.0 && n >= 1.0 && (n as usize) <= rows.columns.len() {
            return Ok(n as usize - 1);
        }
        return Err(JsNativeError::range()
            .with_message(format!(
                "no column {n}: the result has {} (numbered from 1)",
                rows.columns.len()
            ))
            .into());
    }
    let name = values::string_of(&id.to_string(context)?);
    rows.columns
        .iter()
        .position(|c| c.name == name)
        .or_else(|| {
            rows.columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(&name))
        })
        .ok_or_else(|| {
            let names: Vec<&str> = rows.columns.iter().map(|c| c.name.as_str()).collect();
            JsNativeError::error()
                .with_message(format!(
                    "no column {name:?} in the result (columns: {})",
                    names.join(", ")
                ))
                .into()
        })
}

fn get(
    this: &JsValue,
    args: &[JsValue],
    context: &mut Context,
    convert: fn(&Value, &mut Context) -> JsResult<JsValue>,
) -> JsResult<JsValue> {
    let (rows, at) = with(this, |rs| {
        open(rs)?;
        let at = rs.cursor.get();
        if at == 0 || at > rs.rows.rows.len() {
            return Err(JsNativeError::error()
                .with_message("the result set is not on a row: call next() first")
                .into());
        }
        Ok((rs.rows.clone(), at - 1))
    })?;
    let index = column(&rows, args, context)?;
    let value = &rows.rows[at][index];
    with(this, |rs| {
        rs.was_null.set(*value == Value::Null);
        Ok(())
    })?;
    convert(value, context)
}

fn string_of(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Real(f) => JsValue::from(*f).display().to_string(),
        Value::Decimal(t) | Value::Text(t) => t.clone(),
        Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Time(ms) => db::time::iso(*ms),
    })
}

fn number_of(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Int(i) => *i as f64,
        Value::Real(f) | Value::Time(f) => *f,
        Value::Decimal(t) | Value::Text(t) => t.trim().parse().unwrap_or(f64::NAN),
        Value::Blob(_) => f64::NAN,
    }
}

fn long_of(value: &Value) -> JsValue {
    match value {
        Value::Int(i) => integer_js(*i),
        // Its whole part, every digit kept (a BigInt past 2^53).
        Value::Decimal(t) | Value::Text(t) => {
            let whole = t.trim().split('.').next().unwrap_or_default();
            if let Ok(i) = whole.parse::<i64>() {
                return integer_js(i);
            }
            match JsBigInt::from_string(whole) {
                Some(big) if whole.bytes().any(|b| b.is_ascii_digit()) => big.into(),
                _ => values::number(number_of(value).trunc()),
            }
        }
        other => values::number(number_of(other).trunc()),
    }
}

fn boolean_of(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Text(t) => matches!(
            t.trim().to_ascii_lowercase().as_str(),
            "true" | "t" | "1" | "yes" | "y" | "on"
        ),
        other => number_of(other) != 0.0,
    }
}

fn date_of(value: &Value, context: &mut Context) -> JsResult<JsValue> {
    match value {
        Value::Null => Ok(JsValue::null()),
        Value::Time(ms) | Value::Real(ms) => db_values::date(*ms, context),
        Value::Int(ms) => db_values::date(*ms as f64, context),
        // A TIME column's text: that time of day on 1 January 1970, UTC.
        Value::Text(text) => match db::time::parse(text)
            .or_else(|| db::time::time_of_day(text).map(|micros| (micros / 1000) as f64))
        {
            Some(ms) => db_values::date(ms, context),
            None => {
                let constructor = context.intrinsics().constructors().date().constructor();
                let args = [JsString::from(text.as_str()).into()];
                Ok(constructor.construct(&args, None, context)?.into())
            }
        },
        other => Err(JsNativeError::typ()
            .with_message(format!("a {} is not a date", other.kind()))
            .into()),
    }
}

fn bytes_of(value: &Value, context: &mut Context) -> JsResult<JsValue> {
    let bytes = match value {
        Value::Null => return Ok(JsValue::null()),
        Value::Blob(b) => b.clone(),
        other => string_of(other).unwrap_or_default().into_bytes(),
    };
    Ok(boa_engine::object::builtins::JsUint8Array::from_iter(bytes, context)?.into())
}

fn metadata(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let rows = with(this, |rs| Ok(rs.rows.clone()))?;
    let columns: Vec<JsValue> = rows
        .columns
        .iter()
        .map(|c| {
            super::object_of(
                &[
                    ("name", JsString::from(c.name.as_str()).into()),
                    ("type", JsString::from(c.type_name.as_str()).into()),
                ],
                context,
            )
        })
        .collect();
    let columns = values::js_array(columns, context);
    let object = super::object_of(
        &[
            ("columnCount", JsValue::from(rows.columns.len() as f64)),
            ("columns", columns),
        ],
        context,
    );
    let methods: &[Method] = &[
        ("getColumnCount", 0, |t, _, c| {
            meta_columns(t, c).map(|n| JsValue::from(n.len() as f64))
        }),
        ("getColumnName", 1, |t, a, c| meta_column(t, a, c, "name")),
        ("getColumnLabel", 1, |t, a, c| meta_column(t, a, c, "name")),
        ("getColumnTypeName", 1, |t, a, c| {
            meta_column(t, a, c, "type")
        }),
    ];
    if let Some(target) = object.as_object() {
        for &(name, length, function) in methods {
            let f = boa_engine::object::FunctionObjectBuilder::new(
                context.realm(),
                boa_engine::NativeFunction::from_fn_ptr(function),
            )
            .name(JsString::from(name))
            .length(length)
            .build();
            target.set(JsString::from(name), f, false, context)?;
        }
    }
    Ok(object)
}

fn meta_columns(this: &JsValue, context: &mut Context) -> JsResult<Vec<JsValue>> {
    let columns = this
        .as_object()
        .map(|o| o.get(js_string!("columns"), context))
        .transpose()?
        .and_then(|c| c.as_object());
    let Some(columns) = columns else {
        return Ok(Vec::new());
    };
    let length = values::length(&columns, context)?;
    (0..length).map(|i| columns.get(i, context)).collect()
}

fn meta_column(
    this: &JsValue,
    args: &[JsValue],
    context: &mut Context,
    field: &str,
) -> JsResult<JsValue> {
    let columns = meta_columns(this, context)?;
    let n = args.first().and_then(JsValue::as_number).unwrap_or(0.0);
    let column = columns
        .get((n as usize).wrapping_sub(1))
        .and_then(JsValue::as_object)
        .ok_or_else(|| {
            JsNativeError::range().with_message(format!("no column {n} (numbered from 1)"))
        })?;
    column.get(JsString::from(field), context)
}

/// `toJson(limited, stringify)`: the rows from the cursor on, as an array
/// of objects (the first 100 when `limited`), the cursor then past the
/// end. Dirigible 4 gave JSON text and later versions an array: the array
/// given here turns into its JSON text wherever a string is wanted
/// (`JSON.parse(rs.toJson())`, `response.println(rs.toJson())`), and
/// `stringify` true gives the text itself.
fn to_json(this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let limited = args.first().is_some_and(JsValue::to_boolean);
    let stringify = args.get(1).is_some_and(JsValue::to_boolean);
    let (rows, skip) = with(this, |rs| {
        open(rs)?;
        let skip = rs.cursor.get();
        rs.cursor.set(rs.rows.rows.len() + 1);
        Ok((rs.rows.clone(), skip))
    })?;
    let limit = if limited { LIMITED } else { usize::MAX };
    let array = db_values::rows_to_array(&rows, skip, limit, context)?;
    if stringify {
        let text = values::stringify(&array, context)?.unwrap_or_default();
        return Ok(JsString::from(text).into());
    }
    if let Some(object) = array.as_object() {
        let text = classes(context)?.json_text;
        object.define_property_or_throw(
            js_string!("toString"),
            boa_engine::property::PropertyDescriptor::builder()
                .value(text)
                .writable(true)
                .enumerable(false)
                .configurable(true),
            context,
        )?;
    }
    Ok(array)
}

/// The `toString` of `toJson()`'s array: its JSON text.
pub fn json_text(this: &JsValue, _: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = values::stringify(this, context)?.unwrap_or_default();
    Ok(JsString::from(text).into())
}
