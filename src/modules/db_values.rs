//! What the `db/*` modules share: values between JavaScript and `db::Value`,
//! parameters, rows as objects, and database errors as JavaScript errors.
//!
//! Numbers: an integer column gives a number while it is a safe integer
//! (|n| < 2^53) and a BigInt beyond, so no digit is lost; PostgreSQL's
//! NUMERIC gives a number when the number holds it exactly, else a BigInt
//! (whole) or a string (fraction). `JSON.stringify` refuses BigInt, but
//! `response.json` writes one as a JSON number with all its digits.

use std::rc::Rc;
use std::sync::Arc;

use boa_engine::builtins::object::OrdinaryObject;
use boa_engine::object::builtins::{JsArrayBuffer, JsDate, JsTypedArray, JsUint8Array};
use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{
    js_string, Context, JsBigInt, JsError, JsNativeError, JsObject, JsResult, JsString, JsValue,
    JsVariant,
};

use super::scope;
use super::values;
use crate::db::{self, Datasources, DbError, Kind, Params, Value};

/// The largest integer a JavaScript number holds exactly.
const SAFE: i64 = (1 << 53) - 1;

/// The server's datasources, through the request being served.
pub fn datasources(context: &Context) -> JsResult<Arc<Datasources>> {
    Ok(scope::scope(context)?.borrow().datasources.clone())
}

/// A database error as the script sees it: an Error with the database's
/// message and `code`. A database that cannot be reached also decides the
/// request's status (503) should the script then fail; a stopped wait
/// stops the script.
pub fn throw(err: DbError, context: &mut Context) -> JsError {
    let native = match &err.kind {
        Kind::Stopped(stop) => return super::stopped(*stop),
        Kind::Unavailable => {
            if let Some(scope) = scope::current(context) {
                scope.borrow_mut().fault = Some((
                    hyper::StatusCode::SERVICE_UNAVAILABLE,
                    format!("database unavailable: {}", err.message),
                ));
            }
            JsNativeError::error()
        }
        Kind::Limit => JsNativeError::range(),
        Kind::Sql | Kind::Usage => JsNativeError::error(),
    };
    let object = native.with_message(err.message).into_opaque(context);
    if let Some(code) = err.code {
        let _ = object.set(js_string!("code"), JsString::from(code), false, context);
    }
    JsError::from_opaque(object.into())
}

/// An optional name argument: `undefined`, `null` and "" are none.
pub fn optional_text(
    args: &[JsValue],
    i: usize,
    context: &mut Context,
) -> JsResult<Option<String>> {
    match args.get(i) {
        None => Ok(None),
        Some(v) if v.is_null_or_undefined() => Ok(None),
        Some(v) => {
            let text = values::string_of(&v.to_string(context)?);
            Ok((!text.is_empty()).then_some(text))
        }
    }
}

/// The SQL text argument.
/// `execute(sql, parameters, datasourceName)` of `db/query` and
/// `db/update`: `run` on a connection of its own, given back at once.
pub fn execute<T>(
    args: &[JsValue],
    context: &mut Context,
    run: impl FnOnce(&mut db::Connection, &str, &Params) -> db::DbResult<T>,
) -> JsResult<T> {
    let sql = sql_arg(args, context)?;
    let params = params_of(args.get(1), context)?;
    let datasource = optional_text(args, 2, context)?;
    datasources(context)?
        .connect(datasource.as_deref())
        .and_then(|mut connection| {
            let done = run(&mut connection, &sql, &params);
            connection.release();
            done
        })
        .map_err(|e| throw(e, context))
}

pub fn sql_arg(args: &[JsValue], context: &mut Context) -> JsResult<String> {
    match args.first() {
        Some(v) if !v.is_null_or_undefined() => Ok(values::string_of(&v.to_string(context)?)),
        _ => Err(JsNativeError::typ()
            .with_message("an SQL statement is needed")
            .into()),
    }
}

