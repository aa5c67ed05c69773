//! AMQP header values as JSON, for showing them.
//!
//! lapin's own serde form tags every value with its AMQP type and writes
//! strings as byte arrays; people and scripts want `"text"`, `3` and
//! `[...]`. Byte arrays (rare) become lowercase hex strings.

use es_amqp::lapin::types::{AMQPValue, FieldTable};
use serde_json::{Map, Number, Value};

/// A header table as a JSON object.
pub fn table(headers: &FieldTable) -> Value {
    Value::Object(
        headers
            .inner()
            .iter()
            .map(|(key, value)| (key.as_str().to_owned(), value_to_json(value)))
            .collect::<Map<_, _>>(),
    )
}

/// One AMQP value as JSON.
pub fn value_to_json(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(v) => Value::from(*v),
        AMQPValue::ShortShortUInt(v) => Value::from(*v),
        AMQPValue::ShortInt(v) => Value::from(*v),
        AMQPValue::ShortUInt(v) => Value::from(*v),
        AMQPValue::LongInt(v) => Value::from(*v),
        AMQPValue::LongUInt(v) => Value::from(*v),
        AMQPValue::LongLongInt(v) => Value::from(*v),
        AMQPValue::Timestamp(v) => Value::from(*v),
        AMQPValue::Float(v) => Number::from_f64(f64::from(*v)).map_or(Value::Null, Value::Number),
        AMQPValue::Double(v) => Number::from_f64(*v).map_or(Value::Null, Value::Number),
        AMQPValue::DecimalValue(d) => Value::String(format!("{}e-{}", d.value, d.scale)),
        AMQPValue::ShortString(s) => Value::String(s.as_str().to_owned()),
        AMQPValue::LongString(s) => {
            Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned())
        }
        AMQPValue::FieldArray(items) => {
            Value::Array(items.as_slice().iter().map(value_to_json).collect())
        }
        AMQPValue::FieldTable(t) => table(t),
        AMQPValue::ByteArray(bytes) => Value::String(
            bytes
                .as_slice()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        ),
        AMQPValue::Void => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use es_amqp::lapin::types::{FieldArray, LongString};

    #[test]
    fn strings_numbers_and_nesting_read_naturally() {
        let mut inner = FieldTable::default();
        inner.insert("queue".into(), AMQPValue::LongString(LongString::from("q")));
        let mut headers = FieldTable::default();
        headers.insert("n".into(), AMQPValue::LongLongInt(3));
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(inner)])),
        );
        assert_eq!(
            table(&headers),
            serde_json::json!({"n": 3, "x-death": [{"queue": "q"}]})
        );
    }
}