/// Statement parameters: an array of values or `{type, value}` /
/// `{name, type, value}` objects, or an object of named values.
pub fn params_of(value: Option<&JsValue>, context: &mut Context) -> JsResult<Params> {
    let Some(value) = value.filter(|v| !v.is_null_or_undefined()) else {
        return Ok(Params::default());
    };
    let Some(object) = value.as_object() else {
        return Err(JsNativeError::typ()
            .with_message("parameters are an array (or an object of named values)")
            .into());
    };
    if !object.is_array() {
        let mut named = Vec::new();
        for key in own_keys(&object, context)? {
            let item = object.get(JsString::from(key.as_str()), context)?;
            named.push((key, value_of(&item, context)?));
        }
        return Ok(Params::Named(named));
    }
    let length = values::length(&object, context)?;
    let mut items = Vec::with_capacity(length as usize);
    for i in 0..length {
        items.push(object.get(i, context)?);
    }
    let name_of = |item: &JsValue, context: &mut Context| -> JsResult<Option<String>> {
        let Some(object) = item.as_object() else {
            return Ok(None);
        };
        if is_special(&object) {
            return Ok(None);
        }
        let name = object.get(js_string!("name"), context)?;
        Ok(name.as_string().map(|s| values::string_of(&s)))
    };
    let mut names = Vec::with_capacity(items.len());
    for item in &items {
        names.push(name_of(item, context)?);
    }
    if names.iter().any(Option::is_some) {
        let mut named = Vec::with_capacity(items.len());
        for (item, name) in items.iter().zip(names) {
            let name = name.ok_or_else(|| {
                JsNativeError::typ().with_message(
                    "named parameters are objects {name, type, value}: every one needs a name",
                )
            })?;
            named.push((name, value_of(item, context)?));
        }
        return Ok(Params::Named(named));
    }
    let mut positional = Vec::with_capacity(items.len());
    for item in &items {
        positional.push(value_of(item, context)?);
    }
    Ok(Params::Positional(positional))
}

fn own_keys(object: &JsObject, context: &mut Context) -> JsResult<Vec<String>> {
    let mut keys = Vec::new();
    for key in object.own_property_keys(context)? {
        if let boa_engine::property::PropertyKey::String(key) = key {
            keys.push(values::string_of(&key));
        }
    }
    Ok(keys)
}

/// Dates and byte arrays, which are values rather than parameter objects.
fn is_special(object: &JsObject) -> bool {
    JsDate::from_object(object.clone()).is_ok()
        || JsTypedArray::from_object(object.clone()).is_ok()
        || JsArrayBuffer::from_object(object.clone()).is_ok()
}

/// A JavaScript value as a statement parameter.
pub fn value_of(value: &JsValue, context: &mut Context) -> JsResult<Value> {
    Ok(match value.variant() {
        JsVariant::Null | JsVariant::Undefined => Value::Null,
        JsVariant::Boolean(b) => Value::Bool(b),
        JsVariant::Integer32(i) => Value::Int(i.into()),
        JsVariant::Float64(f) => number_value(f),
        JsVariant::String(s) => Value::Text(values::string_of(&s)),
        // Beyond 64 bits (as a NUMERIC read back gives): its exact digits.
        JsVariant::BigInt(b) => match i64::try_from(b.to_i128()) {
            Ok(n) => Value::Int(n),
            Err(_) => Value::Decimal(b.to_string_radix(10)),
        },
        JsVariant::Symbol(_) => {
            return Err(JsNativeError::typ()
                .with_message("a symbol cannot be a parameter")
                .into())
        }
        JsVariant::Object(object) => {
            if let Ok(date) = JsDate::from_object(object.clone()) {
                return date_value(&date, context);
            }
            if JsTypedArray::from_object(object.clone()).is_ok()
                || JsArrayBuffer::from_object(object.clone()).is_ok()
            {
                return Ok(Value::Blob(values::bytes_of(value, context)?));
            }
            let has = |name: &str, context: &mut Context| {
                object.has_property(JsString::from(name), context)
            };
            if has("value", context)? && has("type", context)? {
                let kind = object.get(js_string!("type"), context)?;
                let inner = object.get(js_string!("value"), context)?;
                return typed(&kind, &inner, context);
            }
            if has("value", context)? && has("name", context)? {
                let inner = object.get(js_string!("value"), context)?;
                return value_of(&inner, context);
            }
            // Anything else goes as its JSON text (for json columns).
            match values::stringify(value, context)? {
                Some(text) => Value::Text(text),
                None => Value::Null,
            }
        }
    })
}

fn number_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        Value::Int(f as i64)
    } else {
        Value::Real(f)
    }
}

fn bigint_i64(b: &JsBigInt) -> JsResult<i64> {
    i64::try_from(b.to_i128()).map_err(|_| {
        JsNativeError::range()
            .with_message(format!(
                "{} does not fit a 64-bit integer",
                b.to_string_radix(10)
            ))
            .into()
    })
}

fn date_value(date: &JsDate, context: &mut Context) -> JsResult<Value> {
    let ms = date.get_time(context)?.to_number(context)?;
    if ms.is_nan() {
        return Err(JsNativeError::typ()
            .with_message("an invalid Date cannot be a parameter")
            .into());
    }
    Ok(Value::Time(ms))
}

/// JDBC's type codes (`java.sql.Types`) by name.
const JDBC_CODES: &[(i32, &str)] = &[
    (-7, "BIT"),
    (-6, "TINYINT"),
    (5, "SMALLINT"),
    (4, "INTEGER"),
    (-5, "BIGINT"),
    (6, "FLOAT"),
    (7, "REAL"),
    (8, "DOUBLE"),
    (2, "NUMERIC"),
    (3, "DECIMAL"),
    (1, "CHAR"),
    (12, "VARCHAR"),
    (-1, "LONGVARCHAR"),
    (91, "DATE"),
    (92, "TIME"),
    (93, "TIMESTAMP"),
    (-2, "BINARY"),
    (-3, "VARBINARY"),
    (-4, "LONGVARBINARY"),
    (0, "NULL"),
    (2004, "BLOB"),
    (2005, "CLOB"),
    (16, "BOOLEAN"),
    (-15, "NCHAR"),
    (-9, "NVARCHAR"),
    (-16, "LONGNVARCHAR"),
    (2011, "NCLOB"),
];

/// The SQL type names `SQLTypes` lists (each maps to itself).
pub fn sql_type_names() -> impl Iterator<Item = &'static str> {
    JDBC_CODES.iter().map(|(_, name)| *name)
}

/// A `{type, value}` parameter: the value converted as its type says
/// (a name like `VARCHAR`, or a JDBC type code).
pub fn typed(kind: &JsValue, value: &JsValue, context: &mut Context) -> JsResult<Value> {
    let name = if let Some(code) = kind.as_number() {
        let code = code as i32;
        JDBC_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, n)| n.to_string())
            .ok_or_else(|| {
                JsNativeError::typ().with_message(format!("unknown SQL type code {code}"))
            })?
    } else {
        values::string_of(&kind.to_string(context)?).to_ascii_uppercase()
    };
    if value.is_null_or_undefined() {
        return Ok(Value::Null);
    }
    as_type(&name, value, context)
}

/// `value` as SQL type `name` (upper case).
pub fn as_type(name: &str, value: &JsValue, context: &mut Context) -> JsResult<Value> {
    if value.is_null_or_undefined() {
        return Ok(Value::Null);
    }
    let text = |value: &JsValue, context: &mut Context| -> JsResult<String> {
        Ok(values::string_of(&value.to_string(context)?))
    };
    Ok(match name {
        "VARCHAR" | "CHAR" | "NVARCHAR" | "NCHAR" | "LONGVARCHAR" | "LONGNVARCHAR" | "CLOB"
        | "NCLOB" | "TEXT" | "STRING" => {
            match value.as_object().map(|o| JsDate::from_object(o.clone())) {
                Some(Ok(date)) => match date_value(&date, context)? {
                    Value::Time(ms) => Value::Text(db::time::iso(ms)),
                    other => other,
                },
                _ => Value::Text(text(value, context)?),
            }
        }
        "INTEGER" | "INT" | "SMALLINT" | "TINYINT" | "BIGINT" | "LONG" | "SHORT" | "BYTE" => {
            match value.variant() {
                JsVariant::BigInt(b) => Value::Int(bigint_i64(&b)?),
                JsVariant::String(s) => {
                    let s = values::string_of(&s);
                    match s.trim().parse::<i64>() {
                        Ok(n) => Value::Int(n),
                        Err(_) => integer(value.to_number(context)?, &s)?,
                    }
                }
                _ => integer(value.to_number(context)?, &text(value, context)?)?,
            }
        }
        "DOUBLE" | "FLOAT" | "REAL" => Value::Real(value.to_number(context)?),
        "DECIMAL" | "NUMERIC" | "BIGDECIMAL" => match value.variant() {
            JsVariant::BigInt(b) => Value::Decimal(b.to_string_radix(10)),
            _ => Value::Decimal(text(value, context)?),
        },
        "BOOLEAN" | "BIT" | "BOOL" => match value.variant() {
            JsVariant::String(s) => {
                let s = values::string_of(&s).trim().to_ascii_lowercase();
                Value::Bool(matches!(s.as_str(), "true" | "t" | "1" | "yes" | "on"))
            }
            _ => Value::Bool(value.to_boolean()),
        },
        // A time of day, in UTC, as SQL writes one: what JDBC's `setTime` keeps.
        "TIME" => match as_type("TIMESTAMP", value, context)? {
            Value::Time(ms) if ms.is_finite() => Value::Text(db::time::clock_text(ms)),
            other => other,
        },
        "DATE" | "TIMESTAMP" | "DATETIME" | "TIMESTAMP_WITH_TIMEZONE" => match value.variant() {
            JsVariant::Object(object) => match JsDate::from_object(object.clone()) {
                Ok(date) => date_value(&date, context)?,
                Err(_) => Value::Text(text(value, context)?),
            },
            JsVariant::String(s) => {
                let s = values::string_of(&s);
                match db::time::parse(&s) {
                    Some(ms) => Value::Time(ms),
                    None => Value::Text(s),
                }
            }
            _ => Value::Time(value.to_number(context)?),
        },
        "BLOB" | "BINARY" | "VARBINARY" | "LONGVARBINARY" | "BYTES" => {
            Value::Blob(values::bytes_of(value, context)?)
        }
        "NULL" => Value::Null,
        "OBJECT" | "JAVA_OBJECT" | "OTHER" => value_of(value, context)?,
        other => {
            return Err(JsNativeError::typ()
                .with_message(format!("unknown SQL type {other:?}"))
                .into())
        }
    })
}

fn integer(n: f64, shown: &str) -> JsResult<Value> {
    if !n.is_finite() {
        return Err(JsNativeError::typ()
            .with_message(format!("{shown:?} is not an integer"))
            .into());
    }
    Ok(Value::Int(n.trunc() as i64))
}

/// A value of a row as JavaScript.
pub fn to_js(value: &Value, context: &mut Context) -> JsResult<JsValue> {
    Ok(match value {
        Value::Null => JsValue::null(),
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => integer_js(*i),
        Value::Real(f) => values::number(*f),
        Value::Decimal(text) => decimal_js(text),
        Value::Text(text) => JsString::from(text.as_str()).into(),
        Value::Blob(bytes) => JsUint8Array::from_iter(bytes.iter().copied(), context)?.into(),
        Value::Time(ms) => date(*ms, context)?,
    })
}

/// An integer: a number while it is safe, a BigInt beyond.
pub fn integer_js(i: i64) -> JsValue {
    if (-SAFE..=SAFE).contains(&i) {
        values::number(i as f64)
    } else {
        JsBigInt::from(i).into()
    }
}

/// Exact decimal text: a number when one holds it exactly, else a BigInt
/// (whole) or the text.
pub fn decimal_js(text: &str) -> JsValue {
    if let Ok(f) = text.parse::<f64>() {
        if f.is_finite() && normal_decimal(&f.to_string()) == normal_decimal(text) {
            return values::number(f);
        }
        if !f.is_finite() && !text.chars().any(|c| c.is_ascii_digit()) {
            return f.into();
        }
    }
    let whole = normal_decimal(text);
    if !whole.contains('.') {
        if let Some(big) = JsBigInt::from_string(&whole) {
            return big.into();
        }
    }
    JsString::from(text).into()
}

/// Decimal text without a fraction's trailing zeros or a leading `+`.
fn normal_decimal(text: &str) -> String {
    let text = text.trim().trim_start_matches('+');
    let text = match text.split_once('.') {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        None => text.to_string(),
    };
    if text == "-0" {
        "0".into()
    } else {
        text
    }
}

/// A Date for `ms` milliseconds since the epoch.
pub fn date(ms: f64, context: &mut Context) -> JsResult<JsValue> {
    let constructor = context.intrinsics().constructors().date().constructor();
    Ok(constructor
        .construct(&[JsValue::from(ms)], None, context)?
        .into())
}

/// Rows as an array of objects, one property per column.
pub fn rows_to_array(
    rows: &db::Rows,
    skip: usize,
    limit: usize,
    context: &mut Context,
) -> JsResult<JsValue> {
    let names: Vec<JsString> = rows
        .columns
        .iter()
        .map(|c| JsString::from(c.name.as_str()))
        .collect();
    let mut objects = Vec::with_capacity(rows.rows.len().saturating_sub(skip).min(limit));
    for row in rows.rows.iter().skip(skip).take(limit) {
        objects.push(row_object(&names, row, context)?.into());
    }
    Ok(values::js_array(objects, context))
}

pub fn row_object(names: &[JsString], row: &[Value], context: &mut Context) -> JsResult<JsObject> {
    let values = row
        .iter()
        .map(|value| to_js(value, context))
        .collect::<JsResult<Vec<_>>>()?;
    // A shared shape: rows of one query reuse one chain of shapes instead
    // of each building its own (which was a third of a one-row query).
    let mut object = ObjectInitializer::with_native_data(OrdinaryObject, context);
    for (name, value) in names.iter().zip(values) {
        object.property(name.clone(), value, Attribute::all());
    }
    Ok(object.build())
}

/// Keeps a connection reachable from both the request (which gives it
/// back when the script ends) and the script's Connection object.
pub type ConnectionCell = std::cell::RefCell<Option<db::Connection>>;

/// Gives back every connection the request's script left open: a
/// transaction still open is rolled back.
pub fn release_all(connections: Vec<Rc<ConnectionCell>>) {
    for cell in connections {
        if let Ok(mut held) = cell.try_borrow_mut() {
            if let Some(mut connection) = held.take() {
                connection.release();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_stay_exact() {
        assert_eq!(normal_decimal("99.990"), "99.99");
        assert_eq!(normal_decimal("5.000"), "5");
        assert_eq!(normal_decimal("-0"), "0");
        assert!(decimal_js("99.99").is_number());
        assert!(decimal_js("12345678901234567890").is_bigint());
        assert!(decimal_js("0.1234567890123456789").is_string());
        assert!(integer_js(SAFE).is_number());
        assert!(integer_js(SAFE + 1).is_bigint());
    }
}
